// ReshapeLayer (Wolfram's ReshapeLayer): the same numbers in row-major order, arranged as
// "Dimensions". Port "Input" is any array; port "Output" has the shape "Dimensions", whose one
// entry may be -1 or "Inferred" (Wolfram's Automatic): that dimension is the input's element
// count divided by the product of the others. The element count never changes. Shapes are
// inferred both ways: a fully known output fixes one unknown input dimension. Default
// "Dimensions": ["Inferred"] (a flattening), because every layer type must be constructible
// from no options. No arrays.
#pragma once

#include <vector>

#include <netkit/layers/layer.h>

namespace netkit {

class Reshape final : public Layer {
 public:
  // kUnknownDim marks the inferred entry.
  explicit Reshape(const nlohmann::json& options = nullptr);
  explicit Reshape(std::vector<int64_t> dimensions);

  const std::vector<int64_t>& dimensions() const { return dimensions_; }

  std::string type() const override { return "Reshape"; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes&) const override { return {}; }
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override;

 private:
  void validate() const;
  std::vector<int64_t> dimensions_{kUnknownDim};
};

// Layers that only rearrange the row-major data (Reshape, Flatten): forward copies the input,
// backward adds (or writes) dL/dOutput into dL/dInput. Chunked as the elementwise kernels, so
// the result does not depend on the thread count.
void pass_through_forward(const ForwardArgs& args);
void pass_through_backward(const BackwardArgs& args);

// Fixes the one unknown dimension of `dims` so that the product is `count`; nothing when more
// than one is unknown. Returns false when no value fits (the known product does not divide
// `count`, or differs from it when nothing is unknown).
bool solve_element_count(std::vector<int64_t>& dims, int64_t count);

}  // namespace netkit
