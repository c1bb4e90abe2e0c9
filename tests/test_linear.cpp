// LinearLayer (layers/linear.h): hand-computed values, finite-difference gradients, PyTorch
// golden data (data/golden/linear, written by tools/reference/linear_golden.py), properties,
// shape inference, option errors with their messages, initializers, JSON round trips, thread
// independence and the sgemm kernels against the double-precision reference.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/initializer.h>
#include <netkit/layers/kernels/linear.h>
#include <netkit/layers/kernels/linear_reference.h>
#include <netkit/layers/linear.h>
#include <netkit/layers/registry.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using kernels::LinearDims;

namespace {

constexpr double u = 0x1p-24;  // unit roundoff of float

int64_t product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// Rounding bounds of float results against exact ones: a sum of k products is within
// gamma_(k+2) = (k + 2) u times the sum of its absolute terms (+2: the bias and one more rounding).
struct Allowances {
  std::vector<double> y, dx, dw, db;
};

Allowances allowances(const float* x, const float* w, const float* b, const float* g, LinearDims d) {
  const auto N = static_cast<size_t>(d.batch), I = static_cast<size_t>(d.in), O = static_cast<size_t>(d.out);
  Allowances a{std::vector<double>(N * O, 0.0), std::vector<double>(N * I, 0.0), std::vector<double>(O * I, 0.0),
               std::vector<double>(O, 0.0)};
  for (size_t n = 0; n < N; ++n)
    for (size_t j = 0; j < O; ++j) {
      const double gj = std::abs(g[n * O + j]);
      a.y[n * O + j] += std::abs(b[j]);
      a.db[j] += gj;
      for (size_t i = 0; i < I; ++i) {
        a.y[n * O + j] += std::abs(static_cast<double>(w[j * I + i]) * x[n * I + i]);
        a.dx[n * I + i] += gj * std::abs(w[j * I + i]);
        a.dw[j * I + i] += gj * std::abs(x[n * I + i]);
      }
    }
  auto scale = [](std::vector<double>& v, int64_t terms) {
    for (double& e : v) e = (static_cast<double>(terms) + 2) * u * e + 1e-300;
  };
  scale(a.y, d.in);
  scale(a.dx, d.out);
  scale(a.dw, d.batch);
  scale(a.db, 1);  // summed in double, rounded once
  return a;
}

// ---- gradient problems ---------------------------------------------------------------------

struct Config {
  int rank;
  int64_t batch;
};

std::ostream& operator<<(std::ostream& os, const Config& c) {
  return os << "per-example rank " << c.rank << ", batch " << c.batch;
}

// Per-example dims whose sizes differ, so a flattening or transposition mix-up shows.
std::vector<int64_t> example_dims(int rank) {
  const int64_t dims[] = {3, 2, 4};
  return {dims, dims + rank};
}

struct Problem {
  LayerNet net;
  Array x, w;  // input batch and dL/dY
};

Problem make_problem(const Config& c, int64_t out = 5, uint64_t seed = 7) {
  Random random(seed, "linear gradients");
  Problem p{LinearLayer({{"Input", example_dims(c.rank)}, {"OutputSize", out}}), {}, {}};
  p.net.initialize(seed);
  p.net.set_array("Biases", random_uniform({out}, random, -1, 1));
  p.x = random_uniform(Shape(example_dims(c.rank)).with_batch(c.batch), random, -2, 2);
  p.w = random_normal({c.batch, out}, random);
  return p;
}

struct NumericGradients {
  std::vector<double> input, weights, biases;
};

NumericGradients numeric_gradients(const Problem& p) {
  constexpr double kRelativeStep = 1e-2;
  NumericGradients n;
  n.input = numeric_input_gradient(p.net, p.x, p.w, Mode::Test, kRelativeStep);
  n.weights = numeric_array_gradient(p.net, "Weights", p.x, p.w, Mode::Test, kRelativeStep);
  n.biases = numeric_array_gradient(p.net, "Biases", p.x, p.w, Mode::Test, kRelativeStep);
  return n;
}

double max_abs(const Array& a) {
  double m = 0;
  for (int64_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i])));
  return m;
}

// Natural sizes of the gradients, which a wrong formula misses by O(1) of: dX sums `out`
// products |G| |W|, dW and db sum `batch` products |G| |X| and |G|.
struct Scales {
  double input, weights, biases;
};

Scales scales_of(const Problem& p) {
  const double g = max_abs(p.w), batch = static_cast<double>(p.x.dims()[0]);
  const double out = static_cast<double>(p.w.dims()[1]);
  return {out * g * max_abs(p.net.array("Weights")), batch * g * max_abs(p.x), batch * g};
}

Tolerance tolerance(double scale) { return {1e-3, 1e-3 * scale}; }

// ---- golden files --------------------------------------------------------------------------

struct Golden {
  std::string name;
  nlohmann::json doc;
  std::vector<int64_t> batch_dims;
  int64_t out, in;

  std::vector<int64_t> example_dims() const { return {batch_dims.begin() + 1, batch_dims.end()}; }
  int64_t batch() const { return batch_dims[0]; }
  Array array(const char* key, std::vector<int64_t> dims) const {
    return json_array(doc.at(key), std::move(dims), name + " " + key);
  }
  std::vector<double> numbers(const char* key) const { return json_numbers(doc.at(key), name + " " + key); }
};

const std::vector<Golden>& golden_files() {
  static const std::vector<Golden> files = [] {
    std::vector<Golden> out;
    for (const auto& path : files_in(source_path("data/golden/linear"), ".json")) {
      Golden g{std::filesystem::path(path).filename().string(), read_json(path), {}, 0, 0};
      g.batch_dims = g.doc.at("batch_shape").get<std::vector<int64_t>>();
      g.out = g.doc.at("output_size").get<int64_t>();
      g.in = product(g.example_dims());
      out.push_back(std::move(g));
    }
    return out;
  }();
  return files;
}

// ---- kernels -------------------------------------------------------------------------------

struct KernelCase {
  LinearDims d;
  std::vector<float> x, w, b, g;
};

