// Pooling kernels: max or mean over the windows of each (example, channel) plane.
//   X [P, H, W] (P = batch * channels planes), Y = G = dL/dY [P, OH, OW], dX [P, H, W].
// 1-D pooling is a plane of height 1 (H = OH = kernel_h = stride_h = 1, pad_h = 0).
// Window (oh, ow) covers rows oh*sh - ph ... oh*sh - ph + kh - 1 of the input padded by ph rows
// on both sides, and likewise for columns; OH = floor((H + 2 ph - kh) / sh) + 1 (PyTorch's
// ceil_mode = False). The padding is never stored: each window is clipped to the input.
//   Max:  padding counts as -infinity, so it never wins; with 2 p <= k (PyTorch's rule, checked
//         by the layer) every window overlaps the input, so y is a real input value.
//   Mean: padding counts as 0 and the divisor is always kh * kw (PyTorch's count_include_pad).
// Every plane is computed by one thread in a fixed order, so results do not depend on the
// thread count.
#pragma once

#include <cstdint>

namespace netkit::kernels {

enum class PoolFunction { Max, Mean };

struct PoolDims {
  int64_t planes = 0;
  int64_t in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

// floor((in + 2 pad - kernel) / stride) + 1; may be < 1 (the caller reports that).
int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad);

// Y = pool(X).
//   Max:  y = max over the window (NaN wins, as in PyTorch: a NaN input is never hidden).
//   Mean: y = (sum over the window, in row-major window order, in float) / (kh kw).
void pool_forward(PoolFunction f, const float* x, PoolDims d, float* y);

// dX (+)= the gradient of Y = pool(X); accumulate false writes dX without reading it.
//   Max:  y_o = x_a(o), with a(o) the FIRST maximum of window o in row-major order (the
//         strict > of the scan; PyTorch's tie rule), so dL/dx_i = sum over {o : a(o) = i} g_o.
//         The argmax is found again from X rather than stored.
//   Mean: y_o = (1 / A) sum_{i in window o} x_i with A = kh kw, so
//         dL/dx_i = sum over {o : i in window o} g_o / A (padding positions get nothing).
// Contributions are added output by output in row-major order.
void pool_backward(PoolFunction f, const float* x, const float* g, PoolDims d, float* dx, bool accumulate);

// The same two functions for any geometry: the window-clipping loops. pool_forward and
// pool_backward use them except for kernel 2x2, stride 2, no padding, which has a block path
// giving the same bits (tests/test_pooling.cpp compares the two).
void pool_forward_windows(PoolFunction f, const float* x, PoolDims d, float* y);
void pool_backward_windows(PoolFunction f, const float* x, const float* g, PoolDims d, float* dx, bool accumulate);

}  // namespace netkit::kernels
