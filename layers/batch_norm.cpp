#include <netkit/layers/batch_norm.h>

#include <cmath>

#include <netkit/core/error.h>
#include <netkit/layers/kernels/batch_norm.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

const char* const kParamNames[] = {"Scaling", "Biases", "MovingMean", "MovingVariance"};

std::string array_where(const std::string& name) { return "array " + in_quotes(name); }

// The per-example input viewed as [outer, channels, inner] for a batch of n.
kernels::BnLayout layout_of(const Shape& input, int64_t n, bool interleaving) {
  const auto& d = input.dims();
  int64_t spatial = 1;
  for (size_t i = 1; i < d.size(); ++i) spatial *= interleaving ? d[i - 1] : d[i];
  return interleaving ? kernels::BnLayout{n * spatial, d.back(), 1} : kernels::BnLayout{n, d.front(), spatial};
}

}  // namespace

BatchNormalization::BatchNormalization(Config config) : config_(std::move(config)) { validate(); }

BatchNormalization::BatchNormalization(const nlohmann::json& options) {
  OptionReader r(options, "BatchNormalization");
  Config c;
  c.epsilon = r.number("Epsilon", c.epsilon);
  c.momentum = r.number("Momentum", c.momentum);
  c.interleaving = r.boolean("Interleaving", c.interleaving);
  c.variance_estimator = r.choice("VarianceEstimator", "Biased", {"Biased", "Unbiased"}) == "Biased"
                             ? VarianceEstimator::Biased
                             : VarianceEstimator::Unbiased;
  c.moving_average = r.choice("MovingAverage", "Exponential", {"Exponential", "Cumulative"}) == "Exponential"
                         ? MovingAverage::Exponential
                         : MovingAverage::Cumulative;
  c.statistics = r.choice("Statistics", "Moving", {"Moving", "Population"}) == "Moving" ? Statistics::Moving
                                                                                        : Statistics::Population;
  c.scaling_initializer = r.initializer("ScalingInitializer", c.scaling_initializer, Initializer::names());
  c.biases_initializer = r.initializer("BiasesInitializer", c.biases_initializer, Initializer::names());
  const auto l2 = r.per_array_numbers("L2Factors", {"Scaling", "Biases"}, 1.0, " (moving arrays are never decayed)");
  c.l2_scaling = l2[0];
  c.l2_biases = l2[1];
  r.finish();
  config_ = c;
  validate();
}

void BatchNormalization::validate() const {
  const auto& c = config_;
  if (!(c.epsilon >= 0) || !std::isfinite(c.epsilon))
    throw OptionError("BatchNormalization option \"Epsilon\"", "out of range", "a finite number >= 0",
                      number_text(c.epsilon));
  if (!(c.momentum >= 0 && c.momentum <= 1))
    throw OptionError("BatchNormalization option \"Momentum\"", "out of range", "a number in [0, 1]",
                      number_text(c.momentum));
  for (double f : {c.l2_scaling, c.l2_biases})
    if (!(f >= 0) || !std::isfinite(f))
      throw OptionError("BatchNormalization option \"L2Factors\"", "out of range", "finite numbers >= 0",
                        number_text(f));
}

void BatchNormalization::infer_shapes(LayerShapes& s) const {
  Shape& in = s.inputs.at(0);
  Shape& out = s.outputs.at(0);
  const auto joined = Shape::unify(in, out);
  if (!joined)
    throw ShapeError("port \"Output\"", "output shape must equal the input shape", in.to_string(), out.to_string());
  in = *joined;
  if (in.rank_known() && in.rank() < 1)
    throw ShapeError("port \"Input\"", "input must be an array of rank >= 1", "rank >= 1", "rank 0");

  // The channel count can come from the input's channel dimension or from any given array.
  const int64_t channel_axis = in.rank_known() ? (config_.interleaving ? in.rank() - 1 : 0) : -1;
  int64_t channels = channel_axis >= 0 ? in[channel_axis] : kUnknownDim;
  std::string source = "port \"Input\" " + in.to_string();
  for (const char* name : kParamNames) {
    auto it = s.arrays.find(name);
    if (it == s.arrays.end() || !it->second.rank_known()) continue;
    const Shape& a = it->second;
    if (a.rank() != 1)
      throw ShapeError(array_where(name), "must be a vector of one value per channel", "rank 1",
                       "shape " + a.to_string());
    if (a[0] == kUnknownDim) continue;
    if (channels != kUnknownDim && a[0] != channels)
      throw ShapeError(array_where(name), "length must equal the number of channels (" + source + ")",
                       "length " + std::to_string(channels), "length " + std::to_string(a[0]));
    if (channels == kUnknownDim) {
      channels = a[0];
      source = "array " + in_quotes(name);
    }
  }
  if (channel_axis >= 0 && channels != kUnknownDim) {
    auto dims = in.dims();
    dims[static_cast<size_t>(channel_axis)] = channels;
    in = Shape(dims);
  }
  out = in;
  for (const char* name : kParamNames) s.arrays[name] = Shape{channels};
}

