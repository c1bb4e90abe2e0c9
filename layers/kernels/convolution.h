// Convolution kernels (2-D; a 1-D convolution is the 2-D one with height 1). A batch of N
// examples, channels first, all arrays row-major:
//   X [N, C, H, W], Wt [OC, C/G, KH, KW], b [OC], Y [N, OC, OH, OW], G = dL/dY [N, OC, OH, OW],
// with G channel groups: output channel o sees the input channels of its group only.
//   Y[n, o, i, j] = b[o] + sum_{c, p, q} Wt[o, c, p, q] X[n, g(o) C/G + c, i sh - ph + p dh, j sw - pw + q dw]
// (terms outside the input are zero: padding). ph, pw are the padding before the first row and
// column; the padding after follows from the output size.
//
// Method: im2col + OpenBLAS sgemm. The unfolded input of one example and group is the matrix
//   col[(c KH + p) KW + q, i OW + j] = X[n, g C/G + c, i sh - ph + p dh, j sw - pw + q dw]
// of `patch` = C/G KH KW rows, so Y[n, group g] = Wt_g [OC/G, patch] col [patch, OH OW]. It is
// built a tile of columns at a time (whole output rows where they fit, at most about 1 MiB).
// A 1x1, stride-1, unpadded kernel needs no unfolding at all: col is X itself (the direct path).
// Stride-1, undilated, ungrouped convolutions of small maps (conv_direct_applies) run the direct
// convolution of layers/kernels/convolution_direct.h instead: forward, dX and dWt summed in vector
// registers from a zero-padded copy of each example, no unfolding and no sgemm.
//
// Threads and exactness: work is split into items that depend on the problem alone (an example,
// group and tile for Y; a fixed chunk of examples for all the gradients, at most 8 chunks a
// batch); each item runs in one thread with OpenBLAS single-threaded, and the chunks' partial
// sums of dWt and db are combined in chunk order. So every result is bit-identical for any
// thread count. OpenBLAS is set to one thread for the duration of a call
// (openblas_set_num_threads) and restored afterwards. Partial sums are allocated per call; each
// thread keeps its unfolding workspace between calls.
#pragma once

#include <cstdint>

namespace netkit::kernels {

struct ConvDims {
  int64_t batch = 0;
  int64_t in_channels = 0, out_channels = 0, groups = 1;
  int64_t in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;  // before the first row / column
  int64_t dilation_h = 1, dilation_w = 1;

  int64_t group_in() const { return in_channels / groups; }
  int64_t group_out() const { return out_channels / groups; }
  int64_t in_area() const { return in_h * in_w; }
  int64_t out_area() const { return out_h * out_w; }
  int64_t kernel_area() const { return kernel_h * kernel_w; }
  int64_t patch() const { return group_in() * kernel_area(); }  // rows of one group's col matrix
  // 1x1 kernel, stride 1, no padding: col is the input itself.
  bool direct() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0 &&
           in_h == out_h && in_w == out_w;
  }
};

// Which kernels a call runs: by the geometry (the direct path where conv_direct_applies, else
// im2col + sgemm), or either one forced (tests compare them; the direct path needs stride 1,
// dilation 1, one channel group and kernels up to 7x7, conv_direct_supports).
enum class ConvPath { by_geometry, im2col, direct };

// Y = conv(X, Wt) + b. A tile gets Wt col from sgemm (beta = 0), then b is added; on the direct
// path Y starts as b and sgemm adds Wt X (beta = 1). Either way zero Weights give exactly b. b may
// be null (no biases).
void conv_forward(const float* x, const float* w, const float* b, const ConvDims& d, float* y,
                  ConvPath path = ConvPath::by_geometry);

// Backward of Y = conv(X, Wt) + b. Per example n and group g, Y_n = Wt_g col_n + b with
// dL/dY_n = G_n, so (col_n is linear in X_n: every entry is a copy of one X element or 0)
//   dL/dWt_g = sum_n G_n col_n^T                    (dWt += , partial sums per chunk of examples)
//   dL/db[o] = sum_{n, i, j} G[n, o, i, j]          (db += , in double)
//   dL/dcol_n = Wt_g^T G_n, and dL/dX = col2im(dL/dcol_n): every X element collects the col
//   entries that were copies of it (direct path: col_n = X_n, so dX_n = Wt_g^T G_n).
// dx is written (accumulate false) or added to; dx, dw and db may each be null.
// (dX for stride 1 is also the convolution of G with the flipped, transposed kernel and no
// scattering: with im2col no faster, see docs/convolution.md; the direct path computes it so.)
void conv_backward(const float* x, const float* w, const float* g, const ConvDims& d, float* dx, bool accumulate,
                   float* dw, float* db, ConvPath path = ConvPath::by_geometry);

}  // namespace netkit::kernels
