#include <netkit/layers/kernels/linear.h>

#include <vector>

#include <netkit/core/blas.h>
#include <netkit/core/serial_blas.h>

namespace netkit::kernels {

// Products are split into fixed blocks of rows, each one single-threaded sgemm on one of
// netkit's threads: the blocks depend on the sizes alone, so every element sums in the same
// order for every thread count.
constexpr int64_t kRowBlock = 32;

void linear_forward(const float* x, const float* w, const float* b, LinearDims d, float* y) {
  for (int64_t n = 0; n < d.batch; ++n)
    for (int64_t j = 0; j < d.out; ++j) y[n * d.out + j] = b[j];
  // Y[N, out] += X[N, in] * W^T[in, out], by blocks of examples.
  SerialBlas serial;
  parallel_chunks(d.batch, kRowBlock, [&](int64_t n0, int64_t n1) {
    blas::sgemm(false, true, n1 - n0, d.out, d.in, 1.0f, x + n0 * d.in, d.in, w, d.in, 1.0f, y + n0 * d.out, d.out);
  });
}

void linear_backward(const float* x, const float* w, const float* g, LinearDims d, float* dx, bool accumulate,
                     float* dw, float* db) {
  SerialBlas serial;
  if (dx) {
    // beta = 0 makes BLAS write dX without reading it, so stale contents cannot leak through.
    // dX[N, in] (+)= G[N, out] * W[out, in], by blocks of examples.
    parallel_chunks(d.batch, kRowBlock, [&](int64_t n0, int64_t n1) {
      blas::sgemm(false, false, n1 - n0, d.in, d.out, 1.0f, g + n0 * d.out, d.out, w, d.in, accumulate ? 1.0f : 0.0f,
                  dx + n0 * d.in, d.in);
    });
  }
  if (dw) {
    // dW[out, in] += G^T[out, N] * X[N, in], by blocks of output rows: each block sums over the
    // whole batch in one call.
    parallel_chunks(d.out, kRowBlock, [&](int64_t j0, int64_t j1) {
      blas::sgemm(true, false, j1 - j0, d.in, d.batch, 1.0f, g + j0, d.out, x, d.in, 1.0f, dw + j0 * d.in, d.in);
    });
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
