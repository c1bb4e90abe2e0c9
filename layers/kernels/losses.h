// Loss kernels: cross entropy and mean squared error, one loss value per example.
//
// Cross entropy sees each example as [positions, classes] (row-major): a vector of class
// scores is one position; a per-pixel class map [H, W, C] is H W positions of C classes. The
// example's loss is the MEAN over its positions of the position losses (1 position: the plain
// loss), as Wolfram's CrossEntropyLossLayer averages over the non-class dimensions.
//
// Every example's loss and gradient is computed by one thread, in a fixed order, in double,
// and rounded once to float: results do not depend on the thread count.
#pragma once

#include <cstdint>

namespace netkit::kernels {

// What the "Input" holds: probabilities p, or unnormalised logits x with p = softmax(x).
enum class CrossEntropyInput { Probabilities, Logits };
// What the "Target" holds: one class index per position (0-based, stored as float), or a
// vector of target probabilities t per position (same shape as the input).
enum class CrossEntropyTarget { Index, Probabilities };

struct CrossEntropyDims {
  int64_t batch = 0, positions = 1, classes = 0;
};

// Probabilities below this are read as this value in the logarithm and in 1/p: the guard
// against log(0). 2^-126, the smallest normal float, so -log caps at 87.3365 and 1/p at
// 8.5e37; any probability a float holds with full precision is used as it is.
inline constexpr float kMinProbability = 0x1p-126f;

// Flat index of the first target that is not an integer in [0, classes), or -1 when all are.
// `n` = batch * positions indices.
int64_t first_bad_class_index(const float* t, int64_t n, int64_t classes);

// loss[n] = (1/P) sum_positions sum_c -t_c log p_c  (Index targets: -log p_target), with
//   Probabilities input: log p_c = log(max(p_c, kMinProbability));
//   Logits input:        log p_c = x_c - lse,  lse = m + log sum_k exp(x_k - m),  m = max_k x_k,
// which is exact for logits of any finite size (1e4 and -1e4 in one vector give finite losses).
// x: [batch, P, C]; t: [batch, P] (Index) or [batch, P, C]; loss: [batch].
void cross_entropy_forward(CrossEntropyInput input, CrossEntropyTarget target, const float* x, const float* t,
                           CrossEntropyDims d, float* loss);

// Backward, with g = dL/dloss [batch] and w = g_n / P for the positions of example n:
//   Probabilities input: dL/dp_c = -w t_c / max(p_c, kMinProbability)   (Index: only c = target)
//                        (the guard is passed through: a 0 probability of the target class still
//                        gets a large finite push, not the 0 derivative of a clip)
//   Logits input:        loss = sum_c t_c (lse - x_c), d lse / dx_j = softmax_j, so
//                        dL/dx_j = w (softmax_j sum_c t_c - t_j), = w (softmax_j - t_j) for
//                        targets summing to 1 (Index: t = one-hot of the target)
//   Probabilities target: dL/dt_c = -w log p_c (with log p as in the forward pass);
//   Index target:        not differentiable; dt (if given) gets 0.
// dx and dt may be null (not wanted); accumulate false: written without being read.
void cross_entropy_backward(CrossEntropyInput input, CrossEntropyTarget target, const float* x, const float* t,
                            const float* g, CrossEntropyDims d, float* dx, float* dt, bool accumulate);

// loss[n] = (1/S) sum_i (x_i - t_i)^2 over the S elements of example n. x, t: [batch, S].
void mean_squared_forward(const float* x, const float* t, int64_t batch, int64_t size, float* loss);

// dL/dx_i = g_n 2 (x_i - t_i) / S,  dL/dt_i = -dL/dx_i. dx, dt may be null.
void mean_squared_backward(const float* x, const float* t, const float* g, int64_t batch, int64_t size, float* dx,
                           float* dt, bool accumulate);

}  // namespace netkit::kernels
