// Messages stay one readable line: user text is quoted and escaped, long values are shortened to
// a prefix and their length, model-file errors carry the file and JSON pointer, and a key given
// twice in a model file is refused where it is.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include <netkit/core/error.h>
#include <netkit/core/shape.h>
#include <netkit/graph/json_keys.h>
#include <netkit/graph/net_json.h>
#include <netkit/layers/option_reader.h>

using namespace netkit;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

std::string model_text(const nlohmann::json& net) {
  return nlohmann::json{{"format", "netkit"}, {"version", 2}, {"net", net}}.dump();
}

std::string load_message(const std::string& text) {
  try {
    net_from_text(text, "m.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "loaded";
}

// `levels` NetChains inside each other around one Ramp layer.
nlohmann::json nested_chains(int levels) {
  nlohmann::json net = {{"type", "Ramp"}};
  for (int i = 0; i < levels; ++i) net = {{"type", "NetChain"}, {"nodes", {{{"name", "n"}, {"net", net}}}}};
  return net;
}

}  // namespace

TEST_CASE("messages: user text is quoted with quotes, backslashes and control characters escaped", "[messages]") {
  CHECK(in_quotes("Epsilon") == "\"Epsilon\"");
  CHECK(in_quotes("a\nb\t\"c\"\\\x01\x7f") == "\"a\\nb\\t\\\"c\\\"\\\\\\x01\\x7F\"");
  CHECK(in_quotes("caf\xC3\xA9") == "\"caf\xC3\xA9\"");  // UTF-8 stays readable
}

TEST_CASE("messages: long user text shows its start and its length", "[messages]") {
  CHECK(in_quotes(std::string(100000, 'n')) == "\"" + std::string(kShownChars, 'n') + "...\" (100000 characters)");
  // The cut never falls inside a UTF-8 sequence: 'a' then 2-byte characters, cut before byte 80.
  std::string accents = "a";
  for (int i = 0; i < 100; ++i) accents += "\xC3\xA9";
  std::string shown = "a";
  for (int i = 0; i < 39; ++i) shown += "\xC3\xA9";
  CHECK(in_quotes(accents) == "\"" + shown + "...\" (201 characters)");
  CHECK(shortened(std::string(5000, 'A')) == std::string(kShownChars, 'A') + "... (5000 characters)");
  CHECK(shortened("[1, 2]") == "[1, 2]");
  CHECK(dims_to_string(std::vector<int64_t>(255, 1)) == "[1, 1, 1, 1, 1, 1, 1, 1, ... (255 dimensions)]");
  std::vector<std::string> names;
  for (int i = 0; i < 30; ++i) names.push_back("n" + std::to_string(i));
  CHECK_THAT(join_names(names), Contains("\"n23\", ... (30 names)") && !Contains("n24"));
}

TEST_CASE("messages: node names with newlines and huge names stay on one line", "[messages]") {
  const nlohmann::json ramp = {{"type", "Ramp"}};
  CHECK(load_message(model_text({{"type", "NetChain"},
                                 {"nodes", {{{"name", "a\nb"}, {"net", ramp}}, {{"name", "a\nb"}, {"net", ramp}}}}})) ==
        "m.json: /net/nodes/1/name: duplicate node name; expected unique names, got \"a\\nb\"");
  const nlohmann::json linear2 = {{"type", "Linear"}, {"options", {{"OutputSize", 2}}}, {"ports", {{"Input", {4}}}}};
  const nlohmann::json linear3 = {{"type", "Linear"}, {"options", {{"OutputSize", 2}}}, {"ports", {{"Input", {3}}}}};
  const std::string mismatch = load_message(model_text(
      {{"type", "NetChain"}, {"nodes", {{{"name", "a\nb"}, {"net", linear2}}, {{"name", "c"}, {"net", linear3}}}}}));
  CHECK(mismatch.find('\n') == std::string::npos);
  CHECK_THAT(mismatch, Contains("node \"a\\nb\" port \"Output\""));
  const std::string huge = load_message(model_text({{"type", std::string(100000, 'T')}}));
  CHECK(huge.size() < 1000);
  CHECK_THAT(huge, Contains("unknown layer type") && Contains("...\" (100000 characters)"));
  // 5 KB of base64 where a number belongs is echoed as its start and its length.
  const std::string base64 =
      load_message(model_text({{"type", "Linear"}, {"options", {{"OutputSize", std::string(5000, 'A')}}}}));
  CHECK(base64.size() < 400);
  CHECK_THAT(base64, Contains("... (5002 characters)"));
}

TEST_CASE("messages: shape errors in model files carry the file and the JSON pointer", "[messages]") {
  CHECK(load_message(model_text({{"type", "Linear"}, {"options", {{"OutputSize", 3}}}, {"ports", {{"Input", 0}}}})) ==
        "m.json: /net/ports/Input (shape [0]): invalid dimension; expected dimensions >= 1, got 0");
  CHECK(load_message(model_text(
            {{"type", "Linear"}, {"options", {{"OutputSize", 3}}}, {"ports", {{"Input", {int64_t{1} << 62, 784}}}}})) ==
        "m.json: /net/ports/Input (shape [4611686018427387904, 784]): too many elements; expected at most 4294967296 "
        "elements, got 3.615561838447072e+21");
}

TEST_CASE("messages: a key given twice in a model file is refused at its pointer", "[messages]") {
  CHECK(load_message(R"({"format": "netkit", "version": 2, "version": 2, "net": {"type": "Ramp"}})") ==
        "m.json: /version: duplicate key; expected each key once in an object, got \"version\"");
  CHECK(load_message(R"({"format": "netkit", "version": 2, "net": {"type": "NetChain", "nodes": [)"
                     R"({"name": "a", "net": {"type": "Ramp"}}, )"
                     R"({"name": "b", "net": {"type": "Linear", "options": {"OutputSize": 2, "OutputSize": 3}}}]}})") ==
        "m.json: /net/nodes/1/net/options/OutputSize: duplicate key; expected each key once in an object, got "
        "\"OutputSize\"");
  CHECK(json_pointer_token("a/b~c") == "a~1b~0c");
  CHECK(json_pointer_token("a\nb") == "a\\nb");
}

TEST_CASE("messages: the nesting limits are the documented ones", "[messages]") {
  // Containers: 64 inside each other load, 65 do not.
  CHECK(load_message(model_text(nested_chains(64))) == "loaded");
  CHECK_THAT(load_message(model_text(nested_chains(65))),
             Contains("containers nested too deeply; expected at most 64 levels"));
  // JSON: 512 levels of lists and objects parse (and are then refused for what they are), 513 do not.
  const auto nested_lists = [](int levels) {
    return R"({"format": "netkit", "version": 2, "net": )" + std::string(static_cast<size_t>(levels - 1), '[') +
           std::string(static_cast<size_t>(levels - 1), ']') + "}";
  };
  CHECK_THAT(load_message(nested_lists(512)), Contains("/net: wrong type for a net"));
  CHECK(load_message(nested_lists(513)) == "m.json: JSON nested too deeply; expected at most 512 levels, got more");
}
