// Writes the example model files in data/models/ from their C++ definitions:
//   build/tools/write_models data/models
// fashion_cnn.json: the MATLAB documentation's example layer array adapted to 28x28x1 inputs,
// uninitialized (NetTrain fills the arrays from its seed).
#include <cstdio>
#include <string>

#include "graph/net_json.h"
#include "tools/examples/fashion_cnn_model.h"

using namespace netkit;

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : "data/models";
  save_net(dir + "/fashion_cnn.json", examples::fashion_cnn());
  std::printf("wrote %s/fashion_cnn.json\n", dir.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "write_models: %s\n", e.what());
  return 1;
}
