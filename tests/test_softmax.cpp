// SoftmaxLayer (layers/softmax.h): hand values, the "Level" option, finite-difference gradients,
// PyTorch golden data (data/golden/softmax_loss/softmax_*.json, written by
// tools/reference/softmax_loss_golden.py), properties (rows sum to 1, shift invariance),
// stability for logits of 1e4, shapes, option errors, JSON round trips, thread independence and
// the kernels' overwrite / accumulate behaviour.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/kernels/softmax.h>
#include <netkit/layers/softmax.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using kernels::SoftmaxDims;

namespace {

constexpr double u = 0x1p-24;  // unit roundoff of float

LayerNet softmax(const nlohmann::json& options = nullptr) { return LayerNet::create("Softmax", options); }

// The batch as [outer, axis, inner] for 0-based per-example dimension `axis`, computed here
// independently of the layer.
SoftmaxDims view(const std::vector<int64_t>& batch_dims, size_t axis) {
  SoftmaxDims d{1, batch_dims[axis + 1], 1};
  for (size_t i = 0; i <= axis; ++i) d.outer *= batch_dims[i];
  for (size_t i = axis + 2; i < batch_dims.size(); ++i) d.inner *= batch_dims[i];
  return d;
}

// Softmax and its backward pass in double, written out literally.
struct Reference {
  std::vector<double> y, dx, allowed_y, allowed_dx;
};

Reference reference(const Array& x, const Array& g, SoftmaxDims d) {
  const size_t n = static_cast<size_t>(x.size());
  Reference r{std::vector<double>(n), std::vector<double>(n), std::vector<double>(n), std::vector<double>(n)};
  for (int64_t o = 0; o < d.outer; ++o)
    for (int64_t i = 0; i < d.inner; ++i) {
      auto at = [&](int64_t c) { return static_cast<size_t>((o * d.axis + c) * d.inner + i); };
      double m = x[static_cast<int64_t>(at(0))], s = 0, gy = 0, gy_abs = 0;
      for (int64_t c = 0; c < d.axis; ++c) m = std::max(m, static_cast<double>(x[static_cast<int64_t>(at(c))]));
      for (int64_t c = 0; c < d.axis; ++c) s += std::exp(x[static_cast<int64_t>(at(c))] - m);
      for (int64_t c = 0; c < d.axis; ++c) {
        r.y[at(c)] = std::exp(x[static_cast<int64_t>(at(c))] - m) / s;
        gy += g[static_cast<int64_t>(at(c))] * r.y[at(c)];
        gy_abs += std::abs(g[static_cast<int64_t>(at(c))]) * r.y[at(c)];
      }
      for (int64_t c = 0; c < d.axis; ++c) {
        const double gc = g[static_cast<int64_t>(at(c))], diff = std::abs(x[static_cast<int64_t>(at(c))] - m);
        r.dx[at(c)] = r.y[at(c)] * (gc - gy);
        // float: x - m rounds by up to u |x - m| (amplified by exp), exp and the sum by a few u each.
        r.allowed_y[at(c)] = (diff + static_cast<double>(d.axis) + 8) * u * r.y[at(c)] + 1e-37;
        r.allowed_dx[at(c)] =
            4 * (diff + static_cast<double>(d.axis) + 8) * u * r.y[at(c)] * (std::abs(gc) + gy_abs) + 1e-37;
      }
    }
  return r;
}

Array ramp_values(std::vector<int64_t> dims, float start, float step) {
  Array a = Array::zeros(std::move(dims));
  for (int64_t i = 0; i < a.size(); ++i) a[i] = start + step * static_cast<float>(i);
  return a;
}

struct Golden {
  std::string name;
  nlohmann::json doc;
  std::vector<int64_t> batch_dims;
  Array array(const char* key) const { return json_array(doc.at(key), batch_dims, name + " " + key); }
  std::vector<double> numbers(const char* key) const { return json_numbers(doc.at(key), name + " " + key); }
};

std::vector<Golden> golden_files() {
  std::vector<Golden> out;
  for (const auto& path : files_in(source_path("data/golden/softmax_loss"), ".json")) {
    const std::string file = std::filesystem::path(path).filename().string();
    if (file.rfind("softmax_", 0) != 0) continue;
    Golden g{file, read_json(path), {}};
    g.batch_dims = g.doc.at("batch_shape").get<std::vector<int64_t>>();
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

// ---- values --------------------------------------------------------------------------------------

TEST_CASE("Softmax: hand values along the last and the first dimension", "[softmax]") {
  const LayerNet net = softmax();
  CHECK(net.evaluate(Array{0.0, 0.0, 0.0, 0.0}).values() == std::vector<float>{0.25f, 0.25f, 0.25f, 0.25f});
  const Array y = net.evaluate(Array{0.0, std::log(3.0)});
  CHECK(y[0] == Approx(0.25).epsilon(4 * u));
  CHECK(y[1] == Approx(0.75).epsilon(4 * u));
  const Array y3 = net.evaluate(Array{1.0, 2.0, 3.0});  // e^k / (e + e^2 + e^3)
  CHECK(y3[0] == Approx(0.09003057317038046).epsilon(8 * u));
  CHECK(y3[1] == Approx(0.24472847105479767).epsilon(8 * u));
  CHECK(y3[2] == Approx(0.6652409557748219).epsilon(8 * u));
  // A batch: every example on its own.
  const Array yb = net.evaluate_batch(Array{{0, 0}, {0, 1000}});
  CHECK(yb.values() == std::vector<float>{0.5f, 0.5f, 0, 1});
  // Level 1 on a matrix normalises each column; the default (-1) each row.
  const Array m{{0.0, 0.0, 1.0}, {0.0, std::log(3.0), 1.0}};
  const Array by_column = softmax({{"Level", 1}}).evaluate(m);
  CHECK(by_column[0] == 0.5f);
  CHECK(by_column[3] == 0.5f);
  CHECK(by_column[1] == Approx(0.25).epsilon(4 * u));
  CHECK(by_column[4] == Approx(0.75).epsilon(4 * u));
  CHECK(by_column[2] == 0.5f);
  const Array by_row = softmax().evaluate(m);
  CHECK(by_row[0] == Approx(1 / (2 + std::exp(1.0))).epsilon(4 * u));
  // Hand gradient: y = [1/2, 1/2], g = [1, 3]: sum g y = 2, dx = y (g - 2) = [-1/2, 1/2].
  CHECK(net.gradients(Array{{5.0, 5.0}}, Array{{1.0, 3.0}}).input().values() == std::vector<float>{-0.5f, 0.5f});
  // No arrays, no mode dependence.
  CHECK(net.initialized());
  CHECK(net.evaluate(Array{1.0, 2.0, 3.0}, Mode::Train).bit_equal(y3));
}

TEST_CASE("Softmax: Level counts per-example dimensions as Wolfram's level does", "[softmax]") {
  Random random(3, "softmax levels");
  const Array x = random_normal({2, 3, 4, 5}, random, 0, 3), g = random_normal({2, 3, 4, 5}, random);
  for (int level : {1, 2, 3, -1, -2, -3}) {
    INFO("Level " << level);
    const size_t axis = static_cast<size_t>(level > 0 ? level - 1 : 3 + level);
    const LayerNet net = softmax({{"Level", level}, {"Input", {3, 4, 5}}});
    const Reference r = reference(x, g, view(x.dims(), axis));
    NETKIT_CHECK_REPORT(mismatch_report("output", to_doubles(net.evaluate_batch(x)), r.y, r.allowed_y, x.dims()));
    NETKIT_CHECK_REPORT(
        mismatch_report("dL/dInput", to_doubles(net.gradients(x, g).input()), r.dx, r.allowed_dx, x.dims()));
  }
  // The same dimension named from either end gives the same numbers bit for bit.
  for (auto [a, b] : std::vector<std::pair<int, int>>{{1, -3}, {2, -2}, {3, -1}}) {
    INFO("Level " << a << " against " << b);
    CHECK(softmax({{"Level", a}}).evaluate_batch(x).bit_equal(softmax({{"Level", b}}).evaluate_batch(x)));
    CHECK(softmax({{"Level", a}}).gradients(x, g).input().bit_equal(softmax({{"Level", b}}).gradients(x, g).input()));
  }
  // Level 1 on a channel-first [C, H, W] map gives a probability vector at every pixel: the same
  // numbers as a rank-1 softmax of that pixel's C values.
  const LayerNet channels = softmax({{"Level", 1}});
  const Array y = channels.evaluate_batch(x);
  const LayerNet vector = softmax();
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t p = 0; p < 20; ++p) {
      Array pixel = Array::zeros({3});
      for (int64_t c = 0; c < 3; ++c) pixel[c] = x[(n * 3 + c) * 20 + p];
      const Array yp = vector.evaluate(pixel);
      for (int64_t c = 0; c < 3; ++c) REQUIRE(std::abs(yp[c] - y[(n * 3 + c) * 20 + p]) <= 4 * u * yp[c]);
    }
}

// ---- finite differences --------------------------------------------------------------------------

TEST_CASE("Softmax: gradients match central differences", "[softmax]") {
  struct Case {
    std::vector<int64_t> example;
    int level;
  };
  const Case c = GENERATE(Case{{5}, -1}, Case{{1}, -1}, Case{{3, 4}, -1}, Case{{3, 4}, 1}, Case{{2, 3, 4}, 2},
                          Case{{2, 3, 4}, -3}, Case{{4, 2, 3}, 1});
  const int64_t batch = GENERATE(as<int64_t>{}, 1, 3);
  INFO("example " << dims_to_string(c.example) << ", Level " << c.level << ", batch " << batch);
  Random random(static_cast<uint64_t>(batch * 10 + c.level + 20), "softmax gradients");
  const LayerNet net = softmax({{"Input", c.example}, {"Level", c.level}});
  const auto dims = Shape(c.example).with_batch(batch);
  const Array x = random_normal(dims, random, 0, 2), w = random_normal(dims, random);
  const Array analytic = net.gradients(x, w).input();
  const std::vector<double> numeric = numeric_input_gradient(net, x, w, Mode::Test, 1e-2);
  NETKIT_CHECK_REPORT(compare_gradient("dL/dInput", analytic, numeric, {1e-3, 1e-4}).report);
  // A wrong gradient (dx = y g, the sum term dropped) fails the same comparison.
  const Array y = net.evaluate_batch(x);
  Array wrong = analytic;
  for (int64_t i = 0; i < wrong.size(); ++i) wrong[i] = y[i] * w[i];
  if (c.example != std::vector<int64_t>{1}) CHECK_FALSE(compare_gradient("wrong", wrong, numeric, {1e-3, 1e-4}).ok());
}

// ---- PyTorch ----------------------------------------------------------------------------------------

TEST_CASE("Softmax: golden reference files are present and consistent", "[softmax]") {
  const auto files = golden_files();
  REQUIRE(files.size() == 8);  // the Softmax cases of tools/reference/softmax_loss_golden.py
  for (const Golden& g : files) {
    INFO("golden file " << g.name);
    CHECK(g.doc.at("generator") == "tools/reference/softmax_loss_golden.py");
    CHECK(g.doc.at("layer") == "Softmax");
    const int64_t n = Shape(g.batch_dims).num_elements();
    for (const char* key : {"input", "grad_output", "output", "grad_input"})
      CHECK(static_cast<int64_t>(g.numbers(key).size()) == n);
    for (const char* key : {"input", "grad_output"})
      for (double v : g.numbers(key)) REQUIRE(static_cast<double>(static_cast<float>(v)) == v);
  }
}

TEST_CASE("Softmax: outputs and gradients match PyTorch", "[softmax]") {
  for (const Golden& g : golden_files()) {
    INFO("golden file " << g.name);
    const int level = g.doc.at("options").at("Level").get<int>();
    const std::vector<int64_t> example(g.batch_dims.begin() + 1, g.batch_dims.end());
    const LayerNet net = softmax({{"Input", example}, {"Level", level}});
    const Array x = g.array("input"), dy = g.array("grad_output");
    const size_t axis = static_cast<size_t>(level > 0 ? level - 1 : static_cast<int>(example.size()) + level);
    const Reference r = reference(x, dy, view(g.batch_dims, axis));  // for the rounding allowances
    NETKIT_CHECK_REPORT(
        mismatch_report("output", to_doubles(net.evaluate_batch(x)), g.numbers("output"), r.allowed_y, g.batch_dims));
    NETKIT_CHECK_REPORT(mismatch_report("dL/dInput", to_doubles(net.gradients(x, dy).input()), g.numbers("grad_input"),
                                        r.allowed_dx, g.batch_dims));
  }
}

// ---- properties -------------------------------------------------------------------------------------

TEST_CASE("Softmax: outputs lie in [0, 1], sum to 1 and input gradients sum to 0", "[softmax][properties]") {
  const int level = GENERATE(-1, 1, 2);
  INFO("Level " << level);
  Random random(8, "softmax sums");
  const Array x = random_normal({4, 6, 7}, random, 0, 5), g = random_normal({4, 6, 7}, random);
  const LayerNet net = softmax({{"Level", level}});
  const Array y = net.evaluate_batch(x), dx = net.gradients(x, g).input();
  const SoftmaxDims d = view(x.dims(), static_cast<size_t>(level > 0 ? level - 1 : 2 + level));
  for (int64_t o = 0; o < d.outer; ++o)
    for (int64_t i = 0; i < d.inner; ++i) {
      double sum = 0, dsum = 0, dscale = 0;
      for (int64_t c = 0; c < d.axis; ++c) {
        const int64_t k = (o * d.axis + c) * d.inner + i;
        REQUIRE(y[k] >= 0.0f);
        REQUIRE(y[k] <= 1.0f);
        sum += y[k], dsum += dx[k], dscale += std::abs(y[k] * g[k]) + std::abs(dx[k]);
      }
      REQUIRE(std::abs(sum - 1) <= 2 * (static_cast<double>(d.axis) + 2) * u);
      REQUIRE(std::abs(dsum) <= 8 * (static_cast<double>(d.axis) + 2) * u * dscale);
    }
}

TEST_CASE("Softmax: adding a constant to a row changes nothing", "[softmax][properties]") {
  // Values on a 1/16 grid shifted by whole numbers: every x + c and (x + c) - max is exact, so the
  // outputs and gradients are bit-identical.
  Random random(9, "softmax shift");
  Array x = Array::zeros({5, 9});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::round(random.uniform(-64, 64)) / 16);
  const Array g = random_normal({5, 9}, random);
  const LayerNet net = softmax();
  for (float shift : {1.0f, -7.0f, 1000.0f, -4096.0f}) {
    INFO("shift " << shift);
    Array shifted = x;
    for (int64_t i = 0; i < x.size(); ++i) shifted[i] += shift;
    NETKIT_CHECK_REPORT(bit_difference_report("output", net.evaluate_batch(shifted), net.evaluate_batch(x)));
    NETKIT_CHECK_REPORT(
        bit_difference_report("dL/dInput", net.gradients(shifted, g).input(), net.gradients(x, g).input()));
  }
}

TEST_CASE("Softmax: logits of 1e4 give exact, finite outputs and gradients", "[softmax][properties]") {
  const LayerNet net = softmax();
  const Array x{{1e4, 0, -1e4}, {1e4, 1e4, -1e4}, {-1e4, -1e4, -1e4}, {-1e4, 1e4 - 1, 1e4}};
  const Array y = net.evaluate_batch(x);
  CHECK(y.all_finite());
  const std::vector<float> yv = y.values();
  CHECK(std::vector<float>(yv.begin(), yv.begin() + 9) ==
        std::vector<float>{1, 0, 0, 0.5f, 0.5f, 0, 1 / 3.0f, 1 / 3.0f, 1 / 3.0f});
  CHECK(y[9] == 0.0f);
  CHECK(y[10] == Approx(1 / (1 + std::exp(1.0))).epsilon(4 * u));
  CHECK(y[11] == Approx(1 / (1 + std::exp(-1.0))).epsilon(4 * u));
  const Array g{{1.0, 2.0, -3.0}, {1.0, 3.0, 5.0}, {3.0, 0.0, 0.0}, {7.0, 1.0, -1.0}};
  const Array dx = net.gradients(x, g).input();
  CHECK(dx.all_finite());
  // Saturated rows have exact gradients: y = [1, 0, 0] gives 0; y = [1/2, 1/2, 0] gives
  // [1/2 (1 - 2), 1/2 (3 - 2), 0].
  const std::vector<float> dxv = dx.values();
  CHECK(std::vector<float>(dxv.begin(), dxv.begin() + 6) == std::vector<float>{0, 0, 0, -0.5f, 0.5f, 0});
  CHECK(dx[6] == Approx(2 / 3.0).epsilon(8 * u));
  CHECK(dx[9] == 0.0f);
  const double p = 1 / (1 + std::exp(1.0));  // y = [0, p, 1 - p], dx = y (g - (p - (1 - p)))
  CHECK(dx[10] == Approx(p * (1 - (p * 1 - (1 - p)))).epsilon(16 * u));
}

// ---- shapes and options -----------------------------------------------------------------------------

TEST_CASE("Softmax: shapes are inferred both ways and bad shapes are refused with messages", "[softmax]") {
  CHECK(softmax({{"Input", {3, 4}}}).port_shape("Output") == Shape{3, 4});
  CHECK(softmax({{"Output", {nullptr, 4}}}).port_shape("Input") == Shape{kUnknownDim, 4});
  CHECK(softmax({{"Input", {3, nullptr}}, {"Output", {nullptr, 4}}}).port_shape("Input") == Shape{3, 4});
  CHECK_FALSE(softmax().port_shape("Input").rank_known());
  const Softmax layer(nlohmann::json{{"Level", 2}});
  LayerShapes s{{Shape()}, {Shape{2, 5}}, {}};
  layer.infer_shapes(s);
  CHECK(s.inputs[0] == Shape{2, 5});
  CHECK(layer.arrays(s).empty());
  CHECK_THROWS_AS(softmax({{"Input", {3}}, {"Output", {4}}}), ShapeError);
  CHECK_THROWS_WITH(
      softmax({{"Input", {3}}, {"Output", {4}}}),
      Equals("Softmax layer, port \"Output\": output shape must equal the input shape; expected [3], got [4]"));
  CHECK_THROWS_WITH(softmax({{"Input", nlohmann::json::array()}}),
                    Equals("Softmax layer, port \"Input\": softmax needs an array of rank >= 1 to normalise along; "
                           "expected rank >= 1, got rank 0"));
  CHECK_THROWS_WITH(softmax({{"Input", {4, 5}}, {"Level", 3}}),
                    Equals("Softmax layer, port \"Input\": option \"Level\" -> 3 names a dimension the input does not "
                           "have; expected rank >= 3, got rank 2"));
  CHECK_THROWS_WITH(softmax({{"Output", {4}}, {"Level", -2}}), Contains("option \"Level\" -> -2 names a dimension"));
  // A level too deep for a batch that fixes the rank only at evaluation.
  const LayerNet open = softmax({{"Level", 3}});
  CHECK_THROWS_AS(open.evaluate_batch(Array::zeros({2, 4, 5})), ShapeError);
  CHECK_THROWS_WITH(open.evaluate_batch(Array::zeros({2, 4, 5})), Contains("expected rank >= 3, got rank 2"));
  CHECK_THROWS_WITH(softmax({{"Input", {3}}}).evaluate_batch(Array::zeros({2, 4})),
                    Equals("Softmax layer, port \"Input\": batch does not match the port shape; expected examples of "
                           "shape [3], got examples of shape [4] (batch dims [2, 4])"));
}

TEST_CASE("Softmax: options, defaults and bad options with messages", "[softmax][errors]") {
  const nlohmann::json d = LayerNet::default_options("Softmax");
  CHECK(d.at("Level") == -1);
  CHECK(d.at("Input").is_null());
  CHECK(d.size() == 4);  // Level, Input, Output, LearningRateMultipliers
  CHECK(softmax({{"Level", 2}}).option("Level") == 2);
  CHECK(Softmax(nlohmann::json{{"Level", -3}}).level() == -3);
  const std::string expected = "expected a nonzero integer (-1: the last dimension, 1: the first)";
  CHECK_THROWS_AS(softmax({{"Level", 0}}), OptionError);
  CHECK_THROWS_WITH(softmax({{"Level", 0}}), Equals("Softmax option \"Level\": out of range; " + expected + ", got 0"));
  CHECK_THROWS_WITH(softmax({{"Level", 1.5}}),
                    Equals("Softmax option \"Level\": wrong type; " + expected + ", got a number (1.5)"));
  CHECK_THROWS_WITH(softmax({{"Level", "Last"}}),
                    Equals("Softmax option \"Level\": wrong type; " + expected + ", got a string (\"Last\")"));
  CHECK_THROWS_WITH(softmax({{"Level", nullptr}}),
                    Equals("Softmax option \"Level\": wrong type; " + expected + ", got null"));
  CHECK_THROWS_WITH(softmax({{"Level", 18446744073709551615ull}}),
                    Equals("Softmax option \"Level\": out of range; " + expected + ", got 18446744073709551615"));
  CHECK_THROWS_AS(softmax({{"Levels", 1}}), OptionError);
  CHECK_THROWS_WITH(softmax({{"Levels", 1}}),
                    Equals("Softmax options: unknown option \"Levels\"; expected one of \"Level\", got \"Levels\""));
  CHECK_THROWS_WITH(Softmax(nlohmann::json::array()),
                    Equals("Softmax options: options must be a JSON object; expected an object, got a list"));
}

// ---- files, threads, kernels -------------------------------------------------------------------------

TEST_CASE("Softmax: save -> load -> save is byte-identical and outputs are bit-identical", "[softmax][json]") {
  TempFile a("softmax_roundtrip_a.json"), b("softmax_roundtrip_b.json");
  Random random(4, "softmax json");
  const Array x = random_normal({3, 2, 5}, random, 0, 3), g = random_normal({3, 2, 5}, random);
  for (int level : {-1, 1}) {
    INFO("Level " << level);
    const LayerNet net = softmax({{"Level", level}, {"Input", {2, 5}}});
    save_layer_net(net, a.path);
    const LayerNet back = load_layer_net(a.path);
    save_layer_net(back, b.path);
    CHECK(read_text(a.path) == read_text(b.path));
    CHECK(back.options() == net.options());
    CHECK(back.option("Level") == level);
    CHECK(back.evaluate_batch(x).bit_equal(net.evaluate_batch(x)));
    CHECK(back.gradients(x, g).input().bit_equal(net.gradients(x, g).input()));
  }
  auto record = layer_net_to_json(softmax());
  record["options"]["Level"] = 0;
  CHECK_THROWS_WITH(layer_net_from_json(record, "/layer"), Contains("(Softmax option \"Level\"): out of range"));
}

TEST_CASE("Softmax: results are bit-identical for 1 and 2 threads", "[softmax]") {
  Random random(6, "softmax threads");
  for (int level : {-1, 1}) {
    INFO("Level " << level);
    const Array x = random_normal({64, 10, 13, 7}, random, 0, 4), g = random_normal({64, 10, 13, 7}, random);
    const LayerNet net = softmax({{"Level", level}});
    Array y1, dx1;
    {
      ThreadCount t(1);
      y1 = net.evaluate_batch(x), dx1 = net.gradients(x, g).input();
    }
    ThreadCount t(2);
    NETKIT_CHECK_REPORT(bit_difference_report("output", net.evaluate_batch(x), y1));
    NETKIT_CHECK_REPORT(bit_difference_report("dL/dInput", net.gradients(x, g).input(), dx1));
  }
}

TEST_CASE("Softmax: the backward kernel overwrites or accumulates as asked", "[softmax]") {
  // inner = 70 spans two lane blocks of the kernel.
  const SoftmaxDims d = GENERATE(SoftmaxDims{4, 5, 1}, SoftmaxDims{3, 4, 70}, SoftmaxDims{1, 1, 1});
  INFO("outer " << d.outer << ", axis " << d.axis << ", inner " << d.inner);
  const int64_t n = d.outer * d.axis * d.inner;
  Random random(2, "softmax kernel");
  const Array x = random_normal({n}, random), g = random_normal({n}, random), prior = random_normal({n}, random);
  Array y = Array::zeros({n}), fresh = Array::filled({n}, NAN);
  kernels::softmax_forward(x.data(), d, y.data());
  const Reference r = reference(x, g, d);
  NETKIT_CHECK_REPORT(mismatch_report("y", to_doubles(y), r.y, r.allowed_y));
  kernels::softmax_backward(y.data(), g.data(), d, fresh.data(), false);  // NaN content never read
  NETKIT_CHECK_REPORT(mismatch_report("dx", to_doubles(fresh), r.dx, r.allowed_dx));
  Array acc = prior;
  kernels::softmax_backward(y.data(), g.data(), d, acc.data(), true);
  Array expected = prior;
  for (int64_t i = 0; i < n; ++i) expected[i] += fresh[i];
  NETKIT_CHECK_REPORT(bit_difference_report("dx accumulated", acc, expected));
  // Through the layer: a LayerNet overwrites (fresh zeros would hide a missing write).
  CHECK(softmax().gradients(ramp_values({2, 3}, -1, 0.5f), ramp_values({2, 3}, 1, 1)).input().all_finite());
}
