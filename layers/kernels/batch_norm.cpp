#include "layers/kernels/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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
constexpr int kLanes = 16;  // four vectors of four doubles: enough independent adds to hide latency
// Short runs with at most this many rows are handled a group of channels at a time (all
// passes while the group is in cache); more rows are split into fixed chunks instead.
constexpr int64_t kGroupRows = 4096;
// Columns in a channel group: whole channels, about one 256-byte stretch of each row.
constexpr int64_t kGroupColumns = 64;
// Rows per chunk for long short-run layouts: about 32 KiB of floats, fixed by the layout alone.
constexpr int64_t kChunkElements = 8192;

// ---- vectors: GCC / Clang vector extensions, 4 doubles (one AVX2 register, two SSE2 ones) ----

using v4f = float __attribute__((vector_size(16)));
using v4d = double __attribute__((vector_size(32)));

inline v4f load4f(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline v4d widen(v4f v) { return __builtin_convertvector(v, v4d); }
inline v4d load4d(const double* p) {
  v4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4d(double* p, v4d v) { std::memcpy(p, &v, sizeof v); }

// ---- long runs: kLanes independent double accumulators per channel -------------------------
// Lane k of a run gets the elements i with i % kLanes == k; the lanes are added in order at the
// end, so the sum is the same whatever the instruction set or thread count.

NETKIT_VECTOR_CLONES void lanes_sum(const float* x, int64_t n, double* lanes) {
  v4d a0 = load4d(lanes), a1 = load4d(lanes + 4), a2 = load4d(lanes + 8), a3 = load4d(lanes + 12);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    a0 += widen(load4f(x + i));
    a1 += widen(load4f(x + i + 4));
    a2 += widen(load4f(x + i + 8));
    a3 += widen(load4f(x + i + 12));
  }
  store4d(lanes, a0), store4d(lanes + 4, a1), store4d(lanes + 8, a2), store4d(lanes + 12, a3);
  for (; i < n; ++i) lanes[i % kLanes] += static_cast<double>(x[i]);
}

NETKIT_VECTOR_CLONES void lanes_squared_deviation(const float* x, int64_t n, double center, double* lanes) {
  v4d a0 = load4d(lanes), a1 = load4d(lanes + 4), a2 = load4d(lanes + 8), a3 = load4d(lanes + 12);
  const v4d c = {center, center, center, center};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const v4d d0 = widen(load4f(x + i)) - c, d1 = widen(load4f(x + i + 4)) - c;
    const v4d d2 = widen(load4f(x + i + 8)) - c, d3 = widen(load4f(x + i + 12)) - c;
    a0 += d0 * d0;
    a1 += d1 * d1;
    a2 += d2 * d2;
    a3 += d3 * d3;
  }
  store4d(lanes, a0), store4d(lanes + 4, a1), store4d(lanes + 8, a2), store4d(lanes + 12, a3);
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - center;
    lanes[i % kLanes] += d * d;
  }
}

// sum g and sum g (x - center), with x - center in float exactly as the forward pass forms it.
NETKIT_VECTOR_CLONES void lanes_gradient_sums(const float* x, const float* g, int64_t n, float center,
                                              double* lanes_g, double* lanes_gx) {
  v4d g0 = load4d(lanes_g), g1 = load4d(lanes_g + 4), g2 = load4d(lanes_g + 8), g3 = load4d(lanes_g + 12);
  v4d p0 = load4d(lanes_gx), p1 = load4d(lanes_gx + 4), p2 = load4d(lanes_gx + 8), p3 = load4d(lanes_gx + 12);
  const v4f c = {center, center, center, center};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const v4d h0 = widen(load4f(g + i)), h1 = widen(load4f(g + i + 4));
    const v4d h2 = widen(load4f(g + i + 8)), h3 = widen(load4f(g + i + 12));
    g0 += h0, g1 += h1, g2 += h2, g3 += h3;
    p0 += h0 * widen(load4f(x + i) - c);
    p1 += h1 * widen(load4f(x + i + 4) - c);
    p2 += h2 * widen(load4f(x + i + 8) - c);
    p3 += h3 * widen(load4f(x + i + 12) - c);
  }
  store4d(lanes_g, g0), store4d(lanes_g + 4, g1), store4d(lanes_g + 8, g2), store4d(lanes_g + 12, g3);
  store4d(lanes_gx, p0), store4d(lanes_gx + 4, p1), store4d(lanes_gx + 8, p2), store4d(lanes_gx + 12, p3);
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

