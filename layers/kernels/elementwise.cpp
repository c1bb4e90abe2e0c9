#include <netkit/layers/kernels/elementwise.h>

#include <algorithm>
#include <cmath>

#include <netkit/core/parallel.h>
#include <netkit/layers/kernels/vector_clones.h>

namespace netkit::kernels {

namespace {

// 64 KiB of floats per task: enough work to outweigh handing the task out, and few enough
// values that an activation batch of some tens of thousands still spreads over the threads.
constexpr int64_t kChunk = 16384;

// body(begin, count) over [0, n) in chunks fixed by n alone.
template <class Body>
void in_chunks(int64_t n, Body&& body) {
  parallel_chunks(n, kChunk, [&](int64_t begin, int64_t end) { body(begin, end - begin); });
}

// ---- forward ----------------------------------------------------------------------------------

NETKIT_VECTOR_CLONES void ramp_forward(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

// libm's tanhf and expf do not vectorise without -ffast-math; the loops stay scalar calls.
void tanh_forward(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

void logistic_sigmoid_forward(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp(-std::abs(x[i]));  // in [0, 1]: never overflows
    y[i] = (x[i] >= 0.0f ? 1.0f : e) / (1.0f + e);
  }
}

// ---- backward: dx (+)= g f' -------------------------------------------------------------------

NETKIT_VECTOR_CLONES void ramp_backward(const float* __restrict x, const float* __restrict g, float* __restrict dx,
                                        int64_t n, bool accumulate) {
  // A select, not g * (x > 0): an infinite g must give 0, not NaN, where the ramp is flat.
  if (accumulate)
    for (int64_t i = 0; i < n; ++i) dx[i] += x[i] > 0.0f ? g[i] : 0.0f;
  else
    for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? g[i] : 0.0f;
}

NETKIT_VECTOR_CLONES void tanh_backward(const float* __restrict y, const float* __restrict g, float* __restrict dx,
                                        int64_t n, bool accumulate) {
  if (accumulate)
    for (int64_t i = 0; i < n; ++i) dx[i] += g[i] * ((1.0f - y[i]) * (1.0f + y[i]));
  else
    for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * ((1.0f - y[i]) * (1.0f + y[i]));
}

NETKIT_VECTOR_CLONES void logistic_sigmoid_backward(const float* __restrict y, const float* __restrict g,
                                                    float* __restrict dx, int64_t n, bool accumulate) {
  if (accumulate)
    for (int64_t i = 0; i < n; ++i) dx[i] += g[i] * (y[i] * (1.0f - y[i]));
  else
    for (int64_t i = 0; i < n; ++i) dx[i] = g[i] * (y[i] * (1.0f - y[i]));
}

}  // namespace

void elementwise_forward(ElementwiseFunction f, const float* x, float* y, int64_t n) {
  in_chunks(n, [&](int64_t begin, int64_t count) {
    switch (f) {
      case ElementwiseFunction::Ramp:
        return ramp_forward(x + begin, y + begin, count);
      case ElementwiseFunction::Tanh:
        return tanh_forward(x + begin, y + begin, count);
      case ElementwiseFunction::LogisticSigmoid:
        return logistic_sigmoid_forward(x + begin, y + begin, count);
    }
  });
}

void elementwise_backward(ElementwiseFunction f, const float* x, const float* y, const float* g, float* dx, int64_t n,
                          bool accumulate) {
  in_chunks(n, [&](int64_t begin, int64_t count) {
    switch (f) {
      case ElementwiseFunction::Ramp:
        return ramp_backward(x + begin, g + begin, dx + begin, count, accumulate);
      case ElementwiseFunction::Tanh:
        return tanh_backward(y + begin, g + begin, dx + begin, count, accumulate);
      case ElementwiseFunction::LogisticSigmoid:
        return logistic_sigmoid_backward(y + begin, g + begin, dx + begin, count, accumulate);
    }
  });
}

}  // namespace netkit::kernels
