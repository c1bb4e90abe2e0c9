// TotalLayer and CatenateLayer: the multi-input layers that join the branches of a NetGraph.
#include <catch2/catch.hpp>

#include <netkit/core/error.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>

using namespace netkit;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

Array ramp(std::vector<int64_t> dims, float start, float step) {
  Array a = Array::zeros(std::move(dims));
  for (int64_t i = 0; i < a.size(); ++i) a[i] = start + step * static_cast<float>(i);
  return a;
}

}  // namespace

TEST_CASE("Total: sums its inputs and passes the gradient to each", "[join]") {
  LayerNet total = LayerNet::create("Total", {{"Inputs", 3}});
  CHECK(total.layer().input_ports() == std::vector<std::string>{"Input1", "Input2", "Input3"});
  const Array a{{1.0, 2.0}}, b{{10.0, 20.0}}, c{{-1.0, 0.5}};
  CHECK(total.evaluate_batch({a, b, c}).values() == std::vector<float>{10, 22.5});
  const Gradients g = total.gradients({a, b, c}, Array{{3.0, -4.0}});
  REQUIRE(g.inputs.size() == 3);
  for (const Array& d : g.inputs) CHECK(d.values() == std::vector<float>{3, -4});
}

TEST_CASE("Total: shapes are inferred from any port", "[join]") {
  LayerNet total = LayerNet::create("Total", {{"Input2", {3, 4}}});
  CHECK(total.port_shape("Input1") == Shape{3, 4});
  CHECK(total.port_shape("Output") == Shape{3, 4});
  CHECK_THROWS_AS(LayerNet::create("Total", {{"Input1", {3}}, {"Input2", {4}}}), ShapeError);
  CHECK_THROWS_WITH(LayerNet::create("Total", {{"Input1", {3}}, {"Input2", {4}}}),
                    Equals("Total layer, port \"Input2\": inputs of Total must all have one shape (port \"Input1\"); "
                           "expected [3], got [4]"));
  CHECK_THROWS_WITH(LayerNet::create("Total", {{"Inputs", 0}}),
                    Equals("Total option \"Inputs\": invalid port count; expected an integer from 1 to 1024, got 0"));
  CHECK_THROWS_WITH(total.evaluate_batch({Array::zeros({2, 3, 4})}),
                    Contains("expected 2 input batches (ports \"Input1\", \"Input2\"), got 1"));
  CHECK_THROWS_WITH(total.evaluate_batch({Array::zeros({2, 3, 4}), Array::zeros({3, 3, 4})}),
                    Contains("port \"Input2\": batch size differs from port \"Input1\"; expected 2 examples, got 3"));
}

TEST_CASE("Catenate: joins along the first dimension", "[join]") {
  LayerNet cat = LayerNet::create("Catenate", {{"Input1", {2, 3}}, {"Input2", {1, 3}}});
  CHECK(cat.port_shape("Output") == Shape{3, 3});
  const Array a = ramp({2, 2, 3}, 0, 1), b = ramp({2, 1, 3}, 100, 1);
  const Array y = cat.evaluate_batch({a, b});
  REQUIRE(y.dims() == std::vector<int64_t>{2, 3, 3});
  CHECK(y.values() == std::vector<float>{0, 1, 2, 3, 4, 5, 100, 101, 102, 6, 7, 8, 9, 10, 11, 103, 104, 105});
  const Array g = ramp({2, 3, 3}, 0.5f, 1);
  const Gradients d = cat.gradients({a, b}, g);
  CHECK(d.inputs[0].values() == std::vector<float>{0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 9.5, 10.5, 11.5, 12.5, 13.5, 14.5});
  CHECK(d.inputs[1].values() == std::vector<float>{6.5, 7.5, 8.5, 15.5, 16.5, 17.5});
}

TEST_CASE("Catenate: shape inference in both directions", "[join]") {
  // The output and one input fix the other input.
  LayerNet cat = LayerNet::create("Catenate", {{"Output", {5, 2}}, {"Input1", {3, 2}}, {"Input2", {nullptr, nullptr}}});
  CHECK(cat.port_shape("Input2") == Shape{2, 2});
  CHECK(LayerNet::create("Catenate", {{"Input1", {nullptr, 7}}}).port_shape("Input2") == Shape{kUnknownDim, 7});
  CHECK_THROWS_WITH(
      LayerNet::create("Catenate", {{"Input1", {3, 2}}, {"Input2", {3, 4}}}),
      Equals("Catenate layer, port \"Input2\": dimension 2 must agree across Catenate's ports; expected 2, got 4"));
  CHECK_THROWS_WITH(LayerNet::create("Catenate", {{"Input1", {3, 2}}, {"Input2", {3}}}),
                    Contains("port \"Input2\": rank differs from port \"Input1\"; expected rank 2, got rank 1"));
  CHECK_THROWS_WITH(
      LayerNet::create("Catenate", {{"Input1", {3}}, {"Input2", {3}}, {"Output", {7}}}),
      Contains("port \"Output\": first dimension must be the sum of the inputs' first dimensions; expected 6, got 7"));
  CHECK_THROWS_WITH(LayerNet::create("Catenate", {{"Input1", {3}}, {"Output", {3}}, {"Input2", {nullptr}}}),
                    Contains("port \"Input2\": no first dimension fits the output's"));
  CHECK_THROWS_WITH(LayerNet::create("Catenate", {{"Input1", nlohmann::json::array()}}),
                    Contains("Catenate needs arrays of rank >= 1"));
}

TEST_CASE("Join layers: finite-difference gradients and save/load", "[join]") {
  for (const char* type : {"Total", "Catenate"}) {
    INFO(type);
    LayerNet net = LayerNet::create(type, {{"Input1", {2, 3}}, {"Input2", {2, 3}}});
    const std::vector<Array> x{ramp({2, 2, 3}, -1, 0.3f), ramp({2, 2, 3}, 2, -0.2f)};
    const Array w = ramp(net.port_shape("Output").with_batch(2), 0.7f, -0.11f);
    const Gradients g = net.gradients(x, w);
    for (size_t port = 0; port < 2; ++port) {
      for (int64_t i = 0; i < x[port].size(); ++i) {
        std::vector<Array> plus = x, minus = x;
        plus[port][i] += 0.5f;
        minus[port][i] -= 0.5f;
        double lp = 0, lm = 0;
        const Array yp = net.evaluate_batch(plus), ym = net.evaluate_batch(minus);
        for (int64_t k = 0; k < w.size(); ++k) lp += double(w[k]) * yp[k], lm += double(w[k]) * ym[k];
        REQUIRE(g.inputs[port][i] == Approx((lp - lm) / 1.0).margin(1e-5));  // exact: both layers are linear
      }
    }
    const LayerNet back = layer_net_from_json(layer_net_to_json(net));
    CHECK(back.evaluate_batch(x).bit_equal(net.evaluate_batch(x)));
    CHECK(back.option("Inputs") == 2);
  }
}

TEST_CASE("Join layers: asking for an array says the layer has none", "[join]") {
  const LayerNet total = LayerNet::create("Total");
  CHECK(total.array_names().empty());
  CHECK_THROWS_WITH(total.array("Weights"), Equals("Total layer: unknown array \"Weights\"; expected no array name "
                                                   "(this layer has no arrays), got \"Weights\""));
}
