// NetTrain as steps (train/trainer.h), the array store (graph/array_store.h) and what they fixed:
// a net that is a single layer trains and keeps its training.
#include <catch2/catch.hpp>

#include <netkit/graph/array_store.h>
#include <netkit/graph/executor.h>
#include <netkit/train/net_train.h>
#include <netkit/train/trainer.h>
#include "tests/test_train_support.h"

using namespace netkit;
using namespace netkit::test;

namespace {

TrainingData line_data() {
  return TrainingData::regression(Array::from({2, 1}, std::vector<double>{1, 2}),
                                  Array::from({2, 1}, std::vector<double>{3, 5}));
}

TrainOptions few_steps() {
  TrainOptions o;
  o.max_steps = 5;
  o.sgd.learning_rate = 0.1;
  return o;
}

// Two examples of two channels, and targets away from the normalized values, so a
// BatchNormalization layer alone has something to learn.
TrainingData channel_data() {
  return TrainingData::regression(Array::from({4, 2}, std::vector<double>{1, 10, 2, 12, 4, 9, 7, 15}),
                                  Array::from({4, 2}, std::vector<double>{0, 3, 1, 2, 2, 1, 3, 0}));
}

}  // namespace

TEST_CASE("NetTrain: a net that is one Linear layer keeps its training, as in a one-element chain",
          "[train][trainer]") {
  const LayerNet lin = LinearLayer({{"Input", 1}, {"Weights", {{0.0}}}, {"Biases", {0.0}}});
  const TrainResults bare = net_train(Net(lin), line_data(), few_steps());
  const TrainResults chained = net_train(NetChain({{"lin", lin}}), line_data(), few_steps());
  CHECK(bare.net.array({"Weights"})[0] != 0.0f);
  CHECK(bare.net.array({"Weights"}).bit_equal(chained.net.array({"lin", "Weights"})));
  CHECK(bare.net.array({"Biases"}).bit_equal(chained.net.array({"lin", "Biases"})));
  CHECK(bare.batch_losses == chained.batch_losses);
}

TEST_CASE("NetTrain: a net that is one BatchNormalization layer keeps its arrays and statistics, best net too",
          "[train][trainer]") {
  const LayerNet bn = BatchNormalizationLayer({{"Input", 2}});
  TrainOptions o = few_steps();
  o.max_steps = 0;
  o.rounds = 3;
  o.batch_size = 2;
  o.validation_data = std::make_shared<TrainingData>(channel_data());
  o.keep_best_net = true;
  const TrainResults bare = net_train(Net(bn), channel_data(), o);
  const TrainResults chained = net_train(NetChain({{"bn", bn}}), channel_data(), o);
  REQUIRE(bare.best_net);
  REQUIRE(chained.best_net);
  for (const std::string array : {"Scaling", "Biases", "MovingMean", "MovingVariance"}) {
    INFO(array);
    CHECK(bare.net.array({array}).bit_equal(chained.net.array({"bn", array})));
    CHECK(bare.best_net->array({array}).bit_equal(chained.best_net->array({"bn", array})));
  }
  const Net start = [&] {
    Net n(bn);
    n.initialize(o.seed);
    return n;
  }();
  CHECK_FALSE(bare.net.array({"Scaling"}).bit_equal(start.array({"Scaling"})));
  CHECK_FALSE(bare.net.array({"MovingMean"}).bit_equal(start.array({"MovingMean"})));
  CHECK(bare.net.layer().moving_update_count() == 6);
}

TEST_CASE("NetTrain: population statistics of a bare BatchNormalization layer reach the result", "[train][trainer]") {
  const LayerNet bn = BatchNormalizationLayer({{"Input", 2}, {"Statistics", "Population"}});
  const TrainResults r = net_train(Net(bn), channel_data(), few_steps());
  CHECK(r.population_layers == 1);
  // Channel 1 of the four examples: 1, 2, 4, 7: mean 3.5, biased variance 5.25.
  CHECK(r.net.array({"MovingMean"})[0] == Approx(3.5));
  CHECK(r.net.array({"MovingVariance"})[0] == Approx(5.25));
}

