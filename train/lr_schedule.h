// Learning-rate schedules: the learning rate of optimisation step k (0-based) from the base rate.
//   Constant:  lr
//   Step:      lr * gamma^floor(k / step_size)                     (PyTorch's StepLR, per step)
//   Cosine:    min + (lr - min) (1 + cos(pi k / total)) / 2, k capped at total  (CosineAnnealingLR)
//   User:      f(k, lr), any function (it cannot be saved in a checkpoint, only its results are)
// Cosine with total 0 uses the run's total step count when it is known.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace netkit {

struct LearningRateSchedule {
  enum class Kind { Constant, Step, Cosine, User };
  Kind kind = Kind::Constant;
  int64_t step_size = 1;                                      // Step
  double gamma = 0.1;                                         // Step
  int64_t total_steps = 0;                                    // Cosine (0: the run's step count)
  double minimum = 0.0;                                       // Cosine
  std::function<double(int64_t step, double base)> function;  // User

  static LearningRateSchedule constant() { return {}; }
  static LearningRateSchedule step(int64_t step_size, double gamma);
  static LearningRateSchedule cosine(int64_t total_steps = 0, double minimum = 0.0);
  static LearningRateSchedule user(std::function<double(int64_t step, double base)> f);

  // Throws OptionError naming the schedule's field when out of range.
  void validate() const;
  // The rate for 0-based step `step`; `run_steps` is the run's total (for Cosine with total 0).
  // Throws TrainingError when a user function returns a negative or non-finite rate.
  double rate(int64_t step, double base, int64_t run_steps) const;
};

}  // namespace netkit
