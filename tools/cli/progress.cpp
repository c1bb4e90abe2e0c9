#include "tools/cli/progress.h"

#include <cmath>
#include <cstdio>

namespace netkit::cli {

std::string clock_text(double seconds) {
  const int64_t s = seconds > 0 ? static_cast<int64_t>(std::llround(seconds)) : 0;
  char buffer[32];
  if (s >= 3600)
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                  (long long)(s % 60));
  else
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buffer;
}

std::string progress_bar(const BatchProgress& p, int width) {
  const double done = p.batches > 0 ? double(p.batch) / double(p.batches) : 0.0;
  const int filled = static_cast<int>(done * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar += std::string(static_cast<size_t>(width - filled), '.');
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "round %d/%d [%s] %3d%% batch %lld/%lld  loss %.4f  %.0f ex/s  ETA %s", p.round,
                p.rounds, bar.c_str(), static_cast<int>(done * 100), (long long)p.batch, (long long)p.batches, p.loss,
                p.examples_per_second, clock_text(p.seconds_left).c_str());
  return buffer;
}

}  // namespace netkit::cli
