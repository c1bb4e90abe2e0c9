// NetChain / NetGraph structure (graph/net.h, graph/net_structure.h): ports, naming, nesting,
// every structural error with its message, the printed table, information and DOT.
#include <catch2/catch.hpp>

#include <sstream>

#include <netkit/core/error.h>
#include <netkit/graph/net.h>
#include <netkit/graph/net_info.h>
#include <netkit/graph/plan.h>

using namespace netkit;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

using Names = std::vector<std::string>;

Net linear(int64_t n) { return LinearLayer({{"OutputSize", n}}); }

}  // namespace

TEST_CASE("NetChain: layers are named 1, 2, ... and the ends become the chain's ports", "[net]") {
  const Net chain = NetChain({linear(4), RampLayer(), linear(2)}, {{"Input", 3}});
  CHECK(chain.kind() == Net::Kind::Chain);
  CHECK(chain.node_names() == Names{"1", "2", "3"});
  CHECK(chain.input_ports() == Names{"Input"});
  CHECK(chain.output_ports() == Names{"Output"});
  CHECK(chain.port_shape("Input") == Shape{3});
  CHECK(chain.port_shape("Output") == Shape{2});
  CHECK(chain.edges().size() == 2);
  CHECK(chain.edges()[0].from.to_string() == "NetPort[\"1\", \"Output\"]");
}

TEST_CASE("NetChain: named layers, and a last layer with a second input keeps it as a chain port", "[net]") {
  const Net chain = NetChain({{"lin", linear(3)}, {"total", TotalLayer()}}, {{"Input", 2}});
  CHECK(chain.node_names() == Names{"lin", "total"});
  CHECK(chain.input_ports() == Names{"Input", "Input2"});
  CHECK(chain.port_shape("Input2") == Shape{3});
}

TEST_CASE("NetChain: structural errors name the node", "[net]") {
  CHECK_THROWS_WITH(NetChain(std::vector<Net>{}), Equals("NetChain: no layers; expected at least one layer, got none"));
  CHECK_THROWS_WITH(
      NetChain({RampLayer(), TotalLayer(), RampLayer()}),
      Equals("NetChain, node \"2\" (Total): a layer inside a chain needs exactly one input port; "
             "expected 1 input port, got 2 (\"Input1\", \"Input2\"). Use NetGraph for layers with several inputs"));
  CHECK_THROWS_WITH(NetChain({{"a", RampLayer()}, {"a", RampLayer()}}),
                    Equals("NetChain, node 2: duplicate node name; expected unique names, got \"a\""));
  CHECK_THROWS_WITH(NetChain({{"a/b", RampLayer()}}), Equals("NetChain, node 1: node name contains \"/\" (the path "
                                                             "separator); expected a name without \"/\", got \"a/b\""));
  CHECK_THROWS_WITH(
      NetChain({RampLayer()}, {{"Outputs", 3}}),
      Equals(
          "NetChain: unknown option \"Outputs\"; expected a port name: one of \"Input\", \"Output\", got \"Outputs\""));
  CHECK_THROWS_WITH(NetChain({RampLayer()}, {{"Input", "big"}}), Contains("NetChain, option \"Input\""));
}

TEST_CASE("NetGraph: edges, explicit and implicit ports", "[net]") {
  // A residual block: x -> lin -> ramp, plus x, summed.
  const Net g = NetGraph({{"lin", linear(3)}, {"ramp", RampLayer()}, {"sum", TotalLayer()}},
                         {{NetPort("Input"), "lin"},
                          {"lin", "ramp"},
                          {"ramp", NetPort("sum", "Input1")},
                          {NetPort("Input"), NetPort("sum", "Input2")}},
                         {{"Input", 3}});
  CHECK(g.kind() == Net::Kind::Graph);
  CHECK(g.input_ports() == Names{"Input"});
  CHECK(g.output_ports() == Names{"Output"});
  CHECK(g.port_shape("Output") == Shape{3});
  CHECK(g.plan().steps.size() == 3);

  // Unconnected inputs of the same name are numbered in node order; outputs likewise.
  const Net two = NetGraph({{"a", RampLayer()}, {"b", RampLayer()}}, {});
  CHECK(two.input_ports() == Names{"Input1", "Input2"});
  CHECK(two.output_ports() == Names{"Output1", "Output2"});
  // Explicitly named graph ports.
  const Net named = NetGraph({{"a", RampLayer()}}, {{NetPort("Image"), "a"}, {"a", NetPort("Features")}});
  CHECK(named.input_ports() == Names{"Image"});
  CHECK(named.output_ports() == Names{"Features"});
}

