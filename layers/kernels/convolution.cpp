#include <netkit/layers/kernels/convolution.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/core/blas.h>
#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/core/serial_blas.h>
#include <netkit/layers/kernels/convolution_direct.h>
#include <netkit/layers/kernels/convolution_im2col.h>
#include <netkit/layers/kernels/vector_clones.h>

namespace netkit::kernels {

namespace {

// Unfolded tiles of at most about this many floats (1 MiB): large enough that sgemm's per-call
// packing is amortised, small enough for the caches (measured best of 2^15 .. 2^20 for the
// benchmark shapes, single-threaded).
constexpr int64_t kTileFloats = int64_t{1} << 18;
// dWt and db are summed over chunks of examples; at most this many chunks a call.
constexpr int64_t kMaxChunks = 8;

// The output columns of one example cut into tiles: whole output rows, as many as fit in
// kTileFloats of unfolded input (equal numbers of rows a tile), or parts of rows when one row is
// too long. The direct path takes all columns at once. Everything depends on the geometry alone.
// (Tiles of several whole examples, for wider sgemm matrices, measured slower here: the copy out
// of the product costs more than the wider matrices save, down to 4x4 outputs; re-measured for
// 16->32 channels on 14x14: OpenBLAS 0.3.21 then leaves its small-matrix kernel for the blocked
// one, 1.3 to 1.6 times slower. The same holds for several examples a product in the backward
// pass, 7 to 13% slower; see docs/convolution.md.)
struct Tiling {
  int64_t area = 0, columns = 0, count = 1;
  bool direct = false;  // 1x1 stride 1 unpadded: col is X itself