std::vector<ArrayDecl> BatchNormalization::arrays(const LayerShapes& s) const {
  const Shape c = s.arrays.count("Scaling") ? s.arrays.at("Scaling") : Shape{kUnknownDim};
  return {
      {"Scaling", c, ArrayRole::Learnable, config_.scaling_initializer, config_.l2_scaling, true},
      {"Biases", c, ArrayRole::Learnable, config_.biases_initializer, config_.l2_biases, true},
      {"MovingMean", c, ArrayRole::Moving, Initializer::Kind::Zeros, 0.0, false},
      {"MovingVariance", c, ArrayRole::Moving, Initializer::Kind::Ones, 0.0, false},
      {"BatchMean", c, ArrayRole::Saved, {}, 0.0, false},
      {"BatchInvStd", c, ArrayRole::Saved, {}, 0.0, false},
      {"BatchVariance", c, ArrayRole::Saved, {}, 0.0, false},
  };
}

void BatchNormalization::check_array(const std::string& name, const Array& value) const {
  for (int64_t c = 0; c < value.size(); ++c) {
    const std::string where = array_where(name) + ", channel " + std::to_string(c);
    if (!std::isfinite(value[c]))
      throw InitializationError(where, "value is not finite", "a finite number", number_text(value[c]));
    if (name == "MovingVariance" && !(static_cast<double>(value[c]) + config_.epsilon > 0))
      throw InitializationError(where, "MovingVariance + Epsilon must be positive",
                                "a variance > " + number_text(0.0 - config_.epsilon + 0.0), number_text(value[c]));
  }
}

std::string BatchNormalization::unknown_shape_reason(const std::string&) const {
  return "the number of channels of port \"Input\" is not known";
}

void BatchNormalization::forward(const ForwardArgs& a) const {
  const auto l = layout_of(a.input_shapes.at(0), a.batch, config_.interleaving);
  const float* gamma = a.params[kScaling];
  const float* beta = a.params[kBiases];
  if (a.mode == Mode::Test) {
    const float* v = a.params[kMovingVariance];
    for (int64_t c = 0; c < l.channels; ++c)
      if (!(static_cast<double>(v[c]) + config_.epsilon > 0))
        throw NumericalError("array \"MovingVariance\", channel " + std::to_string(c),
                             "MovingVariance + Epsilon must be positive, or the output would be NaN",
                             "a variance > " + number_text(0.0 - config_.epsilon + 0.0), number_text(v[c]));
    kernels::batch_norm_test_forward(a.inputs[0], l, gamma, beta, a.params[kMovingMean], v, config_.epsilon,
                                     a.outputs[0]);
    return;
  }
  std::vector<double> var(static_cast<size_t>(l.channels));
  kernels::batch_norm_train_forward(a.inputs[0], l, gamma, beta, config_.epsilon, a.outputs[0], a.saved[kBatchMean],
                                    a.saved[kBatchInvStd], var.data());
  // The moving variance takes the estimator's value; with one value per channel the unbiased
  // estimate is undefined and falls back to the biased one (0).
  const int64_t m = l.per_channel();
  const double unbias = config_.variance_estimator == VarianceEstimator::Unbiased && m > 1
                            ? static_cast<double>(m) / static_cast<double>(m - 1)
                            : 1.0;
  for (int64_t c = 0; c < l.channels; ++c) a.saved[kBatchVariance][c] = static_cast<float>(var[c] * unbias);
}