KernelCase kernel_case(LinearDims d, uint64_t seed) {
  Random random(seed, "linear kernel");
  KernelCase k{d, {}, {}, {}, {}};
  auto fill = [&](std::vector<float>& v, int64_t n, double scale) {
    for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<float>(scale * random.normal()));
  };
  fill(k.x, d.batch * d.in, 1.0);
  fill(k.w, d.out * d.in, 1.0 / std::sqrt(static_cast<double>(d.in)));
  fill(k.b, d.out, 1.0);
  fill(k.g, d.batch * d.out, 1.0);
  return k;
}

struct KernelResult {
  std::vector<float> y, dx, dw, db;
};

KernelResult run_kernels(const KernelCase& k) {
  const LinearDims d = k.d;
  KernelResult r{std::vector<float>(static_cast<size_t>(d.batch * d.out)), std::vector<float>(k.x.size()),
                 std::vector<float>(k.w.size(), 0.0f), std::vector<float>(k.b.size(), 0.0f)};
  kernels::linear_forward(k.x.data(), k.w.data(), k.b.data(), d, r.y.data());
  kernels::linear_backward(k.x.data(), k.w.data(), k.g.data(), d, r.dx.data(), false, r.dw.data(), r.db.data());
  return r;
}

std::string describe(const LinearDims& d) {
  return "batch " + std::to_string(d.batch) + ", in " + std::to_string(d.in) + ", out " + std::to_string(d.out);
}

std::vector<double> doubles(const std::vector<float>& v) { return {v.begin(), v.end()}; }

}  // namespace

// ---- values ----------------------------------------------------------------------------------

TEST_CASE("Linear: forward on hand-computed values", "[linear]") {
  LayerNet linear = LinearLayer({{"Weights", {{1, 2, 3}, {4, 5, 6}}}, {"Biases", {0.5, -1}}});
  CHECK(linear.port_shape("Output") == Shape{2});
  CHECK(linear.evaluate(Array{1.0, -1.0, 2.0}).values() ==
        std::vector<float>{5.5f, 10.0f});  // 1 - 2 + 6 + 0.5, 4 - 5 + 12 - 1
  const Array y = linear.evaluate_batch(Array{{1, -1, 2}, {0, 0, 0}, {0.5, 0.25, -1}});
  CHECK(y.dims() == std::vector<int64_t>{3, 2});
  CHECK(y.values() == std::vector<float>{5.5f, 10.0f, 0.5f, -1.0f, -1.5f,
                                         -3.75f});  // last row: 0.5 + 0.5 - 3 + 0.5, 2 + 1.25 - 6 - 1
  // A matrix per example is flattened row-major: [[1, -1, 2]] is the vector [1, -1, 2].
  LayerNet rank2 = LinearLayer({{"Input", {1, 3}}, {"Weights", {{1, 2, 3}, {4, 5, 6}}}, {"Biases", {0.5, -1}}});
  CHECK(rank2.evaluate(Array{{1, -1, 2}}).values() == std::vector<float>{5.5f, 10.0f});
  LayerNet rank3 = LinearLayer({{"Input", {2, 1, 2}}, {"Weights", {{1, 10, 100, 1000}}}, {"Biases", {0}}});
  CHECK(rank3.evaluate(Array{{{1, 2}}, {{3, 4}}}).values() == std::vector<float>{4321});
  // Gradients of the same layer, by hand: dX = G W, dW = G^T X, db = column sums of G.
  const Gradients g = linear.gradients(Array{{1, -1, 2}, {0.5, 0.25, -1}}, Array{{1, 0}, {2, -1}});
  CHECK(g.input().values() == std::vector<float>{1, 2, 3, -2, -1, 0});
  CHECK(g.arrays.at("Weights").values() == std::vector<float>{2, -0.5f, 0, -0.5f, -0.25f, 1});
  CHECK(g.arrays.at("Biases").values() == std::vector<float>{3, -1});
  // The mode makes no difference to a linear layer.
  CHECK(linear.evaluate(Array{1.0, -1.0, 2.0}, Mode::Train).values() == std::vector<float>{5.5f, 10.0f});
}

TEST_CASE("Linear: gradients match central differences", "[linear]") {
  const Config c{GENERATE(1, 2, 3), GENERATE(as<int64_t>{}, 1, 2, 5)};
  INFO(c);
  const Problem p = make_problem(c);
  const Gradients g = p.net.gradients(p.x, p.w);
  const NumericGradients n = numeric_gradients(p);
  const Scales s = scales_of(p);
  NETKIT_CHECK_REPORT(compare_gradient("dL/dInput", g.input(), n.input, tolerance(s.input)).report);
  NETKIT_CHECK_REPORT(compare_gradient("dL/dWeights", g.arrays.at("Weights"), n.weights, tolerance(s.weights)).report);
  NETKIT_CHECK_REPORT(compare_gradient("dL/dBiases", g.arrays.at("Biases"), n.biases, tolerance(s.biases)).report);
  CHECK(p.net.gradients(p.x, p.w, Mode::Train).input().bit_equal(g.input()));
}

TEST_CASE("Linear: the finite-difference comparison rejects wrong gradients", "[linear]") {
  const Config c{GENERATE(1, 3), GENERATE(as<int64_t>{}, 1, 5)};
  INFO(c);
  const Problem p = make_problem(c);
  const NumericGradients n = numeric_gradients(p);
  const Scales s = scales_of(p);
  Gradients wrong = p.net.gradients(p.x, p.w);
  for (auto* a : {&wrong.inputs.at(0), &wrong.arrays.at("Weights"), &wrong.arrays.at("Biases")})
    for (int64_t i = 0; i < a->size(); ++i) (*a)[i] *= 1.01f;
  CHECK_FALSE(compare_gradient("dL/dInput", wrong.input(), n.input, tolerance(s.input)).ok());
  CHECK_FALSE(compare_gradient("dL/dWeights", wrong.arrays.at("Weights"), n.weights, tolerance(s.weights)).ok());
  CHECK_FALSE(compare_gradient("dL/dBiases", wrong.arrays.at("Biases"), n.biases, tolerance(s.biases)).ok());
  // The Weights gradient of the first example only (a batch sum that stops early).
  if (c.batch > 1) {
    const int64_t out = p.w.dims()[1], in = p.x.size() / c.batch;
    Array partial = Array::zeros({out, in});
    for (int64_t j = 0; j < out; ++j)
      for (int64_t i = 0; i < in; ++i) partial[j * in + i] = p.w[j] * p.x[i];
    CHECK(compare_gradient("dL/dWeights", partial, n.weights, tolerance(s.weights)).worst_ratio > 10);
  }
}

