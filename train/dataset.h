// Training data for NetTrain: a Dataset serves examples by index, one array per port, matched to
// the net's ports by name, each with the examples along its first dimension. Targets go on port
// "Target": class indices (0-based, stored as floats, one example shape [] or [positions...]) or
// arrays of any shape.
//
// NetTrain never asks for the whole set: it shuffles example INDICES with its seeded generator
// (a Fisher-Yates shuffle drawing from netkit::Random, so a run is reproducible on every machine)
// and asks the dataset for one batch of indices at a time. A dataset that returns the same
// examples for the same indices therefore trains bit-identically, and resumes exactly, whether it
// holds its examples in memory (TrainingData), computes or reads them on demand
// (train/function_dataset.h, or a class of your own deriving from Dataset), or is a view of
// another dataset (train/dataset_subset.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/core/random.h>
#include <netkit/core/shape.h>

namespace netkit {

enum class TargetKind {
  None,        // no "Target" port (the net has its own loss port, or the loss takes no target)
  ClassIndex,  // "Target" holds 0-based class indices
  Array,       // "Target" holds arrays (regression, probability targets)
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  // Number of examples; valid indices are 0 .. size() - 1.
  virtual int64_t size() const = 0;
  // What port "Target" holds (None: no such port).
  virtual TargetKind target_kind() const = 0;
  // Per port, the shape of ONE example (without the batch dimension), fully known.
  virtual std::map<std::string, Shape> example_shapes() const = 0;
  // The examples `indices` (each in [0, size()), repeats allowed), in that order: every port of
  // example_shapes(), each with first dimension indices.size(). Must return the same values for
  // the same indices every time (NetTrain's reproducibility and resume rely on it); may be
  // called from one thread at a time only.
  virtual std::map<std::string, Array> batch(const std::vector<int64_t>& indices) const = 0;

  bool empty() const { return size() == 0; }
};

// In-memory data: every port's examples in one array.
class TrainingData : public Dataset {
 public:
  TrainingData() = default;
  // `ports` by port name; `kind` says what port "Target" holds (None: no such port expected).
  // Throws TrainingError when ports disagree on the number of examples or a port has rank 0.
  explicit TrainingData(std::map<std::string, Array> ports, TargetKind kind = TargetKind::None);
  // Port "Input" with class indices on "Target".
  static TrainingData classification(Array inputs, const std::vector<int64_t>& classes);
  // Port "Input" with target arrays on "Target".
  static TrainingData regression(Array inputs, Array targets);

  int64_t size() const override { return size_; }
  TargetKind target_kind() const override { return kind_; }
  std::map<std::string, Shape> example_shapes() const override;
  // Gathers the examples; TrainingError for an index out of range.
  std::map<std::string, Array> batch(const std::vector<int64_t>& indices) const override;

  const std::map<std::string, Array>& ports() const { return ports_; }
  const Array& port(const std::string& name) const;
  bool has_port(const std::string& name) const { return ports_.count(name) > 0; }

  // The examples order[begin .. end) of every port, as batches.
  std::map<std::string, Array> batch(const std::vector<int64_t>& order, int64_t begin, int64_t end) const;
  // A new (copied) data set of the examples `indices`, in that order.
  TrainingData subset(const std::vector<int64_t>& indices) const;
  // (training part, held-out part) as copies, chosen by held_out_indices (NetTrain itself uses
  // the copy-free views of train/dataset_subset.h).
  std::pair<TrainingData, TrainingData> split_held_out(double fraction, uint64_t seed) const;

 private:
  std::map<std::string, Array> ports_;
  TargetKind kind_ = TargetKind::None;
  int64_t size_ = 0;
};

// The shape of an example that is one number, such as a class index: [] (Shape() is unknown).
inline Shape scalar_example() { return Shape(std::vector<int64_t>{}); }

// (kept, held out) example indices of a set of `size`: a seeded random `fraction` (rounded, at
// least one, and at least one left) is held out; both lists ascending. OptionError for a fraction
// outside (0, 1), TrainingError for fewer than 2 examples.
std::pair<std::vector<int64_t>, std::vector<int64_t>> held_out_indices(int64_t size, double fraction, uint64_t seed);

// Checks a batch against per-example `shapes`: every port present and no other, first dimension
// `examples`, the rest as declared. TrainingError "<where> port "P": ..." otherwise.
void check_batch(const std::map<std::string, Shape>& shapes, const std::map<std::string, Array>& batch,
                 int64_t examples, const std::string& where);

// "\"A\", \"B\"" (or "none").
std::string port_list(const std::map<std::string, Shape>& shapes);

// 0, 1, ..., n - 1.
std::vector<int64_t> identity_order(int64_t n);
// Fisher-Yates shuffle of `order` in place, drawing from `random`.
void shuffle(std::vector<int64_t>& order, Random& random);

}  // namespace netkit
