// Batch-norm kernels: results must not depend on the thread count or the instruction set the
// loops were compiled for (bit for bit), must agree
// with the double-precision reference (kernels::reference) to float rounding, including inputs
// whose mean is large against their spread, and must honour the `accumulate` flag.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <netkit/core/parallel.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/layers/kernels/batch_norm.h>
#include <netkit/layers/kernels/batch_norm_loops.h>
#include <netkit/layers/kernels/batch_norm_reference.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using kernels::BnLayout;

namespace {

// Puts +2^40 and -2^40 on the first and last value of every channel of g. They cancel, but
// in double the ordinary values summed between them lose their bits below 2^-12, which float
// results of size 1 to 100 still show: the order of the double reductions becomes visible.
// (With ordinary data, a reduction order that followed the thread count would only change
// double sums far below float resolution; with 2^60 everything would round to the same 0.)
void plant_cancelling_pairs(float* g, size_t n, int64_t channels, const std::function<int64_t(size_t)>& channel_of) {
  std::vector<int64_t> first(static_cast<size_t>(channels), -1), last(static_cast<size_t>(channels), -1);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<size_t>(channel_of(i));
    if (first[c] < 0) first[c] = static_cast<int64_t>(i);
    last[c] = static_cast<int64_t>(i);
  }
  for (size_t c = 0; c < first.size(); ++c)
    if (first[c] >= 0 && first[c] != last[c]) g[first[c]] = 0x1p40f, g[last[c]] = -0x1p40f;
}

// ---- layer level: thread-count independence -------------------------------------------------

struct LayerCase {
  const char* why;
  std::vector<int64_t> example;
  bool interleaving;
  int64_t batch;
};

std::ostream& operator<<(std::ostream& os, const LayerCase& c) {
  return os << "per-example " << dims_to_string(c.example) << (c.interleaving ? " channel last" : " channel first")
            << ", batch " << c.batch << " (" << c.why << ")";
}

// Everything the layer computes for one input, by name.
using Results = std::vector<std::pair<std::string, Array>>;

Results layer_results(const LayerCase& c) {
  Random random(11, "threads");
  LayerNet net = BatchNormalizationLayer(
      {{"Input", c.example}, {"Interleaving", c.interleaving}, {"VarianceEstimator", "Unbiased"}});
  net.initialize(3);
  const int64_t channels = c.interleaving ? c.example.back() : c.example.front();
  net.set_array("Scaling", random_uniform({channels}, random, -1.5, 1.5));
  net.set_array("Biases", random_uniform({channels}, random, -1, 1));
  net.set_array("MovingMean", random_uniform({channels}, random, -1, 1));
  net.set_array("MovingVariance", random_uniform({channels}, random, 0.5, 2));
  const std::vector<int64_t> dims = Shape(c.example).with_batch(c.batch);
  const Array x = random_normal(dims, random, 0.5, 2), x2 = random_normal(dims, random, -1, 0.5);
  Array w = random_normal(dims, random);  // dL/dy, with cancelling pairs so reduction order shows
  int64_t inner = 1;
  for (size_t k = 1; k < c.example.size(); ++k) inner *= c.example[k];
  plant_cancelling_pairs(w.data(), static_cast<size_t>(w.size()), channels, [&](size_t i) {
    return c.interleaving ? static_cast<int64_t>(i) % channels : (static_cast<int64_t>(i) / inner) % channels;
  });

  Results r;
  for (Mode mode : {Mode::Test, Mode::Train}) {
    const std::string m = std::string(mode_name(mode)) + " mode ";
    r.emplace_back(m + "output", net.evaluate_batch(x, mode));
    Gradients g = net.gradients(x, w, mode);
    r.emplace_back(m + "dL/dInput", std::move(g.input()));
    r.emplace_back(m + "dL/dScaling", std::move(g.arrays.at("Scaling")));
    r.emplace_back(m + "dL/dBiases", std::move(g.arrays.at("Biases")));
  }
  for (const Array* step : {&x, &x2}) net.moving_update_step(*step);
  r.emplace_back("MovingMean after two steps", net.array("MovingMean"));
  r.emplace_back("MovingVariance after two steps", net.array("MovingVariance"));
  return r;
}

// ---- kernel level: a batch viewed as [outer, channels, inner] --------------------------------

