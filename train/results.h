// What NetTrain returns and reports: the trained net, per-batch losses, per-round measurements,
// the best round's net by validation loss (when asked), speed and time. Also the progress record
// handed to the callback after every batch and every round. JSON forms for checkpoints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <netkit/graph/net.h>

namespace netkit {

// Classification accuracy counts: positions whose largest class score is the target.
struct Accuracy {
  int64_t correct = 0, positions = 0;
  std::optional<double> value() const {
    if (positions == 0) return std::nullopt;
    return static_cast<double>(correct) / static_cast<double>(positions);
  }
};

struct RoundRecord {
  int64_t round = 0;                        // 1-based
  int64_t steps = 0;                        // optimisation steps done by the end of the round
  double training_loss = 0;                 // mean of the round's batch losses (Train mode, as measured while training)
  std::optional<double> training_accuracy;  // over the round's batches, when measured
  std::optional<double> validation_loss;    // Test mode, whole validation set
  std::optional<double> validation_accuracy;
  double seconds = 0;  // wall time since the start of training
};

struct TrainResults {
  explicit TrainResults(Net trained) : net(std::move(trained)) {}
  Net net;                           // the trained net (the user's net with trained arrays; no loss attached)
  std::vector<double> batch_losses;  // one per optimisation step, in order
  std::vector<RoundRecord> rounds;   // completed rounds
  std::optional<Net> best_net;       // the net after the round with the lowest validation loss
  int64_t best_round = 0;            // 1-based; 0 when none
  int64_t steps = 0;                 // optimisation steps taken (including before a resume)
  int64_t examples = 0;              // examples processed by those steps
  double seconds = 0;                // wall time of this call (training, validation, population pass)
  double examples_per_second = 0;    // examples of this call / its training time
  std::string stop_reason;           // "rounds", "steps", "time limit", "stopped by the callback"
  int64_t population_layers = 0;     // layers given whole-set statistics at the end
};

// Handed to the progress callback; the callback returns false to stop training (after the
// current batch; the net is then as trained so far, and population statistics are still set).
struct Progress {
  enum class Event { Batch, Round };
  Event event = Event::Batch;
  int64_t step = 0;         // optimisation steps done
  int64_t total_steps = 0;  // planned
  int64_t round = 0;        // 1-based
  int64_t batch = 0;        // 1-based within the round
  int64_t batches_per_round = 0;
  double loss = 0;                          // this batch's loss (Batch) or the round's training loss (Round)
  double learning_rate = 0;                 // of this step
  double seconds = 0;                       // since the start of this call
  std::optional<RoundRecord> round_record;  // for Round events
};

nlohmann::json round_to_json(const RoundRecord& r);
RoundRecord round_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace netkit
