// JSON forms of shapes and arrays (graph/array_json.h): every malformed array names its
// location and what was expected.
#include <catch2/catch.hpp>

#include <netkit/core/error.h>
#include <netkit/graph/array_json.h>

using namespace netkit;
using Catch::Matchers::Equals;

namespace {

nlohmann::json parse(const char* text) { return nlohmann::json::parse(text); }

}  // namespace

TEST_CASE("JSON arrays: exact round trips in both encodings", "[json]") {
  const Array a{{1.5, -0.0}, {3.25, 1e-30}};
  for (bool plain : {false, true}) {
    const Array back = array_from_json(array_to_json(a, plain), "/a");
    CHECK(back.bit_equal(a));
  }
  CHECK(array_from_json(parse("[[1, 2], [3, 4]]"), "/a").dims() == std::vector<int64_t>{2, 2});
  CHECK(base64_decode(base64_encode(reinterpret_cast<const unsigned char*>("netkit"), 6), "/s") == "netkit");
}

TEST_CASE("JSON arrays: malformed arrays say where and what", "[json]") {
  CHECK_THROWS_AS(array_from_json(parse(R"({"dtype": "float32", "shape": [2]})"), "/a"), FormatError);
  CHECK_THROWS_WITH(array_from_json(parse(R"({"dtype": "float32", "shape": [2]})"), "/a"),
                    Equals("/a: missing key \"data\"; expected \"dtype\", \"shape\" and \"data\", got "
                           "{\"dtype\":\"float32\",\"shape\":[2]}"));
  CHECK_THROWS_WITH(array_from_json(parse(R"({"dtype": "float32", "shape": [2, null], "data": []})"), "/a"),
                    Equals("/a/shape: array shape must be fully known; expected a list of integers, got [2,null]"));
  CHECK_THROWS_WITH(array_from_json(parse(R"({"dtype": "float32", "shape": [3], "data": [1, 2]})"), "/a"),
                    Equals("/a/data: data length does not match the shape [3]; expected 3 values, got 2"));
  CHECK_THROWS_WITH(array_from_json(parse(R"({"dtype": "float32", "shape": [2], "data": [1, "x"]})"), "/a"),
                    Equals("/a/data/1: not a finite number; expected a finite number, got \"x\""));
  CHECK_THROWS_WITH(array_from_json(parse(R"({"dtype": "float32", "shape": [1], "data": true})"), "/a"),
                    Equals("/a/data: wrong type; expected a base64 string or a number list, got true"));
  CHECK_THROWS_WITH(array_from_json(parse("[[1, 2], [3]]"), "/a"),
                    Equals("/a: ragged nested list; expected 2 elements at level 2, got 1"));
  CHECK_THROWS_WITH(
      array_from_json(parse("\"AAAA\""), "/a"),
      Equals("/a: wrong type for an array; expected an object or a number list, got a string (\"AAAA\")"));
  CHECK_THROWS_WITH(base64_decode("AAA", "/s"),
                    Equals("/s: bad base64 length; expected a multiple of 4 characters, got 3"));
  CHECK_THROWS_WITH(shape_from_json(parse("\"big\""), "/p"),
                    Equals("/p: wrong type for a shape; expected a list of dimensions, got a string (\"big\")"));
}
