// Batch norm's "Statistics" -> "Population" through NetTrain: after the last step the moving
// arrays hold the whole training set's mean and biased variance of each layer's input, with
// earlier layers already using their own population statistics (Test mode, layer by layer).
#include <catch2/catch.hpp>

#include <netkit/core/error.h>
#include <netkit/graph/net.h>
#include <netkit/train/net_train.h>
#include <netkit/train/population_statistics.h>
#include "tests/support/golden.h"
#include "tests/test_train_support.h"

using namespace netkit;
using namespace netkit::test;

namespace {

// Per channel mean and biased variance (double, two passes) of a batch [N, C, ...] or [N, C].
void moments(const Array& x, std::vector<double>& mean, std::vector<double>& var) {
  const int64_t n = x.dims()[0], c = x.dims()[1], inner = x.size() / (n * c);
  mean.assign(size_t(c), 0);
  var.assign(size_t(c), 0);
  for (int64_t k = 0; k < c; ++k) {
    double s = 0, s2 = 0;
    for (int64_t e = 0; e < n; ++e)
      for (int64_t i = 0; i < inner; ++i) s += x[(e * c + k) * inner + i];
    const double m = s / double(n * inner);
    for (int64_t e = 0; e < n; ++e)
      for (int64_t i = 0; i < inner; ++i) s2 += (x[(e * c + k) * inner + i] - m) * (x[(e * c + k) * inner + i] - m);
    mean[size_t(k)] = m;
    var[size_t(k)] = s2 / double(n * inner);
  }
}

void check_population(const Net& trained, const std::vector<std::string>& prefix, const std::string& bn,
                      const Array& inputs) {
  std::vector<std::pair<std::string, Net>> layers;
  for (const auto& name : prefix) layers.emplace_back(name, trained.at({name}));
  const Array x = NetChain(layers).evaluate_batch(inputs, Mode::Test);
  std::vector<double> mean, var;
  moments(x, mean, var);
  NETKIT_CHECK_REPORT(
      mismatch_report(bn + " MovingMean", trained.array({bn, "MovingMean"}), mean, Tolerance{1e-5, 1e-6}));
  NETKIT_CHECK_REPORT(
      mismatch_report(bn + " MovingVariance", trained.array({bn, "MovingVariance"}), var, Tolerance{1e-5, 0}));
}

}  // namespace

TEST_CASE("Population statistics: whole-set mean and biased variance, layer by layer", "[train][train_population]") {
  const nlohmann::json population{{"Statistics", "Population"}};
  const Net net = NetChain({{"lin1", LinearLayer({{"OutputSize", 4}})},
                            {"bn1", BatchNormalizationLayer(population)},
                            {"ramp", RampLayer()},
                            {"lin2", LinearLayer({{"OutputSize", 3}})},
                            {"bn2", BatchNormalizationLayer(population)},
                            {"softmax", LayerNet::create("Softmax")}},
                           {{"Input", 5}});
  Random random(3, "population data");
  Array x = Array::zeros({37, 5});  // 37: the last batch of 8 holds 5 examples
  for (int64_t i = 0; i < x.size(); ++i) x[i] = float(2.0 * random.normal() + 1.5);
  std::vector<int64_t> classes;
  for (int64_t e = 0; e < 37; ++e) classes.push_back(e % 3);
  TrainOptions o;
  o.batch_size = 8;
  o.rounds = 2;
  o.sgd.learning_rate = 0.05;
  const TrainResults r = net_train(net, TrainingData::classification(x, classes), o);
  CHECK(r.population_layers == 2);
  check_population(r.net, {"lin1"}, "bn1", x);
  check_population(r.net, {"lin1", "bn1", "ramp", "lin2"}, "bn2", x);
  // The default ("Moving") keeps the exponential averages.
  const TrainResults moving = net_train(NetChain({{"lin1", LinearLayer({{"OutputSize", 4}})},
                                                  {"bn1", BatchNormalizationLayer()},
                                                  {"lin2", LinearLayer({{"OutputSize", 3}})},
                                                  {"softmax", LayerNet::create("Softmax")}},
                                                 {{"Input", 5}}),
                                        TrainingData::classification(x, classes), o);
  CHECK(moving.population_layers == 0);
}

TEST_CASE("Population statistics of convolution feature maps, and a frozen layer is left alone",
          "[train][train_population]") {
  const TrainingData data = block_images(40, 9);
  TrainOptions o;
  o.batch_size = 16;
  o.rounds = 1;
  o.sgd.learning_rate = 0.05;
  const TrainResults r = net_train(small_cnn({{"Statistics", "Population"}}), data, o);
  CHECK(r.population_layers == 1);
  check_population(r.net, {"conv"}, "bn", data.port("Input"));
  o.learning_rate_multipliers = {{{"bn"}, 0.0}};
  Net initial = small_cnn({{"Statistics", "Population"}});
  initial.initialize(0);
  const TrainResults frozen = net_train(initial, data, o);
  CHECK(frozen.population_layers == 0);
  CHECK(frozen.net.array({"bn", "MovingMean"}).bit_equal(initial.array({"bn", "MovingMean"})));
  CHECK(frozen.net.array({"bn", "MovingVariance"}).bit_equal(initial.array({"bn", "MovingVariance"})));
}

TEST_CASE("Population statistics: data without the net's input port is refused by name", "[train][train_population]") {
  Net net = NetChain(
      {{"lin", LinearLayer({{"OutputSize", 2}})}, {"bn", BatchNormalizationLayer({{"Statistics", "Population"}})}},
      {{"Input", 3}});
  net.initialize(1);
  const TrainingData other(std::map<std::string, Array>{{"Image", Array::zeros({4, 3})}});
  CHECK_THROWS_AS(set_population_statistics(net, other, 2), TrainingError);
  CHECK_THROWS_WITH(
      set_population_statistics(net, other, 2),
      Catch::Matchers::Equals("NetTrain, population statistics of node \"bn\" (BatchNormalization), training "
                              "data: no data for port \"Input\"; expected data for every input port of the "
                              "net, got none for \"Input\""));
}
