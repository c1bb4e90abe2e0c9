// Helpers shared by the Convolution test files: kernel geometry and rounding allowances of float
// results against exact ones. (ConvolutionLayer itself comes from graph/layer_net.h.)
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/array.h"
#include "core/random.h"
#include "graph/layer_net.h"
#include "layers/kernels/convolution.h"
#include "layers/kernels/convolution_reference.h"

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
