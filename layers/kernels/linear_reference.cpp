#include <netkit/layers/kernels/linear_reference.h>

#include <cstddef>

namespace netkit::kernels::reference {

LinearResult linear(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b, LinearDims d,
                    const std::vector<float>& g) {
  const auto N = static_cast<size_t>(d.batch), I = static_cast<size_t>(d.in), O = static_cast<size_t>(d.out);
  LinearResult r;
  r.y.assign(N * O, 0.0);
  for (size_t n = 0; n < N; ++n)
    for (size_t j = 0; j < O; ++j) {
      double s = b[j];
      for (size_t i = 0; i < I; ++i) s += static_cast<double>(w[j * I + i]) * x[n * I + i];
      r.y[n * O + j] = s;
    }
  if (g.empty()) return r;
  r.dx.assign(N * I, 0.0);
  r.dw.assign(O * I, 0.0);
  r.db.assign(O, 0.0);
  for (size_t n = 0; n < N; ++n)
    for (size_t j = 0; j < O; ++j) {
      const double gj = g[n * O + j];
      r.db[j] += gj;
      for (size_t i = 0; i < I; ++i) {
        r.dx[n * I + i] += gj * w[j * I + i];
        r.dw[j * I + i] += gj * x[n * I + i];
      }
    }
  return r;
}

}  // namespace netkit::kernels::reference
