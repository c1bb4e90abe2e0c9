#include "tests/support/gradient_check.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace netkit::test {

Array random_uniform(std::vector<int64_t> dims, Random& random, double lo, double hi) {
  Array a = Array::zeros(std::move(dims));
  for (int64_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(random.uniform(lo, hi));
  return a;
}

Array random_normal(std::vector<int64_t> dims, Random& random, double mean, double stddev) {
  Array a = Array::zeros(std::move(dims));
  for (int64_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(mean + stddev * random.normal());
  return a;
}

double weighted_sum(const Array& y, const Array& w) {
  if (y.dims() != w.dims())
    throw std::invalid_argument("weighted_sum: dims " + dims_to_string(y.dims()) + " vs " + dims_to_string(w.dims()));
  double s = 0;
  for (int64_t i = 0; i < y.size(); ++i) s += static_cast<double>(w[i]) * static_cast<double>(y[i]);
  return s;
}

double rms(const Array& a, double floor) {
  double s = 0;
  for (int64_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * a[i];
  return std::max(floor, a.size() ? std::sqrt(s / static_cast<double>(a.size())) : 0.0);
}

std::vector<double> numeric_gradient(const std::function<double(const Array&)>& loss, const Array& x, double h) {
  std::vector<double> grad(static_cast<size_t>(x.size()));
  Array p = x;
  for (int64_t i = 0; i < x.size(); ++i) {
    const float x0 = x[i];
    // L and the step actually taken (x0 + k h rounded to float) at k = -2, -1, 1, 2.
    constexpr double kOffsets[4] = {-2, -1, 1, 2};
    double l[4], step[4];
    for (int k = 0; k < 4; ++k) {
      p[i] = static_cast<float>(x0 + kOffsets[k] * h);
      step[k] = static_cast<double>(p[i]) - x0;
      l[k] = loss(p);
    }
    p[i] = x0;
    // Dividing by the stencil applied to the steps themselves (12 h for exact steps) keeps the
    // formula exact for linear L despite that rounding.
    const double denom = 8 * (step[2] - step[1]) - (step[3] - step[0]);
    // Differences first: equal losses give exactly 0 (L - 8 L + 8 L - L need not).
    grad[static_cast<size_t>(i)] = (8 * (l[2] - l[1]) - (l[3] - l[0])) / denom;
  }
  return grad;
}

std::vector<double> numeric_input_gradient(const LayerNet& net, const Array& x, const Array& w, Mode mode,
                                           double relative_step) {
  return numeric_gradient([&](const Array& value) { return weighted_sum(net.evaluate_batch(value, mode), w); }, x,
                          relative_step * rms(x));
}

std::vector<double> numeric_array_gradient(const LayerNet& net, const std::string& array, const Array& x,
                                           const Array& w, Mode mode, double relative_step) {
  LayerNet probe = net;
  const Array& a = net.array(array);
  return numeric_gradient(
      [&](const Array& value) {
        probe.set_array(array, value);
        return weighted_sum(probe.evaluate_batch(x, mode), w);
      },
      a, relative_step * rms(a));
}

GradientComparison compare_gradient(const std::string& what, const Array& analytic, const std::vector<double>& numeric,
                                    Tolerance tol) {
  GradientComparison c;
  const std::vector<double> a = to_doubles(analytic);
  c.report = mismatch_report(what + " (analytic vs finite differences)", a, numeric, tol, analytic.dims());
  if (a.size() != numeric.size()) {
    c.worst_ratio = INFINITY;
    return c;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const double allowed = tol.abs + tol.rel * std::abs(numeric[i]);
    const double err = std::abs(a[i] - numeric[i]);
    c.worst_ratio = std::max(c.worst_ratio, std::isnan(err) ? INFINITY : err / allowed);
  }
  return c;
}

}  // namespace netkit::test
