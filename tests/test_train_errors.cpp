// NetTrain's bad inputs, each with its message.
#include <catch2/catch.hpp>

#include <cmath>

#include <netkit/core/error.h>
#include <netkit/graph/net.h>
#include <netkit/train/checkpoint.h>
#include <netkit/train/net_train.h>
#include "tests/test_train_support.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;

namespace {

Net classifier() {
  return NetChain({{"lin", LinearLayer({{"OutputSize", 3}})}, {"softmax", LayerNet::create("Softmax")}},
                  {{"Input", 2}});
}

TrainingData two_d(std::vector<int64_t> classes) {
  std::vector<float> x;
  for (size_t i = 0; i < classes.size(); ++i) x.push_back(float(i)), x.push_back(1.0f);
  return TrainingData::classification(Array({int64_t(classes.size()), 2}, x), classes);
}

}  // namespace

TEST_CASE("NetTrain errors: data that does not fit the net", "[train][train_errors]") {
  const TrainingData wide = TrainingData::classification(Array({2, 3}, {1, 2, 3, 4, 5, 6}), {0, 1});
  CHECK_THROWS_WITH(net_train(classifier(), wide),
                    Contains("NetTrain, training data port \"Input\": examples do not match the net's port; expected "
                             "examples of shape [2], got examples of shape [3]"));
  CHECK_THROWS_AS(net_train(classifier(), wide), TrainingError);
  CHECK_THROWS_WITH(net_train(classifier(), two_d({0, 3})),
                    Contains("NetTrain, training data port \"Target\", example 1: class index out of range; expected "
                             "an integer from 0 to 2 (the net has 3 classes; indices count from 0), got 3"));
  CHECK_THROWS_WITH(net_train(classifier(), two_d({0, -1})), Contains("example 1: class index out of range"));
  CHECK_THROWS_WITH(net_train(classifier(), TrainingData::classification(Array::zeros({0, 2}), {})),
                    Contains("NetTrain, training data: no examples; expected at least one example, got 0 examples"));
  CHECK_THROWS_WITH(
      TrainingData({{"Input", Array::zeros({3, 2})}, {"Target", Array::zeros({2})}}, TargetKind::ClassIndex),
      Contains("NetTrain, data port \"Target\": number of examples differs from port \"Input\"; expected 3 "
               "examples, got 2"));
  const TrainingData extra(
      {{"Input", Array::zeros({2, 2})}, {"Target", Array{0.0f, 1.0f}}, {"Mask", Array::zeros({2, 1})}},
      TargetKind::ClassIndex);
  CHECK_THROWS_WITH(net_train(classifier(), extra),
                    Contains("NetTrain, training data port \"Mask\": not a port of the net; expected one of \"Input\", "
                             "\"Target\", got \"Mask\""));
  const TrainingData no_target({{"Input", Array::zeros({2, 2})}}, TargetKind::None);
  CHECK_THROWS_WITH(
      net_train(NetChain({{"lin", LinearLayer({{"OutputSize", 1}})}}, {{"Input", 2}}), no_target),
      Contains("NetTrain, net: no loss to train with; expected a net ending in Softmax with class-index "
               "targets, array targets, a \"Loss\" option, or an output port \"Loss\", got a net ending in "
               "Linear without targets"));
  TrainingData nan_input = two_d({0, 1});
  Array x = nan_input.port("Input");
  x[3] = std::nanf("");
  CHECK_THROWS_WITH(net_train(classifier(), TrainingData::classification(x, {0, 1})),
                    Contains("port \"Input\": data is not finite; expected finite numbers, got nan in example 1"));
}

TEST_CASE("NetTrain errors: options", "[train][train_errors]") {
  TrainOptions o;
  o.batch_size = 0;
  CHECK_THROWS_WITH(net_train(classifier(), two_d({0, 1}), o),
                    Contains("NetTrain option \"BatchSize\": out of range; expected an integer >= 1, got 0"));
  CHECK_THROWS_AS(net_train(classifier(), two_d({0, 1}), o), OptionError);
  o = {};
  o.rounds = 0;
  CHECK_THROWS_WITH(net_train(classifier(), two_d({0, 1}), o), Contains("\"MaxTrainingRounds\": out of range"));
  o = {};
  o.validation_fraction = 1.0;
  CHECK_THROWS_WITH(net_train(classifier(), two_d({0, 1}), o),
                    Contains("\"ValidationSet\": out of range; expected a held-out fraction in [0, 1), got 1"));
  o.validation_fraction = 0.5;
  o.validation_data = std::make_shared<TrainingData>(two_d({0}));
  CHECK_THROWS_WITH(net_train(classifier(), two_d({0, 1}), o), Contains("\"ValidationSet\": given twice"));
  o = {};
  o.learning_rate_multipliers = {{{"linear"}, 0.0}};
  CHECK_THROWS_WITH(
      net_train(classifier(), two_d({0, 1}), o),
      Contains("NetTrain option \"LearningRateMultipliers\": rule matches no array of the net; expected a "
               "path to a node, or an array name under a path, got {\"linear\"}"));
  o.learning_rate_multipliers = {{{"lin"}, -1.0}};
  CHECK_THROWS_WITH(net_train(classifier(), two_d({0, 1}), o),
                    Contains("rule {\"lin\"}: multiplier out of range; expected a finite number >= 0, got -1"));
  o = {};
  o.validation_data = std::make_shared<TrainingData>(TrainingData::classification(Array({1, 2}, {1, 1}), {7}));
  CHECK_THROWS_WITH(net_train(classifier(), two_d({0, 1}), o),
                    Contains("NetTrain, validation data port \"Target\", example 0: class index out of range"));
}

TEST_CASE("NetTrain errors: a net that cannot be initialized", "[train][train_errors]") {
  const Net open = NetChain({{"lin", LinearLayer({{"OutputSize", 3}})}, {"softmax", LayerNet::create("Softmax")}});
  CHECK_FALSE(open.initialized());
  CHECK_THROWS_AS(net_train(open, two_d({0, 1})), InitializationError);
  CHECK_THROWS_WITH(net_train(open, two_d({0, 1})),
                    Contains("NetTrain, node \"lin\" (Linear), array \"Weights\": cannot initialize") &&
                        Contains("the input size is not known"));
}

TEST_CASE("NetTrain errors: a loss that is not finite stops naming the step and keeps the last checkpoint",
          "[train][train_errors]") {
  TempDir dir("nan-loss");
  const Net net = NetChain({{"lin", LinearLayer({{"Weights", {{1.0, 1.0}}}, {"Biases", {0.0}}})}});
  const TrainingData data = TrainingData::regression(Array({2, 2}, {1e3, 1e3, 2e3, 1e3}), Array({2, 1}, {0, 0}));
  TrainOptions o;
  o.batch_size = 2;
  o.rounds = 5;
  o.sgd.learning_rate = 1e30;
  o.checkpoints.directory = dir.path;
  o.checkpoints.every_batches = 1;
  CHECK_THROWS_WITH(
      net_train(net, data, o),
      Contains("NetTrain, step 2 (round 2, batch 1): loss is not finite; expected a finite loss, got inf. "
               "Training stopped before this step's update, after 1 completed steps; no checkpoint was "
               "written for this step"));
  const auto files = list_checkpoints(dir.path);
  REQUIRE(files.size() == 1);
  CHECK(read_checkpoint(files[0]).step == 1);
  CHECK_THROWS_AS(net_train(net, data, o), TrainingError);
}
