// ConvolutionLayer options and shapes: defaults, inference in both directions, and every bad
// option, shape and array with its message.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <netkit/core/error.h>
#include <netkit/graph/layer_net.h>
#include <netkit/layers/convolution.h>
#include <netkit/layers/registry.h>
#include "tests/test_convolution_support.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

TEST_CASE("Convolution: options list every default", "[convolution]") {
  const nlohmann::json d = LayerNet::default_options("Convolution");
  CHECK(d.at("OutputChannels").is_null());
  CHECK(d.at("KernelSize").is_null());
  CHECK(d.at("Stride") == 1);
  CHECK(d.at("PaddingSize") == 0);
  CHECK(d.at("Dilation") == 1);
  CHECK(d.at("ChannelGroups") == 1);
  CHECK(d.at("HasBiases") == true);
  CHECK(d.at("WeightsInitializer") == "KaimingNormal");
  CHECK(d.at("BiasesInitializer") == "Zeros");
  CHECK(d.at("L2Factors") == nlohmann::json{{"Weights", 1.0}, {"Biases", 1.0}});
  CHECK(d.at("LearningRateMultipliers") == "Automatic");
  CHECK(d.at("Input").is_null());
  CHECK(d.at("Output").is_null());
  CHECK(d.size() == 13);
  const LayerNet conv = ConvolutionLayer({{"OutputChannels", 4},
                                          {"KernelSize", {3, 1}},
                                          {"Input", {2, 8, 8}},
                                          {"PaddingSize", "Same"},
                                          {"Stride", 2},
                                          {"HasBiases", false}});
  CHECK(conv.option("KernelSize") == nlohmann::json{3, 1});
  CHECK(conv.option("PaddingSize") == "Same");
  CHECK(conv.option("L2Factors") == nlohmann::json{{"Weights", 1.0}});
  CHECK(conv.option("Output") == nlohmann::json{4, 4, 4});
  const LayerInfo info = conv.information();
  CHECK(info.array_count == 1);
  CHECK(info.arrays[0].shape == Shape{4, 2, 3, 1});
  const auto types = known_layer_types();
  CHECK(std::find(types.begin(), types.end(), "Convolution") != types.end());
}

TEST_CASE("Convolution: shapes are inferred in both directions", "[convolution]") {
  // Forward: the output size formula in each dimension.
  const LayerNet conv = ConvolutionLayer({{"Input", {3, 11, 10}},
                                          {"OutputChannels", 5},
                                          {"KernelSize", {3, 2}},
                                          {"Stride", {2, 3}},
                                          {"PaddingSize", {1, 2}},
                                          {"Dilation", {2, 1}}});
  // (11 + 2 - 4 - 1) / 2 + 1 = 5, (10 + 4 - 1 - 1) / 3 + 1 = 5
  CHECK(conv.port_shape("Output") == Shape{5, 5, 5});
  CHECK(conv.information().arrays[0].shape == Shape{5, 3, 3, 2});
  CHECK(conv.information().arrays[1].shape == Shape{5});
  // "Same": ceil(in / stride).
  CHECK(ConvolutionLayer(
            {{"Input", {1, 7, 8}}, {"OutputChannels", 2}, {"KernelSize", 4}, {"Stride", 3}, {"PaddingSize", "Same"}})
            .port_shape("Output") == Shape{2, 3, 3});
  // 1-D from the input rank, or from a list of one value.
  CHECK(ConvolutionLayer({{"Input", {2, 9}}, {"OutputChannels", 1}, {"KernelSize", 4}}).port_shape("Output") ==
        Shape{1, 6});
  CHECK(ConvolutionLayer({{"OutputChannels", 1}, {"KernelSize", {4}}}).port_shape("Input").to_string() == "[?, ?]");
  // Weights give the input channels (times the groups) and the output channels.
  LayerNet by_weights = ConvolutionLayer({{"KernelSize", 3}, {"ChannelGroups", 2}});
  by_weights.set_array("Weights", Array::zeros({6, 2, 3, 3}));
  CHECK(by_weights.port_shape("Input").to_string() == "[4, ?, ?]");
  CHECK(by_weights.port_shape("Output").to_string() == "[6, ?, ?]");
  CHECK(by_weights.information().arrays[1].shape == Shape{6});
  // The "Output" port and the Biases give the output channels.
  CHECK(ConvolutionLayer({{"KernelSize", 3}, {"Output", {7, 4, 4}}}).information().arrays[1].shape == Shape{7});
  CHECK(ConvolutionLayer({{"KernelSize", 3}, {"Biases", {1, 2}}}).information().arrays[1].shape == Shape{2});
  // Stride 1: the input size follows back from the output size.
  CHECK(ConvolutionLayer({{"KernelSize", 3}, {"PaddingSize", {0, 1}}, {"Dilation", 2}, {"Output", {2, 5, 5}}})
            .port_shape("Input")
            .to_string() == "[?, 9, 7]");
  CHECK(ConvolutionLayer({{"KernelSize", 4}, {"PaddingSize", "Same"}, {"Output", {2, 5, 6}}})
            .port_shape("Input")
            .to_string() == "[?, 5, 6]");
  // Larger strides leave it open (several input sizes give the same output).
  CHECK(ConvolutionLayer({{"KernelSize", 3}, {"Stride", 2}, {"Output", {2, 5, 6}}}).port_shape("Input").to_string() ==
        "[?, ?, ?]");
  // A layer with its input known evaluates a single example.
  LayerNet run = ConvolutionLayer({{"Input", {1, 2, 2}}, {"KernelSize", 1}, {"Weights", {{{{2}}}}}, {"Biases", {1}}});
  CHECK(run.evaluate(Array{{{1, 2}, {3, 4}}}).values() == std::vector<float>{3, 5, 7, 9});
}

