// Whole nets as JSON model files (graph/net_json.h): save -> load -> save byte-identical and
// bit-identical outputs and gradients for every registered layer type, chains, graphs, nested
// containers and shared arrays, initialized or not; version-1 files and legacy names; the fast
// base64 paths against the plain ones. Broken files are in test_net_json_errors.cpp.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <optional>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/array_json.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/graph/net_json.h>
#include <netkit/layers/batch_norm.h>
#include <netkit/layers/registry.h>
#include "tests/support/fixtures.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using Inputs = std::map<std::string, Array>;

namespace {

// Runs `net` forward in `mode` (for backward) and back with fixed output gradients.
struct Run {
  std::map<std::string, Array> outputs;
  NetGradients gradients;
};
Run run(const Net& net, const Inputs& inputs, Mode mode) {
  Executor executor(net);
  Run r;
  r.outputs = executor.forward(inputs, mode, true, 17);
  std::map<std::string, Array> og;
  Random random(5, "output gradients");
  for (const auto& [port, y] : r.outputs) og[port] = random_uniform(y.dims(), random, -1, 1);
  r.gradients = executor.backward(og);
  return r;
}

void check_same_runs(const Net& a, const Net& b, const Inputs& inputs) {
  for (Mode mode : {Mode::Test, Mode::Train}) {
    const Run ra = run(a, inputs, mode), rb = run(b, inputs, mode);
    for (const auto& [port, y] : ra.outputs) CHECK(rb.outputs.at(port).bit_equal(y));
    for (const auto& [port, g] : ra.gradients.inputs) CHECK(rb.gradients.inputs.at(port).bit_equal(g));
    REQUIRE(ra.gradients.arrays.size() == rb.gradients.arrays.size());
    for (const auto& [key, g] : ra.gradients.arrays) CHECK(rb.gradients.arrays.at(key).bit_equal(g));
  }
}

// save -> load -> save gives the same bytes (through text and through a file), and the loaded
// net computes the same bits; returns the loaded net.
Net check_round_trip(const Net& net, const Inputs& inputs = {}, const NetSaveOptions& options = {}) {
  const std::string text = net_to_text(net, options);
  CHECK(text == net_to_json(net, options).dump(1) + "\n");  // the spliced text is the plain one
  const Net back = net_from_text(text);
  CHECK(net_to_text(back, options) == text);
  CHECK(back.initialized() == net.initialized());
  // Several test cases use this helper and CTest runs them in parallel: one file pair per process.
  const std::string id = std::to_string(::getpid());
  TempFile a("net_json_a_" + id + ".json"), b("net_json_b_" + id + ".json");
  save_net(a.path, net, options);
  save_net(b.path, load_net(a.path), options);
  CHECK(read_text(a.path) == text);
  CHECK(read_text(b.path) == text);
  if (!inputs.empty()) check_same_runs(net, back, inputs);
  return back;
}

Inputs batch(const Net& net, int64_t n, uint64_t seed) {
  Inputs inputs;
  Random random(seed, "inputs");
  for (const auto& port : net.input_ports()) {
    const Shape shape = net.port_shape(port);
    inputs[port] =
        port == "Target" ? Array::zeros(shape.with_batch(n)) : random_uniform(shape.with_batch(n), random, 0.05, 1);
  }
  return inputs;
}

// Options that exercise more than the defaults, where a layer type has options to set.
nlohmann::json example_options(const std::string& type) {
  static const std::map<std::string, nlohmann::json> table{
      {"BatchNormalization", {{"Momentum", 0.75}, {"VarianceEstimator", "Unbiased"}, {"Epsilon", 1e-4}}},
      {"Convolution", {{"OutputChannels", 2}, {"KernelSize", 2}, {"Stride", 1}}},
      {"Dropout", {{"DropoutProbability", 0.25}}},
      {"Elementwise", {{"Function", "Tanh"}}},
      {"Linear", {{"OutputSize", 3}}},
      {"Pooling", {{"Function", "Mean"}, {"KernelSize", 2}}},
  };
  auto it = table.find(type);
  return it == table.end() ? nlohmann::json::object() : it->second;
}

// A small initialized net around a layer of `type`: the first input shape (and, for ports still
// unknown, the same shape) that lets it initialize and run. New layer types are covered without
// changes here.
std::optional<Net> example_net(const std::string& type) {
  const std::vector<Shape> candidates{Shape{4}, Shape{3, 4}, Shape{2, 4, 4}, Shape{3, 6}};
  for (const auto& shape : candidates) {
    try {
      nlohmann::json options = example_options(type);
      const auto ports = LayerNet::create(type).layer().input_ports();
      options[ports.at(0)] = shape_to_json(shape);
      LayerNet layer = LayerNet::create(type, options);
      for (const auto& port : ports)
        if (!layer.port_shape(port).known()) options[port] = shape_to_json(shape);
      Net net(LayerNet::create(type, options));
      net.initialize(3);
      run(net, batch(net, 2, 1), Mode::Train);
      return net;
    } catch (const Error&) {
    }
  }
  return std::nullopt;
}

Net linear(int64_t n) { return LinearLayer({{"OutputSize", n}}); }

// conv -> bn -> ramp -> pool -> flatten -> linear -> softmax, trained a little (moving arrays).
Net conv_chain() {
  Net net = NetChain({{"conv", LayerNet::create("Convolution", {{"OutputChannels", 3}, {"KernelSize", 3}})},
                      {"bn", BatchNormalizationLayer({{"Momentum", 0.5}})},
                      {"ramp", RampLayer()},
                      {"pool", LayerNet::create("Pooling", {{"KernelSize", 2}})},
                      {"flat", LayerNet::create("Flatten")},
                      {"lin", linear(4)},
                      {"soft", LayerNet::create("Softmax")}},
                     {{"Input", {2, 6, 6}}});
  net.initialize(11);
  Executor executor(net);
  executor.forward(batch(net, 3, 2), Mode::Train);
  executor.update_moving(net);
  return net;
}

// A residual block with a branch join, inside a graph with two inputs; nested one level more.
Net nested_graph() {
  const Net block =
      NetGraph({{"lin", linear(3)}, {"tanh", ElementwiseLayer({{"Function", "Tanh"}})}, {"sum", TotalLayer()}},
               {{NetPort("Input"), "lin"},
                {"lin", "tanh"},
                {"tanh", NetPort("sum", "Input1")},
                {NetPort("Input"), NetPort("sum", "Input2")}});
  const Net inner = NetChain({{"block", block}, {"bn", BatchNormalizationLayer()}});
  return NetGraph({{"a", inner}, {"b", linear(3)}, {"cat", CatenateLayer()}, {"out", linear(2)}},
                  {{NetPort("x"), "a"},
                   {NetPort("y"), "b"},
                   {"a", NetPort("cat", "Input1")},
                   {"b", NetPort("cat", "Input2")},
                   {"cat", "out"},
                   {"out", NetPort("Result")}},
                  {{"x", 3}, {"y", 5}});
}

// Two linear layers sharing weights and biases at the top, and a shared weight inside a block.
Net shared_net() {
  const Net block = NetChain({{"l1", linear(4)}, {"l2", linear(4)}, {"l3", linear(4)}}, {{"Input", 4}});
  Net inner = block;
  inner.share_array("W", {{"l2", "Weights"}, {"l3", "Weights"}});
  Net net = NetGraph({{"p", linear(4)}, {"q", linear(4)}, {"blk", inner}, {"sum", TotalLayer()}},
                     {{NetPort("Input"), "p"},
                      {NetPort("Input"), "q"},
                      {"p", NetPort("sum", "Input1")},
                      {"q", "blk"},
                      {"blk", NetPort("sum", "Input2")}},
                     {{"Input", 4}});
  net.share_layer_arrays("pq", {{"p"}, {"q"}});
  return net;
}

}  // namespace

