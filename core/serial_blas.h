// OpenBLAS single-threaded for the lifetime of the guard. Kernels that split a product into
// fixed blocks and run the blocks on netkit's own threads use it, so that each block's sgemm runs
// in one thread and sums in the same order for every thread count.
#pragma once

#include <netkit/core/blas.h>
#include <netkit/core/parallel.h>

namespace netkit {

class SerialBlas {
 public:
  SerialBlas() : threads_(num_threads()) {
    if (threads_ > 1) blas::set_num_threads(1);
  }
  ~SerialBlas() {
    if (threads_ > 1) blas::set_num_threads(threads_);
  }
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  int threads_;
};

}  // namespace netkit
