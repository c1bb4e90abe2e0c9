// Convolution benchmark: one JSON object a line, comparable with conv_bench_torch.py.
//   build/tools/bench_convolution [--threads N] [--repeat-seconds S]
// Lines: first the sgemm rate of a square 1024 problem (OpenBLAS on N threads, the yardstick for
// the convolutions), then per convolution "conv_fwd" (Y = conv(X, W) + b) and "conv_bwd" (the
// backward pass alone: dX, dW and db). shape is [N, IC, H, W, OC, KH, KW]; gflops counts
// 2 N OC OH OW IC KH KW / ChannelGroups flops for the forward pass and twice that for the
// backward pass (dX and dW; db is not counted); ms is the median time of a call and min_ms the
// fastest call (on a machine shared with other work the fastest call shows what the code does
// when it gets both cores; gflops is computed from ms).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/core/blas.h>
#include <netkit/core/parallel.h>
#include <netkit/core/random.h>
#include <netkit/layers/kernels/convolution.h>
#include "bench_timing.h"

using namespace netkit;

namespace {

struct Case {
  int64_t n, ic, h, w, oc, k, pad;
};

std::string shape_text(const Case& c) {
  char text[128];
  std::snprintf(text, sizeof text, "[%lld, %lld, %lld, %lld, %lld, %lld, %lld]", static_cast<long long>(c.n),
                static_cast<long long>(c.ic), static_cast<long long>(c.h), static_cast<long long>(c.w),
                static_cast<long long>(c.oc), static_cast<long long>(c.k), static_cast<long long>(c.k));
  return text;
}

Array random_array(std::vector<int64_t> dims, Random& random, double scale) {
  Array a = Array::zeros(std::move(dims));
  for (int64_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(scale * random.normal());
  return a;
}

void print_line(const char* op, const std::string& shape, double ms, double min_ms, double flops) {
  std::printf(
      "{\"impl\": \"netkit\", \"op\": \"%s\", \"shape\": %s, \"threads\": %d, \"ms\": %.4f, \"min_ms\": %.4f, "
      "\"gflops\": %.2f, \"openblas_core\": \"%s\"}\n",
      op, shape.c_str(), num_threads(), ms, min_ms, flops / (ms / 1e3) / 1e9, blas::core_name().c_str());
  std::fflush(stdout);
}

// bench::median_ms of `body`, also tracking the fastest call: {median, min}.
template <class F>
std::pair<double, double> timed(F&& body, double seconds) {
  double fastest = 1e300;
  const double median = bench::median_ms(
      [&] {
        const auto t0 = std::chrono::steady_clock::now();
        body();
        fastest =
            std::min(fastest, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      },
      seconds);
  return {median, fastest};
}

double sgemm_1024(double seconds) {
  const int64_t n = 1024;
  Random random(1, "sgemm");
  const Array a = random_array({n, n}, random, 1), b = random_array({n, n}, random, 1);
  Array c = Array::zeros({n, n});
  const auto [ms, min_ms] =
      timed([&] { blas::sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n); }, seconds);
  print_line("sgemm", "[1024, 1024, 1024]", ms, min_ms, 2.0 * n * n * n);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  double seconds = 1.0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (arg == "--repeat-seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else {
      std::fprintf(stderr, "bench_convolution: unknown argument \"%s\"; expected --threads N or --repeat-seconds S\n",
                   argv[i]);
      return 2;
    }
  }
  if (threads < 1 || seconds <= 0) {
    std::fprintf(stderr, "bench_convolution: --threads must be >= 1 and --repeat-seconds > 0\n");
    return 2;
  }
  set_num_threads(threads);
  sgemm_1024(seconds);

  const std::vector<Case> cases{
      {64, 1, 28, 28, 16, 3, 1}, {64, 16, 14, 14, 32, 3, 1}, {32, 64, 56, 56, 64, 3, 1}, {32, 256, 28, 28, 64, 1, 0}};
  for (const Case& c : cases) {
    kernels::ConvDims d;
    d.batch = c.n;
    d.in_channels = c.ic;
    d.out_channels = c.oc;
    d.in_h = c.h;
    d.in_w = c.w;
    d.kernel_h = d.kernel_w = c.k;
    d.pad_h = d.pad_w = c.pad;
    d.out_h = c.h + 2 * c.pad - c.k + 1;
    d.out_w = c.w + 2 * c.pad - c.k + 1;
    Random random(7, shape_text(c));
    const Array x = random_array({c.n, c.ic, c.h, c.w}, random, 1);
    const Array w = random_array({c.oc, c.ic, c.k, c.k}, random, 0.1);
    const Array b = random_array({c.oc}, random, 0.1);
    const Array g = random_array({c.n, c.oc, d.out_h, d.out_w}, random, 1);
    Array y = Array::zeros({c.n, c.oc, d.out_h, d.out_w}), dx = Array::zeros(x.dims()), dw = Array::zeros(w.dims()),
          db = Array::zeros(b.dims());
    const double flops = 2.0 * static_cast<double>(c.n * c.oc * d.out_h * d.out_w * c.ic * c.k * c.k);
    const auto fwd = timed([&] { kernels::conv_forward(x.data(), w.data(), b.data(), d, y.data()); }, seconds);
    print_line("conv_fwd", shape_text(c), fwd.first, fwd.second, flops);
    const auto bwd =
        timed([&] { kernels::conv_backward(x.data(), w.data(), g.data(), d, dx.data(), false, dw.data(), db.data()); },
              seconds);
    print_line("conv_bwd", shape_text(c), bwd.first, bwd.second, 2 * flops);
  }
  return 0;
}
