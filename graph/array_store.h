// ArrayStore: every learnable and moving array of a net, resolved once from a plan. Each array
// gets a slot: its path text ("block/bn1/Scaling", or the path of a shared array, "block/W"), where
// its value lives (Net::storage_of), its role, learning-rate multiplier and L2 factor, and, for a
// learnable array, a gradient view into one contiguous arena. Sharing is resolved here: an array
// several layers share has one slot, and every plan step's parameters are bound to slots, so a
// batch performs no look-up by name. An optimizer step or a reduction over all gradients is one
// pass over the arena.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/graph/plan.h>
#include <netkit/layers/layer.h>

namespace netkit {

class Net;

// One stored array: the seam between a net and whatever updates it (an optimizer, a checkpoint).
struct ArrayRef {
  std::string key;  // the array's path text
  Array* value = nullptr;
  ArrayView gradient;  // learnable arrays inside an executor's store; empty otherwise
  ArrayRole role = ArrayRole::Learnable;
  double learning_rate_multiplier = 1.0;
  double l2_factor = 0.0;
};

class ArrayStore {
 public:
  ArrayStore() = default;
  // Binds every learnable and moving array that `plan` (a plan of `net`, possibly fused) declares.
  // `net` must outlive the store; the store must be rebuilt when the net's plan is replaced
  // (sharing, initialization or set_array change where values live).
  ArrayStore(const Net& net, const Plan& plan);
  ArrayStore(const ArrayStore&) = delete;  // gradient views point into this store's own arena
  ArrayStore& operator=(const ArrayStore&) = delete;
  ArrayStore(ArrayStore&&) noexcept = default;
  ArrayStore& operator=(ArrayStore&&) noexcept = default;

  const std::vector<ArrayRef>& arrays() const { return arrays_; }
  size_t size() const { return arrays_.size(); }
  const ArrayRef& operator[](size_t slot) const { return arrays_[slot]; }
  std::optional<size_t> slot_of(const std::string& key) const;
  // The slots of plan step `step`'s learnable and moving arrays, in declaration order.
  const std::vector<size_t>& step_slots(size_t step) const { return step_slots_[step]; }
  // The node indices of the first layer that declares the array in `slot`.
  const std::vector<size_t>& owner(size_t slot) const { return owners_[slot]; }
  // Reads the learning-rate multipliers again if any layer's changed since they were read.
  void refresh_multipliers(const Net& net);
  // Arrays without a value (the net is not initialized), as path texts.
  std::vector<std::string> missing() const;

  // Where the layer at `slot`'s gradient lives in the arena (nullptr for moving arrays).
  float* gradient_data(size_t slot) {
    return arrays_[slot].gradient.empty() ? nullptr : arena_.data() + offsets_[slot];
  }
  int64_t gradient_elements() const { return static_cast<int64_t>(arena_.size()); }
  void zero_gradients();

 private:
  std::vector<ArrayRef> arrays_;
  std::vector<std::vector<size_t>> owners_;
  std::vector<std::string> names_;  // each array's name in its owner layer
  uint64_t multipliers_read_ = 0;   // LayerNet::multiplier_generation() when they were read
  std::vector<int64_t> offsets_;    // into the arena; -1 for moving arrays
  std::vector<std::vector<size_t>> step_slots_;
  FloatBuffer arena_;
};

}  // namespace netkit
