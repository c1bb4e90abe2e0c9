#include <netkit/train/trainer.h>

#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/graph/executor.h>
#include <netkit/graph/net_json.h>
#include <netkit/train/dataset_subset.h>
#include <netkit/train/loss_graph.h>
#include <netkit/train/net_state.h>
#include <netkit/train/population_statistics.h>

namespace netkit {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The seed of optimisation step k's forward pass (Dropout masks): splitmix64 of (seed, k), so it
// depends on the step alone and a resumed run draws the same masks.
uint64_t forward_seed(uint64_t seed, int64_t step) {
  uint64_t z = seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(step + 1));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Sum over the batch of each example's loss (the sum of its "Loss" elements), in double, in order.
double total_loss(const ArrayView& loss) {
  double sum = 0;
  for (int64_t i = 0; i < loss.size(); ++i) sum += loss[i];
  return sum;
}

// Positions whose largest class score (the first, on ties) is the target index.
void count_correct(const ArrayView& output, const Array& target, int64_t classes, Accuracy& acc) {
  const int64_t n = output.size() / classes;
  for (int64_t p = 0; p < n; ++p) {
    const float* row = output.data() + p * classes;
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (row[c] > row[best]) best = c;
    acc.positions += 1;
    if (static_cast<float>(best) == target[p]) acc.correct += 1;
  }
}

struct Evaluation {
  double loss = 0;
  std::optional<double> accuracy;
};

// The examples order[begin .. end) of `data`; errors get `where` in front.
std::map<std::string, Array> load_batch(const Dataset& data, const std::vector<int64_t>& order, int64_t begin,
                                        int64_t end, const std::string& where) {
  const std::vector<int64_t> indices(order.begin() + begin, order.begin() + end);
  return with_location(where, [&] { return data.batch(indices); });
}

// A dataset that is not in memory, as NetTrain reads it: each batch checked as it is loaded (ports
// and example shapes as declared, finite values, class indices in range), examples named by their
// index in `source`. (In-memory data is checked once, up front, by check_data.)
class CheckedDataset : public Dataset {
 public:
  CheckedDataset(const Dataset& source, const TrainingGraph& graph, std::string what)
      : source_(source), graph_(graph), what_(std::move(what)), shapes_(source.example_shapes()) {}
  int64_t size() const override { return source_.size(); }
  TargetKind target_kind() const override { return source_.target_kind(); }
  std::map<std::string, Shape> example_shapes() const override { return shapes_; }
  std::map<std::string, Array> batch(const std::vector<int64_t>& indices) const override {
    std::map<std::string, Array> b = source_.batch(indices);
    check_batch(shapes_, b, static_cast<int64_t>(indices.size()), what_);
    check_batch_values(graph_, b, indices, what_);
    return b;
  }

 private:
  const Dataset& source_;
  const TrainingGraph& graph_;
  std::string what_;
  std::map<std::string, Shape> shapes_;
};

// `data` checked before training and, unless it is in memory, wrapped to check every batch.
const Dataset& checked(const Dataset& data, const TrainingGraph& g, const std::string& what,
                       std::optional<CheckedDataset>& wrapper) {
  check_data(g, data, what);
  if (dynamic_cast<const TrainingData*>(&data)) return data;
  wrapper.emplace(data, g, what);
  return *wrapper;
}

// Test mode over a whole data set in order: mean loss per example and, with the class output, accuracy.
Evaluation evaluate_set(Executor& executor, const TrainingGraph& g, bool with_output, const Dataset& data,
                        int64_t batch_size, const std::string& where) {
  const std::vector<int64_t> order = identity_order(data.size());
  double loss = 0;
  Accuracy acc;
  for (int64_t begin = 0; begin < data.size(); begin += batch_size) {
    const auto batch = load_batch(data, order, begin, std::min(begin + batch_size, data.size()), where);
    with_location(where, [&] { executor.run_forward(batch, Mode::Test, false); });
    loss += total_loss(executor.output("Loss"));
    if (with_output) count_correct(executor.output("Output"), batch.at("Target"), g.classes, acc);
  }
  return {loss / static_cast<double>(data.size()), acc.value()};
}

void require_finite_gradients(const std::vector<ArrayRef>& refs, const std::string& where) {
  for (const ArrayRef& r : refs)
    if (!r.gradient.empty() && r.learning_rate_multiplier != 0.0 && !r.gradient.all_finite())
      throw TrainingError(where + ", array " + in_quotes(r.key), "gradient is not finite", "finite gradients",
                          "NaN or infinity", "The update was not applied; lower the learning rate or check the data");
}

}  // namespace

