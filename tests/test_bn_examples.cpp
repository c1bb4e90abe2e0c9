// Twenty worked examples of batch normalization's semantics (docs/batch_norm.md), one test each. Examples that need
// NetTrain, chains or sharing are tested here at layer level (a training step = a Train-mode forward, then the moving
// update) and completed by the issues that bring those parts.
#include <catch2/catch.hpp>

#include <cmath>

#include <netkit/core/error.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>

using namespace netkit;
using Catch::Matchers::Contains;

namespace {

void require_values(const Array& a, const std::vector<double>& expected, double tol = 1e-6) {
  REQUIRE(a.size() == static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    REQUIRE(a[static_cast<int64_t>(i)] == Approx(expected[i]).epsilon(tol).margin(1e-7));
  }
}

LayerNet initialized(const nlohmann::json& options, uint64_t seed = 1) {
  LayerNet bn = BatchNormalizationLayer(options);
  bn.initialize(seed);
  return bn;
}

}  // namespace

TEST_CASE("BN example 1: NetInitialize defaults and a Test-mode vector", "[bn][examples]") {
  LayerNet bn = initialized({{"Input", 3}});
  CHECK(bn.array("Scaling").values() == std::vector<float>{1, 1, 1});
  CHECK(bn.array("Biases").values() == std::vector<float>{0, 0, 0});
  CHECK(bn.array("MovingMean").values() == std::vector<float>{0, 0, 0});
  CHECK(bn.array("MovingVariance").values() == std::vector<float>{1, 1, 1});
  require_values(bn.evaluate(Array{1, 2, -3}), {0.99950037, 1.99900075, -2.99850112});
}

TEST_CASE("BN example 2: Test mode with given arrays", "[bn][examples]") {
  LayerNet bn = BatchNormalizationLayer(
      {{"MovingMean", {1, 2}}, {"MovingVariance", {4, 0.25}}, {"Scaling", {2, -1}}, {"Biases", {0.5, 1}}});
  REQUIRE(bn.port_shape("Input") == Shape());  // rank still open: a vector, matrix, ...
  require_values(bn.evaluate(Array{3, -1}), {2.49975005, 6.98803588});
}

TEST_CASE("BN example 3: zero Scaling gives the Biases in either mode", "[bn][examples]") {
  LayerNet bn = initialized({{"Input", {2, 3}}, {"Scaling", {0, 0}}, {"Biases", {0.5, 1}}});
  for (Mode mode : {Mode::Test, Mode::Train}) {
    for (int64_t n : {1, 2, 7}) {
      Array x = Array::zeros({n, 2, 3});
      for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i % 5 == 0 ? 3e37 : -2e37) * (i % 3) + i);
      const Array y = bn.evaluate_batch(x, mode);
      for (int64_t i = 0; i < y.size(); ++i) {
        INFO("mode " << mode_name(mode) << ", batch " << n << ", element " << i);
        REQUIRE(y[i] == ((i / 3) % 2 == 0 ? 0.5f : 1.0f));
      }
    }
  }
}

TEST_CASE("BN example 4: Train mode on a batch of four scalars", "[bn][examples]") {
  const Array batch{{1}, {2}, {3}, {4}};
  require_values(initialized({{"Input", 1}}).evaluate_batch(batch, Mode::Train),
                 {-1.34110445, -0.44703482, 0.44703482, 1.34110445});
  require_values(initialized({{"Input", 1}, {"Epsilon", 1e-5}}).evaluate_batch(batch, Mode::Train),
                 {-1.34163542, -0.44721181, 0.44721181, 1.34163542});
}

TEST_CASE("BN example 5: one training step moves the statistics", "[bn][examples]") {
  const Array batch{{1}, {2}, {3}, {4}};
  LayerNet biased = initialized({{"Input", 1}});
  biased.moving_update_step(batch);
  require_values(biased.array("MovingMean"), {0.25});
  require_values(biased.array("MovingVariance"), {1.025});
  LayerNet unbiased = initialized({{"Input", 1}, {"VarianceEstimator", "Unbiased"}});
  unbiased.moving_update_step(batch);
  require_values(unbiased.array("MovingMean"), {0.25});
  require_values(unbiased.array("MovingVariance"), {1.06666667});
}

