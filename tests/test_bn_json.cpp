// BatchNormalization layers as JSON records and model files: exact round trips, atomic saves,
// and located errors for every kind of broken file.
#include <catch2/catch.hpp>

#include <netkit/core/error.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/batch_norm.h>
#include "tests/support/fixtures.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

LayerNet trained_layer() {
  LayerNet bn = BatchNormalizationLayer({{"Input", {3, 2}}, {"VarianceEstimator", "Unbiased"}});
  bn.initialize(9);
  bn.set_array("Scaling", Array{0.5, -1.25, 3.0});
  bn.moving_update_step(Array{{{1, 2}, {3, 4}, {5, 6}}, {{0.1, 0.2}, {0.3, 0.4}, {0.5, -7}}});
  return bn;
}

nlohmann::json document(const nlohmann::json& layer) {
  return {{"format", "netkit"}, {"version", 1}, {"layer", layer}};
}

}  // namespace

TEST_CASE("BN json: save -> load -> save is byte-identical and outputs are bit-identical", "[bn][json]") {
  TempFile a("bn_roundtrip_a.json"), b("bn_roundtrip_b.json");
  const LayerNet bn = trained_layer();
  save_layer_net(bn, a.path);
  const LayerNet back = load_layer_net(a.path);
  save_layer_net(back, b.path);
  CHECK(read_text(a.path) == read_text(b.path));
  const Array x{{{1, -2}, {0.5, 3}, {2, 2}}, {{0, 1}, {4, 4}, {-1, 0}}};
  const Array g{{{1, 0}, {0, 1}, {1, 1}}, {{-1, 2}, {0, 0}, {3, 1}}};
  for (Mode mode : {Mode::Test, Mode::Train}) {
    CHECK(back.evaluate_batch(x, mode).bit_equal(bn.evaluate_batch(x, mode)));
    const Gradients g1 = bn.gradients(x, g, mode), g2 = back.gradients(x, g, mode);
    CHECK(g1.input().bit_equal(g2.input()));
    CHECK(g1.arrays.at("Scaling").bit_equal(g2.arrays.at("Scaling")));
  }
}

TEST_CASE("BN json: an uninitialized layer is a valid record", "[bn][json]") {
  const LayerNet bn = BatchNormalizationLayer({{"Momentum", 0.5}});
  const LayerNet back = layer_net_from_json(layer_net_to_json(bn));
  CHECK_FALSE(back.initialized());
  CHECK(back.option("Momentum") == 0.5);
  CHECK(back.port_shape("Input") == Shape());
}

TEST_CASE("BN json: hand-written files may use plain number lists", "[bn][json]") {
  const auto record = nlohmann::json::parse(R"({"type": "BatchNormalization", "options": {"Epsilon": 0},
      "arrays": {"Scaling": [2], "Biases": {"dtype": "float32", "shape": [1], "data": [1]},
                 "MovingMean": [0], "MovingVariance": [4]}})");
  const LayerNet bn = layer_net_from_json(record);
  CHECK(bn.evaluate(Array{3.0})[0] == 4.0f);  // 2 * 3 / 2 + 1
}

