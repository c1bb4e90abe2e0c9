// Timing helpers shared by the benchmark programs.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace netkit::bench {

// Median time in ms of `body` after 3 warm-up runs, repeated for at least `seconds` and 10 runs.
template <class F>
double median_ms(F&& body, double seconds) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < 3; ++i) body();
  std::vector<double> times;
  const auto start = clock::now();
  while (times.size() < 10 || std::chrono::duration<double>(clock::now() - start).count() < seconds) {
    const auto t0 = clock::now();
    body();
    times.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
  }
  std::nth_element(times.begin(), times.begin() + static_cast<long>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

}  // namespace netkit::bench
