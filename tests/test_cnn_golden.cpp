// A whole small CNN against PyTorch, forward and backward, in Test and in Train mode:
// NetChain[Convolution -> BatchNormalization -> Ramp -> Pooling -> Linear[10] -> Softmax], and
// the same kind of net through CrossEntropyLoss (mean over the batch). Golden data from
// tools/reference/cnn_golden.py (data/golden/cnn/*.json: float64 PyTorch from the float32
// starting values; BN "Momentum" 0.9 == PyTorch momentum 0.1, "VarianceEstimator" "Unbiased").
//
// Tolerance: float32 against float64, relative 1e-5 plus an absolute floor of 1e-6 times the
// largest |value| of the quantity (for gradients: of any gradient of that backward pass). The
// relative part is ~100 ulps of float32, room for the rounding of sums of a few hundred terms
// (a conv weight gradient sums B H W products); the floor admits the absolute error such sums
// leave on elements that nearly cancel, e.g. the Train-mode conv Biases gradient, which is 0
// exactly (a bias before a Train-mode BN shifts the batch mean with it) and up to 6e-8 here.
// The generator keeps every Ramp input and every Max-pooling near-tie more than 1e-4 away, so
// rounding cannot switch a branch. Measured: every element within 9% of its allowance (worst
// absolute error 2.1e-7, on a Linear Weights gradient of size 1.2); a 5e-5 relative change of
// one golden value is caught.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <netkit/graph/executor.h>
#include <netkit/graph/net.h>
#include <netkit/graph/net_json.h>
#include "tests/support/golden.h"

using namespace netkit;
using namespace netkit::test;

namespace {

constexpr double kRel = 1e-5, kFloor = 1e-6;

struct Case {
  std::string name;
  nlohmann::json doc;
  std::vector<int64_t> dims;  // of the input batch
  int64_t batch() const { return dims[0]; }
  bool with_loss() const { return doc.contains("targets"); }
  Array input() const { return json_array(doc.at("inputs"), dims, name + " inputs"); }
  Array targets() const {
    const auto t = doc.at("targets").get<std::vector<double>>();
    return Array(std::vector<int64_t>{batch()}, std::vector<float>(t.begin(), t.end()));
  }
  Array output_gradient() const { return json_array(doc.at("output_gradient"), {batch(), 10}, name + " dL/dOutput"); }
};

Case load(const std::string& name) {
  Case c{name, read_json(source_path("data/golden/cnn/" + name + ".json")), {}};
  c.dims = c.doc.at("input_shape").get<std::vector<int64_t>>();
  return c;
}

NetPath path_of(const std::string& key) {
  NetPath p;
  for (size_t start = 0, slash; start <= key.size(); start = slash + 1) {
    slash = std::min(key.find('/', start), key.size());
    p.push_back(key.substr(start, slash - start));
  }
  return p;
}

// The chain as the generator configured it (options from the file), with the file's arrays.
// `bn` replaces the BatchNormalization options when given.
Net chain_for(const Case& c, const nlohmann::json& bn = nullptr) {
  const nlohmann::json& o = c.doc.at("options");
  Net net = NetChain({{"conv", ConvolutionLayer(o.at("conv"))},
                      {"bn", BatchNormalizationLayer(bn.is_null() ? o.at("bn") : bn)},
                      {"ramp", RampLayer()},
                      {"pool", PoolingLayer(o.at("pool"))},
                      {"linear", LinearLayer(o.at("linear"))},
                      {"softmax", SoftmaxLayer()}},
                     {{"Input", std::vector<int64_t>(c.dims.begin() + 1, c.dims.end())}});
  for (const auto& [key, a] : c.doc.at("initial").items())
    net.set_array(path_of(key),
                  json_array(a.at("data"), a.at("shape").get<std::vector<int64_t>>(), c.name + " " + key));
  REQUIRE(net.initialized());
  return net;
}

// The chain with CrossEntropyLoss (class indices) on its output: ports Input, Target -> Loss.
Net loss_net_for(const Case& c) {
  return NetGraph({{"net", chain_for(c)}, {"loss", CrossEntropyLossLayer({{"TargetForm", "Index"}})}},
                  {{"net", NetPort("loss", "Input")}});
}

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

Tolerance tolerance(double scale) { return {kRel, kFloor * scale}; }

std::string compare(const std::string& what, const Array& got, const nlohmann::json& expected, double scale) {
  return mismatch_report(what, to_doubles(got), json_numbers(expected, what), tolerance(scale), got.dims());
}

std::string compare(const std::string& what, const Array& got, const nlohmann::json& expected) {
  return compare(what, got, expected, max_abs(json_numbers(expected, what)));
}

// Every learnable array's gradient, by the golden key ("conv/Weights"); `prefix` is the path of
// the chain inside the net ("net/" in the loss graph). The floor scale is the pass's largest.
void check_array_gradients(const Case& c, const NetGradients& g, const nlohmann::json& expected,
                           const std::string& prefix, const std::string& mode) {
  double scale = 0;
  for (const auto& [key, e] : expected.items()) scale = std::max(scale, max_abs(json_numbers(e, key)));
  CHECK(g.arrays.size() == expected.size());
  for (const auto& [key, e] : expected.items()) {
    REQUIRE(g.arrays.count(prefix + key) == 1);
    NETKIT_CHECK_REPORT(compare(c.name + " " + mode + " dL/d" + key, g.arrays.at(prefix + key), e, scale));
  }
}

Mode mode_of(const std::string& name) { return name == "Train" ? Mode::Train : Mode::Test; }

}  // namespace

