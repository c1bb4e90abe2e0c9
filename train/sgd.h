// Stochastic gradient descent over a net's stored arrays (graph/array_store.h ArrayRef, the seam
// between net and trainer): learning rate times each array's multiplier, momentum (heavy ball or
// Nesterov), L2 regularisation scaled per array by its L2 factor, optional gradient clipping.
// The update follows PyTorch's torch.optim.SGD (dampening 0) element by element, in float32:
//   g = clip(dL/dw, -c, c) + l2 * l2_factor * w
//   v = momentum * v + g                      (v starts at 0, so the first v is g)
//   d = g + momentum * v  (Nesterov)  or  d = v
//   w = w - (lr * multiplier) * d
// Arrays with multiplier 0 are frozen (value and momentum buffer untouched); moving arrays are
// never touched (their moving update is the executor's). Buffers are kept by array key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/graph/array_store.h>

namespace netkit {

struct SgdOptions {
  double learning_rate = 0.01;
  double momentum = 0.0;       // in [0, 1)
  bool nesterov = false;       // needs momentum > 0
  double l2 = 0.0;             // global L2 coefficient (PyTorch's weight_decay), >= 0
  double gradient_clip = 0.0;  // > 0: each gradient element is clipped to [-c, c]; 0: off
};

// Throws OptionError naming the option for values out of range.
void validate(const SgdOptions& options);

class Sgd {
 public:
  explicit Sgd(SgdOptions options = {});

  const SgdOptions& options() const { return options_; }
  // One step at learning rate `learning_rate` (the schedule's value for this step). Every
  // learnable array with a multiplier other than 0 needs a gradient of its own shape.
  void step(const std::vector<ArrayRef>& arrays, double learning_rate);
  int64_t steps_taken() const { return steps_; }

  // Optimiser state for checkpoints: the momentum buffers by array key and the step count.
  const std::map<std::string, Array>& momentum_buffers() const { return velocity_; }
  void set_state(std::map<std::string, Array> buffers, int64_t steps);

 private:
  SgdOptions options_;
  std::map<std::string, Array> velocity_;
  int64_t steps_ = 0;
};

}  // namespace netkit
