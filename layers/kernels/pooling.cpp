#include <netkit/layers/kernels/pooling.h>

#include <algorithm>
#include <limits>
#include <vector>

#include <netkit/core/parallel.h>
#include <netkit/layers/kernels/vector_clones.h>

namespace netkit::kernels {

namespace {

// The part of window o inside the input along one dimension: [lo, hi), never empty when 2 p <= k.
struct Range {
  int64_t lo, hi;
};

std::vector<Range> window_ranges(int64_t out, int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  std::vector<Range> r(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * stride - pad;
    r[static_cast<size_t>(o)] = {std::max<int64_t>(start, 0), std::min(start + kernel, in)};
  }
  return r;
}

struct Windows {
  std::vector<Range> rows, cols;
};

Windows windows_of(const PoolDims& d) {
  return {window_ranges(d.out_h, d.in_h, d.kernel_h, d.stride_h, d.pad_h),
          window_ranges(d.out_w, d.in_w, d.kernel_w, d.stride_w, d.pad_w)};
}

// The first maximum of a window of plane x (row length w) in row-major order, and its index.
// A NaN replaces the maximum (NaN propagates, as in PyTorch). Written with selects, not jumps.
struct ArgMax {
  float value;
  int64_t index;
};

inline ArgMax window_argmax(const float* x, int64_t w, Range r, Range c) {
  ArgMax m{-std::numeric_limits<float>::infinity(), r.lo * w + c.lo};
  for (int64_t h = r.lo; h < r.hi; ++h) {
    const float* row = x + h * w;
    for (int64_t j = c.lo; j < c.hi; ++j) {
      const float v = row[j];
      const bool take = (v > m.value) | (v != v);
      m.value = take ? v : m.value;
      m.index = take ? h * w + j : m.index;
    }
  }
  return m;
}

void max_forward_plane(const float* x, const PoolDims& d, const Windows& win, float* y) {
  for (int64_t oh = 0; oh < d.out_h; ++oh)
    for (int64_t ow = 0; ow < d.out_w; ++ow)
      y[oh * d.out_w + ow] =
          window_argmax(x, d.in_w, win.rows[static_cast<size_t>(oh)], win.cols[static_cast<size_t>(ow)]).value;
}

// The output row doubles as the accumulator: for each input row of the window, every output
// of the row adds its columns. Each output still sums its window in row-major order.
void mean_forward_plane(const float* x, const PoolDims& d, const Windows& win, float* y) {
  const float area = static_cast<float>(d.kernel_h * d.kernel_w);
  for (int64_t oh = 0; oh < d.out_h; ++oh) {
    float* yr = y + oh * d.out_w;
    std::fill(yr, yr + d.out_w, 0.0f);
    const Range r = win.rows[static_cast<size_t>(oh)];
    for (int64_t h = r.lo; h < r.hi; ++h) {
      const float* row = x + h * d.in_w;
      for (int64_t ow = 0; ow < d.out_w; ++ow) {
        const Range c = win.cols[static_cast<size_t>(ow)];
        float s = yr[ow];
        for (int64_t j = c.lo; j < c.hi; ++j) s += row[j];
        yr[ow] = s;
      }
    }
    for (int64_t ow = 0; ow < d.out_w; ++ow) yr[ow] /= area;
  }
}

void max_backward_plane(const float* x, const float* g, const PoolDims& d, const Windows& win, float* dx) {
  for (int64_t oh = 0; oh < d.out_h; ++oh)
    for (int64_t ow = 0; ow < d.out_w; ++ow) {
      const ArgMax m = window_argmax(x, d.in_w, win.rows[static_cast<size_t>(oh)], win.cols[static_cast<size_t>(ow)]);
      dx[m.index] += g[oh * d.out_w + ow];
    }
}

void mean_backward_plane(const float* g, const PoolDims& d, const Windows& win, float* dx) {
  const float area = static_cast<float>(d.kernel_h * d.kernel_w);
  for (int64_t oh = 0; oh < d.out_h; ++oh) {
    const Range r = win.rows[static_cast<size_t>(oh)];
    for (int64_t ow = 0; ow < d.out_w; ++ow) {
      const Range c = win.cols[static_cast<size_t>(ow)];
      const float share = g[oh * d.out_w + ow] / area;
      for (int64_t h = r.lo; h < r.hi; ++h) {
        float* row = dx + h * d.in_w;
        for (int64_t j = c.lo; j < c.hi; ++j) row[j] += share;
      }
    }
  }
}

// Kernel 2x2, stride 2, no padding (the example CNNs' pooling): windows do not overlap and lie
// inside the input, so each output reads one 2x2 block and each input gets at most one term.
// Same operation order as the general planes above, so the same bits (0 + v, not v, keeps the
// sign rules of the general path's zero-initialised accumulators).
bool is_2x2_stride_2(const PoolDims& d) {
  return d.kernel_h == 2 && d.kernel_w == 2 && d.stride_h == 2 && d.stride_w == 2 && d.pad_h == 0 && d.pad_w == 0;
}

// Position (0..3, row-major in the block) of the first maximum of a, b, c, d; NaN wins.
inline int block_argmax(float a, float b, float c, float d, float& value) {
  float m = a;
  int at = 0;
  const bool tb = (b > m) | (b != b);
  m = tb ? b : m, at = tb ? 1 : at;
  const bool tc = (c > m) | (c != c);
  m = tc ? c : m, at = tc ? 2 : at;
  const bool td = (d > m) | (d != d);
  m = td ? d : m, at = td ? 3 : at;
  value = m;
  return at;
}

NETKIT_VECTOR_CLONES void forward_2x2_plane(PoolFunction f, const float* x, const PoolDims& d, float* y) {
  for (int64_t oh = 0; oh < d.out_h; ++oh) {
    const float* r0 = x + 2 * oh * d.in_w;
    const float* r1 = r0 + d.in_w;
    float* yr = y + oh * d.out_w;
    if (f == PoolFunction::Max) {
      for (int64_t ow = 0; ow < d.out_w; ++ow) {
        float m;
        block_argmax(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], m);
        yr[ow] = m;
      }
    } else {
      for (int64_t ow = 0; ow < d.out_w; ++ow)
        yr[ow] = (((0.0f + r0[2 * ow]) + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1];
      for (int64_t ow = 0; ow < d.out_w; ++ow) yr[ow] /= 4.0f;
    }
  }
}

// dX of one plane; with accumulate false, rows and columns past the last block (odd sizes) are
// left to the caller's zero fill. Max: only the argmax cell takes g; the others keep their value
// (v + 0 would turn -0 into +0, so they are written back unchanged instead).
template <bool kAccumulate>
void backward_2x2_plane(PoolFunction f, const float* x, const float* g, const PoolDims& d, float* dx) {
  for (int64_t oh = 0; oh < d.out_h; ++oh) {
    const float* r0 = x + 2 * oh * d.in_w;
    const float* r1 = r0 + d.in_w;
    float* d0 = dx + 2 * oh * d.in_w;
    float* d1 = d0 + d.in_w;
    const float* gr = g + oh * d.out_w;
    if (f == PoolFunction::Mean) {
      for (int64_t ow = 0; ow < d.out_w; ++ow) {
        const float share = gr[ow] / 4.0f;
        float* c0 = d0 + 2 * ow;
        float* c1 = d1 + 2 * ow;
        c0[0] = (kAccumulate ? c0[0] : 0.0f) + share, c0[1] = (kAccumulate ? c0[1] : 0.0f) + share;
        c1[0] = (kAccumulate ? c1[0] : 0.0f) + share, c1[1] = (kAccumulate ? c1[1] : 0.0f) + share;
      }
      continue;
    }
    for (int64_t ow = 0; ow < d.out_w; ++ow) {
      float m;
      const int at = block_argmax(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], m);
      const float v = gr[ow];
      float* c0 = d0 + 2 * ow;
      float* c1 = d1 + 2 * ow;
      const float b0 = kAccumulate ? c0[0] : 0.0f, b1 = kAccumulate ? c0[1] : 0.0f;
      const float b2 = kAccumulate ? c1[0] : 0.0f, b3 = kAccumulate ? c1[1] : 0.0f;
      c0[0] = at == 0 ? b0 + v : b0;
      c0[1] = at == 1 ? b1 + v : b1;
      c1[0] = at == 2 ? b2 + v : b2;
      c1[1] = at == 3 ? b3 + v : b3;
    }
  }
}

NETKIT_VECTOR_CLONES void backward_2x2(PoolFunction f, const float* x, const float* g, const PoolDims& d, float* dx,
                                       bool accumulate) {
  if (accumulate)
    backward_2x2_plane<true>(f, x, g, d, dx);
  else
    backward_2x2_plane<false>(f, x, g, d, dx);
}

}  // namespace

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  const int64_t span = in + 2 * pad - kernel;
  // Floor division also for a negative span (C++ rounds toward zero).
  return (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
}

