// PoolingLayer (layers/pooling.h): hand-computed values, PyTorch golden data (data/golden/pooling,
// written by tools/reference/pooling_golden.py, including windows with tied maxima), the fast
// kernels against the padded double-precision reference, finite-difference gradients,
// properties, shape inference both ways, option and shape errors with their messages, JSON
// round trips and thread-count independence.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/kernels/pooling.h>
#include <netkit/layers/kernels/pooling_reference.h>
#include <netkit/layers/pooling.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using kernels::PoolDims;
using kernels::PoolFunction;

namespace {

constexpr double u = 0x1p-24;  // unit roundoff of float
const float kNaN = std::numeric_limits<float>::quiet_NaN();

LayerNet pooling(nlohmann::json options) { return LayerNet::create("Pooling", options); }

std::vector<double> doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }

std::vector<float> absolute(const std::vector<float>& v) {
  std::vector<float> a(v.size());
  for (size_t i = 0; i < v.size(); ++i) a[i] = std::abs(v[i]);
  return a;
}

// Rounding allowances of the float kernels against exact results, from the reference run on
// absolute values: a mean sums A = kh kw terms and divides (A + 2 roundings of the absolute
// window mean); a gradient element sums at most A shares (Mean) or routed gradients (Max).
struct Allowances {
  std::vector<double> y, dx;
};

Allowances allowances(PoolFunction f, const std::vector<float>& x, const PoolDims& d, const std::vector<float>& g) {
  const double terms = static_cast<double>(d.kernel_h * d.kernel_w) + 2;
  Allowances a;
  const auto abs_x = kernels::reference::pool(PoolFunction::Mean, absolute(x), d, absolute(g));
  const auto routed = kernels::reference::pool(f, x, d, absolute(g));  // |g| routed like g
  a.y = f == PoolFunction::Max ? std::vector<double>(abs_x.y.size(), 0.0) : abs_x.y;
  for (double& e : a.y) e *= terms * u;
  a.dx = routed.dx;
  for (double& e : a.dx) e = e * terms * u + 1e-300;
  return a;
}

struct KernelRun {
  std::vector<float> y, dx;
};

KernelRun run_kernels(PoolFunction f, const std::vector<float>& x, const PoolDims& d, const std::vector<float>& g) {
  KernelRun r{std::vector<float>(g.size()), std::vector<float>(x.size(), kNaN)};
  kernels::pool_forward(f, x.data(), d, r.y.data());
  kernels::pool_backward(f, x.data(), g.data(), d, r.dx.data(), false);
  return r;
}

PoolDims pool_dims(int64_t planes, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                   int64_t pw) {
  PoolDims d{planes, h, w, 1, 1, kh, kw, sh, sw, ph, pw};
  d.out_h = kernels::pool_output_size(h, kh, sh, ph);
  d.out_w = kernels::pool_output_size(w, kw, sw, pw);
  return d;
}

std::vector<float> random_values(int64_t n, Random& random) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& e : v) e = static_cast<float>(random.normal());
  return v;
}

// Distinct values at least 0.1 apart in random order: no window has a near-tie, so the max is
// differentiable at x and finite differences see the routed gradient.
Array spaced_values(std::vector<int64_t> dims, Random& random) {
  Array x = Array::zeros(std::move(dims));
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(0.1 * static_cast<double>(i - x.size() / 2));
  for (int64_t i = x.size() - 1; i > 0; --i)
    std::swap(x[i], x[static_cast<int64_t>(random.below(static_cast<uint64_t>(i + 1)))]);
  return x;
}

}  // namespace

// ---- values ------------------------------------------------------------------------------------

