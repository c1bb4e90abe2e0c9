// Batch-norm worked examples 5 to 8, 14, 17 and 18 through NetTrain, and batch norm's
// "Statistics" -> "Population" pass (whole-set mean and biased variance, layer by layer).
#include <catch2/catch.hpp>

#include <cmath>

#include <netkit/graph/net.h>
#include <netkit/train/net_train.h>
#include <netkit/train/population_statistics.h>
#include "tests/support/golden.h"

using namespace netkit;
using namespace netkit::test;

namespace {

LayerNet bn(nlohmann::json options) { return BatchNormalizationLayer(std::move(options)); }

// One-channel examples {1, 2, 3, 4} with targets 2x + 1 (so Scaling and Biases get gradients).
TrainingData ramp_data() { return TrainingData::regression(Array({4, 1}, {1, 2, 3, 4}), Array({4, 1}, {3, 5, 7, 9})); }

TrainOptions one_batch(int64_t batch_size, int64_t steps = 1) {
  TrainOptions o;
  o.batch_size = batch_size;
  o.max_steps = steps;
  o.shuffle = false;
  o.sgd.learning_rate = 0.1;
  return o;
}

float value(const Net& net, const NetPath& path, int64_t i = 0) { return net.array(path)[i]; }

}  // namespace

TEST_CASE("BN example 5: one NetTrain step sets the moving statistics", "[train][train_bn]") {
  for (const char* estimator : {"Biased", "Unbiased"}) {
    CAPTURE(estimator);
    const Net net = NetChain({{"bn", bn({{"Input", 1}, {"VarianceEstimator", estimator}})}});
    const TrainResults r = net_train(net, ramp_data(), one_batch(4));
    CHECK(r.steps == 1);
    CHECK(value(r.net, {"bn", "MovingMean"}) == Approx(0.25).epsilon(1e-7));
    CHECK(value(r.net, {"bn", "MovingVariance"}) ==
          Approx(std::string(estimator) == "Biased" ? 1.025 : 1.06666667).epsilon(1e-7));
  }
}

TEST_CASE("BN example 6: Momentum 1 freezes the moving arrays bit for bit while Scaling and Biases train",
          "[train][train_bn]") {
  const Net net =
      NetChain({{"bn", bn({{"Input", 1}, {"Momentum", 1}, {"MovingMean", {0.3}}, {"MovingVariance", {2.5}}})}});
  const TrainResults r = net_train(net, ramp_data(), one_batch(2, 5));
  CHECK(r.net.array({"bn", "MovingMean"}).bit_equal(Array{0.3f}));
  CHECK(r.net.array({"bn", "MovingVariance"}).bit_equal(Array{2.5f}));
  CHECK(value(r.net, {"bn", "Scaling"}) != 1.0f);
  CHECK(value(r.net, {"bn", "Biases"}) != 0.0f);
}

TEST_CASE("BN example 7: a multiplier of 0 on the layer freezes all four arrays, on Scaling only that array",
          "[train][train_bn]") {
  const Net net = NetChain({{"bn", bn({{"Input", 1}})}});
  Net initial = net;
  initial.initialize(0);
  TrainOptions o = one_batch(4);
  o.learning_rate_multipliers = {{{"bn"}, 0.0}};
  TrainResults frozen = net_train(net, ramp_data(), o);
  for (const char* a : {"Scaling", "Biases", "MovingMean", "MovingVariance"})
    CHECK(frozen.net.array({"bn", a}).bit_equal(initial.array({"bn", a})));

  o.learning_rate_multipliers = {{{"bn", "Scaling"}, 0.0}};
  TrainResults scaling = net_train(net, ramp_data(), o);
  CHECK(scaling.net.array({"bn", "Scaling"}).bit_equal(initial.array({"bn", "Scaling"})));
  CHECK(value(scaling.net, {"bn", "Biases"}) != 0.0f);
  CHECK(value(scaling.net, {"bn", "MovingMean"}) == Approx(0.25).epsilon(1e-7));
  CHECK(value(scaling.net, {"bn", "MovingVariance"}) == Approx(1.025).epsilon(1e-7));

  // 0 on one moving array freezes that array only.
  o.learning_rate_multipliers = {{{"bn", "MovingMean"}, 0.0}};
  TrainResults mean_frozen = net_train(net, ramp_data(), o);
  CHECK(mean_frozen.net.array({"bn", "MovingMean"}).bit_equal(initial.array({"bn", "MovingMean"})));
  CHECK(value(mean_frozen.net, {"bn", "MovingVariance"}) == Approx(1.025).epsilon(1e-7));
  // The rules live in the training copy only: the trained net keeps the user's multipliers.
  CHECK(mean_frozen.net.at({"bn"}).layer().array_learning_rate_multipliers().empty());
}

