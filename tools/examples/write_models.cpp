// Writes the example model files in data/models/ from their C++ definitions:
//   build/tools/write_models data/models
// fashion_cnn.json: the MATLAB documentation's example layer array adapted to 28x28x1 inputs,
// fashion_cnn_large.json: a deeper batch-norm CNN (tools/examples/fashion_cnn_model.h).
// Both are uninitialized (NetTrain fills the arrays from its seed).
#include <cstdio>
#include <string>

#include <netkit/graph/net_json.h>
#include "tools/examples/fashion_cnn_model.h"

using namespace netkit;

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : "data/models";
  for (const auto& [name, net] : {std::pair{"fashion_cnn", examples::fashion_cnn()},
                                  std::pair{"fashion_cnn_large", examples::fashion_cnn_large()}}) {
    save_net(dir + "/" + name + ".json", net);
    std::printf("wrote %s/%s.json\n", dir.c_str(), name);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "write_models: %s\n", e.what());
  return 1;
}