TEST_CASE("Pooling: forward and backward on hand-computed values", "[pooling]") {
  // 1-D, kernel 2, stride 2 (the default): windows [1 3] [2 5] [4 0].
  LayerNet max1 = pooling({{"KernelSize", 2}});
  CHECK(max1.evaluate(Array{{1, 3, 2, 5, 4, 0}}).values() == std::vector<float>{3, 5, 4});
  LayerNet mean1 = pooling({{"KernelSize", 2}, {"Function", "Mean"}});
  CHECK(mean1.evaluate(Array{{1, 3, 2, 5, 4, 0}}).values() == std::vector<float>{2, 3.5f, 2});
  // Mean with padding divides by the whole kernel: windows [pad 1 3] [3 2 5] [5 4 0].
  LayerNet padded = pooling({{"KernelSize", 3}, {"Stride", 2}, {"PaddingSize", 1}, {"Function", "Mean"}});
  CHECK(padded.evaluate(Array{{1, 3, 2, 5, 4, 0}}).values() == std::vector<float>{4 / 3.0f, 10 / 3.0f, 3});
  // Max with padding never picks the padding: [-1 -2] padded by -infinity.
  LayerNet max_pad = pooling({{"KernelSize", 2}, {"Stride", 1}, {"PaddingSize", 1}});
  CHECK(max_pad.evaluate(Array{{-1, -2}}).values() == std::vector<float>{-1, -1, -2});
  // Ties: windows [pad 3 1] [3 1 3] [1 3 pad]; the middle one picks its first 3.
  LayerNet tie = pooling({{"KernelSize", 3}, {"Stride", 1}, {"PaddingSize", 1}});
  const Gradients g = tie.gradients(Array{{{3, 1, 3}}}, Array{{{1, 10, 100}}});
  CHECK(g.input().values() == std::vector<float>{11, 0, 100});
  // 2-D, 2x2 windows of a 2x4 plane, two channels.
  LayerNet max2 = pooling({{"KernelSize", 2}});
  const Array x{{{1, 5, 2, 0}, {3, 4, 8, 8}}, {{-1, -1, 0, 0}, {-1, -1, 0, 1}}};
  CHECK(max2.evaluate(x).values() == std::vector<float>{5, 8, -1, 1});
  CHECK(max2.gradients(Array{{{{1, 5, 2, 0}, {3, 4, 8, 8}}}}, Array{{{{1, 2}}}}).input().values() ==
        std::vector<float>{0, 1, 0, 0, 0, 0, 2, 0});  // the first 8 of the tied pair
  LayerNet mean2 = pooling({{"KernelSize", 2}, {"Function", "Mean"}});
  CHECK(mean2.evaluate(x).values() == std::vector<float>{3.25f, 4.5f, -1, 0.25f});
  CHECK(mean2.gradients(Array{{{{1, 5, 2, 0}, {3, 4, 8, 8}}}}, Array{{{{4, -8}}}}).input().values() ==
        std::vector<float>{1, 1, -2, -2, 1, 1, -2, -2});
  // Train mode is the same.
  CHECK(max2.evaluate(x, Mode::Train).bit_equal(max2.evaluate(x)));
}

// ---- golden ------------------------------------------------------------------------------------

TEST_CASE("Pooling: outputs and input gradients match PyTorch, ties included", "[pooling]") {
  const auto files = files_in(source_path("data/golden/pooling"), ".json");
  REQUIRE(files.size() >= 30);  // the cases of tools/reference/pooling_golden.py
  int ties = 0;
  for (const auto& path : files) {
    const nlohmann::json doc = read_json(path);
    const std::string name = std::filesystem::path(path).filename().string();
    INFO("golden file " << name);
    CHECK(doc.at("generator") == "tools/reference/pooling_golden.py");
    const auto dims = doc.at("batch_shape").get<std::vector<int64_t>>();
    const auto out_dims = doc.at("output_batch_shape").get<std::vector<int64_t>>();
    nlohmann::json options = doc.at("options");
    options["Input"] = std::vector<int64_t>(dims.begin() + 1, dims.end());
    const LayerNet net = pooling(options);
    CHECK(net.port_shape("Output") == Shape(std::vector<int64_t>(out_dims.begin() + 1, out_dims.end())));
    const Array x = json_array(doc.at("input"), dims, name), g = json_array(doc.at("grad_output"), out_dims, name);
    const Array y = net.evaluate_batch(x);
    const Array dx = net.gradients(x, g).input();
    // Allowances from the padded reference with the golden geometry.
    const auto k = doc.at("kernel_size").get<std::vector<int64_t>>(), s = doc.at("stride").get<std::vector<int64_t>>(),
               p = doc.at("padding").get<std::vector<int64_t>>();
    const bool two = dims.size() == 4;
    const PoolDims d = two ? pool_dims(dims[0] * dims[1], dims[2], dims[3], k[0], k[1], s[0], s[1], p[0], p[1])
                           : pool_dims(dims[0] * dims[1], 1, dims[2], 1, k[0], 1, s[0], 0, p[0]);
    const PoolFunction f = doc.at("function") == "Max" ? PoolFunction::Max : PoolFunction::Mean;
    const Allowances a = allowances(f, x.values(), d, g.values());
    NETKIT_CHECK_REPORT(mismatch_report("output", to_doubles(y), json_numbers(doc.at("output"), name), a.y, out_dims));
    NETKIT_CHECK_REPORT(
        mismatch_report("dL/dInput", to_doubles(dx), json_numbers(doc.at("grad_input"), name), a.dx, dims));
    if (name.find("ties") != std::string::npos) ++ties;
  }
  CHECK(ties >= 4);
}