TEST_CASE("Trainer: a loop of one's own gives the bits of net_train, and steps stop at the round's end",
          "[train][trainer]") {
  const TrainingData data = block_images(24, 3);
  TrainOptions o;
  o.batch_size = 8;
  o.rounds = 2;
  o.seed = 5;
  o.sgd = {0.05, 0.9, false, 0.0, 0.0};
  const TrainResults reference = net_train(small_cnn(), data, o);

  Trainer trainer(small_cnn(), data, o);
  std::vector<int64_t> steps_per_round;
  while (!trainer.done()) {
    int64_t steps = 0;
    while (trainer.step()) ++steps;
    CHECK_FALSE(trainer.step());  // the round has no batch left
    steps_per_round.push_back(steps);
    trainer.end_round();
  }
  CHECK(steps_per_round == std::vector<int64_t>{3, 3});
  CHECK(trainer.steps() == 6);
  CHECK(trainer.last_loss() == reference.batch_losses.back());
  const TrainResults mine = trainer.finish();
  for (const auto& [name, path] : cnn_arrays()) {
    INFO(name);
    CHECK(mine.net.array(path).bit_equal(reference.net.array(path)));
  }
}

TEST_CASE("Array store: one slot per shared array, gradients in one arena, every step bound to slots",
          "[graph][array_store]") {
  Net net = NetGraph({{"a", LinearLayer({{"OutputSize", 2}})}, {"b", LinearLayer({{"OutputSize", 2}})}},
                     {{NetPort("Input"), "a"}, {"a", "b"}}, {{"Input", 2}});
  net.share_array("W", {{"a", "Weights"}, {"b", "Weights"}});
  net.initialize(1);
  const ArrayStore store(net, net.plan());
  REQUIRE(store.size() == 3);  // W, a/Biases, b/Biases
  const size_t w = store.slot_of("W").value();
  CHECK(store.step_slots(0)[0] == w);
  CHECK(store.step_slots(1)[0] == w);
  CHECK(store.step_slots(0)[1] != store.step_slots(1)[1]);
  CHECK(store[w].value == &net.shared_array("W"));
  CHECK(store.gradient_elements() == 4 + 2 + 2);
  // The views tile the arena in slot order.
  const float* next = store[0].gradient.data();
  for (const ArrayRef& a : store.arrays()) {
    CHECK(a.gradient.data() == next);
    next += a.gradient.size();
  }
  CHECK_FALSE(store.slot_of("a/Weights"));
}

TEST_CASE("Executor: a gradient is the store's, summed over the layers that share the array", "[graph][array_store]") {
  Net net = NetGraph({{"a", LinearLayer({{"OutputSize", 1}, {"Biases", {0.0}}})},
                      {"b", LinearLayer({{"OutputSize", 1}, {"Biases", {0.0}}})}},
                     {{NetPort("Input"), "a"}, {"a", "b"}}, {{"Input", 1}});
  net.share_array("W", {{"a", "Weights"}, {"b", "Weights"}});
  net.set_array({"a", "Weights"}, Array{{3.0}});
  Executor executor(net);
  executor.run_forward({{"Input", Array{{2.0}}}}, Mode::Test, true);
  CHECK(executor.output("Output")[0] == 18.0f);  // 3 * 3 * 2
  *executor.output_gradient("Output") = 1.0f;
  executor.run_backward();
  // y = w * w * x: dy/dw = 2 w x = 12, summed from both users.
  const ArrayStore& store = executor.store(net);
  CHECK(store[store.slot_of("W").value()].gradient[0] == 12.0f);
}

TEST_CASE("Net: default-constructed, an empty graph that can be assigned", "[graph][net]") {
  Net net;
  CHECK(net.type() == "NetGraph");
  CHECK(net.nodes().empty());
  CHECK(net.input_ports().empty());
  net = Net(LinearLayer({{"Input", 1}, {"Weights", {{2.0}}}, {"Biases", {0.0}}}));
  CHECK(net.evaluate(Array{3.0})[0] == 6.0f);
}

TEST_CASE("Executor: the in-place path's misuse is named", "[graph][array_store]") {
  Net net(LinearLayer({{"Input", 1}, {"Weights", {{2.0}}}, {"Biases", {0.0}}}));
  Executor executor(net);
  CHECK_THROWS_WITH(executor.output("Output"), Catch::Matchers::Contains("no output before a forward pass"));
  executor.run_forward({{"Input", Array{{1.0}}}}, Mode::Test, false);
  CHECK_THROWS_WITH(executor.output("Out"),
                    Catch::Matchers::Equals("net: output of an unknown output port \"Out\"; expected one of "
                                            "\"Output\", got \"Out\""));
  CHECK_THROWS_WITH(executor.step_input({}, 0), Catch::Matchers::Contains("no layer input kept"));
  CHECK_THROWS_WITH(executor.output_gradient("Output"),
                    Catch::Matchers::Contains("backward without a forward pass to differentiate"));
}
