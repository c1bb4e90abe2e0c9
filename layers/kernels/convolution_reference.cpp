#include <netkit/layers/kernels/convolution_reference.h>

#include <cstddef>

namespace netkit::kernels::reference {

namespace {

size_t at(int64_t i) { return static_cast<size_t>(i); }

}  // namespace

// A 2-D problem is the 3-D one with depth 1 (the same terms in the same order).
ConvResult convolution(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                       const ConvDims& d, const std::vector<float>& g) {
  VolumeDims v;
  v.plane = d;
  return convolution(x, w, b, v, g);
}

ConvResult convolution(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
                       const VolumeDims& v, const std::vector<float>& g) {
  const ConvDims& d = v.plane;
  const int64_t N = d.batch, C = d.in_channels, O = d.out_channels, gi = d.group_in(), go = d.group_out();
  const int64_t D = v.in_d, H = d.in_h, W = d.in_w, OD = v.out_d, OH = d.out_h, OW = d.out_w;
  const int64_t KD = v.kernel_d, KH = d.kernel_h, KW = d.kernel_w;
  const bool backward = !g.empty();
  ConvResult r;
  r.y.assign(at(N * O * OD * OH * OW), 0.0);
  if (backward) {
    r.dx.assign(x.size(), 0.0);
    r.dw.assign(w.size(), 0.0);
    if (!b.empty()) r.db.assign(b.size(), 0.0);
  }
  // Every (example, output element, tap) term of the sum, once: the output gets w x, and the
  // backward pass sends dL/dy back along the same term.
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t z = 0; z < OD; ++z)
        for (int64_t i = 0; i < OH; ++i)
          for (int64_t j = 0; j < OW; ++j) {
            const int64_t yi = (((n * O + o) * OD + z) * OH + i) * OW + j;
            const double gy = backward ? g[at(yi)] : 0.0;
            double s = b.empty() ? 0.0 : b[at(o)];
            if (backward && !b.empty()) r.db[at(o)] += gy;
            for (int64_t c = 0; c < gi; ++c)
              for (int64_t e = 0; e < KD; ++e)
                for (int64_t p = 0; p < KH; ++p)
                  for (int64_t q = 0; q < KW; ++q) {
                    const int64_t t = z * v.stride_d - v.pad_d + e * v.dilation_d;
                    const int64_t h = i * d.stride_h - d.pad_h + p * d.dilation_h;
                    const int64_t u = j * d.stride_w - d.pad_w + q * d.dilation_w;
                    if (t < 0 || t >= D || h < 0 || h >= H || u < 0 || u >= W) continue;  // padding
                    const int64_t xi = (((n * C + (o / go) * gi + c) * D + t) * H + h) * W + u;
                    const int64_t wi = (((o * gi + c) * KD + e) * KH + p) * KW + q;
                    s += static_cast<double>(w[at(wi)]) * x[at(xi)];
                    if (backward) {
                      r.dx[at(xi)] += gy * w[at(wi)];
                      r.dw[at(wi)] += gy * x[at(xi)];
                    }
                  }
            r.y[at(yi)] = s;
          }
  return r;
}

}  // namespace netkit::kernels::reference