// ---- kernels -----------------------------------------------------------------------------------

TEST_CASE("Pooling: kernels agree with the padded double-precision reference", "[pooling]") {
  Random random(3, "pooling kernels");
  int cases = 0;
  for (PoolFunction f : {PoolFunction::Max, PoolFunction::Mean})
    for (int64_t k : {1, 2, 3, 4})
      for (int64_t s : {1, 2, 3})
        for (int64_t pad = 0; 2 * pad <= k; ++pad)
          for (int64_t h : {1, 5, 8})
            for (int64_t w : {4, 9}) {
              const PoolDims d = h == 1 ? pool_dims(3, 1, w, 1, k, 1, s, 0, pad)  // 1-D
                                        : pool_dims(3, h, w, k, k, s, s, pad, pad);
              if (d.out_h < 1 || d.out_w < 1) continue;
              INFO("k " << k << ", s " << s << ", p " << pad << ", " << h << " x " << w << ", "
                        << (f == PoolFunction::Max ? "Max" : "Mean"));
              const std::vector<float> x = random_values(d.planes * h * w, random);
              const std::vector<float> g = random_values(d.planes * d.out_h * d.out_w, random);
              const KernelRun run = run_kernels(f, x, d, g);
              const auto ref = kernels::reference::pool(f, x, d, g);
              const Allowances a = allowances(f, x, d, g);
              NETKIT_CHECK_REPORT(mismatch_report("y", doubles(run.y), ref.y, a.y));
              NETKIT_CHECK_REPORT(mismatch_report("dx", doubles(run.dx), ref.dx, a.dx));
              ++cases;
            }
  CHECK(cases > 200);
}

TEST_CASE("Pooling: the 2x2 stride-2 block path gives the window loops' bits", "[pooling]") {
  // Values from a small set make ties common; -0 and +0 tie, and NaN must win wherever it is.
  const float choices[] = {-1.0f, -0.0f, 0.0f, 1.0f, 2.0f, kNaN};
  Random random(11, "pooling 2x2");
  for (PoolFunction f : {PoolFunction::Max, PoolFunction::Mean})
    for (int64_t h : {2, 5, 8})
      for (int64_t w : {2, 7, 12})
        for (bool accumulate : {false, true}) {
          INFO((f == PoolFunction::Max ? "Max" : "Mean")
               << ", " << h << " x " << w << (accumulate ? ", accumulate" : ""));
          const PoolDims d = pool_dims(3, h, w, 2, 2, 2, 2, 0, 0);
          std::vector<float> x(static_cast<size_t>(d.planes * h * w)),
              g = random_values(d.planes * d.out_h * d.out_w, random);
          for (float& v : x) v = choices[random.below(random.below(8) == 0 ? 6 : 5)];
          g[0] = -0.0f;
          const std::vector<float> prior =
              accumulate ? random_values(static_cast<int64_t>(x.size()), random) : std::vector<float>(x.size(), kNaN);
          std::vector<float> y(g.size()), y_windows(g.size()), dx = prior, dx_windows = prior;
          kernels::pool_forward(f, x.data(), d, y.data());
          kernels::pool_forward_windows(f, x.data(), d, y_windows.data());
          kernels::pool_backward(f, x.data(), g.data(), d, dx.data(), accumulate);
          kernels::pool_backward_windows(f, x.data(), g.data(), d, dx_windows.data(), accumulate);
          NETKIT_CHECK_REPORT(bit_difference_report("y", y, y_windows));
          NETKIT_CHECK_REPORT(bit_difference_report("dx", dx, dx_windows));
        }
}

