// Test support: finite-difference gradient checks. The loss is L = sum w y for a fixed w, so
// dL/dy = w is what the backward pass receives; L is accumulated in double from float outputs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include "tests/support/golden.h"

namespace netkit::test {

// Seeded test data (netkit::Random, so the same on every machine).
Array random_uniform(std::vector<int64_t> dims, Random& random, double lo, double hi);
Array random_normal(std::vector<int64_t> dims, Random& random, double mean = 0, double stddev = 1);

// L = sum_i w_i y_i, accumulated in double.
double weighted_sum(const Array& y, const Array& w);

// Root mean square of the values, at least `floor`: the scale a finite-difference step is
// chosen relative to.
double rms(const Array& a, double floor = 1e-3);

// dL/dx_i for every element by the five-point central difference
//   (L(x - 2h) - 8 L(x - h) + 8 L(x + h) - L(x + 2h)) / 12h,
// whose truncation error is O(h^4), so h can be large enough that the float rounding of L
// (divided by h) stays small. One element is perturbed at a time; `loss` gets the perturbed copy.
std::vector<double> numeric_gradient(const std::function<double(const Array&)>& loss, const Array& x, double h);

// The same for a LayerNet and L = sum w net(x): with respect to the input, or to one of the
// net's arrays (perturbed on a copy of the net). The step is `relative_step` times the RMS of
// the values differentiated against.
std::vector<double> numeric_input_gradient(const LayerNet& net, const Array& x, const Array& w, Mode mode,
                                           double relative_step);
std::vector<double> numeric_array_gradient(const LayerNet& net, const std::string& array, const Array& x,
                                           const Array& w, Mode mode, double relative_step);

// Analytic against numeric gradient: element i passes when
//   |analytic_i - numeric_i| <= tol.rel |numeric_i| + tol.abs.
// worst_ratio is the largest error / allowance (<= 1 passes), so a test can also require a
// deliberately wrong gradient to fail by a wide margin.
struct GradientComparison {
  std::string report;  // empty when every element passes
  double worst_ratio = 0;
  bool ok() const { return report.empty(); }
};
GradientComparison compare_gradient(const std::string& what, const Array& analytic, const std::vector<double>& numeric,
                                    Tolerance tol);

}  // namespace netkit::test
