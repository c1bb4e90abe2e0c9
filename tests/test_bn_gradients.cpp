// Finite-difference checks of BatchNormalization's gradients (docs/batch_norm.md) through
// LayerNet::gradients. The loss is L = sum w y for a fixed random w, so dL/dy = w. Every check
// runs over per-example ranks 1-4, channel first and last, and batch sizes 1, 2 and 5.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <vector>

#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;

namespace {

constexpr int64_t kChannels = 3;
constexpr double kEpsilon = 0.001;  // the layer's default
// Finite-difference step relative to the RMS of the perturbed values (see numeric_gradient).
constexpr double kRelativeStep = 1e-2;
// Element i passes when |analytic - numeric| <= kRel |numeric| + kAbs * scale, where scale is
// the natural size of that gradient (e.g. max |w| * max |gamma| / sigma for dL/dx). The float
// rounding of L divided by h stays well below kAbs; a wrong formula is off by O(scale).
constexpr double kRel = 1e-3, kAbs = 1e-3;

struct Config {
  int rank;
  bool interleaving;
  int64_t batch;
  Mode mode;
};

std::ostream& operator<<(std::ostream& os, const Config& c) {
  return os << mode_name(c.mode) << " mode, per-example rank " << c.rank
            << (c.interleaving ? ", channel last" : ", channel first") << ", batch " << c.batch;
}

// Per-example shape: kChannels channels first or last; spatial dims differ from each other and
// from kChannels, so a layout mix-up changes which values share a channel.
std::vector<int64_t> example_dims(int rank, bool interleaving) {
  const int64_t spatial[] = {4, 2, 5};
  std::vector<int64_t> dims(spatial, spatial + rank - 1);
  dims.insert(interleaving ? dims.end() : dims.begin(), kChannels);
  return dims;
}

// A Test-mode or Train-mode batch-norm problem with non-trivial arrays, input and w.
struct Problem {
  Config config;
  LayerNet net;
  Array x, w;
  std::vector<int64_t> channel;  // channel of each element of x
  // Statistics the mode normalises with, in double: mean and 1 / sqrt(var + eps) per channel.
  std::vector<double> center, inv_std;

