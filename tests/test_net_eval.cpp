// Evaluating nets (graph/executor.h): hand-computed values for chains, residual and branch
// graphs and nested nets; finite-difference gradients of whole nets; buffer reuse by liveness
// keeping results bit-identical; the moving update through a net.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/net.h>
#include <netkit/graph/plan.h>
#include "tests/support/fixtures.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

Net linear(const std::vector<std::vector<double>>& w, const std::vector<double>& b) {
  return LinearLayer({{"Weights", w}, {"Biases", b}});
}

// x -> [lin -> ramp] + x: a residual block with hand-checkable numbers.
Net residual() {
  return NetGraph({{"lin", linear({{1, -1}, {2, 0.5}}, {0.5, -1})}, {"ramp", RampLayer()}, {"sum", TotalLayer()}},
                  {{NetPort("Input"), "lin"},
                   {"lin", "ramp"},
                   {"ramp", NetPort("sum", "Input1")},
                   {NetPort("Input"), NetPort("sum", "Input2")}},
                  {{"Input", 2}});
}

// Whole-net gradients against five-point central differences, for the input and every array.
void check_net_gradients(Net net, const Array& x, Mode mode, Tolerance tol) {
  Random random(11, "weights");
  Executor executor(net);
  const Array y = executor.forward({{net.input_ports()[0], x}}, mode, true).at(net.output_ports()[0]);
  const Array w = random_uniform(y.dims(), random, -1, 1);
  const NetGradients g = executor.backward({{net.output_ports()[0], w}});
  auto loss = [&](const Net& n, const Array& input) { return weighted_sum(n.evaluate_batch(input, mode), w); };
  // A float loss L is only known to about 8 ulps of sum |w y| (the net's rounding), so a
  // difference quotient with step h carries that error over h: the absolute allowance.
  double magnitude = 0;
  for (int64_t i = 0; i < y.size(); ++i) magnitude += std::abs(double(w[i]) * y[i]);
  auto within = [&](double h) { return Tolerance{tol.rel, std::max(tol.abs, 8 * 0x1p-24 * magnitude / h)}; };
  // Smooth nets (Tanh, not Ramp) allow steps well above the floats' resolution.
  const double hx = 1e-2 * rms(x, 0.1);
  const auto dx = numeric_gradient([&](const Array& p) { return loss(net, p); }, x, hx);
  const Array& gx = g.inputs.at(net.input_ports()[0]);
  CHECK(compare_gradient("input", gx, dx, within(hx)).report == "");
  Array wrong = gx;  // the comparison can fail: a 5% error is caught
  for (int64_t i = 0; i < wrong.size(); ++i) wrong[i] *= 1.05f;
  CHECK(compare_gradient("input", wrong, dx, within(hx)).worst_ratio > 1);
  for (const auto& [key, analytic] : g.arrays) {
    NetPath path;
    for (size_t start = 0, slash; start <= key.size(); start = slash + 1) {
      slash = key.find('/', start);
      if (slash == std::string::npos) slash = key.size();
      path.push_back(key.substr(start, slash - start));
    }
    const Array value = net.array(path);
    const double h = 1e-2 * rms(value, 0.1);
    const auto da = numeric_gradient(
        [&](const Array& p) {
          Net copy = net;
          copy.set_array(path, p);
          return loss(copy, x);
        },
        value, h);
    CHECK(compare_gradient(key, analytic, da, within(h)).report == "");
  }
}

}  // namespace

TEST_CASE("Net evaluation: a chain computes its layers in order", "[net][eval]") {
  const Net chain = NetChain({linear({{1, 2}, {-1, 1}}, {0, 1}), RampLayer(), linear({{1, 1}}, {0.25})});
  // x = (1, 3): lin (7, 3) -> ramp (7, 3) -> 10.25; x = (2, -4): (-6, -5) -> (0, 0) -> 0.25.
  const Array y = chain.evaluate_batch(Array{{1.0, 3.0}, {2.0, -4.0}});
  CHECK(y.dims() == std::vector<int64_t>{2, 1});
  CHECK(y.values() == std::vector<float>{10.25f, 0.25f});
  CHECK(chain.evaluate(Array{1.0, 3.0}).values() == std::vector<float>{10.25f});
}