void pool_forward(PoolFunction f, const float* x, PoolDims d, float* y) {
  if (!is_2x2_stride_2(d)) return pool_forward_windows(f, x, d, y);
  const int64_t in_plane = d.in_h * d.in_w, out_plane = d.out_h * d.out_w;
  parallel_for(d.planes, [&](int64_t p) { forward_2x2_plane(f, x + p * in_plane, d, y + p * out_plane); });
}

void pool_forward_windows(PoolFunction f, const float* x, PoolDims d, float* y) {
  const int64_t in_plane = d.in_h * d.in_w, out_plane = d.out_h * d.out_w;
  const Windows win = windows_of(d);
  parallel_for(d.planes, [&](int64_t p) {
    if (f == PoolFunction::Max)
      max_forward_plane(x + p * in_plane, d, win, y + p * out_plane);
    else
      mean_forward_plane(x + p * in_plane, d, win, y + p * out_plane);
  });
}

void pool_backward(PoolFunction f, const float* x, const float* g, PoolDims d, float* dx, bool accumulate) {
  if (!is_2x2_stride_2(d)) return pool_backward_windows(f, x, g, d, dx, accumulate);
  const int64_t in_plane = d.in_h * d.in_w, out_plane = d.out_h * d.out_w;
  // Even sizes: every dX element is written by its block, so no fill is needed.
  const bool covered = d.in_h == 2 * d.out_h && d.in_w == 2 * d.out_w;
  parallel_for(d.planes, [&](int64_t p) {
    float* dxp = dx + p * in_plane;
    if (!accumulate && !covered) std::fill(dxp, dxp + in_plane, 0.0f);
    backward_2x2(f, x + p * in_plane, g + p * out_plane, d, dxp, accumulate);
  });
}

void pool_backward_windows(PoolFunction f, const float* x, const float* g, PoolDims d, float* dx, bool accumulate) {
  const int64_t in_plane = d.in_h * d.in_w, out_plane = d.out_h * d.out_w;
  const Windows win = windows_of(d);
  parallel_for(d.planes, [&](int64_t p) {
    float* dxp = dx + p * in_plane;
    if (!accumulate) std::fill(dxp, dxp + in_plane, 0.0f);
    if (f == PoolFunction::Max)
      max_backward_plane(x + p * in_plane, g + p * out_plane, d, win, dxp);
    else
      mean_backward_plane(g + p * out_plane, d, win, dxp);
  });
}

}  // namespace netkit::kernels