struct KernelCase {
  BnLayout l;
  double eps;
  std::vector<float> x, g, gamma, beta, m, v;
  int64_t channel(size_t i) const { return (static_cast<int64_t>(i) / l.inner) % l.channels; }
};

// (A function, not operator<<: BnLayout lives in netkit::kernels, out of reach of lookup here.)
std::string describe(const BnLayout& l) {
  return "layout outer " + std::to_string(l.outer) + ", channels " + std::to_string(l.channels) + ", inner " +
         std::to_string(l.inner);
}

// Channel c has mean offset[c] and spread scale[c]; by default both vary by channel.
KernelCase kernel_case(BnLayout l, uint64_t seed, double mean = NAN, double spread = NAN, double eps = 1e-3) {
  Random random(seed, "kernel");
  KernelCase k{l, eps, {}, {}, {}, {}, {}, {}};
  const auto c = static_cast<size_t>(l.channels);
  std::vector<double> offset(c), scale(c);
  for (size_t ch = 0; ch < c; ++ch) {
    offset[ch] = std::isnan(mean) ? random.uniform(-3, 3) : mean;
    scale[ch] = std::isnan(spread) ? random.uniform(0.5, 2) : spread;
    k.gamma.push_back(static_cast<float>(random.uniform(0.5, 1.5) * (ch % 3 == 1 ? -1 : 1)));
    k.beta.push_back(static_cast<float>(random.uniform(-1, 1)));
    k.m.push_back(static_cast<float>(std::isnan(mean) ? random.uniform(-1, 1) : mean));
    k.v.push_back(static_cast<float>(random.uniform(0.5, 2)));
  }
  const auto n = static_cast<size_t>(l.outer * l.channels * l.inner);
  for (size_t i = 0; i < n; ++i) {
    const auto ch = static_cast<size_t>(k.channel(i));
    k.x.push_back(static_cast<float>(offset[ch] + scale[ch] * random.normal()));
    k.g.push_back(static_cast<float>(random.normal()));
  }
  return k;
}

struct KernelResult {
  std::vector<float> y, dx, dgamma, dbeta, mean, inv_std;
  std::vector<double> var;
};

KernelResult run_kernels(const KernelCase& k, bool train) {
  const auto c = static_cast<size_t>(k.l.channels);
  KernelResult r{std::vector<float>(k.x.size()), std::vector<float>(k.x.size()), std::vector<float>(c, 0.0f),
                 std::vector<float>(c, 0.0f),    std::vector<float>(c),          std::vector<float>(c),
                 std::vector<double>(c)};
  if (train) {
    kernels::batch_norm_train_forward(k.x.data(), k.l, k.gamma.data(), k.beta.data(), k.eps, r.y.data(), r.mean.data(),
                                      r.inv_std.data(), r.var.data());
    kernels::batch_norm_train_backward(k.x.data(), k.g.data(), k.l, k.gamma.data(), r.mean.data(), r.inv_std.data(),
                                       r.dx.data(), false, r.dgamma.data(), r.dbeta.data());
  } else {
    kernels::batch_norm_test_forward(k.x.data(), k.l, k.gamma.data(), k.beta.data(), k.m.data(), k.v.data(), k.eps,
                                     r.y.data());
    kernels::batch_norm_test_backward(k.x.data(), k.g.data(), k.l, k.gamma.data(), k.m.data(), k.v.data(), k.eps,
                                      r.dx.data(), false, r.dgamma.data(), r.dbeta.data());
  }
  return r;
}

