#include "layers/kernels/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"

// Hot loops are compiled twice, for AVX2 and for baseline x86-64, and picked at load time.
// Results are identical either way: the accumulation order is spelled out (kLanes explicit
// lanes, fixed row order) and -ffp-contract=off forbids fused multiply-adds.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NETKIT_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NETKIT_VECTOR_CLONES
#endif

namespace netkit::kernels {

namespace {

// Channel runs at least this long are handled one channel at a time (all passes while the
// channel is in cache); shorter runs (channel-last, vectors) one row of columns at a time.
constexpr int64_t kLongRun = 16;
constexpr int kLanes = 8;
// Rows per chunk for short runs: about 32 KiB of floats, fixed by the layout alone.
constexpr int64_t kChunkElements = 8192;

// ---- long runs: per-channel lanes ----------------------------------------------------------

NETKIT_VECTOR_CLONES void lanes_sum(const float* x, int64_t n, double* lanes) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lanes[k] += static_cast<double>(x[i + k]);
  for (; i < n; ++i) lanes[i % kLanes] += static_cast<double>(x[i]);
}

NETKIT_VECTOR_CLONES void lanes_squared_deviation(const float* x, int64_t n, double center, double* lanes) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      const double d = static_cast<double>(x[i + k]) - center;
      lanes[k] += d * d;
    }
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - center;
    lanes[i % kLanes] += d * d;
  }
}

// sum g and sum g (x - center), with x - center in float exactly as the forward pass forms it.
NETKIT_VECTOR_CLONES void lanes_gradient_sums(const float* x, const float* g, int64_t n, float center,
                                              double* lanes_g, double* lanes_gx) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      lanes_g[k] += static_cast<double>(g[i + k]);
      lanes_gx[k] += static_cast<double>(g[i + k]) * static_cast<double>(x[i + k] - center);
    }
  for (; i < n; ++i) {
    lanes_g[i % kLanes] += static_cast<double>(g[i]);
    lanes_gx[i % kLanes] += static_cast<double>(g[i]) * static_cast<double>(x[i] - center);
  }
}

double lanes_total(const double* lanes) {
  double s = 0;
  for (int k = 0; k < kLanes; ++k) s += lanes[k];
  return s;
}

// ---- elementwise passes: per-channel scalars (long runs) or per-column vectors (short runs) ----

NETKIT_VECTOR_CLONES void scale_shift_scalar(const float* __restrict x, float* __restrict y, int64_t n, float c,
                                             float a, float b) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - c) * a + b;
}

NETKIT_VECTOR_CLONES void scale_shift_vector(const float* __restrict x, float* __restrict y, int64_t n,
                                             const float* __restrict c, const float* __restrict a,
                                             const float* __restrict b) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - c[i]) * a[i] + b[i];
}

// dx (+)= ((g - mg) - (x - c) k) s: the train-mode input gradient; with mg = k = 0 and any c it
// is the test-mode g s.
NETKIT_VECTOR_CLONES void input_gradient_scalar(const float* __restrict x, const float* __restrict g,
                                                float* __restrict dx, int64_t n, float c, float mg, float k,
                                                float s, bool accumulate) {
  if (accumulate)
    for (int64_t i = 0; i < n; ++i) dx[i] += ((g[i] - mg) - (x[i] - c) * k) * s;
  else
    for (int64_t i = 0; i < n; ++i) dx[i] = ((g[i] - mg) - (x[i] - c) * k) * s;
}

NETKIT_VECTOR_CLONES void input_gradient_vector(const float* __restrict x, const float* __restrict g,
                                                float* __restrict dx, int64_t n, const float* __restrict c,
                                                const float* __restrict mg, const float* __restrict k,
                                                const float* __restrict s, bool accumulate) {
  if (accumulate)
    for (int64_t i = 0; i < n; ++i) dx[i] += ((g[i] - mg[i]) - (x[i] - c[i]) * k[i]) * s[i];
  else
    for (int64_t i = 0; i < n; ++i) dx[i] = ((g[i] - mg[i]) - (x[i] - c[i]) * k[i]) * s[i];
}