TEST_CASE("BN example 6: Momentum 1 freezes the moving arrays bit for bit", "[bn][examples]") {
  LayerNet bn = initialized({{"Input", 1}, {"Momentum", 1}, {"MovingMean", {0.3}}, {"MovingVariance", {2.5}}});
  const Array mean = bn.array("MovingMean"), var = bn.array("MovingVariance");
  for (int step = 0; step < 5; ++step) bn.moving_update_step(Array{{1.0 + step}, {-2.0}, {7.0}});
  CHECK(bn.array("MovingMean").bit_equal(mean));
  CHECK(bn.array("MovingVariance").bit_equal(var));
  // Scaling and Biases still receive gradients (the trainer changes them; NetTrain's issue checks that end to end).
  const Gradients g = bn.gradients(Array{{1}, {2}, {4}}, Array{{1}, {-1}, {0.5}}, Mode::Train);
  CHECK(g.arrays.at("Scaling")[0] != 0.0f);
  CHECK(g.arrays.at("Biases")[0] != 0.0f);
}

TEST_CASE("BN example 7: multipliers of 0 freeze arrays and moving statistics", "[bn][examples]") {
  const Array batch{{1}, {2}, {3}, {4}};
  LayerNet frozen = initialized({{"Input", 1}, {"LearningRateMultipliers", 0}});
  const Array mean = frozen.array("MovingMean"), var = frozen.array("MovingVariance");
  frozen.moving_update_step(batch);
  CHECK(frozen.array("MovingMean").bit_equal(mean));
  CHECK(frozen.array("MovingVariance").bit_equal(var));
  for (const char* name : {"Scaling", "Biases", "MovingMean", "MovingVariance"})
    CHECK(frozen.learning_rate_multiplier(name) == 0.0);

  LayerNet scaling_only = initialized({{"Input", 1}, {"LearningRateMultipliers", {{"Scaling", 0}}}});
  CHECK(scaling_only.learning_rate_multiplier("Scaling") == 0.0);
  CHECK(scaling_only.learning_rate_multiplier("Biases") == 1.0);
  scaling_only.moving_update_step(batch);
  require_values(scaling_only.array("MovingMean"), {0.25});
  require_values(scaling_only.array("MovingVariance"), {1.025});

  LayerNet mean_frozen = initialized({{"Input", 1}, {"LearningRateMultipliers", {{"MovingMean", 0}}}});
  mean_frozen.moving_update_step(batch);
  require_values(mean_frozen.array("MovingMean"), {0.0});
  require_values(mean_frozen.array("MovingVariance"), {1.025});
}

TEST_CASE("BN example 8: one example per channel gives the Biases and a clean step", "[bn][examples]") {
  LayerNet bn = initialized({{"Input", 2}});
  const Array y = bn.evaluate(Array{5, -2}, Mode::Train);
  CHECK(y.values() == std::vector<float>{0, 0});
  bn.moving_update_step(Array{{5, -2}});
  require_values(bn.array("MovingMean"), {0.5, -0.2});
  require_values(bn.array("MovingVariance"), {0.9, 0.9});
  LayerNet unbiased = initialized({{"Input", 2}, {"VarianceEstimator", "Unbiased"}});
  unbiased.moving_update_step(Array{{5, -2}});  // M = 1: falls back to the biased value 0
  require_values(unbiased.array("MovingVariance"), {0.9, 0.9});
}

TEST_CASE("BN example 9: Test mode is per example", "[bn][examples]") {
  LayerNet bn = initialized({{"Input", {2, 3}},
                             {"MovingMean", {0.5, -1}},
                             {"MovingVariance", {2, 0.3}},
                             {"Scaling", {1.5, -0.7}},
                             {"Biases", {0.1, 0.2}}});
  Array batch = Array::zeros({4, 2, 3});
  for (int64_t i = 0; i < batch.size(); ++i) batch[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)) * 3);
  const Array all = bn.evaluate_batch(batch);
  for (int64_t n = 0; n < 4; ++n) {
    Array one = Array::zeros({2, 3});
    for (int64_t i = 0; i < 6; ++i) one[i] = batch[n * 6 + i];
    const Array alone = bn.evaluate(one);
    for (int64_t i = 0; i < 6; ++i) REQUIRE(alone[i] == all[n * 6 + i]);  // bit-identical
  }
}

TEST_CASE("BN example 10: Train-mode gradient identities", "[bn][examples]") {
  LayerNet bn = initialized({{"Input", {2, 5}}, {"Scaling", {1.3, -0.4}}, {"Biases", {0.2, 0.1}}});
  Array x = Array::zeros({3, 2, 5}), g = Array::zeros({3, 2, 5}), ones = Array::filled({3, 2, 5}, 1.0f);
  for (int64_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(std::cos(1.3 * static_cast<double>(i)) * 2 + 1);
    g[i] = static_cast<float>(std::sin(0.4 * static_cast<double>(i * i)));
  }
  const Array dx = bn.gradients(x, g, Mode::Train).input();
  for (int64_t c = 0; c < 2; ++c) {
    double sum = 0, scale = 0;
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t i = 0; i < 5; ++i) {
        sum += dx[n * 10 + c * 5 + i];
        scale += std::fabs(dx[n * 10 + c * 5 + i]);
      }
    INFO("channel " << c);
    CHECK(std::fabs(sum) < 1e-6 * scale + 1e-7);
  }
  const Array dx_const = bn.gradients(x, ones, Mode::Train).input();
  for (int64_t i = 0; i < dx_const.size(); ++i) CHECK(std::fabs(dx_const[i]) < 1e-6);
}

