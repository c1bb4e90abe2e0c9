// The optimiser (train/sgd.h), learning-rate schedules and multiplier rules, checked against
// hand-computed updates, and one NetTrain run on a tiny net computed by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include <netkit/core/error.h>
#include <netkit/graph/net.h>
#include <netkit/train/lr_schedule.h>
#include <netkit/train/multiplier_rules.h>
#include <netkit/train/net_train.h>
#include <netkit/train/sgd.h>

using namespace netkit;
using Catch::Matchers::Contains;

namespace {

ArrayRef ref(Array& w, const Array& g, double multiplier = 1.0, double l2_factor = 1.0) {
  return {"w", &w, ArrayView(g), ArrayRole::Learnable, multiplier, l2_factor};
}

}  // namespace

TEST_CASE("SGD: momentum, L2 scaled by the L2 factor and a multiplier, by hand", "[train][train_sgd]") {
  // g' = g + l2 f w = {0.5, 0.25} + 0.2 {1, -2} = {0.7, -0.15}; v = g'; w -= (0.1 * 0.5) v.
  Array w{1.0f, -2.0f};
  const Array g{0.5f, 0.25f};
  Sgd sgd({0.1, 0.9, false, 0.1, 0.0});
  sgd.step({ref(w, g, 0.5, 2.0)}, 0.1);
  CHECK(w[0] == Approx(0.965).epsilon(1e-7));
  CHECK(w[1] == Approx(-1.9925).epsilon(1e-7));
  // Second step: g' = {0.5 + 0.193, 0.25 - 0.3985}; v = 0.9 {0.7, -0.15} + g' = {1.323, -0.2835}.
  sgd.step({ref(w, g, 0.5, 2.0)}, 0.1);
  CHECK(w[0] == Approx(0.965 - 0.05 * 1.323).epsilon(1e-6));
  CHECK(w[1] == Approx(-1.9925 + 0.05 * 0.2835).epsilon(1e-6));
  CHECK(sgd.steps_taken() == 2);
  CHECK(sgd.momentum_buffers().at("w")[0] == Approx(1.323).epsilon(1e-6));
}

TEST_CASE("SGD: Nesterov, clipping, frozen and moving arrays", "[train][train_sgd]") {
  SECTION("Nesterov: d = g + mu v, so the first step moves 1.9 g") {
    Array w{1.0f, -2.0f};
    const Array g{0.5f, 0.25f};
    Sgd sgd({0.1, 0.9, true, 0.0, 0.0});
    sgd.step({ref(w, g)}, 0.1);
    CHECK(w[0] == Approx(1 - 0.1 * 1.9 * 0.5).epsilon(1e-7));
    CHECK(w[1] == Approx(-2 - 0.1 * 1.9 * 0.25).epsilon(1e-7));
  }
  SECTION("clipping acts on the gradient element by element, before L2") {
    Array w{1.0f, -2.0f, 0.0f};
    const Array g{5.0f, -0.1f, -7.0f};
    Sgd sgd({1.0, 0.0, false, 0.0, 0.3});
    sgd.step({ref(w, g)}, 1.0);
    CHECK(w.bit_equal(Array{0.7f, -1.9f, 0.3f}));
  }
  SECTION("multiplier 0 leaves the array and its buffer alone; moving arrays are never stepped") {
    Array w{1.0f}, m{3.0f};
    const Array g{0.5f};
    Sgd sgd({0.1, 0.9, false, 0.5, 0.0});
    ArrayRef moving{"m", &m, ArrayView(), ArrayRole::Moving, 1.0, 0.0};
    sgd.step({ref(w, g, 0.0), moving}, 0.1);
    CHECK(w.bit_equal(Array{1.0f}));
    CHECK(m.bit_equal(Array{3.0f}));
    CHECK(sgd.momentum_buffers().empty());
  }
}

TEST_CASE("SGD: bad options are refused with their names", "[train][train_sgd]") {
  CHECK_THROWS_WITH(
      Sgd({-0.1, 0, false, 0, 0}),
      Contains("NetTrain option \"LearningRate\": out of range; expected a finite number >= 0, got -0.1"));
  CHECK_THROWS_WITH(Sgd({0.1, 1.0, false, 0, 0}),
                    Contains("\"Momentum\": out of range; expected a number in [0, 1), got 1"));
  CHECK_THROWS_WITH(Sgd({0.1, 0, true, 0, 0}),
                    Contains("\"Nesterov\": needs momentum; expected \"Momentum\" > 0, got 0"));
  CHECK_THROWS_WITH(Sgd({0.1, 0, false, -1, 0}), Contains("\"L2Regularization\": out of range"));
  CHECK_THROWS_WITH(Sgd({0.1, 0, false, 0, -1}), Contains("\"GradientClipping\": out of range"));
}

