// Broken model files (graph/net_json.h): every kind of damage gives a FormatError whose message
// names the JSON pointer of what is wrong, and nothing large is allocated for a small file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>

#include <netkit/core/error.h>
#include <netkit/graph/net_json.h>
#include "tests/support/fixtures.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;

namespace {

// x -> lin -> bn -> (+ x via "skip") : a graph with arrays of every role.
Net small_net() {
  Net net =
      NetGraph({{"lin", LinearLayer({{"OutputSize", 2}})}, {"bn", BatchNormalizationLayer()}, {"sum", TotalLayer()}},
               {{NetPort("Input"), "lin"},
                {"lin", "bn"},
                {"bn", NetPort("sum", "Input1")},
                {NetPort("Input"), NetPort("sum", "Input2")}},
               {{"Input", 2}});
  net.initialize(1);
  return net;
}

const nlohmann::json& good() {
  static const nlohmann::json doc = net_to_json(small_net());
  return doc;
}

// The message of loading `good()` after `edit`.
std::string load_error(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json doc = good();
  edit(doc);
  try {
    net_from_json(doc, "m.json");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "loaded";
}

nlohmann::json& node(nlohmann::json& doc, size_t i) { return doc["net"]["nodes"][i]["net"]; }

}  // namespace

TEST_CASE("net json errors: not JSON, truncated, not a netkit file, versions", "[json]") {
  const std::string text = net_to_text(small_net());
  CHECK_THROWS_AS(net_from_text(text.substr(0, text.size() / 2)), FormatError);
  CHECK_THROWS_WITH(net_from_text(text.substr(0, text.size() / 2), "m.json"),
                    StartsWith("m.json: not valid JSON") && Contains("expected a JSON model file, got byte"));
  CHECK_THROWS_WITH(net_from_text("nonsense"), StartsWith("model text: not valid JSON"));
  CHECK_THROWS_WITH(net_from_text("[1e400]", "m.json"),
                    StartsWith("m.json: not valid JSON") && Contains("number overflow"));
  CHECK_THROWS_WITH(net_from_text("[1, 2]", "m.json"), Equals("m.json: /: wrong type; expected an object, got a list"));
  CHECK_THAT(load_error([](auto& d) { d["version"] = 3; }),
             Equals("m.json: /version: unsupported format version; expected version 2 or older, got version 3. "
                    "Update netkit to read this file"));
  CHECK_THAT(load_error([](auto& d) { d["version"] = 0; }), Contains("got version 0"));
  CHECK(load_error([](auto& d) { d["version"] = "2"; }) ==
        "m.json: /version: wrong type; expected an integer, got a string (\"2\")");
  CHECK(load_error([](auto& d) { d["format"] = "onnx"; }) ==
        "m.json: /format: not a netkit model file; expected \"netkit\", got \"onnx\"");
  CHECK(load_error([](auto& d) { d["extra"] = 1; }) ==
        "m.json: /extra: unknown key; expected one of \"format\", \"version\", \"net\", got \"extra\"");
  CHECK(load_error([](auto& d) { d["version"] = 1; }) ==
        "m.json: /net: unknown key; expected one of \"format\", \"version\", \"layer\", got \"net\"");
  CHECK(load_error([](auto& d) { d["layer"] = d["net"], d.erase("net"), d["version"] = 1; }) ==
        "m.json: /layer/type: a version-1 file holds one layer; expected a layer type, got \"NetGraph\"");
  CHECK_THROWS_WITH(load_net("no/such/model.json"), StartsWith("no/such/model.json: cannot open the model file"));
}

TEST_CASE("net json errors: wrong types and unknown names are located", "[json]") {
  CHECK(load_error([](auto& d) { d["net"]["nodes"] = 3; }) ==
        "m.json: /net/nodes: wrong type; expected a list of nodes, got a number (3)");
  CHECK(load_error([](auto& d) { d["net"]["nodes"][1] = "bn"; }) ==
        "m.json: /net/nodes/1: wrong type for a node; expected an object with \"name\" and \"net\", got a string "
        "(\"bn\")");
  CHECK_THAT(
      load_error([](auto& d) { node(d, 0)["type"] = "Lineer"; }),
      StartsWith("m.json: /net/nodes/0/net/type: unknown layer type; expected one of \"BatchNormalization\", ") &&
          Contains("\"Total\", \"NetChain\", \"NetGraph\", got \"Lineer\""));
  CHECK_THAT(load_error([](auto& d) { node(d, 0)["type"] = 7; }),
             Equals("m.json: /net/nodes/0/net/type: wrong type; expected a layer or container type, got a number (7)"));
  CHECK_THAT(load_error([](auto& d) { node(d, 1)["options"]["Epsilom"] = 1; }),
             StartsWith("m.json: /net/nodes/1/net/options") && Contains("unknown option \"Epsilom\""));
  CHECK_THAT(
      load_error([](auto& d) { node(d, 1)["options"]["Momentum"] = "fast"; }),
      StartsWith("m.json: /net/nodes/1/net/options") && Contains("Momentum") && Contains("got a string (\"fast\")"));
  CHECK_THAT(
      load_error([](auto& d) {
        node(d, 0)["arrays"]["Weight"] = {1, 2};
      }),
      Equals(
          "m.json: /net/nodes/0/net/arrays/Weight: unknown array \"Weight\" of node \"lin\" (Linear); expected one of "
          "\"Weights\", \"Biases\", got \"Weight\""));
  CHECK_THAT(load_error([](auto& d) { node(d, 2)["arrays"]["W"] = {1}; }),
             Contains("expected no arrays (this layer has none)"));
  CHECK_THAT(load_error([](auto& d) {
               d["net"]["ports"]["Input"] = {2, 0};
             }),
             StartsWith("m.json: /net/ports/Input: invalid dimension"));
  CHECK_THAT(load_error([](auto& d) { d["net"]["ports"]["Inptu"] = 2; }),
             Equals("m.json: /net/ports/Inptu: unknown port; expected one of \"Input\", \"Output\", got \"Inptu\""));
  CHECK_THAT(load_error([](auto& d) { d["net"]["colour"] = "red"; }), StartsWith("m.json: /net/colour: unknown key"));
  CHECK_THAT(load_error([](auto& d) { d["net"]["type"] = "NetChain"; }), StartsWith("m.json: /net/edges: unknown key"));
  CHECK_THAT(load_error([](auto& d) { node(d, 0)["MovingUpdateCount"] = -1; }),
             StartsWith("m.json: /net/nodes/0/net/MovingUpdateCount: wrong value"));
}

TEST_CASE("net json errors: arrays that do not fit the net, bad data, bad values", "[json]") {
  // Linear's Weights must be [2, 2]: the net's input fixes the second dimension.
  CHECK_THAT(
      load_error([](auto& d) {
        node(d, 0)["arrays"]["Weights"] = {{1, 2, 3}, {4, 5, 6}};
      }),
      Equals("m.json: /net/nodes/0/net/arrays/Weights: array shape does not match the net at node \"lin\" (Linear); "
             "expected [2, 2], got [2, 3]"));
  CHECK_THAT(load_error([](auto& d) {
               node(d, 1)["arrays"]["Scaling"] = {1, 2, 3};
             }),
             StartsWith("m.json: /net/nodes/1/net/arrays/Scaling: array shape does not match the net") &&
                 Contains("expected [2], got [3]"));
  CHECK_THAT(load_error([](auto& d) {
               node(d, 1)["arrays"]["MovingVariance"] = {1, -2};
             }),
             StartsWith("m.json: /net/nodes/1/net/arrays/MovingVariance") &&
                 Contains("MovingVariance + Epsilon must be positive"));
  CHECK_THAT(load_error([](auto& d) { node(d, 0)["arrays"]["Biases"]["data"] = "AAAA*AAAAAA="; }),
             Equals("m.json: /net/nodes/0/net/arrays/Biases/data: invalid base64 character at offset 4; expected A-Z, "
                    "a-z, 0-9, + or /, "
                    "got '*'"));
  CHECK_THAT(load_error([](auto& d) { node(d, 0)["arrays"]["Biases"]["data"] = "AACAPwAAwH8="; }),
             StartsWith("m.json: /net/nodes/0/net/arrays/Biases/data: value 1 is not finite"));
  CHECK_THAT(load_error([](auto& d) { node(d, 0)["arrays"]["Biases"]["data"] = "AACAPwAAgH8="; }),
             Contains("value 1 is not finite"));
  CHECK_THAT(load_error([](auto& d) {
               node(d, 0)["arrays"]["Biases"]["data"] = {1, 1e300};
             }),
             Equals("m.json: /net/nodes/0/net/arrays/Biases/data/1: not a finite number; expected a finite number, got "
                    "1e+300"));  // finite as a double, infinite as float32
  CHECK_THAT(load_error([](auto& d) { node(d, 0)["arrays"]["Biases"]["data"] = "AAAA"; }),
             Equals("m.json: /net/nodes/0/net/arrays/Biases/data: base64 data does not match the shape [2]; expected 2 "
                    "float32 values, "
                    "got 4 base64 characters"));
  CHECK_THAT(load_error([](auto& d) {
               node(d, 0)["arrays"]["Biases"]["data"] = {1, 2, 3};
             }),
             Contains("/data: data length does not match the shape [2]; expected 2 values, got 3"));
  CHECK_THAT(load_error([](auto& d) { node(d, 0)["arrays"]["Biases"]["dtype"] = "float16"; }),
             StartsWith("m.json: /net/nodes/0/net/arrays/Biases/dtype: unsupported dtype"));
  CHECK_THAT(load_error([](auto& d) { node(d, 0)["arrays"]["Biases"] = "zero"; }),
             StartsWith("m.json: /net/nodes/0/net/arrays/Biases: wrong type for an array"));
  CHECK_THAT(load_error([](auto& d) {
               node(d, 0)["arrays"]["Biases"] = {{1}, {2, 3}};
             }),
             Contains("ragged nested list"));
}

TEST_CASE("net json errors: absurd sizes are refused before anything is allocated", "[json]") {
  // 2^32 - 65536 floats (16 GB) declared, 0 given: refused by length, no allocation.
  CHECK_THAT(
      load_error([](auto& d) {
        node(d, 0)["arrays"]["Weights"] = {{"dtype", "float32"}, {"shape", {65536, 65535}}, {"data", ""}};
      }),
      Equals(
          "m.json: /net/nodes/0/net/arrays/Weights/data: base64 data does not match the shape [65536, 65535]; expected "
          "4294901760 float32 values, got 0 base64 characters"));
  CHECK_THAT(load_error([](auto& d) {
               node(d, 0)["arrays"]["Weights"] = {{"dtype", "float32"}, {"shape", {65536, 65535}}, {"data", {1}}};
             }),
             Contains("data length does not match the shape"));
  CHECK_THAT(load_error([](auto& d) {
               node(d, 0)["arrays"]["Weights"]["shape"] = {1000000, 1000000, 1000000};
             }),
             Equals("m.json: /net/nodes/0/net/arrays/Weights/shape (shape [1000000, 1000000, 1000000]): too many "
                    "elements; expected at most 4294967296 elements, got 1e+18"));
  CHECK_THAT(load_error([](auto& d) {
               node(d, 0)["arrays"]["Weights"]["shape"] = {4000000000, 4000000000, 4000000000};
             }),
             StartsWith("m.json: /net/nodes/0/net/arrays/Weights/shape"));
  // JSON nested 5000 deep, and containers nested a thousand deep.
  CHECK_THROWS_WITH(net_from_text(std::string(5000, '[') + std::string(5000, ']'), "m.json"),
                    Equals("m.json: JSON nested too deeply; expected at most 512 levels, got more"));
  nlohmann::json deep = {{"type", "Ramp"}};
  for (int i = 0; i < 1000; ++i) deep = {{"type", "NetChain"}, {"nodes", {{{"name", "n"}, {"net", deep}}}}};
  CHECK_THROWS_WITH(net_from_json({{"format", "netkit"}, {"version", 2}, {"net", deep}}),
                    Contains("containers nested too deeply; expected at most 64 levels"));
}

TEST_CASE("net json errors: structure: dangling edges, duplicate names, ports, sharing", "[json]") {
  CHECK_THAT(load_error([](auto& d) { d["net"]["edges"][1]["to"]["node"] = "bnn"; }),
             Equals("m.json: /net/edges/1/to/node: dangling edge: unknown node; expected one of \"lin\", \"bn\", "
                    "\"sum\", got \"bnn\""));
  CHECK_THAT(load_error([](auto& d) { d["net"]["edges"][2]["to"]["port"] = "Input3"; }),
             Equals("m.json: /net/edges/2/to/port: dangling edge: unknown input port of \"sum\"; expected one of "
                    "\"Input1\", \"Input2\", "
                    "got \"Input3\""));
  CHECK_THAT(load_error([](auto& d) { d["net"]["edges"][0]["from"] = nlohmann::json::object(); }),
             StartsWith("m.json: /net/edges/0/from: empty edge end"));
  CHECK_THAT(load_error([](auto& d) {
               d["net"]["edges"][0]["to"] = {{"node", "lin"}}, d["net"]["edges"][1]["to"] = {{"node", "lin"}};
             }),
             StartsWith("m.json: /net/edges"));
  CHECK_THAT(load_error([](auto& d) { d["net"]["nodes"][2]["name"] = "bn"; }),
             Equals("m.json: /net/nodes/2/name: duplicate node name; expected unique names, got \"bn\""));
  CHECK_THAT(load_error([](auto& d) { d["net"]["nodes"][2]["name"] = "a/b"; }),
             StartsWith("m.json: /net/nodes/2/name: invalid node name"));
  CHECK_THAT(load_error([](auto& d) { d["net"]["inputs"][0]["shape"] = {3}; }),
             Equals("m.json: /net/inputs/0/shape: port shape does not match the net; expected [2], got [3]"));
  CHECK_THAT(
      load_error([](auto& d) { d["net"]["outputs"] = nlohmann::json::array(); }),
      StartsWith("m.json: /net/outputs: port list does not match the net; expected 1 ports (\"Output\"), got 0"));
  // Sharing the Linear's weights with nothing, with a moving array, and a value in two places.
  CHECK_THAT(load_error([](auto& d) {
               d["net"]["shared"] = {{{"name", "W"}, {"users", {"lin/Weights"}}}};
             }),
             StartsWith("m.json: /net/shared/0") && Contains("too few arrays to share"));
  CHECK_THAT(load_error([](auto& d) {
               d["net"]["shared"] = {{{"name", "M"}, {"users", {"bn/MovingMean", "bn/MovingVariance"}}}};
             }),
             StartsWith("m.json: /net/shared/0") && Contains("cannot be shared"));
  CHECK_THAT(load_error([](auto& d) {
               d["net"]["shared"] = {{{"name", "S"}, {"users", {"bn/Scaling", "bn/Biases"}}}};
             }),
             Equals("m.json: /net/nodes/1/net/arrays/Biases: array is shared as \"S\"; expected its value with the "
                    "shared array, got a "
                    "value in the layer's record"));
  CHECK_THAT(load_error([](auto& d) {
               d["net"]["shared"] = {{{"name", "S"}, {"users", {"bn/Scaling", "bn/Biases"}}, {"array", {1, 2, 3}}}};
               node(d, 1)["arrays"].erase("Scaling"), node(d, 1)["arrays"].erase("Biases");
             }),
             StartsWith("m.json: /net/shared/0/array: array shape does not match the net"));
  // Legacy and new names together.
  CHECK_THAT(load_error([](auto& d) {
               node(d, 1)["arrays"]["Gamma"] = {1, 1};
             }),
             Contains("/net/nodes/1/net/arrays/") && Contains("both a legacy name and its new name"));
}

TEST_CASE("net json errors: the fuzz corpus: valid files load and round-trip, broken ones are refused", "[json]") {
  // Every input that once broke the loader stays in tests/fuzz_corpus/net/ as a regression test.
  int valid = 0, broken = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(NETKIT_SOURCE_DIR) + "/tests/fuzz_corpus/net")) {
    const std::string name = entry.path().filename().string();
    INFO("corpus file " << name);
    const std::string text = read_text(entry.path().string());
    if (name.rfind("valid_", 0) == 0) {
      ++valid;
      const Net net = net_from_text(text, name);
      const std::string saved = net_to_text(net);
      CHECK(net_to_text(net_from_text(saved)) == saved);
    } else {
      ++broken;
      CHECK_THROWS_AS(net_from_text(text, name), Error);
    }
  }
  CHECK(valid >= 5);
  CHECK(broken >= 10);
}