TEST_CASE("Net evaluation: a residual Total and a Catenate branch", "[net][eval]") {
  // x = (1, 2): lin = (1 - 2 + 0.5, 2 + 1 - 1) = (-0.5, 2) -> ramp (0, 2) -> + x = (1, 4).
  CHECK(residual().evaluate(Array{1.0, 2.0}).values() == std::vector<float>{1, 4});
  const Net branches = NetGraph({{"a", RampLayer()}, {"b", linear({{2}}, {1})}, {"cat", CatenateLayer()}},
                                {{NetPort("Input"), "a"},
                                 {NetPort("Input"), "b"},
                                 {"a", NetPort("cat", "Input1")},
                                 {"b", NetPort("cat", "Input2")}},
                                {{"Input", 1}});
  CHECK(branches.port_shape("Output") == Shape{2});
  CHECK(branches.evaluate_batch(Array{{-3.0}, {4.0}}).values() == std::vector<float>{0, -5, 4, 9});
}

TEST_CASE("Net evaluation: several inputs and outputs by port name", "[net][eval]") {
  const Net g = NetGraph({{"t", TotalLayer()}, {"r", RampLayer()}}, {{"t", "r"}, {"t", NetPort("Sum")}});
  CHECK(g.input_ports() == std::vector<std::string>{"Input1", "Input2"});
  CHECK(g.output_ports() == std::vector<std::string>{"Sum", "Output"});
  const auto out = g.evaluate_batch({{"Input1", Array{{1.0, -5.0}}}, {"Input2", Array{{2.0, 1.0}}}});
  CHECK(out.at("Sum").values() == std::vector<float>{3, -4});
  CHECK(out.at("Output").values() == std::vector<float>{3, 0});
  CHECK_THROWS_WITH(
      g.evaluate_batch(Array{{1.0}}),
      Equals("NetGraph: one batch needs a net with one input and one output port; expected 1 input and 1 "
             "output, got \"Input1\", \"Input2\" and \"Sum\", \"Output\". Give a batch per input port by name"));
  CHECK_THROWS_WITH(g.evaluate_batch({{"Input1", Array{{1.0}}}}),
                    Equals("net, port \"Input2\": no data for this port; expected a batch of [...], got none"));
  CHECK_THROWS_WITH(g.evaluate_batch({{"Input1", Array{{1.0}}}, {"Input2", Array{{1.0}}}, {"Input3", Array{{1.0}}}}),
                    Contains("unknown input port \"Input3\"; expected one of \"Input1\", \"Input2\""));
  CHECK_THROWS_WITH(g.evaluate_batch({{"Input1", Array{{1.0}}}, {"Input2", Array{{1.0}, {2.0}}}}),
                    Contains("batch size differs from the other ports; expected 1 examples, got 2"));
}