TEST_CASE("CNN: outputs and all gradients match PyTorch in Test and Train mode", "[cnn][golden]") {
  for (const std::string name : {"gray8_max", "rgb7_groups_mean"}) {
    const Case c = load(name);
    const Array x = c.input(), dy = c.output_gradient();
    for (const std::string mode : {"Test", "Train"}) {
      CAPTURE(name, mode);
      const nlohmann::json& e = c.doc.at(mode);
      const Net net = chain_for(c);
      NETKIT_CHECK_REPORT(compare(name + " " + mode + " output", net.evaluate_batch(x, mode_of(mode)), e.at("output")));
      const NetGradients g = net.gradients({{"Input", x}}, {{"Output", dy}}, mode_of(mode));
      NETKIT_CHECK_REPORT(compare(name + " " + mode + " dL/dInput", g.inputs.at("Input"), e.at("input_gradient")));
      check_array_gradients(c, g, e.at("gradients"), "", mode);
    }
    // One moving update after a Train-mode pass gives PyTorch's running statistics.
    Net net = chain_for(c);
    Executor executor(net);
    executor.forward({{"Input", x}}, Mode::Train);
    executor.update_moving(net);
    for (const auto& [key, e] : c.doc.at("Train").at("moving").items())
      NETKIT_CHECK_REPORT(compare(name + " " + key, net.array(path_of(key)), e));
  }
}

TEST_CASE("CNN + CrossEntropyLoss: losses and all gradients match nn.CrossEntropyLoss", "[cnn][golden]") {
  const Case c = load("rgb7_stride2_loss");
  const Net net = loss_net_for(c);
  REQUIRE(net.input_ports() == std::vector<std::string>{"Input", "Target"});
  REQUIRE(net.output_ports() == std::vector<std::string>{"Loss"});
  const std::map<std::string, Array> in{{"Input", c.input()}, {"Target", c.targets()}};
  // L = mean over the batch of the per-example losses: dL/dLoss = 1/B, as NetTrain uses.
  const Array mean_weights = Array::filled({c.batch()}, 1.0f / static_cast<float>(c.batch()));
  for (const std::string mode : {"Test", "Train"}) {
    CAPTURE(mode);
    const nlohmann::json& e = c.doc.at(mode);
    const Array losses = net.evaluate_batch(in, mode_of(mode)).at("Loss");
    NETKIT_CHECK_REPORT(compare(c.name + " " + mode + " losses", losses, e.at("losses")));
    double mean = 0;
    for (float v : losses.values()) mean += v;
    mean /= static_cast<double>(c.batch());
    CHECK(mean == Approx(e.at("loss").get<double>()).epsilon(kRel));
    const NetGradients g = net.gradients(in, {{"Loss", mean_weights}}, mode_of(mode));
    NETKIT_CHECK_REPORT(compare(c.name + " " + mode + " dL/dInput", g.inputs.at("Input"), e.at("input_gradient")));
    check_array_gradients(c, g, e.at("gradients"), "net/", mode);
  }
  // One moving update after a Train-mode pass through the loss graph.
  Net trained = loss_net_for(c);
  Executor executor(trained);
  executor.forward(in, Mode::Train);
  executor.update_moving(trained);
  for (const auto& [key, e] : c.doc.at("Train").at("moving").items())
    NETKIT_CHECK_REPORT(compare(c.name + " " + key, trained.array(path_of("net/" + key)), e));
}