TEST_CASE("Pooling: backward kernels overwrite or accumulate as asked", "[pooling]") {
  // Stride = kernel: every input element receives at most one term, so accumulation is exact.
  const PoolFunction f = GENERATE(PoolFunction::Max, PoolFunction::Mean);
  const PoolDims d = pool_dims(4, 6, 9, 2, 3, 2, 3, 1, 1);
  Random random(5, "pooling accumulate");
  const std::vector<float> x = random_values(d.planes * 54, random),
                           g = random_values(d.planes * d.out_h * d.out_w, random);
  const KernelRun fresh = run_kernels(f, x, d, g);  // dx starts as NaN: overwrite never reads it
  for (float v : fresh.dx) REQUIRE_FALSE(std::isnan(v));
  const std::vector<float> prior = random_values(static_cast<int64_t>(x.size()), random);
  std::vector<float> acc = prior, expected(prior.size());
  kernels::pool_backward(f, x.data(), g.data(), d, acc.data(), true);
  for (size_t i = 0; i < prior.size(); ++i) expected[i] = prior[i] + fresh.dx[i];
  NETKIT_CHECK_REPORT(bit_difference_report("dx accumulated", acc, expected));
}

TEST_CASE("Pooling: a NaN in a max window is not hidden", "[pooling]") {
  const PoolDims d = pool_dims(1, 1, 4, 1, 2, 1, 2, 0, 0);
  const std::vector<float> x{1, kNaN, 2, 3};
  std::vector<float> y(2);
  kernels::pool_forward(PoolFunction::Max, x.data(), d, y.data());
  CHECK(std::isnan(y[0]));
  CHECK(y[1] == 3);
}

// ---- gradients ---------------------------------------------------------------------------------

TEST_CASE("Pooling: gradients match central differences", "[pooling]") {
  const nlohmann::json geometry =
      GENERATE(nlohmann::json{{"KernelSize", 2}}, nlohmann::json{{"KernelSize", 3}, {"Stride", 1}, {"PaddingSize", 1}},
               nlohmann::json{{"KernelSize", {3, 2}}, {"Stride", {2, 1}}, {"PaddingSize", {1, 0}}},
               nlohmann::json{{"KernelSize", {3}}, {"Stride", {2}}, {"PaddingSize", {1}}});
  const std::string function = GENERATE(as<std::string>{}, "Max", "Mean");
  nlohmann::json options = geometry;
  options["Function"] = function;
  INFO(options.dump());
  const bool one_d = geometry.at("KernelSize").is_array() && geometry.at("KernelSize").size() == 1;
  const std::vector<int64_t> dims = one_d ? std::vector<int64_t>{2, 3, 9} : std::vector<int64_t>{2, 2, 5, 7};
  const LayerNet net = pooling(options);
  Random random(9, "pooling gradients");
  const Array x = spaced_values(dims, random);
  const Array y = net.evaluate_batch(x);
  const Array w = random_normal(y.dims(), random);
  // Step 0.02: four steps stay below the 0.1 gaps, so no maximum changes place.
  const std::vector<double> numeric = numeric_input_gradient(net, x, w, Mode::Test, 0.02 / rms(x));
  NETKIT_CHECK_REPORT(compare_gradient("dL/dInput", net.gradients(x, w).input(), numeric, {1e-3, 1e-4}).report);
  // A wrong gradient (routed to the last maximum, or divided by the clipped window) fails.
  Gradients wrong = net.gradients(x, w);
  for (int64_t i = 0; i < wrong.inputs[0].size(); ++i) wrong.inputs[0][i] *= 1.01f;
  CHECK_FALSE(compare_gradient("dL/dInput", wrong.input(), numeric, {1e-3, 1e-4}).ok());
}

