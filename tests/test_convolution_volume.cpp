// 3-D ConvolutionLayer (layers/kernels/convolution_volume.h): against PyTorch's conv3d
// (data/golden/convolution3d, written by tools/reference/convolution_golden.py), the 2-D layer it
// reduces to, thread counts, and save / load. (Its central differences run with the 2-D ones in
// tests/test_convolution_golden.cpp.)
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/convolution.h>
#include <netkit/layers/kernels/convolution_reference.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"
#include "tests/test_convolution_support.h"

using namespace netkit;
using namespace netkit::test;

namespace {

// The kernels' geometry of a 3-D layer for a batch, from the layer's options and ports.
kernels::VolumeDims volume_dims(const LayerNet& net, int64_t batch) {
  const auto& layer = dynamic_cast<const Convolution&>(net.layer());
  const auto& c = layer.config();
  const Shape in = net.port_shape("Input"), out = net.port_shape("Output");
  kernels::VolumeDims v;
  kernels::ConvDims& d = v.plane;
  d.batch = batch;
  d.in_channels = in[0];
  d.out_channels = out[0];
  d.groups = c.groups;
  int64_t* ins[] = {&v.in_d, &d.in_h, &d.in_w};
  int64_t* outs[] = {&v.out_d, &d.out_h, &d.out_w};
  int64_t* kernels[] = {&v.kernel_d, &d.kernel_h, &d.kernel_w};
  int64_t* strides[] = {&v.stride_d, &d.stride_h, &d.stride_w};
  int64_t* dilations[] = {&v.dilation_d, &d.dilation_h, &d.dilation_w};
  int64_t* pads[] = {&v.pad_d, &d.pad_h, &d.pad_w};
  for (size_t k = 0; k < 3; ++k) {
    const auto dim = static_cast<int64_t>(k);
    *ins[k] = in[dim + 1];
    *outs[k] = out[dim + 1];
    *kernels[k] = c.kernel_size.at(dim);
    *strides[k] = c.stride.at(dim);
    *dilations[k] = c.dilation.at(dim);
    *pads[k] = layer.padding_before(dim, in[dim + 1], out[dim + 1], c.kernel_size.at(dim));
  }
  return v;
}

// Rounding-error bounds per element, as conv_allowances for 2-D: (terms + 12) u times the sum
// of the absolute values of the terms.
ConvAllowances volume_allowances(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                                 const std::vector<float>& g, const kernels::VolumeDims& v) {
  const auto sums = kernels::reference::convolution(absolute(x), absolute(w), absolute(b), v, absolute(g));
  auto scale = [](std::vector<double> e, int64_t terms) {
    for (double& a : e) a = (static_cast<double>(terms) + 12) * kUnitRoundoff * a + 1e-300;
    return e;
  };
  const kernels::ConvDims& d = v.plane;
  const int64_t kernel = v.kernel_d * d.kernel_area();
  return {scale(sums.y, d.group_in() * kernel), scale(sums.dx, d.group_out() * kernel),
          scale(sums.dw, d.batch * v.out_d * d.out_area()), scale(sums.db, 1)};
}

std::vector<float> floats(const Array& a) { return a.values(); }

}  // namespace

TEST_CASE("Convolution 3-D: outputs and gradients match PyTorch's conv3d", "[convolution][volume]") {
  const auto paths = files_in(source_path("data/golden/convolution3d"), ".json");
  REQUIRE(paths.size() >= 5);  // the VOLUME_CASES of tools/reference/convolution_golden.py
  for (const auto& path : paths) {
    const nlohmann::json doc = read_json(path);
    const std::string name = std::filesystem::path(path).filename().string();
    INFO("golden file " << name << ", options " << doc.at("options").dump());
    CHECK(doc.at("generator") == "tools/reference/convolution_golden.py");
    const auto batch_dims = doc.at("batch_shape").get<std::vector<int64_t>>();
    const auto output_dims = doc.at("output_shape").get<std::vector<int64_t>>();
    const auto weights_dims = doc.at("weights_shape").get<std::vector<int64_t>>();
    const bool has_biases = doc.contains("biases");
    nlohmann::json options = doc.at("options");
    options["Input"] = std::vector<int64_t>(batch_dims.begin() + 1, batch_dims.end());
    LayerNet conv = ConvolutionLayer(options);
    conv.set_array("Weights", json_array(doc.at("weights"), weights_dims, name));
    const Array biases = has_biases ? json_array(doc.at("biases"), {output_dims[1]}, name) : Array();
    if (has_biases) conv.set_array("Biases", biases);
    REQUIRE(conv.initialized());
    REQUIRE(conv.port_shape("Output") == Shape(std::vector<int64_t>(output_dims.begin() + 1, output_dims.end())));
    const Array x = json_array(doc.at("input"), batch_dims, name),
                dy = json_array(doc.at("grad_output"), output_dims, name);
    const kernels::VolumeDims v = volume_dims(conv, batch_dims[0]);
    const ConvAllowances a = volume_allowances(floats(x), floats(conv.array("Weights")), floats(biases), floats(dy), v);
    auto expected = [&](const char* key) { return json_numbers(doc.at(key), name + " " + key); };
    NETKIT_CHECK_REPORT(
        mismatch_report("output", to_doubles(conv.evaluate_batch(x)), expected("output"), a.y, output_dims));
    const Gradients grads = conv.gradients(x, dy);
    NETKIT_CHECK_REPORT(
        mismatch_report("dL/dInput", to_doubles(grads.input()), expected("grad_input"), a.dx, batch_dims));
    NETKIT_CHECK_REPORT(mismatch_report("dL/dWeights", to_doubles(grads.arrays.at("Weights")), expected("grad_weights"),
                                        a.dw, weights_dims));
    if (has_biases)
      NETKIT_CHECK_REPORT(
          mismatch_report("dL/dBiases", to_doubles(grads.arrays.at("Biases")), expected("grad_biases"), a.db));
    // The double-precision reference agrees with PyTorch's float64 results to float64 rounding.
    const auto ref =
        kernels::reference::convolution(floats(x), floats(conv.array("Weights")), floats(biases), v, floats(dy));
    const Tolerance tight{1e-9, 1e-12};
    NETKIT_CHECK_REPORT(mismatch_report("reference output", ref.y, expected("output"), tight));
    NETKIT_CHECK_REPORT(mismatch_report("reference dL/dInput", ref.dx, expected("grad_input"), tight));
    NETKIT_CHECK_REPORT(mismatch_report("reference dL/dWeights", ref.dw, expected("grad_weights"), tight));
  }
}

