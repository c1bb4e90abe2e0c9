#include "layers/kernels/batch_norm_loops.h"

#include <cstring>

#include "layers/kernels/vector_clones.h"

namespace netkit::kernels::batch_norm_loops {

namespace {

// ---- vectors: GCC / Clang vector extensions, 4 doubles (one AVX2 register, two SSE2 ones) ----

using v4f = float __attribute__((vector_size(16)));
using v4d = double __attribute__((vector_size(32)));

inline v4f load4f(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline v4d widen(v4f v) { return __builtin_convertvector(v, v4d); }
inline v4d load4d(const double* p) {
  v4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4d(double* p, v4d v) { std::memcpy(p, &v, sizeof v); }

}  // namespace

// ---- long runs: kLanes independent double accumulators per channel -------------------------
// Lane k of a run gets the elements i with i % kLanes == k; the lanes are added in order at the
// end, so the sum is the same whatever the instruction set or thread count.

NETKIT_VECTOR_CLONES void lanes_sum(const float* x, int64_t n, double* lanes) {
  v4d a0 = load4d(lanes), a1 = load4d(lanes + 4), a2 = load4d(lanes + 8), a3 = load4d(lanes + 12);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    a0 += widen(load4f(x + i));
    a1 += widen(load4f(x + i + 4));
    a2 += widen(load4f(x + i + 8));
    a3 += widen(load4f(x + i + 12));
  }
  store4d(lanes, a0), store4d(lanes + 4, a1), store4d(lanes + 8, a2), store4d(lanes + 12, a3);
  for (; i < n; ++i) lanes[i % kLanes] += static_cast<double>(x[i]);
}

NETKIT_VECTOR_CLONES void lanes_squared_deviation(const float* x, int64_t n, double center, double* lanes) {
  v4d a0 = load4d(lanes), a1 = load4d(lanes + 4), a2 = load4d(lanes + 8), a3 = load4d(lanes + 12);
  const v4d c = {center, center, center, center};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const v4d d0 = widen(load4f(x + i)) - c, d1 = widen(load4f(x + i + 4)) - c;
    const v4d d2 = widen(load4f(x + i + 8)) - c, d3 = widen(load4f(x + i + 12)) - c;
    a0 += d0 * d0;
    a1 += d1 * d1;
    a2 += d2 * d2;
    a3 += d3 * d3;
  }
  store4d(lanes, a0), store4d(lanes + 4, a1), store4d(lanes + 8, a2), store4d(lanes + 12, a3);
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - center;
    lanes[i % kLanes] += d * d;
  }
}

// sum g and sum g (x - center), with x - center in float exactly as the forward pass forms it.
NETKIT_VECTOR_CLONES void lanes_gradient_sums(const float* x, const float* g, int64_t n, float center,
                                              double* lanes_g, double* lanes_gx) {
  v4d g0 = load4d(lanes_g), g1 = load4d(lanes_g + 4), g2 = load4d(lanes_g + 8), g3 = load4d(lanes_g + 12);
  v4d p0 = load4d(lanes_gx), p1 = load4d(lanes_gx + 4), p2 = load4d(lanes_gx + 8), p3 = load4d(lanes_gx + 12);
  const v4f c = {center, center, center, center};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const v4d h0 = widen(load4f(g + i)), h1 = widen(load4f(g + i + 4));
    const v4d h2 = widen(load4f(g + i + 8)), h3 = widen(load4f(g + i + 12));
    g0 += h0, g1 += h1, g2 += h2, g3 += h3;
    p0 += h0 * widen(load4f(x + i) - c);
    p1 += h1 * widen(load4f(x + i + 4) - c);
    p2 += h2 * widen(load4f(x + i + 8) - c);
    p3 += h3 * widen(load4f(x + i + 12) - c);
  }
  store4d(lanes_g, g0), store4d(lanes_g + 4, g1), store4d(lanes_g + 8, g2), store4d(lanes_g + 12, g3);
  store4d(lanes_gx, p0), store4d(lanes_gx + 4, p1), store4d(lanes_gx + 8, p2), store4d(lanes_gx + 12, p3);
  for (; i < n; ++i) {
    lanes_g[i % kLanes] += static_cast<double>(g[i]);
    lanes_gx[i % kLanes] += static_cast<double>(g[i]) * static_cast<double>(x[i] - center);
  }
}

double lanes_total(const double* lanes) {
  double s = 0;
  for (int k = 0; k < kLanes; ++k) s += lanes[k];
  return s;
}

// ---- elementwise passes: per-channel scalars (long runs) or per-column vectors (short runs) ----

NETKIT_VECTOR_CLONES void scale_shift_scalar(const float* __restrict x, float* __restrict y, int64_t n, float c,
                                             float a, float b) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - c) * a + b;
}

// Per-column parameters over `rows` rows of `stride` floats: one call per chunk of rows, as a
// call per short row would cost more than its work.
NETKIT_VECTOR_CLONES void scale_shift_rows(const float* __restrict x, float* __restrict y, int64_t rows,
                                           int64_t stride, int64_t width, const float* __restrict c,
                                           const float* __restrict a, const float* __restrict b) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * stride;
    float* yr = y + r * stride;
    for (int64_t i = 0; i < width; ++i) yr[i] = (xr[i] - c[i]) * a[i] + b[i];
  }
}

