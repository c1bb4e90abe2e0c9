#include <netkit/layers/kernels/convolution_direct.h>

#include <algorithm>
#include <cstring>

#include <netkit/layers/kernels/instruction_set.h>
#ifdef NETKIT_INSTRUCTION_SET_VARIANTS
#include <immintrin.h>
#endif

namespace netkit::kernels {

namespace {

using v16 = float __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;
constexpr int kSegments = 4;  // vectors of t a tile
constexpr int kOuts = 6;      // output channels a tile
constexpr int64_t kMaxPanel = int64_t{1} << 16;
constexpr int64_t kMaxKernel = 7;
constexpr int64_t kMinChannels = 8, kMinChannelProduct = 128;
constexpr int64_t kWeightTaps = 24;  // taps times vectors of output channels a dWt tile
using v16i = int32_t __attribute__((vector_size(64)));

// Taps a dWt tile for v vectors of output channels (GCC keeps 24 single-vector sums in memory,
// hence 12 for one).
constexpr int64_t weight_tile_rows(int64_t v) { return v == 1 ? 12 : kWeightTaps / v; }
// The rows of dWt^T's partial sums are padded to a multiple of every tile's rows.
int64_t weight_rows(int64_t ocv) { return ocv / kLanes <= 4 ? weight_tile_rows(ocv / kLanes) : kWeightTaps; }

// The loops with a variant per instruction set (convolution_direct_loops.inc).
struct Loops {
  void (*correlate)(const float* panel, const int64_t* offsets, int64_t taps, const float* packed, int64_t out_channels,
                    int64_t vectors, float* q, int64_t q_stride);
  void (*weight_gradient)(const float* panel, const int64_t* offsets, int64_t rows, const float* gt, int64_t ocv,
                          int64_t oh, int64_t ow, int64_t pw, float* partial);
  void (*transpose)(const float* g, int64_t oc, int64_t area, float* gt, int64_t ocv);
  void (*fill_panel)(const float* src, const DirectShape& s, int64_t ph, int64_t pw, int64_t slack, float* panel);
  void (*copy_out)(const float* q, int64_t q_stride, const DirectShape& s, int64_t pw, const float* bias, float* out,
                   bool accumulate);
};

#define NETKIT_VARIANT_BODY <netkit/layers/kernels/convolution_direct_loops.inc>
#include <netkit/layers/kernels/instruction_set_variants.inc>

const Loops& loops() { return variant(baseline::table, avx2::table, avx512::table); }

// Asks for src[0..n) to be brought into the caches (the next example's, while this one computes):
// the panels are read once per example, and unprefetched their first reads wait on the last level
// cache.
void prefetch(const float* src, int64_t n) {
  if (src)
    for (int64_t i = 0; i < n; i += kLanes) __builtin_prefetch(src + i);
}

int64_t panel_size(int64_t channels, int64_t out_h, int64_t out_w, int64_t kh, int64_t kw) {
  return channels * (out_h + kh - 1) * (out_w + kw - 1);
}

}  // namespace

bool conv_direct_supports(const ConvDims& d) {
  return d.groups == 1 && d.stride_h == 1 && d.stride_w == 1 && d.dilation_h == 1 && d.dilation_w == 1 &&
         d.kernel_h <= kMaxKernel && d.kernel_w <= kMaxKernel;
}

bool conv_direct_applies(const ConvDims& d) {
  return conv_direct_supports(d) && !d.direct() && d.in_channels >= kMinChannels && d.out_channels >= kMinChannels &&
         d.in_channels * d.out_channels >= kMinChannelProduct &&
         panel_size(d.in_channels, d.out_h, d.out_w, d.kernel_h, d.kernel_w) <= kMaxPanel &&
         panel_size(d.out_channels, d.in_h, d.in_w, d.kernel_h, d.kernel_w) <= kMaxPanel;
}

DirectShape direct_forward_shape(const ConvDims& d) {
  return {d.in_channels, d.out_channels, d.in_h, d.in_w, d.out_h, d.out_w, d.kernel_h, d.kernel_w, d.pad_h, d.pad_w};
}

DirectShape direct_input_gradient_shape(const ConvDims& d) {
  return {d.out_channels,           d.in_channels,           d.out_h, d.out_w, d.in_h, d.in_w, d.kernel_h, d.kernel_w,
          d.kernel_h - 1 - d.pad_h, d.kernel_w - 1 - d.pad_w};
}

DirectCorrelation::DirectCorrelation(const DirectShape& s, const float* w, bool flipped)
    : s_(s),
      pw_(s.out_w + s.kernel_w - 1),
      ph_(s.out_h + s.kernel_h - 1),
      vectors_((s.out_h * pw_ + kLanes - 1) / kLanes),
      taps_(s.channels * s.kernel_h * s.kernel_w),
      panel_floats_(s.channels * ph_ * pw_ + 2 * kLanes + s.kernel_w),
      out_floats_(s.out_channels * vectors_ * kLanes + kLanes),
      offsets_(static_cast<size_t>(taps_)),
      packed_(static_cast<size_t>(s.out_channels * taps_)) {
  const int64_t kh = s.kernel_h, kw = s.kernel_w, area = kh * kw;
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t p = 0; p < kh; ++p)
      for (int64_t q = 0; q < kw; ++q) offsets_[static_cast<size_t>((c * kh + p) * kw + q)] = (c * ph_ + p) * pw_ + q;
  // wk[o, c, p, q] = Wt[o, c, p, q], or Wt[c, o, KH - 1 - p, KW - 1 - q] (Wt is [channels, out_channels, ...] then)
  auto wk = [&](int64_t o, int64_t c, int64_t p, int64_t q) {
    return flipped ? w[((c * s.out_channels + o) * kh + (kh - 1 - p)) * kw + (kw - 1 - q)]
                   : w[((o * s.channels + c) * kh + p) * kw + q];
  };
  for (int64_t o0 = 0; o0 < s.out_channels; o0 += kOuts) {
    const int64_t outs = std::min<int64_t>(kOuts, s.out_channels - o0);
    float* block = packed_.data() + o0 * taps_;
    for (int64_t k = 0; k < taps_; ++k)
      for (int64_t o = 0; o < outs; ++o) block[k * outs + o] = wk(o0 + o, k / area, k % area / kw, k % kw);
  }
}

