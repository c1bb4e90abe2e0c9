// Sizes from files and the command line: bounded before use, multiplied and added only with
// overflow checks, and allocations that fail are typed errors naming what and how much. These
// are the reproducers of sizes that used to overflow, so they also run under the sanitizers.
#include <catch2/catch.hpp>

#include <new>

#include <nlohmann/json.hpp>

#include <netkit/core/checked_size.h>
#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/net.h>
#include <netkit/graph/net_info.h>
#include <netkit/graph/net_json.h>
#include <netkit/layers/option_reader.h>
#include "tests/support/fixtures.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Equals;

namespace {

std::string model_text(const nlohmann::json& net) {
  return nlohmann::json{{"format", "netkit"}, {"version", 2}, {"net", net}}.dump();
}

}  // namespace

TEST_CASE("sizes: products and sums of sizes refuse overflow with what was sized", "[sizes]") {
  CHECK(checked_multiply(int64_t{1} << 31, int64_t{1} << 31, "x") == int64_t{1} << 62);
  CHECK(checked_add(int64_t{1} << 62, (int64_t{1} << 62) - 1, "x") == INT64_MAX);
  CHECK_THROWS_WITH(checked_multiply(int64_t{1} << 32, int64_t{1} << 31, "parameter count"),
                    Equals("parameter count: size too large; expected a product below 2^63, got 4294967296 x "
                           "2147483648, which overflows"));
  CHECK_THROWS_WITH(checked_add(int64_t{1} << 62, int64_t{1} << 62, "parameter count"),
                    Equals("parameter count: size too large; expected a sum below 2^63, got 4611686018427387904 + "
                           "4611686018427387904, which overflows"));
  CHECK_THROWS_WITH(checked_add(-1, 2, "activations"),
                    Equals("activations: negative size; expected sizes >= 0, got -1 + 2"));
  CHECK_THROWS_AS(checked_multiply(3, -2, "x"), ShapeError);
}

TEST_CASE("sizes: a shape has at most 2^32 elements", "[sizes]") {
  CHECK(Shape{65536, 65536}.num_elements() == kMaxElements);
  CHECK_THROWS_WITH(Shape({int64_t{1} << 62, 784}),
                    Equals("shape [4611686018427387904, 784]: too many elements; expected at most 4294967296 "
                           "elements, got 3.615561838447072e+21"));
  CHECK_THROWS_WITH(Shape({65536, kUnknownDim, 65537}),
                    Equals("shape [65536, ?, 65537]: too many elements; expected at most 4294967296 elements, got "
                           "4295032832"));
}

TEST_CASE("sizes: an allocation that fails names what and how many bytes", "[sizes]") {
  // 2^62 floats: more than a vector can hold, refused before any memory is asked for.
  CHECK_THROWS_AS(Array::zeros({int64_t{1} << 31, int64_t{1} << 31}), AllocationError);
  CHECK_THROWS_WITH(Array::zeros({int64_t{1} << 31, int64_t{1} << 31}),
                    Equals("array [2147483648, 2147483648]: cannot allocate 1.8446744073709552e+19 bytes; expected "
                           "that much free memory, got an allocation failure"));
  CHECK_THROWS_WITH(
      allocating([] { return std::string("confusion matrix"); }, 2e10, []() -> int { throw std::bad_alloc(); }),
      Equals("confusion matrix: cannot allocate 20000000000 bytes; expected that much free memory, got "
             "an allocation failure"));
  CHECK(allocating([] { return std::string("unused"); }, 4, [] { return 7; }) == 7);
}

TEST_CASE("sizes: the thread count is at most kMaxThreads", "[sizes]") {
  ThreadCount restore(1);
  set_num_threads(100000);  // used to exhaust the OpenMP runtime's memory and then deadlock in exit()
  CHECK(num_threads() == kMaxThreads);
  set_num_threads(0);
  CHECK(num_threads() == 1);
}

TEST_CASE("sizes: Total and Catenate have at most kMaxPorts inputs, and planning is linear in them", "[sizes]") {
  // A 150-byte file asking for a million inputs is refused before any port is made.
  for (const char* type : {"Total", "Catenate"})
    CHECK_THROWS_WITH(net_from_text(model_text({{"type", type}, {"options", {{"Inputs", 1000000}}}}), "m.json"),
                      Equals(std::string("m.json: /net/options (") + type +
                             " option \"Inputs\"): invalid port count; expected an integer from 1 to 1024, got "
                             "1000000"));
  CHECK_THROWS_WITH(net_from_text(model_text({{"type", "Total"}, {"options", {{"Inputs", int64_t{1} << 40}}}})),
                    Equals("/net/options (Total option \"Inputs\"): invalid port count; expected an integer from 1 to "
                           "1024, got 1099511627776"));
  // The largest Total plans and runs: every input is one port of the sum.
  LayerNet total = LayerNet::create("Total", {{"Inputs", kMaxPorts}, {"Input1", {2}}});
  CHECK(total.port_shape("Input1024") == Shape{2});
  std::vector<Array> inputs(static_cast<size_t>(kMaxPorts), Array{{1.0, 0.5}});
  CHECK(total.evaluate_batch(inputs).values() == std::vector<float>{1024, 512});
}

TEST_CASE("sizes: parameter counts of a net cannot wrap negative", "[sizes]") {
  // Two Linear layers of 2^31 x 2^31 weights used to print "parameters: -9223372032559808512".
  const nlohmann::json chain = {
      {"type", "NetChain"},
      {"nodes",
       {{{"name", "a"},
         {"net",
          {{"type", "Linear"},
           {"options", {{"OutputSize", int64_t{1} << 31}}},
           {"ports", {{"Input", {int64_t{1} << 31}}}}}}},
        {{"name", "b"}, {"net", {{"type", "Linear"}, {"options", {{"OutputSize", int64_t{1} << 31}}}}}}}}};
  CHECK_THROWS_WITH(net_from_text(model_text(chain), "m.json"),
                    Equals("m.json: /net/nodes/0/net (Linear layer, shape [2147483648, 2147483648]): too many "
                           "elements; expected at most 4294967296 elements, got 4.611686018427388e+18"));
  // The largest counts a net can have still add up.
  const Net wide = LinearLayer({{"OutputSize", 65536}, {"Input", 32768}});
  CHECK(information(wide).total_elements == (int64_t{1} << 31) + 65536);
}
