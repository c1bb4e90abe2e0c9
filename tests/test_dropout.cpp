// DropoutLayer (layers/dropout.h): Test-mode identity, Train-mode statistics (kept fraction,
// preserved mean, uncorrelated neighbours) with bounds a wrong layer would break, the mask as a
// pure function of (seed, element) shared by forward and backward, seeds, p = 0, option and
// shape errors with their messages, finite-difference gradients in both modes, accumulation,
// JSON round trips and thread independence. The seeded runs call the layer directly
// (ForwardArgs::seed); LayerNet passes seed 0 to both passes.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/dropout.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

LayerNet dropout(nlohmann::json options = nlohmann::json::object()) { return LayerNet::create("Dropout", options); }

// One pass of the layer on a batch of vectors [n], with a seed.
std::vector<float> run_forward(const Dropout& layer, const std::vector<float>& x, uint64_t seed,
                               Mode mode = Mode::Train) {
  std::vector<float> y(x.size());
  ForwardArgs a;
  a.mode = mode;
  a.batch = 1;
  a.input_shapes = a.output_shapes = {Shape{static_cast<int64_t>(x.size())}};
  a.inputs = {x.data()};
  a.outputs = {y.data()};
  a.seed = seed;
  layer.forward(a);
  return y;
}

std::vector<float> run_backward(const Dropout& layer, const std::vector<float>& g, uint64_t seed, std::vector<float> dx,
                                bool overwrite, Mode mode = Mode::Train) {
  BackwardArgs b;
  b.mode = mode;
  b.batch = 1;
  b.input_shapes = b.output_shapes = {Shape{static_cast<int64_t>(g.size())}};
  b.output_grads = {g.data()};
  b.input_grads = {dx.data()};
  b.overwrite_input_grads = overwrite;
  b.seed = seed;
  layer.backward(b);
  return dx;
}

std::vector<float> ones(size_t n) { return std::vector<float>(n, 1.0f); }

double kept_fraction(const std::vector<float>& y) {
  double kept = 0;
  for (float v : y) kept += v != 0 ? 1 : 0;
  return kept / static_cast<double>(y.size());
}

constexpr size_t kMany = size_t{1} << 20;

}  // namespace

TEST_CASE("Dropout: Test mode is the identity, forward and backward", "[dropout]") {
  Random random(1, "dropout test mode");
  const Array x = random_normal({4, 3, 5}, random), g = random_normal({4, 3, 5}, random);
  const LayerNet net = dropout({{"DropoutProbability", 0.7}});
  CHECK(net.evaluate_batch(x).bit_equal(x));
  CHECK(net.gradients(x, g).input().bit_equal(g));
  const Dropout layer(0.9);
  const std::vector<float> v = x.values();
  CHECK(run_forward(layer, v, 5, Mode::Test) == v);
  const std::vector<float> gv = g.values(), acc = run_backward(layer, gv, 5, ones(v.size()), false, Mode::Test);
  for (size_t i = 0; i < v.size(); ++i) REQUIRE(acc[i] == 1.0f + gv[i]);
}

TEST_CASE("Dropout: Train mode keeps 1 - p of the elements, scaled by 1 / (1 - p)", "[dropout]") {
  const double p = GENERATE(0.1, 0.5, 0.9);
  INFO("p = " << p);
  const Dropout layer(p);
  const std::vector<float> y = run_forward(layer, ones(kMany), 42);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  for (float v : y) REQUIRE((v == 0.0f || v == scale));
  // The kept count is binomial: within 6 standard deviations of (1 - p) n.
  const double sd = std::sqrt(p * (1 - p) / static_cast<double>(kMany));
  CHECK(std::abs(kept_fraction(y) - (1 - p)) < 6 * sd);
  // Neighbours are independent: both kept in (1 - p)^2 of the pairs.
  double both = 0;
  for (size_t i = 0; i + 1 < kMany; i += 2) both += (y[i] != 0 && y[i + 1] != 0) ? 1 : 0;
  const double pairs = static_cast<double>(kMany / 2), q = (1 - p) * (1 - p);
  CHECK(std::abs(both / pairs - q) < 6 * std::sqrt(q * (1 - q) / pairs));
}

