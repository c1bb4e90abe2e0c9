#include <netkit/layers/kernels/convolution_direct.h>

#include <algorithm>
#include <cstring>

// The hot loops compiled for AVX-512 (x86-64-v4), AVX2 with FMA (x86-64-v3) and baseline x86-64,
// picked at load time. This file is built with -ffp-contract=fast (CMakeLists.txt): each
// `acc += x * w` becomes one fused multiply-add where the CPU has FMA. The vector code spells out
// every term in a fixed order, so the v3 and v4 clones give the same bits; the baseline clone
// (CPUs without FMA) rounds each product first.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NETKIT_DIRECT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NETKIT_DIRECT_CLONES
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

inline v16 load(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, v16 v) { std::memcpy(p, &v, sizeof v); }
using v16i = int32_t __attribute__((vector_size(64)));
// -1 in lanes l >= n, 0 in the others (scalar code: GCC 12 turns vector comparisons into scalar
// code for AVX-512).
inline v16i lanes_from(int64_t n) {
  alignas(64) int32_t m[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) m[l] = l >= n ? -1 : 0;
  v16i v;
  std::memcpy(&v, m, sizeof v);
  return v;
}
// a where the mask is -1, b where it is 0 (bitwise, so that it compiles to vector code).
inline v16 select(v16i mask, v16 a, v16 b) {
  return reinterpret_cast<v16>((reinterpret_cast<v16i>(a) & mask) | (reinterpret_cast<v16i>(b) & ~mask));
}

// out_flat[o, t0 + 16 s + l] for O channels and S vectors: 0 + sum over k of w[k, o] P[off_k + t0 + 16 s + l].
// panel and q point at t0; w at the block's [k, O] weights.
template <int S, int O>
__attribute__((always_inline)) inline void tile(const float* panel, const int64_t* offsets, int64_t taps,
                                                const float* w, float* q, int64_t q_stride) {
  v16 acc[O][S];
  for (int o = 0; o < O; ++o)
    for (int s = 0; s < S; ++s) acc[o][s] = v16{};
  for (int64_t k = 0; k < taps; ++k) {
    const float* p = panel + offsets[k];
    v16 xs[S];
    for (int s = 0; s < S; ++s) xs[s] = load(p + s * kLanes);
    const float* wk = w + k * O;
    for (int o = 0; o < O; ++o) {
      const float wo = wk[o];
      for (int s = 0; s < S; ++s) acc[o][s] += xs[s] * wo;
    }
  }
  for (int o = 0; o < O; ++o)
    for (int s = 0; s < S; ++s) store(q + o * q_stride + s * kLanes, acc[o][s]);
}

template <int S>
__attribute__((always_inline)) inline void tile_outs(int outs, const float* panel, const int64_t* offsets, int64_t taps,
                                                     const float* w, float* q, int64_t q_stride) {
  if constexpr (S > kSegments) {  // one or two channels only
    if (outs == 2)
      tile<S, 2>(panel, offsets, taps, w, q, q_stride);
    else
      tile<S, 1>(panel, offsets, taps, w, q, q_stride);
    return;
  }
  switch (outs) {
    case 6:
      tile<S, 6>(panel, offsets, taps, w, q, q_stride);
      break;
    case 5:
      tile<S, 5>(panel, offsets, taps, w, q, q_stride);
      break;
    case 4:
      tile<S, 4>(panel, offsets, taps, w, q, q_stride);
      break;
    case 3:
      tile<S, 3>(panel, offsets, taps, w, q, q_stride);
      break;
    case 2:
      tile<S, 2>(panel, offsets, taps, w, q, q_stride);
      break;
    default:
      tile<S, 1>(panel, offsets, taps, w, q, q_stride);
      break;
  }
}