// Compares the fast kernels with the double-precision reference. The allowances are forward
// error bounds of float evaluation: a few units of rounding (u = 2^-24) of each intermediate
// quantity, per element, so large-offset inputs get the slack float arithmetic needs and no
// more. y must be as accurate as float allows: its bound has no |gamma r| |mu| term, so the
// rounding of the batch mean to float must be compensated (it is large against a small spread).
// The backward receives that float mean, so its bounds include the mean's rounding.
void check_against_reference(const KernelCase& k, bool train) {
  constexpr double u = 0x1p-24, K = 8;
  const KernelResult f = run_kernels(k, train);
  const auto ref = kernels::reference::batch_norm(k.x, k.l, k.gamma, k.beta, k.m, k.v, k.eps, train, k.g);
  const auto c = static_cast<size_t>(k.l.channels);
  const double count = static_cast<double>(k.l.per_channel());

  // Per channel: center, r, sum |g|, sum |g| |x - center|, and r^2 mean |g| |x - center| (>= |k|).
  std::vector<double> center(c), r(c), sum_abs_g(c, 0.0), sum_abs_gx(c, 0.0), q(c, 0.0);
  for (size_t ch = 0; ch < c; ++ch) {
    center[ch] = ref.mean[ch];
    r[ch] = 1 / std::sqrt(ref.var_biased[ch] + k.eps);
  }
  for (size_t i = 0; i < k.x.size(); ++i) {
    const auto ch = static_cast<size_t>(k.channel(i));
    sum_abs_g[ch] += std::abs(k.g[i]);
    sum_abs_gx[ch] += std::abs(k.g[i]) * std::abs(k.x[i] - center[ch]);
  }
  for (size_t ch = 0; ch < c; ++ch) q[ch] = train ? r[ch] * r[ch] * sum_abs_gx[ch] / count : 0.0;

  std::vector<double> allow_y(k.x.size()), allow_dx(k.x.size()), allow_dgamma(c), allow_dbeta(c);
  for (size_t i = 0; i < k.x.size(); ++i) {
    const auto ch = static_cast<size_t>(k.channel(i));
    const double a = std::abs(k.gamma[ch]) * r[ch], dev = std::abs(k.x[i] - center[ch]);
    const double mean_g = train ? sum_abs_g[ch] / count : 0.0;
    allow_y[i] = K * u * (a * dev + std::abs(ref.y[i]) + std::abs(k.beta[ch]));
    allow_dx[i] = K * u *
                  (a * (std::abs(k.g[i]) + mean_g + (q[ch] + r[ch] * r[ch] * mean_g) * (dev + std::abs(center[ch]))) +
                   std::abs(ref.dx[i]));
  }
  for (size_t ch = 0; ch < c; ++ch) {
    allow_dgamma[ch] =
        K * u * (r[ch] * (sum_abs_gx[ch] + sum_abs_g[ch] * std::abs(center[ch])) + std::abs(ref.dgamma[ch]));
    allow_dbeta[ch] = K * u * sum_abs_g[ch];
  }

  auto d = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
  const std::vector<int64_t> dims{k.l.outer, k.l.channels, k.l.inner};
  NETKIT_CHECK_REPORT(mismatch_report("y", d(f.y), ref.y, allow_y, dims));
  NETKIT_CHECK_REPORT(mismatch_report("dx", d(f.dx), ref.dx, allow_dx, dims));
  NETKIT_CHECK_REPORT(mismatch_report("dgamma", d(f.dgamma), ref.dgamma, allow_dgamma));
  NETKIT_CHECK_REPORT(mismatch_report("dbeta", d(f.dbeta), ref.dbeta, allow_dbeta));
  if (!train) return;
  // The mean is rounded to float once; the variance is double and must be accurate to far
  // below float precision (E[x^2] - E[x]^2 is not, once the mean dominates).
  NETKIT_CHECK_REPORT(mismatch_report("batch mean", d(f.mean), ref.mean, Tolerance{2 * u, 1e-300}));
  NETKIT_CHECK_REPORT(mismatch_report("biased batch variance", f.var, ref.var_biased, Tolerance{1e-10, 1e-300}));
  NETKIT_CHECK_REPORT(mismatch_report("inverse standard deviation", d(f.inv_std), r, Tolerance{2 * u, 0}));
}

// Layouts that exercise every kernel path (inner >= 16: one channel at a time; shorter: groups
// of channels, or fixed row chunks when there are more than a few thousand rows; vectors of
// >= 128 channels and <= 1024 rows: blocks of columns), their boundaries, one channel and one
// value per channel.
std::vector<BnLayout> layout_grid() {
  std::vector<BnLayout> grid;
  for (int64_t outer : {1, 2, 37})
    for (int64_t channels : {1, 3, 70})
      for (int64_t inner : {1, 3, 15, 16, 17, 64}) grid.push_back({outer, channels, inner});
  for (BnLayout l : {BnLayout{3000, 3, 3}, BnLayout{300, 70, 1}, BnLayout{5000, 3, 1}, BnLayout{6000, 3, 3},
                     BnLayout{4097, 70, 1}, BnLayout{4097, 2, 15}})
    grid.push_back(l);  // many rows
  for (BnLayout l : {BnLayout{600, 300, 1}, BnLayout{1024, 128, 1}, BnLayout{1025, 128, 1}, BnLayout{2, 127, 1},
                     BnLayout{2, 128, 1}, BnLayout{250, 131, 1}})
    grid.push_back(l);  // column blocks (4 with a short last one; one block) and their boundaries;
                        // (250, 131): one wide block, a tail of columns and of rows, a short last chunk
  return grid;
}

}  // namespace