TEST_CASE("Linear: golden reference files are present and consistent", "[linear]") {
  const auto& files = golden_files();
  REQUIRE(files.size() >= 7);  // the cases of tools/reference/linear_golden.py
  for (const Golden& g : files) {
    INFO("golden file " << g.name);
    CHECK(g.doc.at("generator") == "tools/reference/linear_golden.py");
    REQUIRE(g.batch_dims.size() >= 2);
    const std::pair<const char*, int64_t> sizes[] = {
        {"input", g.batch() * g.in},        {"weights", g.out * g.in},     {"biases", g.out},
        {"grad_output", g.batch() * g.out}, {"output", g.batch() * g.out}, {"grad_input", g.batch() * g.in},
        {"grad_weights", g.out * g.in},     {"grad_biases", g.out}};
    for (const auto& [key, n] : sizes) CHECK(static_cast<int64_t>(g.numbers(key).size()) == n);
    // Every stored input must be a float32 value, or netkit would not see the reference's data.
    for (const char* key : {"input", "weights", "biases", "grad_output"})
      for (double v : g.numbers(key)) {
        INFO(key << " value " << v);
        REQUIRE(static_cast<double>(static_cast<float>(v)) == v);
      }
  }
}

TEST_CASE("Linear: outputs and gradients match PyTorch", "[linear]") {
  for (const Golden& g : golden_files()) {
    INFO("golden file " << g.name);
    const Array weights = g.array("weights", {g.out, g.in}), biases = g.array("biases", {g.out});
    LayerNet linear = LinearLayer({{"Input", g.example_dims()}, {"OutputSize", g.out}});
    linear.set_array("Weights", weights);
    linear.set_array("Biases", biases);
    REQUIRE(linear.initialized());
    const Array x = g.array("input", g.batch_dims), dy = g.array("grad_output", {g.batch(), g.out});
    // float32 evaluation against float64 references, within the rounding bound of each sum.
    const Allowances a = allowances(x.data(), weights.data(), biases.data(), dy.data(), {g.batch(), g.in, g.out});
    NETKIT_CHECK_REPORT(
        mismatch_report("output", to_doubles(linear.evaluate_batch(x)), g.numbers("output"), a.y, {g.batch(), g.out}));
    const Gradients grads = linear.gradients(x, dy);
    NETKIT_CHECK_REPORT(
        mismatch_report("dL/dInput", to_doubles(grads.input()), g.numbers("grad_input"), a.dx, g.batch_dims));
    NETKIT_CHECK_REPORT(mismatch_report("dL/dWeights", to_doubles(grads.arrays.at("Weights")),
                                        g.numbers("grad_weights"), a.dw, {g.out, g.in}));
    NETKIT_CHECK_REPORT(
        mismatch_report("dL/dBiases", to_doubles(grads.arrays.at("Biases")), g.numbers("grad_biases"), a.db));
  }
}

// ---- properties ------------------------------------------------------------------------------

TEST_CASE("Linear: zero Weights give exactly the Biases", "[linear]") {
  const int64_t batch = GENERATE(as<int64_t>{}, 1, 3, 64);
  INFO("batch " << batch);
  LayerNet linear = LinearLayer(
      {{"Input", {4, 5}}, {"OutputSize", 7}, {"WeightsInitializer", "Zeros"}, {"BiasesInitializer", "NarrowNormal"}});
  linear.initialize(2);
  Array x = Array::zeros({batch, 4, 5});
  for (int64_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>((i % 3 ? 3e37 : -2e38) * std::sin(static_cast<double>(i)));
  const Array y = linear.evaluate_batch(x);
  const Array& b = linear.array("Biases");
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t j = 0; j < 7; ++j) REQUIRE(y[n * 7 + j] == b[j]);
}

TEST_CASE("Linear: outputs are linear in the input", "[linear]") {
  Random random(5, "linearity");
  LayerNet linear = LinearLayer({{"Input", {3, 4}}, {"OutputSize", 6}, {"BiasesInitializer", "NarrowNormal"}});
  linear.initialize(8);
  const int64_t batch = 4;
  const Array x1 = random_uniform({batch, 3, 4}, random, -1, 1), x2 = random_uniform({batch, 3, 4}, random, -1, 1);
  const float a = 0.75f, c = -2.5f;
  Array mix = x1;
  for (int64_t i = 0; i < mix.size(); ++i) mix[i] = a * x1[i] + c * x2[i];
  const Array zero_out = linear.evaluate_batch(Array::zeros({batch, 3, 4}));
  const Array y1 = linear.evaluate_batch(x1), y2 = linear.evaluate_batch(x2), y = linear.evaluate_batch(mix);
  // f(a x1 + c x2) - b = a (f(x1) - b) + c (f(x2) - b), up to the rounding of three evaluations.
  std::vector<double> expected(static_cast<size_t>(y.size())), allowed(expected.size());
  const Array& w = linear.array("Weights");
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t j = 0; j < 6; ++j) {
      const int64_t k = n * 6 + j;
      const double b = linear.array("Biases")[j];
      CHECK(zero_out[k] == static_cast<float>(b));  // f(0) = b exactly
      expected[static_cast<size_t>(k)] = a * (y1[k] - b) + c * (y2[k] - b) + b;
      double s = std::abs(b);
      for (int64_t i = 0; i < 12; ++i)
        s += std::abs(w[j * 12 + i]) * (std::abs(a * x1[n * 12 + i]) + std::abs(c * x2[n * 12 + i]));
      allowed[static_cast<size_t>(k)] = 3 * 16 * u * (s + std::abs(b));
    }
  NETKIT_CHECK_REPORT(mismatch_report("f(a x1 + c x2)", to_doubles(y), expected, allowed, y.dims()));
}