// out_flat [out_channels, vectors 16] (rows q_stride apart) from the panel, tile by tile.
NETKIT_DIRECT_CLONES
void correlate(const float* panel, const int64_t* offsets, int64_t taps, const float* packed, int64_t out_channels,
               int64_t vectors, float* q, int64_t q_stride) {
  for (int64_t o0 = 0; o0 < out_channels; o0 += kOuts) {
    const int outs = static_cast<int>(std::min<int64_t>(kOuts, out_channels - o0));
    const float* w = packed + o0 * taps;
    // One or two channels: 8 vectors of t a tile, so that a tap's loads serve 8 or 16 products.
    const int64_t segments = outs <= 2 ? 2 * kSegments : kSegments;
    for (int64_t s0 = 0; s0 < vectors; s0 += segments) {
      const float* p = panel + s0 * kLanes;
      float* out = q + o0 * q_stride + s0 * kLanes;
      const int64_t n = std::min<int64_t>(segments, vectors - s0);
      if (segments > kSegments && n > kSegments) {
        switch (n) {
          case 8:
            tile_outs<8>(outs, p, offsets, taps, w, out, q_stride);
            break;
          case 7:
            tile_outs<7>(outs, p, offsets, taps, w, out, q_stride);
            break;
          case 6:
            tile_outs<6>(outs, p, offsets, taps, w, out, q_stride);
            break;
          default:
            tile_outs<5>(outs, p, offsets, taps, w, out, q_stride);
            break;
        }
        continue;
      }
      switch (n) {
        case 4:
          tile_outs<4>(outs, p, offsets, taps, w, out, q_stride);
          break;
        case 3:
          tile_outs<3>(outs, p, offsets, taps, w, out, q_stride);
          break;
        case 2:
          tile_outs<2>(outs, p, offsets, taps, w, out, q_stride);
          break;
        default:
          tile_outs<1>(outs, p, offsets, taps, w, out, q_stride);
          break;
      }
    }
  }
}

// dWt^T rows [k0, k0 + R), output-channel vectors [v0, v0 + V) of one example: partial[k, o] +=
// 0 + sum over the outputs (i, j) in row order of P[off_k + i pw + j] GT[i ow + j, o].
template <int R, int V>
__attribute__((always_inline)) inline void weight_tile(const float* panel, const int64_t* offsets, const float* gt,
                                                       int64_t ocv, int64_t oh, int64_t ow, int64_t pw,
                                                       float* partial) {
  v16 acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) acc[r][v] = v16{};
  for (int64_t i = 0; i < oh; ++i)
    for (int64_t j = 0; j < ow; ++j) {
      const float* gp = gt + (i * ow + j) * ocv;
      const float* p = panel + i * pw + j;
      v16 gs[V];
      for (int v = 0; v < V; ++v) gs[v] = load(gp + v * kLanes);
      for (int r = 0; r < R; ++r) {
        const float xr = p[offsets[r]];
        for (int v = 0; v < V; ++v) acc[r][v] += gs[v] * xr;
      }
    }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      float* to = partial + r * ocv + v * kLanes;
      store(to, load(to) + acc[r][v]);
    }
}

// Taps a dWt tile for v vectors of output channels (GCC keeps 24 single-vector sums in memory,
// hence 12 for one).
constexpr int64_t weight_tile_rows(int64_t v) { return v == 1 ? 12 : kWeightTaps / v; }
// The rows of dWt^T's partial sums are padded to a multiple of every tile's rows.
int64_t weight_rows(int64_t ocv) { return ocv / kLanes <= 4 ? weight_tile_rows(ocv / kLanes) : kWeightTaps; }

// All of example n's dWt^T: blocks of up to 4 vectors of output channels times 24 / V taps.
NETKIT_DIRECT_CLONES
void weight_gradient(const float* panel, const int64_t* offsets, int64_t rows, const float* gt, int64_t ocv, int64_t oh,
                     int64_t ow, int64_t pw, float* partial) {
  for (int64_t v0 = 0; v0 < ocv / kLanes; v0 += 4) {
    const int64_t vs = std::min<int64_t>(4, ocv / kLanes - v0);
    const int64_t r_tile = weight_tile_rows(vs);
    for (int64_t k0 = 0; k0 < rows; k0 += r_tile) {
      const int64_t* off = offsets + k0;
      const float* g = gt + v0 * kLanes;
      float* out = partial + k0 * ocv + v0 * kLanes;
      switch (vs) {
        case 4:
          weight_tile<6, 4>(panel, off, g, ocv, oh, ow, pw, out);
          break;
        case 3:
          weight_tile<8, 3>(panel, off, g, ocv, oh, ow, pw, out);
          break;
        case 2:
          weight_tile<12, 2>(panel, off, g, ocv, oh, ow, pw, out);
          break;
        default:
          weight_tile<12, 1>(panel, off, g, ocv, oh, ow, pw, out);
          break;
      }
    }
  }
}

