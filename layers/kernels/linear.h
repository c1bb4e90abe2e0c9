// Fully connected (Linear) kernels. A batch of N examples, each flattened row-major to `in`
// values, all matrices row-major:
//   X [N, in], W [out, in], b [out], Y [N, out], G = dL/dY [N, out].
// The products go to OpenBLAS sgemm. Its summation order for an element depends on the block
// of the output it falls in, and the blocks on OpenBLAS's thread count and on the batch size,
// so those results can change in the last bits with either (measured: OpenBLAS 0.3.21,
// Haswell kernels). The bias gradient is summed here, in double, in the order n = 0, 1, ...,
// and does not change with the thread count.
#pragma once

#include <cstdint>

namespace netkit::kernels {

struct LinearDims {
  int64_t batch = 0, in = 0, out = 0;
};

// Y = X W^T + b: each row of Y starts as b and gets X W^T added by sgemm (beta = 1), which
// saves a pass over Y. Zero Weights therefore give exactly b.
void linear_forward(const float* x, const float* w, const float* b, LinearDims d, float* y);

// Backward of Y = X W^T + b. From dL/dY_nj = G_nj and Y_nj = sum_i W_ji X_ni + b_j:
//   dL/dX_ni = sum_j G_nj W_ji     ->  dX  = G W      [N, in]   (+= when accumulate, else written)
//   dL/dW_ji = sum_n G_nj X_ni     ->  dW += G^T X    [out, in]
//   dL/db_j  = sum_n G_nj          ->  db += column sums of G
// dx, dw and db may each be null (not wanted).
void linear_backward(const float* x, const float* w, const float* g, LinearDims d, float* dx, bool accumulate,
                     float* dw, float* db);

}  // namespace netkit::kernels
