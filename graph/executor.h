// Executor: runs a net's plan on batches. It owns the activations, their gradients, every
// layer's saved values and the array store (graph/array_store.h) that binds each layer's arrays
// and their gradients. It plans once per input shape and binds every layer's arguments once per
// plan and batch size, so a batch of the same size looks nothing up. Without a backward pass in
// view an intermediate buffer is reused as soon as its last reader has run; gradient buffers are
// reused the same way.
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
#include <netkit/graph/array_store.h>
#include <netkit/graph/buffer_plan.h>
#include <netkit/graph/net.h>
#include <netkit/graph/plan.h>

namespace netkit {

struct NetGradients {
  std::map<std::string, Array> inputs;  // by input port
  std::map<std::string, Array> arrays;  // by array path ("block/bn1/Scaling" or a shared array's path)
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
  // skipped). Array gradients are fresh sums for this batch. The result is the executor's own
  // storage, reused by the next backward: copy it to keep it.
  const NetGradients& backward(const std::map<std::string, Array>& output_gradients);

  // The training path, which looks nothing up by name and allocates nothing once the plan and
  // the batch size are set: run_forward leaves the outputs in place (output()); the caller writes
  // the output gradients it has into output_gradient() buffers; run_backward sums every
  // learnable array's gradient into the store's arena and computes no gradient for the net's inputs.
  void run_forward(const std::map<std::string, Array>& inputs, Mode mode, bool for_backward, uint64_t seed = 0);
  ArrayView output(const std::string& port) const;
  // After a forward pass kept for backward (every value stays alive): the batch that the layer at
  // `node_indices` read at its input port `port`, e.g. for whole-data-set statistics of it.
  ArrayView step_input(const std::vector<size_t>& node_indices, size_t port) const;
  // dL/d(output `port`) for the batch of the last run_forward, to be written by the caller.
  float* output_gradient(const std::string& port);
  void run_backward();

  // After a Train-mode forward: folds this batch's statistics into the moving arrays of `net`
  // (the net this executor runs), skipping arrays frozen by a learning-rate multiplier of 0.
  void update_moving(Net& net);
  // Every learnable and moving array of `net` (the net this executor runs), bound for the plan
  // of the last forward pass, with the gradients of the last backward.
  ArrayStore& store(Net& net);
  // The store's list (a copy): every learnable and moving array with its gradient.
  std::vector<ArrayRef> array_refs(Net& net) { return store(net).arrays(); }

  const Plan& plan() const;
  // Bytes of activation (and, after a backward, gradient) buffers for the current plan and batch.
  int64_t activation_bytes() const;

 private:
  struct Run;
  void check_initialized();
  void prepare(const std::map<std::string, Array>& inputs, Mode mode, bool for_backward);
  void bind();
  void backward_steps(bool input_gradients);
  const float* value_data(int value) const;
  size_t output_index(const std::string& port, const char* what) const;

  const Net* net_;
  std::unique_ptr<Run> run_;
};

}  // namespace netkit
