#include <netkit/layers/kernels/batch_norm.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include <netkit/core/parallel.h>
#include <netkit/layers/kernels/batch_norm_loops.h>

namespace netkit::kernels {

using namespace batch_norm_loops;

namespace {

// Channel runs at least this long are handled one channel at a time (all passes while the
// channel is in cache); shorter runs (channel-last, vectors) a chunk of whole rows at a time.
constexpr int64_t kLongRun = 16;
// Short runs are split into chunks of whole rows, about 32 KiB of floats (fixed by the layout
// alone): contiguous, and small enough to stay in L1 between the passes over a chunk. (Groups
// of columns across all rows were tried: rows 4 KiB apart all map to the same cache sets.)
constexpr int64_t kChunkElements = 8192;

struct Chunks {
  int64_t rows, count;
};

Chunks chunks_of(const BnLayout& l) {
  const int64_t cols = l.channels * l.inner;
  const int64_t rows = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(cols, 1));
  return {rows, (l.outer + rows - 1) / rows};
}

// Vectors (inner 1) with many channels and a moderate batch, such as (256, 1024): fixed blocks
// of whole columns, each summed down all rows by one thread, so there are no per-chunk partial
// sums to write and combine, and every pass over a block (about 256 KiB) finds it in L2. Each
// column is summed row by row in order, whoever runs its block. Chosen by the layout alone.
constexpr int64_t kBlockFloats = 65536;
constexpr int64_t kMinBlockColumns = 64;

struct ColumnBlocks {
  int64_t width = 0, count = 0;
};

std::optional<ColumnBlocks> column_blocks(const BnLayout& l) {
  if (l.inner != 1 || l.channels < 2 * kMinBlockColumns || l.outer * kMinBlockColumns > kBlockFloats)
    return std::nullopt;
  const int64_t width = std::min(l.channels, (kBlockFloats / std::max<int64_t>(l.outer, 1)) / 16 * 16);
  return ColumnBlocks{width, (l.channels + width - 1) / width};
}

// body(c0, width) for every block of columns [c0, c0 + width).
template <class F>
void for_column_blocks(const BnLayout& l, const ColumnBlocks& b, F&& body) {
  parallel_for(b.count, [&](int64_t k) {
    const int64_t c0 = k * b.width;
    body(c0, std::min(b.width, l.channels - c0));
  });
}

// Mean and m2 of the columns [c0, c0 + w) of a vector layout (one read: chunked two-pass moments
// merged by Chan's formula, in double).
void block_moments(const float* x, const BnLayout& l, int64_t c0, int64_t w, double* mean, double* m2) {
  rows_moments(x + c0, l.outer, l.channels, w, mean + c0, m2 + c0);
}

// Partial column sums of every chunk, then their total per channel in chunk order (so the
// result does not depend on which thread did which chunk). The scratch space is reused between
// calls from the same thread.
template <class ChunkSums>
void chunked_channel_sums(const BnLayout& l, int parts, ChunkSums&& chunk_sums, double* const* totals) {
  const int64_t cols = l.channels * l.inner;
  const Chunks ch = chunks_of(l);
  thread_local std::vector<double> scratch;
  scratch.resize(static_cast<size_t>(ch.count * cols * parts));
  double* const partials = scratch.data();  // the worker threads have their own `scratch`
  parallel_for(ch.count, [&](int64_t b) {
    const int64_t r0 = b * ch.rows;
    double* part = partials + b * cols * parts;
    std::fill(part, part + cols * parts, 0.0);
    chunk_sums(r0, std::min(l.outer, r0 + ch.rows) - r0, part);
  });
  for (int p = 0; p < parts; ++p) {
    std::fill(totals[p], totals[p] + l.channels, 0.0);
    for (int64_t b = 0; b < ch.count; ++b) {
      const double* part = partials + (b * parts + p) * cols;
      if (l.inner == 1) {
        add_into(totals[p], part, l.channels);
      } else {
        for (int64_t c = 0; c < l.channels; ++c)
          for (int64_t i = 0; i < l.inner; ++i) totals[p][c] += part[c * l.inner + i];
      }
    }
  }
}

// Per-channel moments for short runs: the exact two-pass algorithm, each pass over row chunks.
void short_run_moments(const float* x, const BnLayout& l, double* mean, double* m2) {
  const int64_t cols = l.channels * l.inner;
  double* const sums[] = {mean};
  chunked_channel_sums(
      l, 1, [&](int64_t r0, int64_t rows, double* acc) { rows_sum(x + r0 * cols, rows, cols, cols, acc); }, sums);
  std::vector<double> center(static_cast<size_t>(cols));
  for (int64_t c = 0; c < l.channels; ++c) mean[c] /= static_cast<double>(l.per_channel());
  for (int64_t j = 0; j < cols; ++j) center[j] = mean[j / l.inner];
  double* const squares[] = {m2};
  chunked_channel_sums(
      l, 1,
      [&](int64_t r0, int64_t rows, double* acc) {
        rows_squared_deviation(x + r0 * cols, rows, cols, cols, center.data(), acc);
      },
      squares);
}

// Per-channel sum g and sum g (x - center) for short runs.
void short_run_gradient_sums(const float* x, const float* g, const BnLayout& l, const float* center, double* sum_g,
                             double* sum_gx) {
  const int64_t cols = l.channels * l.inner;
  std::vector<float> center_cols(static_cast<size_t>(cols));
  for (int64_t j = 0; j < cols; ++j) center_cols[j] = center[j / l.inner];
  double* const totals[] = {sum_g, sum_gx};
  chunked_channel_sums(
      l, 2,
      [&](int64_t r0, int64_t rows, double* acc) {
        rows_gradient_sums(x + r0 * cols, g + r0 * cols, rows, cols, cols, center_cols.data(), acc, acc + cols);
      },
      totals);
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
    // No statistics to keep in cache: runs in memory order, each thread a contiguous half.
    parallel_for(l.outer * l.channels, [&](int64_t run) {
      const int64_t ch = run % l.channels;
      scale_shift_scalar(x + run * l.inner, y + run * l.inner, l.inner, c[ch], a[ch], b[ch]);
    });
    return;
  }
  const auto cc = per_column(c, l.inner), ac = per_column(a, l.inner), bc = per_column(b, l.inner);
  const Chunks ch = chunks_of(l);
  parallel_for(ch.count, [&](int64_t chunk) {
    const int64_t r0 = chunk * ch.rows, rows = std::min(l.outer - r0, ch.rows);
    scale_shift_rows(x + r0 * cols, y + r0 * cols, rows, cols, cols, cc.data(), ac.data(), bc.data());
  });
}