TEST_CASE("Linear: an example's output does not depend on the rest of the batch", "[linear]") {
  // Up to rounding only: sgemm's summation order for a row depends on how many rows it gets.
  Random random(6, "alone");
  LayerNet linear = LinearLayer({{"Input", 37}, {"OutputSize", 19}, {"BiasesInitializer", "NarrowNormal"}});
  linear.initialize(4);
  const Array batch = random_normal({9, 37}, random);
  const Array all = linear.evaluate_batch(batch);
  // (The bounds of y need no dL/dy; `all` stands in for it.)
  const Allowances a =
      allowances(batch.data(), linear.array("Weights").data(), linear.array("Biases").data(), all.data(), {9, 37, 19});
  const std::vector<float> xs = batch.values(), ys = all.values();
  for (int64_t n = 0; n < 9; ++n) {
    INFO("example " << n);
    const Array one =
        linear.evaluate(Array::from({37}, std::vector<float>(xs.begin() + n * 37, xs.begin() + (n + 1) * 37)));
    const std::vector<double> expected(ys.begin() + n * 19, ys.begin() + (n + 1) * 19);
    std::vector<double> allowed(a.y.begin() + n * 19, a.y.begin() + (n + 1) * 19);
    for (double& e : allowed) e *= 2;  // both results are rounded
    NETKIT_CHECK_REPORT(mismatch_report("output alone", to_doubles(one), expected, allowed));
  }
}

// ---- shapes ----------------------------------------------------------------------------------

TEST_CASE("Linear: shapes are inferred in both directions", "[linear]") {
  const LayerNet sized = LinearLayer({{"OutputSize", 3}, {"Input", {2, 4}}});
  CHECK(sized.port_shape("Output") == Shape{3});
  CHECK(sized.information().arrays[0].shape == Shape{3, 8});
  CHECK(sized.information().arrays[1].shape == Shape{3});

  // The "Output" port fixes the output size; the input stays open.
  const LayerNet by_port = LinearLayer({{"Output", 5}});
  CHECK(by_port.port_shape("Input") == Shape());
  CHECK(by_port.information().arrays[0].shape.to_string() == "[5, ?]");
  CHECK(by_port.option("OutputSize").is_null());  // the option itself was not given

  // Biases alone fix the output size.
  CHECK(LinearLayer({{"Biases", {1, 2, 3, 4}}}).port_shape("Output") == Shape{4});

  // Weights fix the output size and the input size; the input's rank stays open until data comes.
  LayerNet by_weights = LinearLayer();
  by_weights.set_array("Weights", Array::filled({3, 6}, 0.5f));
  CHECK(by_weights.port_shape("Output") == Shape{3});
  CHECK(by_weights.port_shape("Input") == Shape());
  CHECK(by_weights.information().arrays[1].shape == Shape{3});
  by_weights.initialize();
  CHECK(by_weights.evaluate(Array{{1, 1, 1}, {1, 1, 1}}).values() == std::vector<float>{3, 3, 3});
  CHECK(by_weights.evaluate(Array{1, 2, 3, 4, 5, 6}).values() == std::vector<float>{10.5f, 10.5f, 10.5f});
  CHECK_THROWS_AS(by_weights.evaluate(Array{1.0, 2.0, 3.0, 4.0, 5.0}), ShapeError);
  CHECK_THROWS_WITH(
      by_weights.evaluate(Array{1.0, 2.0, 3.0, 4.0, 5.0}),
      Equals("Linear layer, array \"Weights\": number of columns must equal the input size (port \"Input\" "
             "[5], 5 elements); expected shape [3, 5], got shape [3, 6]"));

  // One unknown input dim is the quotient of the columns by the known dims.
  const nlohmann::json open_dim = nlohmann::json::array({nullptr, 3});
  LayerNet quotient = LinearLayer({{"Input", open_dim}});
  quotient.set_array("Weights", Array::zeros({4, 6}));
  CHECK(quotient.port_shape("Input") == Shape{2, 3});
  LayerNet two_open = LinearLayer({{"Input", nlohmann::json::array({nullptr, nullptr})}});
  two_open.set_array("Weights", Array::zeros({4, 6}));
  CHECK(two_open.port_shape("Input").to_string() == "[?, ?]");
}

