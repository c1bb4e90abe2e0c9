// The Softmax -> CrossEntropyLoss fusion of running plans (graph/plan_fusion.h): same losses,
// stable gradients for huge logits, and only where it is exact to do it.
#include <catch2/catch.hpp>

#include <cmath>

#include <netkit/graph/executor.h>
#include <netkit/graph/net.h>
#include <netkit/graph/plan.h>

using namespace netkit;

namespace {

// logits -> Softmax -> CrossEntropyLoss(Index) with the target as a second input.
Net classifier() {
  return NetGraph({{"softmax", LayerNet::create("Softmax")}, {"loss", LayerNet::create("CrossEntropyLoss")}},
                  {{NetPort("Input"), "softmax"}, {"softmax", NetPort("loss", "Input")}}, {{"Input", 3}});
}

}  // namespace

TEST_CASE("Fusion: a Softmax read only by a CrossEntropyLoss runs as one layer on logits", "[net][fusion]") {
  const Net net = classifier();
  CHECK(net.plan().steps.size() == 2);  // the net describes itself unfused
  Executor executor(net);
  const Array logits{{1.0, 2.0, 0.5}, {-1.0, 0.0, 3.0}};
  const Array target{0.0, 2.0};
  const auto out = executor.forward({{"Input", logits}, {"Target", target}}, Mode::Test, true);
  REQUIRE(executor.plan().steps.size() == 1);
  CHECK(executor.plan().steps[0].layer->options().at("InputForm") == "Logits");
  // -log softmax(x)[t], computed in double.
  auto expected = [](std::vector<double> x, int t) {
    double m = *std::max_element(x.begin(), x.end()), s = 0;
    for (double v : x) s += std::exp(v - m);
    return -(x[t] - m - std::log(s));
  };
  CHECK(out.at("Loss")[0] == Approx(expected({1, 2, 0.5}, 0)).epsilon(1e-6));
  CHECK(out.at("Loss")[1] == Approx(expected({-1, 0, 3}, 2)).epsilon(1e-6));
  // The gradient is softmax(x) - onehot(t).
  const NetGradients g = executor.backward({{"Loss", Array{1.0, 1.0}}});
  const Array& dx = g.inputs.at("Input");
  double row = 0;
  for (int i = 0; i < 3; ++i) row += dx[i];
  CHECK(std::abs(row) < 1e-6);
  CHECK(dx[0] < 0);
}

TEST_CASE("Fusion: logits of 1e4 give finite, exact losses and gradients", "[net][fusion]") {
  const Net net = classifier();
  const Array logits{{1e4, -1e4, 0.0}, {0.0, 1e4, 1e4}};
  const NetGradients g = net.gradients({{"Input", logits}, {"Target", Array{1.0, 2.0}}});
  const auto loss = net.evaluate_batch({{"Input", logits}, {"Target", Array{1.0, 2.0}}});
  CHECK(loss.at("Loss")[0] == Approx(2e4));
  CHECK(loss.at("Loss")[1] == Approx(std::log(2.0)));
  const Array& dx = g.inputs.at("Input");
  for (int64_t i = 0; i < dx.size(); ++i) CHECK(std::isfinite(dx[i]));
  CHECK(dx[0] == Approx(1.0));   // p = 1 at the largest logit, target elsewhere
  CHECK(dx[1] == Approx(-1.0));  // p = 0 - t = 1
  CHECK(dx[4] == Approx(0.5));
  CHECK(dx[5] == Approx(-0.5));
}

TEST_CASE("Fusion: exported probabilities keep the Softmax, and the loss still reads the logits", "[net][fusion]") {
  // The probabilities are also a net output: the Softmax must run for them, while the loss and
  // its gradient are those of the fused pair, bit for bit (no gradient arrives for the
  // probabilities, so the Softmax's backward is skipped).
  const Net net = NetGraph(
      {{"softmax", LayerNet::create("Softmax")}, {"loss", LayerNet::create("CrossEntropyLoss")}},
      {{NetPort("Input"), "softmax"}, {"softmax", NetPort("loss", "Input")}, {"softmax", NetPort("Probabilities")}},
      {{"Input", 3}});
  const Array logits{{1e4, -1e4, 0.0}, {1.0, 2.0, 3.0}};
  const Array target{1.0, 0.0};
  Executor executor(net);
  const auto out = executor.forward({{"Input", logits}, {"Target", target}}, Mode::Test, true);
  REQUIRE(executor.plan().steps.size() == 2);
  CHECK(executor.plan().steps[1].layer->options().at("InputForm") == "Logits");
  float sum = 0;
  for (int i = 3; i < 6; ++i) sum += out.at("Probabilities")[i];
  CHECK(sum == Approx(1.0f));
  CHECK(out.at("Loss")[0] == Approx(2e4));  // exact on logits; the probability form would give inf
  const NetGradients g = executor.backward({{"Loss", Array{1.0, 1.0}}});

  const Net plain = classifier();
  Executor fused(plain);
  const auto fused_out = fused.forward({{"Input", logits}, {"Target", target}}, Mode::Test, true);
  const NetGradients fused_g = fused.backward({{"Loss", Array{1.0, 1.0}}});
  CHECK(out.at("Loss").values() == fused_out.at("Loss").values());
  CHECK(g.inputs.at("Input").values() == fused_g.inputs.at("Input").values());
}
