// Training checkpoints: everything a resumed NetTrain needs to continue bit for bit as if never
// interrupted: every learnable and moving array (exact base64 float32) with the layers'
// moving-update counts, the optimiser state (momentum buffers, step count), the shuffling
// generator's state at the start of the current round, the position in that round, and the
// results so far (batch losses, round records, the best round's arrays).
//
// Files: <directory>/checkpoint-<step, 9 digits>.json, written atomically (a temporary file in
// the same directory, flushed, then renamed over the name); after each write only the newest
// `keep` checkpoints remain. A resumed run must be given the same net, data and options.
//
// The arrays are stored by array key, which is what resuming reads. The whole trained net as a
// model record (graph/net_json.h, net_to_json) is stored under "net" too, so a checkpoint also
// opens as a model on its own: net_from_json(checkpoint["net"]).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <netkit/core/array.h>
#include <netkit/core/random.h>
#include <netkit/graph/executor.h>
#include <netkit/train/net_state.h>
#include <netkit/train/results.h>

namespace netkit {

inline constexpr int kCheckpointVersion = 1;

struct CheckpointOptions {
  std::string directory;      // empty: no checkpoints
  int64_t every_batches = 0;  // > 0: after every N optimisation steps
  int64_t every_rounds = 0;   // > 0: after every N completed rounds
  int64_t keep = 3;           // the newest K files are kept (>= 1)
  // Store the net so far as a model document under "net" (net_to_json; not read back on resume).
  bool include_net = true;
  // Replaces net_to_json for that record when given.
  std::function<nlohmann::json(const Net&)> net_writer;
};

struct Checkpoint {
  uint64_t seed = 0;
  int64_t step = 0;      // optimisation steps done
  int64_t round = 0;     // 0-based round in progress
  int64_t position = 0;  // batches of that round done
  // The shuffling generator at the start of `round` (a round-end checkpoint is the next round's start).
  Random::State shuffle_state{};
  NetState state;
  std::map<std::string, Array> momentum;
  int64_t optimizer_steps = 0;
  std::vector<double> batch_losses;
  std::vector<RoundRecord> rounds;
  int64_t best_round = 0;
  std::optional<NetState> best;
  int64_t examples = 0;
  // Training accuracy counts of the round in progress (measure_training_accuracy), so a round
  // resumed in its middle reports the accuracy over all its batches.
  Accuracy round_accuracy;
  double seconds = 0;  // training time before this checkpoint
  nlohmann::json net;  // the model document of the net so far, or null
};

struct TrainOptions;  // train/net_train.h

// What a checkpoint resumes besides the options: the training graph's learnable and moving
// arrays (keys, dims, learning-rate multipliers), the layers with moving arrays, the number of
// examples trained on per round, and whether there is validation data.
struct ResumeTarget {
  std::vector<ArrayRef> arrays;
  std::vector<std::string> moving_layers;
  int64_t examples = 0;
  bool validation = false;
};

nlohmann::json checkpoint_to_json(const Checkpoint& c);
// FormatError naming the JSON pointer for anything missing or malformed.
Checkpoint checkpoint_from_json(const nlohmann::json& j, const std::string& where);

// Writes atomically and prunes to `keep` files; returns the path written.
std::string write_checkpoint(const std::string& directory, const Checkpoint& c, int64_t keep);
Checkpoint read_checkpoint(const std::string& path);
// Checks every field of a checkpoint read from `path` against the run that resumes it, before
// anything is restored or indexed with it: the seed; every array key and dims (state, best net,
// momentum buffers, which exist exactly for the trained arrays when momentum is on); the
// moving-update counts; round, position and step against the data size, batch size and planned
// length; the counts that follow from them (optimiser steps, batch losses, round records,
// examples); the best round and the accuracy counts. FormatError for a checkpoint that
// contradicts itself, TrainingError for one from another run; both located by JSON pointer.
void validate_checkpoint(const Checkpoint& c, const ResumeTarget& target, const TrainOptions& options,
                         const std::string& path);
// Checkpoint files in `directory`, oldest first (by step).
std::vector<std::string> list_checkpoints(const std::string& directory);

}  // namespace netkit
