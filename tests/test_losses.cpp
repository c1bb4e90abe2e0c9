// CrossEntropyLossLayer and MeanSquaredLossLayer (layers/cross_entropy_loss.h,
// layers/mean_squared_loss.h): hand values, finite-difference gradients for both input ports,
// PyTorch golden data (data/golden/softmax_loss/{ce,mse}_*.json, written by
// tools/reference/softmax_loss_golden.py), the "Logits" form against Softmax followed by the
// loss, stability for logits of 1e4, the log(0) guard, bad targets, shapes, options, JSON round
// trips, thread independence and the kernels' overwrite / accumulate behaviour.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/layer_net_json.h>
#include <netkit/layers/cross_entropy_loss.h>
#include <netkit/layers/kernels/losses.h>
#include <netkit/layers/mean_squared_loss.h>
#include "tests/support/fixtures.h"
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"

using namespace netkit;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

constexpr double u = 0x1p-24;  // unit roundoff of float
const double kLog2 = std::log(2.0);

LayerNet cross_entropy(const nlohmann::json& options = nullptr) {
  return LayerNet::create("CrossEntropyLoss", options);
}
LayerNet mean_squared(const nlohmann::json& options = nullptr) { return LayerNet::create("MeanSquaredLoss", options); }

const nlohmann::json kScalarShape = nlohmann::json::array();  // the per-example shape []

// dL/d(port) by central differences for L = sum w loss(inputs).
std::vector<double> numeric_port_gradient(const LayerNet& net, const std::vector<Array>& x, size_t port, const Array& w,
                                          double h) {
  return numeric_gradient(
      [&](const Array& value) {
        std::vector<Array> b = x;
        b[port] = value;
        return weighted_sum(net.evaluate_batch(b), w);
      },
      x[port], h);
}

Array positive(std::vector<int64_t> dims, Random& random) { return random_uniform(std::move(dims), random, 0.2, 1.0); }

Array normalized(std::vector<int64_t> dims, Random& random) {  // probability vectors along the last dim
  Array a = random_uniform(dims, random, 0.05, 1.0);
  const int64_t c = dims.back();
  for (int64_t r = 0; r < a.size() / c; ++r) {
    double s = 0;
    for (int64_t k = 0; k < c; ++k) s += a[r * c + k];
    for (int64_t k = 0; k < c; ++k) a[r * c + k] = static_cast<float>(a[r * c + k] / s);
  }
  return a;
}

Array indices(std::vector<int64_t> dims, int64_t classes, Random& random) {
  Array a = Array::zeros(std::move(dims));
  for (int64_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(random.below(static_cast<uint64_t>(classes)));
  return a;
}

struct Golden {
  std::string name;
  nlohmann::json doc;
  Array array(const char* key, const char* shape_key) const {
    return json_array(doc.at(key), doc.at(shape_key).get<std::vector<int64_t>>(), name + " " + key);
  }
  std::vector<double> numbers(const char* key) const { return json_numbers(doc.at(key), name + " " + key); }
  std::vector<int64_t> example(const char* shape_key) const {
    const auto d = doc.at(shape_key).get<std::vector<int64_t>>();
    return {d.begin() + 1, d.end()};
  }
};

std::vector<Golden> golden_files(const std::string& prefix) {
  std::vector<Golden> out;
  for (const auto& path : files_in(source_path("data/golden/softmax_loss"), ".json")) {
    const std::string file = std::filesystem::path(path).filename().string();
    if (file.rfind(prefix, 0) == 0) out.push_back({file, read_json(path)});
  }
  return out;
}

}  // namespace

// ---- cross entropy: values ------------------------------------------------------------------------

TEST_CASE("CrossEntropyLoss: hand values and gradients of every form", "[loss]") {
  const Array p{{0.25, 0.5, 0.25}};
  const LayerNet index = cross_entropy();
  CHECK(index.port_shape("Loss") == Shape(std::vector<int64_t>{}));
  CHECK(index.port_shape("Loss").to_string() == "[]");
  CHECK(index.evaluate_batch({p, Array{1.0}}).values() == std::vector<float>{static_cast<float>(kLog2)});
  CHECK(index.evaluate_batch({Array{{0.25, 0.5, 0.25}, {1, 0, 0}}, Array{0.0, 0.0}}).values() ==
        std::vector<float>{static_cast<float>(2 * kLog2), 0});
  // dL/dp = -g t / p: only the target class; the index target gets no gradient.
  const Gradients gi = index.gradients({p, Array{1.0}}, Array{3.0});
  CHECK(gi.inputs[0].values() == std::vector<float>{0, -6, 0});
  CHECK(gi.inputs[1].values() == std::vector<float>{0});

  const LayerNet probs = cross_entropy({{"TargetForm", "Probabilities"}});
  const Array t{{0.5, 0.5, 0.0}};
  CHECK(probs.evaluate_batch({p, t})[0] == static_cast<float>(1.5 * kLog2));  // (log 4 + log 2) / 2
  const Gradients gp = probs.gradients({p, t}, Array{1.0});
  CHECK(gp.inputs[0].values() == std::vector<float>{-2, -1, 0});  // -t / p
  CHECK(gp.inputs[1].values() ==
        std::vector<float>{static_cast<float>(2 * kLog2), static_cast<float>(kLog2), static_cast<float>(2 * kLog2)});

  // Logits: softmax([0, 0]) = [1/2, 1/2]; dL/dx = softmax - t.
  const LayerNet logits = cross_entropy({{"InputForm", "Logits"}});
  CHECK(logits.evaluate_batch({Array{{0.0, 0.0}}, Array{0.0}})[0] == static_cast<float>(kLog2));
  CHECK(logits.gradients({Array{{0.0, 0.0}}, Array{0.0}}, Array{1.0}).input().values() ==
        std::vector<float>{-0.5f, 0.5f});
  const LayerNet both = cross_entropy({{"InputForm", "Logits"}, {"TargetForm", "Probabilities"}});
  const Array x{{0.0, std::log(3.0)}}, tt{{0.25, 0.75}};  // softmax(x) = t: the gradient vanishes
  const Gradients gb = both.gradients({x, tt}, Array{1.0});
  CHECK(std::abs(gb.inputs[0][0]) <= 4 * u);
  CHECK(std::abs(gb.inputs[0][1]) <= 4 * u);
  CHECK(gb.inputs[1][0] == Approx(std::log(4.0)).epsilon(4 * u));  // -log p
  CHECK(gb.inputs[1][1] == Approx(-std::log(0.75)).epsilon(4 * u));
}

