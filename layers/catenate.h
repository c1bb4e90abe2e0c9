// CatenateLayer: joins its inputs ("Input1", "Input2", ...) along the first per-example
// dimension; every other dimension must agree. The branch join of a NetGraph.
#pragma once

#include <netkit/layers/layer.h>

namespace netkit {

class Catenate final : public Layer {
 public:
  // Option "Inputs": the number of input ports (default 2, at least 1).
  explicit Catenate(const nlohmann::json& options = nullptr);

  std::string type() const override { return "Catenate"; }
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
