// Softmax kernels. The batch is viewed as [outer, axis, inner] (row-major): softmax runs along
// `axis` for every (outer, inner) pair, independently. For the last dimension inner = 1; for
// the channels of a channel-first [C, H, W] example outer = batch, axis = C, inner = H W.
//
// Every output element is computed by one thread from its own row, in a fixed order, so the
// results do not depend on the thread count. Sums are accumulated in double.
#pragma once

#include <cstdint>

namespace netkit::kernels {

struct SoftmaxDims {
  int64_t outer = 0, axis = 0, inner = 1;
};

// y_c = exp(x_c - m) / sum_k exp(x_k - m), m = max_k x_k (along the axis). Subtracting the
// maximum keeps every exp argument <= 0: nothing overflows, the largest term is exactly 1 and
// the sum lies in [1, axis], so logits of any finite size give finite outputs (1e4 next to 0
// gives exactly 1 and 0). x and y: [outer, axis, inner], not overlapping.
void softmax_forward(const float* x, SoftmaxDims d, float* y);

// Backward of y = softmax(x). With dy_c/dx_j = y_c (delta_cj - y_j):
//   dL/dx_j = sum_c g_c y_c (delta_cj - y_j) = y_j (g_j - sum_c g_c y_c).
// Only y (the forward output) is needed, never exp of x. g = dL/dy and dx: [outer, axis, inner].
// accumulate false: dx is written without being read; true: dx +=.
void softmax_backward(const float* y, const float* g, SoftmaxDims d, float* dx, bool accumulate);

}  // namespace netkit::kernels
