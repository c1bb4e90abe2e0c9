// A dataset whose examples come from a function of their indices: read from disk, decoded,
// generated, augmented deterministically... NetTrain asks for one batch of indices at a time, so
// only one batch is ever held in memory.
//
//   FunctionDataset data(60000, TargetKind::ClassIndex,
//                        {{"Input", {1, 28, 28}}, {"Target", scalar_example()}},
//                        [&](const std::vector<int64_t>& indices) {
//                          return std::map<std::string, Array>{{"Input", read_images(indices)},
//                                                              {"Target", read_labels(indices)}};
//                        });
//   net_train(net, data, options);
//
// The function must return the same values for the same indices every time (reproducibility and
// exact resume depend on it). Every batch it returns is checked: each declared port present and
// no other, first dimension the number of indices, each example of its declared shape;
// otherwise TrainingError "FunctionDataset port "P": <problem>; expected ..., got ...".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <netkit/train/dataset.h>

namespace netkit {

class FunctionDataset : public Dataset {
 public:
  using BatchFunction = std::function<std::map<std::string, Array>(const std::vector<int64_t>& indices)>;

  // `example_shapes`: per port, the fully known shape of one example (scalar_example() for one
  // number, such as a class index; note that {} would be Shape(), of unknown rank).
  // TrainingError for a negative size, an unknown dimension, no ports, a target kind without a
  // port "Target", or an empty function.
  FunctionDataset(int64_t size, TargetKind kind, std::map<std::string, Shape> example_shapes, BatchFunction function);

  int64_t size() const override { return size_; }
  TargetKind target_kind() const override { return kind_; }
  std::map<std::string, Shape> example_shapes() const override { return shapes_; }
  // The function's batch, checked; TrainingError for an index outside [0, size()).
  std::map<std::string, Array> batch(const std::vector<int64_t>& indices) const override;

 private:
  int64_t size_;
  TargetKind kind_;
  std::map<std::string, Shape> shapes_;
  BatchFunction function_;
};

}  // namespace netkit
