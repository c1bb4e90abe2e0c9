// NetTrain against PyTorch: ten SGD steps (momentum 0.9, L2) of a Linear-BN-Ramp-Linear-Softmax
// net and of a Convolution-BN-Ramp-Pooling-Flatten-Linear-Softmax net, from the same arrays on
// the same batches, give the same arrays and moving statistics. Golden data from
// tools/reference/train_golden.py (PyTorch momentum p = 1 - rho, "Unbiased" estimator).
// Tolerance: 1e-5 relative, plus 1e-7 absolute for the few array elements near 0 (measured here:
// worst 5.2e-6 relative, on a weight of 0.0042; float32 rounding of ten steps against float64).
#include <catch2/catch.hpp>

#include <netkit/graph/net.h>
#include <netkit/train/net_train.h>
#include "tests/support/golden.h"

using namespace netkit;
using namespace netkit::test;

namespace {

NetPath path_of(const std::string& key) {
  const size_t slash = key.find('/');
  return {key.substr(0, slash), key.substr(slash + 1)};
}

LayerNet bn() {
  return BatchNormalizationLayer({{"Epsilon", 1e-3}, {"Momentum", 0.9}, {"VarianceEstimator", "Unbiased"}});
}

Net golden_net(const std::string& name) {
  if (name == "vector")
    return NetChain({{"lin1", LinearLayer({{"OutputSize", 4}})},
                     {"bn", bn()},
                     {"ramp", RampLayer()},
                     {"lin2", LinearLayer({{"OutputSize", 3}})},
                     {"softmax", LayerNet::create("Softmax")}},
                    {{"Input", 5}});
  return NetChain({{"conv", LayerNet::create("Convolution", {{"OutputChannels", 2}, {"KernelSize", 3}})},
                   {"bn", bn()},
                   {"ramp", RampLayer()},
                   {"pool", LayerNet::create("Pooling", {{"KernelSize", 2}})},
                   {"flatten", LayerNet::create("Flatten")},
                   {"lin", LinearLayer({{"OutputSize", 3}})},
                   {"softmax", LayerNet::create("Softmax")}},
                  {{"Input", {1, 6, 6}}});
}

}  // namespace

TEST_CASE("NetTrain matches PyTorch for ten SGD steps with momentum, L2 and batch norm", "[train][train_golden]") {
  for (const std::string name : {"vector", "conv"}) {
    CAPTURE(name);
    const nlohmann::json g = read_json(source_path("data/golden/train/" + name + ".json"));
    Net net = golden_net(name);
    for (const auto& [key, a] : g["initial"].items())
      net.set_array(path_of(key), json_array(a["data"], a["shape"].get<std::vector<int64_t>>(), key));
    REQUIRE(net.initialized());
    const auto dims = g["input_shape"].get<std::vector<int64_t>>();
    std::vector<int64_t> classes = g["targets"].get<std::vector<int64_t>>();
    const TrainingData data = TrainingData::classification(json_array(g["inputs"], dims, "inputs"), classes);
    TrainOptions o;
    o.batch_size = g["options"]["batch_size"].get<int64_t>();
    o.max_steps = g["options"]["steps"].get<int64_t>();
    o.shuffle = false;
    o.sgd.learning_rate = g["options"]["learning_rate"].get<double>();
    o.sgd.momentum = g["options"]["momentum"].get<double>();
    o.sgd.l2 = g["options"]["l2"].get<double>();
    const TrainResults r = net_train(net, data, o);
    NETKIT_CHECK_REPORT(mismatch_report("batch losses", r.batch_losses, json_numbers(g["batch_losses"], "losses"),
                                        Tolerance{1e-5, 1e-7}));
    for (const auto& [key, expected] : g["final"].items())
      NETKIT_CHECK_REPORT(mismatch_report(key, to_doubles(r.net.array(path_of(key))), json_numbers(expected, key),
                                          Tolerance{1e-5, 1e-7}));
  }
}