TEST_CASE("Convolution 3-D: depth 1 with kernel depth 1 is the 2-D convolution", "[convolution][volume]") {
  // [C, 1, H, W] with KernelSize {1, 3, 3} against [C, H, W] with KernelSize 3, the same arrays.
  LayerNet volume = ConvolutionLayer({{"Input", {3, 1, 6, 5}},
                                      {"OutputChannels", 4},
                                      {"KernelSize", {1, 3, 3}},
                                      {"PaddingSize", {0, 1, 1}},
                                      {"BiasesInitializer", "NarrowNormal"}});
  volume.initialize(8);
  LayerNet plane =
      ConvolutionLayer({{"Input", {3, 6, 5}}, {"OutputChannels", 4}, {"KernelSize", 3}, {"PaddingSize", 1}});
  plane.set_array("Weights", volume.array("Weights").reshaped({4, 3, 3, 3}));
  plane.set_array("Biases", volume.array("Biases"));
  Random random(4, "plane");
  const Array x = random_normal({2, 3, 1, 6, 5}, random), dy = random_normal({2, 4, 1, 6, 5}, random);
  const Array x2 = x.reshaped({2, 3, 6, 5}), dy2 = dy.reshaped({2, 4, 6, 5});
  const auto near = [](const Array& a, const Array& b) {
    return mismatch_report("values", to_doubles(a), to_doubles(b), Tolerance{1e-6, 1e-6});
  };
  NETKIT_CHECK_REPORT(near(volume.evaluate_batch(x).reshaped({2, 4, 6, 5}), plane.evaluate_batch(x2)));
  const Gradients gv = volume.gradients(x, dy), gp = plane.gradients(x2, dy2);
  NETKIT_CHECK_REPORT(near(gv.input().reshaped({2, 3, 6, 5}), gp.input()));
  NETKIT_CHECK_REPORT(near(gv.arrays.at("Weights").reshaped({4, 3, 3, 3}), gp.arrays.at("Weights")));
  NETKIT_CHECK_REPORT(near(gv.arrays.at("Biases"), gp.arrays.at("Biases")));
}

TEST_CASE("Convolution 3-D: 1 and 2 threads give the same bits, and save / load keeps them", "[convolution][volume]") {
  LayerNet conv = ConvolutionLayer({{"Input", {4, 5, 6, 7}},
                                    {"OutputChannels", 6},
                                    {"KernelSize", {3, 3, 2}},
                                    {"Stride", {2, 1, 1}},
                                    {"PaddingSize", "Same"},
                                    {"ChannelGroups", 2},
                                    {"BiasesInitializer", "NarrowNormal"}});
  conv.initialize(11);
  Random random(6, "threads");
  const Array x = random_normal({3, 4, 5, 6, 7}, random);
  const Array dy = random_normal(conv.port_shape("Output").with_batch(3), random);
  auto run = [&](int threads) {
    ThreadCount t(threads);
    const Gradients g = conv.gradients(x, dy);
    return std::vector<Array>{conv.evaluate_batch(x), g.input(), g.arrays.at("Weights"), g.arrays.at("Biases")};
  };
  const auto one = run(1), two = run(2);
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i << " (output, dL/dInput, dL/dWeights, dL/dBiases)");
    CHECK(one[i].bit_equal(two[i]));
  }
  const LayerNet back = layer_net_from_json(layer_net_to_json(conv));
  CHECK(back.port_shape("Output") == conv.port_shape("Output"));
  CHECK(back.evaluate_batch(x).bit_equal(one[0]));
}

TEST_CASE("Convolution 3-D: a depth too small for the kernel is named", "[convolution][volume]") {
  CHECK_THROWS_WITH(
      ConvolutionLayer({{"Input", {2, 2, 5, 5}}, {"KernelSize", {3, 1, 1}}, {"OutputChannels", 1}}),
      Catch::Matchers::Equals(
          "Convolution layer, port \"Input\": output size would be less than 1 in spatial dimension 1; "
          "expected input size >= 3 (kernel 3, dilation 1, padding 0), got input size 2 (shape [2, 2, 5, 5])"));
  CHECK_THROWS_WITH(ConvolutionLayer({{"Input", {2, 3, 5, 5}}, {"KernelSize", {3, 3}}}),
                    Catch::Matchers::Contains("rank must fit the 2 spatial dimensions"));
}