TEST_CASE("CrossEntropyLoss: a map of class vectors averages the position losses", "[loss]") {
  Random random(5, "ce map");
  for (const char* form : {"Probabilities", "Logits"}) {
    INFO("InputForm " << form);
    const LayerNet map = cross_entropy({{"InputForm", form}, {"Input", {2, 3, 4}}});
    CHECK(map.port_shape("Target") == Shape{2, 3});
    const LayerNet vector = cross_entropy({{"InputForm", form}, {"Input", {4}}});
    const Array x = normalized({2, 2, 3, 4}, random), t = indices({2, 2, 3}, 4, random);
    const Array loss = map.evaluate_batch({x, t});
    REQUIRE(loss.dims() == std::vector<int64_t>{2});
    for (int64_t n = 0; n < 2; ++n) {
      double mean = 0;
      for (int64_t p = 0; p < 6; ++p) {
        Array xp = Array::zeros({1, 4});
        for (int64_t c = 0; c < 4; ++c) xp[c] = x[(n * 6 + p) * 4 + c];
        mean += vector.evaluate_batch({xp, Array{t[n * 6 + p]}})[0] / 6.0;
      }
      CHECK(loss[n] == Approx(mean).epsilon(4 * u));
    }
  }
}

// ---- cross entropy: finite differences, golden values -------------------------------------------

TEST_CASE("CrossEntropyLoss: gradients match central differences", "[loss]") {
  const std::string input_form = GENERATE(as<std::string>{}, "Probabilities", "Logits");
  const std::string target_form = GENERATE(as<std::string>{}, "Index", "Probabilities");
  const std::vector<int64_t> example = GENERATE(std::vector<int64_t>{5}, std::vector<int64_t>{2, 3, 4});
  const int64_t batch = GENERATE(as<int64_t>{}, 1, 3);
  INFO(input_form << " input, " << target_form << " target, example " << dims_to_string(example) << ", batch "
                  << batch);
  Random random(static_cast<uint64_t>(batch + 10 * example.size()), "ce gradients " + input_form + target_form);
  const LayerNet net = cross_entropy({{"InputForm", input_form}, {"TargetForm", target_form}, {"Input", example}});
  const auto dims = Shape(example).with_batch(batch);
  const Array x = input_form == "Logits" ? random_normal(dims, random, 0, 2) : positive(dims, random);
  std::vector<int64_t> index_dims(dims.begin(), dims.end() - 1);
  const Array t = target_form == "Index" ? indices(index_dims, example.back(), random) : normalized(dims, random);
  const Array w = random_normal({batch}, random);
  const Gradients g = net.gradients({x, t}, w);
  const auto numeric = numeric_port_gradient(net, {x, t}, 0, w, 1e-2 * rms(x));
  NETKIT_CHECK_REPORT(compare_gradient("dL/dInput", g.inputs[0], numeric, {1e-3, 2e-4}).report);
  if (target_form == "Probabilities") {
    const auto numeric_t = numeric_port_gradient(net, {x, t}, 1, w, 1e-2 * rms(t));
    NETKIT_CHECK_REPORT(compare_gradient("dL/dTarget", g.inputs[1], numeric_t, {1e-3, 2e-4}).report);
  } else {
    CHECK(g.inputs[1].values() == std::vector<float>(static_cast<size_t>(t.size()), 0.0f));
  }
  // A gradient off by 1% fails the same comparison.
  Array wrong = g.inputs[0];
  for (int64_t i = 0; i < wrong.size(); ++i) wrong[i] *= 1.01f;
  CHECK_FALSE(compare_gradient("wrong", wrong, numeric, {1e-3, 2e-4}).ok());
}