// ---- short runs: column accumulators over fixed row chunks ----------------------------------

NETKIT_VECTOR_CLONES void columns_sum(const float* x, int64_t cols, double* acc) {
  for (int64_t j = 0; j < cols; ++j) acc[j] += static_cast<double>(x[j]);
}

NETKIT_VECTOR_CLONES void columns_squared_deviation(const float* x, int64_t cols, const double* center,
                                                    double* acc) {
  for (int64_t j = 0; j < cols; ++j) {
    const double d = static_cast<double>(x[j]) - center[j];
    acc[j] += d * d;
  }
}

NETKIT_VECTOR_CLONES void columns_gradient_sums(const float* x, const float* g, int64_t cols, const float* center,
                                                double* acc_g, double* acc_gx) {
  for (int64_t j = 0; j < cols; ++j) {
    acc_g[j] += static_cast<double>(g[j]);
    acc_gx[j] += static_cast<double>(g[j]) * static_cast<double>(x[j] - center[j]);
  }
}

struct Chunks {
  int64_t rows, count;
};

Chunks chunks_of(const BnLayout& l) {
  const int64_t cols = l.channels * l.inner;
  const int64_t rows = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(cols, 1));
  return {rows, (l.outer + rows - 1) / rows};
}

// Per-channel moments for short runs: two passes inside each chunk, chunks and columns of a
// channel combined with Chan's rule in a fixed order.
void short_run_moments(const float* x, const BnLayout& l, double* mean, double* m2) {
  const int64_t cols = l.channels * l.inner;
  const Chunks ch = chunks_of(l);
  std::vector<Moments> parts(static_cast<size_t>(ch.count * cols));
  parallel_for(ch.count, [&](int64_t b) {
    const int64_t r0 = b * ch.rows, r1 = std::min(l.outer, r0 + ch.rows);
    std::vector<double> sum(static_cast<size_t>(cols), 0.0), sq(static_cast<size_t>(cols), 0.0);
    for (int64_t r = r0; r < r1; ++r) columns_sum(x + r * cols, cols, sum.data());
    for (int64_t j = 0; j < cols; ++j) sum[j] /= static_cast<double>(r1 - r0);
    for (int64_t r = r0; r < r1; ++r) columns_squared_deviation(x + r * cols, cols, sum.data(), sq.data());
    for (int64_t j = 0; j < cols; ++j) parts[b * cols + j] = {static_cast<double>(r1 - r0), sum[j], sq[j]};
  });
  parallel_for(l.channels, [&](int64_t c) {
    Moments total;
    for (int64_t b = 0; b < ch.count; ++b)
      for (int64_t i = 0; i < l.inner; ++i) total = combine(total, parts[b * cols + c * l.inner + i]);
    mean[c] = total.mean;
    m2[c] = total.m2;
  });
}

// Per-channel sum g and sum g (x - center) for short runs, chunk partial sums added in order.
void short_run_gradient_sums(const float* x, const float* g, const BnLayout& l, const float* center,
                             double* sum_g, double* sum_gx) {
  const int64_t cols = l.channels * l.inner;
  const Chunks ch = chunks_of(l);
  std::vector<float> center_cols(static_cast<size_t>(cols));
  for (int64_t j = 0; j < cols; ++j) center_cols[j] = center[j / l.inner];
  std::vector<double> part_g(static_cast<size_t>(ch.count * cols), 0.0), part_gx(part_g.size(), 0.0);
  parallel_for(ch.count, [&](int64_t b) {
    const int64_t r0 = b * ch.rows, r1 = std::min(l.outer, r0 + ch.rows);
    for (int64_t r = r0; r < r1; ++r)
      columns_gradient_sums(x + r * cols, g + r * cols, cols, center_cols.data(), &part_g[b * cols],
                            &part_gx[b * cols]);
  });
  for (int64_t c = 0; c < l.channels; ++c) {
    double sg = 0, sgx = 0;
    for (int64_t b = 0; b < ch.count; ++b)
      for (int64_t i = 0; i < l.inner; ++i) {
        sg += part_g[b * cols + c * l.inner + i];
        sgx += part_gx[b * cols + c * l.inner + i];
      }
    sum_g[c] = sg;
    sum_gx[c] = sgx;
  }
}

