// ConvolutionLayer (Wolfram's ConvolutionLayer), 1-D, 2-D and 3-D, channels first. Port "Input"
// takes [C, L], [C, H, W] or [C, D, H, W] per example, port "Output" gives [OutputChannels, L'],
// [OutputChannels, H', W'] or [OutputChannels, D', H', W'] with, in each spatial dimension,
//   out = floor((in + 2 p - d (k - 1) - 1) / s) + 1      (PaddingSize p, Dilation d, Stride s)
// or, for "PaddingSize" -> "Same", out = ceil(in / s), the total padding
// max((out - 1) s + d (k - 1) + 1 - in, 0) split with the smaller half before (PyTorch's
// padding="same" for stride 1; TensorFlow's "SAME" for larger strides).
// Arrays (learnable): "Weights" [OutputChannels, C / ChannelGroups, k...] and, unless
// "HasBiases" -> false, "Biases" [OutputChannels]. The input channels come from the input or the
// Weights, the output channels from the option, the output port or the arrays, the kernel size
// from the option or the Weights. Semantics and options in docs/convolution.md.
#pragma once

#include <netkit/layers/layer.h>

namespace netkit {

class Convolution final : public Layer {
 public:
  // A size option: one value for every spatial dimension (`per_dim` false) or one per dimension.
  // Empty: not given (only "KernelSize", which the Weights can give instead).
  struct Sizes {
    std::vector<int64_t> values;
    bool per_dim = false;
    bool given() const { return !values.empty(); }
    int64_t at(int64_t dim) const { return values[static_cast<size_t>(per_dim ? dim : 0)]; }
  };

  struct Config {
    int64_t output_channels = kUnknownDim;  // unknown: fixed by port "Output" or the arrays
    Sizes kernel_size;
    Sizes stride{{1}, false};
    Sizes padding{{0}, false};
    bool same_padding = false;  // "PaddingSize" -> "Same"; `padding` is then unused
    Sizes dilation{{1}, false};
    int64_t groups = 1;
    bool has_biases = true;
    Initializer weights_initializer{Initializer::Kind::KaimingNormal};
    Initializer biases_initializer{Initializer::Kind::Zeros};
    double l2_weights = 1.0, l2_biases = 1.0;
  };

  explicit Convolution(const nlohmann::json& options = nullptr);
  explicit Convolution(Config config);

  const Config& config() const { return config_; }

  std::string type() const override { return "Convolution"; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes& shapes) const override;
  void check_array(const std::string& name, const Array& value) const override;
  std::string unknown_shape_reason(const std::string& array) const override;
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override;
  bool has_user_functions() const override;

  // Indices into the params (ForwardArgs::params); kBiases only with "HasBiases" -> true.
  enum Param { kWeights, kBiases };

  // Padding before the first element of spatial dimension `dim` for an input of size `in` that
  // gives `out` outputs, and the output size of an input of size `in`.
  int64_t padding_before(int64_t dim, int64_t in, int64_t out, int64_t kernel) const;
  int64_t output_size(int64_t dim, int64_t in, int64_t kernel) const;

 private:
  void validate() const;
  Config config_;
};

}  // namespace netkit
