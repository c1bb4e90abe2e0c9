#include <netkit/train/function_dataset.h>

#include <netkit/core/error.h>

namespace netkit {

FunctionDataset::FunctionDataset(int64_t size, TargetKind kind, std::map<std::string, Shape> example_shapes,
                                 BatchFunction function)
    : size_(size), kind_(kind), shapes_(std::move(example_shapes)), function_(std::move(function)) {
  const std::string where = "FunctionDataset";
  if (size_ < 0) throw TrainingError(where, "negative size", "a number of examples >= 0", std::to_string(size_));
  if (!function_)
    throw TrainingError(where, "no batch function", "a function of the example indices", "an empty function");
  if (shapes_.empty()) throw TrainingError(where, "no ports", "at least one port with its example shape", "none");
  for (const auto& [name, shape] : shapes_) {
    if (!shape.known())
      throw TrainingError(where + " port " + in_quotes(name), "example shape not fully known",
                          "known dimensions, such as [1, 28, 28], or [] for a scalar", shape.to_string(),
                          shape.rank_known() ? std::string()
                                             : "A scalar example (a class index) is scalar_example(); Shape() or {} "
                                               "is a shape of unknown rank");
  }
  if (kind_ != TargetKind::None && !shapes_.count("Target"))
    throw TrainingError(where, "targets declared but no port \"Target\"", "a port \"Target\"",
                        "ports " + port_list(shapes_));
}

std::map<std::string, Array> FunctionDataset::batch(const std::vector<int64_t>& indices) const {
  for (size_t i = 0; i < indices.size(); ++i)
    if (indices[i] < 0 || indices[i] >= size_)
      throw TrainingError("FunctionDataset", "example index out of range",
                          "an index from 0 to " + std::to_string(size_ - 1),
                          std::to_string(indices[i]) + " at position " + std::to_string(i));
  std::map<std::string, Array> out = function_(indices);
  check_batch(shapes_, out, static_cast<int64_t>(indices.size()), "FunctionDataset");
  return out;
}

}  // namespace netkit