TEST_CASE("CNN: Test mode with the batch statistics as moving arrays gives the Train-mode output", "[cnn][golden]") {
  // Train mode normalises with the batch mean and the BIASED batch variance (1/M, as PyTorch).
  // With "Momentum" 0 one moving update stores exactly this batch's statistics; with the biased
  // estimator the Test-mode net then computes the Train-mode function. With "Unbiased" it stores
  // M/(M-1) times the variance and the outputs must differ: the check can fail.
  for (const std::string name : {"gray8_max", "rgb7_groups_mean", "rgb7_stride2_loss"}) {
    CAPTURE(name);
    const Case c = load(name);
    const Array x = c.input();
    for (const std::string estimator : {"Biased", "Unbiased"}) {
      CAPTURE(estimator);
      Net net = chain_for(c, {{"Epsilon", c.doc.at("options").at("bn").at("Epsilon")},
                              {"Momentum", 0.0},
                              {"VarianceEstimator", estimator}});
      Executor executor(net);
      const Array train = executor.forward({{"Input", x}}, Mode::Train).at("Output");
      executor.update_moving(net);
      const nlohmann::json& stats = c.doc.at("Train");
      NETKIT_CHECK_REPORT(compare(name + " batch mean", net.array({"bn", "MovingMean"}), stats.at("batch_mean")));
      const Array test = net.evaluate_batch(x, Mode::Test);
      const std::string report =
          mismatch_report("Test vs Train output", to_doubles(test), to_doubles(train), Tolerance{kRel, kFloor});
      if (estimator == "Biased") {
        NETKIT_CHECK_REPORT(
            compare(name + " biased batch variance", net.array({"bn", "MovingVariance"}), stats.at("batch_variance")));
        NETKIT_CHECK_REPORT(report);
      } else {
        CHECK(report != "");
      }
    }
  }
}

TEST_CASE("CNN: a save/load round trip gives bit-identical outputs and gradients", "[cnn][golden]") {
  for (const std::string name : {"gray8_max", "rgb7_groups_mean"}) {
    CAPTURE(name);
    const Case c = load(name);
    const Net net = chain_for(c);
    const Net loaded = net_from_text(net_to_text(net), name);
    CHECK(net_to_text(loaded) == net_to_text(net));
    const Array x = c.input(), dy = c.output_gradient();
    for (const Mode mode : {Mode::Test, Mode::Train}) {
      NETKIT_CHECK_REPORT(bit_difference_report("output", loaded.evaluate_batch(x, mode), net.evaluate_batch(x, mode)));
      const NetGradients a = net.gradients({{"Input", x}}, {{"Output", dy}}, mode);
      const NetGradients b = loaded.gradients({{"Input", x}}, {{"Output", dy}}, mode);
      NETKIT_CHECK_REPORT(bit_difference_report("dL/dInput", b.inputs.at("Input"), a.inputs.at("Input")));
      REQUIRE(b.arrays.size() == a.arrays.size());
      for (const auto& [key, grad] : a.arrays) NETKIT_CHECK_REPORT(bit_difference_report(key, b.arrays.at(key), grad));
    }
  }
}