TEST_CASE("CrossEntropyLoss and MeanSquaredLoss: golden reference files are present and consistent", "[loss]") {
  const auto ce = golden_files("ce_"), mse = golden_files("mse_");
  REQUIRE(ce.size() == 9);  // the cases of tools/reference/softmax_loss_golden.py
  REQUIRE(mse.size() == 3);
  for (const auto* files : {&ce, &mse})
    for (const Golden& g : *files) {
      INFO("golden file " << g.name);
      CHECK(g.doc.at("generator") == "tools/reference/softmax_loss_golden.py");
      const auto in = g.doc.at("batch_shape").get<std::vector<int64_t>>();
      const auto tg = g.doc.at("target_shape").get<std::vector<int64_t>>();
      const int64_t n = Shape(in).num_elements(), nt = Shape(tg).num_elements();
      CHECK(g.numbers("input").size() == static_cast<size_t>(n));
      CHECK(g.numbers("grad_input").size() == static_cast<size_t>(n));
      CHECK(g.numbers("target").size() == static_cast<size_t>(nt));
      CHECK(g.numbers("loss").size() == static_cast<size_t>(in[0]));
      CHECK(g.numbers("grad_output").size() == static_cast<size_t>(in[0]));
      for (const char* key : {"input", "target", "grad_output"})
        for (double v : g.numbers(key)) REQUIRE(static_cast<double>(static_cast<float>(v)) == v);
    }
}

TEST_CASE("CrossEntropyLoss and MeanSquaredLoss: losses and gradients match PyTorch", "[loss]") {
  // Every loss and gradient is formed in double and rounded once, so it is within a few float
  // roundings of PyTorch's float64 result.
  const Tolerance tol{4 * u, 1e-12};
  auto files = golden_files("ce_");
  for (auto& g : golden_files("mse_")) files.push_back(std::move(g));
  for (const Golden& g : files) {
    INFO("golden file " << g.name);
    nlohmann::json options = g.doc.at("options");
    options["Input"] = g.example("batch_shape");
    options["Target"] = g.example("target_shape");
    const bool is_ce = g.doc.at("layer") == "CrossEntropyLoss";
    const LayerNet net = is_ce ? cross_entropy(options) : mean_squared(options);
    const std::vector<Array> x{g.array("input", "batch_shape"), g.array("target", "target_shape")};
    const Array dy = json_array(g.doc.at("grad_output"), {x[0].dims()[0]}, "grad_output");
    NETKIT_CHECK_REPORT(mismatch_report("loss", to_doubles(net.evaluate_batch(x)), g.numbers("loss"), tol));
    const Gradients grads = net.gradients(x, dy);
    NETKIT_CHECK_REPORT(
        mismatch_report("dL/dInput", to_doubles(grads.inputs[0]), g.numbers("grad_input"), tol, x[0].dims()));
    if (g.doc.contains("grad_target"))
      NETKIT_CHECK_REPORT(
          mismatch_report("dL/dTarget", to_doubles(grads.inputs[1]), g.numbers("grad_target"), tol, x[1].dims()));
  }
}

// ---- cross entropy: logits, stability, the log(0) guard -----------------------------------------

TEST_CASE("CrossEntropyLoss: Logits input equals Softmax followed by the loss, gradients included", "[loss]") {
  const std::string target_form = GENERATE(as<std::string>{}, "Index", "Probabilities");
  INFO(target_form << " target");
  Random random(21, "ce fused " + target_form);
  const LayerNet fused = cross_entropy({{"InputForm", "Logits"}, {"TargetForm", target_form}});
  const LayerNet loss = cross_entropy({{"TargetForm", target_form}});
  const LayerNet softmax = LayerNet::create("Softmax");
  const Array x = random_normal({6, 7}, random, 0, 3), w = random_normal({6}, random);
  const Array t = target_form == "Index" ? indices({6}, 7, random) : normalized({6, 7}, random);
  const Array p = softmax.evaluate_batch(x);
  const Array l_pair = loss.evaluate_batch({p, t}), l_fused = fused.evaluate_batch({x, t});
  for (int64_t n = 0; n < 6; ++n) CHECK(l_fused[n] == Approx(l_pair[n]).epsilon(1e-5).margin(1e-6));
  // The chain rule through the pair: dL/dp from the loss, then Softmax's backward.
  const Gradients g_loss = loss.gradients({p, t}, w);
  const Array dx_pair = softmax.gradients(x, g_loss.inputs[0]).input();
  const Gradients g_fused = fused.gradients({x, t}, w);
  NETKIT_CHECK_REPORT(mismatch_report("dL/dx fused vs pair", to_doubles(g_fused.inputs[0]), to_doubles(dx_pair),
                                      Tolerance{1e-4, 1e-6}, x.dims()));
  if (target_form == "Probabilities")
    NETKIT_CHECK_REPORT(mismatch_report("dL/dTarget fused vs pair", to_doubles(g_fused.inputs[1]),
                                        to_doubles(g_loss.inputs[1]), Tolerance{1e-5, 1e-6}, t.dims()));
}

