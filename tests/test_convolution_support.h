// Helpers shared by the Convolution test files: kernel geometry and rounding allowances of float
// results against exact ones. (ConvolutionLayer itself comes from graph/layer_net.h.)
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/layers/kernels/convolution.h>
#include <netkit/layers/kernels/convolution_reference.h>
#include "tests/support/golden.h"

namespace netkit::test {

constexpr double kUnitRoundoff = 0x1p-24;  // of float

inline std::vector<double> doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }

inline std::vector<float> random_floats(int64_t n, Random& random, double scale = 1.0) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& e : v) e = static_cast<float>(scale * random.normal());
  return v;
}

// A kernel-level problem: input, weights (scaled by 1 / sqrt(patch)), biases and an output
// gradient, drawn from the random stream (seed, stream).
struct ConvProblem {
  kernels::ConvDims d;
  std::vector<float> x, w, b, g;
};

inline ConvProblem conv_problem(const kernels::ConvDims& d, uint64_t seed, const char* stream) {
  Random random(seed, stream);
  return {d, random_floats(d.batch * d.in_channels * d.in_area(), random),
          random_floats(d.out_channels * d.patch(), random, 1.0 / std::sqrt(static_cast<double>(d.patch()))),
          random_floats(d.out_channels, random), random_floats(d.batch * d.out_channels * d.out_area(), random)};
}

// Rounding bounds of float results against exact ones: a sum of k products is within
// gamma_(k+c) = (k + c) u times the sum of its absolute terms (c covers the bias, the start value
// and the combination of partial sums). The sums of absolute terms come from the reference
// applied to |x|, |w|, |b|, |g|.
struct ConvAllowances {
  std::vector<double> y, dx, dw, db;
};

inline std::vector<float> absolute(const std::vector<float>& v) {
  std::vector<float> a(v.size());
  for (size_t i = 0; i < v.size(); ++i) a[i] = std::abs(v[i]);
  return a;
}

inline ConvAllowances conv_allowances(const std::vector<float>& x, const std::vector<float>& w,
                                      const std::vector<float>& b, const std::vector<float>& g,
                                      const kernels::ConvDims& d) {
  const auto sums = kernels::reference::convolution(absolute(x), absolute(w), absolute(b), d, absolute(g));
  auto scale = [](std::vector<double> v, int64_t terms) {
    for (double& e : v) e = (static_cast<double>(terms) + 12) * kUnitRoundoff * e + 1e-300;
    return v;
  };
  const int64_t kernel = d.kernel_area();
  return {scale(sums.y, d.patch()), scale(sums.dx, d.group_out() * kernel), scale(sums.dw, d.batch * d.out_area()),
          scale(sums.db, 1)};
}

// Everything the kernels compute for a problem: forward, then backward with dX written (onto NaN,
// so that a dX element the kernel failed to write shows) and dWt, db accumulated onto zeros.
struct ConvResults {
  std::vector<float> y, dx, dw, db;
};

inline ConvResults run_conv(const ConvProblem& p, kernels::ConvPath path = kernels::ConvPath::by_geometry) {
  ConvResults r{std::vector<float>(p.g.size()), std::vector<float>(p.x.size(), NAN),
                std::vector<float>(p.w.size(), 0.0f), std::vector<float>(p.b.size(), 0.0f)};
  kernels::conv_forward(p.x.data(), p.w.data(), p.b.data(), p.d, r.y.data(), path);
  kernels::conv_backward(p.x.data(), p.w.data(), p.g.data(), p.d, r.dx.data(), false, r.dw.data(), r.db.data(), path);
  return r;
}

// The results against the double-precision reference, each within its rounding allowance: one
// report a result (empty when it agrees).
inline std::vector<std::string> reference_reports(const ConvProblem& p, const ConvResults& r) {
  const kernels::ConvDims& d = p.d;
  const auto ref = kernels::reference::convolution(p.x, p.w, p.b, d, p.g);
  const ConvAllowances a = conv_allowances(p.x, p.w, p.b, p.g, d);
  return {mismatch_report("y", doubles(r.y), ref.y, a.y, {d.batch, d.out_channels, d.out_h, d.out_w}),
          mismatch_report("dx", doubles(r.dx), ref.dx, a.dx, {d.batch, d.in_channels, d.in_h, d.in_w}),
          mismatch_report("dw", doubles(r.dw), ref.dw, a.dw), mismatch_report("db", doubles(r.db), ref.db, a.db)};
}

inline std::string describe(const kernels::ConvDims& d) {
  return "N " + std::to_string(d.batch) + ", C " + std::to_string(d.in_channels) + " -> " +
         std::to_string(d.out_channels) + " (groups " + std::to_string(d.groups) + "), in " + std::to_string(d.in_h) +
         "x" + std::to_string(d.in_w) + ", out " + std::to_string(d.out_h) + "x" + std::to_string(d.out_w) +
         ", kernel " + std::to_string(d.kernel_h) + "x" + std::to_string(d.kernel_w) + ", stride " +
         std::to_string(d.stride_h) + "," + std::to_string(d.stride_w) + ", pad " + std::to_string(d.pad_h) + "," +
         std::to_string(d.pad_w) + ", dilation " + std::to_string(d.dilation_h) + "," + std::to_string(d.dilation_w);
}

// The geometry of a 2-D (height given) or 1-D (in_h = kernel_h = 1) problem, square options.
inline kernels::ConvDims conv_dims(int64_t batch, int64_t in_channels, int64_t out_channels, int64_t groups,
                                   int64_t in_h, int64_t in_w, int64_t kernel_h, int64_t kernel_w, int64_t stride,
                                   int64_t pad, int64_t dilation) {
  kernels::ConvDims d;
  d.batch = batch;
  d.in_channels = in_channels;
  d.out_channels = out_channels;
  d.groups = groups;
  d.in_h = in_h;
  d.in_w = in_w;
  d.kernel_h = kernel_h;
  d.kernel_w = kernel_w;
  d.stride_h = in_h == 1 ? 1 : stride;
  d.stride_w = stride;
  d.pad_h = in_h == 1 ? 0 : pad;
  d.pad_w = pad;
  d.dilation_h = in_h == 1 ? 1 : dilation;
  d.dilation_w = dilation;
  d.out_h = (in_h + 2 * d.pad_h - d.dilation_h * (kernel_h - 1) - 1) / d.stride_h + 1;
  d.out_w = (in_w + 2 * pad - dilation * (kernel_w - 1) - 1) / stride + 1;
  return d;
}

}  // namespace netkit::test