// dx (+)= ((g - mg) - (x - c) k) s: the train-mode input gradient; with mg = k = 0 and any c it
// is the test-mode g s.
NETKIT_VECTOR_CLONES void input_gradient_scalar(const float* __restrict x, const float* __restrict g,
                                                float* __restrict dx, int64_t n, float c, float mg, float k,
                                                float s, bool accumulate) {
  if (accumulate)
    for (int64_t i = 0; i < n; ++i) dx[i] += ((g[i] - mg) - (x[i] - c) * k) * s;
  else
    for (int64_t i = 0; i < n; ++i) dx[i] = ((g[i] - mg) - (x[i] - c) * k) * s;
}

NETKIT_VECTOR_CLONES void input_gradient_rows(const float* __restrict x, const float* __restrict g,
                                              float* __restrict dx, int64_t rows, int64_t stride, int64_t width,
                                              const float* __restrict c, const float* __restrict mg,
                                              const float* __restrict k, const float* __restrict s, bool accumulate) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * stride;
    const float* gr = g + r * stride;
    float* dr = dx + r * stride;
    if (accumulate)
      for (int64_t i = 0; i < width; ++i) dr[i] += ((gr[i] - mg[i]) - (xr[i] - c[i]) * k[i]) * s[i];
    else
      for (int64_t i = 0; i < width; ++i) dr[i] = ((gr[i] - mg[i]) - (xr[i] - c[i]) * k[i]) * s[i];
  }
}

// Column sums over `rows` rows of `stride` floats: acc[j] += sum_r f(x[r * stride + j]), j < width.
// Sixteen columns at a time keep four vector accumulators in registers across the rows; each
// column is still summed row by row in order, so the result does not depend on the blocking.

NETKIT_VECTOR_CLONES void rows_sum(const float* x, int64_t rows, int64_t stride, int64_t width, double* acc) {
  int64_t j = 0;
  for (; j + 16 <= width; j += 16) {
    v4d a0 = load4d(acc + j), a1 = load4d(acc + j + 4), a2 = load4d(acc + j + 8), a3 = load4d(acc + j + 12);
    for (int64_t r = 0; r < rows; ++r) {
      const float* p = x + r * stride + j;
      a0 += widen(load4f(p)), a1 += widen(load4f(p + 4)), a2 += widen(load4f(p + 8)), a3 += widen(load4f(p + 12));
    }
    store4d(acc + j, a0), store4d(acc + j + 4, a1), store4d(acc + j + 8, a2), store4d(acc + j + 12, a3);
  }
  for (; j < width; ++j)
    for (int64_t r = 0; r < rows; ++r) acc[j] += static_cast<double>(x[r * stride + j]);
}

NETKIT_VECTOR_CLONES void rows_squared_deviation(const float* x, int64_t rows, int64_t stride, int64_t width,
                                                 const double* center, double* acc) {
  int64_t j = 0;
  for (; j + 16 <= width; j += 16) {
    v4d a0 = load4d(acc + j), a1 = load4d(acc + j + 4), a2 = load4d(acc + j + 8), a3 = load4d(acc + j + 12);
    const v4d c0 = load4d(center + j), c1 = load4d(center + j + 4), c2 = load4d(center + j + 8),
              c3 = load4d(center + j + 12);
    for (int64_t r = 0; r < rows; ++r) {
      const float* p = x + r * stride + j;
      const v4d d0 = widen(load4f(p)) - c0, d1 = widen(load4f(p + 4)) - c1;
      const v4d d2 = widen(load4f(p + 8)) - c2, d3 = widen(load4f(p + 12)) - c3;
      a0 += d0 * d0, a1 += d1 * d1, a2 += d2 * d2, a3 += d3 * d3;
    }
    store4d(acc + j, a0), store4d(acc + j + 4, a1), store4d(acc + j + 8, a2), store4d(acc + j + 12, a3);
  }
  for (; j < width; ++j)
    for (int64_t r = 0; r < rows; ++r) {
      const double d = static_cast<double>(x[r * stride + j]) - center[j];
      acc[j] += d * d;
    }
}

// Sums of g and of g (x - center), x - center in float as the forward pass forms it.
NETKIT_VECTOR_CLONES void rows_gradient_sums(const float* x, const float* g, int64_t rows, int64_t stride,
                                             int64_t width, const float* center, double* acc_g, double* acc_gx) {
  int64_t j = 0;
  for (; j + 8 <= width; j += 8) {
    v4d s0 = load4d(acc_g + j), s1 = load4d(acc_g + j + 4), p0 = load4d(acc_gx + j), p1 = load4d(acc_gx + j + 4);
    const v4f c0 = load4f(center + j), c1 = load4f(center + j + 4);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t off = r * stride + j;
      const v4d h0 = widen(load4f(g + off)), h1 = widen(load4f(g + off + 4));
      s0 += h0, s1 += h1;
      p0 += h0 * widen(load4f(x + off) - c0), p1 += h1 * widen(load4f(x + off + 4) - c1);
    }
    store4d(acc_g + j, s0), store4d(acc_g + j + 4, s1), store4d(acc_gx + j, p0), store4d(acc_gx + j + 4, p1);
  }
  for (; j < width; ++j)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t off = r * stride + j;
      acc_g[j] += static_cast<double>(g[off]);
      acc_gx[j] += static_cast<double>(g[off]) * static_cast<double>(x[off] - center[j]);
    }
}


NETKIT_VECTOR_CLONES void add_into(double* __restrict total, const double* __restrict part, int64_t n) {
  for (int64_t i = 0; i < n; ++i) total[i] += part[i];
}

}  // namespace netkit::kernels::batch_norm_loops