TEST_CASE("Net evaluation: bad data and missing arrays give messages", "[net][eval]") {
  Net chain = NetChain({{"lin", LinearLayer({{"OutputSize", 2}})}, {"bn", BatchNormalizationLayer()}}, {{"Input", 3}});
  CHECK_THROWS_WITH(chain.evaluate_batch(Array::zeros({2, 3})),
                    Equals("net: cannot evaluate: arrays not initialized; expected initialized arrays, got missing "
                           "\"lin/Weights\", \"lin/Biases\", \"bn/Scaling\", \"bn/Biases\", \"bn/MovingMean\", "
                           "\"bn/MovingVariance\". Call initialize() first"));
  chain.initialize(3);
  CHECK_THROWS_WITH(
      chain.evaluate_batch(Array::zeros({2, 4})),
      Equals("net, port \"Input\": batch does not match the port shape; expected examples of shape [3], got "
             "examples of shape [4] (batch dims [2, 4])"));
  Array nan = Array::zeros({1, 3});
  nan[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(chain.evaluate_batch(nan), Contains("net, port \"Input\": input contains NaN or infinity"));
  CHECK_THROWS_AS(chain.evaluate_batch(Array::zeros({0, 3})), EvaluationError);
}

TEST_CASE("Net gradients match central differences: chain with BN, residual, nested", "[net][eval][gradients]") {
  Random random(5, "x");
  const Net tanh = ElementwiseLayer({{"Function", "Tanh"}});
  Net chain =
      NetChain({LinearLayer({{"OutputSize", 3}}), BatchNormalizationLayer(), tanh, LinearLayer({{"OutputSize", 2}})},
               {{"Input", 4}});
  chain.initialize(2);
  const Array x = random_normal({6, 4}, random);
  const Tolerance tol{2e-3, 2e-4};
  SECTION("Test mode") { check_net_gradients(chain, x, Mode::Test, tol); }
  SECTION("Train mode") {
    check_net_gradients(chain, x, Mode::Train, tol);
    // A bias before a Train-mode BN shifts the batch mean with the data: its gradient is zero.
    Executor executor(chain);
    executor.forward({{"Input", x}}, Mode::Train, true);
    const NetGradients g = executor.backward({{"Output", Array::filled({6, 2}, 1.0f)}});
    for (float v : g.arrays.at("1/Biases").values()) CHECK(std::abs(v) < 1e-6);
    CHECK(std::abs(g.arrays.at("1/Weights")[0]) > 1e-3);
  }
  SECTION("residual graph, the input read twice") {
    Net res = NetGraph({{"lin", LinearLayer({{"OutputSize", 2}})}, {"tanh", tanh}, {"sum", TotalLayer()}},
                       {{NetPort("Input"), "lin"},
                        {"lin", "tanh"},
                        {"tanh", NetPort("sum", "Input1")},
                        {NetPort("Input"), NetPort("sum", "Input2")}},
                       {{"Input", 2}});
    res.initialize(4);
    check_net_gradients(res, x.reshaped({12, 2}), Mode::Test, tol);
  }
  SECTION("nested") {
    const Net head = NetChain({LinearLayer({{"OutputSize", 3}}), BatchNormalizationLayer(), tanh});
    Net nested = NetChain({{"block", residual()}, {"head", head}});
    nested.initialize(9);
    check_net_gradients(nested, x.reshaped({12, 2}), Mode::Train, tol);
  }
}

TEST_CASE("Executor: buffers are reused by liveness and results stay bit-identical", "[net][eval]") {
  Random random(3, "x");
  Net chain = NetChain({LinearLayer({{"OutputSize", 8}}), RampLayer(), LinearLayer({{"OutputSize", 8}}), RampLayer(),
                        LinearLayer({{"OutputSize", 8}}), RampLayer()},
                       {{"Input", 8}});
  chain.initialize(4);
  const Array x = random_normal({5, 8}, random);
  Executor reuse(chain), keep(chain);
  const Array a = reuse.forward({{"Input", x}}).at("Output");
  const Array b = keep.forward({{"Input", x}}, Mode::Test, true).at("Output");
  CHECK(a.bit_equal(b));
  // Six values of 8 floats per example: reuse needs two buffers, keeping all needs six.
  CHECK(reuse.activation_bytes() == 2 * 8 * 5 * 4);
  CHECK(keep.activation_bytes() == 6 * 8 * 5 * 4);
  // The same executor on the next batch of the same size and on another size.
  const Array x2 = random_normal({5, 8}, random), x3 = random_normal({2, 8}, random);
  CHECK(reuse.forward({{"Input", x2}}).at("Output").bit_equal(chain.evaluate_batch(x2)));
  CHECK(reuse.forward({{"Input", x3}}).at("Output").bit_equal(chain.evaluate_batch(x3)));
  CHECK(reuse.activation_bytes() == 2 * 8 * 2 * 4);
  // Gradient buffers are reused too: one per live gradient, not one per value.
  keep.forward({{"Input", x}}, Mode::Test, true);
  keep.backward({{"Output", Array::filled({5, 8}, 1.0f)}});
  CHECK(keep.activation_bytes() == (6 + 2) * 8 * 5 * 4);  // gradients alternate between two buffers
}

TEST_CASE("Net gradients of the sum of the only output, or of given output gradients", "[net][eval]") {
  const Net chain = NetChain({linear({{1, 2}, {-1, 1}}, {0, 1}), RampLayer()});
  const Array x{{1.0, 3.0}, {2.0, -4.0}};
  // Example 1 has both units active (7, 3): dL/dx = (1 - 1, 2 + 1); example 2 none.
  const NetGradients g = chain.gradients({{"Input", x}});
  CHECK(g.inputs.at("Input").values() == std::vector<float>{0, 3, 0, 0});
  CHECK(g.arrays.at("1/Biases").values() == std::vector<float>{1, 1});
  const NetGradients h = chain.gradients({{"Input", x}}, {{"Output", Array{{2.0, 0.0}, {1.0, 1.0}}}});
  CHECK(h.inputs.at("Input").values() == std::vector<float>{2, 4, 0, 0});
  const Net two = NetGraph({{"a", RampLayer()}, {"b", RampLayer()}}, {});
  CHECK_THROWS_WITH(two.gradients({{"Input1", x}, {"Input2", x}}),
                    Equals("NetGraph: gradient of a sum needs a net with one output port; expected 1 output port, got "
                           "\"Output1\", \"Output2\". Give the output gradients by port name"));
}

TEST_CASE("Executor: backward needs a forward pass kept for it", "[net][eval]") {
  Net chain = NetChain({RampLayer()}, {{"Input", 2}});
  Executor executor(chain);
  CHECK_THROWS_WITH(executor.backward({}), Contains("backward without a forward pass to differentiate"));
  executor.forward({{"Input", Array{{1.0, -1.0}}}});
  CHECK_THROWS_AS(executor.backward({}), EvaluationError);
  executor.forward({{"Input", Array{{1.0, -1.0}}}}, Mode::Test, true);
  CHECK_THROWS_WITH(
      executor.backward({{"Output", Array{{1.0}}}}),
      Equals("net, port \"Output\": output gradient does not match the output; expected dims [1, 2], got dims [1, 1]"));
  CHECK_THROWS_WITH(executor.backward({{"Out", Array{{1.0}}}}),
                    Contains("gradient for an unknown output port \"Out\""));
  CHECK(executor.backward({{"Output", Array{{3.0, 4.0}}}}).inputs.at("Input").values() == std::vector<float>{3, 0});
}

TEST_CASE("Executor: the moving update folds batch statistics into each BN layer once", "[net][eval]") {
  Net chain = NetChain({{"lin", LinearLayer({{"OutputSize", 2}})}, {"bn", BatchNormalizationLayer()}}, {{"Input", 2}});
  chain.initialize(1);
  const Array x{{1.0, 2.0}, {3.0, -1.0}, {0.5, 0.5}};
  // What the layer alone does with the Linear layer's output is the reference.
  LayerNet bn = chain.at({"bn"}).layer();
  const Array h = chain.at({"lin"}).layer().evaluate_batch(x);
  bn.moving_update_step(h);
  Executor executor(chain);
  executor.forward({{"Input", x}}, Mode::Train);
  executor.update_moving(chain);
  CHECK(chain.array({"bn", "MovingMean"}).bit_equal(bn.array("MovingMean")));
  CHECK(chain.array({"bn", "MovingVariance"}).bit_equal(bn.array("MovingVariance")));
  CHECK(chain.at({"bn"}).layer().moving_update_count() == 1);
  // Evaluating in Train mode changes nothing.
  const Array before = chain.array({"bn", "MovingMean"});
  for (int i = 0; i < 3; ++i) chain.evaluate_batch(x, Mode::Train);
  CHECK(chain.array({"bn", "MovingMean"}).bit_equal(before));
  // A multiplier of 0 on the layer freezes its moving arrays.
  chain.at({"bn"}).layer().set_learning_rate_multiplier(0.0);
  executor.forward({{"Input", x}}, Mode::Train);
  executor.update_moving(chain);
  CHECK(chain.array({"bn", "MovingMean"}).bit_equal(before));
  executor.forward({{"Input", x}}, Mode::Test);
  CHECK_THROWS_WITH(executor.update_moving(chain), Contains("moving update without a Train-mode forward pass"));
}
