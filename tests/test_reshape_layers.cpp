// FlattenLayer and ReshapeLayer (layers/flatten.h, layers/reshape.h): values (row-major order
// kept), every "Level" form, shape inference both ways on partial shapes, shape and option errors
// with their messages, finite-difference gradients, accumulating backward, properties (Flatten
// is a Reshape, Reshape back is the identity), JSON round trips and thread independence.
// Both layers only move data, so PyTorch has nothing to add beyond the shapes checked here
// (torch.flatten(x, 1) and x.reshape(N, ...) keep the same row-major order).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/flatten.h>
#include <netkit/layers/reshape.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

LayerNet flatten(nlohmann::json options = nlohmann::json::object()) { return LayerNet::create("Flatten", options); }
LayerNet reshape(nlohmann::json options) { return LayerNet::create("Reshape", options); }

const nlohmann::json null = nullptr;

Array counting(std::vector<int64_t> dims) {
  Array a = Array::zeros(std::move(dims));
  for (int64_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  return a;
}

}  // namespace

// ---- Flatten -----------------------------------------------------------------------------------

TEST_CASE("Flatten: every level keeps the row-major order", "[reshape]") {
  const Array x = counting({2, 3, 4, 5});  // one example of [2, 3, 4, 5]
  const std::pair<nlohmann::json, Shape> cases[] = {{"Infinity", Shape{120}}, {1, Shape{6, 4, 5}},
                                                    {2, Shape{24, 5}},        {3, Shape{120}},
                                                    {-1, Shape{2, 3, 20}},    {-2, Shape{2, 60}}};
  for (const auto& [level, shape] : cases) {
    INFO("Level " << level.dump());
    LayerNet net = flatten({{"Level", level}, {"Input", {2, 3, 4, 5}}});
    CHECK(net.port_shape("Output") == shape);
    const Array y = net.evaluate(x);
    CHECK(y.dims() == shape.dims());
    CHECK(y.values() == x.values());
  }
  CHECK(flatten().evaluate(Array{{1, 2}, {3, 4}}).values() == std::vector<float>{1, 2, 3, 4});
  CHECK(flatten({{"Input", std::vector<int64_t>{}}}).port_shape("Output") == Shape{1});  // one number per example
}

TEST_CASE("Flatten: shapes are inferred in both directions", "[reshape]") {
  // A known output size with one unknown flattened dimension gives it.
  CHECK(flatten({{"Input", {null, 3, 4}}, {"Output", {24}}}).port_shape("Input") == Shape{2, 3, 4});
  CHECK(flatten({{"Input", {null, 3, null}}, {"Output", {24}}}).port_shape("Input").to_string() == "[?, 3, ?]");
  CHECK(flatten({{"Input", {null, 3, 4}}}).port_shape("Output").to_string() == "[?]");
  CHECK(flatten().port_shape("Output").to_string() == "[?]");
  // A level fixes the input rank from the output's; dimensions outside the group pass through.
  CHECK(flatten({{"Level", 1}, {"Output", {6, 4, 5}}}).port_shape("Input").to_string() == "[?, ?, 4, 5]");
  CHECK(flatten({{"Level", 1}, {"Input", {null, 3, null, 5}}, {"Output", {6, 4, null}}}).port_shape("Input") ==
        Shape{2, 3, 4, 5});
  CHECK(flatten({{"Level", -1}, {"Input", {2, null, 4, 5}}, {"Output", {null, 3, 20}}}).port_shape("Input") ==
        Shape{2, 3, 4, 5});
  CHECK(flatten({{"Level", -2}, {"Input", {2, 3, null, 5}}}).port_shape("Output").to_string() == "[2, ?]");
}

