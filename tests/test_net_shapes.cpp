// Shape inference over nets (graph/plan.h): both directions to a fixpoint, partial shapes,
// conflicts naming both sides, and initialization errors naming the unknown dimension.
#include <catch2/catch.hpp>

#include <netkit/core/error.h>
#include <netkit/graph/net.h>
#include <netkit/graph/plan.h>

using namespace netkit;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

Net linear(int64_t n) { return LinearLayer({{"OutputSize", n}}); }

}  // namespace

TEST_CASE("Shapes flow forward: sizes are learnt from the layer before", "[net][shapes]") {
  // The NetChain half of a batch-norm example: Linear[4] then BatchNormalization with "Input" -> 2.
  Net chain = NetChain({linear(4), BatchNormalizationLayer()}, {{"Input", 2}});
  CHECK(chain.option({2, "Input"}) == nlohmann::json({4}));
  chain.initialize(7);
  for (const char* name : {"Scaling", "Biases", "MovingMean", "MovingVariance"})
    CHECK(chain.array({2, name}).size() == 4);
  CHECK(chain.array({1, "Weights"}).dims() == std::vector<int64_t>{4, 2});
  // A rank-3 input reaches the BN through a Ramp; Linear flattens it.
  const Net deep = NetChain({RampLayer(), BatchNormalizationLayer(), linear(3)}, {{"Input", {5, 2, 2}}});
  CHECK(deep.option({2, "Input"}) == nlohmann::json({5, 2, 2}));
  CHECK(deep.option({3, "Input"}) == nlohmann::json({5, 2, 2}));
  CHECK(deep.port_shape("Output") == Shape{3});
}

TEST_CASE("Shapes flow backward: a fixed Output or a later layer sizes what comes before", "[net][shapes]") {
  // The chain's "Output" gives the Linear layer its size.
  const Net chain = NetChain({LinearLayer(), RampLayer()}, {{"Input", 3}, {"Output", 5}});
  CHECK(chain.option({1, "Output"}) == nlohmann::json({5}));
  CHECK(chain.plan().steps[0].decls[0].shape == Shape{5, 3});
  // A BatchNormalization layer with a fixed input tells the Ramp before it, and the net's input.
  const Net back = NetChain({RampLayer(), BatchNormalizationLayer({{"Input", {2, 7}}})});
  CHECK(back.port_shape("Input") == Shape{2, 7});
  // Given arrays size the ports: Linear flattens its input, so only the output is fixed by them.
  const Net arrays = NetChain({RampLayer(), LinearLayer({{"Weights", {{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}}})});
  CHECK(arrays.port_shape("Input").to_string() == "[...]");
  CHECK(arrays.port_shape("Output") == Shape{3});
}

TEST_CASE("Partial shapes stay partial until something fixes them", "[net][shapes]") {
  const Net open = NetChain({RampLayer(), BatchNormalizationLayer()});
  CHECK(open.port_shape("Input").to_string() == "[...]");
  CHECK_FALSE(open.port_shape("Output").known());
  // A known rank with an unknown dimension (JSON null).
  const Net partial = NetChain({RampLayer(), RampLayer()}, {{"Input", {3, nullptr}}});
  CHECK(partial.port_shape("Output").to_string() == "[3, ?]");
  // The data fills in the rest at evaluation.
  const Array y = partial.evaluate_batch(Array{{{-1.0, 2.0}, {3.0, -4.0}, {5.0, 6.0}}});
  CHECK(y.values() == std::vector<float>{0, 2, 3, 0, 5, 6});
}

TEST_CASE("A conflict names both sides", "[net][shapes]") {
  const auto make = [] {
    return NetGraph({{"conv1", linear(8)}, {"bn1", BatchNormalizationLayer({{"Input", {16}}})}}, {{"conv1", "bn1"}},
                    {{"Input", 3}});
  };
  CHECK_THROWS_AS(make(), ShapeError);
  CHECK_THROWS_WITH(make(),
                    Equals("node \"bn1\" (BatchNormalization), port \"Input\": shapes do not agree; expected [16], "
                           "got [8] from node \"conv1\" port \"Output\""));
  CHECK_THROWS_WITH(
      NetChain({linear(4)}, {{"Input", 2}, {"Output", 5}}),
      Equals("NetChain, port \"Output\": shapes do not agree; expected [5], got [4] from node \"1\" port \"Output\""));
  CHECK_THROWS_WITH(
      NetChain({BatchNormalizationLayer({{"Input", {3, 4}}})}, {{"Input", {3, 5}}}),
      Equals("node \"1\" (BatchNormalization), port \"Input\": shapes do not agree; expected [3, 4], got [3, 5] "
             "from port \"Input\""));
  // Inside a nested net, the path names every level.
  const Net inner = NetChain({{"bn", BatchNormalizationLayer({{"Input", {6}}})}});
  CHECK_THROWS_WITH(NetChain({{"lin", linear(5)}, {"block", inner}}, {{"Input", 2}}),
                    Equals("node \"block/bn\" (BatchNormalization), port \"Input\": shapes do not agree; expected [6], "
                           "got [5] from node \"lin\" port \"Output\""));
  // Total's inputs must agree: the layer's own message, with the node in front.
  CHECK_THROWS_WITH(
      NetGraph({{"a", linear(2)}, {"b", linear(3)}, {"t", TotalLayer()}},
               {{"a", NetPort("t", "Input1")}, {"b", NetPort("t", "Input2")}}, {{"Input1", 1}, {"Input2", 1}}),
      Equals("node \"t\" (Total), port \"Input2\": inputs of Total must all have one shape (port "
             "\"Input1\"); expected [2], got [3]"));
}

TEST_CASE("Initializing with an unknown dimension names it", "[net][shapes]") {
  Net chain = NetChain({{"lin", linear(4)}, {"bn", BatchNormalizationLayer()}});
  CHECK_THROWS_AS(chain.initialize(1), InitializationError);
  CHECK_THROWS_WITH(
      chain.initialize(1),
      Equals("node \"lin\" (Linear), array \"Weights\": cannot initialize: dimension 2 of the shape is unknown "
             "(the input size is not known (port \"Input\" gives the columns)); expected a known shape, got "
             "[4, ?]. Give the net's \"Input\" shape or the layer's options"));
  CHECK_FALSE(chain.has_array({"bn", "Scaling"}));  // nothing was stored
  Net open = NetChain({{"bn", BatchNormalizationLayer()}});
  CHECK_THROWS_WITH(open.initialize(1),
                    Contains("node \"bn\" (BatchNormalization), array \"Scaling\": cannot initialize: "
                             "dimension 1 of the shape is unknown"));
}
