// Elementwise activation kernels: y = f(x) and its backward pass, for n contiguous floats.
// Every element is computed on its own, so results cannot depend on the thread count; the work
// is split into chunks fixed by n alone, as in every netkit kernel. Tanh and LogisticSigmoid
// call libm (tanhf, expf: within an ulp or two, possibly different in the last bit between
// libm versions); the other loops are plain IEEE arithmetic and vectorise.
#pragma once

#include <cstdint>

namespace netkit::kernels {

enum class ElementwiseFunction {
  Ramp,             // max(x, 0) (ReLU)
  Tanh,             // tanh(x)
  LogisticSigmoid,  // 1 / (1 + exp(-x))
};

// y = f(x); x and y: [n], not overlapping.
//   Ramp:            x < 0 ? 0 : x (so -0 and NaN pass through unchanged, as in PyTorch)
//   Tanh:            std::tanh(x), which saturates to exactly +-1
//   LogisticSigmoid: e = exp(-|x|); x >= 0 ? 1 / (1 + e) : e / (1 + e). exp never sees a
//                    positive argument, so nothing overflows: +-1e4 and +-FLT_MAX give exactly
//                    1 and 0, and small outputs keep their relative precision.
void elementwise_forward(ElementwiseFunction f, const float* x, float* y, int64_t n);

// dx (+)= g f'(x); x, y (the forward output), g = dL/dy and dx: [n]. accumulate false: dx is
// written without being read. Each derivative comes from the value it is exact for:
//   Ramp:            f'(x) = x > 0 ? 1 : 0, from x. f'(0) is defined as 0 (PyTorch's
//                    convention); it is dx = g where x > 0, else 0, so an infinite g never
//                    becomes NaN through 0 * g.
//   Tanh:            f' = 1 - y^2, formed as (1 - y)(1 + y): the factor that vanishes near
//                    saturation (1 - |y|) is exact for |y| >= 0.5, so y's own rounding is the
//                    only error there (1 - y * y would add the rounding of y * y).
//   LogisticSigmoid: f' = y (1 - y) (1 - y is exact for y >= 0.5).
void elementwise_backward(ElementwiseFunction f, const float* x, const float* y, const float* g, float* dx, int64_t n,
                          bool accumulate);

}  // namespace netkit::kernels
