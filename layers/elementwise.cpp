#include <netkit/layers/elementwise.h>

#include <algorithm>

#include <netkit/core/error.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

const std::vector<std::string>& Elementwise::function_names() {
  static const std::vector<std::string> names{"Ramp", "Tanh", "LogisticSigmoid"};
  return names;
}

const std::string& Elementwise::function_name(Function function) {
  return function_names().at(static_cast<size_t>(function));
}

Elementwise::Elementwise(Function function) : function_(function) {}

Elementwise::Elementwise(const nlohmann::json& options) {
  OptionReader r(options, "Elementwise");
  const auto& names = function_names();
  if (const auto* v = r.raw("Function"); v && !v->is_string())
    throw OptionError(r.where("Function"), "wrong type", "a function name, one of " + join_names(names),
                      json_type_name(*v));
  const std::string name = r.choice("Function", "Ramp", names);
  function_ = static_cast<Function>(std::find(names.begin(), names.end(), name) - names.begin());
  r.finish();
}

void Elementwise::infer_shapes(LayerShapes& s) const {
  Shape& in = s.inputs.at(0);
  Shape& out = s.outputs.at(0);
  const auto joined = Shape::unify(in, out);
  if (!joined)
    throw ShapeError("port \"Output\"", "output shape must equal the input shape", in.to_string(), out.to_string());
  in = out = *joined;
}

std::vector<ArrayDecl> Elementwise::arrays(const LayerShapes&) const { return {}; }

void Elementwise::forward(const ForwardArgs& a) const {
  const int64_t n = a.batch * a.input_shapes.at(0).num_elements();
  kernels::elementwise_forward(function_, a.inputs[0], a.outputs[0], n);
}

void Elementwise::backward(const BackwardArgs& a) const {
  float* dx = a.input_grads.empty() ? nullptr : a.input_grads[0];
  if (!dx) return;  // no arrays: nothing else to differentiate
  const int64_t n = a.batch * a.input_shapes.at(0).num_elements();
  kernels::elementwise_backward(function_, a.inputs[0], a.outputs[0], a.output_grads[0], dx, n,
                                !a.overwrite_input_grads);
}

nlohmann::json Elementwise::options() const { return {{"Function", function_name(function_)}}; }

Ramp::Ramp(const nlohmann::json& options) : Elementwise(Function::Ramp) {
  OptionReader r(options, "Ramp");  // checks that the options are an object (or null)
  if (options.is_object() && !options.empty())
    throw OptionError("Ramp options", "unknown option " + in_quotes(options.begin().key()),
                      "no options (Ramp has none; \"Elementwise\" takes a \"Function\")",
                      in_quotes(options.begin().key()));
}

}  // namespace netkit
