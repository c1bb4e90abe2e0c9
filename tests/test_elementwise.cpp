// Elementwise layers ("Elementwise" with Function Ramp, Tanh or LogisticSigmoid, and "Ramp"):
// hand values, finite-difference gradients, PyTorch golden data (data/golden/elementwise,
// written by tools/reference/elementwise_golden.py; reading the JSON is all these tests need),
// properties of the functions, saturation, shapes, option errors, JSON round trips and
// thread-count independence.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/elementwise.h>
#include <netkit/layers/kernels/elementwise.h>
#include <netkit/layers/registry.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using kernels::ElementwiseFunction;

namespace {

constexpr double u = 0x1p-24;           // unit roundoff of float
constexpr double kTiny = 8 * 0x1p-149;  // eight steps of float's subnormal spacing
const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

const std::vector<std::string>& function_names() { return Elementwise::function_names(); }

ElementwiseFunction kernel_function(const std::string& name) {
  if (name == "Tanh") return ElementwiseFunction::Tanh;
  if (name == "LogisticSigmoid") return ElementwiseFunction::LogisticSigmoid;
  return ElementwiseFunction::Ramp;
}

LayerNet elementwise(const std::string& function, nlohmann::json options = nlohmann::json::object()) {
  options["Function"] = function;
  return LayerNet::create("Elementwise", options);
}

// The functions and their derivatives in double, from x.
double f_exact(const std::string& function, double x) {
  if (function == "Ramp") return x > 0 ? x : 0.0;
  if (function == "Tanh") return std::tanh(x);
  const double e = std::exp(-std::abs(x));
  return (x >= 0 ? 1.0 : e) / (1.0 + e);
}

double derivative_exact(const std::string& function, double x) {
  if (function == "Ramp") return x > 0 ? 1.0 : 0.0;
  if (function == "Tanh") return 1.0 / (std::cosh(x) * std::cosh(x));
  const double e = std::exp(-std::abs(x));
  return e / ((1.0 + e) * (1.0 + e));
}

// Forward error bound of the float kernels: a few roundings of the result, or of float's
// subnormal spacing. Backward: the derivative is formed from the float output, whose rounding
// (about u against 1) is multiplied by g.
std::vector<double> forward_allowance(const std::vector<double>& expected) {
  std::vector<double> a(expected.size());
  for (size_t i = 0; i < a.size(); ++i) a[i] = 8 * u * std::abs(expected[i]) + kTiny;
  return a;
}

std::vector<double> backward_allowance(const std::vector<double>& expected, const Array& g) {
  std::vector<double> a(expected.size());
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = 8 * u * (std::abs(expected[i]) + std::abs(g[static_cast<int64_t>(i)])) + kTiny;
  return a;
}

// Values of every sign and magnitude float has, from subnormal to FLT_MAX.
Array wide_values(int64_t n, uint64_t seed) {
  Random random(seed, "wide");
  Array a = Array::zeros({n});
  for (int64_t i = 0; i < n; ++i) {
    const double magnitude = std::min<double>(FLT_MAX, std::pow(10.0, random.uniform(-46, 38.6)));
    a[i] = static_cast<float>(random.uniform() < 0.5 ? -magnitude : magnitude);
  }
  return a;
}

}  // namespace

// ---- values ------------------------------------------------------------------------------------

TEST_CASE("Elementwise: hand values of each function", "[elementwise]") {
  const Array x{-2.0, -0.5, 0.0, 0.5, 3.0};
  CHECK(elementwise("Ramp").evaluate(x).values() == std::vector<float>{0, 0, 0, 0.5, 3});
  const Array s = elementwise("LogisticSigmoid").evaluate(x);
  CHECK(s[2] == 0.5f);  // exactly
  CHECK(s[4] == Approx(0.9525741268224334).epsilon(4 * u));
  CHECK(s[0] == Approx(0.11920292202211755).epsilon(4 * u));
  const Array t = elementwise("Tanh").evaluate(x);
  CHECK(t[2] == 0.0f);
  CHECK(t[3] == Approx(0.46211715726000974).epsilon(4 * u));
  CHECK(t[1] == -t[3]);
  // One number per example (rank 0).
  LayerNet scalar = elementwise("Tanh", {{"Input", nlohmann::json::array()}});
  const Array y = scalar.evaluate(Array::filled({}, 1.0f));
  CHECK(y.rank() == 0);
  CHECK(y[0] == Approx(0.7615941559557649).epsilon(4 * u));
}