// The 16 x 16 block a[r][l] = src[r * lds + l] written transposed, dst[l * ldd + r] = a[r][l]: four
// butterfly stages on row pairs (r, r + h), h = 8, 4, 2, 1, each swapping the off-diagonal h x h
// blocks of every 2h x 2h block (two-source shuffles, no arithmetic).
// (__builtin_shuffle is GCC's; other compilers, such as the fuzz build's clang, copy element by
// element: the same values.)
__attribute__((always_inline)) inline void transpose16(const float* src, int64_t lds, float* dst, int64_t ldd) {
#if !defined(__GNUC__) || defined(__clang__)
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t l = 0; l < 16; ++l) dst[l * ldd + i] = src[i * lds + l];
#else
  v16 r[16];
  for (int i = 0; i < 16; ++i) r[i] = load(src + i * lds);
  auto stage = [&r](int h, v16i lo, v16i hi) {
    for (int i = 0; i < 16; ++i)
      if ((i & h) == 0) {
        const v16 a = r[i], b = r[i + h];
        r[i] = __builtin_shuffle(a, b, lo);
        r[i + h] = __builtin_shuffle(a, b, hi);
      }
  };
  stage(8, v16i{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
        v16i{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31});
  stage(4, v16i{0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
        v16i{4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31});
  stage(2, v16i{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
        v16i{2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31});
  stage(1, v16i{0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},
        v16i{1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31});
  for (int i = 0; i < 16; ++i) store(dst + i * ldd, r[i]);
#endif
}

// GT[u, o] = G[o, u] for u < area, o < oc, and 0 for oc <= o < ocv: 16 x 16 blocks in registers,
// the edges element by element.
NETKIT_DIRECT_CLONES
void transpose(const float* g, int64_t oc, int64_t area, float* gt, int64_t ocv) {
  const int64_t oc16 = oc / kLanes * kLanes, area16 = area / kLanes * kLanes;
  for (int64_t o = 0; o < oc16; o += kLanes)
    for (int64_t u = 0; u < area16; u += kLanes) transpose16(g + o * area + u, area, gt + u * ocv + o, ocv);
  for (int64_t u = 0; u < area; ++u) {
    for (int64_t o = u < area16 ? oc16 : 0; o < oc; ++o) gt[u * ocv + o] = g[o * area + u];
    for (int64_t o = oc; o < ocv; ++o) gt[u * ocv + o] = 0.0f;
  }
}

// fill_panel's rows when they are longer than one vector.
__attribute__((always_inline)) inline void fill_rows(const float* src, const DirectShape& s, int64_t ph, int64_t pw,
                                                     int64_t c0, int64_t c1, v16i in_lo, v16i in_hi, float* panel) {
  const int64_t k_lo = c0 / kLanes * kLanes, k_hi = (c1 - 1) / kLanes * kLanes;
  const int64_t src_size = s.channels * s.src_h * s.src_w;
  const v16 zero{};
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t r = 0; r < ph; ++r) {
      float* row = panel + (c * ph + r) * pw;
      const int64_t h = r - s.top;
      if (h < 0 || h >= s.src_h || c0 == c1) {
        for (int64_t k = 0; k < pw; k += kLanes) store(row + k, zero);
        continue;
      }
      const int64_t at = (c * s.src_h + h) * s.src_w - s.left;  // src[at + k] is P's column k
      for (int64_t k = 0; k < pw; k += kLanes) {
        if (k + kLanes <= c0 || k >= c1) {
          store(row + k, zero);
        } else if (at + k >= 0 && at + k + kLanes <= src_size) {
          const v16i all = ~v16i{};
          const v16i inside = (k == k_lo ? in_lo : all) & (k == k_hi ? in_hi : all);
          store(row + k, select(inside, load(src + at + k), zero));
        } else {
          for (int64_t j = k; j < k + kLanes; ++j) row[j] = j >= c0 && j < c1 ? src[at + j] : 0.0f;
        }
      }
    }
}

// The panel P [channels, ph, pw] of src (0 outside), then `slack` >= 16 zeros, 16 columns at a
// time: one vector read from the source row (shifted by `left`) with the lanes outside the source
// set to 0, stored whole. Rows are written in order, so what a store puts past a row's end is
// overwritten by the rows after it (or lands on the slack); the source is never read outside
// [src, src + its size) (element by element there).
NETKIT_DIRECT_CLONES
void fill_panel(const float* src, const DirectShape& s, int64_t ph, int64_t pw, int64_t slack, float* panel) {
  // Columns [c0, c1) of P hold source columns [c0 - left, c1 - left). The 16 columns from k_lo
  // (k_hi) hold c0 (c1 - 1); in_lo (in_hi) has -1 in the lanes at or after c0 (before c1).
  const int64_t c0 = std::clamp<int64_t>(s.left, 0, pw), c1 = std::clamp<int64_t>(s.left + s.src_w, c0, pw);
  const int64_t k_lo = c0 / kLanes * kLanes, k_hi = (c1 - 1) / kLanes * kLanes;
  const v16i in_lo = lanes_from(c0 - k_lo), in_hi = ~lanes_from(c1 - k_hi);
  const int64_t src_size = s.channels * s.src_h * s.src_w;
  const v16 zero{};
  if (pw <= kLanes) {  // one vector a row (k_lo = k_hi = 0)
    const v16i inside = c0 == c1 ? v16i{} : in_lo & in_hi;
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t r = 0; r < ph; ++r) {
        float* row = panel + (c * ph + r) * pw;
        const int64_t h = r - s.top, at = (c * s.src_h + h) * s.src_w - s.left;
        if (h < 0 || h >= s.src_h)
          store(row, zero);
        else if (at >= 0 && at + kLanes <= src_size)
          store(row, select(inside, load(src + at), zero));
        else
          for (int64_t j = 0; j < kLanes; ++j) row[j] = j >= c0 && j < c1 ? src[at + j] : 0.0f;
      }
  } else {
    fill_rows(src, s, ph, pw, c0, c1, in_lo, in_hi, panel);
  }
  float* tail = panel + s.channels * ph * pw;
  for (int64_t k = 0; k + kLanes <= slack; k += kLanes) store(tail + k, zero);
  for (int64_t k = slack / kLanes * kLanes; k < slack; ++k) tail[k] = 0.0f;
}