struct Trainer::Run {
  Run(const Net& net, const Dataset& all_data, const TrainOptions& options);
  void start_round();
  void save_checkpoint();
  std::string step_where() const;

  const TrainOptions o;
  const Clock::time_point start = Clock::now();
  Net trained;  // the user's net with every array initialized
  TrainingGraph g;
  std::optional<CheckedDataset> checked_data, checked_validation;
  std::optional<DatasetSubset> kept, held_out;  // views of the training data, nothing copied
  const Dataset* data = nullptr;
  const Dataset* validation = nullptr;
  bool train_with_output = false;
  Net* train_net = nullptr;
  Net* eval_net = nullptr;
  std::optional<Executor> executor, eval_executor;
  Sgd sgd;
  int64_t n = 0, per_round = 0, total = 0, rounds = 0;
  Random shuffler;
  Checkpoint run;            // the run's position and results so far, as a checkpoint holds them
  double prior_seconds = 0;  // training time before a resume
  std::vector<int64_t> order;
  bool round_started = false, stop = false, finished = false;
  Clock::time_point round_start;
  int64_t examples_now = 0;
  double training_seconds = 0, last_loss = 0;
  std::string stop_reason;
};

Trainer::Run::Run(const Net& net, const Dataset& all_data, const TrainOptions& options)
    : o((validate(options), options)), trained(net), sgd(options.sgd), shuffler(options.seed, "shuffle") {
  if (all_data.empty())
    throw TrainingError("NetTrain, training data", "no examples", "at least one example", "0 examples");
  std::optional<std::pair<std::vector<int64_t>, std::vector<int64_t>>> split;  // (kept, held out)
  if (o.validation_fraction > 0) split = held_out_indices(all_data.size(), o.validation_fraction, o.seed);
  if (!trained.initialized()) with_location("NetTrain", [&] { trained.initialize(o.seed); });
  g = make_training_graph(trained, o.loss, all_data.target_kind());
  const Dataset& source = checked(all_data, g, "training data", checked_data);
  if (split) kept.emplace(source, split->first), held_out.emplace(source, split->second);
  data = kept ? &*kept : &source;
  validation = held_out ? &*held_out : nullptr;
  if (o.validation_data) validation = &checked(*o.validation_data, g, "validation data", checked_validation);
  train_with_output = o.measure_training_accuracy && g.evaluation;
  train_net = train_with_output ? &*g.evaluation : &g.net;
  apply_multiplier_rules(*train_net, o.learning_rate_multipliers, g.depth);
  eval_net = g.evaluation ? &*g.evaluation : &g.net;
  executor.emplace(*train_net);
  eval_executor.emplace(*eval_net);
  n = data->size();
  const int64_t bs = o.batch_size;
  per_round = (n + bs - 1) / bs;
  total = o.max_steps > 0 ? o.max_steps : o.rounds * per_round;
  rounds = o.max_steps > 0 ? (o.max_steps + per_round - 1) / per_round : o.rounds;
  stop_reason = o.max_steps > 0 ? "steps" : "rounds";
  run.seed = o.seed;
  if (!o.resume_from.empty()) {
    run = read_checkpoint(o.resume_from);
    validate_checkpoint(run, {executor->array_refs(*train_net), moving_layer_paths(*train_net), n, validation != nullptr},
                        o, o.resume_from);
    const std::string where = "NetTrain, resuming from " + in_quotes(o.resume_from);
    restore_state(*executor, *train_net, run.state, where);
    sgd.set_state(run.momentum, run.optimizer_steps);
    shuffler.set_state(run.shuffle_state);
    prior_seconds = run.seconds;
  }
}