TEST_CASE("CrossEntropyLoss: logits of 1e4 give finite, exact losses and gradients", "[loss][properties]") {
  const LayerNet fused = cross_entropy({{"InputForm", "Logits"}});
  const Array x{{1e4, -1e4, 0}, {-1e4, 1e4, 1e4}, {1e4, -1e4, 0}};
  const Array t{1.0, 0.0, 0.0};
  const Array l = fused.evaluate_batch({x, t});
  // lse = 1e4 exactly in double; the loss is lse - x_target.
  CHECK(l.values() == std::vector<float>{2e4f, static_cast<float>(2e4 + kLog2), 0});
  const Array dx = fused.gradients({x, t}, Array{1.0, 2.0, 0.5}).input();
  CHECK(dx.all_finite());
  CHECK(dx.values() == std::vector<float>{1, -1, 0, -2, 1, 1, 0, 0, 0});  // g (softmax - t)
  const LayerNet probs = cross_entropy({{"InputForm", "Logits"}, {"TargetForm", "Probabilities"}});
  const Array tp{{0.5, 0.5, 0.0}, {0.0, 0.25, 0.75}, {1.0, 0.0, 0.0}};
  const Gradients g = probs.gradients({x, tp}, Array{1.0, 1.0, 1.0});
  CHECK(probs.evaluate_batch({x, tp}).values() == std::vector<float>{1e4f, static_cast<float>(kLog2), 0});
  CHECK(g.inputs[0].values() == std::vector<float>{0.5f, -0.5f, 0, 0, 0.25f, -0.25f, 0, 0, 0});
  CHECK(g.inputs[1].values() == std::vector<float>{0, 2e4f, 1e4f, static_cast<float>(2e4 + kLog2),
                                                   static_cast<float>(kLog2), static_cast<float>(kLog2), 0, 2e4f,
                                                   1e4f});
  // The unfused pair saturates instead: softmax gives p = 0 exactly and the loss is the guard's cap.
  const Array p = LayerNet::create("Softmax").evaluate_batch(x);
  const float cap = static_cast<float>(126 * kLog2);  // -log 2^-126
  CHECK(cross_entropy().evaluate_batch({p, t})[0] == cap);
}

TEST_CASE("CrossEntropyLoss: log(0) is guarded: finite loss and gradient", "[loss][properties]") {
  const LayerNet net = cross_entropy();
  const float cap = static_cast<float>(126 * kLog2);  // 87.3365...
  CHECK(net.evaluate_batch({Array{{0.0, 1.0}}, Array{0.0}})[0] == cap);
  CHECK(net.evaluate_batch({Array{{1e-40, 1.0}}, Array{0.0}})[0] == cap);  // a subnormal counts as 2^-126
  CHECK(net.evaluate_batch({Array{{0x1p-100, 1.0}}, Array{0.0}})[0] == static_cast<float>(100 * kLog2));
  const Array dp = net.gradients({Array{{0.0, 1.0}}, Array{0.0}}, Array{1.0}).input();
  CHECK(dp.values() == std::vector<float>{-0x1p126f, 0});
  // A probability target of 0 on a probability of 0 adds nothing (no 0 * inf = NaN).
  const LayerNet probs = cross_entropy({{"TargetForm", "Probabilities"}});
  const Array p{{0.0, 0.5, 0.5}}, t{{0.0, 0.5, 0.5}};
  CHECK(probs.evaluate_batch({p, t})[0] == static_cast<float>(kLog2));
  const Gradients g = probs.gradients({p, t}, Array{1.0});
  CHECK(g.inputs[0].values() == std::vector<float>{0, -1, -1});
  CHECK(g.inputs[1].values() == std::vector<float>{cap, static_cast<float>(kLog2), static_cast<float>(kLog2)});
}

TEST_CASE("CrossEntropyLoss: properties of the loss", "[loss][properties]") {
  Random random(13, "ce properties");
  const Array p = normalized({20, 6}, random), t = indices({20}, 6, random), q = normalized({20, 6}, random);
  Array onehot = Array::zeros({20, 6});
  for (int64_t n = 0; n < 20; ++n) onehot[n * 6 + static_cast<int64_t>(t[n])] = 1.0f;
  for (const char* form : {"Probabilities", "Logits"}) {
    INFO("InputForm " << form);
    const LayerNet index = cross_entropy({{"InputForm", form}});
    const LayerNet probs = cross_entropy({{"InputForm", form}, {"TargetForm", "Probabilities"}});
    // A one-hot probability target is the index target, bit for bit, gradients included.
    const Array w = random_normal({20}, random);
    NETKIT_CHECK_REPORT(bit_difference_report("loss", index.evaluate_batch({p, t}), probs.evaluate_batch({p, onehot})));
    NETKIT_CHECK_REPORT(bit_difference_report("dL/dInput", index.gradients({p, t}, w).input(),
                                              probs.gradients({p, onehot}, w).input()));
    for (float l : index.evaluate_batch({p, t}).values()) REQUIRE(l >= 0.0f);
  }
  // Zero loss at a perfect prediction: p = 1 at the target, or a logit that dominates.
  const LayerNet index = cross_entropy();
  CHECK(index.evaluate_batch({onehot, t}).values() == std::vector<float>(20, 0.0f));
  CHECK(cross_entropy({{"InputForm", "Logits"}}).evaluate_batch({Array{{-1e4, 1e4, 0.0}}, Array{1.0}})[0] == 0.0f);
  // Gibbs' inequality: for probability vectors, sum -t log p is smallest at p = t.
  const LayerNet probs = cross_entropy({{"TargetForm", "Probabilities"}});
  const Array entropy = probs.evaluate_batch({q, q}), cross = probs.evaluate_batch({p, q});
  for (int64_t n = 0; n < 20; ++n) REQUIRE(cross[n] >= entropy[n]);
}

