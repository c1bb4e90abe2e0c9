// BatchNormalizationLayer (docs/batch_norm.md): Wolfram's options and arrays plus the MATLAB / PyTorch
// style extras. Ports "Input" and "Output" (same shape, rank >= 1); channel first, or last with
// "Interleaving" -> true. Arrays, each of length C: "Scaling", "Biases" (learnable),
// "MovingMean", "MovingVariance" (moving); saved per step: "BatchMean", "BatchInvStd",
// "BatchVariance" (the estimator's variance, fed to the moving update).
#pragma once

#include <netkit/layers/layer.h>

namespace netkit {

class BatchNormalization final : public Layer {
 public:
  enum class VarianceEstimator { Biased, Unbiased };
  enum class MovingAverage { Exponential, Cumulative };
  enum class Statistics { Moving, Population };

  struct Config {
    double epsilon = 0.001;
    double momentum = 0.9;  // weight kept on the old moving estimate
    bool interleaving = false;
    VarianceEstimator variance_estimator = VarianceEstimator::Biased;
    MovingAverage moving_average = MovingAverage::Exponential;
    Statistics statistics = Statistics::Moving;
    Initializer scaling_initializer{Initializer::Kind::Ones};
    Initializer biases_initializer{Initializer::Kind::Zeros};
    double l2_scaling = 1.0, l2_biases = 1.0;
  };

  explicit BatchNormalization(const nlohmann::json& options = nullptr);
  explicit BatchNormalization(Config config);

  const Config& config() const { return config_; }
  // "Gamma" / "Beta" for Scaling / Biases; files from before "Interleaving" mean channels first.
  static const LegacyNames& legacy_names();

  std::string type() const override { return "BatchNormalization"; }
  void infer_shapes(LayerShapes& shapes) const override;
  std::vector<ArrayDecl> arrays(const LayerShapes& shapes) const override;
  void check_array(const std::string& name, const Array& value) const override;
  std::string unknown_shape_reason(const std::string& array) const override;
  void forward(const ForwardArgs& args) const override;
  void backward(const BackwardArgs& args) const override;
  void update_moving(const MovingUpdateArgs& args) const override;
  nlohmann::json options() const override;
  bool has_user_functions() const override;
  // "Statistics" -> "Population" (and statistics not frozen by "Momentum" -> 1): MovingMean and
  // MovingVariance become the exact mean and biased variance of every value reaching the input.
  std::unique_ptr<PopulationAccumulator> population_accumulator() const override;

  // Indices into the params (ForwardArgs::params) and saved arrays.
  enum Param { kScaling, kBiases, kMovingMean, kMovingVariance };
  enum Saved { kBatchMean, kBatchInvStd, kBatchVariance };

 private:
  void validate() const;
  Config config_;
};

}  // namespace netkit
