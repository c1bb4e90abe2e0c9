// The committed model files (data/models/) are what their C++ definitions
// (tools/examples/fashion_cnn_model.h) write: editing one without the other fails here.
// Regenerate with: build/tools/write_models data/models
#include <catch2/catch.hpp>

#include <netkit/graph/net_info.h>
#include <netkit/graph/net_json.h>
#include <netkit/graph/plan.h>
#include "tests/support/fixtures.h"
#include "tools/examples/fashion_cnn_model.h"

using namespace netkit;
using namespace netkit::test;

namespace {

const std::string kModels = std::string(NETKIT_SOURCE_DIR) + "/data/models/";

}  // namespace

TEST_CASE("Example models: the committed files are the C++ definitions", "[examples][models]") {
  CHECK(read_text(kModels + "fashion_cnn.json") == net_to_text(examples::fashion_cnn()));
  CHECK(read_text(kModels + "fashion_cnn_large.json") == net_to_text(examples::fashion_cnn_large()));
}

TEST_CASE("Example models: shapes are inferred through to 10 class probabilities", "[examples][models]") {
  for (const Net& net : {load_net(kModels + "fashion_cnn.json"), load_net(kModels + "fashion_cnn_large.json")}) {
    CHECK(net.plan().values[static_cast<size_t>(net.plan().output_values.at(0))].shape.to_string() == "[10]");
    CHECK(net.output_ports() == std::vector<std::string>{"Output"});
  }
  const NetInfo large = information(load_net(kModels + "fashion_cnn_large.json"));
  CHECK(large.layer_count == 18);
  // conv 1->32, 32->64, 64->64 (weights + biases), 4 BN x 4 arrays, 3136->256 and 256->10 Linear
  CHECK(large.total_elements == (32 * 9 + 32) + (64 * 32 * 9 + 64) + (64 * 64 * 9 + 64) + 4 * (32 + 64 + 64 + 256) +
                                    (3136 * 256 + 256) + (256 * 10 + 10));
}
