#include <netkit/graph/executor.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include <netkit/core/error.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

struct Executor::Run {
  std::map<std::string, Shape> input_shapes;  // what the plan was made for
  bool for_backward = false;
  Plan plan;
  std::vector<int64_t> elements;  // per value, per example
  BufferAssignment forward_buffers, gradient_buffers;
  int64_t batch = 0;
  std::vector<Array> forward_slots, gradient_slots;
  std::vector<std::vector<Array>> saved;  // per step
  std::vector<const float*> inputs;       // per value: the batch for net inputs
  std::vector<Array> input_copies;        // kept for backward, which may run after the caller's batches are gone
  // The arrays, bound for this plan; rebound when the net's plan (where its arrays live) changes.
  ArrayStore store;
  std::shared_ptr<const Plan> bound_to;
  bool bound = false;  // the arguments below match the store, the batch and the buffers
  // Every step's arguments, made once per plan and batch size; a batch only refreshes pointers.
  std::vector<ForwardArgs> forward_args;
  std::vector<BackwardArgs> backward_args;
  std::vector<MovingUpdateArgs> moving_args;
  std::vector<float*> grad;         // per value: its gradient buffer
  std::vector<char> written;        // per value: has a gradient this backward
  std::vector<Array> output_grads;  // per output port, for the batch
  std::vector<char> output_grad_given;
  NetGradients gradients;  // what backward() returns, refilled (not reallocated) by each call
  Mode mode = Mode::Test;
  uint64_t seed = 0;
  bool ready_for_backward = false;
  bool gradients_sized = false;
};

Executor::Executor(const Net& net) : net_(&net) {}
Executor::~Executor() = default;
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;

const Plan& Executor::plan() const { return run_ ? run_->plan : net_->plan(); }