void Trainer::Run::save_checkpoint() {
  run.state = snapshot_state(*executor, *train_net);
  run.momentum = sgd.momentum_buffers();
  run.optimizer_steps = sgd.steps_taken();
  run.seconds = prior_seconds + seconds_since(start);
  if (o.checkpoints.include_net) {
    Net current = trained;
    copy_arrays_into(*train_net, g.depth, current);
    run.net = o.checkpoints.net_writer ? o.checkpoints.net_writer(current) : net_to_json(current);
  }
  write_checkpoint(o.checkpoints.directory, run, o.checkpoints.keep);
}

void Trainer::Run::start_round() {
  run.shuffle_state = shuffler.state();
  order = identity_order(n);
  if (o.shuffle) shuffle(order, shuffler);
  round_start = Clock::now();
  round_started = true;
}

std::string Trainer::Run::step_where() const {
  return "NetTrain, step " + std::to_string(run.step + 1) + " (round " + std::to_string(run.round + 1) + ", batch " +
         std::to_string(run.position + 1) + ")";
}

Trainer::Trainer(const Net& net, const Dataset& data, const TrainOptions& options)
    : run_(std::make_unique<Run>(net, data, options)) {}
Trainer::~Trainer() = default;

int64_t Trainer::steps() const { return run_->run.step; }
int64_t Trainer::round() const { return run_->run.round; }
double Trainer::last_loss() const { return run_->last_loss; }

bool Trainer::done() const { return run_->finished || run_->stop || run_->run.round >= run_->rounds; }

bool Trainer::step() {
  Run& t = *run_;
  if (done()) return false;
  if (!t.round_started) t.start_round();
  Checkpoint& run = t.run;
  const TrainOptions& o = t.o;
  if (run.position >= t.per_round || (o.max_steps > 0 && run.step >= o.max_steps)) return false;
  const int64_t begin = run.position * o.batch_size, end = std::min(t.n, begin + o.batch_size), b = end - begin;
  const std::string where = t.step_where();
  const auto batch = load_batch(*t.data, t.order, begin, end, where);
  Executor& executor = *t.executor;
  with_location(where, [&] { executor.run_forward(batch, Mode::Train, true, forward_seed(o.seed, run.step)); });
  const ArrayView loss_out = executor.output("Loss");
  const double loss = total_loss(loss_out) / static_cast<double>(b);
  if (!std::isfinite(loss))
    throw TrainingError(where, "loss is not finite", "a finite loss", number_text(loss),
                        "Training stopped before this step's update, after " + std::to_string(run.step) +
                            " completed steps; no checkpoint was written for this step. Lower the learning rate "
                            "or check the data");
  if (t.train_with_output)
    count_correct(executor.output("Output"), batch.at("Target"), t.g.classes, run.round_accuracy);
  with_location(where, [&] {
    float* dloss = executor.output_gradient("Loss");
    std::fill(dloss, dloss + loss_out.size(), 1.0f / static_cast<float>(b));
    executor.run_backward();
  });
  const double lr = o.schedule.rate(run.step, o.sgd.learning_rate, t.total);
  const std::vector<ArrayRef>& arrays = executor.store(*t.train_net).arrays();
  require_finite_gradients(arrays, where);
  t.sgd.step(arrays, lr);
  with_location(where, [&] { executor.update_moving(*t.train_net); });
  ++run.step;
  ++run.position;
  run.batch_losses.push_back(loss);
  run.examples += b;
  t.examples_now += b;
  t.last_loss = loss;
  if (o.progress) {
    Progress p;
    p.step = run.step, p.total_steps = t.total, p.round = run.round + 1, p.batch = run.position;
    p.batches_per_round = t.per_round, p.loss = loss, p.learning_rate = lr, p.seconds = seconds_since(t.start);
    if (!o.progress(p)) t.stop = true, t.stop_reason = "stopped by the callback";
  }
  if (!o.checkpoints.directory.empty() && o.checkpoints.every_batches > 0 &&
      run.step % o.checkpoints.every_batches == 0)
    t.save_checkpoint();
  if (o.time_limit > 0 && t.prior_seconds + seconds_since(t.start) >= o.time_limit)
    t.stop = true, t.stop_reason = "time limit";
  return true;
}