TEST_CASE("NetGraph: every structural error names the edge, node and port", "[net]") {
  const std::vector<std::pair<std::string, Net>> nodes{{"a", RampLayer()}, {"t", TotalLayer()}};
  CHECK_THROWS_AS(NetGraph(nodes, {{"a", "b"}}), ShapeError);
  CHECK_THROWS_WITH(
      NetGraph(nodes, {{"a", "b"}}),
      Equals("NetGraph, edge 1 (\"a\" -> \"b\"): unknown node \"b\"; expected one of \"a\", \"t\", got \"b\""));
  CHECK_THROWS_WITH(NetGraph(nodes, {{"a", "t"}}),
                    Equals("NetGraph, edge 1 (\"a\" -> \"t\"), node \"t\" (Total): ambiguous input port; expected "
                           "NetPort[\"t\", port] with port one of \"Input1\", \"Input2\", got 2 input ports"));
  CHECK_THROWS_WITH(NetGraph(nodes, {{"a", NetPort("t", "Input3")}}),
                    Equals("NetGraph, edge 1 (\"a\" -> NetPort[\"t\", \"Input3\"]), node \"t\" (Total): unknown input "
                           "port \"Input3\"; expected one of \"Input1\", \"Input2\", got \"Input3\""));
  CHECK_THROWS_WITH(NetGraph(nodes, {{NetPort("a", "Out"), NetPort("t", "Input1")}}),
                    Contains("unknown output port \"Out\"; expected one of \"Output\""));
  CHECK_THROWS_WITH(
      NetGraph(nodes, {{"a", NetPort("t", "Input1")}, {NetPort("Input"), NetPort("t", "Input1")}}),
      Equals("NetGraph, edge 2 (NetPort[\"Input\"] -> NetPort[\"t\", \"Input1\"]), node \"t\" (Total), "
             "port \"Input1\": port is fed twice; expected one edge into each input port, got a second edge"));
  CHECK_THROWS_WITH(NetGraph(nodes, {{"a", NetPort("Out")}, {"t", NetPort("Out")}}),
                    Equals("NetGraph, edge 2 (\"t\" -> NetPort[\"Out\"]): port \"Out\" is fed twice; expected one edge "
                           "into each port, got a second edge"));
  CHECK_THROWS_WITH(NetGraph(nodes, {{NetPort("Input"), NetPort("Output")}}),
                    Contains("an edge joins two ports of the container"));
  CHECK_THROWS_WITH(
      NetGraph({{"a", RampLayer()}, {"b", RampLayer()}, {"c", RampLayer()}}, {{"a", "b"}, {"b", "c"}, {"c", "a"}}),
      Equals("NetGraph: the edges form a cycle; expected an acyclic graph, got a cycle through \"a\", \"b\", \"c\""));
  CHECK_THROWS_WITH(NetGraph({{"a", RampLayer()}}, {{"a", "a"}}), Contains("cycle through \"a\""));
  CHECK_THROWS_WITH(NetGraph({{"a", RampLayer()}, {"b", RampLayer()}}, {{NetPort("Input"), "a"}}),
                    Equals("NetGraph, node \"b\" (Ramp), port \"Input\": unconnected port clashes with the container "
                           "port \"Input\"; expected an edge into this port, got none"));
}