TEST_CASE("BN json: broken files give located errors", "[bn][json]") {
  TempFile f("bn_broken.json");
  const std::string good = document(layer_net_to_json(trained_layer())).dump();

  write_text(f.path, good.substr(0, good.size() / 2));
  CHECK_THROWS_AS(load_layer_net(f.path), FormatError);
  CHECK_THROWS_WITH(load_layer_net(f.path),
                    Contains("bn_broken.json: not valid JSON") && Contains("expected a JSON model file"));

  write_text(f.path, R"({"format": "netkit", "version": 7, "layer": {}})");
  CHECK_THROWS_WITH(load_layer_net(f.path),
                    Equals("bn_broken.json: /version: unsupported format version; expected version 1 or "
                           "older, got version 7. Update netkit to read this file"));
  write_text(f.path, R"({"format": "onnx", "version": 1})");
  CHECK_THROWS_WITH(load_layer_net(f.path),
                    Contains("/format: not a netkit model file; expected \"netkit\", got \"onnx\""));
  CHECK_THROWS_WITH(load_layer_net("no/such/file.json"), Contains("no/such/file.json: cannot open the model file"));

  auto broken = [&](auto&& edit) {
    auto doc = nlohmann::json::parse(good);
    edit(doc["layer"]);
    write_text(f.path, doc.dump());
  };
  broken([](auto& l) { l["type"] = "BatchNorm"; });
  CHECK_THROWS_WITH(load_layer_net(f.path),
                    Contains("/layer/type: unknown layer type; expected one of \"BatchNormalization\""));
  broken([](auto& l) { l["options"]["Epsilom"] = 1; });
  CHECK_THROWS_WITH(load_layer_net(f.path), Contains("/layer/options") && Contains("unknown option \"Epsilom\""));
  broken([](auto& l) { l["weights"] = 1; });
  CHECK_THROWS_WITH(load_layer_net(f.path), Contains("/layer/weights: unknown key"));
  broken([](auto& l) { l["arrays"]["MovingVariance"] = {-1, 1, 1}; });
  CHECK_THROWS_WITH(load_layer_net(f.path), Contains("/layer/arrays/MovingVariance") && Contains("channel 0") &&
                                                Contains("MovingVariance + Epsilon must be positive"));
  broken([](auto& l) { l["arrays"]["Scaling"] = {1, 2}; });
  CHECK_THROWS_WITH(load_layer_net(f.path),
                    Contains("/layer/arrays/Scaling") && Contains("expected length 3, got length 2"));
  broken([](auto& l) { l["arrays"]["Biases"]["data"] = "AAAA*AAAAAAAAAAA"; });
  CHECK_THROWS_WITH(load_layer_net(f.path),
                    Contains("/layer/arrays/Biases/data: invalid base64 character at offset 4"));
  broken([](auto& l) { l["arrays"]["Biases"]["data"] = "AAAA"; });
  CHECK_THROWS_WITH(load_layer_net(f.path),
                    Contains("/layer/arrays/Biases/data: base64 data does not match the shape [3]"));
  broken([](auto& l) { l["arrays"]["Biases"]["data"] = "AADAfwAAAAAAAAAA"; });  // a NaN
  CHECK_THROWS_WITH(load_layer_net(f.path), Contains("/layer/arrays/Biases/data: value 0 is not finite"));
  broken([](auto& l) { l["arrays"]["Biases"]["shape"] = {1000000, 1000000, 1000000}; });
  CHECK_THROWS_WITH(load_layer_net(f.path),
                    Contains("/layer/arrays/Biases/shape (shape [1000000, 1000000, 1000000]): too many elements"));
  broken([](auto& l) { l["arrays"]["Biases"]["dtype"] = "float64"; });
  CHECK_THROWS_WITH(load_layer_net(f.path), Contains("/layer/arrays/Biases/dtype: unsupported dtype"));
  broken([](auto& l) { l["ports"]["Input"] = {3, -2}; });
  CHECK_THROWS_WITH(load_layer_net(f.path), Contains("/layer/ports/Input: invalid dimension"));
  broken([](auto& l) { l["MovingUpdateCount"] = -3; });
  CHECK_THROWS_WITH(load_layer_net(f.path), Contains("/layer/MovingUpdateCount: wrong value"));
}

TEST_CASE("BN json: a failed save leaves the previous file intact", "[bn][json]") {
  TempFile f("bn_atomic.json");
  save_layer_net(trained_layer(), f.path);
  const std::string before = read_text(f.path);
  BatchNormalization::Config config;
  config.scaling_initializer = Initializer([](const Shape& s) { return Array(s, 2.0f); });
  LayerNet custom(std::make_shared<const BatchNormalization>(config), {{"Input", 3}});
  custom.initialize();
  CHECK(custom.array("Scaling").values() == std::vector<float>{2, 2, 2});
  CHECK_THROWS_AS(save_layer_net(custom, f.path), FormatError);
  CHECK_THROWS_WITH(save_layer_net(custom, f.path), Contains("cannot save a user-function initializer"));
  CHECK(read_text(f.path) == before);
  CHECK_THROWS_WITH(save_layer_net(trained_layer(), "no/such/dir/bn.json"), Contains("cannot write the model file"));
}
