// Plain reference batch normalization: the formulas of docs/batch_norm.md written out literally in
// double precision, one element at a time. It is the test oracle for the fast kernels.
#pragma once

#include <vector>

#include <netkit/layers/kernels/batch_norm.h>

namespace netkit::kernels::reference {

struct BnResult {
  std::vector<double> y, dx, dgamma, dbeta, mean, var_biased;
};

// Train mode when `train`, else test mode with moving statistics m, v. g may be empty (no backward).
BnResult batch_norm(const std::vector<float>& x, BnLayout l, const std::vector<float>& gamma,
                    const std::vector<float>& beta, const std::vector<float>& m, const std::vector<float>& v,
                    double eps, bool train, const std::vector<float>& g);

}  // namespace netkit::kernels::reference