namespace {

uint64_t step_seed(uint64_t seed, size_t step) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (step + 1);  // splitmix64 finaliser
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

void Executor::check_initialized() {
  if (run_ && run_->bound_to == net_->plan_ptr() && run_->store.missing().empty()) return;
  std::vector<std::string> missing;
  for (const auto& step : net_->plan().steps)
    for (const auto& d : step.decls)
      if (d.role != ArrayRole::Saved && !net_->storage_of(step, d.name)) missing.push_back(step.array_key(d.name));
  if (!missing.empty())
    throw EvaluationError("net", "cannot evaluate: arrays not initialized", "initialized arrays",
                          "missing " + join_names(missing), "Call initialize() first");
}

void Executor::prepare(const std::map<std::string, Array>& inputs, Mode mode, bool for_backward) {
  const Plan& net_plan = net_->plan();
  std::map<std::string, Shape> shapes;
  int64_t batch = -1;
  for (const auto& [name, batch_array] : inputs)
    if (std::find(net_plan.input_names.begin(), net_plan.input_names.end(), name) == net_plan.input_names.end())
      throw EvaluationError("net", "unknown input port " + in_quotes(name),
                            "one of " + join_names(net_plan.input_names), in_quotes(name));
  // The common case, a batch shaped like the last one, is recognised without building shapes.
  bool same_shapes = run_ && run_->for_backward == for_backward && run_->input_shapes.size() == inputs.size();
  for (size_t i = 0; i < net_plan.input_names.size() && same_shapes; ++i) {
    const auto it = inputs.find(net_plan.input_names[i]);
    const auto last = run_->input_shapes.find(net_plan.input_names[i]);
    same_shapes = it != inputs.end() && last != run_->input_shapes.end() &&
                  last->second.rank() == it->second.rank() - 1 &&
                  std::equal(last->second.dims().begin(), last->second.dims().end(), it->second.dims().begin() + 1) &&
                  (batch < 0 || it->second.dims()[0] == batch);
    if (same_shapes) batch = it->second.dims()[0];
  }
  if (!same_shapes) batch = -1;
  for (size_t i = 0; i < net_plan.input_names.size(); ++i) {
    const std::string& port = net_plan.input_names[i];
    auto at = [&port] { return "net, port " + in_quotes(port); };  // made only for a message
    auto it = inputs.find(port);
    if (!same_shapes) {
      const Shape expected = net_plan.values[net_plan.input_values[i]].shape;
      if (it == inputs.end())
        throw EvaluationError(at(), "no data for this port", "a batch of " + expected.to_string(), "none");
      const Array& b = it->second;
      if (b.rank() < 1 || b.dims()[0] < 1)
        throw EvaluationError(at(), "batch has no examples", "a batch of " + expected.to_string(),
                              "dims " + dims_to_string(b.dims()));
      if (batch >= 0 && b.dims()[0] != batch)
        throw EvaluationError(at(), "batch size differs from the other ports", std::to_string(batch) + " examples",
                              std::to_string(b.dims()[0]));
      batch = b.dims()[0];
      const Shape example(std::vector<int64_t>(b.dims().begin() + 1, b.dims().end()));
      if (!Shape::unify(expected, example))
        throw EvaluationError(
            at(), "batch does not match the port shape", "examples of shape " + expected.to_string(),
            "examples of shape " + example.to_string() + " (batch dims " + dims_to_string(b.dims()) + ")");
      shapes[port] = example;
    }
    if (!it->second.all_finite()) it->second.require_finite(at(), "input");
  }
  if (!same_shapes) {
    auto r = std::make_unique<Run>();
    r->input_shapes = shapes;
    r->for_backward = for_backward;
    r->plan = make_plan(*net_, shapes, true);
    const size_t n = r->plan.values.size(), steps = r->plan.steps.size();
    std::vector<int> birth(n, -1), death(n, -1);
    for (size_t v = 0; v < n; ++v) {
      const PlanValue& value = r->plan.values[v];
      if (!value.shape.known())
        throw EvaluationError(value.source, "shape not known after planning", "a known shape", value.shape.to_string());
      r->elements.push_back(value.shape.num_elements());
      birth[v] = value.producer;
      death[v] = value.producer;
      for (int c : value.consumers) death[v] = std::max(death[v], c);
    }
    std::vector<int64_t> sizes = r->elements;
    for (int v : r->plan.input_values) sizes[v] = -1;  // the caller's memory
    for (int v : r->plan.output_values) death[v] = INT_MAX;
    if (for_backward) std::fill(death.begin(), death.end(), INT_MAX);
    r->forward_buffers = assign_buffers(sizes, birth, death);
    // Gradients run in reverse: a value's gradient is first written by its last consumer and
    // last read by its producer; output gradients are given before the first step.
    std::vector<int> gbirth(n), gdeath(n);
    const int last = static_cast<int>(steps) - 1;
    for (size_t v = 0; v < n; ++v) {
      const PlanValue& value = r->plan.values[v];
      int latest = -1;
      for (int c : value.consumers) latest = std::max(latest, c);
      gbirth[v] = last - latest;
      gdeath[v] = value.producer < 0 ? INT_MAX : last - value.producer;
    }
    for (int v : r->plan.output_values) gbirth[v] = -1;
    r->gradient_buffers = assign_buffers(r->elements, gbirth, gdeath);
    for (const auto& step : r->plan.steps) {
      std::vector<Array> saved;
      for (const auto& d : step.decls)
        if (d.role == ArrayRole::Saved) saved.emplace_back(d.shape);
      r->saved.push_back(std::move(saved));
    }
    run_ = std::move(r);
  }
  Run& r = *run_;
  if (r.bound_to != net_->plan_ptr()) {
    r.store = ArrayStore(*net_, r.plan);
    r.bound_to = net_->plan_ptr();
    r.bound = false;
    r.gradients.arrays.clear();
  }
  if (r.batch != batch) {
    r.batch = batch;
    r.forward_slots.clear();
    for (int64_t e : r.forward_buffers.slot_elements) r.forward_slots.push_back(Array::zeros({batch * e}));
    r.gradient_slots.clear();
    r.gradients_sized = false;
    r.gradients.inputs.clear();  // sized by the batch
    r.output_grads.clear();
    for (int v : r.plan.output_values) r.output_grads.push_back(Array::zeros(r.plan.values[v].shape.with_batch(batch)));
    r.bound = false;
  }
  r.inputs.assign(r.plan.values.size(), nullptr);
  r.input_copies.resize(r.plan.input_names.size());
  for (size_t i = 0; i < r.plan.input_names.size(); ++i) {
    const Array& batch_array = inputs.at(r.plan.input_names[i]);
    Array& copy = r.input_copies[i];
    if (for_backward) {
      if (copy.dims() == batch_array.dims())
        std::memcpy(copy.data(), batch_array.data(), sizeof(float) * static_cast<size_t>(copy.size()));
      else
        copy = batch_array;
    }
    r.inputs[r.plan.input_values[i]] = for_backward ? copy.data() : batch_array.data();
  }
  r.mode = mode;
  if (!r.bound) bind();
}

void Executor::bind() {
  Run& r = *run_;
  const size_t n = r.plan.values.size();
  r.grad.assign(n, nullptr);  // set by the first backward, which sizes the gradient buffers
  if (r.gradients_sized)
    for (size_t v = 0; v < n; ++v) r.grad[v] = r.gradient_slots[r.gradient_buffers.slot_of[v]].data();
  r.written.assign(n, 0);
  r.output_grad_given.assign(r.plan.output_values.size(), 0);
  r.forward_args.assign(r.plan.steps.size(), {});
  r.backward_args.assign(r.plan.steps.size(), {});
  r.moving_args.assign(r.plan.steps.size(), {});
  for (size_t s = 0; s < r.plan.steps.size(); ++s) {
    const PlanStep& step = r.plan.steps[s];
    const std::vector<size_t>& slots = r.store.step_slots(s);
    ForwardArgs& a = r.forward_args[s];
    a.batch = r.batch;
    a.input_shapes = step.shapes.inputs;
    a.output_shapes = step.shapes.outputs;
    a.inputs.assign(step.inputs.size(), nullptr);  // set per batch: net inputs are the caller's
    for (int v : step.outputs) a.outputs.push_back(r.forward_slots[r.forward_buffers.slot_of[v]].data());
    a.params.assign(slots.size(), nullptr);  // set per batch: set_array may move a value
    for (auto& saved : r.saved[s]) a.saved.push_back(saved.data());
    BackwardArgs& b = r.backward_args[s];
    b.batch = r.batch;
    b.input_shapes = step.shapes.inputs;
    b.output_shapes = step.shapes.outputs;
    b.inputs.assign(step.inputs.size(), nullptr);
    b.input_grads.assign(step.inputs.size(), nullptr);
    b.outputs.assign(step.outputs.size(), nullptr);
    b.output_grads.assign(step.outputs.size(), nullptr);
    b.params.assign(slots.size(), nullptr);
    for (size_t slot : slots) b.param_grads.push_back(r.store.gradient_data(slot));
    for (auto& saved : r.saved[s]) b.saved.push_back(saved.data());
    MovingUpdateArgs& m = r.moving_args[s];
    m.batch = r.batch;
    m.input_shapes = step.shapes.inputs;
    for (auto& saved : r.saved[s]) m.saved.push_back(saved.data());
    m.moving.assign(slots.size(), nullptr);
  }
  r.bound = true;
}

const float* Executor::value_data(int value) const {
  const Run& r = *run_;
  if (r.inputs[value]) return r.inputs[value];
  return r.forward_slots[r.forward_buffers.slot_of[value]].data();
}

void Executor::run_forward(const std::map<std::string, Array>& inputs, Mode mode, bool for_backward, uint64_t seed) {
  check_initialized();
  prepare(inputs, mode, for_backward);
  Run& r = *run_;
  r.store.refresh_multipliers(*net_);
  r.seed = seed;
  r.ready_for_backward = false;
  std::fill(r.output_grad_given.begin(), r.output_grad_given.end(), 0);
  for (size_t s = 0; s < r.plan.steps.size(); ++s) {
    const PlanStep& step = r.plan.steps[s];
    ForwardArgs& a = r.forward_args[s];
    a.mode = mode;
    for (size_t i = 0; i < step.inputs.size(); ++i) a.inputs[i] = value_data(step.inputs[i]);
    const std::vector<size_t>& slots = r.store.step_slots(s);
    for (size_t k = 0; k < slots.size(); ++k) a.params[k] = r.store[slots[k]].value->data();
    a.seed = step_seed(seed, s);
    with_location(step.where, [&] { step.layer->forward(a); });
  }
  r.ready_for_backward = for_backward;
}

std::map<std::string, Array> Executor::forward(const std::map<std::string, Array>& inputs, Mode mode, bool for_backward,
                                               uint64_t seed) {
  run_forward(inputs, mode, for_backward, seed);
  const Run& r = *run_;
  std::map<std::string, Array> outputs;
  for (size_t i = 0; i < r.plan.output_names.size(); ++i) {
    const int v = r.plan.output_values[i];
    Array out = Array::zeros(r.plan.values[v].shape.with_batch(r.batch));
    std::memcpy(out.data(), value_data(v), sizeof(float) * static_cast<size_t>(out.size()));
    outputs.emplace(r.plan.output_names[i], std::move(out));
  }
  return outputs;
}

size_t Executor::output_index(const std::string& port, const char* what) const {
  const auto& names = run_->plan.output_names;
  const auto it = std::find(names.begin(), names.end(), port);
  if (it == names.end())
    throw EvaluationError("net", std::string(what) + " an unknown output port " + in_quotes(port),
                          "one of " + join_names(names), in_quotes(port));
  return static_cast<size_t>(it - names.begin());
}

ArrayView Executor::output(const std::string& port) const {
  if (!run_) throw EvaluationError("net", "no output before a forward pass", "forward first", "no such pass");
  const size_t i = output_index(port, "output of");
  return ArrayView(value_data(run_->plan.output_values[i]), run_->output_grads[i].dims());
}

ArrayView Executor::step_input(const std::vector<size_t>& node_indices, size_t port) const {
  if (!run_ || !run_->ready_for_backward)
    throw EvaluationError("net", "no layer input kept", "forward(..., for_backward = true) first", "no such pass");
  for (const PlanStep& step : run_->plan.steps)
    if (step.node_indices == node_indices) {
      const int v = step.inputs.at(port);
      return ArrayView(value_data(v), run_->plan.values[v].shape.with_batch(run_->batch));
    }
  throw std::logic_error("Executor::step_input: no such layer in the plan");
}

float* Executor::output_gradient(const std::string& port) {
  if (!run_ || !run_->ready_for_backward)
    throw EvaluationError("net", "backward without a forward pass to differentiate",
                          "forward(..., for_backward = true) first", "no such pass");
  const size_t i = output_index(port, "gradient for");
  run_->output_grad_given[i] = 1;
  return run_->output_grads[i].data();
}

void Executor::run_backward() {
  if (!run_ || !run_->ready_for_backward)
    throw EvaluationError("net", "backward without a forward pass to differentiate",
                          "forward(..., for_backward = true) first", "no such pass");
  backward_steps(false);
}

void Executor::backward_steps(bool input_gradients) {
  Run& r = *run_;
  const Plan& plan = r.plan;
  if (!r.gradients_sized) {
    r.gradient_slots.clear();
    for (int64_t e : r.gradient_buffers.slot_elements) r.gradient_slots.push_back(Array::zeros({r.batch * e}));
    for (size_t v = 0; v < plan.values.size(); ++v) r.grad[v] = r.gradient_slots[r.gradient_buffers.slot_of[v]].data();
    r.gradients_sized = true;
  }
  auto size_of = [&](int v) { return static_cast<size_t>(r.batch * r.elements[v]); };
  // written[v]: value v has a gradient (given for an output port, or added by a consumer's
  // backward). A step none of whose outputs has one contributes nothing and is skipped: an
  // output port without a gradient (the probabilities beside a loss) costs no backward pass.
  std::fill(r.written.begin(), r.written.end(), 0);
  for (size_t i = 0; i < plan.output_values.size(); ++i) {
    if (!r.output_grad_given[i]) continue;
    const int v = plan.output_values[i];
    std::memcpy(r.grad[v], r.output_grads[i].data(), sizeof(float) * size_of(v));
    r.written[v] = 1;
  }
  r.store.zero_gradients();  // layers add into the arena: each backward starts at 0
  for (size_t s = plan.steps.size(); s-- > 0;) {
    const PlanStep& step = plan.steps[s];
    if (std::none_of(step.outputs.begin(), step.outputs.end(), [&](int v) { return r.written[v]; })) continue;
    for (int v : step.outputs)
      if (!r.written[v]) std::fill(r.grad[v], r.grad[v] + size_of(v), 0.0f), r.written[v] = 1;
    BackwardArgs& b = r.backward_args[s];
    b.mode = r.mode;
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      const int v = step.inputs[i];
      b.inputs[i] = value_data(v);
      // The net's inputs get a gradient only when the caller asked for one.
      b.input_grads[i] = input_gradients || plan.values[v].producer >= 0 ? r.grad[v] : nullptr;
    }
    for (size_t o = 0; o < step.outputs.size(); ++o)
      b.outputs[o] = value_data(step.outputs[o]), b.output_grads[o] = r.grad[step.outputs[o]];
    // The first writer of a single-input layer overwrites; everything else accumulates.
    b.overwrite_input_grads = step.inputs.size() == 1 && !r.written[step.inputs[0]];
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      const int v = step.inputs[i];
      if (r.written[v]) continue;
      if (!b.overwrite_input_grads && b.input_grads[i]) std::fill(r.grad[v], r.grad[v] + size_of(v), 0.0f);
      r.written[v] = b.input_grads[i] != nullptr;
    }
    const std::vector<size_t>& slots = r.store.step_slots(s);
    for (size_t k = 0; k < slots.size(); ++k) b.params[k] = r.store[slots[k]].value->data();
    b.seed = step_seed(r.seed, s);
    with_location(step.where, [&] { step.layer->backward(b); });
  }
}

