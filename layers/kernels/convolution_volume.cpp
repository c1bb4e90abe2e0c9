#include <netkit/layers/kernels/convolution_volume.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/core/parallel.h>

namespace netkit::kernels {

namespace {

// [N, C, D, A] <-> [D, N, C, A]: one depth slice of the batch becomes contiguous.
void to_depth_first(const float* src, int64_t n, int64_t c, int64_t depth, int64_t area, float* dst) {
  parallel_for(depth, [&](int64_t z) {
    for (int64_t i = 0; i < n * c; ++i)
      std::memcpy(dst + (z * n * c + i) * area, src + (i * depth + z) * area,
                  static_cast<size_t>(area) * sizeof(float));
  });
}

// dst[N, C, D, A] = (or +=) src[D, N, C, A], plus bias[c] when given.
void from_depth_first(const float* src, int64_t n, int64_t c, int64_t depth, int64_t area, const float* bias,
                      bool accumulate, float* dst) {
  parallel_for(n * c, [&](int64_t i) {
    const float add = bias ? bias[i % c] : 0.0f;
    for (int64_t z = 0; z < depth; ++z) {
      const float* s = src + (z * n * c + i) * area;
      float* d = dst + (i * depth + z) * area;
      for (int64_t a = 0; a < area; ++a) {
        const float v = bias ? s[a] + add : s[a];
        d[a] = accumulate ? d[a] + v : v;
      }
    }
  });
}

// The depth-r slice of Wt [OC, C/G, KD, KH, KW]: [OC, C/G, KH, KW].
FloatBuffer weight_slice(const float* w, const VolumeDims& d, int64_t r) {
  const int64_t rows = d.plane.out_channels * d.plane.group_in(), area = d.plane.kernel_area();
  FloatBuffer s(static_cast<size_t>(rows * area));
  for (int64_t i = 0; i < rows; ++i)
    std::memcpy(s.data() + i * area, w + (i * d.kernel_d + r) * area, static_cast<size_t>(area) * sizeof(float));
  return s;
}

// The input depth that kernel depth r of output depth z reads, or -1 in the padding.
int64_t input_depth(const VolumeDims& d, int64_t z, int64_t r) {
  const int64_t t = z * d.stride_d - d.pad_d + r * d.dilation_d;
  return t >= 0 && t < d.in_d ? t : -1;
}

}  // namespace

void conv_volume_forward(const float* x, const float* w, const float* b, const VolumeDims& d, float* y) {
  const ConvDims& p = d.plane;
  const int64_t in_slice = p.batch * p.in_channels * p.in_area(), out_slice = p.batch * p.out_channels * p.out_area();
  FloatBuffer xt(static_cast<size_t>(in_slice * d.in_d)), yt(static_cast<size_t>(out_slice * d.out_d), 0.0f),
      part(static_cast<size_t>(out_slice));
  to_depth_first(x, p.batch, p.in_channels, d.in_d, p.in_area(), xt.data());
  for (int64_t r = 0; r < d.kernel_d; ++r) {
    const FloatBuffer wr = weight_slice(w, d, r);
    for (int64_t z = 0; z < d.out_d; ++z) {
      const int64_t t = input_depth(d, z, r);
      if (t < 0) continue;
      conv_forward(xt.data() + t * in_slice, wr.data(), nullptr, p, part.data());
      float* yz = yt.data() + z * out_slice;
      parallel_chunks(out_slice, 1 << 14, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) yz[i] += part[static_cast<size_t>(i)];
      });
    }
  }
  from_depth_first(yt.data(), p.batch, p.out_channels, d.out_d, p.out_area(), b, false, y);
}

void conv_volume_backward(const float* x, const float* w, const float* g, const VolumeDims& d, float* dx,
                          bool accumulate, float* dw, float* db) {
  const ConvDims& p = d.plane;
  const int64_t in_slice = p.batch * p.in_channels * p.in_area(), out_slice = p.batch * p.out_channels * p.out_area();
  if (db)
    for (int64_t o = 0; o < p.out_channels; ++o) {
      double s = 0;
      for (int64_t n = 0; n < p.batch; ++n) {
        const float* gn = g + ((n * p.out_channels + o) * d.out_d) * p.out_area();
        for (int64_t i = 0; i < d.out_d * p.out_area(); ++i) s += gn[i];
      }
      db[o] += static_cast<float>(s);
    }
  if (!dx && !dw) return;
  FloatBuffer xt(static_cast<size_t>(in_slice * d.in_d)), gt(static_cast<size_t>(out_slice * d.out_d));
  FloatBuffer dxt(dx ? static_cast<size_t>(in_slice * d.in_d) : 0, 0.0f);
  to_depth_first(x, p.batch, p.in_channels, d.in_d, p.in_area(), xt.data());
  to_depth_first(g, p.batch, p.out_channels, d.out_d, p.out_area(), gt.data());
  const int64_t slice_w = p.out_channels * p.group_in() * p.kernel_area();
  for (int64_t r = 0; r < d.kernel_d; ++r) {
    const FloatBuffer wr = weight_slice(w, d, r);
    FloatBuffer dwr(dw ? static_cast<size_t>(slice_w) : 0, 0.0f);
    for (int64_t z = 0; z < d.out_d; ++z) {
      const int64_t t = input_depth(d, z, r);
      if (t < 0) continue;
      conv_backward(xt.data() + t * in_slice, wr.data(), gt.data() + z * out_slice, p,
                    dx ? dxt.data() + t * in_slice : nullptr, true, dw ? dwr.data() : nullptr, nullptr);
    }
    if (!dw) continue;
    const int64_t area = p.kernel_area();
    for (int64_t i = 0; i < p.out_channels * p.group_in(); ++i)
      for (int64_t a = 0; a < area; ++a) dw[(i * d.kernel_d + r) * area + a] += dwr[static_cast<size_t>(i * area + a)];
  }
  if (dx) from_depth_first(dxt.data(), p.batch, p.in_channels, d.in_d, p.in_area(), nullptr, accumulate, dx);
}

}  // namespace netkit::kernels