void Trainer::end_round() {
  Run& t = *run_;
  if (!t.round_started) {  // nothing trained since the last round ended
    t.finished = true;
    return;
  }
  Checkpoint& run = t.run;
  const TrainOptions& o = t.o;
  t.training_seconds += seconds_since(t.round_start);
  t.round_started = false;
  if (run.position < t.per_round) {  // a step limit or a stop inside the round
    t.finished = true;
    return;
  }
  RoundRecord record;
  record.round = run.round + 1;
  record.steps = run.step;
  double sum = 0;
  for (size_t i = run.batch_losses.size() - static_cast<size_t>(t.per_round); i < run.batch_losses.size(); ++i)
    sum += run.batch_losses[i];
  record.training_loss = sum / static_cast<double>(t.per_round);
  record.training_accuracy = run.round_accuracy.value();
  run.round_accuracy = {};
  if (t.validation) {
    if (t.eval_net != t.train_net) {
      Executor sync(*t.train_net);
      restore_state(*t.eval_executor, *t.eval_net, snapshot_state(sync, *t.train_net), "NetTrain, validation");
    }
    const Evaluation e = evaluate_set(*t.eval_executor, t.g, t.g.evaluation.has_value(), *t.validation, o.batch_size,
                                      "NetTrain, validation after round " + std::to_string(record.round));
    record.validation_loss = e.loss;
    record.validation_accuracy = e.accuracy;
    if (o.keep_best_net &&
        (run.best_round == 0 || e.loss < run.rounds[static_cast<size_t>(run.best_round - 1)].validation_loss.value())) {
      run.best_round = record.round;
      run.best = snapshot_state(*t.executor, *t.train_net);
    }
  }
  record.seconds = t.prior_seconds + seconds_since(t.start);
  run.rounds.push_back(record);
  ++run.round;
  run.position = 0;
  if (o.progress) {
    Progress p;
    p.event = Progress::Event::Round, p.step = run.step, p.total_steps = t.total, p.round = record.round;
    p.batch = t.per_round, p.batches_per_round = t.per_round, p.loss = record.training_loss;
    p.learning_rate = o.schedule.rate(std::max<int64_t>(run.step - 1, 0), o.sgd.learning_rate, t.total);
    p.seconds = seconds_since(t.start), p.round_record = run.rounds.back();
    if (!o.progress(p) && !t.stop) t.stop = true, t.stop_reason = "stopped by the callback";
  }
  if (!o.checkpoints.directory.empty() && o.checkpoints.every_rounds > 0 &&
      run.round % o.checkpoints.every_rounds == 0) {
    run.shuffle_state = t.shuffler.state();  // the next round starts from here
    t.save_checkpoint();
  }
}

TrainResults Trainer::finish() {
  Run& t = *run_;
  Checkpoint& run = t.run;
  TrainResults results(t.trained);
  results.population_layers =
      with_location("NetTrain", [&] { return set_population_statistics(*t.train_net, *t.data, t.o.batch_size); });
  copy_arrays_into(*t.train_net, t.g.depth, results.net);
  if (run.best) {
    Net best_graph = *t.train_net;
    Executor best_executor(best_graph);
    restore_state(best_executor, best_graph, *run.best, "NetTrain, best net");
    results.best_net = t.trained;
    copy_arrays_into(best_graph, t.g.depth, *results.best_net);
    results.best_round = run.best_round;
  }
  results.batch_losses = std::move(run.batch_losses);
  results.rounds = std::move(run.rounds);
  results.steps = run.step;
  results.examples = run.examples;
  results.seconds = seconds_since(t.start);
  results.examples_per_second = t.training_seconds > 0 ? static_cast<double>(t.examples_now) / t.training_seconds : 0;
  results.stop_reason = t.stop_reason;
  t.finished = true;
  return results;
}

}  // namespace netkit
