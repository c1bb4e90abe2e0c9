// CrossEntropyLossLayer (Wolfram's CrossEntropyLossLayer): ports "Input" (class probabilities,
// classes along the last dimension) and "Target"; output "Loss", one number per example (shape
// [], rank 0). No arrays.
//
// Options:
//   "TargetForm" -> "Index" (default): "Target" holds one 0-based class index per position,
//       stored as a float; its shape is the input's without the class dimension ([] for a vector
//       input). A target that is not an integer in [0, classes) is an EvaluationError naming the
//       example, the value and the class count. Index targets have no gradient (0).
//     -> "Probabilities": "Target" has the input's shape; loss = sum_c -t_c log p_c.
//   (Wolfram passes this form as the layer's argument, CrossEntropyLossLayer["Index"]; it cannot
//   be an option called "Target" here, because that name is the port's.)
//   "InputForm" -> "Probabilities" (default): "Input" holds probabilities; log(0) is guarded by
//       reading p < 2^-126 as 2^-126 (loss at most 87.34 per position, gradient finite).
//     -> "Logits": "Input" holds unnormalised scores x, p = softmax(x) along the last dimension,
//       computed internally as a stable log-softmax: exact for logits of any finite size, with
//       dL/dx = softmax(x) - t. CrossEntropyLoss["InputForm" -> "Logits"] equals a Softmax
//       followed by a CrossEntropyLoss, and is what a net should use for stable gradients.
// An input of rank > 1 is a map of positions with a class vector each (e.g. [H, W, C]); the
// example's loss is the mean over its positions. Kernels in layers/kernels/losses.h.
#pragma once

#include <netkit/layers/kernels/losses.h>
#include <netkit/layers/layer.h>

namespace netkit {

class CrossEntropyLoss final : public Layer {
 public:
  using InputForm = kernels::CrossEntropyInput;
  using TargetForm = kernels::CrossEntropyTarget;

  explicit CrossEntropyLoss(const nlohmann::json& options = nullptr);
  CrossEntropyLoss(TargetForm target, InputForm input);

  TargetForm target_form() const { return target_; }
  InputForm input_form() const { return input_; }

  std::string type() const override { return "CrossEntropyLoss"; }
  std::vector<std::string> input_ports() const override { return {"Input", "Target"}; }
  std::vector<std::string> output_ports() const override { return {"Loss"}; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes&) const override { return {}; }
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override;
  // On probabilities from a Softmax over the last dimension: the same loss on the Softmax's
  // logits, where log p is a stable log-softmax (exact for logits of 1e4) and the gradient is
  // p - t, while the pair's own chain rule would divide by probabilities that may be 0.
  LayerPtr absorb_producer(const Layer& producer, const Shape& producer_input) const override;

 private:
  void check_indices(const float* t, const kernels::CrossEntropyDims& d, const Shape& input) const;
  TargetForm target_ = TargetForm::Index;
  InputForm input_ = InputForm::Probabilities;
};

}  // namespace netkit