TEST_CASE("BN threads: layer results are bit-identical for 1 or 2 or 3 threads", "[bn]") {
  // Both kernel paths with work for several threads: channel runs >= 16 (split by channel) and
  // short runs (channel groups for up to a few thousand rows, fixed row chunks beyond).
  const LayerCase c = GENERATE(LayerCase{"long runs, 16 channels", {16, 28, 28}, false, 8},
                               LayerCase{"runs of 35, 8 channels", {8, 5, 7}, false, 32},
                               LayerCase{"vector of 1024 channels", {1024}, false, 256},
                               LayerCase{"channel last, 3136 rows", {7, 7, 32}, true, 64},
                               LayerCase{"channel last, 6272 rows", {7, 7, 32}, true, 128},
                               LayerCase{"runs of 3, 5 channels, 5000 rows", {5, 3}, false, 5000},
                               LayerCase{"runs of 3, 70 channels", {70, 3}, false, 100});
  INFO(c);
  Results one;
  {
    ThreadCount t(1);
    one = layer_results(c);
  }
  for (int threads : {2, 3}) {
    INFO(threads << " threads against 1");
    Results many;
    {
      ThreadCount t(threads);
      REQUIRE(num_threads() == threads);
      many = layer_results(c);
    }
    REQUIRE(many.size() == one.size());
    for (size_t i = 0; i < one.size(); ++i) {
      REQUIRE(one[i].second.all_finite());
      NETKIT_CHECK_REPORT(bit_difference_report(one[i].first, one[i].second, many[i].second));
    }
  }
}

TEST_CASE("BN threads: kernel results including the double variance are bit-identical for 1 or 2 or 3 threads",
          "[bn]") {
  // The layer cases above at kernel level, where the double variance shows any change in the
  // order of the statistics' reductions.
  const BnLayout l = GENERATE(BnLayout{8, 16, 784}, BnLayout{32, 8, 35}, BnLayout{256, 1024, 1}, BnLayout{600, 300, 1},
                              BnLayout{3136, 32, 1}, BnLayout{6272, 32, 1}, BnLayout{5000, 5, 3}, BnLayout{100, 70, 3});
  KernelCase k = kernel_case(l, 21);
  plant_cancelling_pairs(k.g.data(), k.g.size(), l.channels, [&](size_t i) { return k.channel(i); });
  for (bool train : {false, true}) {
    KernelResult one;
    {
      ThreadCount t(1);
      one = run_kernels(k, train);
    }
    for (int threads : {2, 3}) {
      INFO(describe(l) << ", " << (train ? "Train" : "Test") << " mode, " << threads << " threads against 1");
      KernelResult many;
      {
        ThreadCount t(threads);
        many = run_kernels(k, train);
      }
      NETKIT_CHECK_REPORT(bit_difference_report("y", many.y, one.y));
      NETKIT_CHECK_REPORT(bit_difference_report("dx", many.dx, one.dx));
      NETKIT_CHECK_REPORT(bit_difference_report("dgamma", many.dgamma, one.dgamma));
      NETKIT_CHECK_REPORT(bit_difference_report("dbeta", many.dbeta, one.dbeta));
      if (!train) continue;
      NETKIT_CHECK_REPORT(bit_difference_report("mean", many.mean, one.mean));
      NETKIT_CHECK_REPORT(bit_difference_report("inv_std", many.inv_std, one.inv_std));
      NETKIT_CHECK_REPORT(bit_difference_report("var", many.var, one.var));
    }
  }
}