// Per-channel values spread over the columns of one row (each channel repeated `inner` times).
std::vector<float> per_column(const std::vector<float>& per_channel, int64_t inner) {
  std::vector<float> out(per_channel.size() * static_cast<size_t>(inner));
  for (size_t j = 0; j < out.size(); ++j) out[j] = per_channel[j / static_cast<size_t>(inner)];
  return out;
}

// y = (x - c) a + b over the whole batch with per-channel c, a, b.
void scale_shift(const float* x, const BnLayout& l, const std::vector<float>& c, const std::vector<float>& a,
                 const std::vector<float>& b, float* y) {
  const int64_t cols = l.channels * l.inner;
  if (l.inner >= kLongRun) {
    parallel_for(l.channels, [&](int64_t ch) {
      for (int64_t o = 0; o < l.outer; ++o) {
        const int64_t off = o * cols + ch * l.inner;
        scale_shift_scalar(x + off, y + off, l.inner, c[ch], a[ch], b[ch]);
      }
    });
    return;
  }
  const auto cc = per_column(c, l.inner), ac = per_column(a, l.inner), bc = per_column(b, l.inner);
  parallel_for(l.outer, [&](int64_t o) {
    scale_shift_vector(x + o * cols, y + o * cols, cols, cc.data(), ac.data(), bc.data());
  });
}

void input_gradient(const float* x, const float* g, const BnLayout& l, const std::vector<float>& c,
                    const std::vector<float>& mg, const std::vector<float>& k, const std::vector<float>& s,
                    float* dx, bool accumulate) {
  const int64_t cols = l.channels * l.inner;
  if (l.inner >= kLongRun) {
    parallel_for(l.channels, [&](int64_t ch) {
      for (int64_t o = 0; o < l.outer; ++o) {
        const int64_t off = o * cols + ch * l.inner;
        input_gradient_scalar(x + off, g + off, dx + off, l.inner, c[ch], mg[ch], k[ch], s[ch], accumulate);
      }
    });
    return;
  }
  const auto cc = per_column(c, l.inner), mc = per_column(mg, l.inner), kc = per_column(k, l.inner),
             sc = per_column(s, l.inner);
  parallel_for(l.outer, [&](int64_t o) {
    const int64_t off = o * cols;
    input_gradient_vector(x + off, g + off, dx + off, cols, cc.data(), mc.data(), kc.data(), sc.data(), accumulate);
  });
}

// Moments of one channel of a long-run layout: two passes over the channel's rows.
Moments channel_moments(const float* x, const BnLayout& l, int64_t c) {
  const int64_t cols = l.channels * l.inner;
  double lanes[kLanes] = {};
  for (int64_t o = 0; o < l.outer; ++o) lanes_sum(x + o * cols + c * l.inner, l.inner, lanes);
  const double m = static_cast<double>(l.per_channel());
  const double mean = lanes_total(lanes) / m;
  std::fill(lanes, lanes + kLanes, 0.0);
  for (int64_t o = 0; o < l.outer; ++o) lanes_squared_deviation(x + o * cols + c * l.inner, l.inner, mean, lanes);
  return {m, mean, lanes_total(lanes)};
}

void channel_gradient_sums(const float* x, const float* g, const BnLayout& l, int64_t c, float center, double& sg,
                           double& sgx) {
  const int64_t cols = l.channels * l.inner;
  double lanes_g[kLanes] = {}, lanes_gx[kLanes] = {};
  for (int64_t o = 0; o < l.outer; ++o) {
    const int64_t off = o * cols + c * l.inner;
    lanes_gradient_sums(x + off, g + off, l.inner, center, lanes_g, lanes_gx);
  }
  sg = lanes_total(lanes_g);
  sgx = lanes_total(lanes_gx);
}

