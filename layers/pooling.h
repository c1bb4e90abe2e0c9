// PoolingLayer (Wolfram's PoolingLayer): max or mean pooling over the spatial dimensions of
// each channel. Port "Input" is [channels, length] (1-D) or [channels, height, width] (2-D);
// port "Output" has the same channels and, per spatial dimension,
//   out = floor((in + 2 PaddingSize - KernelSize) / Stride) + 1      (PyTorch's ceil_mode False).
// Options:
//   "Function"    "Max" (default) or "Mean"
//   "KernelSize"  an integer >= 1 for every spatial dimension, or a list of 1 or 2 (default 2)
//   "Stride"      the same forms; default: the kernel size (PyTorch's default; Wolfram's is 1)
//   "PaddingSize" the same forms, integers >= 0 with 2 PaddingSize <= KernelSize (default 0)
// A list fixes the dimensionality (1-D or 2-D); lists must all have one length. Max pooling
// pads with -infinity, mean pooling with zeros and always divides by the full kernel area
// (PyTorch's count_include_pad True). No arrays. Kernels in layers/kernels/pooling.h; the
// semantics and choices are in docs/layers_pooling_reshape_dropout.md.
#pragma once

#include <optional>
#include <vector>

#include <netkit/layers/kernels/pooling.h>
#include <netkit/layers/layer.h>

namespace netkit {

class Pooling final : public Layer {
 public:
  // A size option: one value for every spatial dimension (scalar), or one value per dimension.
  struct Sizes {
    std::vector<int64_t> values;
    bool scalar = true;
    int64_t at(int64_t dim) const { return values[scalar ? 0 : static_cast<size_t>(dim)]; }
  };
  struct Config {
    kernels::PoolFunction function = kernels::PoolFunction::Max;
    Sizes kernel_size{{2}, true};
    std::optional<Sizes> stride;  // absent: the kernel size
    Sizes padding{{0}, true};
  };

  explicit Pooling(const nlohmann::json& options = nullptr);
  explicit Pooling(Config config);

  const Config& config() const { return config_; }
  // 1 or 2 when a list option fixes it, else 0 (taken from the input's rank).
  int64_t spatial_rank() const;
  Sizes stride() const { return config_.stride ? *config_.stride : config_.kernel_size; }

  std::string type() const override { return "Pooling"; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes&) const override { return {}; }
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override;

 private:
  void validate() const;
  Config config_;
};

}  // namespace netkit