void BatchNormalization::backward(const BackwardArgs& a) const {
  const auto l = layout_of(a.input_shapes.at(0), a.batch, config_.interleaving);
  float* dx = a.input_grads.empty() ? nullptr : a.input_grads[0];
  const bool accumulate = !a.overwrite_input_grads;
  if (a.mode == Mode::Train) {
    kernels::batch_norm_train_backward(a.inputs[0], a.output_grads[0], l, a.params[kScaling], a.saved[kBatchMean],
                                       a.saved[kBatchInvStd], dx, accumulate, a.param_grads[kScaling],
                                       a.param_grads[kBiases]);
  } else {
    kernels::batch_norm_test_backward(a.inputs[0], a.output_grads[0], l, a.params[kScaling], a.params[kMovingMean],
                                      a.params[kMovingVariance], config_.epsilon, dx, accumulate,
                                      a.param_grads[kScaling], a.param_grads[kBiases]);
  }
}

void BatchNormalization::update_moving(const MovingUpdateArgs& a) const {
  const int64_t channels = a.input_shapes.at(0)[config_.interleaving ? a.input_shapes[0].rank() - 1 : 0];
  const std::pair<int, int> pairs[] = {{kMovingMean, kBatchMean}, {kMovingVariance, kBatchVariance}};
  for (auto [moving, batch] : pairs) {
    float* target = a.moving.at(static_cast<size_t>(moving));
    if (!target) continue;  // frozen by a learning-rate multiplier of 0
    if (config_.moving_average == MovingAverage::Cumulative)
      kernels::cumulative_average(target, a.saved[static_cast<size_t>(batch)], channels, a.update_count);
    else if (config_.momentum != 1.0)  // Momentum 1 freezes the statistics bit for bit
      kernels::exponential_average(target, a.saved[static_cast<size_t>(batch)], channels, config_.momentum);
  }
}

namespace {

// Per-batch moments (two passes in double, the layer's own kernel) combined across batches with
// Chan et al.'s pairwise rule, never by averaging batch variances.
class ChannelMomentsAccumulator final : public PopulationAccumulator {
 public:
  explicit ChannelMomentsAccumulator(bool interleaving) : interleaving_(interleaving) {}
  void add(const float* x, const Shape& example, int64_t batch) override {
    const kernels::BnLayout l = layout_of(example, batch, interleaving_);
    const auto channels = static_cast<size_t>(l.channels);
    total_.resize(channels), mean_.resize(channels), m2_.resize(channels);
    kernels::batch_norm_moments(x, l, mean_.data(), m2_.data());
    for (size_t c = 0; c < channels; ++c)
      total_[c] = kernels::combine(total_[c], {static_cast<double>(l.per_channel()), mean_[c], m2_[c]});
  }
  std::map<std::string, Array> result() const override {
    std::vector<double> mean, variance;
    for (const auto& t : total_) mean.push_back(t.mean), variance.push_back(t.count > 0 ? t.m2 / t.count : 0.0);
    const std::vector<int64_t> dims{static_cast<int64_t>(total_.size())};
    return {{"MovingMean", Array::from(dims, mean)}, {"MovingVariance", Array::from(dims, variance)}};
  }

 private:
  bool interleaving_;
  std::vector<kernels::Moments> total_;
  std::vector<double> mean_, m2_;
};

}  // namespace

const LegacyNames& BatchNormalization::legacy_names() {
  static const LegacyNames names{{{"Gamma", "Scaling"}, {"Beta", "Biases"}}, {"L2Factors"}, {{"Interleaving", false}}};
  return names;
}

std::unique_ptr<PopulationAccumulator> BatchNormalization::population_accumulator() const {
  if (config_.statistics != Statistics::Population || config_.momentum == 1.0) return nullptr;
  return std::make_unique<ChannelMomentsAccumulator>(config_.interleaving);
}

nlohmann::json BatchNormalization::options() const {
  const auto& c = config_;
  return {
      {"Epsilon", c.epsilon},
      {"Momentum", c.momentum},
      {"Interleaving", c.interleaving},
      {"VarianceEstimator", c.variance_estimator == VarianceEstimator::Biased ? "Biased" : "Unbiased"},
      {"MovingAverage", c.moving_average == MovingAverage::Exponential ? "Exponential" : "Cumulative"},
      {"Statistics", c.statistics == Statistics::Moving ? "Moving" : "Population"},
      {"ScalingInitializer", c.scaling_initializer.name()},
      {"BiasesInitializer", c.biases_initializer.name()},
      {"L2Factors", {{"Scaling", c.l2_scaling}, {"Biases", c.l2_biases}}},
  };
}

bool BatchNormalization::has_user_functions() const {
  return config_.scaling_initializer.kind() == Initializer::Kind::Function ||
         config_.biases_initializer.kind() == Initializer::Kind::Function;
}

}  // namespace netkit
