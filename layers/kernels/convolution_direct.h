// Direct (implicit-GEMM) convolution for stride 1, dilation 1, one channel group and small maps:
// no unfolded matrix, the products are summed in vector registers straight from a zero-padded copy
// of one example. conv_forward / conv_backward (layers/kernels/convolution.h) take it where
// conv_direct_applies says so, by the geometry alone.
//
// Method. One example's source [C, SH, SW] is copied into a zero-padded panel P [C, PH, PW] with
// PH = OH + KH - 1 and PW = OW + KW - 1 (P[c, r, s] = src[c, r - top, s - left], 0 outside). Then
//   out[o, i, j] = sum_{c, p, q} wk[o, c, p, q] P[c, i + p, j + q].
// Read P of a channel as a flat vector: with t = i PW + j the term is P_flat[c PH PW + p PW + q + t],
// so out_flat[o, t] = sum_k wk[o, k] P_flat[off_k + t] with off_k = c PH PW + p PW + q, k = (c, p, q)
// in that order: a one-dimensional correlation over t in [0, OH PW). The columns j >= OW of
// out_flat are not outputs (they mix neighbouring rows) and are dropped when out_flat is copied
// out; they cost (KW - 1) / PW of the work. A tile of 4 vectors of 16 consecutive t times 6
// output channels keeps 24 vector sums in registers; every tap k loads 4 vectors of P and 6
// weights. Each out_flat element is 0 + the terms in the order of k, with the bias added last
// (forward) or the sum added onto dX (accumulate): the order is fixed by the source. Each term is
// one fused multiply-add on CPUs with FMA (this file alone is built with -ffp-contract=fast), so
// every such CPU gives the same bits; CPUs without FMA round the product first.
//
// Forward: src = X_n, wk = Wt, top = ph, left = pw.
// dX (stride 1): dX[c, h, w] = sum_{o, p, q} G[o, i, j] Wt[o, c, p, q] with i = h + ph - p, i.e.
// with p' = KH - 1 - p, i = h - (KH - 1 - ph) + p': the correlation of G with the kernel
// wk[c, o, p', q'] = Wt[o, c, KH - 1 - p', KW - 1 - q'] (transposed and flipped) and
// top = KH - 1 - ph, left = KW - 1 - pw (negative when the padding exceeds the kernel: P then
// starts inside G). Its output is [C, H, W].
// dWt[o, c, p, q] = sum_{n, i, j} G[n, o, i, j] P_n[c, i + p, j + q]: see DirectWeightGradient.
// db stays in layers/kernels/convolution.cpp.
//
// Threads: layers/kernels/convolution.cpp hands out whole examples forward and its fixed chunks of
// examples backward, each computed by one thread alone; so the results do not depend on the
// thread count. Measurements: docs/convolution.md ("Direct
// convolution for small maps").
#pragma once

#include <cstdint>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/layers/kernels/convolution.h>

namespace netkit::kernels {

// Whether the direct path can run this geometry: stride 1, dilation 1, one group, kernels up to 7x7.
bool conv_direct_supports(const ConvDims& d);
// Whether conv_forward / conv_backward take it (by the geometry alone): supported, not the 1x1
// unpadded case (sgemm reads X in place there), at least 8 input and 8 output channels and 128
// channel pairs (with fewer, copying the example and transposing G cost more than the products
// save: the backward pass measured slower for 1 -> 16, 4 -> 16 and 8 -> 8 channels, faster for
// 8 -> 16, 16 -> 8, 16 -> 16, 16 -> 32 and 32 -> 64), and panels of at most 2^16 floats (256 KiB)
// for the forward and the dX pass.
bool conv_direct_applies(const ConvDims& d);

// The correlation of one example (see above): src [channels, src_h, src_w] -> out [out_channels,
// out_h, out_w], P[c, r, s] = src[c, r - top, s - left].
struct DirectShape {
  int64_t channels = 0, out_channels = 0, src_h = 0, src_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, top = 0, left = 0;
};
DirectShape direct_forward_shape(const ConvDims& d);
DirectShape direct_input_gradient_shape(const ConvDims& d);

class DirectCorrelation {
 public:
  // w is the layer's Wt [OC, C, KH, KW]; flipped: wk is Wt transposed and flipped (the dX pass).
  DirectCorrelation(const DirectShape& s, const float* w, bool flipped);
  // Floats of workspace run needs (the panel and out_flat).
  int64_t workspace_floats() const { return panel_floats_ + out_floats_; }
  // out = corr(src) (+ bias[o] if bias is not null), or out += corr(src) when accumulating.
  // next_src (may be null): the next example's source, prefetched while this one computes.
  void run(const float* src, const float* bias, float* out, bool accumulate, float* workspace,
           const float* next_src = nullptr) const;

 private:
  DirectShape s_;
  int64_t pw_, ph_, vectors_, taps_, panel_floats_, out_floats_;
  std::vector<int64_t> offsets_;  // off_k
  FloatBuffer packed_;            // per block of 6 output channels: [k, 6] (the last block narrower)
};

// dWt of one example, added onto a partial sum kept transposed and padded: partial[k, o]
// (k = (c, p, q) < patch, rows partial_stride() apart; rows up to partial_rows() are scratch) +=
// 0 + sum over the outputs (i, j) in row order of P[c, i + p, j + q] G[o, i, j], P the padded X.
// Vectors of 16 output channels (G transposed per example into GT [OH OW, OC rounded up to 16])
// times up to 24 taps broadcast from P stay in registers for the whole example.
class DirectWeightGradient {
 public:
  explicit DirectWeightGradient(const ConvDims& d);
  int64_t workspace_floats() const { return panel_floats_ + s_.out_h * s_.out_w * ocv_; }
  int64_t partial_rows() const { return rows_; }
  int64_t partial_stride() const { return ocv_; }
  void add(const float* x, const float* g, float* partial, float* workspace, const float* next_x = nullptr,
           const float* next_g = nullptr) const;

 private:
  DirectShape s_;
  int64_t pw_, ph_, ocv_, rows_, panel_floats_;
  std::vector<int64_t> offsets_;  // off_k, 0 for the scratch rows
};

}  // namespace netkit::kernels
