// Bad input to BatchNormalizationLayer: every error is typed and its message says where, what
// was expected and what was found.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <netkit/core/error.h>
#include <netkit/graph/layer_net.h>
#include <netkit/layers/batch_norm.h>
#include <netkit/layers/registry.h>

using namespace netkit;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

TEST_CASE("BN errors: MovingVariance + Epsilon must be positive", "[bn][errors]") {
  CHECK_THROWS_WITH(
      BatchNormalizationLayer({{"MovingVariance", {1, 0}}, {"Epsilon", 0}}),
      Equals("BatchNormalization layer, array \"MovingVariance\", channel 1: MovingVariance + Epsilon must be "
             "positive; expected a variance > 0, got 0"));
  LayerNet bn = BatchNormalizationLayer({{"Input", 2}});
  bn.initialize();
  CHECK_THROWS_AS(bn.set_array("MovingVariance", Array{1.0, -2.0}), InitializationError);
  CHECK(bn.array("MovingVariance").values() == std::vector<float>{1, 1});  // nothing lost
}

TEST_CASE("BN errors: a negative variance reaching evaluation is a numerical error, never NaN", "[bn][errors]") {
  // Only code that bypasses LayerNet's checks (e.g. an executor with a corrupted store) can get
  // here; the layer still refuses to produce NaN.
  const BatchNormalization layer;
  Array x{{1.0, 2.0}}, y = Array::zeros({1, 2});
  const Array gamma{1.0, 1.0}, beta{0.0, 0.0}, mean{0.0, 0.0}, var{1.0, -3.0};
  ForwardArgs f;
  f.batch = 1;
  f.input_shapes = {Shape{2}};
  f.inputs = {x.data()};
  f.outputs = {y.data()};
  f.params = {gamma.data(), beta.data(), mean.data(), var.data()};
  CHECK_THROWS_AS(layer.forward(f), NumericalError);
  CHECK_THROWS_WITH(layer.forward(f),
                    Equals("array \"MovingVariance\", channel 1: MovingVariance + Epsilon must be positive, "
                           "or the output would be NaN; expected a variance > -0.001, got -3"));
}

TEST_CASE("BN errors: array lengths must equal the channel count", "[bn][errors]") {
  CHECK_THROWS_AS(BatchNormalizationLayer({{"Input", {3, 4}}, {"Scaling", {1, 2}}}), ShapeError);
  CHECK_THROWS_WITH(
      BatchNormalizationLayer({{"Input", {3, 4}}, {"Scaling", {1, 2}}}),
      Equals("BatchNormalization layer, array \"Scaling\": length must equal the number of channels (port "
             "\"Input\" [3, 4]); expected length 3, got length 2"));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"Biases", {1, 2}}, {"Scaling", {1, 2, 3}}}),
                    Contains("array \"Biases\": length must equal the number of channels (array \"Scaling\"); expected "
                             "length 3, got length 2"));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"Input", {3, 4}}, {"Interleaving", true}, {"MovingMean", {0, 0, 0}}}),
                    Contains("expected length 4, got length 3"));
  CHECK_THROWS_WITH(
      BatchNormalizationLayer({{"Scaling", {{1, 2}}}}),
      Contains("array \"Scaling\": must be a vector of one value per channel; expected rank 1, got shape [1, 2]"));
}

TEST_CASE("BN errors: rank-0 input", "[bn][errors]") {
  CHECK_THROWS_AS(BatchNormalizationLayer({{"Input", nlohmann::json::array()}}), ShapeError);
  CHECK_THROWS_WITH(
      BatchNormalizationLayer({{"Input", nlohmann::json::array()}}),
      Equals("BatchNormalization layer, port \"Input\": input must be an array of rank >= 1; expected rank >= 1, "
             "got rank 0"));
  LayerNet open = BatchNormalizationLayer(
      {{"Scaling", {1.0}}, {"Biases", {0.0}}, {"MovingMean", {0.0}}, {"MovingVariance", {1.0}}});
  CHECK_THROWS_WITH(open.evaluate_batch(Array{1.0, 2.0}), Contains("expected rank >= 1, got rank 0"));
}

TEST_CASE("BN errors: unknown option names list the known ones", "[bn][errors]") {
  CHECK_THROWS_AS(BatchNormalizationLayer({{"Epsilom", 0.1}}), OptionError);
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"Epsilom", 0.1}}),
                    Contains("BatchNormalization options: unknown option \"Epsilom\"; expected one of ") &&
                        Contains("\"Epsilon\"") && Contains("\"VarianceEstimator\"") && Contains("got \"Epsilom\""));
  LayerNet bn = BatchNormalizationLayer();
  CHECK_THROWS_WITH(bn.option("Epsilom"), Contains("unknown option \"Epsilom\"") && Contains("\"Momentum\""));
  CHECK_THROWS_WITH(bn.array("Gamma"), Contains("unknown array \"Gamma\"; expected one of \"Scaling\", \"Biases\""));
}

