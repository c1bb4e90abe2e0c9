// The netkit commands end to end on the committed Fashion-MNIST sample (data/samples): train ->
// eval -> info -> graph, and the messages of bad command lines.
#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include <netkit/core/error.h>
#include <netkit/graph/layer_net.h>
#include <netkit/graph/net_json.h>
#include "tests/support/fixtures.h"
#include "tests/support/idx_files.h"
#include "tools/cli/classification.h"
#include "tools/cli/commands.h"

using namespace netkit;
using namespace netkit::cli;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::Equals;
using Catch::Matchers::StartsWith;

namespace {

const std::string kModel = std::string(NETKIT_SOURCE_DIR) + "/data/models/fashion_cnn.json";
const std::string kSample = std::string(NETKIT_SOURCE_DIR) + "/data/samples/fashion-mnist";

struct Run {
  int code;
  std::string out, err;
};

// The --json summary: the last line of the output.
nlohmann::json last_line(const std::string& out) {
  const size_t end = out.find_last_not_of('\n');
  return nlohmann::json::parse(out.substr(out.rfind('\n', end) + 1));
}

Run run(const std::string& command, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = run_command(command, args, out, err, false);
  return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("CLI: train, eval, info and graph on the committed sample", "[cli]") {
  TempFile model("cli_test_model.json"), csv("cli_test_model.curve.csv"), svg("cli_test_model.curve.svg");
  const Run train = run("train", {kModel, "--data", kSample, "--epochs", "2", "--batch", "16", "--seed", "3",
                                  "--threads", "2", "--out", model.path, "--json"});
  CHECK(train.code == 0);
  CHECK_THAT(train.out, Contains("round 1/2: train loss "));
  CHECK_THAT(train.out, Contains("round 2/2: train loss "));
  CHECK_THAT(train.out, Contains("test accuracy: "));
  const auto summary = last_line(train.out);
  CHECK(summary.at("command") == "train");
  CHECK(summary.at("steps") == 16);  // 2 rounds of 128 images in batches of 16
  const double accuracy = summary.at("test_accuracy");
  CHECK(accuracy > 0.3);  // 10 classes: chance is 0.1; 256 examples seen
  CHECK_THAT(read_text(csv.path),
             StartsWith("round,train_loss,train_accuracy,validation_loss,validation_accuracy\n1,"));
  CHECK_THAT(train.out, Contains(", train accuracy 0."));                // measured by default, a fraction
  CHECK_THAT(read_text(csv.path), !Contains(",,") && !Contains(",\n"));  // no empty cell: every column has a value
  CHECK_THAT(read_text(svg.path), Contains("<polyline class=\"train loss\""));

  // The saved model evaluates to the accuracy training reported.
  const Run eval = run("eval", {model.path, "--data", kSample, "--json"});
  CHECK(eval.code == 0);
  CHECK_THAT(eval.out, Contains("per-class accuracy:"));
  CHECK_THAT(eval.out, Contains("confusion matrix"));
  const auto report = last_line(eval.out);
  CHECK(report.at("accuracy") == accuracy);
  CHECK(report.at("examples") == 64);

  const Run info = run("info", {model.path});
  CHECK_THAT(info.out, Contains("NetChain: 10 layers, 14 arrays, 20682 elements"));
  CHECK_THAT(info.out, Contains("parameters: 20682"));
  // The schedule and L2 reach the trainer: same seed, different trained net.
  TempFile cosine_model("cli_test_cosine.json"), cosine_csv("cli_test_cosine.curve.csv"),
      cosine_svg("cli_test_cosine.curve.svg");
  const Run cosine =
      run("train", {kModel, "--data", kSample, "--epochs", "2", "--batch", "16", "--seed", "3", "--threads", "2",
                    "--schedule", "cosine", "--l2", "0.001", "--out", cosine_model.path, "--json"});
  const auto cosine_summary = last_line(cosine.out);
  CHECK(cosine_summary.at("schedule") == "cosine");
  CHECK(cosine_summary.at("l2") == 0.001);
  CHECK(summary.at("schedule") == "constant");
  CHECK(cosine_summary.at("test_loss") != summary.at("test_loss"));

  const Run graph = run("graph", {model.path});
  CHECK_THAT(graph.out, StartsWith("digraph net {"));
  CHECK_THAT(graph.out, Contains("\"conv1\" -> \"bn1\""));
}

TEST_CASE("CLI: bad command lines and bad files give one clear message", "[cli]") {
  CHECK_THROWS_WITH(run("trian", {}), Equals("netkit: unknown command \"trian\"; expected one of \"train\", \"eval\", "
                                             "\"info\", \"graph\", got \"trian\". See netkit --help"));
  CHECK_THROWS_WITH(run("train", {kModel}), Contains("missing option --out"));
  CHECK_THROWS_WITH(run("train", {kModel, "--out", "x.json", "--batch", "0"}),
                    Equals("netkit train, option --batch: out of range; expected an integer from 1 to 65536, got 0"));
  CHECK_THROWS_WITH(
      run("train", {kModel, "--data", kSample, "--schedule", "linear", "--out", "unused.json"}),
      Equals("netkit train, option --schedule: unknown schedule; expected constant or cosine, got \"linear\""));
  CHECK_THROWS_AS(run("eval", {"no_such_model.json"}), FormatError);
  CHECK_THROWS_WITH(run("eval", {kModel, "--data", "/no/such/dir"}), Contains("/no/such/dir"));
  const std::string empty_dir = std::string(NETKIT_SOURCE_DIR) + "/data/models";  // no checkpoints there
  CHECK_THROWS_WITH(run("train", {kModel, "--data", kSample, "--resume", empty_dir, "--out", "unused.json"}),
                    Equals("netkit train, option --resume: no checkpoint in the directory; expected checkpoint-*.json "
                           "files, got none in \"" +
                           empty_dir + "\""));
  const Run help = run("train", {"--help"});
  CHECK(help.code == 0);
  CHECK_THAT(help.out, StartsWith("usage: netkit train MODEL.json"));
  CHECK_THAT(overview(), Contains("train"));
}

namespace {

// `net`, initialized, saved to `file`.
void save_initialized(Net net, const TempFile& file) {
  net.initialize(1);
  save_net(file.path, net);
}

// A Fashion-MNIST directory with `train` training and `test` test images (all zero, label 0).
void write_data(const TempDir& dir, uint32_t train, uint32_t test) {
  for (const auto& [prefix, n] : {std::pair<std::string, uint32_t>{"train", train}, {"t10k", test}}) {
    write_text(dir.file(prefix + "-images-idx3-ubyte"), idx_file(8, {n, 28, 28}, std::string(n * 28 * 28, '\0')));
    write_text(dir.file(prefix + "-labels-idx1-ubyte"), idx_file(8, {n}, std::string(n, '\0')));
  }
}

}  // namespace

TEST_CASE("CLI: eval and train refuse nets that are not classifiers of the data's classes", "[cli]") {
  TempFile conv("cli_test_conv.json"), matrix("cli_test_matrix.json"), twenty("cli_test_twenty.json");
  save_initialized(NetChain({ConvolutionLayer({{"OutputChannels", 10}, {"KernelSize", 3}, {"Input", {1, 28, 28}}})}),
                   conv);
  save_initialized(NetChain({FlattenLayer({{"Input", {1, 28, 28}}}), LinearLayer({{"OutputSize", 20}}),
                             ReshapeLayer({{"Dimensions", {10, 2}}})}),
                   matrix);
  save_initialized(
      NetChain({FlattenLayer({{"Input", {1, 28, 28}}}), LinearLayer({{"OutputSize", 20}}), SoftmaxLayer()}), twenty);
  // A [10, 26, 26] output used to be read as 6760 classes, a [10, 2] output as 20 classes.
  CHECK_THROWS_WITH(run("eval", {conv.path, "--data", kSample}),
                    Equals(conv.path + ", NetChain, output port \"Output\" for inputs [1, 28, 28]: not a vector of "
                                       "class probabilities; expected a shape [classes], got [10, 26, 26]. End the net "
                                       "with a Linear layer of one output per class and a SoftmaxLayer"));
  CHECK_THROWS_WITH(run("eval", {matrix.path, "--data", kSample}), Contains("got [10, 2]"));
  CHECK_THROWS_WITH(run("eval", {twenty.path, "--data", kSample}),
                    Equals(twenty.path +
                           ", NetChain, output port \"Output\": the number of classes differs from the "
                           "data's (the test set in \"" +
                           kSample + "\"); expected [10], got [20]"));
  CHECK_THROWS_AS(run("train", {twenty.path, "--data", kSample, "--out", "unused.json"}), EvaluationError);
  CHECK_THROWS_WITH(run("train", {conv.path, "--data", kSample, "--out", "unused.json"}),
                    Contains("not a vector of class probabilities"));
}

TEST_CASE("CLI: eval and train refuse empty data sets", "[cli]") {
  TempFile model("cli_test_empty_model.json");
  save_initialized(
      NetChain({FlattenLayer({{"Input", {1, 28, 28}}}), LinearLayer({{"OutputSize", 10}}), SoftmaxLayer()}), model);
  TempDir no_test, no_train;
  write_data(no_test, 2, 0);
  write_data(no_train, 0, 2);
  // eval used to print accuracy 0.0000 and exit 0.
  CHECK_THROWS_WITH(run("eval", {model.path, "--data", no_test.path}),
                    Equals(model.path + ", the test set in \"" + no_test.path +
                           "\": no examples; expected at least one example, got 0 examples"));
  CHECK_THROWS_WITH(run("train", {model.path, "--data", no_test.path, "--out", "unused.json"}),
                    Contains("the test set in \"" + no_test.path + "\": no examples"));
  CHECK_THROWS_WITH(run("train", {model.path, "--data", no_train.path, "--out", "unused.json"}),
                    Contains("the training set in \"" + no_train.path + "\": no examples"));
  CHECK(run("eval", {model.path, "--data", no_train.path}).code == 0);  // eval needs only the test set
  // The evaluation itself refuses no examples too, rather than dividing by zero.
  const Net net = load_net(model.path);
  CHECK_THROWS_WITH(evaluate_classifier(net, Array::zeros({0, 1, 28, 28}), {}),
                    Equals("evaluation data: no examples; expected at least one example, got 0 examples"));
}

TEST_CASE("CLI: eval of an untrained model says how to train it", "[cli]") {
  CHECK_THROWS_WITH(run("eval", {kModel, "--data", kSample}),
                    StartsWith(kModel + ": the model has arrays that are not initialized; expected a trained model, "
                                        "got 14 missing (\"conv1/Weights\", ") &&
                        EndsWith("). Train it first: netkit train " + kModel + " --out TRAINED.json"));
}

TEST_CASE("CLI: counts from the command line have upper bounds", "[cli]") {
  // --batch 9223372036854775807 used to overflow, train 0 steps with loss -nan and save the untrained model.
  CHECK_THROWS_WITH(run("train", {kModel, "--out", "unused.json", "--batch", "9223372036854775807"}),
                    Equals("netkit train, option --batch: out of range; expected an integer from 1 to 65536, got "
                           "9223372036854775807"));
  // --threads 100000 used to exhaust the OpenMP runtime's memory.
  CHECK_THROWS_WITH(run("eval", {kModel, "--threads", "100000"}),
                    Equals("netkit eval, option --threads: out of range; expected an integer from 1 to 256, got "
                           "100000"));
  CHECK_THROWS_WITH(run("train", {kModel, "--out", "unused.json", "--epochs", "1000001"}),
                    Contains("expected an integer from 1 to 1000000, got 1000001"));
  const Run help = run("train", {"--help"});
  CHECK_THAT(help.out, Contains("batch size (default 64); an integer from 1 to 65536\n"));
  CHECK_THAT(help.out, Contains("; an integer from 1 to 256\n"));
}

TEST_CASE("CLI: info of a net with large counts prints them without overflow", "[cli]") {
  TempFile wide("cli_test_wide.json");
  save_net(wide.path, LinearLayer({{"OutputSize", 65536}, {"Input", 32768}}));  // 2^31 weights, not initialized
  const Run info = run("info", {wide.path, "--json"});
  CHECK_THAT(info.out, Contains("parameters: 2147549184 (8590.20 MB as float32)"));
  CHECK(last_line(info.out).at("activation_bytes_per_example") == (32768 + 65536) * 4);
}