// ---- properties --------------------------------------------------------------------------------

TEST_CASE("Pooling: max pooling commutes with monotone maps, sums of gradients are kept", "[pooling]") {
  Random random(11, "pooling properties");
  const Array x = random_normal({3, 4, 9, 8}, random);
  const LayerNet max = pooling({{"KernelSize", 3}, {"Stride", 2}, {"PaddingSize", 1}});
  const Array y = max.evaluate_batch(x);
  Array shifted = x, scaled = x;
  for (int64_t i = 0; i < x.size(); ++i) shifted[i] = x[i] + 0.75f, scaled[i] = 4 * x[i];
  const Array ys = max.evaluate_batch(shifted), yk = max.evaluate_batch(scaled);
  for (int64_t i = 0; i < y.size(); ++i) {
    REQUIRE(ys[i] == y[i] + 0.75f);  // rounding is monotone, so max(x + c) = max(x) + c exactly
    REQUIRE(yk[i] == 4 * y[i]);
  }
  // Every output gradient lands on exactly one input (Max), or is spread over the window with
  // padding shares dropped (Mean without padding keeps the total).
  const Array g = random_normal(y.dims(), random);
  double total_g = 0, total_dx = 0, abs_g = 0;
  for (int64_t i = 0; i < g.size(); ++i) total_g += g[i], abs_g += std::abs(g[i]);
  const Array dx = max.gradients(x, g).input();
  for (int64_t i = 0; i < dx.size(); ++i) total_dx += dx[i];
  CHECK(std::abs(total_dx - total_g) <= 16 * u * abs_g);
  const LayerNet mean = pooling({{"KernelSize", {3, 2}}, {"Stride", 1}, {"Function", "Mean"}});
  const Array gm = random_normal(mean.evaluate_batch(x).dims(), random);
  double total_gm = 0, abs_gm = 0, total_dxm = 0;
  for (int64_t i = 0; i < gm.size(); ++i) total_gm += gm[i], abs_gm += std::abs(gm[i]);
  const Array dxm = mean.gradients(x, gm).input();
  for (int64_t i = 0; i < dxm.size(); ++i) total_dxm += dxm[i];
  CHECK(std::abs(total_dxm - total_gm) <= 16 * u * abs_gm);
  // Without padding, mean <= max in every window.
  const Array ym = pooling({{"KernelSize", 3}, {"Stride", 2}, {"Function", "Mean"}}).evaluate_batch(x);
  const Array yx = pooling({{"KernelSize", 3}, {"Stride", 2}}).evaluate_batch(x);
  for (int64_t i = 0; i < ym.size(); ++i) REQUIRE(ym[i] <= yx[i]);
}

TEST_CASE("Pooling: kernel 1 is the identity, 1-D is 2-D of height 1, examples are independent", "[pooling]") {
  Random random(12, "pooling identities");
  const Array x = random_normal({2, 3, 5, 6}, random);
  for (const char* f : {"Max", "Mean"}) {
    INFO(f);
    CHECK(pooling({{"KernelSize", 1}, {"Function", f}}).evaluate_batch(x).bit_equal(x));
    const Array x1 = random_normal({2, 3, 11}, random), g1 = random_normal({2, 3, 6}, random);
    const LayerNet p1 = pooling({{"KernelSize", 3}, {"Stride", 2}, {"PaddingSize", 1}, {"Function", f}});
    const LayerNet p2 = pooling({{"KernelSize", {1, 3}}, {"Stride", {1, 2}}, {"PaddingSize", {0, 1}}, {"Function", f}});
    CHECK(p1.evaluate_batch(x1).values() == p2.evaluate_batch(x1.reshaped({2, 3, 1, 11})).values());
    CHECK(p1.gradients(x1, g1).input().values() ==
          p2.gradients(x1.reshaped({2, 3, 1, 11}), g1.reshaped({2, 3, 1, 6})).input().values());
    // The second example alone gives its part of the batch result, bit for bit.
    const LayerNet net = pooling({{"KernelSize", 2}, {"Stride", 1}, {"Function", f}});
    const std::vector<float> all = net.evaluate_batch(x).values(), xs = x.values();
    const Array second = Array::from({1, 3, 5, 6}, std::vector<float>(xs.begin() + 90, xs.end()));
    CHECK(net.evaluate_batch(second).values() == std::vector<float>(all.begin() + 60, all.end()));
  }
}

