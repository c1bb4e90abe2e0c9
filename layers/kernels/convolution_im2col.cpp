#include <netkit/layers/kernels/convolution_im2col.h>

#include <algorithm>

namespace netkit::kernels {

namespace {

// floor(a / b) for b > 0 and any sign of a.
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The output columns j of a whole row whose input column j sw + off lies in [0, W): [lo, hi).
struct Span {
  int64_t lo, hi;
};
Span inside(int64_t off, const ConvDims& d) {
  const int64_t lo = std::clamp<int64_t>(-floor_div(off, d.stride_w), 0, d.out_w);                   // ceil(-off / sw)
  const int64_t hi = std::clamp<int64_t>(floor_div(d.in_w - 1 - off, d.stride_w) + 1, lo, d.out_w);  // last + 1
  return {lo, hi};
}

// Visits the pieces of one col row (input channel c, tap p, q) over the columns [c0, c1): for
// each output row i met, the run of output columns [j0, j1) starting at col offset `at`, with the
// input row (or -1 when it is padding) and the part [lo, hi) of the run inside the input.
template <class F>
void for_row_runs(const ConvDims& d, int64_t c0, int64_t c1, int64_t p, int64_t q, F&& run) {
  const int64_t off = q * d.dilation_w - d.pad_w;
  const Span whole = inside(off, d);  // the same for every row
  int64_t i = c0 / d.out_w, j0 = c0 % d.out_w;
  for (int64_t at = 0; at < c1 - c0; ++i, j0 = 0) {
    const int64_t j1 = std::min(d.out_w, j0 + (c1 - c0 - at));
    const int64_t h = i * d.stride_h - d.pad_h + p * d.dilation_h;
    const bool row_inside = h >= 0 && h < d.in_h;
    const int64_t lo = row_inside ? std::clamp(whole.lo, j0, j1) : j0;
    const int64_t hi = row_inside ? std::clamp(whole.hi, lo, j1) : j0;
    run(at, row_inside ? h : -1, j0, j1, lo, hi, off);
    at += j1 - j0;
  }
}

// out[0..n) = 0, without a library call for the short (often empty) runs.
void zero(float* out, int64_t n) {
  if (n > 64)
    std::fill(out, out + n, 0.0f);
  else
    for (int64_t k = 0; k < n; ++k) out[k] = 0.0f;
}

// Columns [0, lo) and [hi, w) of the rows of length w in out[0..n) set to 0: a column or two,
// stored column by column (a tight strided loop each).
void zero_border_columns(float* out, int64_t n, int64_t w, int64_t lo, int64_t hi) {
  for (int64_t j = 0; j < lo; ++j)
    for (int64_t k = j; k < n; k += w) out[k] = 0.0f;
  for (int64_t j = hi; j < w; ++j)
    for (int64_t k = j; k < n; k += w) out[k] = 0.0f;
}

// Stride 1, rows as long as the input's, whole output rows [i0, i1): the valid rows of a col row
// are one contiguous stretch of the input channel shifted by `off` (a straight copy), after which
// the columns that fell outside the input row are set to 0.
void whole_rows(const float* channel, const ConvDims& d, int64_t i0, int64_t i1, int64_t p, int64_t q, float* out) {
  const int64_t w = d.out_w, off = q * d.dilation_w - d.pad_w, shift = p * d.dilation_h - d.pad_h;
  const int64_t v0 = std::clamp(-shift, i0, i1), v1 = std::clamp(d.in_h - shift, v0, i1);  // rows inside
  zero(out, (v0 - i0) * w);
  zero(out + (v1 - i0) * w, (i1 - v1) * w);
  if (v0 == v1) return;
  // out[(i - i0) w + j] = channel[(i + shift) w + j + off] for i in [v0, v1), clipped to the channel
  const int64_t first = (v0 + shift) * w + off, n = (v1 - v0) * w;
  const int64_t k0 = std::clamp<int64_t>(-first, 0, n), k1 = std::clamp<int64_t>(d.in_area() - first, k0, n);
  float* dst = out + (v0 - i0) * w;
  zero(dst, k0);
  std::copy(channel + first + k0, channel + first + k1, dst + k0);
  zero(dst + k1, n - k1);
  const int64_t lo = std::clamp<int64_t>(-off, 0, w), hi = std::clamp<int64_t>(w - off, lo, w);
  zero_border_columns(dst, n, w, lo, hi);
}

// The adjoint of whole_rows: the entries that fell outside the input rows are set to 0 in `in`
// (it is the caller's workspace), then the valid rows add back onto the channel as one
// contiguous stretch (the zeroed entries land on neighbouring elements and add nothing).
void add_whole_rows(float* in, const ConvDims& d, int64_t i0, int64_t i1, int64_t p, int64_t q, float* channel) {
  const int64_t w = d.out_w, off = q * d.dilation_w - d.pad_w, shift = p * d.dilation_h - d.pad_h;
  const int64_t v0 = std::clamp(-shift, i0, i1), v1 = std::clamp(d.in_h - shift, v0, i1);
  if (v0 == v1) return;
  const int64_t lo = std::clamp<int64_t>(-off, 0, w), hi = std::clamp<int64_t>(w - off, lo, w);
  float* src = in + (v0 - i0) * w;
  const int64_t first = (v0 + shift) * w + off, n = (v1 - v0) * w;
  zero_border_columns(src, n, w, lo, hi);
  const int64_t k0 = std::clamp<int64_t>(-first, 0, n), k1 = std::clamp<int64_t>(d.in_area() - first, k0, n);
  float* dst = channel + first + k0;  // channel[first + k] += src[k] for k in [k0, k1)
  for (int64_t k = 0; k < k1 - k0; ++k) dst[k] += src[k0 + k];
}

bool whole_rows_apply(const ConvDims& d, int64_t c0, int64_t c1) {
  return d.stride_h == 1 && d.stride_w == 1 && d.in_w == d.out_w && c0 % d.out_w == 0 && c1 % d.out_w == 0;
}

}  // namespace

void im2col(const float* x, const ConvDims& d, int64_t c0, int64_t c1, float* col, int64_t ld) {
  const int64_t sw = d.stride_w;
  if (whole_rows_apply(d, c0, c1)) {
    for (int64_t c = 0; c < d.group_in(); ++c)
      for (int64_t p = 0; p < d.kernel_h; ++p)
        for (int64_t q = 0; q < d.kernel_w; ++q)
          whole_rows(x + c * d.in_area(), d, c0 / d.out_w, c1 / d.out_w, p, q,
                     col + ((c * d.kernel_h + p) * d.kernel_w + q) * ld);
    return;
  }
  for (int64_t c = 0; c < d.group_in(); ++c)
    for (int64_t p = 0; p < d.kernel_h; ++p)
      for (int64_t q = 0; q < d.kernel_w; ++q) {
        float* row = col + ((c * d.kernel_h + p) * d.kernel_w + q) * ld;
        const float* channel = x + c * d.in_area();
        auto run = [&](int64_t at, int64_t h, int64_t j0, int64_t j1, int64_t lo, int64_t hi, int64_t off) {
          float* out = row + at;  // out[j - j0] for j in [j0, j1)
          for (int64_t j = j0; j < lo; ++j) out[j - j0] = 0.0f;
          if (h >= 0) {
            const float* src = channel + h * d.in_w;  // src[j sw + off] = x[c, h, j sw + off]
            if (sw == 1)
              for (int64_t j = lo; j < hi; ++j) out[j - j0] = src[j + off];
            else
              for (int64_t j = lo; j < hi; ++j) out[j - j0] = src[j * sw + off];
          }
          for (int64_t j = hi; j < j1; ++j) out[j - j0] = 0.0f;
        };
        for_row_runs(d, c0, c1, p, q, run);
      }
}

void col2im_add(float* col, const ConvDims& d, int64_t c0, int64_t c1, int64_t ld, float* x) {
  const int64_t sw = d.stride_w;
  if (whole_rows_apply(d, c0, c1)) {
    for (int64_t c = 0; c < d.group_in(); ++c)
      for (int64_t p = 0; p < d.kernel_h; ++p)
        for (int64_t q = 0; q < d.kernel_w; ++q)
          add_whole_rows(col + ((c * d.kernel_h + p) * d.kernel_w + q) * ld, d, c0 / d.out_w, c1 / d.out_w, p, q,
                         x + c * d.in_area());
    return;
  }
  for (int64_t c = 0; c < d.group_in(); ++c)
    for (int64_t p = 0; p < d.kernel_h; ++p)
      for (int64_t q = 0; q < d.kernel_w; ++q) {
        const float* row = col + ((c * d.kernel_h + p) * d.kernel_w + q) * ld;
        float* channel = x + c * d.in_area();
        for_row_runs(d, c0, c1, p, q,
                     [&](int64_t at, int64_t h, int64_t j0, int64_t, int64_t lo, int64_t hi, int64_t off) {
                       if (h < 0) return;
                       const float* in = row + at;  // in[j - j0]
                       float* dst = channel + h * d.in_w;
                       for (int64_t j = lo; j < hi; ++j) dst[j * sw + off] += in[j - j0];
                     });
      }
}

}  // namespace netkit::kernels