TEST_CASE("Convolution: bad options give typed errors with their messages", "[convolution]") {
  CHECK_THROWS_AS(ConvolutionLayer({{"OutputChannels", 0}}), OptionError);
  CHECK_THROWS_WITH(ConvolutionLayer({{"OutputChannels", 0}}),
                    Equals("Convolution option \"OutputChannels\": out of range; expected an integer >= 1, got 0"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"OutputChannels", -3}}),
                    Contains("out of range; expected an integer >= 1, got -3"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"OutputChannels", 2.5}}),
      Equals("Convolution option \"OutputChannels\": wrong type; expected an integer >= 1, got a number (2.5)"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"OutputChannels", std::numeric_limits<uint64_t>::max()}}),
                    Equals("Convolution option \"OutputChannels\": out of range; expected at most 2147483647, got "
                           "18446744073709551615"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"KernelSize", 0}}),
      Equals("Convolution option \"KernelSize\": out of range; expected an integer >= 1 or a list of 1, 2 "
             "or 3 integers >= 1, got 0"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"KernelSize", {3, -1}}}),
      Equals("Convolution option \"KernelSize\": out of range; expected an integer >= 1 or a list of 1, 2 "
             "or 3 integers >= 1, got [3,-1]"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"KernelSize", {3, 3, 3, 3}}}),
      Equals("Convolution option \"KernelSize\": wrong number of spatial dimensions; expected an integer >= 1 "
             "or a list of 1, 2 or 3 integers >= 1, got a list of 4"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"KernelSize", nlohmann::json::array()}}), Contains("got a list of 0"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"KernelSize", "3"}}),
      Equals("Convolution option \"KernelSize\": invalid value; expected an integer >= 1 or a list of 1, 2 "
             "or 3 integers >= 1, got \"3\""));
  CHECK_THROWS_WITH(ConvolutionLayer({{"KernelSize", {3, 1.5}}}),
                    Equals("Convolution option \"KernelSize\": wrong type; expected an integer >= 1 or a list of 1, 2 "
                           "or 3 integers >= 1, got a list"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"Stride", 0}}),
                    Equals("Convolution option \"Stride\": out of range; expected an integer >= 1 or a list of 1, 2 "
                           "or 3 integers >= 1, got 0"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"Dilation", {1, 0}}}),
                    Contains("Convolution option \"Dilation\": out of range"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"PaddingSize", -1}}),
      Equals("Convolution option \"PaddingSize\": out of range; expected an integer >= 0 or a list of 1, 2 "
             "or 3 integers >= 0 or \"Same\", got -1"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"PaddingSize", "Valid"}}),
      Equals("Convolution option \"PaddingSize\": invalid value; expected an integer >= 0 or a list of 1, 2 "
             "or 3 integers >= 0 or \"Same\", got \"Valid\""));
  CHECK_THROWS_WITH(ConvolutionLayer({{"PaddingSize", true}}), Contains("wrong type; expected an integer >= 0"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"KernelSize", {3, 3}}, {"Stride", {1}}}),
                    Equals("Convolution options: list-valued options give different numbers of spatial dimensions; "
                           "expected 2 values (as \"KernelSize\"), got 1 values in \"Stride\""));
  CHECK_THROWS_WITH(ConvolutionLayer({{"ChannelGroups", 0}}),
                    Equals("Convolution option \"ChannelGroups\": out of range; expected an integer >= 1, got 0"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"OutputChannels", 6}, {"ChannelGroups", 4}}),
      Equals("Convolution option \"ChannelGroups\": must divide \"OutputChannels\" (6); expected a divisor "
             "of 6, got 4"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"HasBiases", 0}}),
                    Equals("Convolution option \"HasBiases\": wrong type; expected true or false, got a number (0)"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"WeightsInitializer", "Glorot"}}),
                    Contains("Convolution option \"WeightsInitializer\": unknown initializer"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"BiasesInitializer", "KaimingNormal"}}),
                    Equals("Convolution option \"BiasesInitializer\": initializer needs the fans of a weight array of "
                           "rank >= 2; expected one of Zeros, Ones, NarrowNormal, got \"KaimingNormal\""));
  CHECK_THROWS_WITH(ConvolutionLayer({{"L2Factors", -1}}),
                    Equals("Convolution option \"L2Factors\": out of range; expected finite numbers >= 0, got -1"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"HasBiases", false}, {"L2Factors", {{"Biases", 1}}}}),
      Equals("Convolution option \"L2Factors\": unknown array; expected \"Weights\" (\"HasBiases\" is false), "
             "got \"Biases\""));
  CHECK_THROWS_WITH(ConvolutionLayer({{"HasBiases", false}, {"Biases", {1}}}), Contains("unknown option \"Biases\""));
  CHECK_THROWS_WITH(ConvolutionLayer({{"Kernel", 3}}),
                    Contains("Convolution options: unknown option \"Kernel\"; expected one of"));
  // The C++ configuration is validated the same way.
  Convolution::Config config;
  config.kernel_size = {{3}, false};
  config.stride = {{0}, false};
  CHECK_THROWS_WITH(Convolution(config), Contains("Convolution option \"Stride\": out of range"));
  config.stride = {{}, false};
  CHECK_THROWS_WITH(Convolution(config), Contains("Convolution option \"Stride\": no value"));
  config.stride = {{1, 2, 3, 4}, true};
  CHECK_THROWS_WITH(Convolution(config), Contains("Convolution option \"Stride\": wrong number of spatial dimensions"));
}