void input_gradient(const float* x, const float* g, const BnLayout& l, const std::vector<float>& c,
                    const std::vector<float>& mg, const std::vector<float>& k, const std::vector<float>& s, float* dx,
                    bool accumulate) {
  const int64_t cols = l.channels * l.inner;
  if (l.inner >= kLongRun) {
    parallel_for(l.outer * l.channels, [&](int64_t run) {
      const int64_t ch = run % l.channels, off = run * l.inner;
      input_gradient_scalar(x + off, g + off, dx + off, l.inner, c[ch], mg[ch], k[ch], s[ch], accumulate);
    });
    return;
  }
  const auto cc = per_column(c, l.inner), mc = per_column(mg, l.inner), kc = per_column(k, l.inner),
             sc = per_column(s, l.inner);
  const Chunks ch = chunks_of(l);
  parallel_for(ch.count, [&](int64_t b) {
    const int64_t off = b * ch.rows * cols, rows = std::min(l.outer - b * ch.rows, ch.rows);
    input_gradient_rows(x + off, g + off, dx + off, rows, cols, cols, cc.data(), mc.data(), kc.data(), sc.data(),
                        accumulate);
  });
}

// Where the run after run (o, c) of a long-run layout starts, relative to it: the channel's next
// run, or after its last run the next channel's first (0: none). The first pass over a channel
// reads from memory; prefetching the next run while summing this one keeps the memory streams
// going across the jumps between runs (Train forward of (32, 64, 56, 56) 1.6 times faster here).
int64_t next_run_offset(const BnLayout& l, int64_t c, int64_t o) {
  const int64_t cols = l.channels * l.inner;
  if (o + 1 < l.outer) return cols;
  return c + 1 < l.channels ? l.inner - o * cols : 0;
}