  double xhat(int64_t i) const {
    const auto c = static_cast<size_t>(channel[static_cast<size_t>(i)]);
    return (x[i] - center[c]) * inv_std[c];
  }
  float gamma(int64_t i) const { return net.array("Scaling")[channel[static_cast<size_t>(i)]]; }
  Gradients gradients(Mode mode) const { return net.gradients(x, w, mode); }
  Gradients gradients() const { return gradients(config.mode); }
};

std::vector<int64_t> channels_of(const std::vector<int64_t>& batch_dims, bool interleaving) {
  int64_t n = 1, inner = 1;
  for (int64_t d : batch_dims) n *= d;
  for (size_t k = 2; k < batch_dims.size(); ++k) inner *= batch_dims[k];
  std::vector<int64_t> ch(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ch[static_cast<size_t>(i)] = interleaving ? i % kChannels : (i / inner) % kChannels;
  return ch;
}

Problem make_problem(const Config& config, uint64_t seed = 7) {
  Random random(seed, "gradients");
  Problem p{config,
            BatchNormalizationLayer(
                {{"Input", example_dims(config.rank, config.interleaving)}, {"Interleaving", config.interleaving}}),
            {},
            {},
            {},
            {},
            {}};
  p.net.initialize(seed);
  Array gamma = random_uniform({kChannels}, random, 0.5, 1.5);
  for (int64_t c = 1; c < kChannels; c += 3) gamma[c] = -gamma[c];  // a negative Scaling too
  p.net.set_array("Scaling", gamma);
  p.net.set_array("Biases", random_uniform({kChannels}, random, -1, 1));
  p.net.set_array("MovingMean", random_uniform({kChannels}, random, -1, 1));
  p.net.set_array("MovingVariance", random_uniform({kChannels}, random, 0.5, 2));

  const std::vector<int64_t> dims = Shape(example_dims(config.rank, config.interleaving)).with_batch(config.batch);
  p.channel = channels_of(dims, config.interleaving);
  p.x = Array::zeros(dims);
  p.w = random_normal(dims, random);
  // Each channel gets a shuffled, jittered grid around its own mean and spread: random-looking,
  // but no two values of a channel nearly coincide, where Train mode's curvature would make
  // finite differences inaccurate (with M = 2 the output is nearly flat in x).
  for (int64_t c = 0; c < kChannels; ++c) {
    std::vector<int64_t> members;
    for (int64_t i = 0; i < p.x.size(); ++i)
      if (p.channel[static_cast<size_t>(i)] == c) members.push_back(i);
    const double mean = random.uniform(-1, 1), spread = random.uniform(0.5, 2);
    const auto m = static_cast<int64_t>(members.size());
    for (int64_t k = m - 1; k > 0; --k)
      std::swap(members[static_cast<size_t>(k)], members[random.below(static_cast<uint64_t>(k + 1))]);
    for (int64_t k = 0; k < m; ++k)
      p.x[members[static_cast<size_t>(k)]] =
          static_cast<float>(mean + spread * (-1.5 + 3 * (static_cast<double>(k) + random.uniform(0.2, 0.8)) / m));
  }

  // Normalisation statistics in double, for tolerances and identities.
  p.center.assign(kChannels, 0.0);
  p.inv_std.assign(kChannels, 0.0);
  for (int64_t c = 0; c < kChannels; ++c) {
    double mean = p.net.array("MovingMean")[c], var = p.net.array("MovingVariance")[c];
    if (config.mode == Mode::Train) {
      double s = 0, q = 0, m = 0;
      for (int64_t i = 0; i < p.x.size(); ++i)
        if (p.channel[static_cast<size_t>(i)] == c) s += p.x[i], m += 1;
      mean = s / m;
      for (int64_t i = 0; i < p.x.size(); ++i)
        if (p.channel[static_cast<size_t>(i)] == c) q += (p.x[i] - mean) * (p.x[i] - mean);
      var = q / m;
    }
    p.center[static_cast<size_t>(c)] = mean;
    p.inv_std[static_cast<size_t>(c)] = 1.0 / std::sqrt(var + kEpsilon);
  }
  return p;
}

// Central-difference gradients of L with respect to the input and to Scaling and Biases.
struct NumericGradients {
  std::vector<double> input, scaling, biases;
};

NumericGradients numeric_gradients(const Problem& p) {
  const Mode mode = p.config.mode;
  NumericGradients n;
  n.input = numeric_input_gradient(p.net, p.x, p.w, mode, kRelativeStep);
  n.scaling = numeric_array_gradient(p.net, "Scaling", p.x, p.w, mode, kRelativeStep);
  n.biases = numeric_array_gradient(p.net, "Biases", p.x, p.w, mode, kRelativeStep);
  return n;
}

// Natural sizes of the three gradients, which set the absolute tolerances.
struct Scales {
  double input = 0, scaling = 0, biases = 0;
};

Scales scales_of(const Problem& p) {
  Scales s;
  std::vector<double> sum_w(kChannels, 0.0), sum_w_xhat(kChannels, 0.0);
  double max_w = 0;
  for (int64_t i = 0; i < p.x.size(); ++i) {
    const auto c = static_cast<size_t>(p.channel[static_cast<size_t>(i)]);
    max_w = std::max(max_w, std::abs(static_cast<double>(p.w[i])));
    sum_w[c] += std::abs(p.w[i]);
    sum_w_xhat[c] += std::abs(p.w[i] * p.xhat(i));
  }
  for (size_t c = 0; c < kChannels; ++c) {
    s.input = std::max(s.input, max_w * std::abs(p.net.array("Scaling")[static_cast<int64_t>(c)]) * p.inv_std[c]);
    s.scaling = std::max(s.scaling, sum_w_xhat[c]);
    s.biases = std::max(s.biases, sum_w[c]);
  }
  return s;
}

Tolerance tolerance(double scale) { return {kRel, kAbs * scale}; }

// Every configuration of the brief: ranks 1-4, both channel positions, batch 1, 2, 5.
Config generated_config(Mode mode) {
  const int rank = GENERATE(1, 2, 3, 4);
  const bool interleaving = GENERATE(false, true);
  const int64_t batch = GENERATE(as<int64_t>{}, 1, 2, 5);
  return {rank, interleaving, batch, mode};
}

void check_against_finite_differences(const Config& config) {
  INFO(config);
  const Problem p = make_problem(config);
  const Gradients g = p.gradients();
  const NumericGradients n = numeric_gradients(p);
  const Scales s = scales_of(p);
  NETKIT_CHECK_REPORT(compare_gradient("dL/dInput", g.input(), n.input, tolerance(s.input)).report);
  NETKIT_CHECK_REPORT(compare_gradient("dL/dScaling", g.arrays.at("Scaling"), n.scaling, tolerance(s.scaling)).report);
  NETKIT_CHECK_REPORT(compare_gradient("dL/dBiases", g.arrays.at("Biases"), n.biases, tolerance(s.biases)).report);
}

// Values of a channel in the batch (examples times spatial positions).
int64_t per_channel(const Config& c) {
  int64_t m = c.batch;
  for (int64_t d : example_dims(c.rank, c.interleaving)) m *= d;
  return m / kChannels;
}

}  // namespace

TEST_CASE("BN gradients: Test mode matches central differences", "[bn]") {
  check_against_finite_differences(generated_config(Mode::Test));
}

TEST_CASE("BN gradients: Train mode matches central differences", "[bn]") {
  check_against_finite_differences(generated_config(Mode::Train));
}

TEST_CASE("BN gradients: Train mode with one value per channel gives the Biases and zero input gradient", "[bn]") {
  // Batch 1 of a vector: M = 1, so x - mu = 0 and y = Biases whatever x and Scaling are.
  const bool interleaving = GENERATE(false, true);
  const Problem p = make_problem({1, interleaving, 1, Mode::Train});
  INFO("channel " << (interleaving ? "last" : "first"));
  const Array y = p.net.evaluate_batch(p.x, Mode::Train);
  CHECK(y.values() == p.net.array("Biases").values());
  const Gradients g = p.gradients();
  CHECK(g.input().values() == std::vector<float>(kChannels, 0.0f));
  CHECK(g.arrays.at("Scaling").values() == std::vector<float>(kChannels, 0.0f));
  CHECK(g.arrays.at("Biases").values() == p.w.values());
  // The finite differences agree: L does not move at all.
  CHECK(numeric_gradients(p).input == std::vector<double>(kChannels, 0.0));
}

TEST_CASE("BN gradients: Train-mode input gradient sums to zero over each channel", "[bn]") {
  const Config config = generated_config(Mode::Train);
  INFO(config);
  const Problem p = make_problem(config);
  const Array dx = p.gradients().input();
  // Rounding allowance: each dx_i is formed from terms of size |gamma| r |w_i| (1 + |xhat_i|).
  std::vector<double> sum(kChannels, 0.0), allowed(kChannels, 0.0);
  for (int64_t i = 0; i < dx.size(); ++i) {
    const auto c = static_cast<size_t>(p.channel[static_cast<size_t>(i)]);
    sum[c] += dx[i];
    allowed[c] += 1e-5 * std::abs(p.gamma(i)) * p.inv_std[c] * std::abs(p.w[i]) * (1 + std::abs(p.xhat(i)));
  }
  NETKIT_CHECK_REPORT(
      mismatch_report("per-channel sum of dL/dInput", sum, std::vector<double>(kChannels, 0.0), allowed));
}

TEST_CASE("BN gradients: Train mode with a constant dL/dy gives zero input gradient", "[bn]") {
  const Config config = generated_config(Mode::Train);
  const float constant = GENERATE(0.7f, -1.3f);
  INFO(config << ", dL/dy = " << constant);
  Problem p = make_problem(config);
  p.w = Array::filled(p.x.dims(), constant);
  const Array dx = p.gradients().input();
  // Zero up to rounding: far below the Test-mode value |gamma| r |w| a wrong formula would give.
  std::vector<double> allowed(static_cast<size_t>(dx.size()));
  for (int64_t i = 0; i < dx.size(); ++i) {
    const auto c = static_cast<size_t>(p.channel[static_cast<size_t>(i)]);
    allowed[static_cast<size_t>(i)] = 1e-5 * std::abs(p.gamma(i) * p.inv_std[c] * constant) * (1 + std::abs(p.xhat(i)));
  }
  NETKIT_CHECK_REPORT(
      mismatch_report("dL/dInput", to_doubles(dx), std::vector<double>(allowed.size(), 0.0), allowed, dx.dims()));
}

TEST_CASE("BN gradients: the finite-difference comparison rejects wrong gradients", "[bn]") {
  // The tolerances must be tight enough that plausible bugs fail, by a wide margin.
  const Config config =
      GENERATE(Config{1, false, 5, Mode::Train}, Config{2, false, 2, Mode::Train}, Config{3, true, 5, Mode::Train},
               Config{4, false, 1, Mode::Train}, Config{2, true, 1, Mode::Train});
  INFO(config << " (M = " << per_channel(config) << ")");
  const Problem p = make_problem(config);
  const NumericGradients n = numeric_gradients(p);
  const Scales s = scales_of(p);
  const Gradients right = p.gradients();
  REQUIRE(compare_gradient("dL/dInput", right.input(), n.input, tolerance(s.input)).ok());

  SECTION("batch statistics treated as constants") {
    // The classic bug: the Test-mode formula with the batch's own mean and variance. The
    // outputs agree with Train mode; the input gradient misses the terms through mu and s2.
    LayerNet frozen = p.net;
    std::vector<float> mean(kChannels), var(kChannels);
    for (size_t c = 0; c < kChannels; ++c) {
      mean[c] = static_cast<float>(p.center[c]);
      var[c] = static_cast<float>(1 / (p.inv_std[c] * p.inv_std[c]) - kEpsilon);
    }
    frozen.set_array("MovingMean", Array::from({kChannels}, mean));
    frozen.set_array("MovingVariance", Array::from({kChannels}, var));
    NETKIT_CHECK_REPORT(mismatch_report("Test mode with batch statistics vs Train mode",
                                        frozen.evaluate_batch(p.x, Mode::Test),
                                        to_doubles(p.net.evaluate_batch(p.x, Mode::Train)), Tolerance{1e-4, 1e-4}));
    const Array wrong = frozen.gradients(p.x, p.w, Mode::Test).input();
    CHECK(compare_gradient("dL/dInput", wrong, n.input, tolerance(s.input)).worst_ratio > 10);
  }
  SECTION("the Test-mode gradients with the moving statistics") {
    const Gradients wrong = p.gradients(Mode::Test);
    CHECK(compare_gradient("dL/dInput", wrong.input(), n.input, tolerance(s.input)).worst_ratio > 10);
    if (per_channel(config) > 1)  // with M = 1 the true dL/dScaling is 0: any error shows
      CHECK(compare_gradient("dL/dScaling", wrong.arrays.at("Scaling"), n.scaling, tolerance(s.scaling)).worst_ratio >
            10);
  }
  SECTION("a 1% error") {
    Gradients wrong = right;
    for (auto* a : {&wrong.inputs.at(0), &wrong.arrays.at("Scaling"), &wrong.arrays.at("Biases")})
      for (int64_t i = 0; i < a->size(); ++i) (*a)[i] *= 1.01f;
    CHECK_FALSE(compare_gradient("dL/dBiases", wrong.arrays.at("Biases"), n.biases, tolerance(s.biases)).ok());
    if (per_channel(config) > 2) {  // with M <= 2, dL/dx and dL/dScaling are tiny (0 for M = 1)
      CHECK_FALSE(compare_gradient("dL/dInput", wrong.input(), n.input, tolerance(s.input)).ok());
      CHECK_FALSE(compare_gradient("dL/dScaling", wrong.arrays.at("Scaling"), n.scaling, tolerance(s.scaling)).ok());
    }
  }
}

TEST_CASE("BN gradients: the Train-mode gradient fails the Test-mode check", "[bn]") {
  const Config config = GENERATE(Config{1, false, 5, Mode::Test}, Config{3, true, 2, Mode::Test});
  INFO(config);
  const Problem p = make_problem(config);
  const NumericGradients n = numeric_gradients(p);
  const Scales s = scales_of(p);
  CHECK(compare_gradient("dL/dInput", p.gradients(Mode::Train).input(), n.input, tolerance(s.input)).worst_ratio > 10);
}
