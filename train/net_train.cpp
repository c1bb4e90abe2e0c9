#include <netkit/train/net_train.h>

#include <cmath>
#include <string>

#include <netkit/core/error.h>
#include <netkit/train/trainer.h>

namespace netkit {

void validate(const TrainOptions& o) {
  auto need = [](bool ok, const std::string& name, const std::string& expected, const std::string& got) {
    if (!ok) throw OptionError("NetTrain option " + in_quotes(name), "out of range", expected, got);
  };
  need(o.batch_size >= 1, "BatchSize", "an integer >= 1", std::to_string(o.batch_size));
  need(o.max_steps >= 0, "MaxTrainingSteps", "an integer >= 0 (0: use rounds)", std::to_string(o.max_steps));
  need(o.max_steps > 0 || o.rounds >= 1, "MaxTrainingRounds", "an integer >= 1", std::to_string(o.rounds));
  need(std::isfinite(o.time_limit) && o.time_limit >= 0, "TimeGoal", "seconds >= 0 (0: none)",
       number_text(o.time_limit));
  need(o.validation_fraction >= 0 && o.validation_fraction < 1, "ValidationSet", "a held-out fraction in [0, 1)",
       number_text(o.validation_fraction));
  if (o.validation_fraction > 0 && o.validation_data)
    throw OptionError("NetTrain option \"ValidationSet\"", "given twice", "validation data or a held-out fraction",
                      "both");
  need(o.checkpoints.keep >= 1, "CheckpointKeep", "an integer >= 1", std::to_string(o.checkpoints.keep));
  need(o.checkpoints.every_batches >= 0 && o.checkpoints.every_rounds >= 0, "CheckpointEvery", "integers >= 0",
       std::to_string(o.checkpoints.every_batches) + " batches, " + std::to_string(o.checkpoints.every_rounds) +
           " rounds");
  validate(o.sgd);
  o.schedule.validate();
}

TrainResults net_train(const Net& net, const Dataset& data, const TrainOptions& options) {
  Trainer trainer(net, data, options);
  while (!trainer.done()) {
    while (trainer.step()) {
    }
    trainer.end_round();
  }
  return trainer.finish();
}

}  // namespace netkit