// ---- short runs with few rows: channel groups ---------------------------------------------

struct Group {
  int64_t c0, c1;    // channels [c0, c1)
  int64_t offset;    // of the group's columns within a row
  int64_t width;     // columns: (c1 - c0) * inner <= kGroupColumns
};

bool use_groups(const BnLayout& l) { return l.inner < kLongRun && l.outer <= kGroupRows; }

// Calls body(group) for every channel group, in parallel; each group is processed whole by one
// thread, so results do not depend on the thread count.
template <class Body>
void for_each_group(const BnLayout& l, Body&& body) {
  const int64_t per = std::max<int64_t>(1, kGroupColumns / l.inner);
  parallel_for((l.channels + per - 1) / per, [&](int64_t gi) {
    const int64_t c0 = gi * per, c1 = std::min(l.channels, c0 + per);
    body(Group{c0, c1, c0 * l.inner, (c1 - c0) * l.inner});
  });
}

// Sum of the `inner` column totals of channel c of a group, in column order.
double channel_total(const double* columns, const Group& g, int64_t c, int64_t inner) {
  double s = 0;
  for (int64_t i = 0; i < inner; ++i) s += columns[(c - g.c0) * inner + i];
  return s;
}

// Two-pass moments of a group's channels: column sums, channel means, then squared deviations.
void group_moments(const float* x, const BnLayout& l, const Group& g, double* mean, double* m2) {
  const int64_t cols = l.channels * l.inner;
  const double count = static_cast<double>(l.per_channel());
  double acc[kGroupColumns] = {}, center[kGroupColumns];
  for (int64_t o = 0; o < l.outer; ++o) columns_sum(x + o * cols + g.offset, g.width, acc);
  for (int64_t c = g.c0; c < g.c1; ++c) mean[c] = channel_total(acc, g, c, l.inner) / count;
  for (int64_t j = 0; j < g.width; ++j) center[j] = mean[g.c0 + j / l.inner];
  std::fill(acc, acc + kGroupColumns, 0.0);
  for (int64_t o = 0; o < l.outer; ++o) columns_squared_deviation(x + o * cols + g.offset, g.width, center, acc);
  for (int64_t c = g.c0; c < g.c1; ++c) m2[c] = channel_total(acc, g, c, l.inner);
}

void group_gradient_sums(const float* x, const float* grad, const BnLayout& l, const Group& g, const float* center,
                         double* sum_g, double* sum_gx) {
  const int64_t cols = l.channels * l.inner;
  double acc_g[kGroupColumns] = {}, acc_gx[kGroupColumns] = {};
  float center_cols[kGroupColumns];
  for (int64_t j = 0; j < g.width; ++j) center_cols[j] = center[g.c0 + j / l.inner];
  for (int64_t o = 0; o < l.outer; ++o) {
    const int64_t off = o * cols + g.offset;
    columns_gradient_sums(x + off, grad + off, g.width, center_cols, acc_g, acc_gx);
  }
  for (int64_t c = g.c0; c < g.c1; ++c) {
    sum_g[c] = channel_total(acc_g, g, c, l.inner);
    sum_gx[c] = channel_total(acc_gx, g, c, l.inner);
  }
}

// Per-channel values of a group spread over its columns.
void group_columns(const Group& g, int64_t inner, const float* per_channel, float* columns) {
  for (int64_t j = 0; j < g.width; ++j) columns[j] = per_channel[g.c0 + j / inner];
}

