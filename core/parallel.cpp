#include <netkit/core/parallel.h>

#include <omp.h>

#include <cstdlib>
#include <string>

#include <netkit/core/blas.h>

namespace netkit {

namespace {

int from_environment() {
  for (const char* name : {"NETKIT_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* text = std::getenv(name)) {
      char* end = nullptr;
      long n = std::strtol(text, &end, 10);
      if (end != text && n > 0) return static_cast<int>(n < kMaxThreads ? n : kMaxThreads);
    }
  }
  return omp_get_num_procs();
}

int& thread_setting() {
  static int n = [] {
    int k = from_environment();
    blas::set_num_threads(k);
    return k;
  }();
  return n;
}

}  // namespace

int num_threads() { return thread_setting(); }

void set_num_threads(int n) {
  thread_setting() = n < 1 ? 1 : n > kMaxThreads ? kMaxThreads : n;
  blas::set_num_threads(thread_setting());
}

}  // namespace netkit