TEST_CASE("Nesting: a chain inside a graph inside a chain, with paths reaching inside", "[net]") {
  const Net block = NetChain({{"lin", linear(4)}, {"bn", BatchNormalizationLayer()}, {"ramp", RampLayer()}});
  const Net res =
      NetGraph({{"block", block}, {"proj", linear(4)}, {"sum", TotalLayer()}}, {{NetPort("Input"), "block"},
                                                                                {NetPort("Input"), "proj"},
                                                                                {"block", NetPort("sum", "Input1")},
                                                                                {"proj", NetPort("sum", "Input2")}});
  const Net net = NetChain({{"res", res}, {"head", linear(2)}}, {{"Input", 5}});
  CHECK(net.port_shape("Output") == Shape{2});
  CHECK(net.at({"res", "block", "bn"}).type() == "BatchNormalization");
  CHECK(net.at({1, 1, 2}).type() == "BatchNormalization");
  CHECK(net.option({"res", "block", "bn", "Input"}) == nlohmann::json({4}));
  CHECK(net.option({"res", "block", "bn", "Epsilon"}) == 0.001);
  CHECK(net.option({"res", "Input"}) == nlohmann::json({5}));
  const Plan& plan = net.plan();
  REQUIRE(plan.steps.size() == 6);
  CHECK(plan.steps[2].path == "res/block/ramp");
  CHECK(plan.steps[2].where == "node \"res/block/ramp\" (Ramp)");
  CHECK_THROWS_WITH(net.at({"res", "blok"}), Equals("node \"res\" (NetGraph): unknown node \"blok\"; expected one of "
                                                    "\"block\", \"proj\", \"sum\", got \"blok\""));
  CHECK_THROWS_WITH(net.at({3}), Equals("NetChain: node index out of range; expected 1 to 2, got 3"));
  CHECK_THROWS_WITH(net.option({"head", "Epsilon"}), Contains("unknown option \"Epsilon\""));
}

TEST_CASE("Printing a net gives a layer table, information counts and draws it", "[net]") {
  Net net = NetChain({{"lin", linear(4)}, {"bn", BatchNormalizationLayer()}, {"ramp", RampLayer()}}, {{"Input", 3}});
  std::ostringstream text;
  text << net;
  CHECK(text.str() ==
        "NetChain: 3 layers, 6 arrays, 32 elements\n"
        "  input  Input [3]\n"
        "  output Output [4]\n"
        "#  name  type                input  output  arrays\n"
        "1  lin   Linear              [3]    [4]     Weights [4, 3], Biases [4]\n"
        "2  bn    BatchNormalization  [4]    [4]     Scaling [4], Biases [4], MovingMean [4], MovingVariance [4]\n"
        "3  ramp  Ramp                [4]    [4]\n");
  const NetInfo info = information(net);
  CHECK(info.layer_count == 3);
  CHECK(info.array_count == 6);
  CHECK(info.total_elements == 4 * 3 + 4 + 4 * 4);
  CHECK(info.layer_types == std::map<std::string, int64_t>{{"BatchNormalization", 1}, {"Linear", 1}, {"Ramp", 1}});
  REQUIRE(info.arrays.size() == 6);
  CHECK(info.arrays[0].key == "lin/Weights");
  CHECK(info.arrays[0].elements == 12);
  CHECK_FALSE(info.arrays[0].initialized);
  net.initialize(1);
  CHECK(information(net).arrays[0].initialized);
  CHECK_THAT(info.dot, Contains("\"lin\" -> \"bn\" [label=\"Input [4]\"];"));
  CHECK_THAT(info.dot, Contains("\"in:Input\" -> \"lin\" [label=\"Input [3]\"];"));
  CHECK_THAT(info.dot, Contains("\"ramp\" -> \"out:Output\""));
  CHECK_THAT(info.dot, Contains("[label=\"bn\\nBatchNormalization\"]"));
}