TEST_CASE("Flatten: shape errors name the port with expected and got", "[reshape]") {
  CHECK_THROWS_AS(flatten({{"Level", 2}, {"Input", {4, 5}}}), ShapeError);
  CHECK_THROWS_WITH(
      flatten({{"Level", 2}, {"Input", {4, 5}}}),
      Equals("Flatten layer, port \"Input\": Level 2 flattens the first 3 dimensions; expected rank >= 3, "
             "got shape [4, 5]"));
  CHECK_THROWS_WITH(
      flatten({{"Level", -1}, {"Input", {4}}}),
      Equals("Flatten layer, port \"Input\": Level -1 flattens the last 2 dimensions; expected rank >= 2, "
             "got shape [4]"));
  CHECK_THROWS_WITH(flatten({{"Output", {2, 3}}}),
                    Equals("Flatten layer, port \"Output\": Level \"Infinity\" flattens every dimension into a vector; "
                           "expected rank 1, got shape [2, 3]"));
  CHECK_THROWS_WITH(
      flatten({{"Level", 1}, {"Input", {2, 3, 4}}, {"Output", {6, 4, 1}}}),
      Equals("Flatten layer, port \"Output\": rank does not follow from the input's (Level 1 flattens the "
             "first 2 dimensions); expected rank 2, got shape [6, 4, 1]"));
  CHECK_THROWS_WITH(flatten({{"Input", {2, 3, 4}}, {"Output", {25}}}),
                    Equals("Flatten layer, port \"Output\": size in dimension 1 must be the product of the flattened "
                           "input dimensions [2, 3, 4]; expected 24, got 25"));
  CHECK_THROWS_WITH(
      flatten({{"Input", {null, 3, 4}}, {"Output", {25}}}),
      Equals("Flatten layer, port \"Output\": size in dimension 1 must be a multiple of the known flattened "
             "input dimensions [?, 3, 4]; expected a multiple of 12, got 25"));
  CHECK_THROWS_WITH(flatten({{"Level", 1}, {"Input", {2, 3, 4}}, {"Output", {6, 5}}}),
                    Equals("Flatten layer, port \"Output\": dimension 2 must equal input dimension 3 (not flattened); "
                           "expected 4, got 5"));
  LayerNet net = flatten({{"Input", {2, 3}}});
  CHECK_THROWS_WITH(net.evaluate(Array{1.0, 2.0, 3.0}), Contains("expected examples of shape [2, 3]"));
}

TEST_CASE("Flatten: options and their errors", "[reshape]") {
  const nlohmann::json d = LayerNet::default_options("Flatten");
  CHECK(d.at("Level") == "Infinity");
  CHECK(d.size() == 4);  // + Input, Output, LearningRateMultipliers
  CHECK(flatten({{"Level", -3}}).option("Level") == -3);
  CHECK_THROWS_AS(flatten({{"Level", 0}}), OptionError);
  CHECK_THROWS_WITH(
      flatten({{"Level", 0}}),
      Equals("Flatten option \"Level\": out of range; expected an integer from -2147483647 to 2147483647, "
             "not 0, or \"Infinity\", got 0"));
  CHECK_THROWS_WITH(flatten({{"Level", 4294967296LL}}), Contains("out of range; expected an integer from -2147483647"));
  CHECK_THROWS_WITH(flatten({{"Level", 1.5}}),
                    Equals("Flatten option \"Level\": wrong type; expected a nonzero integer or \"Infinity\", got a "
                           "number (1.5)"));
  CHECK_THROWS_WITH(flatten({{"Level", "All"}}),
                    Contains("expected a nonzero integer or \"Infinity\", got a string (\"All\")"));
  CHECK_THROWS_WITH(flatten({{"Levels", 1}}),
                    Equals("Flatten options: unknown option \"Levels\"; expected one of \"Level\", got \"Levels\""));
  CHECK_THROWS_WITH(Flatten(std::optional<int64_t>(0)), Contains("not 0, or \"Infinity\", got 0"));
}

// ---- Reshape -----------------------------------------------------------------------------------

