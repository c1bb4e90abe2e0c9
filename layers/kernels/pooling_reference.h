// Plain reference pooling: the definition written out literally in double precision. Each
// plane is first copied into an explicitly padded plane (-infinity for Max, 0 for Mean), and
// every window is read in full from it, with no clipping. It is the test oracle for the
// clipped-window kernels of layers/kernels/pooling.h.
#pragma once

#include <vector>

#include <netkit/layers/kernels/pooling.h>

namespace netkit::kernels::reference {

struct PoolResult {
  std::vector<double> y, dx;
};

// g may be empty (no backward). Max routes each g to the first maximum of its window in
// row-major order of the padded plane.
PoolResult pool(PoolFunction f, const std::vector<float>& x, PoolDims d, const std::vector<float>& g);

}  // namespace netkit::kernels::reference
