// FlattenLayer (Wolfram's FlattenLayer): joins dimensions of each example into one, keeping the
// row-major order of the numbers. Option "Level":
//   "Infinity" (default)  every dimension: the output is the vector of all elements
//   n >= 1                the first n + 1 dimensions: [2, 3, 4, 5] with 1 -> [6, 4, 5]
//   -n <= -1              the last n + 1 dimensions:  [2, 3, 4, 5] with -1 -> [2, 3, 20]
// Shapes are inferred both ways: the dimensions that are not flattened pass through, and a
// known output size with all but one flattened input dimension known gives the missing one.
// For a level n the input rank also follows from the output rank. No arrays.
#pragma once

#include <optional>

#include <netkit/layers/layer.h>

namespace netkit {

class Flatten final : public Layer {
 public:
  explicit Flatten(const nlohmann::json& options = nullptr);
  // nullopt: "Infinity".
  explicit Flatten(std::optional<int64_t> level);

  std::optional<int64_t> level() const { return level_; }

  std::string type() const override { return "Flatten"; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes&) const override { return {}; }
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override;

 private:
  void validate() const;
  std::optional<int64_t> level_;
};

}  // namespace netkit
