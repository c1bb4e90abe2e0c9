// Trainer: NetTrain as steps, for a loop of one's own. It holds a run: a copy of the net with its
// loss attached, the executor, the optimizer, the data order and the results so far.
//
//   Trainer trainer(net, data, options);            // validates, initializes, resumes if asked
//   while (!trainer.done()) {
//     while (trainer.step()) {                      // one optimisation step on the next batch
//       if (trainer.last_loss() > 10) ...           // anything between steps
//     }
//     trainer.end_round();                          // round record, validation, checkpoint
//   }
//   TrainResults r = trainer.finish();              // population statistics, the trained net
//
// net_train (train/net_train.h) is exactly this loop. Each step: the next batch of the round's
// seeded shuffle -> forward in Train mode -> loss = mean over the batch of the per-example loss
// (dL/dLoss = 1/batch per example) -> backward into the store's gradient arena -> the optimizer
// step (schedule, multipliers, L2, clipping) -> the moving-statistics update, once.
#pragma once

#include <cstdint>
#include <memory>

#include <netkit/graph/net.h>
#include <netkit/train/dataset.h>
#include <netkit/train/net_train.h>
#include <netkit/train/results.h>

namespace netkit {

class Trainer {
 public:
  // `data` (and the options' validation data) must outlive the trainer.
  Trainer(const Net& net, const Dataset& data, const TrainOptions& options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One optimisation step on the round's next batch; false, doing nothing, when the round has no
  // batch left or training is to stop (step limit, time limit, the progress callback).
  bool step();
  // Closes the round after its last step (record, validation, keeping the best net, checkpoint).
  // After a stop inside a round it only marks the run as done.
  void end_round();
  bool done() const;
  // The population-statistics pass and the results; the trainer is spent afterwards.
  TrainResults finish();

  int64_t steps() const;     // optimisation steps done (a resumed run counts the earlier ones)
  int64_t round() const;     // 0-based round in progress
  double last_loss() const;  // the loss of the last step

 private:
  struct Run;
  std::unique_ptr<Run> run_;
};

}  // namespace netkit
