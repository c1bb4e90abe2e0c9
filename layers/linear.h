// LinearLayer (Wolfram's LinearLayer): y = W x + b, a fully connected layer. Port "Input" takes
// an array of any rank >= 1 per example, flattened row-major to `in` values; port "Output" is
// the vector [OutputSize]. Arrays (both learnable): "Weights" [OutputSize, in], "Biases"
// [OutputSize]. OutputSize may be left open when the "Output" port or a given array fixes it;
// a given "Weights" fixes the input size too.
#pragma once

#include <netkit/layers/layer.h>

namespace netkit {

class Linear final : public Layer {
 public:
  struct Config {
    int64_t output_size = kUnknownDim;  // unknown: fixed by port "Output" or the arrays
    Initializer weights_initializer{Initializer::Kind::XavierUniform};
    Initializer biases_initializer{Initializer::Kind::Zeros};
    double l2_weights = 1.0, l2_biases = 1.0;
  };

  explicit Linear(const nlohmann::json& options = nullptr);
  explicit Linear(Config config);

  const Config& config() const { return config_; }

  std::string type() const override { return "Linear"; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes& shapes) const override;
  void check_array(const std::string& name, const Array& value) const override;
  std::string unknown_shape_reason(const std::string& array) const override;
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override;
  bool has_user_functions() const override;

  // Indices into the params (ForwardArgs::params).
  enum Param { kWeights, kBiases };

 private:
  void validate() const;
  Config config_;
};

}  // namespace netkit
