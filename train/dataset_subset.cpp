#include <netkit/train/dataset_subset.h>

#include <netkit/core/error.h>

namespace netkit {

namespace {

void check_indices(const std::vector<int64_t>& indices, int64_t size, const std::string& where) {
  for (size_t i = 0; i < indices.size(); ++i)
    if (indices[i] < 0 || indices[i] >= size)
      throw TrainingError(
          where, "example index out of range",
          size > 0 ? "an index from 0 to " + std::to_string(size - 1) : std::string("no index (no examples)"),
          std::to_string(indices[i]) + " at position " + std::to_string(i));
}

}  // namespace

DatasetSubset::DatasetSubset(const Dataset& parent, std::vector<int64_t> indices)
    : parent_(&parent), indices_(std::move(indices)) {
  check_indices(indices_, parent.size(), "DatasetSubset");
}

std::map<std::string, Array> DatasetSubset::batch(const std::vector<int64_t>& indices) const {
  check_indices(indices, size(), "DatasetSubset, batch");
  std::vector<int64_t> mapped(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) mapped[i] = indices_[static_cast<size_t>(indices[i])];
  return parent_->batch(mapped);
}

std::pair<DatasetSubset, DatasetSubset> split_held_out(const Dataset& data, double fraction, uint64_t seed) {
  auto [kept, held_out] = held_out_indices(data.size(), fraction, seed);
  return {DatasetSubset(data, std::move(kept)), DatasetSubset(data, std::move(held_out))};
}

}  // namespace netkit