// out (+)= the columns j < out_w of out_flat (+ bias[o]): out = q + b, out = q or out += q, one
// operation an element. Rows go in order with whole vectors where these stay inside out: when
// writing, what lands past a row's end is overwritten by the rows after it; when accumulating, the
// lanes past the row's end add -0, which leaves every value (also -0) as it is.
NETKIT_DIRECT_CLONES
void copy_out(const float* q, int64_t q_stride, const DirectShape& s, int64_t pw, const float* bias, float* out,
              bool accumulate) {
  const v16 minus_zero = -v16{};  // -0 in every lane
  const int64_t ow = s.out_w;
  const v16i in_tail = ~lanes_from(ow - (ow - 1) / kLanes * kLanes);  // the last 16 columns' lanes < ow
  const float* out_end = out + s.out_channels * s.out_h * ow;
  for (int64_t o = 0; o < s.out_channels; ++o) {
    const float b = bias ? bias[o] : 0.0f;
    for (int64_t i = 0; i < s.out_h; ++i) {
      const float* from = q + o * q_stride + i * pw;
      float* to = out + (o * s.out_h + i) * ow;
      for (int64_t j = 0; j < ow; j += kLanes) {
        const int64_t left = ow - j;
        if (left < kLanes && to + j + kLanes > out_end) {  // the last row: element by element
          for (int64_t k = j; k < ow; ++k) to[k] = accumulate ? to[k] + from[k] : bias ? from[k] + b : from[k];
          break;
        }
        const v16 f = load(from + j);
        if (accumulate)
          store(to + j, load(to + j) + (left >= kLanes ? f : select(in_tail, f, minus_zero)));
        else
          store(to + j, bias ? f + b : f);
      }
    }
  }
}

// Asks for src[0..n) to be brought into the caches (the next example's, while this one computes):
// the panels are read once per example, and from the last level cache, unprefetched, the reads cost
// a tenth of the whole (perf).
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
  fill_panel(src, s_, ph_, pw_, panel_floats_ - s_.channels * ph_ * pw_, panel);
  prefetch(next_src, s_.channels * s_.src_h * s_.src_w);
  correlate(panel, offsets_.data(), taps_, packed_.data(), s_.out_channels, vectors_, q, vectors_ * kLanes);
  copy_out(q, vectors_ * kLanes, s_, pw_, bias, out, accumulate);
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
  fill_panel(x, s_, ph_, pw_, panel_floats_ - s_.channels * ph_ * pw_, panel);
  // GT[u, o] = G[o, u] (u = i OW + j), 0 for o >= OC
  const int64_t area = s_.out_h * s_.out_w, oc = s_.out_channels;
  prefetch(next_x, s_.channels * s_.src_h * s_.src_w);
  prefetch(next_g, oc * area);
  transpose(g, oc, area, gt, ocv_);
  weight_gradient(panel, offsets_.data(), rows_, gt, ocv_, s_.out_h, s_.out_w, pw_, partial);
}

}  // namespace netkit::kernels
