#include <netkit/layers/kernels/elementwise.h>

#include <algorithm>
#include <cmath>

#include <netkit/core/parallel.h>
#include <netkit/layers/kernels/instruction_set.h>

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

// ---- the vectorising loops: ramp forward, and every backward dx (+)= g f' -----------------------

struct Loops {
  void (*ramp_forward)(const float* __restrict x, float* __restrict y, int64_t n);
  void (*ramp_backward)(const float* __restrict x, const float* __restrict g, float* __restrict dx, int64_t n,
                        bool accumulate);
  void (*tanh_backward)(const float* __restrict y, const float* __restrict g, float* __restrict dx, int64_t n,
                        bool accumulate);
  void (*logistic_sigmoid_backward)(const float* __restrict y, const float* __restrict g, float* __restrict dx,
                                    int64_t n, bool accumulate);
};

#define NETKIT_VARIANT_BODY <netkit/layers/kernels/elementwise_loops.inc>
#include <netkit/layers/kernels/instruction_set_variants.inc>

const Loops& loops() { return variant(baseline::table, avx2::table, avx512::table); }

}  // namespace

void elementwise_forward(ElementwiseFunction f, const float* x, float* y, int64_t n) {
  in_chunks(n, [&](int64_t begin, int64_t count) {
    switch (f) {
      case ElementwiseFunction::Ramp:
        return loops().ramp_forward(x + begin, y + begin, count);
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
        return loops().ramp_backward(x + begin, g + begin, dx + begin, count, accumulate);
      case ElementwiseFunction::Tanh:
        return loops().tanh_backward(y + begin, g + begin, dx + begin, count, accumulate);
      case ElementwiseFunction::LogisticSigmoid:
        return loops().logistic_sigmoid_backward(y + begin, g + begin, dx + begin, count, accumulate);
    }
  });
}

}  // namespace netkit::kernels