TEST_CASE("Pooling: 1 and 2 threads give bit-identical results", "[pooling]") {
  const std::string f = GENERATE(as<std::string>{}, "Max", "Mean");
  INFO(f);
  Random random(13, "pooling threads");
  const LayerNet net = pooling({{"KernelSize", 3}, {"Stride", 1}, {"PaddingSize", 1}, {"Function", f}});
  const Array x = random_normal({5, 7, 17, 13}, random), g = random_normal({5, 7, 17, 13}, random);
  Array y1, dx1;
  {
    ThreadCount t(1);
    y1 = net.evaluate_batch(x);
    dx1 = net.gradients(x, g).input();
  }
  ThreadCount t(2);
  NETKIT_CHECK_REPORT(bit_difference_report("output", y1, net.evaluate_batch(x)));
  NETKIT_CHECK_REPORT(bit_difference_report("dL/dInput", dx1, net.gradients(x, g).input()));
}

// ---- shapes ------------------------------------------------------------------------------------

TEST_CASE("Pooling: shapes are inferred in both directions", "[pooling]") {
  CHECK(pooling({{"KernelSize", 2}, {"Input", {3, 28, 28}}}).port_shape("Output") == Shape{3, 14, 14});
  CHECK(pooling({{"KernelSize", 3}, {"Stride", 2}, {"Input", {4, 9, 10}}}).port_shape("Output") == Shape{4, 4, 4});
  CHECK(pooling({{"KernelSize", 3}, {"Stride", 2}, {"PaddingSize", 1}, {"Input", {1, 7}}}).port_shape("Output") ==
        Shape{1, 4});
  // From the output: channels always; spatial sizes when the stride is 1 (otherwise several fit).
  CHECK(pooling({{"KernelSize", 3}, {"Stride", 1}, {"Output", {5, 6, 4}}}).port_shape("Input") == Shape{5, 8, 6});
  CHECK(pooling({{"KernelSize", 3}, {"Stride", 1}, {"PaddingSize", 1}, {"Output", {5, 6}}}).port_shape("Input") ==
        Shape{5, 6});
  CHECK(pooling({{"KernelSize", 2}, {"Output", {5, 6, 4}}}).port_shape("Input").to_string() == "[5, ?, ?]");
  // Partial inputs: known dims go through, unknown ones stay open; the rank comes from a list option.
  CHECK(pooling({{"KernelSize", 2}, {"Input", nlohmann::json::array({nullptr, 8, nullptr})}})
            .port_shape("Output")
            .to_string() == "[?, 4, ?]");
  CHECK(pooling({{"KernelSize", {2, 2}}}).port_shape("Input").to_string() == "[?, ?, ?]");
  CHECK(pooling({{"KernelSize", 2}}).port_shape("Output") == Shape());
}