TEST_CASE("net json: every registered layer type round-trips, initialized and not", "[json]") {
  for (const auto& type : known_layer_types()) {
    INFO("layer type " << type);
    const std::optional<Net> net = example_net(type);
    REQUIRE(net.has_value());
    const Net back = check_round_trip(*net, batch(*net, 3, 4));
    CHECK(back.type() == type);
    // The same layer before initialization: a valid file, still uninitialized after loading.
    const Net fresh(LayerNet::create(type, net_to_json(*net)["net"]["options"]));
    check_round_trip(fresh);
    // Default options and no shapes at all.
    const Net bare(LayerNet::create(type));
    check_round_trip(bare);
  }
}

TEST_CASE("net json: chains, nested graphs and shared arrays round-trip bit for bit", "[json]") {
  SECTION("a trained convolutional chain") {
    const Net net = conv_chain();
    const Net back = check_round_trip(net, batch(net, 2, 3));
    CHECK(back.at({"bn"}).layer().moving_update_count() == 1);
    CHECK(back.array({"bn", "MovingVariance"}).bit_equal(net.array({"bn", "MovingVariance"})));
  }
  SECTION("nested graphs with two inputs") {
    Net net = nested_graph();
    const Net cold = check_round_trip(net);
    CHECK_FALSE(cold.initialized());
    net.initialize(21);
    const Net back = check_round_trip(net, batch(net, 3, 5));
    CHECK(back.node_names() == std::vector<std::string>{"a", "b", "cat", "out"});
    CHECK(back.edges().size() == net.edges().size());
    CHECK(back.at({"a", "block"}).type() == "NetGraph");
  }
  SECTION("shared arrays, at the top and inside a block") {
    Net net = shared_net();
    check_round_trip(net);
    net.initialize(8);
    const Net back = check_round_trip(net, batch(net, 2, 6));
    CHECK(back.shared_users() == net.shared_users());
    CHECK(back.at({"blk"}).shared_users().at("W") == std::vector<std::string>{"l2/Weights", "l3/Weights"});
    CHECK(back.shared_array("pq/Weights").bit_equal(net.shared_array("pq/Weights")));
  }
  SECTION("partly initialized: the missing arrays stay missing") {
    Net net = NetChain({linear(3), linear(2)}, {{"Input", 2}});
    net.set_array({"1", "Weights"}, Array{{1, 2}, {3, 4}, {5, 6}});
    const Net back = check_round_trip(net);
    CHECK(back.has_array({"1", "Weights"}));
    CHECK_FALSE(back.has_array({"1", "Biases"}));
    CHECK_FALSE(back.has_array({"2", "Weights"}));
    const auto record = net_to_json(net)["net"]["nodes"][1]["net"];
    CHECK(record["arrays"].empty());
  }
}