// ---- cross entropy: targets, shapes, options ----------------------------------------------------

TEST_CASE("CrossEntropyLoss: a target that is not a class index is refused with a message", "[loss][errors]") {
  const LayerNet net = cross_entropy({{"Input", {10}}});
  const Array p = Array::filled({3, 10}, 0.1f);
  CHECK_THROWS_AS(net.evaluate_batch({p, Array{0.0, 9.0, 10.0}}), EvaluationError);
  CHECK_THROWS_WITH(
      net.evaluate_batch({p, Array{0.0, 9.0, 10.0}}),
      Equals("CrossEntropyLoss layer, port \"Target\", example 2: target is not a class index; expected an "
             "integer from 0 to 9 (the input has 10 classes; indices count from 0), got 10"));
  CHECK_THROWS_WITH(net.evaluate_batch({p, Array{-1.0, 0.0, 0.0}}),
                    Contains("example 0: target is not a class index") && Contains("got -1"));
  CHECK_THROWS_WITH(net.evaluate_batch({p, Array{0.0, 2.5, 0.0}}), Contains("example 1:") && Contains("got 2.5"));
  CHECK_THROWS_WITH(net.gradients({p, Array{0.0, 2.5, 0.0}}, Array{1.0, 1.0, 1.0}), Contains("got 2.5"));
  CHECK_THROWS_WITH(cross_entropy({{"InputForm", "Logits"}}).evaluate_batch({p, Array{0.0, 1.0, 1e9}}),
                    Contains("example 2:") && Contains("got 1000000000"));
  // In a map, the position too.
  const LayerNet map = cross_entropy({{"Input", {2, 3, 4}}});
  Array t = Array::zeros({2, 2, 3});
  t[1 * 6 + 1 * 3 + 2] = 4;
  CHECK_THROWS_WITH(
      map.evaluate_batch({Array::filled({2, 2, 3, 4}, 0.25f), t}),
      Equals("CrossEntropyLoss layer, port \"Target\", example 1, position [1, 2]: target is not a class "
             "index; expected an integer from 0 to 3 (the input has 4 classes; indices count from 0), got 4"));
  // NaN never reaches the layer through LayerNet; the kernel's check refuses it anyway.
  const float bad[] = {0, 1, NAN};
  CHECK(kernels::first_bad_class_index(bad, 3, 2) == 2);
  CHECK(kernels::first_bad_class_index(bad, 2, 2) == -1);
}

TEST_CASE("CrossEntropyLoss: shapes are inferred both ways and bad shapes are refused", "[loss]") {
  const Shape scalar(std::vector<int64_t>{});
  CHECK(cross_entropy({{"Input", {10}}}).port_shape("Target") == scalar);
  CHECK(cross_entropy({{"Target", kScalarShape}}).port_shape("Input") == Shape{kUnknownDim});
  CHECK(cross_entropy({{"Target", {4, 5}}}).port_shape("Input") == Shape{4, 5, kUnknownDim});
  CHECK(cross_entropy({{"Input", {nullptr, 5, 3}}, {"Target", {4, nullptr}}}).port_shape("Input") == Shape{4, 5, 3});
  CHECK(cross_entropy({{"TargetForm", "Probabilities"}, {"Target", {7}}}).port_shape("Input") == Shape{7});
  CHECK(cross_entropy({{"TargetForm", "Probabilities"}, {"Input", {nullptr, 3}}, {"Target", {2, nullptr}}})
            .port_shape("Target") == Shape{2, 3});
  CHECK(cross_entropy().port_shape("Loss") == scalar);
  CHECK_FALSE(cross_entropy().port_shape("Input").rank_known());

  CHECK_THROWS_AS(cross_entropy({{"Input", {10}}, {"Target", {10}}}), ShapeError);
  CHECK_THROWS_WITH(
      cross_entropy({{"Input", {10}}, {"Target", {10}}}),
      Equals("CrossEntropyLoss layer, port \"Target\": index targets have the input's shape without its "
             "class dimension (\"TargetForm\" -> \"Index\"); expected [], got [10]. Use \"TargetForm\" -> "
             "\"Probabilities\" for probability vectors"));
  CHECK_THROWS_WITH(cross_entropy({{"Input", {4, 10}}, {"Target", {5}}}),
                    Equals("CrossEntropyLoss layer, port \"Target\": index targets have the input's shape without its "
                           "class dimension (\"TargetForm\" -> \"Index\"); expected [4], got [5]"));
  CHECK_THROWS_WITH(cross_entropy({{"TargetForm", "Probabilities"}, {"Input", {10}}, {"Target", {9}}}),
                    Equals("CrossEntropyLoss layer, port \"Target\": probability targets must have the input's shape "
                           "(\"TargetForm\" -> \"Probabilities\"); expected [10], got [9]"));
  CHECK_THROWS_WITH(cross_entropy({{"TargetForm", "Probabilities"}, {"Target", kScalarShape}}),
                    Equals("CrossEntropyLoss layer, port \"Target\": probability targets need the input's class "
                           "dimension (\"TargetForm\" -> \"Probabilities\"); expected rank >= 1, got rank 0. Use "
                           "\"TargetForm\" -> \"Index\" for one class index per example"));
  CHECK_THROWS_WITH(cross_entropy({{"Input", kScalarShape}}),
                    Equals("CrossEntropyLoss layer, port \"Input\": cross entropy needs class scores along a last "
                           "dimension; expected rank >= 1, got rank 0"));
  CHECK_THROWS_WITH(cross_entropy({{"Loss", {1}}}),
                    Equals("CrossEntropyLoss layer, port \"Loss\": the loss is one number per example; expected shape "
                           "[], got shape [1]"));
  CHECK_THROWS_WITH(cross_entropy({{"Input", {3}}}).evaluate_batch({Array::zeros({2, 3}), Array::zeros({2, 1})}),
                    Equals("CrossEntropyLoss layer, port \"Target\": batch does not match the port shape; expected "
                           "examples of shape [], got examples of shape [1] (batch dims [2, 1])"));
}