TEST_CASE("Convolution: shape conflicts name the port or array with expected and got", "[convolution]") {
  CHECK_THROWS_AS(ConvolutionLayer({{"KernelSize", 3}, {"Input", {2, 2, 8}}}), ShapeError);
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"KernelSize", 3}, {"Input", {2, 2, 8}}}),
      Equals("Convolution layer, port \"Input\": output size would be less than 1 in spatial dimension 1; "
             "expected input size >= 3 (kernel 3, dilation 1, padding 0), got input size 2 (shape [2, 2, 8])"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"KernelSize", 3}, {"Dilation", 3}, {"PaddingSize", 1}, {"Input", {2, 8, 4}}}),
      Equals("Convolution layer, port \"Input\": output size would be less than 1 in spatial dimension 2; "
             "expected input size >= 5 (kernel 3, dilation 3, padding 1), got input size 4 (shape [2, 8, 4])"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"Input", {6, 5, 5}}, {"ChannelGroups", 4}, {"KernelSize", 1}}),
                    Equals("Convolution layer, port \"Input\": channels must be a multiple of \"ChannelGroups\" (4); "
                           "expected a multiple of 4, got 6 channels"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"Output", {6, 5, 5}}, {"ChannelGroups", 4}, {"KernelSize", 1}}),
      Equals("Convolution layer, port \"Output\": output channels must be a multiple of \"ChannelGroups\" (4); "
             "expected a multiple of 4, got 6 channels"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"Input", {5}}}),
                    Equals("Convolution layer, port \"Input\": input must be [channels, length], [channels, height, "
                           "width] or [channels, depth, height, width]; expected rank 2, 3 or 4, got shape [5]"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"Input", {1, 2, 3, 4, 5}}}),
                    Contains("expected rank 2, 3 or 4, got shape [1, 2, 3, 4, 5]"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"Output", {5}}}),
                    Contains("port \"Output\": output must be [channels, length], [channels, height, width] or "
                             "[channels, depth, height, width]"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"KernelSize", {3, 3}}, {"Input", {2, 8}}}),
      Equals("Convolution layer, port \"Input\": rank must fit the 2 spatial dimensions of the convolution "
             "(option \"KernelSize\"); expected rank 3, got shape [2, 8]"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"Input", {2, 8}}, {"Output", {2, 8, 8}}}),
      Contains("port \"Output\": rank must fit the 1 spatial dimensions of the convolution (port \"Input\")"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"OutputChannels", 3}, {"Output", {4, 5, 5}}}),
                    Equals("Convolution layer, port \"Output\": channels must equal the output channels (option "
                           "\"OutputChannels\"); expected 3 channels, got shape [4, 5, 5]"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"OutputChannels", 3}, {"KernelSize", 1}, {"Weights", {{{{1}}}, {{{2}}}}}}),
      Equals("Convolution layer, array \"Weights\": first dimension must equal the output channels (option "
             "\"OutputChannels\"); expected shape [3, 1, 1, 1], got shape [2, 1, 1, 1]"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"OutputChannels", 3}, {"Biases", {1, 2}}}),
                    Equals("Convolution layer, array \"Biases\": length must equal the output channels (option "
                           "\"OutputChannels\"); expected length 3, got length 2"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"Biases", {{1, 2}}}}),
                    Equals("Convolution layer, array \"Biases\": must be a vector of one value per output channel; "
                           "expected rank 1, got shape [1, 2]"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"Weights", {1, 2}}}),
      Equals("Convolution layer, array \"Weights\": must be [output channels, input channels / groups, kernel "
             "size...]; expected rank 3, 4 or 5, got shape [2]"));
  LayerNet fixed = ConvolutionLayer({{"Input", {4, 6, 6}}, {"KernelSize", 3}, {"ChannelGroups", 2}});
  CHECK_THROWS_WITH(
      fixed.set_array("Weights", Array::zeros({2, 4, 3, 3})),
      Equals("Convolution layer, array \"Weights\": second dimension must equal the input channels per group "
             "(port \"Input\" [4, 6, 6], 2 groups); expected shape [2, 2, 3, 3], got shape [2, 4, 3, 3]"));
  CHECK_THROWS_WITH(fixed.set_array("Weights", Array::zeros({2, 2, 3, 2})),
                    Equals("Convolution layer, array \"Weights\": kernel dimensions must equal option \"KernelSize\"; "
                           "expected shape [2, 2, 3, 3], got shape [2, 2, 3, 2]"));
  CHECK_FALSE(fixed.has_array("Weights"));  // a rejected array leaves the net as it was
  LayerNet no_kernel = ConvolutionLayer();
  CHECK_THROWS_WITH(
      no_kernel.set_array("Weights", Array::zeros({2, 1, 3, 3})),
      Equals("Convolution layer, array \"Weights\": the kernel size is not known; expected option "
             "\"KernelSize\" (the Weights' spatial dimensions), got no \"KernelSize\". Give \"KernelSize\" "
             "with the Weights"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"Input", {2, 5, 5}}, {"KernelSize", 3}, {"Output", {1, 4, 3}}}),
      Equals("Convolution layer, port \"Output\": size must follow from the input size in spatial dimension "
             "1; expected shape [1, 3, 3], got shape [1, 4, 3]"));
  CHECK_NOTHROW(ConvolutionLayer({{"KernelSize", 2}, {"PaddingSize", 3}, {"Output", {1, 6, 6}}}));  // from 1 x 1
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"KernelSize", 2}, {"PaddingSize", 3}, {"Output", {1, 5, 6}}}),
      Equals("Convolution layer, port \"Output\": no input size gives this output size in spatial dimension "
             "1; expected size >= 6, got size 5"));
  // Evaluating with examples of another shape is refused by the port.
  LayerNet net = ConvolutionLayer({{"Input", {2, 5, 5}}, {"KernelSize", 3}, {"OutputChannels", 1}});
  net.initialize();
  CHECK_THROWS_WITH(net.evaluate(Array::zeros({2, 5, 4})), Contains("batch does not match the port shape"));
}

