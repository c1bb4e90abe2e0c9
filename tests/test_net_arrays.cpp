// Arrays of nets (graph/net.h): NetInitialize (missing or all, seeded, order-independent),
// extraction and replacement by path, and array sharing (stored once, summed gradients, moving
// arrays refused).
#include <catch2/catch.hpp>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/net.h>
#include <netkit/graph/net_info.h>
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

Net small_chain() {
  return NetChain({{"lin", LinearLayer({{"OutputSize", 3}})}, {"bn", BatchNormalizationLayer()}, {"ramp", RampLayer()}},
                  {{"Input", 2}});
}

// Two BN layers side by side, each on its own input.
Net twin_bn() {
  return NetGraph({{"bn1", BatchNormalizationLayer()}, {"bn2", BatchNormalizationLayer()}}, {},
                  {{"Input1", 2}, {"Input2", 2}});
}

}  // namespace

TEST_CASE("NetInitialize: one seed gives the same arrays, each array has its own stream", "[net][arrays]") {
  Net a = small_chain(), b = small_chain(), c = small_chain();
  a.initialize(42);
  b.initialize(42);
  c.initialize(43);
  CHECK(a.initialized());
  CHECK(a.array({"lin", "Weights"}).bit_equal(b.array({"lin", "Weights"})));
  CHECK_FALSE(a.array({"lin", "Weights"}).bit_equal(c.array({"lin", "Weights"})));
  // Pinned values: the sequence is the same on every machine (xoshiro256** + a libm-free normal).
  CHECK(a.array({"bn", "Scaling"}).values() == std::vector<float>{1, 1, 1});
  CHECK(a.array({"bn", "MovingVariance"}).values() == std::vector<float>{1, 1, 1});
  // Filling missing arrays only does not depend on which were missing.
  Net d = small_chain();
  d.set_array({"lin", "Biases"}, Array{7.0, 8.0, 9.0});
  d.initialize(42);
  CHECK(d.array({"lin", "Weights"}).bit_equal(a.array({"lin", "Weights"})));
  CHECK(d.array({"lin", "Biases"}).values() == std::vector<float>{7, 8, 9});
  d.initialize(42, InitializeMode::All);
  CHECK(d.array({"lin", "Biases"}).values() == std::vector<float>{0, 0, 0});
}

TEST_CASE("NetInitialize keeps given moving statistics, All resets them (worked example 17)", "[net][arrays]") {
  Net net = NetChain({{"bn", BatchNormalizationLayer({{"MovingMean", {0.3, 0.4}}})}}, {{"Input", 2}});
  net.initialize(1);
  CHECK(net.array({"bn", "MovingMean"}).values() == std::vector<float>{0.3f, 0.4f});
  CHECK(net.array({"bn", "MovingVariance"}).values() == std::vector<float>{1, 1});
  net.initialize(1, InitializeMode::All);
  CHECK(net.array({"bn", "MovingMean"}).values() == std::vector<float>{0, 0});
}