TEST_CASE("BN errors: option values out of range or of the wrong type", "[bn][errors]") {
  CHECK_THROWS_WITH(
      BatchNormalizationLayer({{"Momentum", 1.5}}),
      Equals("BatchNormalization option \"Momentum\": out of range; expected a number in [0, 1], got 1.5"));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"Momentum", -0.1}}), Contains("got -0.1"));
  CHECK_THROWS_WITH(
      BatchNormalizationLayer({{"Epsilon", -1e-5}}),
      Equals("BatchNormalization option \"Epsilon\": out of range; expected a finite number >= 0, got -1e-05"));
  CHECK_NOTHROW(BatchNormalizationLayer({{"Epsilon", 1e-6}}));
  CHECK_THROWS_WITH(
      BatchNormalizationLayer({{"Epsilon", "small"}}),
      Equals("BatchNormalization option \"Epsilon\": wrong type; expected a number, got a string (\"small\")"));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"Interleaving", 1}}),
                    Contains("expected true or false, got a number (1)"));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"VarianceEstimator", "Sample"}}),
                    Contains("expected one of \"Biased\", \"Unbiased\", got \"Sample\""));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"ScalingInitializer", "Random"}}),
                    Contains("unknown initializer; expected one of Zeros, Ones, NarrowNormal, got \"Random\""));
  CHECK_THROWS_WITH(
      BatchNormalizationLayer({{"L2Factors", {{"MovingMean", 1}}}}),
      Contains(
          "unknown array; expected \"Scaling\" or \"Biases\" (moving arrays are never decayed), got \"MovingMean\""));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"L2Factors", -1}}), Contains("expected finite numbers >= 0, got -1"));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"L2Factors", "none"}}),
                    Equals("BatchNormalization option \"L2Factors\": wrong type; expected a number or {\"Scaling\": x, "
                           "\"Biases\": y}, got a string (\"none\")"));
  CHECK(BatchNormalizationLayer({{"L2Factors", {{"Biases", 0.5}}}}).information().arrays[1].l2_factor == 0.5);
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"LearningRateMultipliers", -1}}),
                    Contains("learning-rate multiplier out of range; expected a finite number >= 0, got -1"));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"LearningRateMultipliers", {{"Gamma", 0}}}}),
                    Contains("unknown array \"Gamma\""));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"Input", {3, 0}}}), Contains("option \"Input\": invalid dimension"));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"Scaling", {1.0, NAN}}}),
                    Contains("option \"Scaling\": value is not finite"));
}

TEST_CASE("BN errors: unknown layer types list the known ones", "[bn][errors]") {
  CHECK_THROWS_AS(make_layer("BatchNorm"), OptionError);
  CHECK_THROWS_WITH(
      make_layer("BatchNorm"),
      Equals("layer type: unknown layer type; expected one of \"BatchNormalization\", \"Catenate\", "
             "\"Convolution\", \"CrossEntropyLoss\", \"Dropout\", \"Elementwise\", \"Flatten\", \"Linear\", "
             "\"MeanSquaredLoss\", \"Pooling\", \"Ramp\", \"Reshape\", \"Softmax\", \"Total\", got \"BatchNorm\""));
  CHECK_THROWS_WITH(LayerNet::create("Batchnormalization"), Contains("got \"Batchnormalization\""));
}

TEST_CASE("BN errors: batches that do not match the port", "[bn][errors]") {
  LayerNet bn = BatchNormalizationLayer({{"Input", {3, 2}}});
  bn.initialize();
  CHECK_THROWS_AS(bn.evaluate_batch(Array::zeros({4, 2, 3})), EvaluationError);
  CHECK_THROWS_WITH(
      bn.evaluate_batch(Array::zeros({4, 2, 3})),
      Equals("BatchNormalization layer, port \"Input\": batch does not match the port shape; expected examples "
             "of shape [3, 2], got examples of shape [2, 3] (batch dims [4, 2, 3])"));
  CHECK_THROWS_WITH(bn.evaluate(Array{1.0, 2.0, 3.0}), Contains("got examples of shape [3]"));
  CHECK_THROWS_WITH(
      bn.gradients(Array::zeros({2, 3, 2}), Array::zeros({2, 3})),
      Equals("BatchNormalization layer, port \"Output\": output gradient does not match the output; expected "
             "dims [2, 3, 2], got dims [2, 3]"));
  Array nan_batch = Array::zeros({1, 3, 2});
  nan_batch[4] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(
      bn.evaluate_batch(nan_batch, Mode::Train),
      Contains("port \"Input\": input contains NaN or infinity; expected finite values, got nan at element 4"));
  // A channel count fixed by the arrays meets data with another count.
  LayerNet two = BatchNormalizationLayer(
      {{"Scaling", {1, 1}}, {"Biases", {0, 0}}, {"MovingMean", {0, 0}}, {"MovingVariance", {1, 1}}});
  CHECK_THROWS_AS(two.evaluate(Array{1.0, 2.0, 3.0}), ShapeError);
  CHECK_THROWS_WITH(two.evaluate(Array{1.0, 2.0, 3.0}), Contains("expected length 3, got length 2"));
}
