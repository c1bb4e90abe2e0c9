#include <netkit/layers/kernels/batch_norm_reference.h>

#include <cmath>

namespace netkit::kernels::reference {

BnResult batch_norm(const std::vector<float>& x, BnLayout l, const std::vector<float>& gamma,
                    const std::vector<float>& beta, const std::vector<float>& m, const std::vector<float>& v,
                    double eps, bool train, const std::vector<float>& g) {
  const size_t C = static_cast<size_t>(l.channels);
  const double M = static_cast<double>(l.per_channel());
  BnResult r;
  r.y.assign(x.size(), 0.0);
  r.dx.assign(g.empty() ? 0 : x.size(), 0.0);
  r.dgamma.assign(C, 0.0);
  r.dbeta.assign(C, 0.0);
  r.mean.assign(C, 0.0);
  r.var_biased.assign(C, 0.0);
  auto index = [&](int64_t o, size_t c, int64_t i) {
    return static_cast<size_t>((o * l.channels + static_cast<int64_t>(c)) * l.inner + i);
  };
  for (size_t c = 0; c < C; ++c) {
    double mu = m[c], var = v[c];
    if (train) {
      double s = 0;
      for (int64_t o = 0; o < l.outer; ++o)
        for (int64_t i = 0; i < l.inner; ++i) s += x[index(o, c, i)];
      mu = s / M;
      double q = 0;
      for (int64_t o = 0; o < l.outer; ++o)
        for (int64_t i = 0; i < l.inner; ++i) q += (x[index(o, c, i)] - mu) * (x[index(o, c, i)] - mu);
      var = q / M;
    }
    r.mean[c] = mu;
    r.var_biased[c] = var;
    const double inv = var + eps > 0 ? 1.0 / std::sqrt(var + eps) : 0.0;
    double sum_g = 0, sum_g_xhat = 0;
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        const size_t k = index(o, c, i);
        const double xhat = (x[k] - mu) * inv;
        r.y[k] = gamma[c] * xhat + beta[c];
        if (!g.empty()) {
          sum_g += g[k];
          sum_g_xhat += g[k] * xhat;
        }
      }
    if (g.empty()) continue;
    r.dbeta[c] = sum_g;
    r.dgamma[c] = sum_g_xhat;
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        const size_t k = index(o, c, i);
        const double xhat = (x[k] - mu) * inv;
        r.dx[k] = train ? gamma[c] * inv / M * (M * g[k] - sum_g - xhat * sum_g_xhat) : gamma[c] * g[k] * inv;
      }
  }
  return r;
}

}  // namespace netkit::kernels::reference