TEST_CASE("CrossEntropyLoss: options, defaults and bad options with messages", "[loss][errors]") {
  const nlohmann::json d = LayerNet::default_options("CrossEntropyLoss");
  CHECK(d.at("TargetForm") == "Index");
  CHECK(d.at("InputForm") == "Probabilities");
  CHECK(d.at("Loss") == kScalarShape);
  CHECK(d.size() == 6);  // TargetForm, InputForm, Input, Target, Loss, LearningRateMultipliers
  const CrossEntropyLoss layer(nlohmann::json{{"TargetForm", "Probabilities"}, {"InputForm", "Logits"}});
  CHECK(layer.target_form() == kernels::CrossEntropyTarget::Probabilities);
  CHECK(layer.input_form() == kernels::CrossEntropyInput::Logits);
  CHECK(layer.input_ports() == std::vector<std::string>{"Input", "Target"});
  CHECK(layer.output_ports() == std::vector<std::string>{"Loss"});
  CHECK_THROWS_AS(cross_entropy({{"TargetForm", "Indices"}}), OptionError);
  CHECK_THROWS_WITH(cross_entropy({{"TargetForm", "Indices"}}),
                    Equals("CrossEntropyLoss option \"TargetForm\": invalid value; expected one of \"Index\", "
                           "\"Probabilities\", got \"Indices\""));
  CHECK_THROWS_WITH(cross_entropy({{"InputForm", 1}}),
                    Equals("CrossEntropyLoss option \"InputForm\": invalid value; expected one of \"Probabilities\", "
                           "\"Logits\", got 1"));
  CHECK_THROWS_WITH(cross_entropy({{"Form", "Index"}}),
                    Equals("CrossEntropyLoss options: unknown option \"Form\"; expected one of \"InputForm\", "
                           "\"TargetForm\", got \"Form\""));
  // "Target" is the port: a form given under that name is read as a port shape, and refused.
  CHECK_THROWS_AS(cross_entropy({{"Target", "Index"}}), OptionError);
  CHECK_THROWS_WITH(cross_entropy({{"Target", "Index"}}), Contains("option \"Target\": wrong type for a shape"));
}

// ---- mean squared ---------------------------------------------------------------------------------

TEST_CASE("MeanSquaredLoss: hand values, gradients of both ports and shapes", "[loss]") {
  const LayerNet net = mean_squared();
  const Array x{{1.0, 2.0, 3.0}}, t{{1.0, 0.0, 0.0}};
  CHECK(net.evaluate_batch({x, t})[0] == static_cast<float>(13.0 / 3));
  const Gradients g = net.gradients({x, t}, Array{1.5});  // 2 g (x - t) / 3
  CHECK(g.inputs[0].values() == std::vector<float>{0, 2, 3});
  CHECK(g.inputs[1].values() == std::vector<float>{0, -2, -3});
  // One number per example (rank 0): the squared difference itself.
  const LayerNet scalar = mean_squared({{"Input", kScalarShape}});
  CHECK(scalar.port_shape("Target") == Shape(std::vector<int64_t>{}));
  CHECK(scalar.evaluate_batch({Array{1.0, -2.0}, Array{4.0, 0.5}}).values() == std::vector<float>{9, 6.25});
  // Shapes both ways.
  CHECK(mean_squared({{"Target", {2, 3}}}).port_shape("Input") == Shape{2, 3});
  CHECK(mean_squared({{"Input", {2, nullptr}}, {"Target", {nullptr, 3}}}).port_shape("Target") == Shape{2, 3});
  CHECK(mean_squared().port_shape("Loss") == Shape(std::vector<int64_t>{}));
  CHECK_THROWS_AS(mean_squared({{"Input", {3}}, {"Target", {4}}}), ShapeError);
  CHECK_THROWS_WITH(mean_squared({{"Input", {3}}, {"Target", {4}}}),
                    Equals("MeanSquaredLoss layer, port \"Target\": target must have the input's shape; expected [3], "
                           "got [4]"));
  CHECK_THROWS_WITH(mean_squared({{"Input", {3}}, {"Target", kScalarShape}}), Contains("expected [3], got []"));
  CHECK_THROWS_WITH(
      mean_squared({{"Loss", {3}}}),
      Equals("MeanSquaredLoss layer, port \"Loss\": the loss is one number per example; expected shape [], "
             "got shape [3]"));
  CHECK_THROWS_AS(mean_squared({{"Mean", true}}), OptionError);
  CHECK_THROWS_WITH(mean_squared({{"Mean", true}}),
                    Equals("MeanSquaredLoss options: unknown option \"Mean\"; expected no options (MeanSquaredLoss has "
                           "none), got \"Mean\""));
  CHECK(LayerNet::default_options("MeanSquaredLoss").size() == 4);  // Input, Target, Loss, LearningRateMultipliers
}

