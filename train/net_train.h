// NetTrain: trains a copy of a net with SGD on a Dataset
// (train/dataset.h: in-memory TrainingData, a FunctionDataset, or any class deriving from
// Dataset) and returns the trained net with a record of what happened.
//
// net_train is the loop over a Trainer (train/trainer.h), which does one optimisation step at a
// time: the next batch of the round's seeded shuffle -> forward in Train mode (with a per-step
// seed for Dropout) -> loss = mean over the batch of the per-example loss -> backward -> SGD step
// (schedule, multipliers, L2, clipping) -> the moving-statistics update, once. A round (epoch) is
// one pass over the data in batches of BatchSize; the last batch of a round holds the remainder.
// After each round the validation set, if any, is evaluated in Test mode. After the last step,
// batch-norm layers with "Statistics" -> "Population" get the whole-set statistics
// (train/population_statistics.h).
//
// Arrays missing from the net are initialized from the seed first (NetInitialize). The loss is
// found or attached as train/loss_graph.h describes. Ports are matched to data ports by name.
//
// Data is read one batch of example indices at a time (Dataset::batch), the indices shuffled by
// the seeded generator, so any dataset that returns the same examples for the same indices trains
// bit-identically and resumes exactly. Before the first step, port names and example_shapes() are
// checked against the net (and, for TrainingData, every value: finite, class indices in range);
// other datasets have each batch checked as it is loaded (ports and shapes as declared, finite,
// class indices in range), the error naming the step, the port and the example's index.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <netkit/graph/net.h>
#include <netkit/train/checkpoint.h>
#include <netkit/train/dataset.h>
#include <netkit/train/lr_schedule.h>
#include <netkit/train/multiplier_rules.h>
#include <netkit/train/results.h>
#include <netkit/train/sgd.h>

namespace netkit {

struct TrainOptions {
  int64_t batch_size = 64;  // >= 1
  int64_t rounds = 1;       // epochs, >= 1 (ignored when max_steps > 0)
  int64_t max_steps = 0;    // > 0: train this many optimisation steps instead of `rounds`
  double time_limit = 0;    // seconds, > 0: stop after the first step past the limit
  uint64_t seed = 0;        // initialization, shuffling, Dropout, held-out split
  bool shuffle = true;      // false: every round takes the examples in their order
  SgdOptions sgd;
  LearningRateSchedule schedule;
  std::vector<MultiplierRule> learning_rate_multipliers;
  std::optional<Net> loss;  // a loss net (ports "Input" [, "Target"] -> "Loss"); see loss_graph.h
  // Validation, evaluated in Test mode after every round: given data, or a held-out fraction of
  // the training data (seeded; the rest is trained on; a view, nothing is copied). Any Dataset:
  //   o.validation_data = std::make_shared<TrainingData>(TrainingData::classification(x, classes));
  // shared, so that options stay copyable and the data outlives every run that uses them.
  std::shared_ptr<const Dataset> validation_data;
  double validation_fraction = 0;
  bool keep_best_net = false;  // TrainResults::best_net by validation loss
  // Classification: accuracy over each round's batches. Training then runs the graph that also
  // outputs the class probabilities; the loss still reads the logits and the probabilities get no
  // backward pass, so the trained arrays are the same bits either way.
  bool measure_training_accuracy = true;
  // After every batch and every round; return false to stop training.
  std::function<bool(const Progress&)> progress;
  CheckpointOptions checkpoints;
  std::string resume_from;  // a checkpoint file: continue that run (same net, data and options)
};

// `data` is read during the call only (TrainingData converts implicitly: it is a Dataset).
TrainResults net_train(const Net& net, const Dataset& data, const TrainOptions& options = {});

// Throws OptionError naming the option for values out of range.
void validate(const TrainOptions& options);

}  // namespace netkit
