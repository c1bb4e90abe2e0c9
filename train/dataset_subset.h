// A view of some examples of another dataset, by index, without copying: example i of the view
// is example indices[i] of the parent. NetTrain holds out its "ValidationSet" fraction this way,
// for any Dataset.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <netkit/train/dataset.h>

namespace netkit {

class DatasetSubset : public Dataset {
 public:
  // `parent` must outlive the view. TrainingError for an index outside [0, parent.size()).
  DatasetSubset(const Dataset& parent, std::vector<int64_t> indices);

  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  TargetKind target_kind() const override { return parent_->target_kind(); }
  std::map<std::string, Shape> example_shapes() const override { return parent_->example_shapes(); }
  // The parent's batch of the mapped indices.
  std::map<std::string, Array> batch(const std::vector<int64_t>& indices) const override;

  const Dataset& parent() const { return *parent_; }
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  const Dataset* parent_;
  std::vector<int64_t> indices_;
};

// (training part, held-out part) of `data` as views, the examples chosen by held_out_indices.
std::pair<DatasetSubset, DatasetSubset> split_held_out(const Dataset& data, double fraction, uint64_t seed);

}  // namespace netkit
