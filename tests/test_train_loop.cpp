// The NetTrain loop on a small CNN: it learns, it is reproducible (same seed, 1 or 2 threads),
// validation and the best net, the progress callback and its stop request, step and time limits.
#include <catch2/catch.hpp>

#include <netkit/train/net_train.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/test_train_support.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;

namespace {

TrainOptions cnn_options() {
  TrainOptions o;
  o.batch_size = 16;
  o.rounds = 6;
  o.seed = 7;
  o.sgd = {0.05, 0.9, false, 1e-4, 0.0};
  return o;
}

void check_same_arrays(const Net& a, const Net& b) {
  for (const auto& [name, path] : cnn_arrays())
    NETKIT_CHECK_REPORT(bit_difference_report(name, a.array(path), b.array(path)));
}

}  // namespace

TEST_CASE("NetTrain: a small conv + BN + Ramp + pool + linear net learns the block images", "[train][train_loop]") {
  const TrainingData data = block_images(96, 1);
  const TrainResults r = net_train(small_cnn(), data, cnn_options());
  REQUIRE(r.rounds.size() == 6);
  CHECK(r.steps == 36);
  CHECK(r.examples == 6 * 96);
  CHECK(r.batch_losses.size() == 36);
  CHECK(r.rounds.front().training_loss > 0.5);
  // Measured: the first round's mean batch loss is 1.17, the sixth's 0.00054 (seed 7).
  CHECK(r.rounds.back().training_loss < 0.01);
  CHECK(r.examples_per_second > 0);
  CHECK(r.stop_reason == "rounds");
  // The trained net classifies fresh images from the same distribution (Test mode).
  const TrainingData fresh = block_images(30, 99);
  const Array p = r.net.evaluate_batch(fresh.port("Input"));
  int correct = 0;
  for (int64_t e = 0; e < 30; ++e) {
    int64_t best = 0;
    for (int64_t c = 1; c < 3; ++c)
      if (p[e * 3 + c] > p[e * 3 + best]) best = c;
    correct += best == e % 3;
  }
  CHECK(correct >= 28);
}

TEST_CASE("NetTrain: the same seed gives bit-identical arrays, another seed does not", "[train][train_loop]") {
  const TrainingData data = block_images(48, 2);
  TrainOptions o = cnn_options();
  o.rounds = 2;
  const TrainResults a = net_train(small_cnn(), data, o), b = net_train(small_cnn(), data, o);
  check_same_arrays(a.net, b.net);
  CHECK(a.batch_losses == b.batch_losses);
  o.seed = 8;
  const TrainResults c = net_train(small_cnn(), data, o);
  CHECK_FALSE(a.net.array({"lin", "Weights"}).bit_equal(c.net.array({"lin", "Weights"})));
}

TEST_CASE("NetTrain: measuring training accuracy changes no bit of training", "[train][train_loop]") {
  const TrainingData data = block_images(48, 3);
  TrainOptions o = cnn_options();
  o.rounds = 2;
  o.measure_training_accuracy = true;
  const TrainResults measured = net_train(small_cnn(), data, o);
  o.measure_training_accuracy = false;
  const TrainResults plain = net_train(small_cnn(), data, o);
  check_same_arrays(measured.net, plain.net);
  CHECK(measured.batch_losses == plain.batch_losses);
  REQUIRE(measured.rounds.back().training_accuracy);
  CHECK(*measured.rounds.back().training_accuracy >= 0.0);
  CHECK_FALSE(plain.rounds.back().training_accuracy);
}

TEST_CASE("NetTrain: 1 and 2 threads give bit-identical arrays", "[train][train_loop]") {
  const TrainingData data = block_images(48, 3);
  TrainOptions o = cnn_options();
  o.rounds = 2;
  std::optional<TrainResults> one, two;
  {
    ThreadCount threads(1);
    one.emplace(net_train(small_cnn(), data, o));
  }
  {
    ThreadCount threads(2);
    two.emplace(net_train(small_cnn(), data, o));
  }
  check_same_arrays(one->net, two->net);
  CHECK(one->batch_losses == two->batch_losses);
}

