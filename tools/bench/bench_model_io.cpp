// Model-file benchmark (graph/net_json.h): save and load a net of about 10 million parameters.
//   build/tools/bench_model_io [--path FILE] [--repeat N]
// Prints, for save (net -> file) and load (file -> validated net), the best of N runs in seconds
// and MB/s (file bytes / time), and the file size against the raw float32 bytes.
// Targets: each under 0.5 s, the file at most 1.4 x the raw bytes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <netkit/core/error.h>
#include <netkit/graph/net_info.h>
#include <netkit/graph/net_json.h>

using namespace netkit;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

long file_bytes(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return -1;
  std::fseek(f, 0, SEEK_END);
  const long n = std::ftell(f);
  std::fclose(f);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = "/tmp/netkit_bench_model.json";
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--path"))
      path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--repeat"))
      repeat = std::max(1, std::atoi(argv[i + 1]));
  }
  // 1000 -> 2500 -> 2500 -> 500 with a batch norm and ramps: 10,015,500 numbers in 8 arrays.
  Net net = NetChain({{"lin1", LinearLayer({{"OutputSize", 2500}})},
                      {"bn1", BatchNormalizationLayer()},
                      {"ramp1", RampLayer()},
                      {"lin2", LinearLayer({{"OutputSize", 2500}})},
                      {"ramp2", RampLayer()},
                      {"lin3", LinearLayer({{"OutputSize", 500}})}},
                     {{"Input", 1000}});
  net.initialize(1);
  const NetInfo info = information(net);
  const double raw = static_cast<double>(info.total_elements) * 4;

  double save_s = 1e30, load_s = 1e30;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    save_net(path, net);
    save_s = std::min(save_s, seconds_since(t0));
    t0 = std::chrono::steady_clock::now();
    const Net back = load_net(path);
    load_s = std::min(load_s, seconds_since(t0));
    if (!back.array({"lin2", "Weights"}).bit_equal(net.array({"lin2", "Weights"}))) {
      std::fprintf(stderr, "bench_model_io: the loaded weights differ\n");
      return 1;
    }
  }
  const double bytes = static_cast<double>(file_bytes(path));
  std::remove(path.c_str());
  std::printf("parameters %lld, raw float32 %.1f MB, file %.1f MB (%.3f x raw)\n",
              static_cast<long long>(info.total_elements), raw / 1e6, bytes / 1e6, bytes / raw);
  std::printf("save %.3f s  %.0f MB/s\n", save_s, bytes / 1e6 / save_s);
  std::printf("load %.3f s  %.0f MB/s\n", load_s, bytes / 1e6 / load_s);
  const bool ok = save_s < 0.5 && load_s < 0.5 && bytes <= 1.4 * raw;
  std::printf("targets (each < 0.5 s, file <= 1.4 x raw): %s\n", ok ? "met" : "NOT met");
  return 0;
}
