#include <netkit/graph/layer_net.h>

#include <atomic>

#include <algorithm>
#include <cmath>

#include <netkit/core/error.h>
#include <netkit/core/random.h>
#include <netkit/graph/array_json.h>
#include <netkit/layers/option_reader.h>
#include <netkit/layers/registry.h>

namespace netkit {

namespace {

const char kMultipliers[] = "LearningRateMultipliers";

// "one of "Scaling", "Biases"", or a plain statement for layers without arrays.
std::string one_of_arrays(const std::vector<std::string>& names) {
  return names.empty() ? "no array name (this layer has no arrays)" : "one of " + join_names(names);
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> param_names(const Layer& layer) {
  LayerShapes probe{
      std::vector<Shape>(layer.input_ports().size()), std::vector<Shape>(layer.output_ports().size()), {}};
  std::vector<std::string> names;
  for (const auto& d : layer.arrays(probe))
    if (d.role != ArrayRole::Saved) names.push_back(d.name);
  return names;
}

// Option values are parsed with the JSON readers; a bad value is an option error here.
template <class F>
auto as_option(const std::string& where, F&& f) {
  try {
    return f();
  } catch (const FormatError& e) {
    throw OptionError(where, e.problem(), e.expected(), e.got(), e.hint());
  }
}

}  // namespace

struct LayerNet::Forward {
  LayerShapes shapes;
  std::vector<ArrayDecl> decls;
  std::vector<Array> saved;
  Array output;
  ForwardArgs args;
};

LayerNet::LayerNet(LayerPtr layer, const nlohmann::json& net_options) : layer_(std::move(layer)) {
  OptionReader reader(net_options, where());
  const auto ports_in = layer_->input_ports(), ports_out = layer_->output_ports();
  for (const auto& ports : {ports_in, ports_out})
    for (const auto& port : ports)
      if (const auto* v = reader.raw(port))
        fixed_ports_[port] = as_option(reader.where(port), [&] { return shape_from_json(*v, ""); });
  for (const auto& name : param_names(*layer_))
    if (const auto* v = reader.raw(name))
      arrays_[name] = as_option(reader.where(name), [&] { return array_from_json(*v, ""); });
  if (const auto* v = reader.raw(kMultipliers)) {
    if (v->is_number()) {
      set_learning_rate_multiplier(v->get<double>());
    } else if (v->is_object()) {
      for (auto it = v->begin(); it != v->end(); ++it) {
        if (!it->is_number())
          throw OptionError(reader.where(kMultipliers) + ", " + in_quotes(it.key()), "wrong type", "a number",
                            json_type_name(*it));
        if (it.key() == "*")
          set_learning_rate_multiplier(it->get<double>());  // the layer-wide value
        else
          set_learning_rate_multiplier(it.key(), it->get<double>());
      }
    } else {
      throw OptionError(reader.where(kMultipliers), "wrong type", "a number or an object of array names",
                        json_type_name(*v));
    }
  }
  reader.finish();
  infer();
  for (const auto& entry : arrays_) with_location(where(), [&] { layer_->check_array(entry.first, entry.second); });
}

LayerNet LayerNet::create(const std::string& type, const nlohmann::json& options) {
  if (!options.is_null() && !options.is_object())
    throw OptionError(type + " options", "options must be a JSON object", "an object", json_type_name(options));
  const LayerPtr probe = make_layer(type);
  std::vector<std::string> net_keys = param_names(*probe);
  for (const auto& p : probe->input_ports()) net_keys.push_back(p);
  for (const auto& p : probe->output_ports()) net_keys.push_back(p);
  net_keys.push_back(kMultipliers);
  nlohmann::json own = nlohmann::json::object(), net = nlohmann::json::object();
  if (options.is_object())
    for (auto it = options.begin(); it != options.end(); ++it)
      (contains(net_keys, it.key()) ? net : own)[it.key()] = *it;
  return LayerNet(make_layer(type, own), net);
}

nlohmann::json LayerNet::default_options(const std::string& type) { return create(type).options(); }

void LayerNet::infer() {
  LayerShapes s;
  for (const auto& p : layer_->input_ports()) s.inputs.push_back(fixed_ports_.count(p) ? fixed_ports_.at(p) : Shape());
  for (const auto& p : layer_->output_ports())
    s.outputs.push_back(fixed_ports_.count(p) ? fixed_ports_.at(p) : Shape());
  for (const auto& [name, value] : arrays_) s.arrays[name] = Shape(value.dims());
  with_location(where(), [&] { layer_->infer_shapes(s); });
  for (const auto& [name, value] : arrays_) {
    const Shape& declared = s.arrays.at(name);
    if (!Shape::unify(declared, Shape(value.dims())))
      throw ShapeError(where() + ", array " + in_quotes(name), "shape does not fit the layer", declared.to_string(),
                       dims_to_string(value.dims()));
  }
  shapes_ = std::move(s);
}

std::vector<ArrayDecl> LayerNet::param_decls() const {
  auto decls = layer_->arrays(shapes_);
  decls.erase(std::remove_if(decls.begin(), decls.end(), [](const ArrayDecl& d) { return d.role == ArrayRole::Saved; }),
              decls.end());
  return decls;
}

Shape LayerNet::port_shape(const std::string& port) const {
  const auto ins = layer_->input_ports(), outs = layer_->output_ports();
  for (size_t i = 0; i < ins.size(); ++i)
    if (ins[i] == port) return shapes_.inputs[i];
  for (size_t i = 0; i < outs.size(); ++i)
    if (outs[i] == port) return shapes_.outputs[i];
  std::vector<std::string> all = ins;
  all.insert(all.end(), outs.begin(), outs.end());
  throw OptionError(where(), "unknown port " + in_quotes(port), "one of " + join_names(all), in_quotes(port));
}

void LayerNet::initialize(uint64_t seed, InitializeMode mode) {
  for (const auto& d : param_decls()) {
    if (mode == InitializeMode::Missing && arrays_.count(d.name)) continue;
    const std::string at = where() + ", array " + in_quotes(d.name);
    if (!d.shape.known())
      throw InitializationError(at, "cannot initialize: " + layer_->unknown_shape_reason(d.name), "a known shape",
                                d.shape.to_string(), "Give \"Input\" or connect the layer");
    Random random(seed, d.name);
    Array value = d.initializer.make(d.shape, random, at);
    with_location(where(), [&] { layer_->check_array(d.name, value); });
    arrays_[d.name] = std::move(value);
  }
}

bool LayerNet::initialized() const {
  for (const auto& d : param_decls())
    if (!arrays_.count(d.name)) return false;
  return true;
}

bool LayerNet::has_array(const std::string& name) const { return arrays_.count(name) > 0; }

std::vector<std::string> LayerNet::array_names() const { return param_names(*layer_); }

const Array& LayerNet::array(const std::string& name) const {
  const auto names = array_names();
  if (!contains(names, name))
    throw OptionError(where(), "unknown array " + in_quotes(name), one_of_arrays(names), in_quotes(name));
  auto it = arrays_.find(name);
  if (it == arrays_.end())
    throw InitializationError(where() + ", array " + in_quotes(name), "not initialized", "an initialized array",
                              "no value", "Use initialize() or give the array as an option");
  return it->second;
}

Array* LayerNet::mutable_array(const std::string& name) {
  auto it = arrays_.find(name);
  return it == arrays_.end() ? nullptr : &it->second;
}

void LayerNet::set_array(const std::string& name, Array value) {
  const auto names = array_names();
  if (!contains(names, name))
    throw OptionError(where(), "unknown array " + in_quotes(name), one_of_arrays(names), in_quotes(name));
  with_location(where(), [&] { layer_->check_array(name, value); });
  auto previous = arrays_;
  arrays_[name] = std::move(value);
  try {
    infer();
  } catch (...) {
    arrays_ = std::move(previous);  // a rejected array leaves the net as it was
    throw;
  }
}

void LayerNet::check_multiplier(const std::string& at, double m) const {
  if (!std::isfinite(m) || m < 0)
    throw OptionError(at, "learning-rate multiplier out of range", "a finite number >= 0", number_text(m));
}

namespace {
std::atomic<uint64_t> multiplier_changes{0};
}  // namespace

uint64_t LayerNet::multiplier_generation() { return multiplier_changes.load(std::memory_order_relaxed); }

void LayerNet::set_learning_rate_multiplier(double m) {
  check_multiplier(where() + ", LearningRateMultipliers", m);
  layer_multiplier_ = m;
  ++multiplier_changes;
}

void LayerNet::set_learning_rate_multiplier(const std::string& array, double m) {
  const auto names = array_names();
  if (!contains(names, array))
    throw OptionError(where() + ", LearningRateMultipliers", "unknown array " + in_quotes(array), one_of_arrays(names),
                      in_quotes(array));
  check_multiplier(where() + ", LearningRateMultipliers, " + in_quotes(array), m);
  array_multipliers_[array] = m;
  ++multiplier_changes;
}

double LayerNet::learning_rate_multiplier(const std::string& array) const {
  auto it = array_multipliers_.find(array);
  if (it != array_multipliers_.end()) return it->second;
  return layer_multiplier_.value_or(1.0);
}

void LayerNet::set_moving_update_count(int64_t n) {
  if (n < 0) throw FormatError(where(), "negative moving update count", "a count >= 0", std::to_string(n));
  moving_updates_ = n;
}

LayerNet::Forward LayerNet::run_forward(const std::vector<const Array*>& batches, Mode mode) const {
  const auto ports = layer_->input_ports();
  if (!initialized()) {
    std::vector<std::string> missing;
    for (const auto& d : param_decls())
      if (!arrays_.count(d.name)) missing.push_back(d.name);
    throw EvaluationError(where(), "cannot evaluate: arrays not initialized", "initialized arrays",
                          "missing " + join_names(missing), "Call initialize() first");
  }
  if (batches.size() != ports.size())
    throw EvaluationError(where(), "wrong number of inputs",
                          std::to_string(ports.size()) + " input batches (ports " + join_names(ports) + ")",
                          std::to_string(batches.size()));
  Forward f;
  f.shapes = shapes_;
  for (size_t p = 0; p < ports.size(); ++p) {
    const Array& batch = *batches[p];
    const std::string at = where() + ", port " + in_quotes(ports[p]);
    if (batch.rank() < 1 || batch.dims()[0] < 1)
      throw EvaluationError(at, "batch has no examples", "a batch of " + f.shapes.inputs[p].to_string(),
                            "dims " + dims_to_string(batch.dims()));
    if (p > 0 && batch.dims()[0] != batches[0]->dims()[0])
      throw EvaluationError(at, "batch size differs from port " + in_quotes(ports[0]),
                            std::to_string(batches[0]->dims()[0]) + " examples", std::to_string(batch.dims()[0]));
    const Shape example(std::vector<int64_t>(batch.dims().begin() + 1, batch.dims().end()));
    const auto joined = Shape::unify(f.shapes.inputs[p], example);
    if (!joined)
      throw EvaluationError(
          at, "batch does not match the port shape", "examples of shape " + f.shapes.inputs[p].to_string(),
          "examples of shape " + example.to_string() + " (batch dims " + dims_to_string(batch.dims()) + ")");
    f.shapes.inputs[p] = *joined;
    batch.require_finite(at, "input");
  }
  with_location(where(), [&] { layer_->infer_shapes(f.shapes); });

  const int64_t n = batches[0]->dims()[0];
  f.decls = layer_->arrays(f.shapes);
  f.args.mode = mode;
  f.args.batch = n;
  f.args.input_shapes = f.shapes.inputs;
  f.args.output_shapes = f.shapes.outputs;
  for (const Array* batch : batches) f.args.inputs.push_back(batch->data());
  f.output = Array::zeros(f.shapes.outputs.at(0).with_batch(n));
  f.args.outputs = {f.output.data()};
  for (const auto& d : f.decls) {
    if (d.role == ArrayRole::Saved)
      f.saved.emplace_back(d.shape);
    else
      f.args.params.push_back(arrays_.at(d.name).data());
  }
  for (auto& s : f.saved) f.args.saved.push_back(s.data());
  with_location(where(), [&] { layer_->forward(f.args); });
  return f;
}

namespace {

std::vector<const Array*> pointers(const std::vector<Array>& batches) {
  std::vector<const Array*> out;
  for (const Array& b : batches) out.push_back(&b);
  return out;
}

}  // namespace

Array LayerNet::evaluate(const Array& example, Mode mode) const {
  std::vector<int64_t> dims{1};
  dims.insert(dims.end(), example.dims().begin(), example.dims().end());
  const Array batch = example.reshaped(dims);
  Array out = run_forward({&batch}, mode).output;
  return out.reshaped(std::vector<int64_t>(out.dims().begin() + 1, out.dims().end()));
}

Array LayerNet::evaluate_batch(const Array& batch, Mode mode) const { return run_forward({&batch}, mode).output; }

Array LayerNet::evaluate_batch(const std::vector<Array>& batches, Mode mode) const {
  return run_forward(pointers(batches), mode).output;
}

Gradients LayerNet::gradients(const Array& batch, const Array& output_gradient, Mode mode) const {
  return run_gradients({&batch}, output_gradient, mode);
}

Gradients LayerNet::gradients(const std::vector<Array>& batches, const Array& output_gradient, Mode mode) const {
  return run_gradients(pointers(batches), output_gradient, mode);
}

Gradients LayerNet::run_gradients(const std::vector<const Array*>& batches, const Array& output_gradient,
                                  Mode mode) const {
  Forward f = run_forward(batches, mode);
  const std::string at = where() + ", port " + in_quotes(layer_->output_ports().at(0));
  if (output_gradient.dims() != f.output.dims())
    throw EvaluationError(at, "output gradient does not match the output", "dims " + dims_to_string(f.output.dims()),
                          "dims " + dims_to_string(output_gradient.dims()));
  output_gradient.require_finite(at, "output gradient");
  Gradients g;
  BackwardArgs b;
  for (const Array* batch : batches) {
    g.inputs.push_back(Array::zeros(batch->dims()));
    b.input_grads.push_back(g.inputs.back().data());
  }
  b.mode = mode;
  b.batch = f.args.batch;
  b.input_shapes = f.args.input_shapes;
  b.output_shapes = f.args.output_shapes;
  b.inputs = f.args.inputs;
  b.outputs = {f.output.data()};
  b.output_grads = {output_gradient.data()};
  b.overwrite_input_grads = true;
  b.params = f.args.params;
  b.saved.assign(f.args.saved.begin(), f.args.saved.end());
  for (const auto& d : f.decls) {
    if (d.role == ArrayRole::Saved) continue;
    if (d.role == ArrayRole::Learnable) {
      b.param_grads.push_back(g.arrays.emplace(d.name, Array(d.shape)).first->second.data());
    } else {
      b.param_grads.push_back(nullptr);
    }
  }
  with_location(where(), [&] { layer_->backward(b); });
  return g;
}

void LayerNet::moving_update_step(const Array& batch) {
  Forward f = run_forward({&batch}, Mode::Train);
  MovingUpdateArgs m;
  m.batch = f.args.batch;
  m.input_shapes = f.args.input_shapes;
  m.update_count = moving_updates_ + 1;
  m.saved.assign(f.args.saved.begin(), f.args.saved.end());
  bool any = false;
  for (const auto& d : f.decls) {
    if (d.role == ArrayRole::Saved) continue;
    const bool update = d.role == ArrayRole::Moving && learning_rate_multiplier(d.name) != 0.0;
    m.moving.push_back(update ? arrays_.at(d.name).data() : nullptr);
    any = any || update;
  }
  if (!any) return;
  with_location(where(), [&] { layer_->update_moving(m); });
  ++moving_updates_;
}

nlohmann::json LayerNet::option(const std::string& name) const {
  const nlohmann::json all = options();
  auto it = all.find(name);
  if (it == all.end()) {
    std::vector<std::string> names;
    for (auto k = all.begin(); k != all.end(); ++k) names.push_back(k.key());
    throw OptionError(where(), "unknown option " + in_quotes(name), "one of " + join_names(names), in_quotes(name));
  }
  return *it;
}

nlohmann::json LayerNet::options() const {
  nlohmann::json all = layer_->options();
  const auto ins = layer_->input_ports(), outs = layer_->output_ports();
  for (size_t i = 0; i < ins.size(); ++i) all[ins[i]] = shape_to_json(shapes_.inputs[i]);
  for (size_t i = 0; i < outs.size(); ++i) all[outs[i]] = shape_to_json(shapes_.outputs[i]);
  if (array_multipliers_.empty()) {
    all[kMultipliers] = layer_multiplier_ ? nlohmann::json(*layer_multiplier_) : nlohmann::json("Automatic");
  } else {
    nlohmann::json m = array_multipliers_;
    if (layer_multiplier_) m["*"] = *layer_multiplier_;
    all[kMultipliers] = m;
  }
  return all;
}

LayerInfo LayerNet::information() const {
  LayerInfo info{type(), {}, {}, 0, 0, {}};
  const auto ins = layer_->input_ports(), outs = layer_->output_ports();
  for (size_t i = 0; i < ins.size(); ++i) info.inputs.push_back({ins[i], shapes_.inputs[i]});
  for (size_t i = 0; i < outs.size(); ++i) info.outputs.push_back({outs[i], shapes_.outputs[i]});
  for (const auto& d : param_decls()) {
    const int64_t n = d.shape.known() ? d.shape.num_elements() : -1;
    info.arrays.push_back(
        {d.name, d.shape, d.role, n, has_array(d.name), learning_rate_multiplier(d.name), d.l2_factor});
    ++info.array_count;
    if (n > 0) info.total_elements += n;
  }
  return info;
}

}  // namespace netkit
