#include <netkit/train/net_train.h>

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
double total_loss(const Array& loss) {
  double sum = 0;
  for (int64_t i = 0; i < loss.size(); ++i) sum += loss[i];
  return sum;
}

// Positions whose largest class score (the first, on ties) is the target index.
void count_correct(const Array& output, const Array& target, int64_t classes, Accuracy& acc) {
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
    const auto out = with_location(where, [&] { return executor.forward(batch, Mode::Test); });
    loss += total_loss(out.at("Loss"));
    if (with_output) count_correct(out.at("Output"), batch.at("Target"), g.classes, acc);
  }
  return {loss / static_cast<double>(data.size()), acc.value()};
}

void require_finite_gradients(const std::vector<ArrayRef>& refs, const std::string& where) {
  for (const ArrayRef& r : refs)
    if (r.gradient && r.learning_rate_multiplier != 0.0 && !r.gradient->all_finite())
      throw TrainingError(where + ", array " + in_quotes(r.key), "gradient is not finite", "finite gradients",
                          "NaN or infinity", "The update was not applied; lower the learning rate or check the data");
}

}  // namespace

void validate(const TrainOptions& o) {
  auto need = [](bool ok, const std::string& name, const std::string& expected, const std::string& got) {
    if (!ok) throw OptionError("NetTrain option " + in_quotes(name), "out of range", expected, got);
  };
  need(o.batch_size >= 1, "BatchSize", "an integer >= 1", std::to_string(o.batch_size));
  need(o.max_steps >= 0, "MaxTrainingSteps", "an integer >= 0 (0: use rounds)", std::to_string(o.max_steps));
  need(o.max_steps > 0 || o.rounds >= 1, "MaxTrainingRounds", "an integer >= 1", std::to_string(o.rounds));
  need(std::isfinite(o.time_limit) && o.time_limit >= 0, "TimeGoal", "seconds >= 0 (0: none)",
       number_text(o.time_limit));
  need(o.validation_fraction >= 0 && o.validation_fraction < 1, "ValidationSet", "a held-out fraction in [0, 1)",
       number_text(o.validation_fraction));
  if (o.validation_fraction > 0 && o.validation_data)
    throw OptionError("NetTrain option \"ValidationSet\"", "given twice", "validation data or a held-out fraction",
                      "both");
  need(o.checkpoints.keep >= 1, "CheckpointKeep", "an integer >= 1", std::to_string(o.checkpoints.keep));
  need(o.checkpoints.every_batches >= 0 && o.checkpoints.every_rounds >= 0, "CheckpointEvery", "integers >= 0",
       std::to_string(o.checkpoints.every_batches) + " batches, " + std::to_string(o.checkpoints.every_rounds) +
           " rounds");
  validate(o.sgd);
  o.schedule.validate();
}

