// BatchNormalization against the PyTorch reference data in data/golden/batch_norm/*.json
// (written by tools/reference/bn_golden.py, computed in float64 from float32 inputs). Reading
// the stored JSON is all these tests need: never torch.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <netkit/graph/layer_net.h>
#include <netkit/layers/kernels/batch_norm.h>
#include "tests/support/golden.h"

using namespace netkit;
using namespace netkit::test;

namespace {

// float32 results against float64 references.
constexpr Tolerance kValues{1e-5, 1e-6};  // outputs, input gradients, moving statistics
constexpr Tolerance kSums{1e-5, 1e-5};    // Scaling / Biases gradients: sums over the batch

struct Golden {
  std::string name;  // file name, for messages
  nlohmann::json doc;
  std::vector<int64_t> batch_dims;

  std::vector<int64_t> example_dims() const { return {batch_dims.begin() + 1, batch_dims.end()}; }
  bool interleaving() const { return doc.at("interleaving").get<bool>(); }
  int64_t channels() const { return doc.at("channels").get<int64_t>(); }
  Array batch(const nlohmann::json& list, const std::string& what) const {
    return json_array(list, batch_dims, name + " " + what);
  }
  std::vector<double> numbers(const nlohmann::json& list, const std::string& what) const {
    return json_numbers(list, name + " " + what);
  }
};

const std::vector<Golden>& golden_files() {
  static const std::vector<Golden> files = [] {
    std::vector<Golden> out;
    for (const auto& path : files_in(source_path("data/golden/batch_norm"), ".json")) {
      Golden g{std::filesystem::path(path).filename().string(), read_json(path), {}};
      g.batch_dims = g.doc.at("batch_shape").get<std::vector<int64_t>>();
      out.push_back(std::move(g));
    }
    return out;
  }();
  return files;
}

// The layer exactly as the reference configured it, with the file's initial arrays.
LayerNet layer_for(const Golden& g) {
  const auto& d = g.doc;
  LayerNet net = BatchNormalizationLayer({{"Input", g.example_dims()},
                                          {"Interleaving", d.at("interleaving")},
                                          {"Epsilon", d.at("epsilon")},
                                          {"Momentum", d.at("rho")},
                                          {"VarianceEstimator", d.at("variance_estimator")},
                                          {"Scaling", d.at("scaling")},
                                          {"Biases", d.at("biases")},
                                          {"MovingMean", d.at("moving_mean")},
                                          {"MovingVariance", d.at("moving_variance")}});
  REQUIRE(net.initialized());
  return net;
}

void check_mode(const Golden& g, Mode mode) {
  INFO("golden file " << g.name << ", " << mode_name(mode) << " mode");
  const nlohmann::json& expected = g.doc.at(mode == Mode::Train ? "train" : "test");
  const LayerNet net = layer_for(g);
  const Array x = g.batch(g.doc.at("input"), "input");
  const Array w = g.batch(g.doc.at("grad_output"), "grad_output");
  NETKIT_CHECK_REPORT(
      mismatch_report("output", net.evaluate_batch(x, mode), g.numbers(expected.at("output"), "output"), kValues));
  const Gradients grads = net.gradients(x, w, mode);
  NETKIT_CHECK_REPORT(
      mismatch_report("dL/dInput", grads.input(), g.numbers(expected.at("grad_input"), "grad_input"), kValues));
  NETKIT_CHECK_REPORT(mismatch_report("dL/dScaling", grads.arrays.at("Scaling"),
                                      g.numbers(expected.at("grad_scaling"), "grad_scaling"), kSums));
  NETKIT_CHECK_REPORT(mismatch_report("dL/dBiases", grads.arrays.at("Biases"),
                                      g.numbers(expected.at("grad_biases"), "grad_biases"), kSums));
}

}  // namespace