TEST_CASE("BN threads: every instruction set gives the same bits", "[bn]") {
  // The loops are compiled for baseline x86-64, AVX2 and AVX-512 with the CPU's best one chosen
  // at start; the others run here. Vector widths differ (4 or 8 doubles), so vector loops and
  // their scalar tails split each row differently: the bits agree only if every lane and
  // column keeps its order of operations. Cancelling pairs in g make the order visible.
  using kernels::batch_norm_loops::InstructionSet;
  const InstructionSet before = kernels::batch_norm_loops::instruction_set();
  struct Restore {
    InstructionSet set;
    ~Restore() { kernels::batch_norm_loops::use_instruction_set(set); }
  } restore{before};
  std::vector<BnLayout> layouts = layout_grid();
  for (BnLayout l : {BnLayout{8, 16, 784}, BnLayout{256, 1024, 1}, BnLayout{64, 32, 196}, BnLayout{1000, 4, 1}})
    layouts.push_back(l);
  int compared = 0;
  uint64_t seed = 100;
  for (const BnLayout& l : layouts) {
    KernelCase k = kernel_case(l, ++seed);
    plant_cancelling_pairs(k.g.data(), k.g.size(), l.channels, [&](size_t i) { return k.channel(i); });
    for (bool train : {false, true}) {
      REQUIRE(kernels::batch_norm_loops::use_instruction_set(InstructionSet::baseline));
      const KernelResult base = run_kernels(k, train);
      for (InstructionSet set : {InstructionSet::avx2, InstructionSet::avx512}) {
        if (!kernels::batch_norm_loops::use_instruction_set(set)) continue;
        INFO(describe(l) << ", " << (train ? "Train" : "Test") << " mode, " << kernels::batch_norm_loops::name(set)
                         << " against baseline");
        const KernelResult r = run_kernels(k, train);
        ++compared;
        NETKIT_CHECK_REPORT(bit_difference_report("y", r.y, base.y));
        NETKIT_CHECK_REPORT(bit_difference_report("dx", r.dx, base.dx));
        NETKIT_CHECK_REPORT(bit_difference_report("dgamma", r.dgamma, base.dgamma));
        NETKIT_CHECK_REPORT(bit_difference_report("dbeta", r.dbeta, base.dbeta));
        NETKIT_CHECK_REPORT(bit_difference_report("mean", r.mean, base.mean));
        NETKIT_CHECK_REPORT(bit_difference_report("inv_std", r.inv_std, base.inv_std));
        NETKIT_CHECK_REPORT(bit_difference_report("var", r.var, base.var));
      }
    }
  }
  if (compared == 0) WARN("this build or CPU has only the baseline loops: nothing to compare");
}

TEST_CASE("BN threads: the thread count is restored", "[bn]") {
  const int before = num_threads();
  { ThreadCount t(before == 1 ? 2 : 1); }
  CHECK(num_threads() == before);
}

TEST_CASE("BN threads: fast kernels agree with the double-precision reference", "[bn]") {
  uint64_t seed = 0;
  for (const BnLayout& l : layout_grid()) {
    const KernelCase k = kernel_case(l, ++seed);
    for (bool train : {false, true}) {
      INFO(describe(l) << ", " << (train ? "Train" : "Test") << " mode");
      check_against_reference(k, train);
    }
  }
}

TEST_CASE("BN threads: a large common offset keeps the variance accurate", "[bn]") {
  // Mean 1000, spread 0.01: E[x^2] - E[x]^2 goes negative in float and keeps only about five
  // digits in double (relative error 1e-5 to 1e-4); two passes or Chan's rule lose none.
  // Epsilon 1e-5 keeps the variance dominant.
  const BnLayout l =
      GENERATE(BnLayout{64, 3, 1}, BnLayout{1000, 4, 1}, BnLayout{8, 3, 17}, BnLayout{4, 2, 64}, BnLayout{3000, 3, 3},
               BnLayout{5000, 3, 1}, BnLayout{256, 128, 1}, BnLayout{1025, 128, 1});
  INFO(describe(l));
  const KernelCase k = kernel_case(l, 5, 1000.0, 0.01, 1e-5);
  check_against_reference(k, true);
  check_against_reference(k, false);
  // The normalised values have (almost) unit variance.
  const KernelResult f = run_kernels(k, true);
  for (size_t ch = 0; ch < static_cast<size_t>(l.channels); ++ch) {
    INFO("channel " << ch);
    // A sample variance of values with spread 0.01: within a factor 2 of 1e-4 (a float
    // E[x^2] - E[x]^2 is off by orders of magnitude or negative).
    CHECK(f.var[ch] > 0.5e-4);
    CHECK(f.var[ch] < 2e-4);
    double s = 0, q = 0;
    int64_t n = 0;
    for (size_t i = 0; i < k.x.size(); ++i)
      if (k.channel(i) == static_cast<int64_t>(ch)) {
        const double z = (f.y[i] - k.beta[ch]) / k.gamma[ch];
        s += z, q += z * z, ++n;
      }
    CHECK(s / n == Approx(0).margin(1e-2));
    CHECK(q / n == Approx(f.var[ch] / (f.var[ch] + k.eps)).epsilon(1e-2));
  }
}

