#include <netkit/layers/linear.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include <netkit/core/error.h>
#include <netkit/layers/kernels/linear.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

const char kOutputSize[] = "option \"OutputSize\"";

std::string array_where(const std::string& name) { return "array " + in_quotes(name); }

// The batch as matrices: X [N, in], Y [N, out].
template <class Args>
kernels::LinearDims dims_of(const Args& a) {
  if (a.input_shapes.size() != 1 || a.output_shapes.size() != 1)
    throw EvaluationError("Linear layer", "port shapes not given to the layer", "one input and one output shape",
                          std::to_string(a.input_shapes.size()) + " and " + std::to_string(a.output_shapes.size()));
  return {a.batch, a.input_shapes[0].num_elements(), a.output_shapes[0][0]};
}

template <class T>
T* at_or_null(const std::vector<T*>& v, size_t i) {
  return i < v.size() ? v[i] : nullptr;
}

}  // namespace

Linear::Linear(Config config) : config_(std::move(config)) { validate(); }

Linear::Linear(const nlohmann::json& options) {
  OptionReader r(options, "Linear");
  Config c;
  if (const auto* v = r.raw("OutputSize"); v && !v->is_null()) {  // null: left open, as options() writes it
    const std::string where = r.where("OutputSize");
    if (!v->is_number_integer()) throw OptionError(where, "wrong type", "an integer >= 1", json_type_name(*v));
    const bool too_large = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX);
    if (too_large || v->get<int64_t>() < 1)
      throw OptionError(where, "out of range", "an integer >= 1", shortened(v->dump()));
    c.output_size = v->get<int64_t>();
  }
  c.weights_initializer = r.initializer("WeightsInitializer", c.weights_initializer, Initializer::all_names());
  c.biases_initializer = r.initializer("BiasesInitializer", c.biases_initializer, Initializer::names());
  const auto l2 = r.per_array_numbers("L2Factors", {"Weights", "Biases"}, 1.0);
  c.l2_weights = l2[0];
  c.l2_biases = l2[1];
  r.finish();
  config_ = c;
  validate();
}

void Linear::validate() const {
  const auto& c = config_;
  if (c.output_size != kUnknownDim && c.output_size < 1)
    throw OptionError("Linear option \"OutputSize\"", "out of range", "an integer >= 1", std::to_string(c.output_size));
  if (c.biases_initializer.uses_fans())
    throw OptionError("Linear option \"BiasesInitializer\"",
                      "initializer needs the fans of a weight array of rank >= 2", "one of Zeros, Ones, NarrowNormal",
                      in_quotes(c.biases_initializer.name()));
  for (double f : {c.l2_weights, c.l2_biases})
    if (!(f >= 0) || !std::isfinite(f))
      throw OptionError("Linear option \"L2Factors\"", "out of range", "finite numbers >= 0", number_text(f));
}

