#include "layers/kernels/linear.h"

#include <vector>

#include "core/blas.h"

namespace netkit::kernels {

void linear_forward(const float* x, const float* w, const float* b, LinearDims d, float* y) {
  for (int64_t n = 0; n < d.batch; ++n)
    for (int64_t j = 0; j < d.out; ++j) y[n * d.out + j] = b[j];
  // Y[N, out] += X[N, in] * W^T[in, out]
  blas::sgemm(false, true, d.batch, d.out, d.in, 1.0f, x, d.in, w, d.in, 1.0f, y, d.out);
}

void linear_backward(const float* x, const float* w, const float* g, LinearDims d, float* dx, bool accumulate,
                     float* dw, float* db) {
  if (dx) {
    // beta = 0 makes BLAS write dX without reading it, so stale contents cannot leak through.
    // dX[N, in] (+)= G[N, out] * W[out, in]
    blas::sgemm(false, false, d.batch, d.in, d.out, 1.0f, g, d.out, w, d.in, accumulate ? 1.0f : 0.0f, dx, d.in);
  }
  if (dw) {
    // dW[out, in] += G^T[out, N] * X[N, in]
    blas::sgemm(true, false, d.out, d.in, d.batch, 1.0f, g, d.out, x, d.in, 1.0f, dw, d.in);
  }
  if (db) {
    // Row by row, so the inner loop runs along memory and vectorises; the order over n is fixed.
    std::vector<double> sum(static_cast<size_t>(d.out), 0.0);
    for (int64_t n = 0; n < d.batch; ++n) {
      const float* row = g + n * d.out;
      for (int64_t j = 0; j < d.out; ++j) sum[static_cast<size_t>(j)] += row[j];
    }
    for (int64_t j = 0; j < d.out; ++j) db[j] += static_cast<float>(sum[static_cast<size_t>(j)]);
  }
}

}  // namespace netkit::kernels
