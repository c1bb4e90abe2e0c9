// The netkit commands end to end on the committed Fashion-MNIST sample (data/samples): train ->
// eval -> info -> graph, and the messages of bad command lines.
#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include <netkit/core/error.h>
#include "tests/support/fixtures.h"
#include "tools/cli/commands.h"

using namespace netkit;
using namespace netkit::cli;
using namespace netkit::test;
using Catch::Matchers::Contains;
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
                    Equals("netkit train, option --batch: out of range; expected an integer >= 1, got 0"));
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
