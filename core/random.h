// Seeded random numbers whose sequence is the same on every machine: xoshiro256** seeded
// through splitmix64, uniform doubles from the top 53 bits, and normals from the polar method
// with a logarithm built from + - * / only (libm's log may differ in the last bit between CPUs).
#pragma once

#include <cstdint>
#include <string>

namespace netkit {

class Random {
 public:
  // `stream` selects an independent sequence for the same seed (e.g. one per array path).
  explicit Random(uint64_t seed, uint64_t stream = 0);
  // Stream derived from a name, so adding or skipping one array does not shift the others.
  Random(uint64_t seed, const std::string& stream_name);

  uint64_t next_u64();
  double uniform();                      // [0, 1)
  double uniform(double lo, double hi);  // [lo, hi)
  double normal();                       // mean 0, standard deviation 1
  uint64_t below(uint64_t n);            // uniform integer in [0, n), unbiased

  // The whole generator state, for checkpoints.
  struct State {
    uint64_t s[4];
    bool has_spare;
    double spare;
  };
  State state() const { return {{s_[0], s_[1], s_[2], s_[3]}, has_spare_, spare_}; }
  void set_state(const State& st);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// FNV-1a hash of a string: a machine-independent stream id.
uint64_t stable_hash(const std::string& text);
// Natural logarithm from basic arithmetic only, accurate to about 1 ulp, identical on every machine.
double portable_log(double x);

}  // namespace netkit