// Per-channel constants of the train-mode forward pass.
// y = (x - center) * scale + shift.
struct TrainChannel {
  float mean, inv_std, scale, center, shift;
  double var;
};

TrainChannel train_channel(double mean, double m2, double count, float gamma, float beta, double eps) {
  const double var = m2 / count;
  const double denom = var + eps;
  const double r = denom > 0 ? 1.0 / std::sqrt(denom) : 0.0;  // s2 + eps == 0: y = beta exactly
  const float scale = static_cast<float>(gamma * r);
  const float m = static_cast<float>(mean);
  // The float mean misses the exact one by up to half an ulp of the mean, which for data far
  // from 0 is large against the spread; the shift takes the difference back. A constant
  // channel has mean == m exactly, so its shift is exactly beta.
  const float shift = static_cast<float>(beta - (mean - m) * static_cast<double>(scale));
  // With a zero scale the center is irrelevant; 0 keeps (x - center) * 0 finite for every finite x.
  return {m, static_cast<float>(r), scale, scale == 0.0f ? 0.0f : m, shift, var};
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
  } else if (use_groups(l)) {
    for_each_group(l, [&](const Group& g) { group_moments(x, l, g, mean, m2); });
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
  std::vector<float> center(static_cast<size_t>(l.channels)), scale(center.size()), shift(center.size());
  auto set_channel = [&](int64_t ch, double mu, double m2) {
    const TrainChannel t = train_channel(mu, m2, count, gamma[ch], beta[ch], eps);
    mean[ch] = t.mean;
    inv_std[ch] = t.inv_std;
    var_biased[ch] = t.var;
    center[ch] = t.center;
    scale[ch] = t.scale;
    shift[ch] = t.shift;
  };
  // Long runs and channel groups: statistics and output while the channel's data is in cache.
  if (l.inner >= kLongRun) {
    parallel_for(l.channels, [&](int64_t ch) {
      const Moments mo = channel_moments(x, l, ch);
      set_channel(ch, mo.mean, mo.m2);
      for (int64_t o = 0; o < l.outer; ++o) {
        const int64_t off = o * cols + ch * l.inner;
        scale_shift_scalar(x + off, y + off, l.inner, center[ch], scale[ch], shift[ch]);
      }
    });
    return;
  }
  if (use_groups(l)) {
    std::vector<double> mu(center.size()), m2(center.size());
    for_each_group(l, [&](const Group& g) {
      group_moments(x, l, g, mu.data(), m2.data());
      for (int64_t ch = g.c0; ch < g.c1; ++ch) set_channel(ch, mu[ch], m2[ch]);
      float cc[kGroupColumns], ac[kGroupColumns], bc[kGroupColumns];
      group_columns(g, l.inner, center.data(), cc);
      group_columns(g, l.inner, scale.data(), ac);
      group_columns(g, l.inner, shift.data(), bc);
      for (int64_t o = 0; o < l.outer; ++o) {
        const int64_t off = o * cols + g.offset;
        scale_shift_vector(x + off, y + off, g.width, cc, ac, bc);
      }
    });
    return;
  }
  std::vector<double> mu(center.size()), m2(center.size());
  short_run_moments(x, l, mu.data(), m2.data());
  for (int64_t ch = 0; ch < l.channels; ++ch) set_channel(ch, mu[ch], m2[ch]);
  scale_shift(x, l, center, scale, shift, y);
}

