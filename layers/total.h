// TotalLayer: the elementwise sum of any number of same-shape inputs ("Input1", "Input2", ...),
// the join of residual connections in a NetGraph.
#pragma once

#include <netkit/layers/layer.h>

namespace netkit {

class Total final : public Layer {
 public:
  // Option "Inputs": the number of input ports (default 2, at least 1).
  explicit Total(const nlohmann::json& options = nullptr);

  std::string type() const override { return "Total"; }
  std::vector<std::string> input_ports() const override;
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes&) const override { return {}; }
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override { return {{"Inputs", inputs_}}; }

 private:
  int64_t inputs_ = 2;
};

}  // namespace netkit
