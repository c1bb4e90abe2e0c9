#include "tools/cli/commands.h"

#include <chrono>
#include <cstdio>
#include <utility>

#include <netkit/core/checked_size.h>
#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/graph/net_info.h>
#include <netkit/graph/net_json.h>
#include <netkit/graph/plan.h>
#include <netkit/layers/option_reader.h>
#include <netkit/train/fashion_mnist.h>
#include <netkit/train/net_train.h>
#include "tools/cli/classification.h"
#include "tools/cli/learning_curve.h"
#include "tools/cli/progress.h"
#include "tools/cli/trained_output.h"

namespace netkit::cli {

namespace {

// Upper bounds of the counts given on the command line: large enough for any real run, small
// enough that no product of them with the data's sizes can overflow.
constexpr int64_t kMaxEpochs = 1000000;
constexpr int64_t kMaxBatch = 65536;

const OptionSpec kData{"data", ArgKind::Text, "fashion-mnist (Debian's package) or a directory of IDX files", "DIR"};
const OptionSpec kThreads{
    "threads", ArgKind::Integer, "threads (default: NETKIT_NUM_THREADS, OMP_NUM_THREADS or all)", "T", 1, kMaxThreads};
const OptionSpec kJson{"json", ArgKind::Flag, "print a machine-readable summary line last", ""};

FashionMnist load_data(const ParsedArgs& a) {
  FashionMnistOptions o;
  const std::string data = a.text("data", "fashion-mnist");
  if (data != "fashion-mnist") o.directory = data;
  return load_fashion_mnist(o);
}

// "the test set in \"DIR\"", for messages.
std::string split_name(const ParsedArgs& a, const std::string& split) {
  return "the " + split + " in " + in_quotes(a.text("data", "fashion-mnist"));
}

int64_t class_count(const FashionMnist& data) { return static_cast<int64_t>(data.class_names.size()); }

// Training needs both splits non-empty (the test set is scored after every round) and the net a
// classifier of the data's classes.
void check_training_classifier(const Net& model, const FashionMnist& data, const ParsedArgs& a) {
  check_classifier(model, data.train.images, class_count(data), split_name(a, "training set"));
  check_classifier(model, data.test.images, class_count(data), split_name(a, "test set"));
}

// Takes the split by value: pass std::move(split) when it is not needed afterwards, so the
// images are not held twice (60000 training images are 188 MB as float32).
TrainingData classification_data(LabeledImages split) {
  return TrainingData::classification(std::move(split.images),
                                      std::vector<int64_t>(split.labels.begin(), split.labels.end()));
}

// The size of the trained model's file: that of the net with every array initialized.
size_t trained_model_bytes(const Net& model, uint64_t seed) {
  Net initialized = model;
  if (!initialized.initialized()) with_location("netkit train", [&] { initialized.initialize(seed); });
  return net_to_text(initialized).size();
}

void apply_threads(const ParsedArgs& a) {
  if (a.has("threads")) set_num_threads(static_cast<int>(a.integer("threads", 1)));
}

int run_train(const ParsedArgs& a, std::ostream& out, std::ostream& err, bool terminal) {
  const std::string schedule = a.text("schedule", "constant");  // checked before any data is read
  if (schedule != "constant" && schedule != "cosine")
    throw OptionError("netkit train, option --schedule", "unknown schedule", "constant or cosine", in_quotes(schedule));
  apply_threads(a);
  const Net model = load_net(a.positionals[0]);
  TrainOptions o;
  o.seed = static_cast<uint64_t>(a.integer("seed", 0));
  const std::string out_path = a.text("out", "");
  check_output_locations(out_path, a.text("checkpoint-dir", ""), trained_model_bytes(model, o.seed));
  FashionMnist data = load_data(a);
  with_location(a.positionals[0], [&] { check_training_classifier(model, data, a); });
  o.batch_size = a.integer("batch", 64);
  o.rounds = a.integer("epochs", 2);
  o.sgd.learning_rate = a.number("lr", 0.05);
  o.sgd.momentum = a.number("momentum", 0.9);
  o.sgd.l2 = a.number("l2", 0);
  if (schedule == "cosine") o.schedule = LearningRateSchedule::cosine();
  o.validation_data = std::make_shared<TrainingData>(classification_data(data.test));
  o.checkpoints.directory = a.text("checkpoint-dir", "");
  o.checkpoints.every_rounds = 1;
  if (a.has("resume")) {
    const auto files = list_checkpoints(a.text("resume", ""));
    if (files.empty())
      throw OptionError("netkit train, option --resume", "no checkpoint in the directory", "checkpoint-*.json files",
                        "none in " + in_quotes(a.text("resume", "")));
    o.resume_from = files.back();
  }
  auto last_draw = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  o.progress = [&](const Progress& p) {
    if (p.event == Progress::Event::Batch) {
      if (!terminal) return true;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_draw < std::chrono::milliseconds(200) && p.batch != p.batches_per_round) return true;
      last_draw = now;
      const double per_step = p.step > 0 ? p.seconds / static_cast<double>(p.step) : 0;
      err << "\r"
          << progress_bar({static_cast<int>(p.round), static_cast<int>(o.rounds), p.batch, p.batches_per_round, p.loss,
                           p.seconds > 0 ? static_cast<double>(p.step * o.batch_size) / p.seconds : 0,
                           per_step * static_cast<double>(p.total_steps - p.step)})
          << std::flush;
      return true;
    }
    if (terminal) err << "\n";
    const RoundRecord& r = *p.round_record;
    char line[200];
    std::snprintf(line, sizeof line,
                  "round %lld/%lld: train loss %.4f, train accuracy %.4f, test loss %.4f, test accuracy %.4f, %.1f s\n",
                  (long long)r.round, (long long)o.rounds, r.training_loss, r.training_accuracy.value_or(-1),
                  r.validation_loss.value_or(-1), r.validation_accuracy.value_or(-1), r.seconds);
    out << line << std::flush;
    return true;
  };
  const TrainResults results = net_train(model, classification_data(std::move(data.train)), o);
  save_trained_net(results.net, out_path, o.checkpoints.directory);
  std::vector<RoundPoint> curve;
  for (const auto& r : results.rounds)
    curve.push_back({static_cast<int>(r.round), r.training_loss, r.training_accuracy.value_or(-1),
                     r.validation_loss.value_or(-1), r.validation_accuracy.value_or(-1)});
  std::vector<std::string> curve_files;
  try {  // the model is saved: a curve that cannot be written is reported, not fatal
    curve_files = write_learning_curve(out_path, curve);
  } catch (const FormatError& e) {
    err << "netkit train: warning: " << e.what() << "\n";
  }
  const ClassificationReport report = evaluate_classifier(results.net, data.test.images, data.test.labels);
  char line[200];
  std::snprintf(line, sizeof line, "trained %lld steps in %.1f s (%.0f examples/s); saved %s\ntest accuracy: %.4f\n",
                (long long)results.steps, results.seconds, results.examples_per_second, out_path.c_str(),
                report.accuracy);
  out << line;
  if (a.has("json"))
    out << nlohmann::json{{"command", "train"},
                          {"model", out_path},
                          {"epochs", o.rounds},
                          {"steps", results.steps},
                          {"learning_rate", o.sgd.learning_rate},
                          {"schedule", schedule},
                          {"l2", o.sgd.l2},
                          {"seconds", results.seconds},
                          {"examples_per_second", results.examples_per_second},
                          {"test_accuracy", report.accuracy},
                          {"test_loss", report.loss},
                          {"curve", curve_files}}
               .dump()
        << "\n";
  return 0;
}

// Evaluating needs every array: a model that is not trained yet is refused with the command that trains it.
void check_trained(const Net& model, const std::string& path) {
  std::vector<std::string> missing;
  for (const auto& array : information(model).arrays)
    if (!array.initialized) missing.push_back(array.key);
  if (!missing.empty())
    throw EvaluationError(path, "the model has arrays that are not initialized", "a trained model",
                          std::to_string(missing.size()) + " missing (" + join_names(missing) + ")",
                          "Train it first: netkit train " + path + " --out TRAINED.json");
}

int run_eval(const ParsedArgs& a, std::ostream& out) {
  apply_threads(a);
  const std::string& path = a.positionals[0];
  const Net model = load_net(path);
  const FashionMnist data = load_data(a);
  check_trained(model, path);
  const ClassificationReport r = with_location(path, [&] {
    check_classifier(model, data.test.images, class_count(data), split_name(a, "test set"));
    return evaluate_classifier(model, data.test.images, data.test.labels);
  });
  out << report_text(r, data.class_names);
  if (a.has("json")) {
    nlohmann::json j = report_json(r, data.class_names);
    j["command"] = "eval";
    out << j.dump() << "\n";
  }
  return 0;
}

int run_info(const ParsedArgs& a, std::ostream& out) {
  const Net model = load_net(a.positionals[0]);
  const NetInfo info = information(model);
  int64_t per_example = 0;  // every value of the net, kept (as for training)
  for (const auto& v : model.plan().values)
    if (v.shape.known()) per_example = checked_add(per_example, v.shape.num_elements(), "activations per example");
  const int64_t activation_bytes = checked_multiply(per_example, sizeof(float), "activation bytes per example");
  out << layer_table(model) << "\n";
  char line[200];
  std::snprintf(line, sizeof line,
                "parameters: %lld (%.2f MB as float32)\nactivations: %.2f MB per example kept for training\n",
                (long long)info.total_elements, static_cast<double>(info.total_elements) * 4 / 1e6,
                static_cast<double>(activation_bytes) / 1e6);
  out << line;
  if (a.has("json"))
    out << nlohmann::json{{"command", "info"},
                          {"layers", info.layer_count},
                          {"arrays", info.array_count},
                          {"parameters", info.total_elements},
                          {"activation_bytes_per_example", activation_bytes}}
               .dump()
        << "\n";
  return 0;
}

}  // namespace