// Moments of one channel of a long-run layout: two passes over the channel's rows (the second
// finds the channel in cache).
Moments channel_moments(const float* x, const BnLayout& l, int64_t c) {
  const int64_t cols = l.channels * l.inner;
  double lanes[kLanes] = {};
  for (int64_t o = 0; o < l.outer; ++o) lanes_sum(x + o * cols + c * l.inner, l.inner, lanes, next_run_offset(l, c, o));
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
    lanes_gradient_sums(x + off, g + off, l.inner, center, lanes_g, lanes_gx, next_run_offset(l, c, o));
  }
  sg = lanes_total(lanes_g);
  sgx = lanes_total(lanes_gx);
}

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
  } else if (const auto blocks = column_blocks(l)) {
    for_column_blocks(l, *blocks, [&](int64_t c0, int64_t w) { block_moments(x, l, c0, w, mean, m2); });
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

void batch_norm_train_forward(const float* x, BnLayout l, const float* gamma, const float* beta, double eps, float* y,
                              float* mean, float* inv_std, double* var_biased) {
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
  // One channel at a time: statistics and output while the channel's data is in cache.
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
  std::vector<double> mu(center.size()), m2(center.size());
  if (const auto blocks = column_blocks(l)) {
    for_column_blocks(l, *blocks, [&](int64_t c0, int64_t w) {
      block_moments(x, l, c0, w, mu.data(), m2.data());
      for (int64_t ch = c0; ch < c0 + w; ++ch) set_channel(ch, mu[ch], m2[ch]);
      scale_shift_rows(x + c0, y + c0, l.outer, cols, w, center.data() + c0, scale.data() + c0, shift.data() + c0);
    });
    return;
  }
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
  if (const auto blocks = column_blocks(l)) {
    for_column_blocks(l, *blocks, [&](int64_t c0, int64_t w) {
      std::fill(sg.data() + c0, sg.data() + c0 + w, 0.0);
      std::fill(sgx.data() + c0, sgx.data() + c0 + w, 0.0);
      rows_gradient_sums(x + c0, g + c0, l.outer, cols, w, mean + c0, sg.data() + c0, sgx.data() + c0);
      for (int64_t ch = c0; ch < c0 + w; ++ch) set_channel(ch, sg[ch], sgx[ch]);
      if (dx)
        input_gradient_rows(x + c0, g + c0, dx + c0, l.outer, cols, w, mean + c0, mg.data() + c0, k.data() + c0,
                            s.data() + c0, accumulate);
    });
    return;
  }
  short_run_gradient_sums(x, g, l, mean, sg.data(), sgx.data());
  for (int64_t ch = 0; ch < l.channels; ++ch) set_channel(ch, sg[ch], sgx[ch]);
  if (dx) input_gradient(x, g, l, std::vector<float>(mean, mean + C), mg, k, s, dx, accumulate);
}

void batch_norm_test_backward(const float* x, const float* g, BnLayout l, const float* gamma, const float* moving_mean,
                              const float* moving_var, double eps, float* dx, bool accumulate, float* dgamma,
                              float* dbeta) {
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
      parallel_for(l.channels,
                   [&](int64_t ch) { channel_gradient_sums(x, g, l, ch, moving_mean[ch], sg[ch], sgx[ch]); });
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
  for (int64_t c = 0; c < channels; ++c) moving[c] = static_cast<float>(rho * moving[c] + (1.0 - rho) * batch_value[c]);
}

void cumulative_average(float* moving, const float* batch_value, int64_t channels, int64_t k) {
  for (int64_t c = 0; c < channels; ++c)
    moving[c] =
        static_cast<float>(moving[c] + (static_cast<double>(batch_value[c]) - moving[c]) / static_cast<double>(k));
}

}  // namespace netkit::kernels