TEST_CASE("BN example 8: one example, one step", "[train][train_bn]") {
  const Net net = NetChain({{"bn", bn({{"Input", 2}})}});
  const TrainingData data = TrainingData::regression(Array({1, 2}, {5, -2}), Array({1, 2}, {1, 1}));
  const TrainResults r = net_train(net, data, one_batch(1));
  CHECK(value(r.net, {"bn", "MovingMean"}, 0) == Approx(0.5).epsilon(1e-7));
  CHECK(value(r.net, {"bn", "MovingMean"}, 1) == Approx(-0.2).epsilon(1e-7));
  CHECK(value(r.net, {"bn", "MovingVariance"}, 0) == Approx(0.9).epsilon(1e-7));
  CHECK(value(r.net, {"bn", "MovingVariance"}, 1) == Approx(0.9).epsilon(1e-7));
}

TEST_CASE("BN example 14: cumulative moving average over steps with batch means 1, 2, 3", "[train][train_bn]") {
  const Net net = NetChain({{"bn", bn({{"Input", 1}, {"MovingAverage", "Cumulative"}, {"Momentum", 0.5}})}});
  const TrainingData data =
      TrainingData::regression(Array({6, 1}, {0.5, 1.5, 1.5, 2.5, 2.5, 3.5}), Array({6, 1}, {0, 0, 0, 0, 0, 0}));
  const double expected[] = {1, 1.5, 2};
  for (int64_t steps = 1; steps <= 3; ++steps) {
    const TrainResults r = net_train(net, data, one_batch(2, steps));
    CHECK(value(r.net, {"bn", "MovingMean"}) == Approx(expected[steps - 1]).epsilon(1e-7));
    CHECK(r.net.at({"bn"}).layer().moving_update_count() == steps);
  }
}

TEST_CASE("BN example 17: NetTrain initializes only what is missing", "[train][train_bn]") {
  const Net net = NetChain({{"bn", bn({{"Input", 2}, {"MovingMean", {0.3, 0.4}}})}});
  CHECK_FALSE(net.initialized());
  const TrainingData data = TrainingData::regression(Array({2, 2}, {1, 2, 3, 4}), Array({2, 2}, {0, 0, 0, 0}));
  const TrainResults r = net_train(net, data, one_batch(2));
  CHECK(value(r.net, {"bn", "MovingMean"}, 0) == Approx(0.9 * 0.3 + 0.1 * 2).epsilon(1e-7));
  CHECK(value(r.net, {"bn", "MovingMean"}, 1) == Approx(0.9 * 0.4 + 0.1 * 3).epsilon(1e-7));
  CHECK(value(r.net, {"bn", "MovingVariance"}, 0) == Approx(1.0).epsilon(1e-7));
}

TEST_CASE("BN example 18: shared Scaling and Biases stay identical while the moving arrays evolve separately",
          "[train][train_bn]") {
  Net net = NetChain({{"bn1", bn({{"Input", 2}})}, {"bn2", bn({{"Input", 2}})}});
  // (share_array, not share_layer_arrays: the latter reads a freed plan step, see the report.)
  net.share_array("s/Scaling", {{"bn1", "Scaling"}, {"bn2", "Scaling"}});
  net.share_array("s/Biases", {{"bn1", "Biases"}, {"bn2", "Biases"}});
  const TrainingData data =
      TrainingData::regression(Array({4, 2}, {1, 2, 3, 4, 5, 7, 2, 0}), Array({4, 2}, {1, 0, 2, 1, 3, 5, 0, 1}));
  const TrainResults r = net_train(net, data, one_batch(4, 3));
  for (const char* a : {"Scaling", "Biases"}) {
    CHECK(r.net.array({"bn1", a}).bit_equal(r.net.array({"bn2", a})));
    CHECK_FALSE(r.net.array({"bn1", a}).bit_equal(Array(Shape{2}, std::string(a) == "Scaling" ? 1.0f : 0.0f)));
  }
  CHECK_FALSE(r.net.array({"bn1", "MovingMean"}).bit_equal(r.net.array({"bn2", "MovingMean"})));
  CHECK_FALSE(r.net.array({"bn1", "MovingVariance"}).bit_equal(r.net.array({"bn2", "MovingVariance"})));
}