TEST_CASE("Extraction and replacement by path", "[net][arrays]") {
  Net net = NetChain({{"block", small_chain()}, {"head", LinearLayer({{"OutputSize", 1}})}});
  CHECK_FALSE(net.has_array({"block", "bn", "Scaling"}));
  CHECK_THROWS_AS(net.array({"block", "bn", "Scaling"}), InitializationError);
  CHECK_THROWS_WITH(net.array({"block", "bn", "Scaling"}),
                    Equals("node \"block/bn\" (BatchNormalization), array \"Scaling\": not initialized; expected an "
                           "initialized array, got no value. Use initialize() or set the array"));
  net.initialize(5);
  CHECK(net.array({1, 2, "MovingMean"}).bit_equal(net.array({"block", "bn", "MovingMean"})));
  CHECK(net.option({"block", "bn", "Momentum"}) == 0.9);
  CHECK(net.option({"head", "Input"}) == nlohmann::json({3}));

  net.set_array({"block", "bn", "Biases"}, Array{1.0, 2.0, 3.0});
  CHECK(net.array({"block", "bn", "Biases"}).values() == std::vector<float>{1, 2, 3});
  CHECK_THROWS_AS(net.set_array({"block", "bn", "Biases"}, Array{1.0, 2.0}), ShapeError);
  CHECK_THROWS_WITH(net.set_array({"block", "bn", "Biases"}, Array{1.0, 2.0}),
                    Equals("node \"block/bn\" (BatchNormalization), array \"Biases\": shape does not fit the net; "
                           "expected [3], got [2]"));
  CHECK_THROWS_WITH(net.set_array({"block", "bn", "MovingVariance"}, Array{1.0, -2.0, 1.0}),
                    Contains("node \"block/bn\" (BatchNormalization)"));
  CHECK_THROWS_WITH(net.set_array({"block", "bn", "MovingVariance"}, Array{1.0, -2.0, 1.0}),
                    Contains("MovingVariance + Epsilon must be positive"));
  CHECK(net.array({"block", "bn", "Biases"}).values() == std::vector<float>{1, 2, 3});  // nothing lost
  CHECK_THROWS_WITH(
      net.array({"block", "bn", "Gamma"}),
      Equals("node \"block/bn\" (BatchNormalization): unknown array \"Gamma\"; expected one of \"Scaling\", "
             "\"Biases\", \"MovingMean\", \"MovingVariance\", got \"Gamma\""));
  CHECK_THROWS_WITH(net.array({"block", "bn"}), Contains("path does not end in an array name"));
  CHECK_THROWS_WITH(net.array({"block"}), Contains("path does not reach a layer"));
}

TEST_CASE("Sharing: one array backs several layers and its gradient is the sum", "[net][arrays][sharing]") {
  Net net = NetGraph(
      {{"a", LinearLayer({{"OutputSize", 2}})}, {"b", LinearLayer({{"OutputSize", 2}})}, {"t", TotalLayer()}},
      {{NetPort("Input"), "a"}, {NetPort("Input"), "b"}, {"a", NetPort("t", "Input1")}, {"b", NetPort("t", "Input2")}},
      {{"Input", 3}});
  net.initialize(3);
  const Array wa = net.array({"a", "Weights"});
  net.share_array("W", {{"a", "Weights"}, {"b", "Weights"}});
  CHECK(&net.array({"a", "Weights"}) == &net.array({"b", "Weights"}));  // stored once
  CHECK(net.array({"b", "Weights"}).bit_equal(wa));                     // the first user's value
  CHECK(net.shared_users().at("W") == std::vector<std::string>{"a/Weights", "b/Weights"});
  CHECK(information(net).array_count == 3);  // W, a/Biases, b/Biases
  CHECK_THAT(layer_table(net), Contains("Weights [2, 3] (shared W)"));

  const Array x{{1.0, -2.0, 0.5}, {0.0, 1.0, 3.0}};
  Executor executor(net);
  executor.forward({{"Input", x}}, Mode::Test, true);
  const NetGradients g = executor.backward({{"Output", Array{{1.0, 2.0}, {-1.0, 0.5}}}});
  REQUIRE(g.arrays.count("W"));
  CHECK_FALSE(g.arrays.count("a/Weights"));
  // Each user contributes dL/dW = g^T x; two users of one array give twice that.
  const std::vector<float> single{1, -3, -2.5, 2, -3.5, 2.5};
  std::vector<float> twice;
  for (float v : single) twice.push_back(2 * v);
  CHECK(g.arrays.at("W").values() == twice);
  // Replacing through either path changes both.
  net.set_array({"b", "Weights"}, Array{{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}});
  CHECK(net.array({"a", "Weights"}).values() == std::vector<float>{1, 0, 0, 0, 1, 0});
}