void batch_norm_train_backward(const float* x, const float* g, BnLayout l, const float* gamma, const float* mean,
                               const float* inv_std, float* dx, bool accumulate, float* dgamma, float* dbeta) {
  const double count = static_cast<double>(l.per_channel());
  const int64_t cols = l.channels * l.inner;
  const size_t C = static_cast<size_t>(l.channels);
  std::vector<float> mg(C), k(C), s(C);
  auto set_channel = [&](int64_t ch, double sg, double sgx) {
    const BackwardChannel b = backward_channel(sg, sgx, count, gamma[ch], inv_std[ch], dgamma, dbeta, ch);
    mg[ch] = b.mean_g;
    k[ch] = b.k;
    s[ch] = b.scale;
  };
  if (l.inner >= kLongRun) {
    parallel_for(l.channels, [&](int64_t ch) {
      double sg, sgx;
      channel_gradient_sums(x, g, l, ch, mean[ch], sg, sgx);
      set_channel(ch, sg, sgx);
      if (!dx) return;
      for (int64_t o = 0; o < l.outer; ++o) {
        const int64_t off = o * cols + ch * l.inner;
        input_gradient_scalar(x + off, g + off, dx + off, l.inner, mean[ch], mg[ch], k[ch], s[ch], accumulate);
      }
    });
    return;
  }
  std::vector<double> sg(C), sgx(C);
  if (use_groups(l)) {
    for_each_group(l, [&](const Group& gr) {
      group_gradient_sums(x, g, l, gr, mean, sg.data(), sgx.data());
      for (int64_t ch = gr.c0; ch < gr.c1; ++ch) set_channel(ch, sg[ch], sgx[ch]);
      if (!dx) return;
      float cc[kGroupColumns], mc[kGroupColumns], kc[kGroupColumns], sc[kGroupColumns];
      group_columns(gr, l.inner, mean, cc);
      group_columns(gr, l.inner, mg.data(), mc);
      group_columns(gr, l.inner, k.data(), kc);
      group_columns(gr, l.inner, s.data(), sc);
      for (int64_t o = 0; o < l.outer; ++o) {
        const int64_t off = o * cols + gr.offset;
        input_gradient_vector(x + off, g + off, dx + off, gr.width, cc, mc, kc, sc, accumulate);
      }
    });
    return;
  }
  short_run_gradient_sums(x, g, l, mean, sg.data(), sgx.data());
  for (int64_t ch = 0; ch < l.channels; ++ch) set_channel(ch, sg[ch], sgx[ch]);
  if (dx) input_gradient(x, g, l, std::vector<float>(mean, mean + C), mg, k, s, dx, accumulate);
}

void batch_norm_test_backward(const float* x, const float* g, BnLayout l, const float* gamma,
                              const float* moving_mean, const float* moving_var, double eps, float* dx,
                              bool accumulate, float* dgamma, float* dbeta) {
  const size_t C = static_cast<size_t>(l.channels);
  std::vector<float> zero(C, 0.0f), a(C);
  std::vector<double> inv(C);
  for (size_t ch = 0; ch < C; ++ch) {
    inv[ch] = 1.0 / std::sqrt(static_cast<double>(moving_var[ch]) + eps);
    a[ch] = static_cast<float>(gamma[ch] * inv[ch]);
  }
  if (dgamma || dbeta) {
    std::vector<double> sg(C), sgx(C);
    if (l.inner >= kLongRun)
      parallel_for(l.channels, [&](int64_t ch) { channel_gradient_sums(x, g, l, ch, moving_mean[ch], sg[ch], sgx[ch]); });
    else if (use_groups(l))
      for_each_group(l, [&](const Group& gr) { group_gradient_sums(x, g, l, gr, moving_mean, sg.data(), sgx.data()); });
    else
      short_run_gradient_sums(x, g, l, moving_mean, sg.data(), sgx.data());
    for (size_t ch = 0; ch < C; ++ch) {
      if (dbeta) dbeta[ch] += static_cast<float>(sg[ch]);
      if (dgamma) dgamma[ch] += static_cast<float>(sgx[ch] * inv[ch]);
    }
  }
  // g a, written as the train-mode formula with center, mean g and k all 0.
  if (dx) input_gradient(x, g, l, zero, zero, zero, a, dx, accumulate);
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
