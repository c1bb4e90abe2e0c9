#include <netkit/layers/kernels/pooling_reference.h>

#include <cstddef>
#include <limits>

namespace netkit::kernels::reference {

PoolResult pool(PoolFunction f, const std::vector<float>& x, PoolDims d, const std::vector<float>& g) {
  const int64_t ph = d.in_h + 2 * d.pad_h, pw = d.in_w + 2 * d.pad_w;  // padded plane
  const double fill = f == PoolFunction::Max ? -std::numeric_limits<double>::infinity() : 0.0;
  const double area = static_cast<double>(d.kernel_h * d.kernel_w);
  PoolResult r;
  r.y.assign(static_cast<size_t>(d.planes * d.out_h * d.out_w), 0.0);
  if (!g.empty()) r.dx.assign(x.size(), 0.0);
  std::vector<double> padded(static_cast<size_t>(ph * pw));
  for (int64_t p = 0; p < d.planes; ++p) {
    for (int64_t i = 0; i < ph; ++i)
      for (int64_t j = 0; j < pw; ++j) {
        const int64_t h = i - d.pad_h, w = j - d.pad_w;
        const bool inside = h >= 0 && h < d.in_h && w >= 0 && w < d.in_w;
        padded[static_cast<size_t>(i * pw + j)] = inside ? x[static_cast<size_t>((p * d.in_h + h) * d.in_w + w)] : fill;
      }
    for (int64_t oh = 0; oh < d.out_h; ++oh)
      for (int64_t ow = 0; ow < d.out_w; ++ow) {
        const size_t o = static_cast<size_t>((p * d.out_h + oh) * d.out_w + ow);
        double best = -std::numeric_limits<double>::infinity(), sum = 0.0;
        int64_t best_i = -1, best_j = -1;
        for (int64_t ki = 0; ki < d.kernel_h; ++ki)
          for (int64_t kj = 0; kj < d.kernel_w; ++kj) {
            const int64_t i = oh * d.stride_h + ki, j = ow * d.stride_w + kj;
            const double v = padded[static_cast<size_t>(i * pw + j)];
            sum += v;
            if (v > best || best_i < 0) best = v, best_i = i, best_j = j;
          }
        r.y[o] = f == PoolFunction::Max ? best : sum / area;
        if (g.empty()) continue;
        // Padding positions (outside the input) take no gradient.
        auto add = [&](int64_t i, int64_t j, double value) {
          const int64_t h = i - d.pad_h, w = j - d.pad_w;
          if (h >= 0 && h < d.in_h && w >= 0 && w < d.in_w)
            r.dx[static_cast<size_t>((p * d.in_h + h) * d.in_w + w)] += value;
        };
        if (f == PoolFunction::Max) {
          add(best_i, best_j, g[o]);
        } else {
          for (int64_t ki = 0; ki < d.kernel_h; ++ki)
            for (int64_t kj = 0; kj < d.kernel_w; ++kj) add(oh * d.stride_h + ki, ow * d.stride_w + kj, g[o] / area);
        }
      }
  }
  return r;
}

}  // namespace netkit::kernels::reference
