#include <netkit/train/sgd.h>

#include <algorithm>
#include <cmath>

#include <netkit/core/error.h>
#include <netkit/core/parallel.h>

namespace netkit {

void validate(const SgdOptions& o) {
  auto need = [](bool ok, const std::string& name, const std::string& expected, double got) {
    if (!ok) throw OptionError("NetTrain option " + in_quotes(name), "out of range", expected, number_text(got));
  };
  need(std::isfinite(o.learning_rate) && o.learning_rate >= 0, "LearningRate", "a finite number >= 0", o.learning_rate);
  need(o.momentum >= 0 && o.momentum < 1, "Momentum", "a number in [0, 1)", o.momentum);
  need(std::isfinite(o.l2) && o.l2 >= 0, "L2Regularization", "a finite number >= 0", o.l2);
  need(std::isfinite(o.gradient_clip) && o.gradient_clip >= 0, "GradientClipping", "a finite number >= 0 (0: off)",
       o.gradient_clip);
  if (o.nesterov && o.momentum == 0)
    throw OptionError("NetTrain option \"Nesterov\"", "needs momentum", "\"Momentum\" > 0", "0");
}

Sgd::Sgd(SgdOptions options) : options_(options) { validate(options_); }

void Sgd::set_state(std::map<std::string, Array> buffers, int64_t steps) {
  velocity_ = std::move(buffers);
  steps_ = steps;
}

void Sgd::step(const std::vector<ArrayRef>& arrays, double learning_rate) {
  const float mu = static_cast<float>(options_.momentum);
  const float clip = static_cast<float>(options_.gradient_clip);
  for (const ArrayRef& ref : arrays) {
    if (ref.role != ArrayRole::Learnable || ref.learning_rate_multiplier == 0.0) continue;
    const std::string where = "NetTrain, array " + in_quotes(ref.key);
    if (ref.gradient.empty())
      throw TrainingError(where, "no gradient for a learnable array", "a backward pass before the step", "none");
    Array& w = *ref.value;
    const ArrayView& grad = ref.gradient;
    if (grad.dims() != w.dims())
      throw TrainingError(where, "gradient does not match the array", "dims " + dims_to_string(w.dims()),
                          "dims " + dims_to_string(grad.dims()));
    const float lr = static_cast<float>(learning_rate * ref.learning_rate_multiplier);
    const float decay = static_cast<float>(options_.l2 * ref.l2_factor);
    float* v = nullptr;
    if (mu != 0.0f) {
      auto it = velocity_.find(ref.key);
      if (it == velocity_.end()) it = velocity_.emplace(ref.key, Array::zeros(w.dims())).first;
      if (it->second.dims() != w.dims())  // a buffer given by set_state is never written out of bounds
        throw TrainingError(where, "momentum buffer does not match the array", "dims " + dims_to_string(w.dims()),
                            "dims " + dims_to_string(it->second.dims()));
      v = it->second.data();
    }
    float* wp = w.data();
    const float* gp = grad.data();
    const bool nesterov = options_.nesterov;
    // Every element is independent: any split over threads gives the same bits.
    parallel_chunks(w.size(), 1 << 14, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float g = gp[i];
        if (clip > 0.0f) g = std::min(std::max(g, -clip), clip);
        if (decay != 0.0f) g = g + decay * wp[i];
        float d = g;
        if (v) {
          v[i] = mu * v[i] + g;
          d = nesterov ? g + mu * v[i] : v[i];
        }
        wp[i] = wp[i] - lr * d;
      }
    });
  }
  ++steps_;
}

}  // namespace netkit