const std::vector<CommandSpec>& command_specs() {
  static const std::vector<CommandSpec> specs{
      {"train",
       {"MODEL.json"},
       {kData,
        {"epochs", ArgKind::Integer, "rounds over the training set (default 2)", "N", 1, kMaxEpochs},
        {"batch", ArgKind::Integer, "batch size (default 64)", "B", 1, kMaxBatch},
        {"lr", ArgKind::Number, "learning rate (default 0.05)", "X", 0},
        {"momentum", ArgKind::Number, "SGD momentum (default 0.9)", "X", 0},
        {"l2", ArgKind::Number, "L2 regularisation, PyTorch's weight_decay (default 0)", "X", 0},
        {"schedule", ArgKind::Text, "learning rate: constant or cosine (to 0 at the last step; default constant)", "S"},
        {"seed", ArgKind::Integer, "seed for initialization and shuffling (default 0)", "S", 0},
        kThreads,
        {"checkpoint-dir", ArgKind::Text, "write a checkpoint after every round", "D"},
        {"resume", ArgKind::Text, "continue from the newest checkpoint in D", "D"},
        {"out", ArgKind::Text, "the trained model file", "OUT.json"},
        kJson},
       {"out"},
       "Trains MODEL.json on Fashion-MNIST with SGD, evaluates it on the test set after every round, saves the\n"
       "trained model to OUT.json and its learning curve to OUT.curve.csv and OUT.curve.svg."},
      {"eval",
       {"MODEL.json"},
       {kData, kThreads, kJson},
       {},
       "Evaluates MODEL.json on the Fashion-MNIST test set: loss, accuracy, per-class accuracy, confusion matrix."},
      {"info",
       {"MODEL.json"},
       {kJson},
       {},
       "Prints the layer table, the arrays, the parameter count and a memory estimate."},
      {"graph", {"MODEL.json"}, {}, {}, "Prints the net as Graphviz DOT (render with: dot -Tsvg)."},
  };
  return specs;
}

std::string overview() {
  std::string s = "usage: netkit COMMAND [ARGS] (netkit COMMAND --help for more)\n\ncommands:\n";
  for (const auto& c : command_specs())
    s += "  " + c.name + std::string(8 - c.name.size(), ' ') + c.summary.substr(0, c.summary.find('\n')) + "\n";
  return s;
}

int run_command(const std::string& command, const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                bool terminal) {
  for (const auto& spec : command_specs()) {
    if (spec.name != command) continue;
    const ParsedArgs a = parse_args(spec, args);
    if (a.has("help")) {
      out << usage(spec);
      return 0;
    }
    if (command == "train") return run_train(a, out, err, terminal);
    if (command == "eval") return run_eval(a, out);
    if (command == "info") return run_info(a, out);
    out << to_dot(load_net(a.positionals[0]));
    return 0;
  }
  std::string names;
  for (const auto& spec : command_specs()) names += (names.empty() ? "" : ", ") + in_quotes(spec.name);
  throw OptionError("netkit", "unknown command " + in_quotes(command), "one of " + names, in_quotes(command),
                    "See netkit --help");
}

}  // namespace netkit::cli