void Linear::infer_shapes(LayerShapes& s) const {
  Shape& in = s.inputs.at(0);
  Shape& out = s.outputs.at(0);
  if (in.rank_known() && in.rank() < 1)
    throw ShapeError("port \"Input\"", "input must be an array of rank >= 1", "rank >= 1", "rank 0");
  if (out.rank_known() && out.rank() != 1)
    throw ShapeError("port \"Output\"", "output must be a vector of OutputSize values", "rank 1",
                     "shape " + out.to_string());
  auto given = [&](const char* name) { return s.arrays.count(name) ? s.arrays.at(name) : Shape(); };
  const Shape w = given("Weights"), b = given("Biases");
  if (w.rank_known() && w.rank() != 2)
    throw ShapeError(array_where("Weights"), "must be a matrix of shape [output size, input size]", "rank 2",
                     "shape " + w.to_string());
  if (b.rank_known() && b.rank() != 1)
    throw ShapeError(array_where("Biases"), "must be a vector of one value per output", "rank 1",
                     "shape " + b.to_string());

  // The output size, from the option, the "Output" port or either array; all must agree. The
  // first source that knows it is named in conflicts.
  int64_t size = config_.output_size;
  std::string source = kOutputSize;
  auto agree = [&](int64_t candidate, const std::string& from) {
    if (candidate == kUnknownDim) return true;
    if (size == kUnknownDim) {
      size = candidate;
      source = from;
    }
    return candidate == size;
  };
  if (out.rank_known() && !agree(out[0], "port \"Output\""))
    throw ShapeError("port \"Output\"", "size must equal the output size (" + source + ")",
                     "shape " + Shape{size}.to_string(), "shape " + out.to_string());
  if (w.rank_known() && !agree(w[0], "array \"Weights\""))
    throw ShapeError(array_where("Weights"), "number of rows must equal the output size (" + source + ")",
                     "shape " + Shape{size, w[1]}.to_string(), "shape " + w.to_string());
  if (b.rank_known() && !agree(b[0], "array \"Biases\""))
    throw ShapeError(array_where("Biases"), "length must equal the output size (" + source + ")",
                     "length " + std::to_string(size), "length " + std::to_string(b[0]));

  // The input size: the product of the input dims, or the columns of "Weights". With one input
  // dim unknown and the columns given, that dim is their quotient.
  int64_t in_size = w.rank_known() ? w[1] : kUnknownDim;
  if (in.rank_known()) {
    std::vector<int64_t> dims = in.dims(), known;
    int64_t unknown = 0;
    for (int64_t d : dims) {
      if (d == kUnknownDim)
        ++unknown;
      else
        known.push_back(d);
    }
    const int64_t product = checked_product(known);
    if (in_size != kUnknownDim && (unknown == 0 ? in_size != product : in_size % product != 0))
      throw ShapeError(array_where("Weights"),
                       "number of columns must equal the input size (port \"Input\" " + in.to_string() + ", " +
                           (unknown ? "a multiple of " : "") + std::to_string(product) + " elements)",
                       unknown ? "a multiple of " + std::to_string(product) + " columns"
                               : "shape " + Shape{size, product}.to_string(),
                       "shape " + w.to_string());
    if (unknown == 0) in_size = product;
    if (unknown == 1 && in_size != kUnknownDim)
      for (int64_t& d : dims)
        if (d == kUnknownDim) d = in_size / product;
    in = Shape(dims);
  }
  out = Shape{size};
  s.arrays["Weights"] = Shape{size, in_size};
  s.arrays["Biases"] = Shape{size};
}

std::vector<ArrayDecl> Linear::arrays(const LayerShapes& s) const {
  const int64_t size = config_.output_size;
  const Shape w = s.arrays.count("Weights") ? s.arrays.at("Weights") : Shape{size, kUnknownDim};
  const Shape b = s.arrays.count("Biases") ? s.arrays.at("Biases") : Shape{size};
  return {
      {"Weights", w, ArrayRole::Learnable, config_.weights_initializer, config_.l2_weights, true},
      {"Biases", b, ArrayRole::Learnable, config_.biases_initializer, config_.l2_biases, true},
  };
}

void Linear::check_array(const std::string& name, const Array& value) const {
  for (int64_t i = 0; i < value.size(); ++i) {
    if (std::isfinite(value[i])) continue;
    const int64_t columns = value.rank() == 2 ? value.dims()[1] : 0;
    const std::string at = columns ? "row " + std::to_string(i / columns) + ", column " + std::to_string(i % columns)
                                   : "element " + std::to_string(i);
    throw InitializationError(array_where(name) + ", " + at, "value is not finite", "a finite number",
                              number_text(value[i]));
  }
}

std::string Linear::unknown_shape_reason(const std::string& array) const {
  if (array == "Biases")
    return "the output size is not known (give \"OutputSize\", port \"Output\" or array \"Weights\")";
  if (config_.output_size == kUnknownDim)
    return "the output size or the input size is not known (\"OutputSize\" or port \"Output\" gives the rows, port "
           "\"Input\" the columns)";
  return "the input size is not known (port \"Input\" gives the columns)";
}

void Linear::forward(const ForwardArgs& a) const {
  kernels::linear_forward(a.inputs[0], a.params[kWeights], a.params[kBiases], dims_of(a), a.outputs[0]);
}

void Linear::backward(const BackwardArgs& a) const {
  kernels::linear_backward(a.inputs[0], a.params[kWeights], a.output_grads[0], dims_of(a), at_or_null(a.input_grads, 0),
                           !a.overwrite_input_grads, at_or_null(a.param_grads, kWeights),
                           at_or_null(a.param_grads, kBiases));
}

nlohmann::json Linear::options() const {
  const auto& c = config_;
  return {
      {"OutputSize", c.output_size == kUnknownDim ? nlohmann::json(nullptr) : nlohmann::json(c.output_size)},
      {"WeightsInitializer", c.weights_initializer.name()},
      {"BiasesInitializer", c.biases_initializer.name()},
      {"L2Factors", {{"Weights", c.l2_weights}, {"Biases", c.l2_biases}}},
  };
}

bool Linear::has_user_functions() const {
  return config_.weights_initializer.kind() == Initializer::Kind::Function ||
         config_.biases_initializer.kind() == Initializer::Kind::Function;
}

}  // namespace netkit