TEST_CASE("NetTrain: validation each round, accuracy, the best net", "[train][train_loop]") {
  TrainOptions o = cnn_options();
  o.rounds = 3;
  o.validation_fraction = 0.25;
  o.keep_best_net = true;
  o.measure_training_accuracy = true;
  const TrainResults r = net_train(small_cnn(), block_images(64, 4), o);
  REQUIRE(r.rounds.size() == 3);
  CHECK(r.examples == 3 * 48);  // 16 of 64 held out
  for (const RoundRecord& round : r.rounds) {
    REQUIRE(round.validation_loss);
    REQUIRE(round.validation_accuracy);
    REQUIRE(round.training_accuracy);
    CHECK(*round.validation_accuracy >= 0);
    CHECK(*round.validation_accuracy <= 1);
  }
  CHECK(*r.rounds.back().validation_accuracy > 0.8);
  REQUIRE(r.best_net);
  REQUIRE(r.best_round >= 1);
  double best = 1e300;
  int64_t best_round = 0;
  for (const RoundRecord& round : r.rounds)
    if (*round.validation_loss < best) best = *round.validation_loss, best_round = round.round;
  CHECK(r.best_round == best_round);
  if (best_round == 3) check_same_arrays(*r.best_net, r.net);
}

TEST_CASE("NetTrain: validation data given, the round record uses Test mode on the whole set", "[train][train_loop]") {
  const TrainingData data = TrainingData::regression(Array({4, 1}, {1, 2, 3, 4}), Array({4, 1}, {2, 4, 6, 8}));
  const TrainingData check = TrainingData::regression(Array({2, 1}, {0, 1}), Array({2, 1}, {1, 1}));
  TrainOptions o;
  o.batch_size = 4;
  o.rounds = 1;
  o.sgd.learning_rate = 0;  // nothing moves, so the validation loss is the initial net's
  o.validation_data = std::make_shared<TrainingData>(check);
  const Net net = NetChain({{"lin", LinearLayer({{"Weights", {{1.0}}}, {"Biases", {0.5}}})}});
  const TrainResults r = net_train(net, data, o);
  // Test mode: y = x + 0.5 -> errors {-0.5, 0.5}: mean squared loss 0.25.
  CHECK(*r.rounds[0].validation_loss == Approx(0.25));
  CHECK_FALSE(r.rounds[0].validation_accuracy);
}

TEST_CASE("NetTrain: the progress callback sees every batch and round and can stop", "[train][train_loop]") {
  TrainOptions o = cnn_options();
  o.rounds = 3;
  std::vector<Progress> seen;
  o.progress = [&](const Progress& p) {
    seen.push_back(p);
    return !(p.event == Progress::Event::Batch && p.step == 8);
  };
  const TrainResults r = net_train(small_cnn(), block_images(48, 5), o);
  CHECK(r.steps == 8);
  CHECK(r.stop_reason == "stopped by the callback");
  REQUIRE(r.rounds.size() == 2);  // round 2 ended with step 6; the stop came in round 3
  REQUIRE(seen.size() == 10);     // 8 batches and 2 rounds
  CHECK(seen[2].event == Progress::Event::Batch);
  CHECK(seen[3].event == Progress::Event::Round);
  CHECK(seen[3].round_record->round == 1);
  CHECK(seen[7].event == Progress::Event::Round);
  CHECK(seen[7].batch == 3);
  CHECK(seen[7].round == 2);
  CHECK(seen[7].batches_per_round == 3);
  CHECK(seen[9].total_steps == 9);
  CHECK(seen[9].loss == r.batch_losses[7]);
  CHECK(seen[0].learning_rate == 0.05);
}

TEST_CASE("NetTrain: step count, time limit, schedules", "[train][train_loop]") {
  const TrainingData data = block_images(48, 6);
  TrainOptions o = cnn_options();
  o.max_steps = 5;
  TrainResults r = net_train(small_cnn(), data, o);
  CHECK(r.steps == 5);
  CHECK(r.rounds.size() == 1);
  CHECK(r.stop_reason == "steps");
  o.max_steps = 0;
  o.rounds = 100;
  o.time_limit = 1e-9;
  r = net_train(small_cnn(), data, o);
  CHECK(r.steps == 1);
  CHECK(r.stop_reason == "time limit");
  // A user schedule of 0 after the first step: later steps change nothing but the momentum buffers.
  o.time_limit = 0;
  o.rounds = 1;
  o.sgd.momentum = 0;
  o.schedule = LearningRateSchedule::user([](int64_t k, double base) { return k == 0 ? base : 0.0; });
  const TrainResults scheduled = net_train(small_cnn(), data, o);
  o.max_steps = 1;
  const TrainResults one_step = net_train(small_cnn(), data, o);
  CHECK(scheduled.net.array({"lin", "Weights"}).bit_equal(one_step.net.array({"lin", "Weights"})));
}
