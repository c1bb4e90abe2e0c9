#include <netkit/layers/kernels/softmax.h>

#include <algorithm>
#include <cmath>

#include <netkit/core/parallel.h>

namespace netkit::kernels {

namespace {

// Lanes of `inner` handled together: the loops over the axis run over a block of adjacent
// (outer, inner) rows at once, so channel-first data is read along memory. The blocks depend
// on the dims alone, never on the thread count.
constexpr int64_t kLanes = 64;

// Calls body(o, i0, i1) for every block of lanes [i0, i1) of every outer index o, in parallel.
template <class F>
void for_each_block(SoftmaxDims d, F&& body) {
  const int64_t blocks = (d.inner + kLanes - 1) / kLanes;
  parallel_for(d.outer * blocks, [&](int64_t unit) {
    const int64_t o = unit / blocks, i0 = (unit % blocks) * kLanes;
    body(o, i0, std::min(i0 + kLanes, d.inner));
  });
}

}  // namespace

void softmax_forward(const float* x, SoftmaxDims d, float* y) {
  for_each_block(d, [&](int64_t o, int64_t i0, int64_t i1) {
    const int64_t n = i1 - i0, stride = d.inner;
    const float* xo = x + o * d.axis * stride + i0;
    float* yo = y + o * d.axis * stride + i0;
    float m[kLanes];
    double sum[kLanes];
    for (int64_t i = 0; i < n; ++i) m[i] = xo[i], sum[i] = 0.0;
    for (int64_t c = 1; c < d.axis; ++c)
      for (int64_t i = 0; i < n; ++i) m[i] = std::max(m[i], xo[c * stride + i]);
    // e_c = exp(x_c - m) <= 1, stored in y, summed in double.
    for (int64_t c = 0; c < d.axis; ++c)
      for (int64_t i = 0; i < n; ++i) {
        const float e = std::exp(xo[c * stride + i] - m[i]);
        yo[c * stride + i] = e;
        sum[i] += e;
      }
    float inv[kLanes];
    for (int64_t i = 0; i < n; ++i) inv[i] = static_cast<float>(1.0 / sum[i]);
    for (int64_t c = 0; c < d.axis; ++c)
      for (int64_t i = 0; i < n; ++i) yo[c * stride + i] *= inv[i];
  });
}

void softmax_backward(const float* y, const float* g, SoftmaxDims d, float* dx, bool accumulate) {
  for_each_block(d, [&](int64_t o, int64_t i0, int64_t i1) {
    const int64_t n = i1 - i0, stride = d.inner, offset = o * d.axis * stride + i0;
    const float *yo = y + offset, *go = g + offset;
    float* dxo = dx + offset;
    // s = sum_c g_c y_c, in double.
    double s[kLanes];
    for (int64_t i = 0; i < n; ++i) s[i] = 0.0;
    for (int64_t c = 0; c < d.axis; ++c)
      for (int64_t i = 0; i < n; ++i) s[i] += static_cast<double>(go[c * stride + i]) * yo[c * stride + i];
    float sf[kLanes];
    for (int64_t i = 0; i < n; ++i) sf[i] = static_cast<float>(s[i]);
    for (int64_t c = 0; c < d.axis; ++c)
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = c * stride + i;
        const float v = yo[k] * (go[k] - sf[i]);
        dxo[k] = accumulate ? dxo[k] + v : v;
      }
  });
}

}  // namespace netkit::kernels
