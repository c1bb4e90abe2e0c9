// Batch-normalization kernels. A batch is viewed as [outer, channels, inner]:
//   Interleaving False (channel first): outer = N, inner = product of the spatial dims;
//   Interleaving True (channel last):   outer = N * product of the spatial dims, inner = 1.
// Per-channel values (center, scale, ...) are arrays of length `channels`. Statistics accumulate
// in double. Work is split by channel or by fixed row chunks, never by thread, so results are
// bit-identical for every thread count.
#pragma once

#include <cstdint>

namespace netkit::kernels {

struct BnLayout {
  int64_t outer = 0, channels = 0, inner = 0;
  int64_t per_channel() const { return outer * inner; }  // M: values of one channel in the batch
};

// Test mode: y = (x - moving_mean) * gamma / sqrt(moving_var + eps) + beta.
// The caller has checked moving_var + eps > 0.
void batch_norm_test_forward(const float* x, BnLayout l, const float* gamma, const float* beta,
                             const float* moving_mean, const float* moving_var, double eps, float* y);

// Train mode: batch mean mu and biased variance s2 (two passes, double), then
// y = (x - mu) * gamma r + beta with r = 1 / sqrt(s2 + eps), or r = 0 when s2 + eps == 0.
// Writes per channel: mean = mu, inv_std = r (float), var_biased = s2 (double).
void batch_norm_train_forward(const float* x, BnLayout l, const float* gamma, const float* beta, double eps, float* y,
                              float* mean, float* inv_std, double* var_biased);

// Train-mode backward (x_hat = (x - mu) r, g = dL/dy):
//   dbeta += sum g;  dgamma += sum g x_hat;
//   dx (+)= gamma r ((g - mean g) - (x - mu) r mean(g x_hat)),
// which is (gamma r / M)(M g - sum g - x_hat sum(g x_hat)) with the mean of g subtracted
// first, so a constant g gives exactly 0. dx, dgamma, dbeta may each be null.
void batch_norm_train_backward(const float* x, const float* g, BnLayout l, const float* gamma, const float* mean,
                               const float* inv_std, float* dx, bool accumulate, float* dgamma, float* dbeta);

// Test-mode backward (moving statistics are constants):
//   dx (+)= g gamma / sqrt(v + eps); dgamma += sum g (x - m) / sqrt(v + eps); dbeta += sum g.
void batch_norm_test_backward(const float* x, const float* g, BnLayout l, const float* gamma, const float* moving_mean,
                              const float* moving_var, double eps, float* dx, bool accumulate, float* dgamma,
                              float* dbeta);

// Per-channel mean and sum of squared deviations (M2), exact two-pass quality in double.
void batch_norm_moments(const float* x, BnLayout l, double* mean, double* m2);

// Moments of a set of values, combined with Chan et al.'s pairwise rule.
struct Moments {
  double count = 0, mean = 0, m2 = 0;
};
Moments combine(const Moments& a, const Moments& b);

// The moving update of one array, per channel:
// exponential: m <- rho m + (1 - rho) s;  cumulative (k-th update): m <- m + (s - m) / k.
void exponential_average(float* moving, const float* batch_value, int64_t channels, double rho);
void cumulative_average(float* moving, const float* batch_value, int64_t channels, int64_t k);

}  // namespace netkit::kernels
