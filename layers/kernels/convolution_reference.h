// Plain reference convolution: the formula of layers/kernels/convolution.h written out literally
// in double precision, one output element (or one gradient term) at a time. It is the test
// oracle for the im2col + sgemm kernels and the 3-D ones built on them.
#pragma once

#include <vector>

#include <netkit/layers/kernels/convolution.h>
#include <netkit/layers/kernels/convolution_volume.h>

namespace netkit::kernels::reference {

struct ConvResult {
  std::vector<double> y, dx, dw, db;
};

// b may be empty (no biases: db stays empty too); g may be empty (no backward).
ConvResult convolution(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                       const ConvDims& d, const std::vector<float>& g);

// The 3-D formula of layers/kernels/convolution_volume.h, the same way.
ConvResult convolution(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                       const VolumeDims& d, const std::vector<float>& g);

}  // namespace netkit::kernels::reference
