// ConvolutionLayer (layers/convolution.h) against PyTorch golden data (data/golden/convolution,
// written by tools/reference/convolution_golden.py) and against central differences.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <netkit/core/random.h>
#include <netkit/graph/layer_net.h>
#include <netkit/layers/convolution.h>
#include "tests/support/golden.h"
#include "tests/support/gradient_check.h"
#include "tests/test_convolution_support.h"

using namespace netkit;
using namespace netkit::test;

namespace {

// The kernels' geometry of a layer for a batch, as the layer builds it.
kernels::ConvDims layer_dims(const LayerNet& net, int64_t batch) {
  const auto& layer = dynamic_cast<const Convolution&>(net.layer());
  const Shape in = net.port_shape("Input"), out = net.port_shape("Output");
  const int64_t rank = in.rank() - 1;
  std::vector<int64_t> k(2, 1), s(2, 1), p(2, 0), dl(2, 1), ins(2, 1), outs(2, 1);
  for (int64_t i = 0; i < rank; ++i) {
    const size_t at = static_cast<size_t>(2 - rank + i);
    const auto& c = layer.config();
    k[at] = c.kernel_size.at(i);
    s[at] = c.stride.at(i);
    dl[at] = c.dilation.at(i);
    ins[at] = in[i + 1];
    outs[at] = out[i + 1];
    p[at] = layer.padding_before(i, in[i + 1], out[i + 1], k[at]);
  }
  kernels::ConvDims d;
  d.batch = batch;
  d.in_channels = in[0];
  d.out_channels = out[0];
  d.groups = layer.config().groups;
  d.in_h = ins[0], d.in_w = ins[1], d.out_h = outs[0], d.out_w = outs[1];
  d.kernel_h = k[0], d.kernel_w = k[1], d.stride_h = s[0], d.stride_w = s[1];
  d.pad_h = p[0], d.pad_w = p[1], d.dilation_h = dl[0], d.dilation_w = dl[1];
  return d;
}

struct Golden {
  std::string name;
  nlohmann::json doc;
  std::vector<int64_t> batch_dims, output_dims, weights_dims;
  bool has_biases;

  std::vector<int64_t> example_dims() const { return {batch_dims.begin() + 1, batch_dims.end()}; }
  Array array(const char* key, std::vector<int64_t> dims) const {
    return json_array(doc.at(key), std::move(dims), name + " " + key);
  }
  std::vector<double> numbers(const char* key) const { return json_numbers(doc.at(key), name + " " + key); }
};

const std::vector<Golden>& golden_files() {
  static const std::vector<Golden> files = [] {
    std::vector<Golden> out;
    for (const auto& path : files_in(source_path("data/golden/convolution"), ".json")) {
      Golden g{std::filesystem::path(path).filename().string(), read_json(path), {}, {}, {}, false};
      g.batch_dims = g.doc.at("batch_shape").get<std::vector<int64_t>>();
      g.output_dims = g.doc.at("output_shape").get<std::vector<int64_t>>();
      g.weights_dims = g.doc.at("weights_shape").get<std::vector<int64_t>>();
      g.has_biases = g.doc.contains("biases");
      out.push_back(std::move(g));
    }
    return out;
  }();
  return files;
}

std::vector<float> floats(const Array& a) { return a.values(); }

}  // namespace

TEST_CASE("Convolution: golden reference files are present and consistent", "[convolution]") {
  const auto& files = golden_files();
  REQUIRE(files.size() >= 24);  // the cases of tools/reference/convolution_golden.py
  for (const Golden& g : files) {
    INFO("golden file " << g.name);
    CHECK(g.doc.at("generator") == "tools/reference/convolution_golden.py");
    const int64_t x = checked_product(g.batch_dims), y = checked_product(g.output_dims),
                  w = checked_product(g.weights_dims);
    for (const auto& [key, n] : std::vector<std::pair<const char*, int64_t>>{
             {"input", x}, {"weights", w}, {"grad_output", y}, {"output", y}, {"grad_input", x}, {"grad_weights", w}})
      CHECK(static_cast<int64_t>(g.numbers(key).size()) == n);
    if (g.has_biases) CHECK(static_cast<int64_t>(g.numbers("grad_biases").size()) == g.output_dims[1]);
  }
}