TEST_CASE("BN golden: reference files are present and consistent", "[bn]") {
  const auto& files = golden_files();
  REQUIRE(files.size() >= 7);  // the cases of tools/reference/bn_golden.py
  for (const Golden& g : files) {
    INFO("golden file " << g.name);
    const auto& d = g.doc;
    REQUIRE(g.batch_dims.size() >= 2);
    CHECK(g.channels() == g.batch_dims[g.interleaving() ? g.batch_dims.size() - 1 : 1]);
    CHECK(d.at("variance_estimator") == "Unbiased");
    CHECK(d.at("steps").size() == 3);
    // Every stored input must be a float32 value, or netkit would not see the reference's data.
    std::vector<std::pair<std::string, const nlohmann::json*>> inputs = {{"input", &d.at("input")},
                                                                         {"grad_output", &d.at("grad_output")},
                                                                         {"scaling", &d.at("scaling")},
                                                                         {"biases", &d.at("biases")},
                                                                         {"moving_mean", &d.at("moving_mean")},
                                                                         {"moving_variance", &d.at("moving_variance")}};
    for (size_t s = 0; s < d.at("steps").size(); ++s)
      inputs.push_back({"steps[" + std::to_string(s) + "].input", &d.at("steps")[s].at("input")});
    for (const auto& [what, list] : inputs)
      for (double v : g.numbers(*list, what)) {
        INFO(what << " value " << v);
        REQUIRE(static_cast<double>(static_cast<float>(v)) == v);
      }
  }
}

TEST_CASE("BN golden: Train-mode outputs and gradients", "[bn]") {
  for (const Golden& g : golden_files()) check_mode(g, Mode::Train);
}

TEST_CASE("BN golden: Test-mode outputs and gradients", "[bn]") {
  for (const Golden& g : golden_files()) check_mode(g, Mode::Test);
}

TEST_CASE("BN golden: moving statistics after three training steps", "[bn]") {
  for (const Golden& g : golden_files()) {
    LayerNet net = layer_for(g);
    const auto& steps = g.doc.at("steps");
    for (size_t s = 0; s < steps.size(); ++s) {
      INFO("golden file " << g.name << ", after step " << s + 1);
      net.moving_update_step(g.batch(steps[s].at("input"), "step input"));
      NETKIT_CHECK_REPORT(mismatch_report("MovingMean", net.array("MovingMean"),
                                          g.numbers(steps[s].at("moving_mean"), "moving_mean"), kValues));
      NETKIT_CHECK_REPORT(mismatch_report("MovingVariance", net.array("MovingVariance"),
                                          g.numbers(steps[s].at("moving_variance"), "moving_variance"), kValues));
    }
  }
}

TEST_CASE("BN golden: batch mean and biased variance of the Train kernel", "[bn]") {
  // The statistics the layer normalises with, straight from the kernel: the mean is stored as
  // float (one rounding), the variance in double and is exact to far below float precision.
  for (const Golden& g : golden_files()) {
    INFO("golden file " << g.name);
    const Array x = g.batch(g.doc.at("input"), "input");
    int64_t spatial = 1;
    for (size_t k = 2; k < g.batch_dims.size(); ++k) spatial *= g.batch_dims[g.interleaving() ? k - 1 : k];
    const int64_t n = g.batch_dims[0], c = g.channels();
    const kernels::BnLayout l =
        g.interleaving() ? kernels::BnLayout{n * spatial, c, 1} : kernels::BnLayout{n, c, spatial};
    const auto size = static_cast<size_t>(c);
    std::vector<float> gamma(size, 1.0f), beta(size, 0.0f), y(static_cast<size_t>(x.size())), mean(size), inv_std(size);
    std::vector<double> var(size);
    kernels::batch_norm_train_forward(x.data(), l, gamma.data(), beta.data(), g.doc.at("epsilon").get<double>(),
                                      y.data(), mean.data(), inv_std.data(), var.data());
    const auto& train = g.doc.at("train");
    NETKIT_CHECK_REPORT(mismatch_report("batch mean", std::vector<double>(mean.begin(), mean.end()),
                                        g.numbers(train.at("batch_mean"), "batch_mean"), Tolerance{1e-7, 1e-12}));
    NETKIT_CHECK_REPORT(mismatch_report("biased batch variance", var,
                                        g.numbers(train.at("batch_variance_biased"), "batch_variance_biased"),
                                        Tolerance{1e-12, 0}));
  }
}
