// Builds a small net through the installed umbrella header and checks one evaluation.
#include <cstdio>

#include <netkit/netkit.h>

int main() {
  using namespace netkit;
  Net net = NetChain({LinearLayer({{"Weights", {{1.0, 2.0}}}, {"Biases", {0.5}}}), RampLayer()}, {{"Input", 2}});
  const Array y = net.evaluate(Array{1.0, 3.0});
  if (y.size() != 1 || y[0] != 7.5f) {
    std::fprintf(stderr, "consumer: expected 7.5, got %g\n", y.size() ? double(y[0]) : -1.0);
    return 1;
  }
  std::printf("consumer: netkit works from the install tree (7.5)\n");
  return 0;
}
