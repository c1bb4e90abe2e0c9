// Elementwise activation layers (Wolfram's ElementwiseLayer): type "Elementwise" with option
// "Function" -> "Ramp" (ReLU), "Tanh" or "LogisticSigmoid", and type "Ramp", Wolfram's Ramp
// written directly as a layer: no options, the same numbers as Elementwise with "Ramp" (it is
// the same class). Ports "Input" and "Output" of equal shape, any rank including 0 (one number
// per example). No arrays. Kernels in layers/kernels/elementwise.h.
//
// Wolfram requires the function; here "Function" defaults to "Ramp", because every layer type
// must be constructible from no options (LayerNet probes a type that way).
#pragma once

#include <string>
#include <vector>

#include <netkit/layers/kernels/elementwise.h>
#include <netkit/layers/layer.h>

namespace netkit {

class Elementwise : public Layer {
 public:
  using Function = kernels::ElementwiseFunction;

  explicit Elementwise(const nlohmann::json& options = nullptr);
  explicit Elementwise(Function function);

  Function function() const { return function_; }
  // "Ramp", "Tanh", "LogisticSigmoid": the option values, indexed by Function.
  static const std::vector<std::string>& function_names();
  static const std::string& function_name(Function function);

  std::string type() const override { return "Elementwise"; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes& shapes) const override;
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override;

 private:
  Function function_ = Function::Ramp;
};

// Ramp as a layer type of its own: Elementwise with "Ramp", no options.
class Ramp final : public Elementwise {
 public:
  explicit Ramp(const nlohmann::json& options = nullptr);

  std::string type() const override { return "Ramp"; }
  nlohmann::json options() const override { return nlohmann::json::object(); }
};

}  // namespace netkit
