// In-memory training data: one array per net port, matched to the net's ports by name, each
// with the examples along its first dimension. Targets go on port "Target": class indices
// (0-based, stored as floats, shape [N] or [N, positions...]) or arrays of any shape.
// Batches gather examples in a given order; the order of a round is a seeded Fisher-Yates
// shuffle (netkit::Random), so a run is reproducible on every machine.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/array.h"
#include "core/random.h"

namespace netkit {

enum class TargetKind {
  None,        // no "Target" port (the net has its own loss port, or the loss takes no target)
  ClassIndex,  // "Target" holds 0-based class indices
  Array,       // "Target" holds arrays (regression, probability targets)
};

class TrainingData {
 public:
  TrainingData() = default;
  // `ports` by port name; `kind` says what port "Target" holds (None: no such port expected).
  // Throws TrainingError when ports disagree on the number of examples or a port has rank 0.
  explicit TrainingData(std::map<std::string, Array> ports, TargetKind kind = TargetKind::None);
  // Port "Input" with class indices on "Target".
  static TrainingData classification(Array inputs, const std::vector<int64_t>& classes);
  // Port "Input" with target arrays on "Target".
  static TrainingData regression(Array inputs, Array targets);

  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  TargetKind target_kind() const { return kind_; }
  const std::map<std::string, Array>& ports() const { return ports_; }
  const Array& port(const std::string& name) const;
  bool has_port(const std::string& name) const { return ports_.count(name) > 0; }

  // The examples order[begin .. end) of every port, as batches.
  std::map<std::string, Array> batch(const std::vector<int64_t>& order, int64_t begin, int64_t end) const;
  // A new data set of the examples `indices`, in that order.
  TrainingData subset(const std::vector<int64_t>& indices) const;
  // (training part, held-out part): a seeded random `fraction` of the examples (rounded, at least
  // one, and at least one left) is held out; both parts keep the original order.
  std::pair<TrainingData, TrainingData> split_held_out(double fraction, uint64_t seed) const;

 private:
  std::map<std::string, Array> ports_;
  TargetKind kind_ = TargetKind::None;
  int64_t size_ = 0;
};

// 0, 1, ..., n - 1.
std::vector<int64_t> identity_order(int64_t n);
// Fisher-Yates shuffle of `order` in place, drawing from `random`.
void shuffle(std::vector<int64_t>& order, Random& random);

}  // namespace netkit
