// Times load_fashion_mnist on a directory (default: the Debian package); prints one JSON line.
//   bench_fashion_load [DIR] [--standardize] [--repeat N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include <netkit/train/fashion_mnist.h>
#include <netkit/train/idx.h>

int main(int argc, char** argv) {
  netkit::FashionMnistOptions options;
  int repeat = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--standardize")
      options.standardize = true;
    else if (a == "--repeat" && i + 1 < argc)
      repeat = std::atoi(argv[++i]);
    else
      options.directory = a;
  }
  double best = 1e30, best_read = 1e30, best_cpu = 1e30;
  int64_t n_train = 0, n_test = 0;
  for (int r = 0; r < repeat; ++r) {
    const std::clock_t c0 = std::clock();
    auto t0 = std::chrono::steady_clock::now();
    const netkit::FashionMnist data = netkit::load_fashion_mnist(options);
    auto t1 = std::chrono::steady_clock::now();
    best_cpu = std::min(best_cpu, static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
    n_train = data.train.size();
    n_test = data.test.size();
    t0 = std::chrono::steady_clock::now();
    const netkit::IdxData raw = netkit::read_idx(data.files[0]);
    t1 = std::chrono::steady_clock::now();
    best_read = std::min(best_read, std::chrono::duration<double>(t1 - t0).count());
  }
  std::printf(
      "{\"directory\": \"%s\", \"train\": %lld, \"test\": %lld, \"standardize\": %s, \"load_seconds\": %.3f, "
      "\"load_cpu_seconds\": %.3f, "
      "\"read_train_images_seconds\": %.3f, \"repeat\": %d}\n",
      options.directory.c_str(), static_cast<long long>(n_train), static_cast<long long>(n_test),
      options.standardize ? "true" : "false", best, best_cpu, best_read, repeat);
}
