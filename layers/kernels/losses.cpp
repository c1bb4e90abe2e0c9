#include <netkit/layers/kernels/losses.h>

#include <algorithm>
#include <cmath>

#include <netkit/core/parallel.h>

namespace netkit::kernels {

namespace {

// dst = v or dst += v, rounding v to float once.
inline void put(float& dst, double v, bool accumulate) {
  dst = accumulate ? dst + static_cast<float>(v) : static_cast<float>(v);
}

// log p_c of a probability input, with the guard against log(0).
inline double guarded_log(float p) { return std::log(static_cast<double>(std::max(p, kMinProbability))); }

// One row of logits: m = max_k x_k and log_s = log sum_k exp(x_k - m), so that
// log softmax_c = (x_c - m) - log_s. Every exp argument is <= 0 and the sum is in [1, C].
struct LogSumExp {
  double m = 0, log_s = 0;
};

LogSumExp log_sum_exp(const float* x, int64_t classes) {
  LogSumExp r{x[0], 0.0};
  for (int64_t c = 1; c < classes; ++c) r.m = std::max(r.m, static_cast<double>(x[c]));
  double s = 0;
  for (int64_t c = 0; c < classes; ++c) s += std::exp(x[c] - r.m);
  r.log_s = std::log(s);
  return r;
}

// -log p_c for class c of one row.
inline double minus_log_p(CrossEntropyInput input, const float* x, const LogSumExp& l, int64_t c) {
  return input == CrossEntropyInput::Logits ? l.log_s - (x[c] - l.m) : -guarded_log(x[c]);
}

}  // namespace

int64_t first_bad_class_index(const float* t, int64_t n, int64_t classes) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = t[i];
    if (!(v >= 0 && v < static_cast<float>(classes) && v == std::floor(v))) return i;  // NaN fails too
  }
  return -1;
}

void cross_entropy_forward(CrossEntropyInput input, CrossEntropyTarget target, const float* x, const float* t,
                           CrossEntropyDims d, float* loss) {
  const int64_t C = d.classes, P = d.positions;
  const bool logits = input == CrossEntropyInput::Logits, index = target == CrossEntropyTarget::Index;
  parallel_for(d.batch, [&](int64_t n) {
    double sum = 0;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t row = n * P + p;
      const float* xr = x + row * C;
      const LogSumExp l = logits ? log_sum_exp(xr, C) : LogSumExp{};
      if (index) {
        sum += minus_log_p(input, xr, l, static_cast<int64_t>(t[row]));
      } else {
        const float* tr = t + row * C;
        for (int64_t c = 0; c < C; ++c) sum += tr[c] * minus_log_p(input, xr, l, c);
      }
    }
    loss[n] = static_cast<float>(sum / static_cast<double>(P));
  });
}

void cross_entropy_backward(CrossEntropyInput input, CrossEntropyTarget target, const float* x, const float* t,
                            const float* g, CrossEntropyDims d, float* dx, float* dt, bool accumulate) {
  const int64_t C = d.classes, P = d.positions;
  const bool logits = input == CrossEntropyInput::Logits, index = target == CrossEntropyTarget::Index;
  parallel_for(d.batch, [&](int64_t n) {
    const double w = static_cast<double>(g[n]) / static_cast<double>(P);
    for (int64_t p = 0; p < P; ++p) {
      const int64_t row = n * P + p;
      const float* xr = x + row * C;
      const float* tr = index ? nullptr : t + row * C;
      const int64_t k = index ? static_cast<int64_t>(t[row]) : -1;
      // t_c of this row: the one-hot vector of the index, or the given probabilities.
      auto t_of = [&](int64_t c) { return index ? (c == k ? 1.0 : 0.0) : static_cast<double>(tr[c]); };
      const LogSumExp l = logits ? log_sum_exp(xr, C) : LogSumExp{};
      if (dx) {
        float* dxr = dx + row * C;
        double total = 0;  // sum_c t_c
        if (logits)
          for (int64_t c = 0; c < C; ++c) total += t_of(c);
        for (int64_t c = 0; c < C; ++c) {
          const double v = logits ? w * (std::exp((xr[c] - l.m) - l.log_s) * total - t_of(c))
                                  : -w * t_of(c) / std::max(xr[c], kMinProbability);
          put(dxr[c], v, accumulate);
        }
      }
      if (dt && index) {
        if (!accumulate) dt[row] = 0.0f;
      } else if (dt) {
        float* dtr = dt + row * C;
        for (int64_t c = 0; c < C; ++c) put(dtr[c], w * minus_log_p(input, xr, l, c), accumulate);
      }
    }
  });
}

void mean_squared_forward(const float* x, const float* t, int64_t batch, int64_t size, float* loss) {
  parallel_for(batch, [&](int64_t n) {
    double sum = 0;
    for (int64_t i = n * size; i < (n + 1) * size; ++i) {
      const double e = static_cast<double>(x[i]) - t[i];
      sum += e * e;
    }
    loss[n] = static_cast<float>(sum / static_cast<double>(size));
  });
}

void mean_squared_backward(const float* x, const float* t, const float* g, int64_t batch, int64_t size, float* dx,
                           float* dt, bool accumulate) {
  parallel_for(batch, [&](int64_t n) {
    const double w = 2.0 * g[n] / static_cast<double>(size);
    for (int64_t i = n * size; i < (n + 1) * size; ++i) {
      const double v = w * (static_cast<double>(x[i]) - t[i]);
      if (dx) put(dx[i], v, accumulate);
      if (dt) put(dt[i], -v, accumulate);
    }
  });
}

}  // namespace netkit::kernels
