// Plain reference Linear layer: y = W x + b and its gradients written out literally in double
// precision, one element at a time. It is the test oracle for the sgemm kernels.
#pragma once

#include <vector>

#include <netkit/layers/kernels/linear.h>

namespace netkit::kernels::reference {

struct LinearResult {
  std::vector<double> y, dx, dw, db;
};

// g may be empty (no backward).
LinearResult linear(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b, LinearDims d,
                    const std::vector<float>& g);

}  // namespace netkit::kernels::reference