TEST_CASE("BN example 11: zero moving variance relies on Epsilon", "[bn][examples]") {
  LayerNet bn = initialized({{"MovingMean", {0}}, {"MovingVariance", {0}}, {"Scaling", {1}}, {"Biases", {0}}});
  require_values(bn.evaluate(Array{1}), {31.6227766});
  LayerNet tight =
      initialized({{"MovingMean", {0}}, {"MovingVariance", {0}}, {"Scaling", {1}}, {"Biases", {0}}, {"Epsilon", 1e-6}});
  require_values(tight.evaluate(Array{1}), {1000.0});
}

TEST_CASE("BN example 12: a variance with v + eps <= 0 is rejected, naming the channel", "[bn][examples]") {
  CHECK_THROWS_AS(BatchNormalizationLayer({{"MovingVariance", {-1}}}), InitializationError);
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"MovingVariance", {-1}}}),
                    Contains("array \"MovingVariance\", channel 0") && Contains("got -1"));
  CHECK_THROWS_WITH(BatchNormalizationLayer({{"MovingVariance", {1, -0.001}}}),
                    Contains("channel 1") && Contains("MovingVariance + Epsilon must be positive"));
}

TEST_CASE("BN example 13: a constant channel gives exactly the Biases", "[bn][examples]") {
  LayerNet bn = initialized({{"Input", 1}, {"Scaling", {1.7}}, {"Biases", {0.3}}});
  const Array x{{7}, {7}, {7}};
  const Array y = bn.evaluate_batch(x, Mode::Train);
  for (int64_t i = 0; i < 3; ++i) CHECK(y[i] == 0.3f);
  // Constant dL/dy: dL/dx is exactly 0. (For eps > 0 and a varying dL/dy the true gradient
  // gamma r (g - mean g) is not 0; docs/batch_norm.md explains.)
  const Array dx = bn.gradients(x, Array{{0.1}, {0.1}, {0.1}}, Mode::Train).input();
  for (int64_t i = 0; i < 3; ++i) CHECK(dx[i] == 0.0f);
  // With Epsilon 0 the channel is degenerate: output Biases and a zero gradient for any dL/dy.
  LayerNet exact = initialized({{"Input", 1}, {"Epsilon", 0}, {"Scaling", {1.7}}, {"Biases", {0.3}}});
  const Array y0 = exact.evaluate_batch(x, Mode::Train);
  const Array dx0 = exact.gradients(x, Array{{0.5}, {-2}, {1}}, Mode::Train).input();
  for (int64_t i = 0; i < 3; ++i) {
    CHECK(y0[i] == 0.3f);
    CHECK(dx0[i] == 0.0f);
  }
}

TEST_CASE("BN example 14: cumulative moving average", "[bn][examples]") {
  for (double momentum : {0.0, 0.9, 1.0}) {
    LayerNet bn = initialized({{"Input", 1}, {"MovingAverage", "Cumulative"}, {"Momentum", momentum}});
    const double expected[] = {1, 1.5, 2};
    for (int step = 0; step < 3; ++step) {
      const float mean = static_cast<float>(step + 1);
      bn.moving_update_step(Array{{mean - 1}, {mean + 1}});
      INFO("momentum " << momentum << ", step " << step + 1);
      require_values(bn.array("MovingMean"), {expected[step]});
      CHECK(bn.moving_update_count() == step + 1);
    }
  }
}

TEST_CASE("BN example 15: array lengths follow the channel dimension", "[bn][examples]") {
  LayerNet first = initialized({{"Input", {3, 5, 5}}});
  LayerNet last = initialized({{"Input", {3, 5, 5}}, {"Interleaving", true}});
  for (const char* name : {"Scaling", "Biases", "MovingMean", "MovingVariance"}) {
    CHECK(first.array(name).dims() == std::vector<int64_t>{3});
    CHECK(last.array(name).dims() == std::vector<int64_t>{5});
  }
  // The NetChain half of this example (LinearLayer[4] -> BatchNormalizationLayer[]) is tested
  // with NetChain in the graph issue.
}