TEST_CASE("net json: a layer's record is the single-layer record of layer_net_json", "[json]") {
  const Net net = conv_chain();
  const auto doc = net_to_json(net);
  for (size_t i = 0; i < net.nodes().size(); ++i)
    CHECK(doc["net"]["nodes"][i]["net"] == layer_net_to_json(net.nodes()[i].layer()));
  CHECK(doc["format"] == "netkit");
  CHECK(doc["version"] == 2);
  CHECK(doc["net"]["inputs"] == nlohmann::json::parse(R"([{"name": "Input", "shape": [2, 6, 6]}])"));
  CHECK(doc["net"]["outputs"] == nlohmann::json::parse(R"([{"name": "Output", "shape": [4]}])"));
}

TEST_CASE("net json: small arrays as number lists on request", "[json]") {
  Net net = NetChain({linear(3), linear(40)}, {{"Input", 2}});
  net.initialize(4);
  const NetSaveOptions plain{10};
  const std::string text = net_to_text(net, plain);
  const auto doc = nlohmann::json::parse(text);
  CHECK(doc["net"]["nodes"][0]["net"]["arrays"]["Weights"]["data"].is_array());   // 6 elements
  CHECK(doc["net"]["nodes"][1]["net"]["arrays"]["Weights"]["data"].is_string());  // 120 elements
  const Net back = check_round_trip(net, batch(net, 2, 1), plain);
  CHECK(net_to_text(back) == net_to_text(net));  // and the same values in base64
}

TEST_CASE("net json: large arrays take the fast base64 paths and agree with the plain ones", "[json]") {
  Random random(3, "big");
  for (int64_t n : {1, 2, 3, 4, 5, 1023, 1024, 4099}) {
    const Array a = random_normal({n}, random);
    const std::string text = float32_base64(a);
    CHECK(nlohmann::json(text) == array_to_json(a)["data"]);
    Array back(Shape{n});
    CHECK(float32_from_base64(text, back));
    CHECK(back.bit_equal(a));
  }
  Array out(Shape{2});
  CHECK_FALSE(float32_from_base64("AACAPwAAAEA", out));   // short
  CHECK_FALSE(float32_from_base64("AACAPwAAAE*=", out));  // bad character
  CHECK(float32_from_base64("AACAPwAAAEA=", out));
  CHECK(out.values() == std::vector<float>{1, 2});
  CHECK_FALSE(float32_from_base64("AACAPwAAgH8=", out));  // infinity
  CHECK_FALSE(float32_from_base64("AACAPwAAwH8=", out));  // NaN
  // A net with big arrays, including a node whose name is a long base64-like string.
  const std::string long_name(5000, 'Q');
  Net net = NetChain({{"big", linear(300)}, {long_name, linear(7)}}, {{"Input", 40}});
  net.initialize(2);
  const Net back = check_round_trip(net, batch(net, 2, 9));
  CHECK(back.node_names()[1] == long_name);
  // A name that spells a NUL character turns the fast reading path off; the result is the same.
  Net nul = NetChain({{std::string("n\0l", 3), linear(300)}}, {{"Input", 40}});
  nul.initialize(2);
  CHECK(check_round_trip(nul).node_names()[0] == std::string("n\0l", 3));
  // Names that collide with the writer's placeholders: it picks others, or writes plainly.
  Net clash = NetChain({{"netkit-array-7f3a-0", linear(300)},
                        {"netkit-array-c41e9b-0", linear(300)},
                        {"netkit-array-0d5e2f77-0", linear(300)}},
                       {{"Input", 300}});
  clash.initialize(2);
  check_round_trip(clash);
}