TEST_CASE("Convolution: outputs and gradients match PyTorch", "[convolution]") {
  for (const Golden& g : golden_files()) {
    INFO("golden file " << g.name << ", options " << g.doc.at("options").dump());
    nlohmann::json options = g.doc.at("options");
    options["Input"] = g.example_dims();
    LayerNet conv = ConvolutionLayer(options);
    conv.set_array("Weights", g.array("weights", g.weights_dims));
    const Array biases = g.has_biases ? g.array("biases", {g.output_dims[1]}) : Array();
    if (g.has_biases) conv.set_array("Biases", biases);
    REQUIRE(conv.initialized());
    CHECK(conv.port_shape("Output") == Shape(std::vector<int64_t>(g.output_dims.begin() + 1, g.output_dims.end())));
    const Array x = g.array("input", g.batch_dims), dy = g.array("grad_output", g.output_dims);
    const kernels::ConvDims d = layer_dims(conv, g.batch_dims[0]);
    const ConvAllowances a = conv_allowances(floats(x), floats(conv.array("Weights")), floats(biases), floats(dy), d);
    NETKIT_CHECK_REPORT(
        mismatch_report("output", to_doubles(conv.evaluate_batch(x)), g.numbers("output"), a.y, g.output_dims));
    const Gradients grads = conv.gradients(x, dy);
    NETKIT_CHECK_REPORT(
        mismatch_report("dL/dInput", to_doubles(grads.input()), g.numbers("grad_input"), a.dx, g.batch_dims));
    NETKIT_CHECK_REPORT(mismatch_report("dL/dWeights", to_doubles(grads.arrays.at("Weights")),
                                        g.numbers("grad_weights"), a.dw, g.weights_dims));
    if (g.has_biases)
      NETKIT_CHECK_REPORT(
          mismatch_report("dL/dBiases", to_doubles(grads.arrays.at("Biases")), g.numbers("grad_biases"), a.db));
    else
      CHECK(grads.arrays.count("Biases") == 0);
    // The double-precision reference agrees with PyTorch's float64 results to float64 rounding.
    const auto ref =
        kernels::reference::convolution(floats(x), floats(conv.array("Weights")), floats(biases), d, floats(dy));
    const Tolerance tight{1e-9, 1e-12};
    NETKIT_CHECK_REPORT(mismatch_report("reference output", ref.y, g.numbers("output"), tight));
    NETKIT_CHECK_REPORT(mismatch_report("reference dL/dInput", ref.dx, g.numbers("grad_input"), tight));
    NETKIT_CHECK_REPORT(mismatch_report("reference dL/dWeights", ref.dw, g.numbers("grad_weights"), tight));
  }
}

// ---- finite differences ----------------------------------------------------------------------

namespace {

struct FdCase {
  const char* name;
  std::vector<int64_t> example;
  nlohmann::json options;
  int64_t batch;
};

std::ostream& operator<<(std::ostream& os, const FdCase& c) { return os << c.name << " " << c.options.dump(); }

double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double e : v) m = std::max(m, std::abs(e));
  return m;
}

}  // namespace