TEST_CASE("Pooling: shape errors name the port, the sizes, expected and got", "[pooling]") {
  CHECK_THROWS_AS(pooling({{"KernelSize", 5}, {"PaddingSize", 1}, {"Input", {4, 2, 7}}}), ShapeError);
  CHECK_THROWS_WITH(
      pooling({{"KernelSize", 5}, {"PaddingSize", 1}, {"Input", {4, 2, 7}}}),
      Equals("Pooling layer, port \"Input\": input smaller than the pooling window in dimension 2 "
             "(KernelSize 5, Stride 5, PaddingSize 1): the output would be empty; expected a size >= 3 in "
             "dimension 2, got shape [4, 2, 7]"));
  CHECK_THROWS_WITH(pooling({{"KernelSize", {2, 4}}, {"Input", {1, 9, 3}}}),
                    Contains("in dimension 3 (KernelSize 4, Stride 4, PaddingSize 0): the output would be empty; "
                             "expected a size >= 4 in dimension 3, got shape [1, 9, 3]"));
  CHECK_THROWS_WITH(
      pooling({{"Input", {5}}}),
      Equals("Pooling layer, port \"Input\": pooling needs [channels, length] or [channels, height, width] "
             "arrays; expected rank 2 or 3, got shape [5]"));
  CHECK_THROWS_WITH(pooling({{"Input", {1, 2, 3, 4}}}), Contains("expected rank 2 or 3, got shape [1, 2, 3, 4]"));
  CHECK_THROWS_WITH(pooling({{"KernelSize", {2, 2}}, {"Input", {3, 8}}}),
                    Equals("Pooling layer, port \"Input\": 2-D pooling (KernelSize [2,2], Stride [2,2], PaddingSize 0) "
                           "needs [channels, height, width] arrays; expected rank 3, got shape [3, 8]"));
  CHECK_THROWS_WITH(
      pooling({{"Input", {3, 8, 8}}, {"Output", {3, 4}}}),
      Equals("Pooling layer, port \"Output\": rank must equal the input's; expected rank 3, got shape [3, 4]"));
  CHECK_THROWS_WITH(pooling({{"Input", {3, 8, 8}}, {"Output", {4, 4, 4}}}),
                    Equals("Pooling layer, port \"Output\": channels must equal the input's; expected 3, got 4"));
  CHECK_THROWS_WITH(pooling({{"Input", {3, 8, 8}}, {"Output", {3, 4, 5}}}),
                    Equals("Pooling layer, port \"Output\": size in dimension 3 does not follow from the input's 8 "
                           "(KernelSize 2, Stride 2, PaddingSize 0); expected 4, got 5"));
  LayerNet net = pooling({{"KernelSize", 2}, {"Input", {2, 4, 4}}});
  CHECK_THROWS_WITH(net.evaluate(Array::zeros({2, 4})),
                    Contains("batch does not match the port shape; expected examples of shape [2, 4, 4]"));
}

// ---- options -----------------------------------------------------------------------------------

TEST_CASE("Pooling: options list every default and keep the form given", "[pooling]") {
  const nlohmann::json d = LayerNet::default_options("Pooling");
  CHECK(d.at("Function") == "Max");
  CHECK(d.at("KernelSize") == 2);
  CHECK(d.at("Stride") == 2);  // the kernel size, as in PyTorch (Wolfram's default is 1)
  CHECK(d.at("PaddingSize") == 0);
  CHECK(d.size() == 7);  // + Input, Output, LearningRateMultipliers
  const LayerNet p = pooling({{"KernelSize", {3, 2}}, {"PaddingSize", 1}, {"Function", "Mean"}});
  CHECK(p.option("KernelSize") == nlohmann::json{3, 2});
  CHECK(p.option("Stride") == nlohmann::json{3, 2});
  CHECK(p.option("PaddingSize") == 1);
  CHECK(p.option("Function") == "Mean");
  CHECK(p.information().array_count == 0);
}