TEST_CASE("Reshape: values keep their order, one dimension can be inferred", "[reshape]") {
  LayerNet net = reshape({{"Dimensions", {3, 2}}});
  const Array y = net.evaluate(Array{{1, 2, 3}, {4, 5, 6}});
  CHECK(y.dims() == std::vector<int64_t>{3, 2});
  CHECK(y.values() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(reshape({{"Dimensions", {4, "Inferred"}}, {"Input", {2, 3, 4}}}).port_shape("Output") == Shape{4, 6});
  CHECK(reshape({{"Dimensions", {-1, 2, 2}}, {"Input", {12}}}).port_shape("Output") == Shape{3, 2, 2});
  CHECK(reshape({{"Dimensions", {-1, 2}}}).option("Dimensions") == nlohmann::json{"Inferred", 2});
  CHECK(reshape({{"Dimensions", nlohmann::json::array()}, {"Input", {1, 1}}}).port_shape("Output") ==
        Shape(std::vector<int64_t>{}));  // rank 0: one number per example
  const Array batch = counting({3, 2, 6});
  const Array out = reshape({{"Dimensions", {"Inferred", 3}}}).evaluate_batch(batch);
  CHECK(out.dims() == std::vector<int64_t>{3, 4, 3});
  CHECK(out.values() == batch.values());
}

TEST_CASE("Reshape: shapes are inferred in both directions", "[reshape]") {
  // Output known: one unknown input dimension follows from the element count.
  CHECK(reshape({{"Dimensions", {6, 4}}, {"Input", {null, 3}}}).port_shape("Input") == Shape{8, 3});
  CHECK(reshape({{"Dimensions", {6, 4}}, {"Input", {null, null}}}).port_shape("Input").to_string() == "[?, ?]");
  CHECK(reshape({{"Dimensions", {6, 4}}}).port_shape("Input") == Shape());
  // A given output port fixes the inferred entry, and then the input.
  const LayerNet by_port = reshape({{"Dimensions", {"Inferred", 4}}, {"Output", {5, 4}}, {"Input", {null, 10}}});
  CHECK(by_port.port_shape("Input") == Shape{2, 10});
  CHECK(by_port.port_shape("Output") == Shape{5, 4});
  CHECK(reshape({{"Dimensions", {"Inferred", 4}}, {"Input", {null, 10}}}).port_shape("Output").to_string() == "[?, 4]");
}

TEST_CASE("Reshape: element-count and shape errors name both shapes", "[reshape]") {
  CHECK_THROWS_AS(reshape({{"Dimensions", {2, 3}}, {"Input", {7}}}), ShapeError);
  CHECK_THROWS_WITH(reshape({{"Dimensions", {2, 3}}, {"Input", {7}}}),
                    Equals("Reshape layer, port \"Input\": element count must not change (output [2, 3] from "
                           "\"Dimensions\" [2,3]); expected a shape of 6 elements, got shape [7] (7 elements)"));
  CHECK_THROWS_WITH(reshape({{"Dimensions", {"Inferred", 4}}, {"Input", {2, 3}}}),
                    Equals("Reshape layer, port \"Input\": element count must not change (output [?, 4] from "
                           "\"Dimensions\" [\"Inferred\",4]); expected a multiple of 4 elements, got shape [2, 3] (6 "
                           "elements)"));
  CHECK_THROWS_WITH(
      reshape({{"Dimensions", {6, 4}}, {"Input", {null, 5}}}),
      Equals("Reshape layer, port \"Input\": element count must not change (output [6, 4], 24 elements); "
             "expected a shape whose known dimensions divide 24, got shape [?, 5] (a multiple of 5 elements)"));
  CHECK_THROWS_WITH(reshape({{"Dimensions", {2, 3}}, {"Output", {6}}}),
                    Equals("Reshape layer, port \"Output\": rank must match \"Dimensions\" [2,3]; expected rank 2, got "
                           "shape [6]"));
  CHECK_THROWS_WITH(
      reshape({{"Dimensions", {2, 3}}, {"Output", {2, 4}}}),
      Equals("Reshape layer, port \"Output\": dimension 2 must match \"Dimensions\" [2,3]; expected 3, got 4"));
  LayerNet net = reshape({{"Dimensions", {2, -1}}});
  CHECK_THROWS_WITH(net.evaluate(Array{1.0, 2.0, 3.0}),
                    Contains("port \"Input\": element count must not change (output [2, ?] from \"Dimensions\" "
                             "[2,\"Inferred\"]); expected a multiple of 2 elements, got shape [3] (3 elements)"));
}

TEST_CASE("Reshape: options and their errors", "[reshape]") {
  CHECK(LayerNet::default_options("Reshape").at("Dimensions") == nlohmann::json{"Inferred"});
  CHECK_THROWS_AS(reshape({{"Dimensions", 6}}), OptionError);
  CHECK_THROWS_WITH(
      reshape({{"Dimensions", 6}}),
      Equals("Reshape option \"Dimensions\": wrong type; expected a list of integers >= 1 with at most one "
             "-1 or \"Inferred\", got a number (6)"));
  CHECK_THROWS_WITH(
      reshape({{"Dimensions", {2, 0}}}),
      Equals("Reshape option \"Dimensions\": out of range; expected integers from 1 to 2147483647, or -1, "
             "got [2,0]"));
  CHECK_THROWS_WITH(reshape({{"Dimensions", {-2, 3}}}),
                    Contains("out of range; expected integers from 1 to 2147483647, or -1, got [-2,3]"));
  CHECK_THROWS_WITH(reshape({{"Dimensions", {4294967296LL}}}), Contains("got [4294967296]"));
  CHECK_THROWS_WITH(
      reshape({{"Dimensions", {-1, 3, "Inferred"}}}),
      Equals("Reshape option \"Dimensions\": more than one inferred dimension; expected at most one -1 or "
             "\"Inferred\", got [\"Inferred\",3,\"Inferred\"]"));
  CHECK_THROWS_WITH(
      reshape({{"Dimensions", {2, "Automatic"}}}),
      Equals("Reshape option \"Dimensions\": wrong type; expected a list of integers >= 1 with at most one "
             "-1 or \"Inferred\", got a list holding a string (\"Automatic\")"));
  CHECK_THROWS_WITH(reshape({{"Dimensions", {2.5}}}), Contains("got a list holding a number (2.5)"));
  CHECK_THROWS_WITH(Reshape(std::vector<int64_t>{kUnknownDim, kUnknownDim}),
                    Contains("more than one inferred dimension"));
  CHECK_THROWS_WITH(reshape({{"Dimensions", {2147483647, 2147483647, 2147483647}}}),
                    Equals("Reshape option \"Dimensions\": too many elements; expected a product below 2^63, got "
                           "[2147483647,2147483647,2147483647]"));
}

// ---- both --------------------------------------------------------------------------------------

TEST_CASE("Flatten and Reshape: gradients, accumulation and threads", "[reshape]") {
  Random random(21, "reshape gradients");
  const Array x = random_normal({3, 2, 3, 4}, random);
  for (LayerNet net : {flatten(), flatten({{"Level", -1}}), reshape({{"Dimensions", {4, -1}}})}) {
    INFO(net.type() << " " << net.layer().options().dump());
    const Array y = net.evaluate_batch(x);
    const Array w = random_normal(y.dims(), random);
    const Array dx = net.gradients(x, w).input();
    CHECK(dx.values() == w.values());  // the identity on the numbers
    NETKIT_CHECK_REPORT(
        compare_gradient("dL/dInput", dx, numeric_input_gradient(net, x, w, Mode::Test, 1e-2), {1e-4, 1e-5}).report);
    CHECK(net.evaluate_batch(x, Mode::Train).bit_equal(y));
  }
  // Backward accumulates unless told to overwrite.
  const Reshape layer(std::vector<int64_t>{kUnknownDim});
  BackwardArgs b;
  b.batch = 1;
  b.input_shapes = {Shape{2, 2}};
  b.output_shapes = {Shape{4}};
  const std::vector<float> g{1, 2, 3, 4};
  std::vector<float> dx{10, 20, 30, 40};
  b.output_grads = {g.data()};
  b.input_grads = {dx.data()};
  layer.backward(b);
  CHECK(dx == std::vector<float>{11, 22, 33, 44});
  b.overwrite_input_grads = true;
  layer.backward(b);
  CHECK(dx == g);
  b.input_grads = {nullptr};
  layer.backward(b);  // no gradient wanted: nothing happens
  // Many chunks, 1 and 2 threads.
  const Array big = random_normal({3, 50000}, random);
  const LayerNet r = reshape({{"Dimensions", {-1, 500}}});
  Array one;
  {
    ThreadCount t(1);
    one = r.evaluate_batch(big);
  }
  ThreadCount t(2);
  NETKIT_CHECK_REPORT(bit_difference_report("output", one, r.evaluate_batch(big)));
  CHECK(one.values() == big.values());
}

TEST_CASE("Flatten is a Reshape, Reshape back is the identity", "[reshape]") {
  Random random(22, "reshape properties");
  const Array x = random_normal({2, 3, 4, 5}, random);
  CHECK(flatten({{"Level", 1}}).evaluate_batch(x).bit_equal(reshape({{"Dimensions", {12, 5}}}).evaluate_batch(x)));
  CHECK(flatten().evaluate_batch(x).bit_equal(reshape({{"Dimensions", {"Inferred"}}}).evaluate_batch(x)));
  const Array there = reshape({{"Dimensions", {5, 3, -1}}}).evaluate_batch(x);
  CHECK(there.dims() == std::vector<int64_t>{2, 5, 3, 4});
  CHECK(reshape({{"Dimensions", {3, 4, 5}}}).evaluate_batch(there).bit_equal(x));
}

TEST_CASE("Flatten and Reshape: save -> load -> save is byte-identical", "[reshape]") {
  TempFile a("reshape_roundtrip_a.json"), b("reshape_roundtrip_b.json");
  const Array x = counting({2, 2, 3, 4});
  for (const LayerNet& net :
       {flatten({{"Level", -2}, {"Input", {null, 3, 4}}}), flatten(),
        reshape({{"Dimensions", {"Inferred", 6}}, {"Input", {2, 3, 4}}}), reshape({{"Dimensions", {24}}})}) {
    INFO(net.type() << " " << net.layer().options().dump());
    save_layer_net(net, a.path);
    const LayerNet back = load_layer_net(a.path);
    save_layer_net(back, b.path);
    CHECK(read_text(a.path) == read_text(b.path));
    CHECK(back.options() == net.options());
    CHECK(back.evaluate_batch(x).bit_equal(net.evaluate_batch(x)));
  }
}