TEST_CASE("MeanSquaredLoss: gradients match central differences", "[loss]") {
  const std::vector<int64_t> example =
      GENERATE(std::vector<int64_t>{}, std::vector<int64_t>{4}, std::vector<int64_t>{2, 3});
  const int64_t batch = GENERATE(as<int64_t>{}, 1, 3);
  INFO("example " << dims_to_string(example) << ", batch " << batch);
  Random random(static_cast<uint64_t>(batch + 7 * example.size()), "mse gradients");
  const LayerNet net = mean_squared({{"Input", example}});
  const auto dims = Shape(example).with_batch(batch);
  const std::vector<Array> x{random_normal(dims, random), random_normal(dims, random)};
  const Array w = random_normal({batch}, random);
  const Gradients g = net.gradients(x, w);
  for (size_t port = 0; port < 2; ++port) {
    INFO("port " << port);
    const auto numeric = numeric_port_gradient(net, x, port, w, 1e-2 * rms(x[port]));
    NETKIT_CHECK_REPORT(compare_gradient("dL/d(port)", g.inputs[port], numeric, {1e-3, 1e-4}).report);
  }
}

TEST_CASE("MeanSquaredLoss: properties of the loss", "[loss][properties]") {
  Random random(17, "mse properties");
  const LayerNet net = mean_squared();
  const Array x = random_normal({8, 5}, random), t = random_normal({8, 5}, random);
  const Array l = net.evaluate_batch({x, t});
  for (float v : l.values()) REQUIRE(v > 0.0f);
  CHECK(net.evaluate_batch({x, x}).values() == std::vector<float>(8, 0.0f));  // zero at a perfect target
  NETKIT_CHECK_REPORT(bit_difference_report("symmetric", net.evaluate_batch({t, x}), l));
  // Scaling both by 2 scales the loss by exactly 4.
  Array x2 = x, t2 = t;
  for (int64_t i = 0; i < x.size(); ++i) x2[i] *= 2, t2[i] *= 2;
  const Array l2 = net.evaluate_batch({x2, t2});
  for (int64_t n = 0; n < 8; ++n) REQUIRE(l2[n] == 4 * l[n]);
  // The two port gradients are exact negatives.
  const Gradients g = net.gradients({x, t}, random_normal({8}, random));
  for (int64_t i = 0; i < x.size(); ++i) REQUIRE(g.inputs[1][i] == -g.inputs[0][i]);
}

// ---- both: files, threads, kernels ------------------------------------------------------------------

TEST_CASE("Losses: save -> load -> save is byte-identical and results are bit-identical", "[loss][json]") {
  TempFile a("loss_roundtrip_a.json"), b("loss_roundtrip_b.json");
  Random random(19, "loss json");
  const Array p = normalized({4, 2, 3}, random), ti = indices({4, 2}, 3, random), tp = normalized({4, 2, 3}, random);
  const Array w = random_normal({4}, random);
  struct Case {
    LayerNet net;
    Array target;
  };
  const std::vector<Case> cases{
      {cross_entropy({{"Input", {2, 3}}}), ti},
      {cross_entropy({{"InputForm", "Logits"}, {"TargetForm", "Probabilities"}, {"Target", {2, 3}}}), tp},
      {mean_squared({{"Input", {2, 3}}}), tp},
  };
  for (const Case& c : cases) {
    INFO(c.net.options().dump());
    save_layer_net(c.net, a.path);
    const LayerNet back = load_layer_net(a.path);
    save_layer_net(back, b.path);
    CHECK(read_text(a.path) == read_text(b.path));
    CHECK(back.options() == c.net.options());
    CHECK(back.evaluate_batch({p, c.target}).bit_equal(c.net.evaluate_batch({p, c.target})));
    const Gradients g1 = c.net.gradients({p, c.target}, w), g2 = back.gradients({p, c.target}, w);
    CHECK(g1.inputs[0].bit_equal(g2.inputs[0]));
    CHECK(g1.inputs[1].bit_equal(g2.inputs[1]));
  }
  auto record = layer_net_to_json(cross_entropy());
  record["options"]["InputForm"] = "logits";
  CHECK_THROWS_WITH(layer_net_from_json(record, "/layer"),
                    Contains("(CrossEntropyLoss option \"InputForm\"): invalid value"));
}

