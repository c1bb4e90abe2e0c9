// LayerNet's own error paths (graph/layer_net.h, graph/layer_net_json.h, layers/initializer.h):
// each message says where, what was expected and what was found.
#include <catch2/catch.hpp>

#include <filesystem>
#include <limits>

#include <netkit/core/error.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/batch_norm.h>
#include "tests/support/fixtures.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

LayerNet with_scaling_initializer(Initializer init) {
  BatchNormalization::Config config;
  config.scaling_initializer = std::move(init);
  return LayerNet(std::make_shared<const BatchNormalization>(config), {{"Input", 2}});
}

}  // namespace

TEST_CASE("LayerNet errors: ports, batches and options", "[layernet]") {
  LayerNet bn = BatchNormalizationLayer({{"Input", 2}});
  bn.initialize();
  CHECK_THROWS_WITH(
      bn.port_shape("Inupt"),
      Equals("BatchNormalization layer: unknown port \"Inupt\"; expected one of \"Input\", \"Output\", got \"Inupt\""));
  CHECK_THROWS_WITH(
      bn.evaluate_batch(Array::zeros({0, 2})),
      Equals(
          "BatchNormalization layer, port \"Input\": batch has no examples; expected a batch of [2], got dims [0, 2]"));
  CHECK_THROWS_WITH(
      LayerNet::create("BatchNormalization", nlohmann::json::array()),
      Equals("BatchNormalization options: options must be a JSON object; expected an object, got a list"));
  CHECK_THROWS_WITH(bn.set_moving_update_count(-1),
                    Equals("BatchNormalization layer: negative moving update count; expected a count >= 0, got -1"));
}

TEST_CASE("LayerNet errors: user-function initializers are checked", "[layernet]") {
  CHECK_THROWS_WITH(Initializer(Initializer::Function()),
                    Equals("initializer: empty function; expected a callable, got an empty std::function"));
  LayerNet wrong_shape = with_scaling_initializer(Initializer([](const Shape&) { return Array{1.0, 2.0, 3.0}; }));
  CHECK_THROWS_AS(wrong_shape.initialize(), InitializationError);
  CHECK_THROWS_WITH(
      wrong_shape.initialize(),
      Equals("BatchNormalization layer, array \"Scaling\": initializer function returned the wrong shape; "
             "expected [2], got [3]"));
  LayerNet not_finite = with_scaling_initializer(
      Initializer([](const Shape& s) { return Array(s, std::numeric_limits<float>::infinity()); }));
  CHECK_THROWS_WITH(not_finite.initialize(),
                    Contains("initializer function returned NaN or infinity; expected finite values"));
  CHECK_FALSE(not_finite.has_array("Scaling"));  // nothing half-initialized is kept
}

TEST_CASE("LayerNet errors: records and files", "[layernet]") {
  CHECK_THROWS_WITH(layer_net_from_json(nlohmann::json::array(), "/layer"),
                    Equals("/layer: wrong type for a layer; expected an object, got a list"));
  CHECK_THROWS_WITH(layer_net_from_json(nlohmann::json::object(), "/layer"),
                    Equals("/layer: missing key \"type\"; expected an object with \"type\", got none"));
  // A directory where the file should go: the temporary file is written, the rename fails,
  // and the temporary file is removed again.
  const std::string dir = "layer_net_errors_dir";
  std::filesystem::create_directory(dir);
  CHECK_THROWS_WITH(
      save_layer_net(BatchNormalizationLayer(), dir),
      Equals("layer_net_errors_dir: cannot replace the model file; expected a writable location, got the path is a "
             "directory"));
  for (const auto& entry : std::filesystem::directory_iterator("."))
    CHECK(entry.path().filename().string().rfind(dir + ".", 0) != 0);  // no temporary left behind
  std::filesystem::remove(dir);
}