TEST_CASE("BN threads: backward kernels overwrite or accumulate dx as asked", "[bn]") {
  const BnLayout l = GENERATE(BnLayout{4, 3, 20}, BnLayout{50, 5, 3}, BnLayout{37, 70, 1}, BnLayout{5000, 2, 1});
  const bool train = GENERATE(false, true);
  INFO(describe(l) << ", " << (train ? "Train" : "Test") << " mode");
  const KernelCase k = kernel_case(l, 9);
  const auto c = static_cast<size_t>(l.channels);
  const KernelResult f = run_kernels(k, true);  // the saved statistics for the Train backward

  // dx as requested, starting from `dx` and from dgamma / dbeta holding `p`.
  auto backward = [&](std::vector<float> dx, bool accumulate, float p) {
    std::vector<float> dgamma(c, p), dbeta(c, p);
    if (train)
      kernels::batch_norm_train_backward(k.x.data(), k.g.data(), l, k.gamma.data(), f.mean.data(), f.inv_std.data(),
                                         dx.data(), accumulate, dgamma.data(), dbeta.data());
    else
      kernels::batch_norm_test_backward(k.x.data(), k.g.data(), l, k.gamma.data(), k.m.data(), k.v.data(), k.eps,
                                        dx.data(), accumulate, dgamma.data(), dbeta.data());
    return std::vector<std::vector<float>>{dx, dgamma, dbeta};
  };
  const auto fresh = backward(std::vector<float>(k.x.size(), 0.0f), false, 0.0f);

  // Overwrite never reads dx: NaN content does not leak through.
  const auto overwritten = backward(std::vector<float>(k.x.size(), NAN), false, 0.0f);
  NETKIT_CHECK_REPORT(bit_difference_report("dx overwritten", overwritten[0], fresh[0]));

  // Accumulate adds to dx: the result is prior + fresh value, rounded once. dgamma and dbeta
  // always accumulate.
  Random random(4, "prior");
  std::vector<float> prior(k.x.size());
  for (float& p : prior) p = static_cast<float>(random.normal());
  const auto accumulated = backward(prior, true, 0.25f);
  std::vector<float> expected_dx(prior.size()), expected_dgamma(c), expected_dbeta(c);
  for (size_t i = 0; i < prior.size(); ++i) expected_dx[i] = prior[i] + fresh[0][i];
  for (size_t ch = 0; ch < c; ++ch) {
    expected_dgamma[ch] = 0.25f + fresh[1][ch];
    expected_dbeta[ch] = 0.25f + fresh[2][ch];
  }
  NETKIT_CHECK_REPORT(bit_difference_report("dx accumulated", accumulated[0], expected_dx));
  NETKIT_CHECK_REPORT(bit_difference_report("dgamma accumulated", accumulated[1], expected_dgamma));
  NETKIT_CHECK_REPORT(bit_difference_report("dbeta accumulated", accumulated[2], expected_dbeta));

  // Null outputs are skipped; the ones given are unchanged by the others' absence.
  std::vector<float> only_dx(k.x.size(), 0.0f), only_dbeta(c, 0.0f);
  if (train) {
    kernels::batch_norm_train_backward(k.x.data(), k.g.data(), l, k.gamma.data(), f.mean.data(), f.inv_std.data(),
                                       only_dx.data(), false, nullptr, nullptr);
    kernels::batch_norm_train_backward(k.x.data(), k.g.data(), l, k.gamma.data(), f.mean.data(), f.inv_std.data(),
                                       nullptr, false, nullptr, only_dbeta.data());
  } else {
    kernels::batch_norm_test_backward(k.x.data(), k.g.data(), l, k.gamma.data(), k.m.data(), k.v.data(), k.eps,
                                      only_dx.data(), false, nullptr, nullptr);
    kernels::batch_norm_test_backward(k.x.data(), k.g.data(), l, k.gamma.data(), k.m.data(), k.v.data(), k.eps, nullptr,
                                      false, nullptr, only_dbeta.data());
  }
  NETKIT_CHECK_REPORT(bit_difference_report("dx alone", only_dx, fresh[0]));
  NETKIT_CHECK_REPORT(bit_difference_report("dbeta alone", only_dbeta, fresh[2]));
}