TEST_CASE("Losses: results are bit-identical for 1 and 2 threads", "[loss]") {
  Random random(23, "loss threads");
  const Array x = random_normal({200, 3, 10}, random, 0, 3), p = normalized({200, 3, 10}, random);
  const Array ti = indices({200, 3}, 10, random), tp = normalized({200, 3, 10}, random),
              w = random_normal({200}, random);
  const std::vector<std::pair<LayerNet, std::vector<Array>>> cases{
      {cross_entropy(), {p, ti}},
      {cross_entropy({{"InputForm", "Logits"}}), {x, ti}},
      {cross_entropy({{"InputForm", "Logits"}, {"TargetForm", "Probabilities"}}), {x, tp}},
      {mean_squared(), {x, tp}},
  };
  for (const auto& [net, in] : cases) {
    INFO(net.options().dump());
    std::vector<Array> one;
    {
      ThreadCount t(1);
      const Gradients g = net.gradients(in, w);
      one = {net.evaluate_batch(in), g.inputs[0], g.inputs[1]};
    }
    ThreadCount t(2);
    const Gradients g = net.gradients(in, w);
    NETKIT_CHECK_REPORT(bit_difference_report("loss", net.evaluate_batch(in), one[0]));
    NETKIT_CHECK_REPORT(bit_difference_report("dL/dInput", g.inputs[0], one[1]));
    NETKIT_CHECK_REPORT(bit_difference_report("dL/dTarget", g.inputs[1], one[2]));
  }
}

TEST_CASE("Losses: backward kernels overwrite or accumulate as asked and skip null outputs", "[loss]") {
  using kernels::CrossEntropyInput;
  using kernels::CrossEntropyTarget;
  Random random(29, "loss kernels");
  const kernels::CrossEntropyDims d{3, 2, 4};
  const Array x = positive({3, 2, 4}, random), t = normalized({3, 2, 4}, random), g = random_normal({3}, random);
  const Array prior_x = random_normal({3, 2, 4}, random), prior_t = random_normal({3, 2, 4}, random);
  for (auto input : {CrossEntropyInput::Probabilities, CrossEntropyInput::Logits}) {
    Array fresh_x = Array::filled({3, 2, 4}, NAN), fresh_t = Array::filled({3, 2, 4}, NAN);  // never read
    kernels::cross_entropy_backward(input, CrossEntropyTarget::Probabilities, x.data(), t.data(), g.data(), d,
                                    fresh_x.data(), fresh_t.data(), false);
    CHECK(fresh_x.all_finite());
    CHECK(fresh_t.all_finite());
    Array acc_x = prior_x, acc_t = prior_t, only_t = Array::zeros({3, 2, 4});
    kernels::cross_entropy_backward(input, CrossEntropyTarget::Probabilities, x.data(), t.data(), g.data(), d,
                                    acc_x.data(), acc_t.data(), true);
    kernels::cross_entropy_backward(input, CrossEntropyTarget::Probabilities, x.data(), t.data(), g.data(), d, nullptr,
                                    only_t.data(), false);
    NETKIT_CHECK_REPORT(bit_difference_report("dt alone", only_t, fresh_t));
    for (int64_t i = 0; i < x.size(); ++i) {
      REQUIRE(acc_x[i] == prior_x[i] + fresh_x[i]);
      REQUIRE(acc_t[i] == prior_t[i] + fresh_t[i]);
    }
  }
  // Index targets: dt is written as 0, or left as it is when accumulating.
  const Array ti{{0.0, 3.0}, {1.0, 1.0}, {2.0, 0.0}};
  Array dt = Array::filled({3, 2}, NAN);
  kernels::cross_entropy_backward(CrossEntropyInput::Logits, CrossEntropyTarget::Index, x.data(), ti.data(), g.data(),
                                  d, nullptr, dt.data(), false);
  CHECK(dt.values() == std::vector<float>(6, 0.0f));
  Array kept = Array::filled({3, 2}, 5.0f);
  kernels::cross_entropy_backward(CrossEntropyInput::Logits, CrossEntropyTarget::Index, x.data(), ti.data(), g.data(),
                                  d, nullptr, kept.data(), true);
  CHECK(kept.values() == std::vector<float>(6, 5.0f));
  // Mean squared error.
  Array mx = Array::filled({3, 8}, NAN), mt = prior_t.reshaped({3, 8});
  kernels::mean_squared_backward(x.data(), t.data(), g.data(), 3, 8, mx.data(), mt.data(), true);
  for (int64_t i = 0; i < 24; ++i) {
    REQUIRE(std::isnan(mx[i]));           // accumulating onto NaN keeps NaN: it was read
    const double w = 2.0 * g[i / 8] / 8;  // as the kernel forms it
    REQUIRE(mt[i] == prior_t[i] + static_cast<float>(-(w * (static_cast<double>(x[i]) - t[i]))));
  }
}
