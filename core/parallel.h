// Thread count for netkit's OpenMP loops and for OpenBLAS. The count comes from
// NETKIT_NUM_THREADS, else OMP_NUM_THREADS, else the number of cores, and can be set by the API.
// Kernels split work into pieces that do not depend on the thread count, so results do not either.
#pragma once

#include <cstdint>

namespace netkit {

// At most this many threads: larger counts (from the API or the environment) are lowered to it,
// since thousands of threads exhaust the OpenMP runtime's memory.
inline constexpr int kMaxThreads = 256;

int num_threads();
// Sets the count, in [1, kMaxThreads], for netkit's loops and for OpenBLAS (which must not
// oversubscribe the cores).
void set_num_threads(int n);

// Runs body(i) for i in [0, n) on num_threads() threads, static schedule.
template <class F>
void parallel_for(int64_t n, F&& body) {
  const int threads = n > 1 ? num_threads() : 1;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// Runs body(begin, end) over [0, n) in chunks of `chunk` elements, in parallel. The chunks
// depend on n alone, so per-element work gives the same result for every thread count.
template <class F>
void parallel_chunks(int64_t n, int64_t chunk, F&& body) {
  parallel_for((n + chunk - 1) / chunk, [&](int64_t c) {
    const int64_t begin = c * chunk;
    body(begin, begin + chunk < n ? begin + chunk : n);
  });
}

}  // namespace netkit
