// SoftmaxLayer (Wolfram's SoftmaxLayer): normalises exp(x) to sum 1 along one dimension of each
// example, the last by default. Ports "Input" and "Output" of equal shape, rank >= 1. No arrays.
//
// Option "Level" (an integer, not 0; default -1) picks the dimension as Wolfram's level does:
// 1 is the first per-example dimension, 2 the second, ...; -1 the last, -2 the one before it.
// The batch dimension is never counted. For a channel-first [C, H, W] map of class scores,
// "Level" -> 1 gives a probability vector over the C classes at every pixel. A level deeper than
// the input's rank is a shape error. Kernels in layers/kernels/softmax.h (numerically stable:
// logits of 1e4 give exact, finite outputs and gradients).
#pragma once

#include <netkit/layers/kernels/softmax.h>
#include <netkit/layers/layer.h>

namespace netkit {

class Softmax final : public Layer {
 public:
  explicit Softmax(const nlohmann::json& options = nullptr);

  int64_t level() const { return level_; }
  // The 0-based per-example dimension that `level` names for an input of `rank`, or a
  // ShapeError naming port "Input" when there is no such dimension.
  int64_t axis(int64_t rank) const;
  // The batch as [outer, axis, inner] for the kernels.
  kernels::SoftmaxDims dims(int64_t batch, const Shape& example) const;

  std::string type() const override { return "Softmax"; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes&) const override { return {}; }
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override { return {{"Level", level_}}; }

 private:
  int64_t level_ = -1;
};

}  // namespace netkit