  explicit Tiling(const ConvDims& d) : area(d.out_area()), columns(d.out_area()), direct(d.direct()) {
    const int64_t most = std::max<int64_t>(16, kTileFloats / std::max<int64_t>(1, d.patch()));
    if (direct || area <= most) return;
    if (d.out_w <= most) {
      const int64_t rows = most / d.out_w, tiles = (d.out_h + rows - 1) / rows;
      columns = (d.out_h + tiles - 1) / tiles * d.out_w;
    } else {
      const int64_t tiles = (area + most - 1) / most;
      columns = std::min(((area + tiles - 1) / tiles + 15) / 16 * 16, area);
    }
    count = (area + columns - 1) / columns;
  }
  // Columns [c0, c1) of tile k.
  int64_t begin(int64_t k) const { return k * columns; }
  int64_t end(int64_t k) const { return std::min(area, (k + 1) * columns); }
};

// Runs body(item, following, workspace) for every item in [0, items) on up to num_threads()
// workers, each with its own workspace of `floats` floats. Items are independent; each worker
// takes the next unclaimed item (a shared counter), so a worker slowed down by other load on its
// core takes fewer, and which thread runs an item never changes what the item computes. A worker
// claims its following item before running the current one and passes it (-1: none), so that
// the body can prefetch that item's data.
// The workspace is kept by the thread between calls (grown when a call needs more), which saves
// the page faults of fresh memory on every call; its content never carries over (every item
// writes what it reads).
template <class F>
void for_items(int64_t items, int64_t floats, F&& body) {
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(num_threads(), items));
  std::atomic<int64_t> next{0};
  parallel_for(workers, [&](int64_t) {
    thread_local FloatBuffer workspace;
    if (static_cast<int64_t>(workspace.size()) < floats) workspace.resize(static_cast<size_t>(floats));
    for (int64_t item = next++; item < items;) {
      const int64_t following = next++;
      body(item, following < items ? following : -1, workspace.data());
      item = following;
    }
  });
}

// Sum of v[0..n) in double, in four interleaved partial sums (k mod 4) added at the end: the
// order is fixed, and four independent additions a step keep the adder busy.
double channel_sum(const float* v, int64_t n) {
  double s[4] = {0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 4 <= n; k += 4)
    for (int j = 0; j < 4; ++j) s[j] += v[k + j];
  for (; k < n; ++k) s[k % 4] += v[k];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

// out[o] += channel_sum(v + o n, n) for every channel o, four channels at a time: each channel's
// sum runs in channel_sum's order (the same bits), and the four channels' chains are independent,
// which makes it about four times faster than one channel at a time (the sums are latency-bound).
// (The last k < 4 elements are added as a vector with zeros in the other lanes: a sum that starts
// at +0 is never -0, so adding +0 leaves it exactly as it is.)
NETKIT_VECTOR_CLONES
void add_channel_sums(const float* v, int64_t channels, int64_t n, double* out) {
  using v4f = float __attribute__((vector_size(16)));
  using v4d = double __attribute__((vector_size(32)));
  const int64_t n4 = n / 4 * 4;
  int64_t o = 0;
  for (; o + 4 <= channels; o += 4) {
    v4d s0{}, s1{}, s2{}, s3{};              // channel o + c, lane j: the elements k with k mod 4 = j
    auto next = [&](int64_t c, int64_t k) {  // elements k .. k + 3 (0 past n)
      v4f x{};
      const float* from = v + (o + c) * n + k;
      if (k + 4 <= n)
        std::memcpy(&x, from, sizeof x);
      else {  // 1 to 3 elements
        x[0] = from[0];
        if (n - k > 1) x[1] = from[1];
        if (n - k > 2) x[2] = from[2];
      }
      return __builtin_convertvector(x, v4d);
    };
    for (int64_t k = 0; k < n4; k += 4) {
      s0 += next(0, k);
      s1 += next(1, k);
      s2 += next(2, k);
      s3 += next(3, k);
    }
    if (n4 < n) {
      s0 += next(0, n4);
      s1 += next(1, n4);
      s2 += next(2, n4);
      s3 += next(3, n4);
    }
    out[o] += (s0[0] + s0[1]) + (s0[2] + s0[3]);
    out[o + 1] += (s1[0] + s1[1]) + (s1[2] + s1[3]);
    out[o + 2] += (s2[0] + s2[1]) + (s2[2] + s2[3]);
    out[o + 3] += (s3[0] + s3[1]) + (s3[2] + s3[3]);
  }
  for (; o < channels; ++o) out[o] += channel_sum(v + o * n, n);
}

// Y for the items (example, group, tile): Y_g = Wt_g col (sgemm with beta = 0), then b added row
// by row. (Starting the tile as b and letting sgemm add Wt_g col with beta = 1 was 3 to 8% slower
// for 1->16 and 16->32 channels, 2 threads, the same for 64->64; see docs/convolution.md.) The
// direct path keeps the latter: there it was 1 to 2% faster.
void forward_items(const float* x, const float* w, const float* b, const ConvDims& d, float* y) {
  const Tiling tiling(d);
  const int64_t groups = d.groups, go = d.group_out(), patch = d.patch(), area = d.out_area();
  for_items(d.batch * groups * tiling.count, tiling.direct ? 0 : patch * tiling.columns,
            [&](int64_t item, int64_t, float* col) {
              const int64_t n = item / (groups * tiling.count), g = item / tiling.count % groups,
                            k = item % tiling.count;
              const int64_t c0 = tiling.begin(k), c1 = tiling.end(k), t = c1 - c0;
              const float* xg = x + (n * d.in_channels + g * d.group_in()) * d.in_area();
              const float* cols = xg + c0;  // direct: col is X[n, group g] itself, rows in_area apart
              int64_t ldb = d.in_area();
              if (!tiling.direct) {
                im2col(xg, d, c0, c1, col, t);
                cols = col;
                ldb = t;
              }
              float* yg = y + (n * d.out_channels + g * go) * area + c0;
              const float* wg = w + g * go * patch;
              if (tiling.direct) {
                for (int64_t o = 0; o < go; ++o) std::fill(yg + o * area, yg + o * area + t, b ? b[g * go + o] : 0.0f);
                // Y_g[go, t] += Wt_g[go, patch] X_g[patch, t]
                blas::sgemm(false, false, go, t, patch, 1.0f, wg, patch, cols, ldb, 1.0f, yg, area);
                return;
              }
              // Y_g[go, t] = Wt_g[go, patch] col[patch, t], then b added
              blas::sgemm(false, false, go, t, patch, 1.0f, wg, patch, cols, ldb, 0.0f, yg, area);
              for (int64_t o = 0; o < (b ? go : 0); ++o) {
                const float bias = b[g * go + o];
                float* row = yg + o * area;
                for (int64_t j = 0; j < t; ++j) row[j] += bias;
              }
            });
}

// Example n's share of the gradients: db_part[o] += sum of G[n, o] (double) and
// dWt_part^T[g][patch, go] += col G_g^T, a tile at a time. The partial sums of dWt are kept
// transposed: sgemm runs col G^T faster than G col^T for the 3x3 benchmark shapes (measured, 1.1
// to 1.3 times); they are transposed back when the chunks are combined.
void weight_gradients_of(int64_t n, const float* x, const float* g, const ConvDims& d, const Tiling& tiling,
                         float* dw_part, double* db_part, float* col) {
  const int64_t go = d.group_out(), patch = d.patch(), area = d.out_area();
  const float* gn = g + n * d.out_channels * area;
  if (db_part) add_channel_sums(gn, d.out_channels, area, db_part);
  if (!dw_part) return;
  for (int64_t grp = 0; grp < d.groups; ++grp)
    for (int64_t k = 0; k < tiling.count; ++k) {
      const int64_t c0 = tiling.begin(k), c1 = tiling.end(k), t = c1 - c0;
      const float* xg = x + (n * d.in_channels + grp * d.group_in()) * d.in_area();
      const float* cols = xg + c0;
      int64_t lda = d.in_area();
      if (!tiling.direct) {
        im2col(xg, d, c0, c1, col, t);
        cols = col;
        lda = t;
      }
      // dWt_g^T[patch, go] += col[patch, t] G_g[go, t]^T
      blas::sgemm(false, true, patch, go, t, 1.0f, cols, lda, gn + grp * go * area + c0, area, 1.0f,
                  dw_part + grp * patch * go, go);
    }
}

// dX of example n: col = Wt_g^T G_g a tile at a time, added back by col2im (the tiles overlap in
// X, so they run in order); the direct path writes (or adds) Wt_g^T G_g straight into dX.
void input_gradient_of(int64_t n, const float* w, const float* g, const ConvDims& d, const Tiling& tiling, float* dx,
                       bool accumulate, float* col) {
  const int64_t go = d.group_out(), patch = d.patch(), area = d.out_area(), in_size = d.in_channels * d.in_area();
  float* dxn = dx + n * in_size;
  if (!accumulate && !tiling.direct) std::fill(dxn, dxn + in_size, 0.0f);
  for (int64_t grp = 0; grp < d.groups; ++grp)
    for (int64_t k = 0; k < tiling.count; ++k) {
      const int64_t c0 = tiling.begin(k), c1 = tiling.end(k), t = c1 - c0;
      const float* wg = w + grp * go * patch;
      const float* gg = g + (n * d.out_channels + grp * go) * area + c0;
      float* dxg = dxn + grp * d.group_in() * d.in_area();
      if (tiling.direct) {
        // dX_g[patch, t] (+)= Wt_g[go, patch]^T G_g[go, t]: input column = output column
        blas::sgemm(true, false, patch, t, go, 1.0f, wg, patch, gg, area, accumulate ? 1.0f : 0.0f, dxg + c0,
                    d.in_area());
        continue;
      }
      // col[patch, t] = Wt_g[go, patch]^T G_g[go, t], then added onto the input positions
      blas::sgemm(true, false, patch, t, go, 1.0f, wg, patch, gg, area, 0.0f, col, t);
      col2im_add(col, d, c0, c1, t, dxg);
    }
}

// All gradients in one pass over fixed chunks of examples: each chunk sums its examples' dWt and
// db into its own partial sums and writes their dX; the partial sums are added in chunk order.
// Where the direct path applies (layers/kernels/convolution_direct.h), dX is G correlated with the
// transposed, flipped kernel and dWt^T is summed in registers from a padded copy of X; neither
// unfolds anything, and dWt^T's partial sums are then rows of ldw (16 a vector) floats.
void backward_chunks(const float* x, const float* w, const float* g, const ConvDims& d, float* dx, bool accumulate,
                     float* dw, float* db, bool direct) {
  const Tiling tiling(d);
  const int64_t per_chunk = (d.batch + kMaxChunks - 1) / kMaxChunks, chunks = (d.batch + per_chunk - 1) / per_chunk;
  const int64_t go = d.group_out(), patch = d.patch();
  std::optional<DirectCorrelation> direct_dx;
  std::optional<DirectWeightGradient> direct_dw;
  if (direct && dx) direct_dx.emplace(direct_input_gradient_shape(d), w, true);
  if (direct && dw) direct_dw.emplace(d);
  const int64_t ldw = direct_dw ? direct_dw->partial_stride() : go;
  const int64_t part_size = direct_dw ? direct_dw->partial_rows() * ldw : d.out_channels * patch;
  std::vector<FloatBuffer> dw_parts(static_cast<size_t>(dw ? chunks : 0),
                                    FloatBuffer(static_cast<size_t>(part_size), 0.0f));
  std::vector<std::vector<double>> db_parts(static_cast<size_t>(db ? chunks : 0),
                                            std::vector<double>(static_cast<size_t>(d.out_channels), 0.0));
  const int64_t col_floats = tiling.direct || direct ? 0 : patch * tiling.columns;
  const int64_t direct_floats =
      std::max(direct_dx ? direct_dx->workspace_floats() : 0, direct_dw ? direct_dw->workspace_floats() : 0);
  const int64_t in_size = d.in_channels * d.in_area(), out_size = d.out_channels * d.out_area();
  for_items(chunks, col_floats + direct_floats, [&](int64_t chunk, int64_t, float* col) {
    float* dw_part = dw ? dw_parts[static_cast<size_t>(chunk)].data() : nullptr;
    const int64_t end = std::min(d.batch, (chunk + 1) * per_chunk);
    for (int64_t n = chunk * per_chunk; n < end; ++n) {
      weight_gradients_of(n, x, g, d, tiling, direct_dw ? nullptr : dw_part,
                          db ? db_parts[static_cast<size_t>(chunk)].data() : nullptr, col);
      const bool next = n + 1 < end;  // the direct path prefetches the next example's X and G
      if (direct_dw)
        direct_dw->add(x + n * in_size, g + n * out_size, dw_part, col, next ? x + (n + 1) * in_size : nullptr,
                       next ? g + (n + 1) * out_size : nullptr);
      if (direct_dx)
        direct_dx->run(g + n * out_size, nullptr, dx + n * in_size, accumulate, col);
      else if (dx)
        input_gradient_of(n, w, g, d, tiling, dx, accumulate, col);
    }
  });
  for (size_t c = 1; c < dw_parts.size(); ++c)
    for (size_t i = 0; i < static_cast<size_t>(part_size); ++i) dw_parts[0][i] += dw_parts[c][i];
  if (dw)
    for (int64_t grp = 0; grp < d.groups; ++grp)
      for (int64_t o = 0; o < go; ++o)
        for (int64_t r = 0; r < patch; ++r)
          dw[(grp * go + o) * patch + r] += dw_parts[0][static_cast<size_t>((grp * patch + r) * ldw + o)];
  for (int64_t o = 0; o < (db ? d.out_channels : 0); ++o) {
    double s = 0;
    for (const auto& part : db_parts) s += part[static_cast<size_t>(o)];
    db[o] += static_cast<float>(s);
  }
}

// sgemm refuses sizes beyond 32 bits by throwing, which must not happen inside a parallel region
// (an exception may not leave an OpenMP thread): check them before starting.
void check_sizes(const ConvDims& d) {
  const int64_t largest = std::max({d.patch(), d.out_area(), d.in_area(), d.group_out()});
  if (largest > std::numeric_limits<int32_t>::max())
    throw EvaluationError("Convolution kernels", "matrix dimension out of range for BLAS",
                          "at most " + std::to_string(std::numeric_limits<int32_t>::max()), std::to_string(largest));
}

// Y on the direct path, an example an item, prefetching the worker's next example's X.
void direct_forward(const float* x, const float* w, const float* b, const ConvDims& d, float* y) {
  const DirectCorrelation corr(direct_forward_shape(d), w, false);
  const int64_t in_size = d.in_channels * d.in_area(), out_size = d.out_channels * d.out_area();
  for_items(d.batch, corr.workspace_floats(), [&](int64_t n, int64_t following, float* workspace) {
    corr.run(x + n * in_size, b, y + n * out_size, false, workspace,
             following >= 0 ? x + following * in_size : nullptr);
  });
}

// Whether a call runs the direct path; a forced direct path the geometry does not support is
// refused before any work starts.
bool use_direct(const ConvDims& d, ConvPath path) {
  if (path == ConvPath::direct && !conv_direct_supports(d))
    throw EvaluationError("Convolution kernels", "the direct path does not support this geometry",
                          "stride 1, dilation 1, one channel group and kernels up to 7x7",
                          "stride " + std::to_string(d.stride_h) + "x" + std::to_string(d.stride_w) + ", dilation " +
                              std::to_string(d.dilation_h) + "x" + std::to_string(d.dilation_w) + ", " +
                              std::to_string(d.groups) + " groups, kernel " + std::to_string(d.kernel_h) + "x" +
                              std::to_string(d.kernel_w));
  return path == ConvPath::direct || (path == ConvPath::by_geometry && conv_direct_applies(d));
}

}  // namespace

void conv_forward(const float* x, const float* w, const float* b, const ConvDims& d, float* y, ConvPath path) {
  check_sizes(d);
  if (use_direct(d, path)) return direct_forward(x, w, b, d, y);
  SerialBlas serial;
  forward_items(x, w, b, d, y);
}

void conv_backward(const float* x, const float* w, const float* g, const ConvDims& d, float* dx, bool accumulate,
                   float* dw, float* db, ConvPath path) {
  check_sizes(d);
  const bool direct = use_direct(d, path);
  SerialBlas serial;
  backward_chunks(x, w, g, d, dx, accumulate, dw, db, direct);
}

}  // namespace netkit::kernels
