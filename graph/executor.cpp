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
  NetGradients gradients;                 // kept across batches: refilled, not reallocated, by each backward
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

void Executor::prepare(const std::map<std::string, Array>& inputs, Mode mode, bool for_backward) {
  const Plan& net_plan = net_->plan();
  std::map<std::string, Shape> shapes;
  int64_t batch = -1;
  for (const auto& [name, batch_array] : inputs)
    if (std::find(net_plan.input_names.begin(), net_plan.input_names.end(), name) == net_plan.input_names.end())
      throw EvaluationError("net", "unknown input port " + in_quotes(name),
                            "one of " + join_names(net_plan.input_names), in_quotes(name));
  for (size_t i = 0; i < net_plan.input_names.size(); ++i) {
    const std::string& port = net_plan.input_names[i];
    const std::string at = "net, port " + in_quotes(port);
    auto it = inputs.find(port);
    const Shape expected = net_plan.values[net_plan.input_values[i]].shape;
    if (it == inputs.end())
      throw EvaluationError(at, "no data for this port", "a batch of " + expected.to_string(), "none");
    const Array& b = it->second;
    if (b.rank() < 1 || b.dims()[0] < 1)
      throw EvaluationError(at, "batch has no examples", "a batch of " + expected.to_string(),
                            "dims " + dims_to_string(b.dims()));
    if (batch >= 0 && b.dims()[0] != batch)
      throw EvaluationError(at, "batch size differs from the other ports", std::to_string(batch) + " examples",
                            std::to_string(b.dims()[0]));
    batch = b.dims()[0];
    const Shape example(std::vector<int64_t>(b.dims().begin() + 1, b.dims().end()));
    if (!Shape::unify(expected, example))
      throw EvaluationError(
          at, "batch does not match the port shape", "examples of shape " + expected.to_string(),
          "examples of shape " + example.to_string() + " (batch dims " + dims_to_string(b.dims()) + ")");
    b.require_finite(at, "input");
    shapes[port] = example;
  }
  if (!run_ || run_->input_shapes != shapes || run_->for_backward != for_backward) {
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
  if (r.batch != batch) {
    r.batch = batch;
    r.forward_slots.clear();
    for (int64_t e : r.forward_buffers.slot_elements) r.forward_slots.push_back(Array::zeros({batch * e}));
    r.gradient_slots.clear();
    r.gradients_sized = false;
    r.gradients.inputs.clear();  // sized by the batch
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
}

const Array* Executor::param_storage(const PlanStep& step, const std::string& array) const {
  auto it = step.shared.find(array);
  if (it != step.shared.end()) return net_->node_at(it->second.container).shared_storage(it->second.name);
  const LayerNet& leaf = net_->node_at(step.node_indices).layer();
  return leaf.has_array(array) ? &leaf.array(array) : nullptr;
}

const float* Executor::value_data(int value) const {
  const Run& r = *run_;
  if (r.inputs[value]) return r.inputs[value];
  return r.forward_slots[r.forward_buffers.slot_of[value]].data();
}

std::map<std::string, Array> Executor::forward(const std::map<std::string, Array>& inputs, Mode mode, bool for_backward,
                                               uint64_t seed) {
  std::vector<std::string> missing;
  for (const auto& step : net_->plan().steps)
    for (const auto& d : step.decls)
      if (d.role != ArrayRole::Saved && !param_storage(step, d.name)) missing.push_back(step.array_key(d.name));
  if (!missing.empty())
    throw EvaluationError("net", "cannot evaluate: arrays not initialized", "initialized arrays",
                          "missing " + join_names(missing), "Call initialize() first");
  prepare(inputs, mode, for_backward);
  Run& r = *run_;
  r.seed = seed;
  r.ready_for_backward = false;
  for (size_t s = 0; s < r.plan.steps.size(); ++s) {
    const PlanStep& step = r.plan.steps[s];
    ForwardArgs a;
    a.mode = mode;
    a.batch = r.batch;
    a.input_shapes = step.shapes.inputs;
    a.output_shapes = step.shapes.outputs;
    for (int v : step.inputs) a.inputs.push_back(value_data(v));
    for (int v : step.outputs) a.outputs.push_back(r.forward_slots[r.forward_buffers.slot_of[v]].data());
    for (const auto& d : step.decls)
      if (d.role != ArrayRole::Saved) a.params.push_back(param_storage(step, d.name)->data());
    for (auto& saved : r.saved[s]) a.saved.push_back(saved.data());
    a.seed = step_seed(seed, s);
    with_location(step.where, [&] { step.layer->forward(a); });
  }
  std::map<std::string, Array> outputs;
  for (size_t i = 0; i < r.plan.output_names.size(); ++i) {
    const int v = r.plan.output_values[i];
    Array out = Array::zeros(r.plan.values[v].shape.with_batch(r.batch));
    std::memcpy(out.data(), value_data(v), sizeof(float) * static_cast<size_t>(out.size()));
    outputs.emplace(r.plan.output_names[i], std::move(out));
  }
  r.ready_for_backward = for_backward;
  return outputs;
}

const NetGradients& Executor::backward(const std::map<std::string, Array>& output_gradients) {
  if (!run_ || !run_->ready_for_backward)
    throw EvaluationError("net", "backward without a forward pass to differentiate",
                          "forward(..., for_backward = true) first", "no such pass");
  Run& r = *run_;
  const Plan& plan = r.plan;
  if (!r.gradients_sized) {
    r.gradient_slots.clear();
    for (int64_t e : r.gradient_buffers.slot_elements) r.gradient_slots.push_back(Array::zeros({r.batch * e}));
    r.gradients_sized = true;
  }
  for (const auto& [port, g] : output_gradients)
    if (std::find(plan.output_names.begin(), plan.output_names.end(), port) == plan.output_names.end())
      throw EvaluationError("net", "gradient for an unknown output port " + in_quotes(port),
                            "one of " + join_names(plan.output_names), in_quotes(port));
  const size_t n = plan.values.size();
  std::vector<float*> grad(n);
  // written[v]: value v has a gradient (given for an output port, or added by a consumer's
  // backward). A step none of whose outputs has one contributes nothing and is skipped: an
  // output port without a gradient (the probabilities beside a loss) costs no backward pass.
  std::vector<bool> written(n, false);
  for (size_t v = 0; v < n; ++v) grad[v] = r.gradient_slots[r.gradient_buffers.slot_of[v]].data();
  auto size_of = [&](int v) { return static_cast<size_t>(r.batch * r.elements[v]); };
  for (size_t i = 0; i < plan.output_names.size(); ++i) {
    const int v = plan.output_values[i];
    const std::string at = "net, port " + in_quotes(plan.output_names[i]);
    auto it = output_gradients.find(plan.output_names[i]);
    if (it == output_gradients.end()) continue;
    const auto dims = plan.values[v].shape.with_batch(r.batch);
    if (it->second.dims() != dims)
      throw EvaluationError(at, "output gradient does not match the output", "dims " + dims_to_string(dims),
                            "dims " + dims_to_string(it->second.dims()));
    it->second.require_finite(at, "output gradient");
    std::memcpy(grad[v], it->second.data(), sizeof(float) * size_of(v));
    written[v] = true;
  }
  auto& array_gradients = r.gradients.arrays;  // layers add into them: each backward starts at 0
  if (array_gradients.empty()) {
    for (const auto& step : plan.steps)
      for (const auto& d : step.decls)
        if (d.role == ArrayRole::Learnable) array_gradients.emplace(step.array_key(d.name), Array(d.shape));
  } else {
    for (auto& [key, g] : array_gradients) std::fill(g.data(), g.data() + g.size(), 0.0f);
  }

  for (size_t s = plan.steps.size(); s-- > 0;) {
    const PlanStep& step = plan.steps[s];
    if (std::none_of(step.outputs.begin(), step.outputs.end(), [&](int v) { return written[v]; })) continue;
    for (int v : step.outputs)
      if (!written[v]) std::fill(grad[v], grad[v] + size_of(v), 0.0f), written[v] = true;
    BackwardArgs b;
    b.mode = r.mode;
    b.batch = r.batch;
    b.input_shapes = step.shapes.inputs;
    b.output_shapes = step.shapes.outputs;
    for (int v : step.inputs) b.inputs.push_back(value_data(v)), b.input_grads.push_back(grad[v]);
    for (int v : step.outputs) b.outputs.push_back(value_data(v)), b.output_grads.push_back(grad[v]);
    // The first writer of a single-input layer overwrites; everything else accumulates.
    b.overwrite_input_grads = step.inputs.size() == 1 && !written[step.inputs[0]];
    for (int v : step.inputs)
      if (!written[v]) {
        if (!b.overwrite_input_grads) std::fill(grad[v], grad[v] + size_of(v), 0.0f);
        written[v] = true;
      }
    for (const auto& d : step.decls) {
      if (d.role == ArrayRole::Saved) continue;
      b.params.push_back(param_storage(step, d.name)->data());
      b.param_grads.push_back(d.role == ArrayRole::Learnable ? array_gradients.at(step.array_key(d.name)).data()
                                                             : nullptr);
    }
    for (auto& saved : r.saved[s]) b.saved.push_back(saved.data());
    b.seed = step_seed(r.seed, s);
    with_location(step.where, [&] { step.layer->backward(b); });
  }
  for (size_t i = 0; i < plan.input_names.size(); ++i) {
    const int v = plan.input_values[i];
    auto it = r.gradients.inputs.find(plan.input_names[i]);
    if (it == r.gradients.inputs.end())
      it =
          r.gradients.inputs.emplace(plan.input_names[i], Array::zeros(plan.values[v].shape.with_batch(r.batch))).first;
    Array& g = it->second;
    if (written[v])
      std::memcpy(g.data(), grad[v], sizeof(float) * size_of(v));
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
  for (size_t s = 0; s < r.plan.steps.size(); ++s) {
    const PlanStep& step = r.plan.steps[s];
    LayerNet& leaf = net.node_at(step.node_indices).layer();
    MovingUpdateArgs m;
    m.batch = r.batch;
    m.input_shapes = step.shapes.inputs;
    m.update_count = leaf.moving_update_count() + 1;
    for (auto& saved : r.saved[s]) m.saved.push_back(saved.data());
    bool any = false;
    for (const auto& d : step.decls) {
      if (d.role == ArrayRole::Saved) continue;
      const bool update = d.role == ArrayRole::Moving && leaf.learning_rate_multiplier(d.name) != 0.0;
      m.moving.push_back(update ? leaf.mutable_array(d.name)->data() : nullptr);
      any = any || update;
    }
    if (!any) continue;
    with_location(step.where, [&] { step.layer->update_moving(m); });
    leaf.set_moving_update_count(m.update_count);
  }
}

std::vector<ArrayRef> Executor::array_refs(Net& net) {
  if (&net != net_) throw std::logic_error("Executor::array_refs: not the net this executor runs");
  std::vector<ArrayRef> refs;
  std::map<std::string, size_t> seen;
  for (const auto& step : plan().steps) {
    LayerNet& leaf = net.node_at(step.node_indices).layer();
    for (const auto& d : step.decls) {
      if (d.role == ArrayRole::Saved) continue;
      const std::string key = step.array_key(d.name);
      if (seen.count(key)) continue;  // a shared array is listed once
      seen[key] = refs.size();
      auto sh = step.shared.find(d.name);
      Array* value = sh != step.shared.end() ? net.node_at(sh->second.container).shared_storage(sh->second.name)
                                             : leaf.mutable_array(d.name);
      const Array* gradient = nullptr;
      if (run_ && d.role == ArrayRole::Learnable) {
        auto g = run_->gradients.arrays.find(key);
        if (g != run_->gradients.arrays.end()) gradient = &g->second;
      }
      refs.push_back({key, value, gradient, d.role, leaf.learning_rate_multiplier(d.name), d.l2_factor});
    }
  }
  return refs;
}

int64_t Executor::activation_bytes() const {
  if (!run_) return 0;
  int64_t elements = run_->forward_buffers.total_elements();
  if (run_->gradients_sized) elements += run_->gradient_buffers.total_elements();
  return elements * run_->batch * static_cast<int64_t>(sizeof(float));
}

}  // namespace netkit