TEST_CASE("Linear: shape conflicts name the port or array with expected and got", "[linear]") {
  CHECK_THROWS_AS(LinearLayer({{"OutputSize", 3}, {"Output", 4}}), ShapeError);
  CHECK_THROWS_WITH(LinearLayer({{"OutputSize", 3}, {"Output", 4}}),
                    Equals("Linear layer, port \"Output\": size must equal the output size (option \"OutputSize\"); "
                           "expected shape [3], got shape [4]"));
  CHECK_THROWS_WITH(LinearLayer({{"OutputSize", 3}, {"Weights", {{1, 2}, {3, 4}, {5, 6}, {7, 8}}}}),
                    Equals("Linear layer, array \"Weights\": number of rows must equal the output size (option "
                           "\"OutputSize\"); expected shape [3, 2], got shape [4, 2]"));
  CHECK_THROWS_WITH(LinearLayer({{"Output", 2}, {"Biases", {1, 2, 3}}}),
                    Equals("Linear layer, array \"Biases\": length must equal the output size (port \"Output\"); "
                           "expected length 2, got length 3"));
  CHECK_THROWS_WITH(LinearLayer({{"Weights", {{1, 2, 3}, {4, 5, 6}}}, {"Biases", {1}}}),
                    Equals("Linear layer, array \"Biases\": length must equal the output size (array \"Weights\"); "
                           "expected length 2, got length 1"));
  LayerNet fixed_input = LinearLayer({{"Input", {2, 3}}});
  CHECK_THROWS_AS(fixed_input.set_array("Weights", Array::zeros({4, 5})), ShapeError);
  CHECK_THROWS_WITH(
      fixed_input.set_array("Weights", Array::zeros({4, 5})),
      Equals("Linear layer, array \"Weights\": number of columns must equal the input size (port \"Input\" "
             "[2, 3], 6 elements); expected shape [4, 6], got shape [4, 5]"));
  CHECK_FALSE(fixed_input.has_array("Weights"));  // a rejected array leaves the net as it was
  LayerNet open_dim = LinearLayer({{"Input", nlohmann::json::array({nullptr, 4})}});
  CHECK_THROWS_WITH(
      open_dim.set_array("Weights", Array::zeros({2, 6})),
      Equals("Linear layer, array \"Weights\": number of columns must equal the input size (port \"Input\" "
             "[?, 4], a multiple of 4 elements); expected a multiple of 4 columns, got shape [2, 6]"));
  CHECK_THROWS_WITH(
      LinearLayer({{"Output", {2, 3}}}),
      Equals("Linear layer, port \"Output\": output must be a vector of OutputSize values; expected rank 1, "
             "got shape [2, 3]"));
  CHECK_THROWS_WITH(LinearLayer({{"Weights", {1, 2, 3}}}),
                    Equals("Linear layer, array \"Weights\": must be a matrix of shape [output size, input size]; "
                           "expected rank 2, got shape [3]"));
  CHECK_THROWS_WITH(LinearLayer({{"Biases", {{1, 2}}}}),
                    Equals("Linear layer, array \"Biases\": must be a vector of one value per output; expected rank 1, "
                           "got shape [1, 2]"));
  CHECK_THROWS_WITH(LinearLayer({{"Input", nlohmann::json::array()}}),
                    Equals("Linear layer, port \"Input\": input must be an array of rank >= 1; expected rank >= 1, got "
                           "rank 0"));
  // An initialized layer refuses Weights of another shape and keeps its own.
  LayerNet net = LinearLayer({{"Input", 8}, {"OutputSize", 3}});
  net.initialize(1);
  const Array before = net.array("Weights");
  CHECK_THROWS_WITH(net.set_array("Weights", Array::zeros({3, 7})),
                    Contains("expected shape [3, 8], got shape [3, 7]"));
  CHECK(net.array("Weights").bit_equal(before));
  CHECK_THROWS_WITH(
      net.evaluate(Array::zeros({7})),
      Equals("Linear layer, port \"Input\": batch does not match the port shape; expected examples of shape "
             "[8], got examples of shape [7] (batch dims [1, 7])"));
}

// ---- options -----------------------------------------------------------------------------------

TEST_CASE("Linear: options list every default", "[linear]") {
  const nlohmann::json d = LayerNet::default_options("Linear");
  CHECK(d.at("OutputSize").is_null());  // given, or fixed by "Output" or the arrays
  CHECK(d.at("WeightsInitializer") == "XavierUniform");
  CHECK(d.at("BiasesInitializer") == "Zeros");
  CHECK(d.at("L2Factors") == nlohmann::json{{"Weights", 1.0}, {"Biases", 1.0}});
  CHECK(d.at("LearningRateMultipliers") == "Automatic");
  CHECK(d.at("Input").is_null());
  CHECK(d.at("Output") == nlohmann::json::array({nullptr}));  // a vector of unknown length
  CHECK(d.size() == 7);
  const LayerNet linear = LinearLayer(
      {{"OutputSize", 4}, {"Input", {2, 3}}, {"L2Factors", {{"Biases", 0}}}, {"WeightsInitializer", "KaimingNormal"}});
  CHECK(linear.option("OutputSize") == 4);
  CHECK(linear.option("Output") == nlohmann::json{4});
  CHECK(linear.option("L2Factors") == nlohmann::json{{"Weights", 1.0}, {"Biases", 0.0}});
  const LayerInfo info = linear.information();
  CHECK(info.type == "Linear");
  CHECK(info.array_count == 2);
  CHECK(info.total_elements == 4 * 6 + 4);
  CHECK(info.arrays[0].name == "Weights");
  CHECK(info.arrays[0].role == ArrayRole::Learnable);
  CHECK(info.arrays[1].l2_factor == 0.0);
  CHECK(LinearLayer({{"L2Factors", 0.5}}).option("L2Factors") == nlohmann::json{{"Weights", 0.5}, {"Biases", 0.5}});
}