TEST_CASE("Elementwise: hand gradients and the Ramp gradient at exactly 0 is 0", "[elementwise]") {
  // PyTorch's convention: relu'(0) = 0 (also at -0), so a unit that sits at 0 gets no gradient.
  const Array x{{-2.0, -0.0, 0.0, 0.5, 3.0}}, g{{1.0, 1.0, 1.0, 1.0, -2.0}};
  CHECK(elementwise("Ramp").gradients(x, g).input().values() == std::vector<float>{0, 0, 0, 1, -2});
  CHECK(LayerNet::create("Ramp").gradients(x, g).input().values() == std::vector<float>{0, 0, 0, 1, -2});
  const Array ds = elementwise("LogisticSigmoid").gradients(x, g).input();
  CHECK(ds[2] == 0.25f);  // sigmoid'(0) = 1/4 exactly
  CHECK(ds[4] == Approx(-2 * 0.045176659730912).epsilon(8 * u));
  const Array dt = elementwise("Tanh").gradients(x, g).input();
  CHECK(dt[2] == 1.0f);  // tanh'(0) = 1 exactly
  CHECK(dt[3] == Approx(0.7864477329659274).epsilon(8 * u));
}

// ---- finite differences ------------------------------------------------------------------------

TEST_CASE("Elementwise: gradients match central differences", "[elementwise]") {
  const std::string function = GENERATE(as<std::string>{}, "Ramp", "Tanh", "LogisticSigmoid");
  const int rank = GENERATE(0, 1, 3);
  const int64_t batch = GENERATE(as<int64_t>{}, 1, 2, 5);
  INFO(function << ", per-example rank " << rank << ", batch " << batch);
  const std::vector<int64_t> example = rank == 0   ? std::vector<int64_t>{}
                                       : rank == 1 ? std::vector<int64_t>{7}
                                                   : std::vector<int64_t>{2, 3, 4};
  const LayerNet net = elementwise(function, {{"Input", example}});
  Random random(17, "elementwise gradients " + function);
  const std::vector<int64_t> dims = Shape(example).with_batch(batch);
  Array x = Array::zeros(dims);
  // |x| >= 1e-3 and a Ramp step of 2e-4: the stencil (x +- 2h) never reaches the kink at 0.
  for (int64_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>((random.uniform() < 0.5 ? -1 : 1) * random.uniform(1e-3, 4));
  const Array w = random_normal(dims, random);
  const double h = function == "Ramp" ? 2e-4 : 1e-2;
  const std::vector<double> numeric =
      numeric_gradient([&](const Array& p) { return weighted_sum(net.evaluate_batch(p), w); }, x, h);
  double max_w = 0;
  for (int64_t i = 0; i < w.size(); ++i) max_w = std::max(max_w, std::abs(static_cast<double>(w[i])));
  // The rounding of the float outputs, divided by h, stays below 1e-5 max|w|; truncation (h^4)
  // far below that. (Ramp is linear on each side of the stencil: exact up to rounding.)
  const Tolerance tol{1e-4, 1e-4 * max_w};
  const Array analytic = net.gradients(x, w).input();
  NETKIT_CHECK_REPORT(compare_gradient("dL/dInput", analytic, numeric, tol).report);
  // The comparison is sharp: an error of 1% of max|w| fails by a wide margin.
  Array wrong = analytic;
  for (int64_t i = 0; i < wrong.size(); ++i) wrong[i] += static_cast<float>(0.01 * max_w);
  CHECK(compare_gradient("dL/dInput", wrong, numeric, tol).worst_ratio > 10);
}

// ---- golden data -------------------------------------------------------------------------------

namespace {

struct Golden {
  std::string name;
  nlohmann::json doc;
  std::vector<int64_t> batch_dims;
  Array batch(const char* key) const { return json_array(doc.at(key), batch_dims, name + " " + key); }
  std::vector<double> numbers(const char* key) const { return json_numbers(doc.at(key), name + " " + key); }
};

const std::vector<Golden>& golden_files() {
  static const std::vector<Golden> files = [] {
    std::vector<Golden> out;
    for (const auto& path : files_in(source_path("data/golden/elementwise"), ".json")) {
      Golden g{std::filesystem::path(path).filename().string(), read_json(path), {}};
      g.batch_dims = g.doc.at("batch_shape").get<std::vector<int64_t>>();
      out.push_back(std::move(g));
    }
    return out;
  }();
  return files;
}

void check_golden(const Golden& g, const LayerNet& net) {
  INFO("golden file " << g.name << " through type " << net.type());
  const Array x = g.batch("input"), w = g.batch("grad_output");
  const std::vector<double> y = g.numbers("output"), dx = g.numbers("grad_input");
  NETKIT_CHECK_REPORT(mismatch_report("output", to_doubles(net.evaluate_batch(x)), y, forward_allowance(y), x.dims()));
  NETKIT_CHECK_REPORT(
      mismatch_report("dL/dInput", to_doubles(net.gradients(x, w).input()), dx, backward_allowance(dx, w), x.dims()));
}

}  // namespace

TEST_CASE("Elementwise: golden files are present and hold float32 inputs", "[elementwise]") {
  const auto& files = golden_files();
  REQUIRE(files.size() == 12);  // 3 functions x 4 cases of tools/reference/elementwise_golden.py
  for (const Golden& g : files) {
    INFO("golden file " << g.name);
    const std::string function = g.doc.at("function");
    CHECK(g.name.rfind(function + "_", 0) == 0);
    CHECK(std::find(function_names().begin(), function_names().end(), function) != function_names().end());
    for (const char* key : {"input", "grad_output"})
      for (double v : g.numbers(key)) {
        INFO(key << " value " << v);
        REQUIRE(static_cast<double>(static_cast<float>(v)) == v);
      }
  }
}

TEST_CASE("Elementwise: outputs and gradients agree with PyTorch", "[elementwise]") {
  for (const Golden& g : golden_files()) {
    const std::string function = g.doc.at("function");
    const std::vector<int64_t> example(g.batch_dims.begin() + 1, g.batch_dims.end());
    check_golden(g, elementwise(function, {{"Input", example}}));
    if (function == "Ramp") check_golden(g, LayerNet::create("Ramp", {{"Input", example}}));
  }
}

TEST_CASE("Elementwise: kernels agree with the double-precision formulas over all magnitudes", "[elementwise]") {
  const Array x = wide_values(20000, 3);
  Random random(5, "g");
  const Array g = random_normal({x.size()}, random);
  for (const std::string& function : function_names()) {
    INFO(function);
    const ElementwiseFunction f = kernel_function(function);
    std::vector<float> y(static_cast<size_t>(x.size())), dx(y.size());
    kernels::elementwise_forward(f, x.data(), y.data(), x.size());
    kernels::elementwise_backward(f, x.data(), y.data(), g.data(), dx.data(), x.size(), false);
    std::vector<double> y_exact(y.size()), dx_exact(y.size());
    for (size_t i = 0; i < y.size(); ++i) {
      y_exact[i] = f_exact(function, x[static_cast<int64_t>(i)]);
      dx_exact[i] = g[static_cast<int64_t>(i)] * derivative_exact(function, x[static_cast<int64_t>(i)]);
    }
    NETKIT_CHECK_REPORT(
        mismatch_report("y", std::vector<double>(y.begin(), y.end()), y_exact, forward_allowance(y_exact)));
    NETKIT_CHECK_REPORT(
        mismatch_report("dx", std::vector<double>(dx.begin(), dx.end()), dx_exact, backward_allowance(dx_exact, g)));
  }
}

// ---- properties --------------------------------------------------------------------------------

TEST_CASE("Elementwise: Ramp is idempotent and keeps non-negative values", "[elementwise][properties]") {
  const LayerNet ramp = LayerNet::create("Ramp");
  const Array x = wide_values(5000, 8).reshaped({50, 100});
  const Array y = ramp.evaluate_batch(x);
  NETKIT_CHECK_REPORT(bit_difference_report("Ramp(Ramp(x)) vs Ramp(x)", ramp.evaluate_batch(y), y));
  for (int64_t i = 0; i < x.size(); ++i) {
    INFO("x = " << x[i]);
    CHECK(y[i] >= 0.0f);
    if (x[i] >= 0) CHECK(y[i] == x[i]);
  }
}

TEST_CASE("Elementwise: LogisticSigmoid(-x) = 1 - LogisticSigmoid(x)", "[elementwise][properties]") {
  const LayerNet sigmoid = elementwise("LogisticSigmoid");
  Random random(2, "symmetry");
  Array x = random_uniform({4000}, random, -25, 25), minus_x = x;
  for (int64_t i = 0; i < x.size(); ++i) minus_x[i] = -x[i];
  const Array s = sigmoid.evaluate_batch(x), s_minus = sigmoid.evaluate_batch(minus_x);
  std::vector<double> one_minus(static_cast<size_t>(x.size()));
  for (int64_t i = 0; i < x.size(); ++i) one_minus[static_cast<size_t>(i)] = 1.0 - static_cast<double>(s[i]);
  // Both sides are float results of size up to 1: a few roundings of 1 apart at most.
  NETKIT_CHECK_REPORT(mismatch_report("sigmoid(-x) vs 1 - sigmoid(x)", s_minus, one_minus, Tolerance{0, 2 * u}));
  // And the derivative is even up to the rounding of the two outputs (y (1 - y) moves by at
  // most the change of y).
  const Array g = Array::filled({x.size()}, 1.0f);
  const Array d = sigmoid.gradients(x, g).input(), d_minus = sigmoid.gradients(minus_x, g).input();
  NETKIT_CHECK_REPORT(mismatch_report("sigmoid'(-x) vs sigmoid'(x)", d_minus, to_doubles(d), Tolerance{2 * u, 2 * u}));
}

TEST_CASE("Elementwise: Tanh is odd bit for bit", "[elementwise][properties]") {
  const LayerNet tanh_net = elementwise("Tanh");
  Array x = wide_values(5000, 4), minus_x = x;
  for (int64_t i = 0; i < x.size(); ++i) minus_x[i] = -x[i];
  Array minus_y = tanh_net.evaluate_batch(x);
  for (int64_t i = 0; i < x.size(); ++i) minus_y[i] = -minus_y[i];
  NETKIT_CHECK_REPORT(bit_difference_report("tanh(-x) vs -tanh(x)", tanh_net.evaluate_batch(minus_x), minus_y));
  const Array g = Array::filled({x.size()}, 1.0f);
  NETKIT_CHECK_REPORT(bit_difference_report("tanh'(-x) vs tanh'(x)", tanh_net.gradients(minus_x, g).input(),
                                            tanh_net.gradients(x, g).input()));
}

TEST_CASE("Elementwise: outputs are bounded for every finite input", "[elementwise][properties]") {
  const Array x = wide_values(20000, 6);
  const Array s = elementwise("LogisticSigmoid").evaluate_batch(x), t = elementwise("Tanh").evaluate_batch(x);
  const Array r = elementwise("Ramp").evaluate_batch(x);
  for (int64_t i = 0; i < x.size(); ++i) {
    INFO("x = " << x[i]);
    CHECK((s[i] >= 0.0f && s[i] <= 1.0f));
    CHECK((t[i] >= -1.0f && t[i] <= 1.0f));
    CHECK(r[i] >= 0.0f);
    CHECK(std::isfinite(r[i]));
  }
}

TEST_CASE("Elementwise: saturation at +-1e4 and +-FLT_MAX gives exact values", "[elementwise][properties]") {
  // (exp(-200) is below float's smallest subnormal; exp(-100) is not: sigmoid(-100) is 4e-44.)
  const Array x{1e4f, -1e4f, FLT_MAX, -FLT_MAX, 200.0f, -200.0f};
  const Array g = Array::filled({x.size()}, 1.0f);
  const LayerNet sigmoid = elementwise("LogisticSigmoid"), tanh_net = elementwise("Tanh"), ramp = elementwise("Ramp");
  CHECK(sigmoid.evaluate_batch(x).values() == std::vector<float>{1, 0, 1, 0, 1, 0});
  CHECK(tanh_net.evaluate_batch(x).values() == std::vector<float>{1, -1, 1, -1, 1, -1});
  CHECK(ramp.evaluate_batch(x).values() == std::vector<float>{1e4f, 0, FLT_MAX, 0, 200, 0});
  CHECK(sigmoid.gradients(x, g).input().values() == std::vector<float>(6, 0.0f));
  CHECK(tanh_net.gradients(x, g).input().values() == std::vector<float>(6, 0.0f));
  CHECK(ramp.gradients(x, g).input().values() == std::vector<float>{1, 0, 1, 0, 1, 0});
  // Far out on the negative side the sigmoid is tiny, not 0, while float can hold it.
  const Array tiny = sigmoid.evaluate(Array{-30.0f, -100.0f});
  CHECK(tiny[0] == Approx(9.357622968839299e-14).epsilon(4 * u));
  CHECK(tiny[1] > 0.0f);
  CHECK(tiny[1] == Approx(3.720075976020836e-44).margin(kTiny));
}

TEST_CASE("Elementwise: kernels never crash on NaN or infinity and pass NaN on", "[elementwise]") {
  // LayerNet refuses such input at its edge; the kernels must still behave.
  const std::vector<float> x{kNaN, kInf, -kInf, -0.0f, 0.0f};
  const std::vector<float> g{1.0f, 1.0f, kInf, kInf, -kInf};
  std::vector<float> y(x.size()), dx(x.size());
  for (const std::string& function : function_names()) {
    INFO(function);
    const ElementwiseFunction f = kernel_function(function);
    kernels::elementwise_forward(f, x.data(), y.data(), 5);
    kernels::elementwise_backward(f, x.data(), y.data(), g.data(), dx.data(), 5, false);
    CHECK(std::isnan(y[0]));
    if (function == "Ramp") {
      CHECK(y[1] == kInf);
      CHECK(y[2] == 0.0f);
      CHECK(std::signbit(y[3]));  // -0 passes through, as torch.relu does
      CHECK(dx[1] == 1.0f);
      CHECK(dx[2] == 0.0f);  // an infinite g where the ramp is flat: 0, not NaN
      CHECK(dx[3] == 0.0f);
      CHECK(dx[4] == 0.0f);
    } else {
      CHECK(y[1] == 1.0f);
      CHECK(y[2] == (function == "Tanh" ? -1.0f : 0.0f));
    }
  }
  LayerNet net = elementwise("Tanh");
  CHECK_THROWS_AS(net.evaluate(Array{1.0f, kNaN}), EvaluationError);
  CHECK_THROWS_WITH(net.evaluate(Array{1.0f, kNaN}),
                    Equals("Elementwise layer, port \"Input\": input contains NaN or infinity; expected finite values, "
                           "got nan at element 1"));
}

// ---- shapes ------------------------------------------------------------------------------------

TEST_CASE("Elementwise: shapes are inferred from input to output and back", "[elementwise]") {
  for (const char* type : {"Elementwise", "Ramp"}) {
    INFO(type);
    CHECK(LayerNet::create(type, {{"Input", {3, 4}}}).port_shape("Output") == Shape{3, 4});
    CHECK(LayerNet::create(type, {{"Output", {2}}}).port_shape("Input") == Shape{2});
    CHECK(LayerNet::create(type, {{"Input", nlohmann::json::array()}}).port_shape("Output") ==
          Shape(std::vector<int64_t>{}));
    CHECK(LayerNet::create(type, {{"Output", 5}}).port_shape("Input") == Shape{5});
    const LayerNet partial = LayerNet::create(type, {{"Input", {nullptr, 4}}, {"Output", {3, nullptr}}});
    CHECK(partial.port_shape("Input") == Shape{3, 4});
    CHECK(partial.port_shape("Output") == Shape{3, 4});
    const LayerNet open = LayerNet::create(type);
    CHECK(open.port_shape("Input") == Shape());
    CHECK(open.port_shape("Output") == Shape());
    // An open layer takes examples of any shape, each batch on its own.
    CHECK(open.evaluate_batch(Array::filled({2, 3, 1}, 2.0f)).dims() == std::vector<int64_t>{2, 3, 1});
    CHECK(open.evaluate(Array::filled({}, -1.0f)).rank() == 0);
  }
  // The layer on its own: both directions in one call.
  const Elementwise layer(ElementwiseFunction::Tanh);
  LayerShapes s{{Shape{kUnknownDim, 2}}, {Shape{6, kUnknownDim}}, {}};
  layer.infer_shapes(s);
  CHECK(s.inputs[0] == Shape{6, 2});
  CHECK(s.outputs[0] == Shape{6, 2});
  CHECK(layer.arrays(s).empty());
}

TEST_CASE("Elementwise: conflicting port shapes are a shape error with the exact message", "[elementwise]") {
  CHECK_THROWS_AS(LayerNet::create("Elementwise", {{"Input", {3}}, {"Output", {4}}}), ShapeError);
  CHECK_THROWS_WITH(LayerNet::create("Elementwise", {{"Input", {3}}, {"Output", {4}}}),
                    Equals("Elementwise layer, port \"Output\": output shape must equal the input shape; expected [3], "
                           "got [4]"));
  CHECK_THROWS_WITH(
      LayerNet::create("Ramp", {{"Input", nlohmann::json::array()}, {"Output", {3}}}),
      Equals("Ramp layer, port \"Output\": output shape must equal the input shape; expected [], got [3]"));
  CHECK_THROWS_WITH(
      LayerNet::create("Elementwise", {{"Input", {2, nullptr}}, {"Output", {3, 5}}}),
      Equals("Elementwise layer, port \"Output\": output shape must equal the input shape; expected [2, ?], "
             "got [3, 5]"));
  const Ramp layer;
  LayerShapes s{{Shape{2, 3}}, {Shape{2}}, {}};
  CHECK_THROWS_AS(layer.infer_shapes(s), ShapeError);
  CHECK_THROWS_WITH(layer.infer_shapes(s),
                    Equals("port \"Output\": output shape must equal the input shape; expected [2, 3], got [2]"));
  // A fixed input shape meets a batch of another shape.
  const LayerNet fixed = LayerNet::create("Elementwise", {{"Input", {3}}});
  CHECK_THROWS_WITH(
      fixed.evaluate_batch(Array::zeros({2, 4})),
      Equals("Elementwise layer, port \"Input\": batch does not match the port shape; expected examples of "
             "shape [3], got examples of shape [4] (batch dims [2, 4])"));
}

// ---- options -----------------------------------------------------------------------------------

TEST_CASE("Elementwise: options and defaults", "[elementwise]") {
  const nlohmann::json d = LayerNet::default_options("Elementwise");
  CHECK(d.at("Function") == "Ramp");
  CHECK(d.at("Input").is_null());
  CHECK(d.at("Output").is_null());
  CHECK(d.at("LearningRateMultipliers") == "Automatic");
  CHECK(d.size() == 4);
  CHECK(LayerNet::default_options("Ramp").size() == 3);  // no "Function": Ramp has no options
  for (const std::string& function : function_names()) {
    const LayerNet net = elementwise(function, {{"Input", {2}}});
    CHECK(net.option("Function") == function);
    CHECK(net.type() == "Elementwise");
    CHECK(net.initialized());  // no arrays: usable without initialize()
    CHECK(net.information().array_count == 0);
    CHECK(Elementwise(nlohmann::json{{"Function", function}}).function() == kernel_function(function));
  }
  CHECK(make_layer("Ramp")->type() == "Ramp");
  CHECK(make_layer("Ramp")->options() == nlohmann::json::object());
}

TEST_CASE("Elementwise: bad options are refused with messages", "[elementwise][errors]") {
  CHECK_THROWS_AS(elementwise("Sin"), OptionError);
  CHECK_THROWS_WITH(elementwise("Sin"),
                    Equals("Elementwise option \"Function\": invalid value; expected one of \"Ramp\", \"Tanh\", "
                           "\"LogisticSigmoid\", got \"Sin\""));
  CHECK_THROWS_WITH(elementwise("ramp"), Contains("got \"ramp\""));  // names are case-sensitive
  CHECK_THROWS_AS(LayerNet::create("Elementwise", {{"Function", 3}}), OptionError);
  CHECK_THROWS_WITH(LayerNet::create("Elementwise", {{"Function", 3}}),
                    Equals("Elementwise option \"Function\": wrong type; expected a function name, one of \"Ramp\", "
                           "\"Tanh\", \"LogisticSigmoid\", got a number (3)"));
  CHECK_THROWS_WITH(LayerNet::create("Elementwise", {{"Function", {"Tanh"}}}),
                    Contains("wrong type") && Contains("got a list"));
  CHECK_THROWS_AS(LayerNet::create("Elementwise", {{"Functon", "Tanh"}}), OptionError);
  CHECK_THROWS_WITH(
      LayerNet::create("Elementwise", {{"Functon", "Tanh"}}),
      Equals("Elementwise options: unknown option \"Functon\"; expected one of \"Function\", got \"Functon\""));
  CHECK_THROWS_AS(LayerNet::create("Ramp", {{"Function", "Tanh"}}), OptionError);
  CHECK_THROWS_WITH(
      LayerNet::create("Ramp", {{"Function", "Tanh"}}),
      Equals("Ramp options: unknown option \"Function\"; expected no options (Ramp has none; \"Elementwise\" "
             "takes a \"Function\"), got \"Function\""));
  CHECK_THROWS_WITH(make_layer("Elementwise", nlohmann::json::array()),
                    Equals("Elementwise options: options must be a JSON object; expected an object, got a list"));
  CHECK_THROWS_WITH(make_layer("Ramp", 1),
                    Equals("Ramp options: options must be a JSON object; expected an object, got a number (1)"));
}

// ---- Ramp the type -----------------------------------------------------------------------------

TEST_CASE("Elementwise: Ramp the type equals Elementwise with Function Ramp bit for bit", "[elementwise]") {
  Random random(12, "ramp");
  Array x = random_normal({3, 4, 5}, random), g = random_normal({3, 4, 5}, random);
  x[0] = 0.0f, x[1] = -0.0f, x[2] = FLT_MAX, x[3] = -FLT_MAX, x[4] = FLT_TRUE_MIN;
  const LayerNet ramp = LayerNet::create("Ramp", {{"Input", {4, 5}}}), elementwise_ramp = elementwise("Ramp");
  NETKIT_CHECK_REPORT(bit_difference_report("output", ramp.evaluate_batch(x), elementwise_ramp.evaluate_batch(x)));
  NETKIT_CHECK_REPORT(
      bit_difference_report("dL/dInput", ramp.gradients(x, g).input(), elementwise_ramp.gradients(x, g).input()));
  for (Mode mode : {Mode::Test, Mode::Train})
    NETKIT_CHECK_REPORT(bit_difference_report(std::string(mode_name(mode)) + " mode output",
                                              ramp.evaluate_batch(x, mode), elementwise_ramp.evaluate_batch(x)));
  // Same class underneath: a Ramp is an Elementwise layer with Function Ramp.
  const auto* layer = dynamic_cast<const Elementwise*>(&ramp.layer());
  REQUIRE(layer);
  CHECK(layer->function() == ElementwiseFunction::Ramp);
}

// ---- backward contract ---------------------------------------------------------------------------

TEST_CASE("Elementwise: backward overwrites or accumulates as asked and skips a null gradient", "[elementwise]") {
  const std::string function = GENERATE(as<std::string>{}, "Ramp", "Tanh", "LogisticSigmoid");
  INFO(function);
  const Elementwise layer(nlohmann::json{{"Function", function}});
  // Spans several kernel chunks and a ragged end.
  const int64_t batch = 5, per_example = 10007;
  Random random(7, "contract");
  const Array x = random_normal({batch, per_example}, random, 0, 3), g = random_normal({batch, per_example}, random);
  Array y = Array::zeros({batch, per_example});
  ForwardArgs f;
  f.batch = batch;
  f.input_shapes = {Shape{per_example}};
  f.inputs = {x.data()};
  f.outputs = {y.data()};
  layer.forward(f);

  auto backward = [&](Array dx, bool overwrite) {
    BackwardArgs b;
    b.batch = batch;
    b.input_shapes = f.input_shapes;
    b.inputs = {x.data()};
    b.outputs = {y.data()};
    b.output_grads = {g.data()};
    b.input_grads = {dx.data()};
    b.overwrite_input_grads = overwrite;
    layer.backward(b);
    return dx;
  };
  const Array fresh = backward(Array::zeros({batch, per_example}), true);
  // Overwrite never reads dx: NaN content does not leak through.
  NETKIT_CHECK_REPORT(
      bit_difference_report("dx overwritten", backward(Array::filled({batch, per_example}, kNaN), true), fresh));
  // Accumulate: prior + fresh value, rounded once.
  const Array prior = random_normal({batch, per_example}, random);
  Array expected = prior;
  for (int64_t i = 0; i < expected.size(); ++i) expected[i] = prior[i] + fresh[i];
  NETKIT_CHECK_REPORT(bit_difference_report("dx accumulated", backward(prior, false), expected));
  // The same numbers as through LayerNet.
  const LayerNet net = elementwise(function);
  NETKIT_CHECK_REPORT(bit_difference_report("dx via LayerNet", net.gradients(x, g).input(), fresh));
  NETKIT_CHECK_REPORT(bit_difference_report("y via LayerNet", net.evaluate_batch(x), y));

  // No gradient wanted: nothing is written, nothing crashes.
  BackwardArgs none;
  none.batch = batch;
  none.input_shapes = f.input_shapes;
  none.inputs = {x.data()};
  none.outputs = {y.data()};
  none.output_grads = {g.data()};
  none.input_grads = {nullptr};
  CHECK_NOTHROW(layer.backward(none));
  none.input_grads.clear();
  CHECK_NOTHROW(layer.backward(none));
}

// ---- files -------------------------------------------------------------------------------------

TEST_CASE("Elementwise: save then load then save is byte-identical", "[elementwise][json]") {
  const std::vector<std::pair<std::string, nlohmann::json>> cases{
      {"Elementwise", {{"Function", "Tanh"}, {"Input", {2, 3}}}},
      {"Elementwise", {{"Function", "LogisticSigmoid"}, {"LearningRateMultipliers", 0.5}}},
      {"Elementwise", {{"Function", "Ramp"}, {"Output", nlohmann::json::array()}}},
      {"Ramp", {{"Input", {3}}}},
      {"Ramp", nlohmann::json::object()},
  };
  TempFile a("elementwise_roundtrip_a.json"), b("elementwise_roundtrip_b.json");
  for (const auto& [type, options] : cases) {
    INFO(type << " " << options.dump());
    const LayerNet net = LayerNet::create(type, options);
    save_layer_net(net, a.path);
    const LayerNet back = load_layer_net(a.path);
    save_layer_net(back, b.path);
    CHECK(read_text(a.path) == read_text(b.path));
    CHECK(back.type() == type);
    CHECK(back.options() == net.options());
    const Shape in = net.port_shape("Input");
    Random random(1, "roundtrip");
    const Array x = random_normal(in.rank_known() ? in.with_batch(2) : std::vector<int64_t>{2, 3}, random, 0, 3);
    CHECK(back.evaluate_batch(x).bit_equal(net.evaluate_batch(x)));
  }
  // What the file holds for a Ramp: the type and no options.
  const nlohmann::json record = layer_net_to_json(LayerNet::create("Ramp"));
  CHECK(record.at("type") == "Ramp");
  CHECK(record.at("options") == nlohmann::json::object());
  CHECK(layer_net_to_json(elementwise("Tanh")).at("options") == nlohmann::json{{"Function", "Tanh"}});
}

TEST_CASE("Elementwise: a file with a bad Function names its location", "[elementwise][json]") {
  const auto record = nlohmann::json::parse(R"({"type": "Elementwise", "options": {"Function": "Sin"}})");
  CHECK_THROWS_AS(layer_net_from_json(record), FormatError);
  CHECK_THROWS_WITH(
      layer_net_from_json(record),
      Equals("/options (Elementwise option \"Function\"): invalid value; expected one of \"Ramp\", \"Tanh\", "
             "\"LogisticSigmoid\", got \"Sin\""));
  const auto ramp = nlohmann::json::parse(R"({"type": "Ramp", "options": {"Function": "Ramp"}})");
  CHECK_THROWS_WITH(layer_net_from_json(ramp), Contains("/options (Ramp options): unknown option \"Function\""));
}

// ---- threads -----------------------------------------------------------------------------------

TEST_CASE("Elementwise: results are bit-identical for 1 or 2 threads", "[elementwise]") {
  Random random(31, "threads");
  // 7 x 3 x 50 x 50 = 52500 values: four kernel chunks, the last one short.
  const Array x = random_normal({7, 3, 50, 50}, random, 0, 4), g = random_normal({7, 3, 50, 50}, random);
  for (const std::string& function : function_names()) {
    INFO(function);
    const LayerNet net = elementwise(function, {{"Input", {3, 50, 50}}});
    Array y1, dx1;
    {
      ThreadCount t(1);
      y1 = net.evaluate_batch(x);
      dx1 = net.gradients(x, g).input();
    }
    ThreadCount t(2);
    REQUIRE(num_threads() == 2);
    NETKIT_CHECK_REPORT(bit_difference_report("output", net.evaluate_batch(x), y1));
    NETKIT_CHECK_REPORT(bit_difference_report("dL/dInput", net.gradients(x, g).input(), dx1));
  }
}