// Per-channel constants of the train-mode forward pass.
struct TrainChannel {
  float mean, inv_std, scale, center;
  double var;
};

TrainChannel train_channel(double mean, double m2, double count, float gamma, double eps) {
  const double var = m2 / count;
  const double denom = var + eps;
  const double r = denom > 0 ? 1.0 / std::sqrt(denom) : 0.0;  // s2 + eps == 0: y = beta exactly
  const float scale = static_cast<float>(gamma * r);
  const float m = static_cast<float>(mean);
  // With a zero scale the center is irrelevant; 0 keeps (x - center) * 0 finite for every finite x.
  return {m, static_cast<float>(r), scale, scale == 0.0f ? 0.0f : m, var};
}

// Per-channel constants of the train-mode backward pass.
struct BackwardChannel {
  float mean_g, k, scale;
};

BackwardChannel backward_channel(double sg, double sgx, double count, float gamma, float inv_std, float* dgamma,
                                 float* dbeta, int64_t c) {
  const double r = inv_std;
  if (dbeta) dbeta[c] += static_cast<float>(sg);
  if (dgamma) dgamma[c] += static_cast<float>(sgx * r);
  return {static_cast<float>(sg / count), static_cast<float>(r * r * sgx / count), static_cast<float>(gamma * r)};
}

}  // namespace

Moments combine(const Moments& a, const Moments& b) {
  if (a.count == 0) return b;
  if (b.count == 0) return a;
  const double n = a.count + b.count, delta = b.mean - a.mean;
  return {n, a.mean + delta * (b.count / n), a.m2 + b.m2 + delta * delta * (a.count * b.count / n)};
}

void batch_norm_moments(const float* x, BnLayout l, double* mean, double* m2) {
  if (l.inner >= kLongRun) {
    parallel_for(l.channels, [&](int64_t c) {
      const Moments mo = channel_moments(x, l, c);
      mean[c] = mo.mean;
      m2[c] = mo.m2;
    });
  } else {
    short_run_moments(x, l, mean, m2);
  }
}

void batch_norm_test_forward(const float* x, BnLayout l, const float* gamma, const float* beta,
                             const float* moving_mean, const float* moving_var, double eps, float* y) {
  const size_t C = static_cast<size_t>(l.channels);
  std::vector<float> c(C), a(C), b(beta, beta + C);
  for (size_t ch = 0; ch < C; ++ch) {
    a[ch] = static_cast<float>(gamma[ch] / std::sqrt(static_cast<double>(moving_var[ch]) + eps));
    c[ch] = a[ch] == 0.0f ? 0.0f : moving_mean[ch];
  }
  scale_shift(x, l, c, a, b, y);
}

void batch_norm_train_forward(const float* x, BnLayout l, const float* gamma, const float* beta, double eps,
                              float* y, float* mean, float* inv_std, double* var_biased) {
  const double count = static_cast<double>(l.per_channel());
  const int64_t cols = l.channels * l.inner;
  if (l.inner >= kLongRun) {
    // One channel at a time: both statistics passes and the output pass while it is in cache.
    parallel_for(l.channels, [&](int64_t ch) {
      const Moments mo = channel_moments(x, l, ch);
      const TrainChannel t = train_channel(mo.mean, mo.m2, count, gamma[ch], eps);
      mean[ch] = t.mean;
      inv_std[ch] = t.inv_std;
      var_biased[ch] = t.var;
      for (int64_t o = 0; o < l.outer; ++o) {
        const int64_t off = o * cols + ch * l.inner;
        scale_shift_scalar(x + off, y + off, l.inner, t.center, t.scale, beta[ch]);
      }
    });
    return;
  }
  const size_t C = static_cast<size_t>(l.channels);
  std::vector<double> mu(C), m2(C);
  short_run_moments(x, l, mu.data(), m2.data());
  std::vector<float> c(C), a(C), b(beta, beta + C);
  for (size_t ch = 0; ch < C; ++ch) {
    const TrainChannel t = train_channel(mu[ch], m2[ch], count, gamma[ch], eps);
    mean[ch] = t.mean;
    inv_std[ch] = t.inv_std;
    var_biased[ch] = t.var;
    c[ch] = t.center;
    a[ch] = t.scale;
  }
  scale_shift(x, l, c, a, b, y);
}