TEST_CASE("Convolution: gradients match central differences", "[convolution]") {
  const FdCase c = GENERATE(
      FdCase{"2-D k3 pad 1", {2, 5, 4}, {{"OutputChannels", 3}, {"KernelSize", 3}, {"PaddingSize", 1}}, 2},
      FdCase{"2-D stride 2 dilation 2",
             {3, 7, 6},
             {{"OutputChannels", 2}, {"KernelSize", 2}, {"Stride", 2}, {"Dilation", 2}, {"PaddingSize", 1}},
             2},
      FdCase{"2-D groups", {4, 4, 5}, {{"OutputChannels", 4}, {"KernelSize", {2, 3}}, {"ChannelGroups", 2}}, 3},
      FdCase{"2-D 1x1 direct", {3, 3, 3}, {{"OutputChannels", 2}, {"KernelSize", 1}}, 2},
      FdCase{"2-D Same even kernel, no biases",
             {2, 5, 5},
             {{"OutputChannels", 2}, {"KernelSize", 4}, {"PaddingSize", "Same"}, {"HasBiases", false}},
             2},
      FdCase{"2-D Same stride 2",
             {2, 5, 6},
             {{"OutputChannels", 2}, {"KernelSize", 3}, {"Stride", 2}, {"PaddingSize", "Same"}},
             1},
      FdCase{"1-D", {2, 9}, {{"OutputChannels", 3}, {"KernelSize", 3}, {"Stride", 2}, {"PaddingSize", 2}}, 2},
      FdCase{"3-D k3 pad 1", {2, 3, 4, 3}, {{"OutputChannels", 2}, {"KernelSize", 3}, {"PaddingSize", 1}}, 2},
      FdCase{"3-D strides, dilation, groups",
             {4, 5, 3, 4},
             {{"OutputChannels", 2},
              {"KernelSize", {2, 2, 3}},
              {"Stride", {2, 1, 1}},
              {"Dilation", {1, 2, 1}},
              {"ChannelGroups", 2},
              {"PaddingSize", {0, 1, 1}}},
             2},
      FdCase{"3-D Same, no biases",
             {2, 3, 3, 3},
             {{"OutputChannels", 2}, {"KernelSize", 2}, {"PaddingSize", "Same"}, {"HasBiases", false}},
             2});
  INFO(c);
  nlohmann::json options = c.options;
  options["Input"] = c.example;
  options["BiasesInitializer"] = "NarrowNormal";
  LayerNet conv = ConvolutionLayer(options);
  conv.initialize(5);
  Random random(3, c.name);
  std::vector<int64_t> batch_dims{c.batch};
  batch_dims.insert(batch_dims.end(), c.example.begin(), c.example.end());
  const Array x = random_uniform(batch_dims, random, -2, 2);
  const Array w = random_normal(conv.port_shape("Output").with_batch(c.batch), random);
  const Gradients g = conv.gradients(x, w);
  constexpr double kStep = 1e-2;
  // Natural sizes of the gradients, which a wrong formula misses by O(1) of: dX sums OC/G K
  // products |dY| |W|, dW and db sum N OH OW products |dY| |X| and |dY|.
  const auto& layer = dynamic_cast<const Convolution&>(conv.layer());
  const double dy = max_abs(to_doubles(w)), terms = static_cast<double>(w.size() / conv.port_shape("Output")[0]);
  const double kernel = static_cast<double>(conv.array("Weights").size() / conv.array("Weights").dims()[0] /
                                            conv.array("Weights").dims()[1]);
  const double per_group = static_cast<double>(conv.port_shape("Output")[0] / layer.config().groups);
  auto check = [&](const std::string& what, const Array& analytic, const std::vector<double>& numeric, double scale) {
    NETKIT_CHECK_REPORT(compare_gradient(what, analytic, numeric, {1e-3, 1e-3 * scale}).report);
    // A gradient 10% off fails.
    Array wrong = analytic;
    for (int64_t i = 0; i < wrong.size(); ++i) wrong[i] *= 1.1f;
    CHECK_FALSE(compare_gradient(what, wrong, numeric, {1e-3, 1e-3 * scale}).ok());
  };
  check("dL/dInput", g.input(), numeric_input_gradient(conv, x, w, Mode::Test, kStep),
        per_group * kernel * dy * max_abs(to_doubles(conv.array("Weights"))));
  check("dL/dWeights", g.arrays.at("Weights"), numeric_array_gradient(conv, "Weights", x, w, Mode::Test, kStep),
        terms * dy * max_abs(to_doubles(x)));
  if (conv.has_array("Biases"))
    check("dL/dBiases", g.arrays.at("Biases"), numeric_array_gradient(conv, "Biases", x, w, Mode::Test, kStep),
          terms * dy);
  // The mode makes no difference to a convolution.
  CHECK(conv.gradients(x, w, Mode::Train).input().bit_equal(g.input()));
  CHECK(conv.evaluate_batch(x, Mode::Train).bit_equal(conv.evaluate_batch(x)));
}