TEST_CASE("Sharing: errors name the arrays, moving arrays are refused", "[net][arrays][sharing]") {
  Net net = twin_bn();
  CHECK_THROWS_WITH(
      net.share_array("m", {{"bn1", "MovingMean"}, {"bn2", "MovingMean"}}),
      Equals("node \"bn1\" (BatchNormalization), array \"MovingMean\": cannot be shared; expected a learnable "
             "array, got a moving array. Each layer keeps its own moving statistics"));
  Net mixed = NetGraph({{"a", LinearLayer({{"OutputSize", 2}})}, {"b", LinearLayer({{"OutputSize", 3}})}}, {},
                       {{"Input1", 4}, {"Input2", 4}});
  CHECK_THROWS_AS(mixed.share_array("W", {{"a", "Weights"}, {"b", "Weights"}}), ShapeError);
  CHECK_THROWS_WITH(
      mixed.share_array("W", {{"a", "Weights"}, {"b", "Weights"}}),
      Equals("shared array \"W\": arrays of different shapes; expected [2, 4] (node \"a\" (Linear), array "
             "\"Weights\"), got [3, 4] (node \"b\" (Linear), array \"Weights\")"));
  CHECK_THROWS_WITH(mixed.share_array("W", {{"a", "Weights"}}), Contains("too few arrays to share"));
  CHECK_FALSE(mixed.has_shared_array("W"));  // a refused share leaves the net as it was
  // Sizes learnt later must still agree: two Linear layers of unknown input size.
  Net open = NetGraph({{"a", LinearLayer({{"OutputSize", 2}})}, {"b", LinearLayer({{"OutputSize", 2}})}}, {});
  open.share_array("W", {{"a", "Weights"}, {"b", "Weights"}});
  CHECK_THROWS_WITH(NetGraph({{"n", open}}, {}, {{"Input1", 3}, {"Input2", 5}}),
                    Contains("shared array \"n/W\": users disagree on the shape"));
}

TEST_CASE("Sharing all arrays of BN layers skips the moving ones (worked example 18)", "[net][arrays][sharing]") {
  Net net = twin_bn();
  net.initialize(1);
  net.share_layer_arrays("bn", {{"bn1"}, {"bn2"}});
  CHECK(net.shared_users().size() == 2);
  CHECK(net.shared_users().at("bn/Scaling") == std::vector<std::string>{"bn1/Scaling", "bn2/Scaling"});
  CHECK(&net.array({"bn1", "Biases"}) == &net.array({"bn2", "Biases"}));
  CHECK(&net.array({"bn1", "MovingMean"}) != &net.array({"bn2", "MovingMean"}));

  // Plain SGD steps through the executor's array references, with a moving update each step:
  // the shared arrays stay one, the moving statistics follow each layer's own data.
  Random random(8, "data");
  Executor executor(net);
  for (int step = 0; step < 4; ++step) {
    const Array x1 = random_normal({5, 2}, random, 1.0, 1.0), x2 = random_normal({5, 2}, random, -3.0, 2.0);
    executor.forward({{"Input1", x1}, {"Input2", x2}}, Mode::Train, true);
    executor.backward({{"Output1", Array::filled({5, 2}, 0.1f)}, {"Output2", random_normal({5, 2}, random)}});
    for (const ArrayRef& ref : executor.array_refs(net)) {
      if (ref.role != ArrayRole::Learnable) continue;
      for (int64_t i = 0; i < ref.value->size(); ++i) (*ref.value)[i] -= 0.1f * ref.gradient[i];
    }
    executor.update_moving(net);
  }
  CHECK(net.array({"bn1", "Scaling"}).bit_equal(net.array({"bn2", "Scaling"})));
  CHECK_FALSE(net.array({"bn1", "Scaling"}).bit_equal(Array{1.0, 1.0}));  // it did train
  CHECK(net.array({"bn1", "MovingMean"})[0] > 0.1f);
  CHECK(net.array({"bn2", "MovingMean"})[0] < -0.3f);
  CHECK(executor.array_refs(net).size() == 2 + 4);  // two shared, two moving per layer
}
