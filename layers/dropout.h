// DropoutLayer (Wolfram's DropoutLayer): inverted dropout. Option "DropoutProbability" p in
// [0, 1) (default 0.5). Test mode: y = x. Train mode: each element is kept with probability
// 1 - p and scaled by 1 / (1 - p), or set to 0 (as PyTorch), so the expected output is x.
//
// The mask is not stored. Element i of a batch (flat row-major index over the whole batch) is
// kept when the i-th output of a splitmix64 stream keyed by the pass's seed (ForwardArgs::seed,
// BackwardArgs::seed), taken as a 32-bit fraction, is >= p. It is a pure function of (seed, i),
// so it is the same for every thread count and the backward pass regenerates it.
// Ports "Input" and "Output" of one shape, any rank. No arrays.
#pragma once

#include <cstdint>

#include <netkit/layers/layer.h>

namespace netkit {

class Dropout final : public Layer {
 public:
  explicit Dropout(const nlohmann::json& options = nullptr);
  explicit Dropout(double probability);

  double probability() const { return p_; }

  // The keep decision of element `index` for `seed` (exposed for tests and documentation).
  static bool keeps(uint64_t seed, uint64_t index, double probability);

  std::string type() const override { return "Dropout"; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes&) const override { return {}; }
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  nlohmann::json options() const override { return {{"DropoutProbability", p_}}; }

 private:
  void validate() const;
  double p_ = 0.5;
};

}  // namespace netkit