TEST_CASE("Convolution: non-finite arrays are refused and unknown shapes explained", "[convolution]") {
  LayerNet conv = ConvolutionLayer({{"Input", {1, 4, 4}}, {"OutputChannels", 2}, {"KernelSize", 2}});
  conv.initialize();
  Array w = Array::zeros({2, 1, 2, 2});
  w[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(conv.set_array("Weights", w), InitializationError);
  CHECK_THROWS_WITH(conv.set_array("Weights", w),
                    Equals("Convolution layer, array \"Weights\", element [1, 0, 0, 1]: value "
                           "is not finite; expected a finite number, got nan"));
  CHECK_THROWS_WITH(conv.set_array("Biases", Array{0.0f, INFINITY}),
                    Equals("Convolution layer, array \"Biases\", element [1]: value is not finite; expected a finite "
                           "number, got inf"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"OutputChannels", 3}, {"Input", {1, 5, 5}}}).initialize(),
      Equals("Convolution layer, array \"Weights\": cannot initialize: the kernel size is not known (give "
             "\"KernelSize\"); expected a known shape, got [3, 1, ?, ?]. Give \"Input\" or connect the layer"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"KernelSize", 3}, {"Input", {1, 5, 5}}}).initialize(),
                    Contains("cannot initialize: the output channels or the input channels are not known"));
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"KernelSize", 3}, {"OutputChannels", 2}}).initialize(),
      Contains("cannot initialize: the input channels are not known (port \"Input\" gives them); expected a "
               "known shape, got [...]"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"KernelSize", 3}, {"HasBiases", false}}).array("Biases"),
                    Contains("unknown array \"Biases\"; expected one of \"Weights\""));
}
