#include <netkit/train/lr_schedule.h>

#include <algorithm>
#include <cmath>

#include <netkit/core/error.h>

namespace netkit {

LearningRateSchedule LearningRateSchedule::step(int64_t step_size, double gamma) {
  LearningRateSchedule s;
  s.kind = Kind::Step;
  s.step_size = step_size;
  s.gamma = gamma;
  s.validate();
  return s;
}

LearningRateSchedule LearningRateSchedule::cosine(int64_t total_steps, double minimum) {
  LearningRateSchedule s;
  s.kind = Kind::Cosine;
  s.total_steps = total_steps;
  s.minimum = minimum;
  s.validate();
  return s;
}

LearningRateSchedule LearningRateSchedule::user(std::function<double(int64_t, double)> f) {
  LearningRateSchedule s;
  s.kind = Kind::User;
  s.function = std::move(f);
  s.validate();
  return s;
}

void LearningRateSchedule::validate() const {
  const std::string where = "NetTrain option \"LearningRateSchedule\"";
  if (kind == Kind::Step && step_size < 1)
    throw OptionError(where, "step size out of range", "an integer >= 1", std::to_string(step_size));
  if (kind == Kind::Step && !(std::isfinite(gamma) && gamma >= 0))
    throw OptionError(where, "gamma out of range", "a finite number >= 0", number_text(gamma));
  if (kind == Kind::Cosine && total_steps < 0)
    throw OptionError(where, "total steps out of range", "an integer >= 0 (0: the run's step count)",
                      std::to_string(total_steps));
  if (kind == Kind::Cosine && !(std::isfinite(minimum) && minimum >= 0))
    throw OptionError(where, "minimum out of range", "a finite number >= 0", number_text(minimum));
  if (kind == Kind::User && !function)
    throw OptionError(where, "no function given", "a function of (step, base)", "none");
}

double LearningRateSchedule::rate(int64_t k, double base, int64_t run_steps) const {
  switch (kind) {
    case Kind::Constant:
      return base;
    case Kind::Step:
      return base * std::pow(gamma, static_cast<double>(k / step_size));
    case Kind::Cosine: {
      const int64_t total = total_steps > 0 ? total_steps : std::max<int64_t>(run_steps, 1);
      const double t = static_cast<double>(std::min(k, total)) / static_cast<double>(total);
      return minimum + (base - minimum) * (1 + std::cos(M_PI * t)) / 2;
    }
    case Kind::User: {
      const double r = function(k, base);
      if (!(std::isfinite(r) && r >= 0))
        throw TrainingError("NetTrain, step " + std::to_string(k + 1), "learning-rate function out of range",
                            "a finite number >= 0", number_text(r));
      return r;
    }
  }
  return base;
}

}  // namespace netkit