TrainResults net_train(const Net& net, const Dataset& all_data, const TrainOptions& o) {
  const auto start = Clock::now();
  validate(o);
  if (all_data.empty())
    throw TrainingError("NetTrain, training data", "no examples", "at least one example", "0 examples");
  std::optional<std::pair<std::vector<int64_t>, std::vector<int64_t>>> split_indices;  // (kept, held out)
  if (o.validation_fraction > 0) split_indices = held_out_indices(all_data.size(), o.validation_fraction, o.seed);

  Net trained = net;
  if (!trained.initialized()) with_location("NetTrain", [&] { trained.initialize(o.seed); });
  TrainingGraph g = make_training_graph(trained, o.loss, all_data.target_kind());
  std::optional<CheckedDataset> checked_data, checked_validation;
  const Dataset& source = checked(all_data, g, "training data", checked_data);
  std::optional<DatasetSubset> kept, held_out;  // views of `source`, nothing copied
  if (split_indices) kept.emplace(source, split_indices->first), held_out.emplace(source, split_indices->second);
  const Dataset& data = kept ? static_cast<const Dataset&>(*kept) : source;
  const Dataset* validation = held_out ? &*held_out : nullptr;
  if (o.validation_data) validation = &checked(*o.validation_data, g, "validation data", checked_validation);
  const bool train_with_output = o.measure_training_accuracy && g.evaluation;
  Net& train_net = train_with_output ? *g.evaluation : g.net;
  apply_multiplier_rules(train_net, o.learning_rate_multipliers, g.depth);
  Net& eval_net = g.evaluation ? *g.evaluation : g.net;
  Executor executor(train_net), eval_executor(eval_net);
  Sgd sgd(o.sgd);

  const int64_t n = data.size(), bs = o.batch_size, per_round = (n + bs - 1) / bs;
  const int64_t total = o.max_steps > 0 ? o.max_steps : o.rounds * per_round;
  const int64_t rounds = o.max_steps > 0 ? (o.max_steps + per_round - 1) / per_round : o.rounds;
  Random shuffler(o.seed, "shuffle");
  Checkpoint run;  // the run's position and results so far, as a checkpoint holds them
  run.seed = o.seed;
  double prior_seconds = 0;  // training time before a resume
  if (!o.resume_from.empty()) {
    run = read_checkpoint(o.resume_from);
    validate_checkpoint(run, {executor.array_refs(train_net), moving_layer_paths(train_net), n, validation != nullptr},
                        o, o.resume_from);
    const std::string where = "NetTrain, resuming from " + in_quotes(o.resume_from);
    restore_state(executor, train_net, run.state, where);
    sgd.set_state(run.momentum, run.optimizer_steps);
    shuffler.set_state(run.shuffle_state);
    prior_seconds = run.seconds;
  }
  auto save_checkpoint = [&] {
    run.state = snapshot_state(executor, train_net);
    run.momentum = sgd.momentum_buffers();
    run.optimizer_steps = sgd.steps_taken();
    run.seconds = prior_seconds + seconds_since(start);
    if (o.checkpoints.include_net) {
      Net current = trained;
      copy_arrays_into(train_net, g.depth, current);
      run.net = o.checkpoints.net_writer ? o.checkpoints.net_writer(current) : net_to_json(current);
    }
    write_checkpoint(o.checkpoints.directory, run, o.checkpoints.keep);
  };
  const bool checkpoints = !o.checkpoints.directory.empty();
  int64_t examples_now = 0;
  double training_seconds = 0;
  std::string stop_reason = o.max_steps > 0 ? "steps" : "rounds";
  bool stop = false;

  while (run.round < rounds && !stop) {
    run.shuffle_state = shuffler.state();
    std::vector<int64_t> order = identity_order(n);
    if (o.shuffle) shuffle(order, shuffler);
    const auto round_start = Clock::now();
    while (run.position < per_round && !stop) {
      if (o.max_steps > 0 && run.step >= o.max_steps) break;
      const int64_t begin = run.position * bs, end = std::min(n, begin + bs), b = end - begin;
      const std::string where = "NetTrain, step " + std::to_string(run.step + 1) + " (round " +
                                std::to_string(run.round + 1) + ", batch " + std::to_string(run.position + 1) + ")";
      const auto batch = load_batch(data, order, begin, end, where);
      const auto out = with_location(
          where, [&] { return executor.forward(batch, Mode::Train, true, forward_seed(o.seed, run.step)); });
      const Array& loss_out = out.at("Loss");
      const double loss = total_loss(loss_out) / static_cast<double>(b);
      if (!std::isfinite(loss))
        throw TrainingError(where, "loss is not finite", "a finite loss", number_text(loss),
                            "Training stopped before this step's update, after " + std::to_string(run.step) +
                                " completed steps; no checkpoint was written for this step. Lower the learning rate "
                                "or check the data");
      if (train_with_output) count_correct(out.at("Output"), batch.at("Target"), g.classes, run.round_accuracy);
      with_location(where, [&] {
        executor.backward({{"Loss", Array::filled(loss_out.dims(), 1.0f / static_cast<float>(b))}});
      });
      const double lr = o.schedule.rate(run.step, o.sgd.learning_rate, total);
      const std::vector<ArrayRef> refs = executor.array_refs(train_net);
      require_finite_gradients(refs, where);
      sgd.step(refs, lr);
      with_location(where, [&] { executor.update_moving(train_net); });
      ++run.step;
      ++run.position;
      run.batch_losses.push_back(loss);
      run.examples += b;
      examples_now += b;
      if (o.progress) {
        Progress p;
        p.step = run.step, p.total_steps = total, p.round = run.round + 1, p.batch = run.position;
        p.batches_per_round = per_round, p.loss = loss, p.learning_rate = lr, p.seconds = seconds_since(start);
        if (!o.progress(p)) stop = true, stop_reason = "stopped by the callback";
      }
      if (checkpoints && o.checkpoints.every_batches > 0 && run.step % o.checkpoints.every_batches == 0)
        save_checkpoint();
      if (o.time_limit > 0 && prior_seconds + seconds_since(start) >= o.time_limit)
        stop = true, stop_reason = "time limit";
    }
    training_seconds += seconds_since(round_start);
    if (run.position < per_round) break;  // a step limit or a stop inside the round
    RoundRecord record;
    record.round = run.round + 1;
    record.steps = run.step;
    double sum = 0;
    for (size_t i = run.batch_losses.size() - static_cast<size_t>(per_round); i < run.batch_losses.size(); ++i)
      sum += run.batch_losses[i];
    record.training_loss = sum / static_cast<double>(per_round);
    record.training_accuracy = run.round_accuracy.value();
    run.round_accuracy = {};
    if (validation) {
      if (&eval_net != &train_net) {
        Executor sync(train_net);
        restore_state(eval_executor, eval_net, snapshot_state(sync, train_net), "NetTrain, validation");
      }
      const Evaluation e = evaluate_set(eval_executor, g, g.evaluation.has_value(), *validation, bs,
                                        "NetTrain, validation after round " + std::to_string(record.round));
      record.validation_loss = e.loss;
      record.validation_accuracy = e.accuracy;
      if (o.keep_best_net && (run.best_round == 0 ||
                              e.loss < run.rounds[static_cast<size_t>(run.best_round - 1)].validation_loss.value())) {
        run.best_round = record.round;
        run.best = snapshot_state(executor, train_net);
      }
    }
    record.seconds = prior_seconds + seconds_since(start);
    run.rounds.push_back(record);
    ++run.round;
    run.position = 0;
    if (o.progress) {
      Progress p;
      p.event = Progress::Event::Round, p.step = run.step, p.total_steps = total, p.round = record.round;
      p.batch = per_round, p.batches_per_round = per_round, p.loss = record.training_loss;
      p.learning_rate = o.schedule.rate(std::max<int64_t>(run.step - 1, 0), o.sgd.learning_rate, total);
      p.seconds = seconds_since(start), p.round_record = run.rounds.back();
      if (!o.progress(p) && !stop) stop = true, stop_reason = "stopped by the callback";
    }
    if (checkpoints && o.checkpoints.every_rounds > 0 && run.round % o.checkpoints.every_rounds == 0) {
      run.shuffle_state = shuffler.state();  // the next round starts from here
      save_checkpoint();
    }
  }

  TrainResults results(trained);
  results.population_layers = with_location("NetTrain", [&] { return set_population_statistics(train_net, data, bs); });
  copy_arrays_into(train_net, g.depth, results.net);
  if (run.best) {
    Net best_graph = train_net;
    Executor best_executor(best_graph);
    restore_state(best_executor, best_graph, *run.best, "NetTrain, best net");
    results.best_net = trained;
    copy_arrays_into(best_graph, g.depth, *results.best_net);
    results.best_round = run.best_round;
  }
  results.batch_losses = std::move(run.batch_losses);
  results.rounds = std::move(run.rounds);
  results.steps = run.step;
  results.examples = run.examples;
  results.seconds = seconds_since(start);
  results.examples_per_second = training_seconds > 0 ? static_cast<double>(examples_now) / training_seconds : 0;
  results.stop_reason = stop_reason;
  return results;
}

}  // namespace netkit