void batch_norm_train_backward(const float* x, const float* g, BnLayout l, const float* gamma, const float* mean,
                               const float* inv_std, float* dx, bool accumulate, float* dgamma, float* dbeta) {
  const double count = static_cast<double>(l.per_channel());
  const int64_t cols = l.channels * l.inner;
  if (l.inner >= kLongRun) {
    parallel_for(l.channels, [&](int64_t ch) {
      double sg, sgx;
      channel_gradient_sums(x, g, l, ch, mean[ch], sg, sgx);
      const BackwardChannel b = backward_channel(sg, sgx, count, gamma[ch], inv_std[ch], dgamma, dbeta, ch);
      if (!dx) return;
      for (int64_t o = 0; o < l.outer; ++o) {
        const int64_t off = o * cols + ch * l.inner;
        input_gradient_scalar(x + off, g + off, dx + off, l.inner, mean[ch], b.mean_g, b.k, b.scale, accumulate);
      }
    });
    return;
  }
  const size_t C = static_cast<size_t>(l.channels);
  std::vector<double> sg(C), sgx(C);
  short_run_gradient_sums(x, g, l, mean, sg.data(), sgx.data());
  std::vector<float> c(mean, mean + C), mg(C), k(C), s(C);
  for (size_t ch = 0; ch < C; ++ch) {
    const BackwardChannel b = backward_channel(sg[ch], sgx[ch], count, gamma[ch], inv_std[ch], dgamma, dbeta,
                                               static_cast<int64_t>(ch));
    mg[ch] = b.mean_g;
    k[ch] = b.k;
    s[ch] = b.scale;
  }
  if (dx) input_gradient(x, g, l, c, mg, k, s, dx, accumulate);
}

void batch_norm_test_backward(const float* x, const float* g, BnLayout l, const float* gamma,
                              const float* moving_mean, const float* moving_var, double eps, float* dx,
                              bool accumulate, float* dgamma, float* dbeta) {
  const size_t C = static_cast<size_t>(l.channels);
  std::vector<float> c(C, 0.0f), zero(C, 0.0f), a(C);
  std::vector<double> inv(C);
  for (size_t ch = 0; ch < C; ++ch) {
    inv[ch] = 1.0 / std::sqrt(static_cast<double>(moving_var[ch]) + eps);
    a[ch] = static_cast<float>(gamma[ch] * inv[ch]);
  }
  if (dgamma || dbeta) {
    std::vector<double> sg(C), sgx(C);
    if (l.inner >= kLongRun)
      parallel_for(l.channels, [&](int64_t ch) { channel_gradient_sums(x, g, l, ch, moving_mean[ch], sg[ch], sgx[ch]); });
    else
      short_run_gradient_sums(x, g, l, moving_mean, sg.data(), sgx.data());
    for (size_t ch = 0; ch < C; ++ch) {
      if (dbeta) dbeta[ch] += static_cast<float>(sg[ch]);
      if (dgamma) dgamma[ch] += static_cast<float>(sgx[ch] * inv[ch]);
    }
  }
  // g a, written as the train-mode formula with mean g = 0 and k = 0.
  if (dx) input_gradient(x, g, l, c, zero, zero, a, dx, accumulate);
}

void exponential_average(float* moving, const float* batch_value, int64_t channels, double rho) {
  for (int64_t c = 0; c < channels; ++c)
    moving[c] = static_cast<float>(rho * moving[c] + (1.0 - rho) * batch_value[c]);
}

void cumulative_average(float* moving, const float* batch_value, int64_t channels, int64_t k) {
  for (int64_t c = 0; c < channels; ++c)
    moving[c] = static_cast<float>(moving[c] + (static_cast<double>(batch_value[c]) - moving[c]) / static_cast<double>(k));
}

}  // namespace netkit::kernels
