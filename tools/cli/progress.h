// Training progress for people: on a terminal a bar redrawn in place (batch, loss,
// examples per second, time left); otherwise one plain line per round.
#pragma once

#include <cstdint>
#include <string>

namespace netkit::cli {

struct BatchProgress {
  int round = 0, rounds = 0;
  int64_t batch = 0, batches = 0;  // within the round, 1-based
  double loss = 0;
  double examples_per_second = 0;
  double seconds_left = 0;
};

// "round 1/2 [#######.............]  35% batch 328/938  loss 0.4412  5120 ex/s  ETA 0:42"
std::string progress_bar(const BatchProgress& p, int width = 20);
// "0:42", "1:02:03"
std::string clock_text(double seconds);

}  // namespace netkit::cli