void DirectCorrelation::run(const float* src, const float* bias, float* out, bool accumulate, float* workspace,
                            const float* next_src) const {
  float* panel = workspace;
  float* q = workspace + panel_floats_;
  loops().fill_panel(src, s_, ph_, pw_, panel_floats_ - s_.channels * ph_ * pw_, panel);
  prefetch(next_src, s_.channels * s_.src_h * s_.src_w);
  loops().correlate(panel, offsets_.data(), taps_, packed_.data(), s_.out_channels, vectors_, q, vectors_ * kLanes);
  loops().copy_out(q, vectors_ * kLanes, s_, pw_, bias, out, accumulate);
}

DirectWeightGradient::DirectWeightGradient(const ConvDims& d)
    : s_(direct_forward_shape(d)),
      pw_(d.out_w + d.kernel_w - 1),
      ph_(d.out_h + d.kernel_h - 1),
      ocv_((d.out_channels + kLanes - 1) / kLanes * kLanes),
      rows_((d.patch() + weight_rows(ocv_) - 1) / weight_rows(ocv_) * weight_rows(ocv_)),
      panel_floats_(d.in_channels * ph_ * pw_ + kLanes),
      offsets_(static_cast<size_t>(rows_), 0) {
  for (int64_t c = 0; c < d.in_channels; ++c)
    for (int64_t p = 0; p < d.kernel_h; ++p)
      for (int64_t q = 0; q < d.kernel_w; ++q)
        offsets_[static_cast<size_t>((c * d.kernel_h + p) * d.kernel_w + q)] = (c * ph_ + p) * pw_ + q;
}

void DirectWeightGradient::add(const float* x, const float* g, float* partial, float* workspace, const float* next_x,
                               const float* next_g) const {
  float* panel = workspace;
  float* gt = workspace + panel_floats_;
  loops().fill_panel(x, s_, ph_, pw_, panel_floats_ - s_.channels * ph_ * pw_, panel);
  // GT[u, o] = G[o, u] (u = i OW + j), 0 for o >= OC
  const int64_t area = s_.out_h * s_.out_w, oc = s_.out_channels;
  prefetch(next_x, s_.channels * s_.src_h * s_.src_w);
  prefetch(next_g, oc * area);
  loops().transpose(g, oc, area, gt, ocv_);
  loops().weight_gradient(panel, offsets_.data(), rows_, gt, ocv_, s_.out_h, s_.out_w, pw_, partial);
}

}  // namespace netkit::kernels
