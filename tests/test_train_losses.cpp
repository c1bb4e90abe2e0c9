// How NetTrain finds its loss: attached CrossEntropyLoss after a Softmax, a loss given by the
// user, a net with its own "Loss" port, MeanSquaredLoss for array targets.
#include <catch2/catch.hpp>

#include <netkit/graph/net.h>
#include <netkit/train/net_train.h>
#include "tests/support/golden.h"

using namespace netkit;
using namespace netkit::test;

namespace {

LayerNet lin(int64_t out) {
  return LinearLayer(
      {{"Weights", out == 3 ? nlohmann::json{{0.5, -1.0}, {0.25, 0.5}, {-0.5, 1.0}} : nlohmann::json{{0.5, -1.0}}},
       {"Biases", out == 3 ? nlohmann::json{0.1, 0.0, -0.1} : nlohmann::json{0.25}}});
}

TrainOptions plain() {
  TrainOptions o;
  o.batch_size = 2;
  o.rounds = 3;
  o.seed = 5;
  o.sgd = {0.1, 0.9, false, 0.0, 0.0};
  return o;
}

const Array kX({4, 2}, {1, 2, -1, 0.5, 0, 1, 2, -2});

}  // namespace

TEST_CASE("Loss: Softmax + attached CrossEntropyLoss trains like a given logits loss", "[train][train_losses]") {
  const TrainingData data = TrainingData::classification(kX, {0, 2, 1, 0});
  const TrainResults attached =
      net_train(NetChain({{"lin", lin(3)}, {"softmax", LayerNet::create("Softmax")}}), data, plain());
  TrainOptions o = plain();
  o.loss = Net(LayerNet::create("CrossEntropyLoss", {{"InputForm", "Logits"}}));
  const TrainResults given = net_train(NetChain({{"lin", lin(3)}}), data, o);
  NETKIT_CHECK_REPORT(mismatch_report("Weights", to_doubles(attached.net.array({"lin", "Weights"})),
                                      to_doubles(given.net.array({"lin", "Weights"})), Tolerance{1e-6, 1e-7}));
  NETKIT_CHECK_REPORT(mismatch_report("losses", attached.batch_losses, given.batch_losses, Tolerance{1e-6, 1e-7}));
  // The trained nets are the user's: no loss layer attached.
  CHECK(attached.net.output_ports() == std::vector<std::string>{"Output"});
  CHECK(attached.net.nodes().size() == 2);
}

TEST_CASE("Loss: a net with a Loss port is trained as it is, array targets get MeanSquaredLoss",
          "[train][train_losses]") {
  const Array t({4, 1}, {1, -1, 0.5, 2});
  const Net with_loss = NetGraph({{"lin", lin(1)}, {"loss", LayerNet::create("MeanSquaredLoss")}},
                                 {{NetPort("Input"), "lin"}, {"lin", NetPort("loss", "Input")}}, {{"Input", 2}});
  REQUIRE(with_loss.output_ports() == std::vector<std::string>{"Loss"});
  const TrainResults own =
      net_train(with_loss, TrainingData({{"Input", kX}, {"Target", t}}, TargetKind::Array), plain());
  const TrainResults attached = net_train(NetChain({{"lin", lin(1)}}), TrainingData::regression(kX, t), plain());
  NETKIT_CHECK_REPORT(
      bit_difference_report("Weights", own.net.array({"lin", "Weights"}), attached.net.array({"lin", "Weights"})));
  CHECK(own.batch_losses == attached.batch_losses);
  CHECK(own.net.output_ports() == std::vector<std::string>{"Loss"});
}