TEST_CASE("net json: version-1 single-layer files and legacy batch-norm names load", "[json]") {
  LayerNet bn = BatchNormalizationLayer({{"Input", 3}, {"Interleaving", true}});
  bn.initialize(2);
  TempFile f("net_json_v1.json");
  save_layer_net(bn, f.path);
  const Net net = load_net(f.path);
  REQUIRE(net.is_layer());
  CHECK(layer_net_to_json(net.layer()) == layer_net_to_json(bn));

  const auto legacy = nlohmann::json::parse(R"({"format": "netkit", "version": 1, "layer": {
      "type": "BatchNormalization", "options": {"Epsilon": 0, "L2Factors": {"Gamma": 0.5, "Beta": 0}},
      "LearningRateMultipliers": {"Gamma": 2},
      "arrays": {"Gamma": [2], "Beta": [1], "MovingMean": [0], "MovingVariance": [4]}}})");
  const Net old = net_from_json(legacy);
  CHECK(old.array({"Scaling"}).values() == std::vector<float>{2});
  CHECK(old.array({"Biases"}).values() == std::vector<float>{1});
  CHECK(old.option({"Interleaving"}) == false);
  CHECK(old.option({"L2Factors"}) == nlohmann::json{{"Scaling", 0.5}, {"Biases", 0}});
  CHECK(old.layer().learning_rate_multiplier("Scaling") == 2);
  CHECK(old.evaluate(Array{3.0})[0] == 4.0f);  // 2 * 3 / 2 + 1
  // Version 2 reads the legacy names too, and writes the new ones.
  nlohmann::json v2 = legacy;
  v2["version"] = 2;
  v2["net"] = v2["layer"];
  v2.erase("layer");
  const std::string text = net_to_text(net_from_json(v2));
  CHECK(text.find("Gamma") == std::string::npos);
  CHECK(text.find("\"Scaling\"") != std::string::npos);
}

TEST_CASE("net json: a failed save leaves the previous file and no temporary file", "[json]") {
  TempFile f("net_json_atomic.json");
  const Net good = conv_chain();
  save_net(f.path, good);
  const std::string before = read_text(f.path);
  LayerNet custom(std::make_shared<const BatchNormalization>([] {
                    BatchNormalization::Config c;
                    c.scaling_initializer = Initializer([](const Shape& s) { return Array(s, 2.0f); });
                    return c;
                  }()),
                  {{"Input", 3}});
  const Net bad = NetChain({{"bn", custom}});
  CHECK_THROWS_WITH(save_net(f.path, bad), Contains("cannot save a user-function initializer"));
  CHECK(read_text(f.path) == before);
  CHECK(read_text(f.path + ".tmp").empty());
  CHECK_THROWS_WITH(save_net("no/such/dir/net.json", good),
                    Equals("no/such/dir/net.json: cannot write the model file; expected a writable location, got "
                           "no such directory"));
}

TEST_CASE("net json: the example in docs/format.md is what the program writes", "[json]") {
  const std::string doc = read_text(std::string(NETKIT_SOURCE_DIR) + "/docs/format.md");
  const size_t begin = doc.find("```json\n");
  REQUIRE(begin != std::string::npos);
  const size_t end = doc.find("\n```", begin + 8);
  const std::string example = doc.substr(begin + 8, end - begin - 8) + "\n";
  const Net net = net_from_text(example, "docs/format.md");
  CHECK(net_to_text(net, NetSaveOptions{16}) == example);
  const Array y = net.evaluate(Array{1.0, -2.0});  // x + tanh(W x + b), W x + b = [2.5, 3]
  CHECK(y[0] == Approx(1 + std::tanh(2.5)));
  CHECK(y[1] == Approx(-2 + std::tanh(3.0)));
}