TEST_CASE("Learning-rate schedules", "[train][train_sgd]") {
  CHECK(LearningRateSchedule::constant().rate(100, 0.5, 1000) == 0.5);
  const auto step = LearningRateSchedule::step(10, 0.5);
  CHECK(step.rate(9, 0.8, 0) == 0.8);
  CHECK(step.rate(10, 0.8, 0) == 0.4);
  CHECK(step.rate(25, 0.8, 0) == Approx(0.2));
  const auto cosine = LearningRateSchedule::cosine(0, 0.1);
  CHECK(cosine.rate(0, 1.0, 100) == Approx(1.0));
  CHECK(cosine.rate(50, 1.0, 100) == Approx(0.55));
  CHECK(cosine.rate(100, 1.0, 100) == Approx(0.1));
  CHECK(cosine.rate(200, 1.0, 100) == Approx(0.1));
  const auto user = LearningRateSchedule::user([](int64_t k, double base) { return base / double(k + 1); });
  CHECK(user.rate(3, 1.0, 0) == 0.25);
  const auto bad = LearningRateSchedule::user([](int64_t, double) { return -1.0; });
  CHECK_THROWS_WITH(
      bad.rate(4, 1.0, 0),
      Contains("NetTrain, step 5: learning-rate function out of range; expected a finite number >= 0, got -1"));
  CHECK_THROWS_WITH(LearningRateSchedule::step(0, 0.5),
                    Contains("step size out of range; expected an integer >= 1, got 0"));
  CHECK_THROWS_WITH(LearningRateSchedule::user(nullptr), Contains("no function given"));
}

TEST_CASE("Multiplier rules: layer paths, array names under a path, indices, first match wins", "[train][train_sgd]") {
  const std::vector<std::string> names{"block", "conv"};
  const std::vector<size_t> idx{1, 0};
  const std::vector<MultiplierRule> rules{
      {{"block", "conv", "Biases"}, 0.0}, {{"block", "Weights"}, 0.5}, {{"block"}, 2.0}, {{}, 3.0}};
  CHECK(*resolve_multiplier(rules, names, idx, "Biases") == 0.0);
  CHECK(*resolve_multiplier(rules, names, idx, "Weights") == 0.5);
  CHECK(*resolve_multiplier(rules, names, idx, "Scaling") == 2.0);
  CHECK(*resolve_multiplier(rules, {"other"}, {0}, "Weights") == 3.0);
  CHECK(*resolve_multiplier({{{2, 1}, 0.25}}, names, idx, "Weights") == 0.25);  // 1-based indices
  CHECK_FALSE(resolve_multiplier({{{"block", "lin"}, 0.0}}, names, idx, "Weights"));
  CHECK_FALSE(resolve_multiplier({}, names, idx, "Weights"));
  CHECK(rule_text({"block", 2, "Weights"}) == "{\"block\", 2, \"Weights\"}");
}

TEST_CASE("NetTrain on a tiny net equals two SGD steps computed by hand", "[train][train_sgd]") {
  // y = W x + b, MSE loss averaged over the batch of 2, so dL/dy_i = y_i - t_i.
  // Step 1: y = {-1.25, -0.75}, dL/dy = {-2.25, 0.25}, dL/dW = {-2.5, -4.375}, dL/db = -2;
  // with L2 0.01 on W only: W = W - 0.1 (dW + 0.01 W) = {0.7495, -0.5615}; b = 0.25 + 0.1 * 0.5 * 2.
  const Net net = NetChain(
      {{"lin", LinearLayer(
                   {{"Weights", {{0.5, -1.0}}}, {"Biases", {0.25}}, {"L2Factors", {{"Weights", 1}, {"Biases", 0}}}})}});
  const TrainingData data = TrainingData::regression(Array({2, 2}, {1, 2, -1, 0.5}), Array({2, 1}, {1, -1}));
  TrainOptions o;
  o.batch_size = 2;
  o.rounds = 2;
  o.shuffle = false;
  o.sgd = {0.1, 0.9, false, 0.01, 0.0};
  o.learning_rate_multipliers = {{{"lin", "Biases"}, 0.5}};
  const TrainResults r = net_train(net, data, o);
  REQUIRE(r.batch_losses.size() == 2);
  CHECK(r.batch_losses[0] == Approx(2.5625).epsilon(1e-7));
  CHECK(r.batch_losses[1] == Approx(0.57489615625).epsilon(1e-6));
  const Array& w = r.net.array({"lin", "Weights"});
  CHECK(w[0] == Approx(1.1076255).epsilon(1e-6));
  CHECK(w[1] == Approx(0.022424).epsilon(1e-5));
  CHECK(r.net.array({"lin", "Biases"})[0] == Approx(0.4751875).epsilon(1e-6));
  REQUIRE(r.rounds.size() == 2);
  CHECK(r.rounds[1].training_loss == r.batch_losses[1]);
  CHECK(r.stop_reason == "rounds");
}
