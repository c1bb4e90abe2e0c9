// Executor: runs a net's plan on batches (DESIGN.md section 5). It owns the activations, their
// gradients and every layer's saved values; it plans once per input shape and keeps its buffers
// across batches of the same size. Without a backward pass in view an intermediate buffer is
// reused as soon as its last reader has run; gradient buffers are reused the same way.
//
// Use: forward (for_backward when gradients will follow), then backward and/or update_moving.
// A forward pass kept for backward keeps its own copy of the inputs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/graph/buffer_plan.h>
#include <netkit/graph/net.h>
#include <netkit/graph/plan.h>

namespace netkit {

struct NetGradients {
  std::map<std::string, Array> inputs;  // by input port
  std::map<std::string, Array> arrays;  // by array key ("block/bn1/Scaling" or a shared name)
};

// The seam between net and trainer (DESIGN.md principle 4): one entry per stored array.
struct ArrayRef {
  std::string key;
  Array* value = nullptr;
  const Array* gradient = nullptr;  // nullptr for moving arrays
  ArrayRole role = ArrayRole::Learnable;
  double learning_rate_multiplier = 1.0;
  double l2_factor = 0.0;
};

class Executor {
 public:
  explicit Executor(const Net& net);  // keeps a pointer: `net` must outlive the executor
  explicit Executor(Net&&) = delete;  // so a temporary net is refused at compile time
  ~Executor();
  Executor(Executor&&) noexcept;
  Executor& operator=(Executor&&) noexcept;

  // One batch per input port, by port name. `seed` drives Train-mode randomness (Dropout).
  std::map<std::string, Array> forward(const std::map<std::string, Array>& inputs, Mode mode = Mode::Test,
                                       bool for_backward = false, uint64_t seed = 0);
  // After forward(..., for_backward = true): gradients for the given dL/d(output) per output
  // port (ports not given count as zero, and layers whose outputs lead only to such ports are
  // skipped). Array gradients are fresh sums for this batch. The
  // result is the executor's own storage, reused by the next backward (training allocates
  // nothing per batch): copy it to keep it.
  const NetGradients& backward(const std::map<std::string, Array>& output_gradients);
  // After a Train-mode forward: folds this batch's statistics into the moving arrays of `net`
  // (the net this executor runs), skipping arrays frozen by a learning-rate multiplier of 0.
  void update_moving(Net& net);
  // Every learnable and moving array of `net` with its gradient from the last backward.
  std::vector<ArrayRef> array_refs(Net& net);

  const Plan& plan() const;
  // Bytes of activation (and, after a backward, gradient) buffers for the current plan and batch.
  int64_t activation_bytes() const;

 private:
  struct Run;
  void prepare(const std::map<std::string, Array>& inputs, Mode mode, bool for_backward);
  const Array* param_storage(const PlanStep& step, const std::string& array) const;
  const float* value_data(int value) const;

  const Net* net_;
  std::unique_ptr<Run> run_;
};

}  // namespace netkit
