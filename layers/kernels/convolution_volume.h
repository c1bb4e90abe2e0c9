// 3-D convolution kernels, channels first:
//   X [N, C, D, H, W], Wt [OC, C/G, KD, KH, KW], b [OC], Y [N, OC, OD, OH, OW], G = dL/dY,
//   Y[n, o, z, i, j] = b[o] + sum_{c, r, p, q} Wt[o, c, r, p, q] X[n, ., z sd - pd + r dd, i sh - ph + p dh, j sw - pw
//   + q dw]
// (terms outside the input are zero).
//
// Method: a sum of 2-D convolutions (layers/kernels/convolution.h). X and G are stored depth
// first, [D, N, C, H, W], so that one depth slice of the whole batch is a contiguous 2-D batch;
// then for every output depth z and kernel depth r whose input depth t = z sd - pd + r dd is
// inside the input, the 2-D kernels run on slice t with the weights' depth-r slice:
//   Y[., ., z] = b + sum_r conv2d(X[., ., t], Wt[., ., r])            (r in increasing order)
//   dX[., ., t] += conv2d_input_gradient(G[., ., z], Wt[., ., r]),  dWt[., ., r] += conv2d_weight_gradient(...)
//   db[o] = sum of G[., o, ...] in double.
// Every sum runs in an order fixed by the geometry, and the 2-D kernels do not depend on the
// thread count, so neither does this. Not tuned for speed: it costs the 2-D kernels' time times
// the number of (z, r) pairs, plus copies of X, G and Y in depth-first order.
#pragma once

#include <cstdint>

#include <netkit/layers/kernels/convolution.h>

namespace netkit::kernels {

struct VolumeDims {
  ConvDims plane;  // batch, channels, groups and the height / width geometry of one depth slice
  int64_t in_d = 1, out_d = 1, kernel_d = 1, stride_d = 1, pad_d = 0, dilation_d = 1;
};

// Y = conv3d(X, Wt) + b; b may be null.
void conv_volume_forward(const float* x, const float* w, const float* b, const VolumeDims& d, float* y);

// Backward of conv_volume_forward: dx written (accumulate false) or added to; dw and db added to.
// dx, dw and db may each be null.
void conv_volume_backward(const float* x, const float* w, const float* g, const VolumeDims& d, float* dx,
                          bool accumulate, float* dw, float* db);

}  // namespace netkit::kernels