TEST_CASE("Linear: bad options give typed errors with their messages", "[linear]") {
  CHECK_THROWS_AS(LinearLayer({{"OutputSize", 0}}), OptionError);
  CHECK_THROWS_WITH(LinearLayer({{"OutputSize", 0}}),
                    Equals("Linear option \"OutputSize\": out of range; expected an integer >= 1, got 0"));
  CHECK_THROWS_WITH(LinearLayer({{"OutputSize", -2}}),
                    Equals("Linear option \"OutputSize\": out of range; expected an integer >= 1, got -2"));
  CHECK_THROWS_WITH(LinearLayer({{"OutputSize", -1}}), Contains("got -1"));  // not "unknown"
  CHECK_THROWS_WITH(LinearLayer({{"OutputSize", std::numeric_limits<uint64_t>::max()}}),
                    Contains("out of range; expected an integer >= 1, got 18446744073709551615"));
  CHECK_THROWS_WITH(LinearLayer({{"OutputSize", 2.5}}),
                    Equals("Linear option \"OutputSize\": wrong type; expected an integer >= 1, got a number (2.5)"));
  CHECK_THROWS_WITH(LinearLayer({{"OutputSize", 3.0}}),
                    Contains("wrong type; expected an integer >= 1, got a number (3.0)"));
  CHECK_THROWS_WITH(LinearLayer({{"OutputSize", "3"}}), Contains("expected an integer >= 1, got a string (\"3\")"));
  CHECK_THROWS_WITH(LinearLayer({{"OutputSize", true}}), Contains("expected an integer >= 1, got true"));
  CHECK_THROWS_WITH(LinearLayer({{"OutputSise", 3}}),
                    Equals("Linear options: unknown option \"OutputSise\"; expected one of \"BiasesInitializer\", "
                           "\"L2Factors\", \"OutputSize\", \"WeightsInitializer\", got \"OutputSise\""));
  CHECK_THROWS_WITH(LinearLayer({{"WeightsInitializer", "Glorot"}}),
                    Equals("Linear option \"WeightsInitializer\": unknown initializer; expected one of Zeros, Ones, "
                           "NarrowNormal, XavierUniform, KaimingNormal, got \"Glorot\""));
  CHECK_THROWS_WITH(LinearLayer({{"BiasesInitializer", "XavierUniform"}}),
                    Equals("Linear option \"BiasesInitializer\": initializer needs the fans of a weight array of rank "
                           ">= 2; expected one of Zeros, Ones, NarrowNormal, got \"XavierUniform\""));
  CHECK_THROWS_WITH(LinearLayer({{"BiasesInitializer", "Random"}}),
                    Contains("unknown initializer; expected one of Zeros, Ones, NarrowNormal, got \"Random\""));
  CHECK_THROWS_WITH(
      LinearLayer({{"WeightsInitializer", 3}}),
      Equals("Linear option \"WeightsInitializer\": wrong type; expected an initializer name, got a number (3)"));
  CHECK_THROWS_WITH(
      LinearLayer({{"L2Factors", {{"Scaling", 1}}}}),
      Equals("Linear option \"L2Factors\": unknown array; expected \"Weights\" or \"Biases\", got \"Scaling\""));
  CHECK_THROWS_WITH(LinearLayer({{"L2Factors", -1}}),
                    Equals("Linear option \"L2Factors\": out of range; expected finite numbers >= 0, got -1"));
  CHECK_THROWS_WITH(LinearLayer({{"L2Factors", "none"}}),
                    Contains("expected a number or {\"Weights\": x, \"Biases\": y}"));
  CHECK_THROWS_WITH(LinearLayer({{"LearningRateMultipliers", {{"Scaling", 0}}}}),
                    Contains("unknown array \"Scaling\""));
  // The C++ configuration is validated the same way.
  Linear::Config config;
  config.output_size = 0;
  CHECK_THROWS_WITH(Linear(config),
                    Equals("Linear option \"OutputSize\": out of range; expected an integer >= 1, got 0"));
  config.output_size = 2;
  config.biases_initializer = Initializer::Kind::KaimingNormal;
  CHECK_THROWS_WITH(Linear(config), Contains("\"BiasesInitializer\": initializer needs the fans"));
  CHECK_THROWS_WITH(LinearLayer().array("Bias"),
                    Contains("unknown array \"Bias\"; expected one of \"Weights\", \"Biases\""));
  const auto types = known_layer_types();
  CHECK(std::find(types.begin(), types.end(), "Linear") != types.end());
}

TEST_CASE("Linear: non-finite arrays and inputs are refused where they enter", "[linear]") {
  LayerNet linear = LinearLayer({{"Input", 2}, {"OutputSize", 3}});
  linear.initialize();
  Array w = Array::zeros({3, 2});
  w[2] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(linear.set_array("Weights", w), InitializationError);
  CHECK_THROWS_WITH(linear.set_array("Weights", w),
                    Equals("Linear layer, array \"Weights\", row 1, column 0: value is not "
                           "finite; expected a finite number, got nan"));
  CHECK_THROWS_WITH(
      linear.set_array("Biases", Array{0.0f, 1.0f, INFINITY}),
      Equals("Linear layer, array \"Biases\", element 2: value is not finite; expected a finite number, got inf"));
  CHECK(linear.array("Biases").values() == std::vector<float>{0, 0, 0});  // nothing changed
  CHECK_THROWS_WITH(LinearLayer({{"Biases", {1.0, NAN}}}), Contains("option \"Biases\": value is not finite"));
  Array x = Array::zeros({2, 2});
  x[3] = -INFINITY;
  CHECK_THROWS_WITH(linear.evaluate_batch(x), Equals("Linear layer, port \"Input\": input contains NaN or infinity; "
                                                     "expected finite values, got -inf at element 3"));
  // Shapes that are not known yet cannot be initialized; the message says which size is missing.
  CHECK_THROWS_AS(LinearLayer({{"OutputSize", 3}}).initialize(), InitializationError);
  CHECK_THROWS_WITH(
      LinearLayer({{"OutputSize", 3}}).initialize(),
      Equals("Linear layer, array \"Weights\": cannot initialize: the input size is not known (port \"Input\" "
             "gives the columns); expected a known shape, got [3, ?]. Give \"Input\" or connect the layer"));
  CHECK_THROWS_WITH(
      LinearLayer({{"Input", 4}}).initialize(),
      Contains("cannot initialize: the output size or the input size is not known (\"OutputSize\" or port "
               "\"Output\" gives the rows, port \"Input\" the columns); expected a known shape, got [?, 4]"));
  CHECK_THROWS_WITH(LinearLayer({{"Input", 4}}).evaluate(Array{1.0, 2.0, 3.0, 4.0}),
                    Contains("cannot evaluate: arrays not initialized"));
}

// ---- initializers ----------------------------------------------------------------------------

TEST_CASE("Linear: XavierUniform stays within its limit with the uniform spread", "[linear]") {
  LayerNet linear = LinearLayer({{"Input", {20, 15}}, {"OutputSize", 200}});  // fan_in 300, fan_out 200
  linear.initialize(1);
  const Array& w = linear.array("Weights");
  const double limit = std::sqrt(6.0 / 500.0);
  double sum = 0, sum_sq = 0, largest = 0;
  for (int64_t i = 0; i < w.size(); ++i) {
    REQUIRE(std::abs(w[i]) <= static_cast<float>(limit));
    sum += w[i];
    sum_sq += static_cast<double>(w[i]) * w[i];
    largest = std::max(largest, std::abs(static_cast<double>(w[i])));
  }
  const double n = static_cast<double>(w.size());
  CHECK(largest > 0.999 * limit);                                // the whole range is used
  CHECK(std::abs(sum / n) < 4 * limit / std::sqrt(3 * n));       // mean 0 within 4 standard errors
  CHECK(sum_sq / n == Approx(limit * limit / 3).epsilon(0.02));  // variance l^2 / 3
  CHECK(linear.array("Biases").values() == std::vector<float>(200, 0.0f));
}

