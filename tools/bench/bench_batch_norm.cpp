// Batch-normalization benchmark: one JSON object a line, comparable with bn_bench_torch.py.
//   build/tools/bench_batch_norm [--threads N] [--repeat-seconds S] [--instruction-set baseline|avx2|avx512]
// Each line: op, shape, threads, median ms, gbps (compulsory bytes / time) and bound_ms, the
// time the op's compulsory memory traffic takes at this machine's measured copy rate.
// Compulsory traffic: forward reads x and writes y (2 x 4 bytes an element); forward+backward
// adds reading x and dL/dy and writing dL/dx (5 x 4 bytes an element in all).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/core/blas.h>
#include <netkit/core/parallel.h>
#include <netkit/core/random.h>
#include <netkit/layers/batch_norm.h>
#include <netkit/layers/kernels/batch_norm_loops.h>
#include "bench_timing.h"

using namespace netkit;

namespace {

// Bytes moved (read + written) per second by memcpy of a buffer far larger than the caches.
double copy_bytes_per_second() {
  const size_t n = size_t{256} << 20;
  std::vector<char> a(n, 1), b(n, 2);
  const double ms = bench::median_ms([&] { std::memcpy(b.data(), a.data(), n); }, 0.5);
  return 2.0 * static_cast<double>(n) / (ms / 1000.0);
}

struct Buffers {
  Array x, y, g, dx, gamma, beta, mean, var, dgamma, dbeta;
  std::vector<Array> saved;
};

std::string shape_text(const std::vector<int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  double seconds = 0.3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (arg == "--repeat-seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (arg == "--instruction-set" && i + 1 < argc) {
      const std::string set = argv[++i];
      bool known = false;
      for (auto s :
           {kernels::batch_norm_loops::InstructionSet::baseline, kernels::batch_norm_loops::InstructionSet::avx2,
            kernels::batch_norm_loops::InstructionSet::avx512})
        if (set == kernels::batch_norm_loops::name(s)) {
          known = true;
          if (!kernels::batch_norm_loops::use_instruction_set(s)) {
            std::fprintf(stderr, "bench_batch_norm: --instruction-set %s: not supported by this build or CPU\n",
                         set.c_str());
            return 2;
          }
        }
      if (!known) {
        std::fprintf(stderr, "bench_batch_norm: --instruction-set: expected baseline, avx2 or avx512, got \"%s\"\n",
                     set.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr,
                   "bench_batch_norm: unknown argument \"%s\"; expected --threads N, --repeat-seconds S or "
                   "--instruction-set NAME\n",
                   argv[i]);
      return 2;
    }
  }
  if (threads < 1 || seconds <= 0) {
    std::fprintf(stderr, "bench_batch_norm: --threads must be >= 1 and --repeat-seconds > 0\n");
    return 2;
  }
  set_num_threads(threads);
  const double copy_rate = copy_bytes_per_second();
  std::printf(
      "{\"impl\": \"netkit\", \"info\": {\"threads\": %d, \"openblas_core\": \"%s\", \"bn_instruction_set\": \"%s\", "
      "\"copy_gbps\": %.2f}}\n",
      threads, blas::core_name().c_str(), kernels::batch_norm_loops::name(kernels::batch_norm_loops::instruction_set()),
      copy_rate / 1e9);

  const std::vector<std::vector<int64_t>> shapes{{64, 16, 28, 28}, {64, 32, 14, 14}, {32, 64, 56, 56}, {256, 1024}};
  const BatchNormalization layer;
  for (const auto& dims : shapes) {
    const Shape example(std::vector<int64_t>(dims.begin() + 1, dims.end()));
    const int64_t c = dims[1];
    Buffers b;
    Random random(7, shape_text(dims));
    b.x = Array::zeros(dims);
    b.g = Array::zeros(dims);
    for (int64_t i = 0; i < b.x.size(); ++i) {
      b.x[i] = static_cast<float>(random.normal() * 2 + 1);
      b.g[i] = static_cast<float>(random.normal());
    }
    b.y = Array::zeros(dims);
    b.dx = Array::zeros(dims);
    b.gamma = Array::filled({c}, 1.5f);
    b.beta = Array::filled({c}, 0.5f);
    b.mean = Array::filled({c}, 0.1f);
    b.var = Array::filled({c}, 2.0f);
    b.dgamma = Array::zeros({c});
    b.dbeta = Array::zeros({c});
    for (int k = 0; k < 3; ++k) b.saved.push_back(Array::zeros({c}));

    ForwardArgs f;
    f.batch = dims[0];
    f.input_shapes = {example};
    f.inputs = {b.x.data()};
    f.outputs = {b.y.data()};
    f.params = {b.gamma.data(), b.beta.data(), b.mean.data(), b.var.data()};
    for (auto& s : b.saved) f.saved.push_back(s.data());
    BackwardArgs bw;
    bw.mode = Mode::Train;
    bw.batch = f.batch;
    bw.input_shapes = f.input_shapes;
    bw.inputs = f.inputs;
    bw.outputs = {b.y.data()};
    bw.output_grads = {b.g.data()};
    bw.input_grads = {b.dx.data()};
    bw.overwrite_input_grads = true;
    bw.params = f.params;
    bw.param_grads = {b.dgamma.data(), b.dbeta.data(), nullptr, nullptr};
    bw.saved.assign(f.saved.begin(), f.saved.end());
    MovingUpdateArgs mu;
    mu.batch = f.batch;
    mu.input_shapes = f.input_shapes;
    mu.saved = bw.saved;
    mu.moving = {nullptr, nullptr, b.mean.data(), b.var.data()};

    const double elements = static_cast<double>(b.x.size());
    struct Op {
      const char* name;
      double bytes_per_element;
      std::function<void()> run;
    };
    const Op ops[] = {
        {"test_fwd", 8,
         [&] {
           f.mode = Mode::Test;
           layer.forward(f);
         }},
        {"train_fwd", 8,
         [&] {
           f.mode = Mode::Train;
           layer.forward(f);
           layer.update_moving(mu);
         }},
        {"train_fwd_bwd", 20,
         [&] {
           f.mode = Mode::Train;
           layer.forward(f);
           layer.update_moving(mu);
           layer.backward(bw);
         }},
    };
    for (const Op& op : ops) {
      // Moving statistics drift while timing; reset so every op starts from the same state.
      std::fill(b.mean.data(), b.mean.data() + c, 0.1f);
      std::fill(b.var.data(), b.var.data() + c, 2.0f);
      const double ms = bench::median_ms(op.run, seconds);
      const double bytes = op.bytes_per_element * elements;
      std::printf(
          "{\"impl\": \"netkit\", \"op\": \"%s\", \"shape\": %s, \"threads\": %d, \"ms\": %.4f, \"gbps\": %.2f, "
          "\"bound_ms\": %.4f}\n",
          op.name, shape_text(dims).c_str(), threads, ms, bytes / (ms / 1000.0) / 1e9, bytes / copy_rate * 1000.0);
    }
  }
  return 0;
}