TEST_CASE("Dropout: the mean is preserved (inverted dropout)", "[dropout]") {
  const double p = GENERATE(0.2, 0.5);
  INFO("p = " << p);
  Random random(2, "dropout mean");
  std::vector<float> x(kMany);
  double sum_x = 0, sum_sq = 0;
  for (float& v : x) {
    v = static_cast<float>(random.uniform(0.5, 1.5));
    sum_x += v;
    sum_sq += static_cast<double>(v) * v;
  }
  const std::vector<float> y = run_forward(Dropout(p), x, 7);
  double sum_y = 0;
  for (float v : y) sum_y += v;
  // E y_i = x_i and Var y_i = x_i^2 p / (1 - p): the difference of the means is within 6 of its
  // standard deviations (an unscaled dropout would be off by p times the mean, ~1000 of them).
  const double n = static_cast<double>(kMany), sd = std::sqrt(sum_sq * p / (1 - p)) / n;
  CHECK(std::abs(sum_y / n - sum_x / n) < 6 * sd);
}

TEST_CASE("Dropout: backward regenerates the forward mask, seeds decide the mask", "[dropout]") {
  Random random(3, "dropout mask");
  const size_t n = 100000;
  std::vector<float> x(n), g(n);
  for (size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(random.uniform(0.5, 2.0)), g[i] = static_cast<float>(random.normal());
  const Dropout layer(0.4);
  const float scale = static_cast<float>(1.0 / 0.6);
  const std::vector<float> y = run_forward(layer, x, 99);
  const std::vector<float> dx = run_backward(layer, g, 99, std::vector<float>(n, 1e30f), true);
  for (size_t i = 0; i < n; ++i) {
    const bool kept = y[i] != 0;
    REQUIRE(kept == Dropout::keeps(99, i, 0.4));
    REQUIRE(y[i] == (kept ? x[i] * scale : 0.0f));
    REQUIRE(dx[i] == (kept ? g[i] * scale : 0.0f));
  }
  // Accumulating adds the same masked gradient to what is there.
  const std::vector<float> prior(n, 0.5f);
  const std::vector<float> acc = run_backward(layer, g, 99, prior, false);
  for (size_t i = 0; i < n; ++i) REQUIRE(acc[i] == 0.5f + dx[i]);
  // Same seed: the same bits; other seeds: other masks, agreeing on p^2 + (1 - p)^2 of the elements.
  CHECK(run_forward(layer, x, 99) == y);
  for (uint64_t other : {uint64_t{100}, uint64_t{98}, uint64_t{99} ^ (uint64_t{1} << 63)}) {
    const std::vector<float> z = run_forward(layer, x, other);
    double agree = 0;
    for (size_t i = 0; i < n; ++i) agree += ((z[i] != 0) == (y[i] != 0)) ? 1 : 0;
    const double expected = 0.4 * 0.4 + 0.6 * 0.6, sd = std::sqrt(expected * (1 - expected) / static_cast<double>(n));
    INFO("seed " << other);
    CHECK(std::abs(agree / static_cast<double>(n) - expected) < 6 * sd);
  }
}

TEST_CASE("Dropout: p = 0 is the identity in Train mode too", "[dropout]") {
  Random random(4, "dropout zero");
  const Array x = random_normal({3, 1000}, random);
  const LayerNet net = dropout({{"DropoutProbability", 0}});
  CHECK(net.evaluate_batch(x, Mode::Train).bit_equal(x));
  CHECK(net.gradients(x, x, Mode::Train).input().bit_equal(x));
}

TEST_CASE("Dropout: gradients match central differences in both modes", "[dropout]") {
  const Mode mode = GENERATE(Mode::Test, Mode::Train);
  INFO(mode_name(mode));
  Random random(5, "dropout gradients");
  const LayerNet net = dropout({{"DropoutProbability", 0.3}, {"Input", {4, 5}}});
  const Array x = random_normal({3, 4, 5}, random), w = random_normal({3, 4, 5}, random);
  const Array dx = net.gradients(x, w, mode).input();
  const std::vector<double> numeric = numeric_input_gradient(net, x, w, mode, 1e-2);
  NETKIT_CHECK_REPORT(compare_gradient("dL/dInput", dx, numeric, {1e-4, 1e-5}).report);
  if (mode == Mode::Train) {
    int dropped = 0;
    for (double v : numeric) dropped += v == 0 ? 1 : 0;
    CHECK(dropped > 5);  // the mask is really applied
    CHECK(dropped < 35);
  }
}

TEST_CASE("Dropout: 1 and 2 threads give bit-identical masks and values", "[dropout]") {
  Random random(6, "dropout threads");
  std::vector<float> x(300001), g(300001);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(random.normal()), g[i] = static_cast<float>(random.normal());
  const Dropout layer(0.5);
  std::vector<float> y1, dx1;
  {
    ThreadCount t(1);
    y1 = run_forward(layer, x, 1234);
    dx1 = run_backward(layer, g, 1234, std::vector<float>(x.size()), true);
  }
  ThreadCount t(2);
  NETKIT_CHECK_REPORT(bit_difference_report("output", y1, run_forward(layer, x, 1234)));
  NETKIT_CHECK_REPORT(
      bit_difference_report("dL/dInput", dx1, run_backward(layer, g, 1234, std::vector<float>(x.size()), true)));
}

TEST_CASE("Dropout: shapes pass through, bad options and shapes give their messages", "[dropout]") {
  CHECK(dropout({{"Input", {3, 4}}}).port_shape("Output") == Shape{3, 4});
  CHECK(dropout({{"Output", {7}}}).port_shape("Input") == Shape{7});
  CHECK(dropout({{"Input", {nullptr, 4}}, {"Output", {3, nullptr}}}).port_shape("Input") == Shape{3, 4});
  CHECK(dropout({{"Input", std::vector<int64_t>{}}}).port_shape("Output") ==
        Shape(std::vector<int64_t>{}));  // scalars too
  CHECK_THROWS_AS(dropout({{"Input", {3, 4}}, {"Output", {3, 5}}}), ShapeError);
  CHECK_THROWS_WITH(
      dropout({{"Input", {3, 4}}, {"Output", {3, 5}}}),
      Equals("Dropout layer, port \"Output\": Dropout keeps the shape of its input; expected shape [3, 4], "
             "got shape [3, 5]"));
  CHECK(LayerNet::default_options("Dropout").at("DropoutProbability") == 0.5);
  CHECK_THROWS_AS(dropout({{"DropoutProbability", 1}}), OptionError);
  CHECK_THROWS_WITH(
      dropout({{"DropoutProbability", 1}}),
      Equals("Dropout option \"DropoutProbability\": out of range; expected a number p with 0 <= p < 1, got "
             "1. p = 1 would drop everything and scale by 1 / 0"));
  CHECK_THROWS_WITH(
      dropout({{"DropoutProbability", -0.1}}),
      Equals("Dropout option \"DropoutProbability\": out of range; expected a number p with 0 <= p < 1, got "
             "-0.1"));
  CHECK_THROWS_WITH(dropout({{"DropoutProbability", 1.5}}), Contains("got 1.5"));
  CHECK_THROWS_WITH(
      dropout({{"DropoutProbability", "half"}}),
      Equals("Dropout option \"DropoutProbability\": wrong type; expected a number, got a string (\"half\")"));
  CHECK_THROWS_WITH(
      dropout({{"Probability", 0.5}}),
      Equals("Dropout options: unknown option \"Probability\"; expected one of \"DropoutProbability\", got "
             "\"Probability\""));
  CHECK_THROWS_WITH(Dropout(std::nan("")), Contains("out of range; expected a number p with 0 <= p < 1, got nan"));
}

TEST_CASE("Dropout: save -> load -> save is byte-identical and passes are bit-identical", "[dropout]") {
  TempFile a("dropout_roundtrip_a.json"), b("dropout_roundtrip_b.json");
  Random random(7, "dropout files");
  const LayerNet net = dropout({{"DropoutProbability", 0.35}, {"Input", {2, 8}}});
  save_layer_net(net, a.path);
  const LayerNet back = load_layer_net(a.path);
  save_layer_net(back, b.path);
  CHECK(read_text(a.path) == read_text(b.path));
  CHECK(back.option("DropoutProbability") == 0.35);
  const Array x = random_normal({5, 2, 8}, random), g = random_normal({5, 2, 8}, random);
  for (Mode mode : {Mode::Test, Mode::Train}) {
    CHECK(back.evaluate_batch(x, mode).bit_equal(net.evaluate_batch(x, mode)));
    CHECK(back.gradients(x, g, mode).input().bit_equal(net.gradients(x, g, mode).input()));
  }
}
