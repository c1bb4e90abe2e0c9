// `netkit train` loses no work: its output and checkpoint locations are checked before training,
// a trained net whose final save fails is saved elsewhere and named, and a learning curve that
// cannot be written is reported without leaving empty files.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <netkit/core/error.h>
#include <netkit/graph/net_json.h>
#include "tests/support/fixtures.h"
#include "tests/test_train_support.h"
#include "tools/cli/commands.h"
#include "tools/cli/learning_curve.h"
#include "tools/cli/trained_output.h"

using namespace netkit;
using namespace netkit::cli;
using namespace netkit::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

const std::string kModel = std::string(NETKIT_SOURCE_DIR) + "/data/models/fashion_cnn.json";
const std::string kSample = std::string(NETKIT_SOURCE_DIR) + "/data/samples/fashion-mnist";

// The model file's size once trained: what the location check asks room for.
std::string model_bytes() {
  Net net = load_net(kModel);
  net.initialize(0);
  return std::to_string(net_to_text(net).size());
}

std::string train_error(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  try {
    run_command("train", args, out, err, false);
  } catch (const Error& e) {
    CHECK(out.str().empty());  // refused before the first round
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("CLI train: an unwritable --out or --checkpoint-dir is refused before training", "[cli]") {
  // The data directory does not exist either: the output is checked before any data is read.
  CHECK_THAT(train_error({kModel, "--data", "/no/such/data", "--out", "no/such/dir/m.json"}),
             Equals("netkit train, option --out \"no/such/dir/m.json\": cannot be written; expected a writable "
                    "location with room for the model (" +
                    model_bytes() + " bytes), got no such directory. Nothing was trained"));
  TempDir dir("cli-out");
  std::filesystem::create_directories(dir.path);
  write_text(dir.path + "/file", "");
  CHECK_THAT(train_error({kModel, "--data", "/no/such/data", "--out", dir.path + "/m.json", "--checkpoint-dir",
                          dir.path + "/file/checkpoints"}),
             Equals("netkit train, option --checkpoint-dir \"" + dir.path +
                    "/file/checkpoints\": cannot be created; expected a writable directory, got a part of the path is "
                    "not a directory. Nothing was trained"));
  CHECK_THAT(train_error({kModel, "--data", "/no/such/data", "--out", dir.path}),
             Equals("netkit train, option --out \"" + dir.path +
                    "\": cannot be written; expected a writable location with room for the model (" + model_bytes() +
                    " bytes), got the path is a directory. Nothing was trained"));
  // A disk with less room than the model needs (here: a file-size limit).
  rlimit saved{};
  ::getrlimit(RLIMIT_FSIZE, &saved);
  auto* previous = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 1000;
  ::setrlimit(RLIMIT_FSIZE, &small);
  const std::string full = train_error({kModel, "--data", "/no/such/data", "--out", dir.path + "/m.json"});
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, previous);
  CHECK_THAT(full, Contains("option --out \"" + dir.path + "/m.json\": cannot be written") &&
                       Contains("got the file is too large for the file system or the process's file-size limit"));
  CHECK(std::filesystem::directory_iterator(dir.path) != std::filesystem::directory_iterator());
  for (const auto& entry : std::filesystem::directory_iterator(dir.path))
    CHECK(entry.path().filename() == "file");  // the probes left nothing
}

TEST_CASE("CLI train: a final save that fails keeps the trained net elsewhere and says where", "[cli]") {
  const Net net = small_cnn();
  Net trained = net;
  trained.initialize(4);
  TempDir checkpoints("cli-fallback");
  std::filesystem::create_directories(checkpoints.path);
  const std::string fallback = checkpoints.path + "/trained-m.json";
  CHECK_THROWS_WITH(save_trained_net(trained, "no/such/dir/m.json", checkpoints.path),
                    Equals("netkit train, option --out \"no/such/dir/m.json\": cannot save the trained model; expected "
                           "a writable location, got no such directory. The trained net was saved to \"" +
                           fallback + "\" instead"));
  CHECK(load_net(fallback).array({"lin", "Weights"}).dims() == trained.array({"lin", "Weights"}).dims());
  CHECK(net_to_text(load_net(fallback)) == net_to_text(trained));
  // Without a checkpoint directory: the system's temporary directory.
  const std::string temp =
      (std::filesystem::temp_directory_path() / (std::to_string(static_cast<long>(::getpid())) + "-trained-m.json"))
          .string();
  TempFile cleanup(temp);
  CHECK_THROWS_WITH(save_trained_net(trained, "no/such/dir/m.json", ""),
                    Contains("The trained net was saved to \"" + temp + "\" instead"));
  CHECK(net_to_text(load_net(temp)) == net_to_text(trained));
  // Nowhere to save: said so, with the locations tried.
  const char* saved_tmpdir = std::getenv("TMPDIR");
  const std::string previous = saved_tmpdir ? saved_tmpdir : "";
  ::setenv("TMPDIR", "/no/such/tmp", 1);
  const std::string lost = [&] {
    try {
      save_trained_net(trained, "no/such/dir/m.json", "no/such/checkpoints");
    } catch (const TrainingError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  }();
  if (saved_tmpdir)
    ::setenv("TMPDIR", previous.c_str(), 1);
  else
    ::unsetenv("TMPDIR");
  CHECK_THAT(lost,
             Equals("netkit train, option --out \"no/such/dir/m.json\": cannot save the trained model; expected a "
                    "writable location, got no such directory. The trained net could not be saved elsewhere "
                    "either (tried \"no/such/checkpoints/trained-m.json\")"));
}

TEST_CASE("CLI train: a learning curve that cannot be written is reported and leaves no empty file", "[cli]") {
  CHECK_THROWS_WITH(write_learning_curve("no/such/dir/m.json", {{1, 0.5, 0.5, 0.6, 0.4}}),
                    Equals("no/such/dir/m.curve.csv: cannot write the learning curve; expected a writable file, got "
                           "no such directory"));
  TempDir dir("cli-curve");
  std::filesystem::create_directories(dir.path + "/m.curve.csv");  // a directory where the CSV should go
  std::ostringstream out, err;
  const int code = run_command("train",
                               {kModel, "--data", kSample, "--epochs", "1", "--batch", "64", "--threads", "2", "--out",
                                dir.path + "/m.json", "--json"},
                               out, err, false);
  CHECK(code == 0);
  CHECK_THAT(err.str(), Equals("netkit train: warning: " + dir.path +
                               "/m.curve.csv: cannot write the learning curve; expected a writable file, got the path "
                               "is a directory\n"));
  CHECK(std::filesystem::file_size(dir.path + "/m.json") > 0);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path))
    if (entry.is_regular_file()) CHECK(entry.file_size() > 0);
  CHECK_THAT(out.str(), Contains("\"curve\":[]"));
}