const NetGradients& Executor::backward(const std::map<std::string, Array>& output_gradients) {
  if (!run_ || !run_->ready_for_backward)
    throw EvaluationError("net", "backward without a forward pass to differentiate",
                          "forward(..., for_backward = true) first", "no such pass");
  Run& r = *run_;
  const Plan& plan = r.plan;
  for (const auto& [port, g] : output_gradients) output_index(port, "gradient for");
  for (size_t i = 0; i < plan.output_names.size(); ++i) {
    auto it = output_gradients.find(plan.output_names[i]);
    if (it == output_gradients.end()) continue;
    const std::string at = "net, port " + in_quotes(plan.output_names[i]);
    if (it->second.dims() != r.output_grads[i].dims())
      throw EvaluationError(at, "output gradient does not match the output",
                            "dims " + dims_to_string(r.output_grads[i].dims()),
                            "dims " + dims_to_string(it->second.dims()));
    it->second.require_finite(at, "output gradient");
    std::memcpy(output_gradient(plan.output_names[i]), it->second.data(),
                sizeof(float) * static_cast<size_t>(it->second.size()));
  }
  backward_steps(true);
  for (const ArrayRef& a : r.store.arrays()) {
    if (a.gradient.empty()) continue;
    auto it = r.gradients.arrays.find(a.key);
    if (it == r.gradients.arrays.end()) it = r.gradients.arrays.emplace(a.key, Array::zeros(a.gradient.dims())).first;
    std::copy(a.gradient.data(), a.gradient.data() + a.gradient.size(), it->second.data());
  }
  for (size_t i = 0; i < plan.input_names.size(); ++i) {
    const int v = plan.input_values[i];
    auto it = r.gradients.inputs.find(plan.input_names[i]);
    if (it == r.gradients.inputs.end())
      it =
          r.gradients.inputs.emplace(plan.input_names[i], Array::zeros(plan.values[v].shape.with_batch(r.batch))).first;
    Array& g = it->second;
    if (r.written[v])
      std::memcpy(g.data(), r.grad[v], sizeof(float) * static_cast<size_t>(g.size()));
    else
      std::fill(g.data(), g.data() + g.size(), 0.0f);
  }
  return r.gradients;
}