TEST_CASE("Linear: KaimingNormal has standard deviation sqrt(2 / fan_in)", "[linear]") {
  LayerNet linear = LinearLayer({{"Input", {4, 5, 5}}, {"OutputSize", 500}, {"WeightsInitializer", "KaimingNormal"}});
  linear.initialize(2);
  const Array& w = linear.array("Weights");
  const double sd = std::sqrt(2.0 / 100.0), n = static_cast<double>(w.size());
  double sum = 0, sum_sq = 0, within = 0;
  for (int64_t i = 0; i < w.size(); ++i) {
    sum += w[i];
    sum_sq += static_cast<double>(w[i]) * w[i];
    within += std::abs(w[i]) < sd ? 1 : 0;
  }
  CHECK(std::abs(sum / n) < 4 * sd / std::sqrt(n));
  CHECK(std::sqrt(sum_sq / n) == Approx(sd).epsilon(0.02));
  CHECK(within / n == Approx(0.6827).margin(0.01));  // normal, not uniform (0.577 for the same spread)
}

TEST_CASE("Linear: fans come from the weight shape", "[linear]") {
  const Fans matrix = fans_of(Shape{7, 3}, "w");
  CHECK(matrix.in == 3);
  CHECK(matrix.out == 7);
  const Fans kernel = fans_of(Shape{8, 3, 5, 5}, "w");  // [out, in, kh, kw]: receptive field 25
  CHECK(kernel.in == 75);
  CHECK(kernel.out == 200);
  Random random(1, "fans");
  const Array k = Initializer(Initializer::Kind::XavierUniform).make(Shape{8, 3, 5, 5}, random, "w");
  for (int64_t i = 0; i < k.size(); ++i) REQUIRE(std::abs(k[i]) <= static_cast<float>(std::sqrt(6.0 / 275.0)));
  CHECK_THROWS_AS(Initializer(Initializer::Kind::KaimingNormal).make(Shape{5}, random, "array \"b\""),
                  InitializationError);
  CHECK_THROWS_WITH(Initializer(Initializer::Kind::KaimingNormal).make(Shape{5}, random, "array \"b\""),
                    Equals("array \"b\": fan-based initializers need a weight array of rank >= 2 ([out, in, ...]); "
                           "expected rank >= 2, got shape [5]"));
  CHECK(Initializer::named("KaimingNormal", "w", Initializer::all_names()).uses_fans());
  CHECK(Initializer::named("XavierUniform", "w", Initializer::all_names()).name() == "XavierUniform");
}

TEST_CASE("Linear: initialization is seeded and fills arrays independently", "[linear]") {
  const nlohmann::json options{{"Input", 30}, {"OutputSize", 20}, {"BiasesInitializer", "NarrowNormal"}};
  for (const char* kind : {"XavierUniform", "KaimingNormal", "NarrowNormal"}) {
    INFO(kind);
    nlohmann::json o = options;
    o["WeightsInitializer"] = kind;
    LayerNet a = LinearLayer(o), b = LinearLayer(o), c = LinearLayer(o);
    a.initialize(3);
    b.initialize(3);
    c.initialize(4);
    CHECK(a.array("Weights").bit_equal(b.array("Weights")));
    CHECK(a.array("Biases").bit_equal(b.array("Biases")));
    CHECK_FALSE(a.array("Weights").bit_equal(c.array("Weights")));
    // Filling only the missing Biases gives the same Biases as initializing everything.
    LayerNet d = LinearLayer(o);
    d.set_array("Weights", Array::zeros({20, 30}));
    d.initialize(3);
    CHECK(d.array("Biases").bit_equal(a.array("Biases")));
    d.initialize(3, InitializeMode::All);
    CHECK(d.array("Weights").bit_equal(a.array("Weights")));
  }
}

// ---- files -------------------------------------------------------------------------------------

TEST_CASE("Linear: save -> load -> save is byte-identical and outputs are bit-identical", "[linear]") {
  TempFile a("linear_roundtrip_a.json"), b("linear_roundtrip_b.json");
  LayerNet fixed = LinearLayer({{"Input", {2, 3}},
                                {"OutputSize", 4},
                                {"WeightsInitializer", "KaimingNormal"},
                                {"L2Factors", {{"Biases", 0}}},
                                {"LearningRateMultipliers", {{"Biases", 2}}}});
  fixed.initialize(3);
  fixed.set_array("Biases", Array{0.25, -1.5, 3.0, 1e-30});
  LayerNet by_weights = LinearLayer();  // OutputSize and input size both from the arrays
  by_weights.set_array(
      "Weights", Array{{1, 2, 3, 4, 5, 6}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {-1, 0, 1, 0, -1, 0}, {0, 0, 0, 0, 0, 7}});
  by_weights.initialize(1);
  for (const LayerNet* net : {&fixed, &by_weights}) {
    save_layer_net(*net, a.path);
    const LayerNet back = load_layer_net(a.path);
    save_layer_net(back, b.path);
    CHECK(read_text(a.path) == read_text(b.path));
    CHECK(back.options() == net->options());
    const Array x{{{1, -2, 0.5}, {3, 2, 2}}, {{0, 1, 4}, {4, -1, 0}}, {{1e3, -1e-3, 7}, {0, 0, 1}}};
    const Array dy{{1, 0, 0, 1}, {1, 1, -1, 2}, {0, 3, 1, -2}};
    CHECK(back.evaluate_batch(x).bit_equal(net->evaluate_batch(x)));
    const Gradients g1 = net->gradients(x, dy), g2 = back.gradients(x, dy);
    CHECK(g1.input().bit_equal(g2.input()));
    CHECK(g1.arrays.at("Weights").bit_equal(g2.arrays.at("Weights")));
    CHECK(g1.arrays.at("Biases").bit_equal(g2.arrays.at("Biases")));
  }
  CHECK(load_layer_net(a.path).option("OutputSize").is_null());  // still open, as given
  const LayerNet open = layer_net_from_json(layer_net_to_json(LinearLayer({{"OutputSize", 3}})));
  CHECK_FALSE(open.initialized());
  CHECK(open.option("OutputSize") == 3);
  auto record = layer_net_to_json(fixed);
  record["arrays"]["Weights"] =
      nlohmann::json::array({{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}});
  CHECK_THROWS_AS(layer_net_from_json(record, "/layer"), FormatError);
  CHECK_THROWS_WITH(layer_net_from_json(record, "/layer"),
                    Contains("/layer/arrays/Weights") && Contains("expected shape [4, 6], got shape [4, 5]"));
}