TEST_CASE("Pooling: bad options give typed errors with their messages", "[pooling]") {
  CHECK_THROWS_AS(pooling({{"KernelSize", 0}}), OptionError);
  CHECK_THROWS_WITH(
      pooling({{"KernelSize", 0}}),
      Equals("Pooling option \"KernelSize\": out of range; expected integers from 1 to 2147483647, got 0"));
  CHECK_THROWS_WITH(
      pooling({{"Stride", {2, -1}}}),
      Equals("Pooling option \"Stride\": out of range; expected integers from 1 to 2147483647, got [2,-1]"));
  CHECK_THROWS_WITH(
      pooling({{"PaddingSize", -1}}),
      Equals("Pooling option \"PaddingSize\": out of range; expected integers from 0 to 2147483647, got -1"));
  CHECK_THROWS_WITH(pooling({{"KernelSize", 3}, {"PaddingSize", 2}}),
                    Equals("Pooling option \"PaddingSize\": padding must be at most half the kernel size; expected at "
                           "most 1 (KernelSize 3), got 2"));
  CHECK_THROWS_WITH(pooling({{"KernelSize", {4, 3}}, {"PaddingSize", {2, 2}}}),
                    Equals("Pooling option \"PaddingSize\": padding must be at most half the kernel size; expected at "
                           "most 1 (KernelSize 3) in spatial dimension 2, got 2"));
  CHECK_THROWS_WITH(pooling({{"KernelSize", {2, 2}}, {"Stride", {1}}}),
                    Equals("Pooling option \"Stride\": list length differs from \"KernelSize\"; expected 2 sizes (2-D "
                           "pooling), got 1 sizes"));
  CHECK_THROWS_WITH(
      pooling({{"KernelSize", {2, 2, 2}}}),
      Equals("Pooling option \"KernelSize\": unsupported number of spatial dimensions; expected a list of "
             "1 or 2 sizes (1-D or 2-D pooling), got 3 sizes"));
  CHECK_THROWS_WITH(pooling({{"KernelSize", nlohmann::json::array()}}), Contains("got 0 sizes"));
  CHECK_THROWS_WITH(pooling({{"KernelSize", 2.5}}),
                    Equals("Pooling option \"KernelSize\": wrong type; expected an integer >= 1 or a list of 1 or 2 of "
                           "them, got a number (2.5)"));
  CHECK_THROWS_WITH(
      pooling({{"PaddingSize", {"1"}}}),
      Equals("Pooling option \"PaddingSize\": wrong type; expected an integer >= 0 or a list of 1 or 2 of "
             "them, got a string (\"1\")"));
  CHECK_THROWS_WITH(
      pooling({{"KernelSize", 4294967296LL}}),
      Equals("Pooling option \"KernelSize\": out of range; expected integers <= 2147483647, got 4294967296"));
  CHECK_THROWS_WITH(
      pooling({{"Function", "Total"}}),
      Equals("Pooling option \"Function\": invalid value; expected one of \"Max\", \"Mean\", got \"Total\""));
  CHECK_THROWS_WITH(pooling({{"Kernel", 2}}),
                    Equals("Pooling options: unknown option \"Kernel\"; expected one of \"Function\", \"KernelSize\", "
                           "\"PaddingSize\", \"Stride\", got \"Kernel\""));
  Pooling::Config c;
  c.kernel_size = {{2, 0}, false};
  CHECK_THROWS_WITH(Pooling(c),
                    Contains("\"KernelSize\": out of range; expected integers from 1 to 2147483647, got [2,0]"));
}

// ---- files -------------------------------------------------------------------------------------

TEST_CASE("Pooling: save -> load -> save is byte-identical and outputs are bit-identical", "[pooling]") {
  TempFile a("pooling_roundtrip_a.json"), b("pooling_roundtrip_b.json");
  Random random(17, "pooling files");
  for (const nlohmann::json& options :
       {nlohmann::json{{"KernelSize", {3, 2}}, {"Stride", {1, 2}}, {"PaddingSize", {1, 0}}, {"Function", "Mean"}},
        nlohmann::json{{"KernelSize", 3}, {"Input", {2, 9, 8}}},
        nlohmann::json{{"KernelSize", {4}}, {"PaddingSize", 2}}}) {
    INFO(options.dump());
    const LayerNet net = pooling(options);
    save_layer_net(net, a.path);
    const LayerNet back = load_layer_net(a.path);
    save_layer_net(back, b.path);
    CHECK(read_text(a.path) == read_text(b.path));
    CHECK(back.options() == net.options());
    const bool one_d = net.option("KernelSize").is_array() && net.option("KernelSize").size() == 1;
    const Array x = one_d ? random_normal({3, 2, 13}, random) : random_normal({3, 2, 9, 8}, random);
    const Array y = net.evaluate_batch(x);
    CHECK(back.evaluate_batch(x).bit_equal(y));
    const Array g = random_normal(y.dims(), random);
    CHECK(back.gradients(x, g).input().bit_equal(net.gradients(x, g).input()));
  }
}