TEST_CASE("BN example 16: an uninitialized layer says so and never crashes", "[bn][examples]") {
  LayerNet bn = BatchNormalizationLayer({{"Input", 2}});
  CHECK_FALSE(bn.initialized());
  CHECK_THROWS_AS(bn.array("Scaling"), InitializationError);
  CHECK_THROWS_WITH(bn.array("Scaling"), Contains("array \"Scaling\": not initialized"));
  CHECK_THROWS_AS(bn.evaluate(Array{1, 2}), EvaluationError);
  CHECK_THROWS_WITH(bn.evaluate(Array{1, 2}), Contains("arrays not initialized") && Contains("\"MovingVariance\""));
  LayerNet open = BatchNormalizationLayer();
  CHECK_THROWS_AS(open.initialize(), InitializationError);
  CHECK_THROWS_WITH(open.initialize(),
                    Contains("cannot initialize: the number of channels of port \"Input\" is not known") &&
                        Contains("Give \"Input\" or connect the layer"));
}

TEST_CASE("BN example 17: initialization keeps given arrays unless asked to reset", "[bn][examples]") {
  LayerNet bn = BatchNormalizationLayer({{"MovingMean", {0.3, 0.4}}});
  bn.initialize(5);
  CHECK(bn.array("MovingMean").values() == std::vector<float>{0.3f, 0.4f});
  CHECK(bn.array("MovingVariance").values() == std::vector<float>{1, 1});
  bn.initialize(5, InitializeMode::All);
  CHECK(bn.array("MovingMean").values() == std::vector<float>{0, 0});
  CHECK(bn.array("MovingVariance").values() == std::vector<float>{1, 1});
}

TEST_CASE("BN example 18: layers built from the same Scaling and Biases keep separate statistics", "[bn][examples]") {
  // Layer-level part: shared learnable values, independent moving arrays. Real array sharing
  // (one stored array, summed gradients) comes with the graph issue.
  const nlohmann::json common{{"Input", 1}, {"Scaling", {1.5}}, {"Biases", {0.25}}};
  LayerNet a = initialized(common), b = initialized(common);
  a.moving_update_step(Array{{1}, {3}});
  b.moving_update_step(Array{{10}, {30}});
  CHECK(a.array("Scaling").bit_equal(b.array("Scaling")));
  CHECK(a.array("Biases").bit_equal(b.array("Biases")));
  require_values(a.array("MovingMean"), {0.2});
  require_values(b.array("MovingMean"), {2.0});
}

TEST_CASE("BN example 19: save and load keep every array bit-exact and every option", "[bn][examples]") {
  LayerNet bn = initialized({{"Input", {2, 3}},
                             {"Epsilon", 1e-5},
                             {"Momentum", 0.8},
                             {"Interleaving", true},
                             {"VarianceEstimator", "Unbiased"},
                             {"MovingAverage", "Cumulative"},
                             {"Statistics", "Population"},
                             {"ScalingInitializer", "NarrowNormal"},
                             {"BiasesInitializer", "Ones"},
                             {"L2Factors", {{"Scaling", 0.5}, {"Biases", 0}}},
                             {"LearningRateMultipliers", {{"Biases", 0.5}, {"*", 2}}}},
                            42);
  bn.moving_update_step(Array{{{1, 2, 3}, {4, 5, 6}}, {{-1, 0.5, 2}, {0.1, 0.2, 0.3}}});
  const std::string path = "bn_example_19.json";
  save_layer_net(bn, path);
  const LayerNet back = load_layer_net(path);
  for (const auto& name : bn.array_names()) CHECK(back.array(name).bit_equal(bn.array(name)));
  CHECK(back.options() == bn.options());
  CHECK(back.moving_update_count() == 1);
  CHECK(back.learning_rate_multiplier("Biases") == 0.5);
  CHECK(back.learning_rate_multiplier("Scaling") == 2.0);
  CHECK(layer_net_to_json(back) == layer_net_to_json(bn));
  std::remove(path.c_str());
}

TEST_CASE("BN example 20: Train-mode evaluation never changes the layer", "[bn][examples]") {
  LayerNet bn = initialized({{"Input", 2}, {"MovingMean", {0.1, 0.2}}, {"MovingVariance", {1.5, 2.5}}});
  const nlohmann::json before = layer_net_to_json(bn);
  for (int i = 0; i < 5; ++i) {
    bn.evaluate_batch(Array{{1.0, 2.0}, {3.0, 4.0 + i}}, Mode::Train);
    bn.gradients(Array{{1, 2}, {3, 4}}, Array{{1, 0}, {0, 1}}, Mode::Train);
  }
  CHECK(layer_net_to_json(bn) == before);
}