void Executor::update_moving(Net& net) {
  if (&net != net_) throw std::logic_error("Executor::update_moving: not the net this executor runs");
  if (!run_ || run_->mode != Mode::Train)
    throw EvaluationError("net", "moving update without a Train-mode forward pass", "forward(..., Mode::Train) first",
                          "no such pass");
  Run& r = *run_;
  r.store.refresh_multipliers(net);
  for (size_t s = 0; s < r.plan.steps.size(); ++s) {
    const PlanStep& step = r.plan.steps[s];
    LayerNet& leaf = net.node_at(step.node_indices).layer();
    MovingUpdateArgs& m = r.moving_args[s];
    m.update_count = leaf.moving_update_count() + 1;
    const std::vector<size_t>& slots = r.store.step_slots(s);
    bool any = false;
    for (size_t k = 0; k < slots.size(); ++k) {
      const ArrayRef& a = r.store[slots[k]];
      const bool update = a.role == ArrayRole::Moving && a.learning_rate_multiplier != 0.0;
      m.moving[k] = update ? a.value->data() : nullptr;
      any = any || update;
    }
    if (!any) continue;
    with_location(step.where, [&] { step.layer->update_moving(m); });
    leaf.set_moving_update_count(m.update_count);
  }
}

ArrayStore& Executor::store(Net& net) {
  if (&net != net_) throw std::logic_error("Executor::store: not the net this executor runs");
  if (!run_ || run_->bound_to != net_->plan_ptr()) {  // no forward yet, or the net changed since
    if (!run_) run_ = std::make_unique<Run>(), run_->plan = net_->plan();
    run_->store = ArrayStore(*net_, run_->plan);
    run_->bound_to = net_->plan_ptr();
    run_->bound = false;
    run_->batch = 0;  // rebinds the arguments on the next forward
  }
  run_->store.refresh_multipliers(net);
  return run_->store;
}

int64_t Executor::activation_bytes() const {
  if (!run_) return 0;
  int64_t elements = run_->forward_buffers.total_elements();
  if (run_->gradients_sized) elements += run_->gradient_buffers.total_elements();
  return elements * run_->batch * static_cast<int64_t>(sizeof(float));
}

}  // namespace netkit
