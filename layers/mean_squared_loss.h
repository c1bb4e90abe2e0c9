// MeanSquaredLossLayer (Wolfram's MeanSquaredLossLayer): ports "Input" and "Target" of one shape
// (any rank, 0 included; each port's shape is inferred from the other), output "Loss", one
// number per example (shape []): the mean over the example's elements of (x - t)^2. Both ports
// are differentiable. No options, no arrays. Kernels in layers/kernels/losses.h.
#pragma once

#include <netkit/layers/layer.h>

namespace netkit {

class MeanSquaredLoss final : public Layer {
 public:
  explicit MeanSquaredLoss(const nlohmann::json& options = nullptr);

  std::string type() const override { return "MeanSquaredLoss"; }
  std::vector<std::string> input_ports() const override { return {"Input", "Target"}; }
  std::vector<std::string> output_ports() const override { return {"Loss"}; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes&) const override { return {}; }
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override { return nlohmann::json::object(); }
};

}  // namespace netkit