// ---- threads and kernels -----------------------------------------------------------------------

TEST_CASE("Linear: 1, 2 and 3 threads give bit-identical outputs and gradients", "[linear]") {
  // The products run as fixed blocks of rows, each a single-threaded sgemm (kernels/linear.cpp),
  // so the thread count only changes which thread runs a block. A batch below, at and above
  // the block size, and an output size over two blocks.
  const int64_t batch = GENERATE(as<int64_t>{}, 1, 7, 32, 256);
  INFO("batch " << batch);
  Random random(11, "linear threads");
  LayerNet linear = LinearLayer({{"Input", {16, 32}}, {"OutputSize", 300}, {"BiasesInitializer", "NarrowNormal"}});
  linear.initialize(3);
  const Array x = random_normal({batch, 16, 32}, random), dy = random_normal({batch, 300}, random);
  auto results = [&] {
    Gradients g = linear.gradients(x, dy);
    return std::vector<Array>{linear.evaluate_batch(x), g.input(), g.arrays.at("Weights"), g.arrays.at("Biases")};
  };
  const char* names[] = {"output", "dL/dInput", "dL/dWeights", "dL/dBiases"};
  std::vector<Array> one;
  {
    ThreadCount t(1);
    one = results();
  }
  for (int threads : {2, 3}) {
    INFO(threads << " threads against 1");
    ThreadCount t(threads);
    const std::vector<Array> many = results();
    for (size_t i = 0; i < 4; ++i) NETKIT_CHECK_REPORT(bit_difference_report(names[i], one[i], many[i]));
  }
}

TEST_CASE("Linear: kernels agree with the double-precision reference", "[linear]") {
  uint64_t seed = 0;
  for (int64_t batch : {1, 2, 7, 64})
    for (int64_t in : {1, 3, 17, 300})
      for (int64_t out : {1, 4, 33}) {
        const LinearDims d{batch, in, out};
        INFO(describe(d));
        const KernelCase k = kernel_case(d, ++seed);
        const KernelResult f = run_kernels(k);
        const auto ref = kernels::reference::linear(k.x, k.w, k.b, d, k.g);
        const Allowances a = allowances(k.x.data(), k.w.data(), k.b.data(), k.g.data(), d);
        NETKIT_CHECK_REPORT(mismatch_report("y", doubles(f.y), ref.y, a.y, {batch, out}));
        NETKIT_CHECK_REPORT(mismatch_report("dx", doubles(f.dx), ref.dx, a.dx, {batch, in}));
        NETKIT_CHECK_REPORT(mismatch_report("dw", doubles(f.dw), ref.dw, a.dw, {out, in}));
        NETKIT_CHECK_REPORT(mismatch_report("db", doubles(f.db), ref.db, a.db));
      }
}

TEST_CASE("Linear: backward kernels overwrite or accumulate as asked and skip null outputs", "[linear]") {
  const LinearDims d = GENERATE(LinearDims{1, 5, 3}, LinearDims{6, 17, 4}, LinearDims{64, 300, 33});
  INFO(describe(d));
  const KernelCase k = kernel_case(d, 9);
  const KernelResult fresh = run_kernels(k);

  // Overwrite never reads dx: NaN content does not leak through.
  std::vector<float> dx(k.x.size(), NAN);
  kernels::linear_backward(k.x.data(), k.w.data(), k.g.data(), d, dx.data(), false, nullptr, nullptr);
  NETKIT_CHECK_REPORT(bit_difference_report("dx overwritten", dx, fresh.dx));

  // Accumulate adds to what is there: prior + fresh within one rounding of each, and the bias
  // gradient exactly so (its sum is formed in double and added once).
  Random random(4, "prior");
  auto prior = [&](size_t n) {
    std::vector<float> v(n);
    for (float& p : v) p = static_cast<float>(random.normal());
    return v;
  };
  const std::vector<float> prior_dx = prior(k.x.size()), prior_dw = prior(k.w.size()), prior_db = prior(k.b.size());
  std::vector<float> acc_dx = prior_dx, acc_dw = prior_dw, acc_db = prior_db;
  kernels::linear_backward(k.x.data(), k.w.data(), k.g.data(), d, acc_dx.data(), true, acc_dw.data(), acc_db.data());
  auto close_to_sum = [](const std::string& what, const std::vector<float>& got, const std::vector<float>& p,
                         const std::vector<float>& f) {
    std::vector<double> expected(got.size()), allowed(got.size());
    for (size_t i = 0; i < got.size(); ++i) {
      expected[i] = static_cast<double>(p[i]) + f[i];
      allowed[i] = 4 * u * (std::abs(p[i]) + std::abs(f[i])) + 1e-30;
    }
    return mismatch_report(what, doubles(got), expected, allowed);
  };
  NETKIT_CHECK_REPORT(close_to_sum("dx accumulated", acc_dx, prior_dx, fresh.dx));
  NETKIT_CHECK_REPORT(close_to_sum("dw accumulated", acc_dw, prior_dw, fresh.dw));
  std::vector<float> expected_db(prior_db.size());
  for (size_t j = 0; j < expected_db.size(); ++j) expected_db[j] = prior_db[j] + fresh.db[j];
  NETKIT_CHECK_REPORT(bit_difference_report("db accumulated", acc_db, expected_db));

  // Null outputs are skipped; the ones given are unchanged by the others' absence.
  std::vector<float> only_dw(k.w.size(), 0.0f), only_db(k.b.size(), 0.0f);
  kernels::linear_backward(k.x.data(), k.w.data(), k.g.data(), d, nullptr, false, only_dw.data(), nullptr);
  kernels::linear_backward(k.x.data(), k.w.data(), k.g.data(), d, nullptr, false, nullptr, only_db.data());
  NETKIT_CHECK_REPORT(bit_difference_report("dw alone", only_dw, fresh.dw));
  NETKIT_CHECK_REPORT(bit_difference_report("db alone", only_db, fresh.db));
}
