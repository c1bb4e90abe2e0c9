// ConvolutionLayer: options, arrays and the calls into the kernels. Shape inference is in
// layers/convolution_shapes.cpp.
#include <netkit/layers/convolution.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <netkit/core/error.h>
#include <netkit/layers/kernels/convolution.h>
#include <netkit/layers/kernels/convolution_volume.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();

std::string sizes_expected(int64_t min, bool same) {
  const std::string m = std::to_string(min);
  return "an integer >= " + m + " or a list of 1, 2 or 3 integers >= " + m + (same ? " or \"Same\"" : "");
}

// One integer of a size option, checked against [min, kMaxSize].
int64_t size_value(const nlohmann::json& v, const std::string& where, const std::string& expected, int64_t min,
                   const nlohmann::json& whole) {
  if (!v.is_number_integer()) throw OptionError(where, "wrong type", expected, json_type_name(whole));
  const bool too_large = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(kMaxSize);
  if (too_large || v.get<int64_t>() > kMaxSize)
    throw OptionError(where, "out of range", "at most " + std::to_string(kMaxSize), shortened(whole.dump()));
  if (v.get<int64_t>() < min) throw OptionError(where, "out of range", expected, shortened(whole.dump()));
  return v.get<int64_t>();
}

// "KernelSize", "Stride", "PaddingSize", "Dilation": an integer (every dimension) or a list of
// 1, 2 or 3 integers (one per dimension); "PaddingSize" may also be "Same".
Convolution::Sizes read_sizes(OptionReader& r, const std::string& name, Convolution::Sizes fallback, int64_t min,
                              bool* same = nullptr) {
  const nlohmann::json* v = r.raw(name);
  if (!v || v->is_null()) return fallback;
  const std::string where = r.where(name), expected = sizes_expected(min, same != nullptr);
  if (same && v->is_string() && v->get<std::string>() == "Same") {
    *same = true;
    return fallback;
  }
  if (v->is_array()) {
    if (v->empty() || v->size() > 3)
      throw OptionError(where, "wrong number of spatial dimensions", expected,
                        "a list of " + std::to_string(v->size()));
    Convolution::Sizes s{{}, true};
    for (const auto& e : *v) s.values.push_back(size_value(e, where, expected, min, *v));
    return s;
  }
  if (v->is_string()) throw OptionError(where, "invalid value", expected, shortened(v->dump()));
  return {{size_value(*v, where, expected, min, *v)}, false};
}

nlohmann::json sizes_json(const Convolution::Sizes& s) {
  if (!s.given()) return nullptr;
  return s.per_dim ? nlohmann::json(s.values) : nlohmann::json(s.values[0]);
}

std::string array_where(const std::string& name) { return "array " + in_quotes(name); }

// The batch's geometry for the kernels: `plane` for the 2-D kernels (1-D runs as 2-D with height
// 1), plus the depth of a 3-D convolution, which runs as 2-D depth slices.
template <class Args>
kernels::VolumeDims dims_of(const Convolution& layer, const Args& a) {
  if (a.input_shapes.size() != 1 || a.output_shapes.size() != 1)
    throw EvaluationError("Convolution layer", "port shapes not given to the layer", "one input and one output shape",
                          std::to_string(a.input_shapes.size()) + " and " + std::to_string(a.output_shapes.size()));
  const Shape &in = a.input_shapes[0], &out = a.output_shapes[0];
  const auto& c = layer.config();
  kernels::VolumeDims v;
  kernels::ConvDims& d = v.plane;
  d.batch = a.batch;
  d.in_channels = in[0];
  d.out_channels = out[0];
  d.groups = c.groups;
  const int64_t rank = in.rank() - 1;
  if (rank == 3) {
    v.in_d = in[1];
    v.out_d = out[1];
    v.kernel_d = c.kernel_size.at(0);
    v.stride_d = c.stride.at(0);
    v.dilation_d = c.dilation.at(0);
    v.pad_d = layer.padding_before(0, in[1], out[1], c.kernel_size.at(0));
  }
  const int64_t planar = std::min<int64_t>(rank, 2);  // the dimensions the 2-D kernels see
  int64_t* ins[] = {&d.in_h, &d.in_w};
  int64_t* outs[] = {&d.out_h, &d.out_w};
  int64_t* kernels[] = {&d.kernel_h, &d.kernel_w};
  int64_t* strides[] = {&d.stride_h, &d.stride_w};
  int64_t* pads[] = {&d.pad_h, &d.pad_w};
  int64_t* dilations[] = {&d.dilation_h, &d.dilation_w};
  for (int64_t at = 2 - planar; at < 2; ++at) {  // 1-D fills the width
    const int64_t k = rank - 2 + at;             // the layer's spatial dimension
    const auto i = static_cast<size_t>(at);
    *ins[i] = in[k + 1];
    *outs[i] = out[k + 1];
    *kernels[i] = c.kernel_size.at(k);
    *strides[i] = c.stride.at(k);
    *dilations[i] = c.dilation.at(k);
    *pads[i] = layer.padding_before(k, in[k + 1], out[k + 1], c.kernel_size.at(k));
  }
  return v;
}

template <class T>
T* at_or_null(const std::vector<T*>& v, size_t i) {
  return i < v.size() ? v[i] : nullptr;
}

}  // namespace

Convolution::Convolution(Config config) : config_(std::move(config)) { validate(); }

Convolution::Convolution(const nlohmann::json& options) {
  OptionReader r(options, "Convolution");
  Config c;
  if (const auto* v = r.raw("OutputChannels"); v && !v->is_null()) {  // null: left open, as options() writes it
    const std::string where = r.where("OutputChannels");
    if (!v->is_number_integer()) throw OptionError(where, "wrong type", "an integer >= 1", json_type_name(*v));
    c.output_channels = size_value(*v, where, "an integer >= 1", 1, *v);
  }
  c.kernel_size = read_sizes(r, "KernelSize", c.kernel_size, 1);
  c.stride = read_sizes(r, "Stride", c.stride, 1);
  c.padding = read_sizes(r, "PaddingSize", c.padding, 0, &c.same_padding);
  c.dilation = read_sizes(r, "Dilation", c.dilation, 1);
  if (const auto* v = r.raw("ChannelGroups"); v && !v->is_null())
    c.groups = size_value(*v, r.where("ChannelGroups"), "an integer >= 1", 1, *v);
  c.has_biases = r.boolean("HasBiases", c.has_biases);
  c.weights_initializer = r.initializer("WeightsInitializer", c.weights_initializer, Initializer::all_names());
  c.biases_initializer = r.initializer("BiasesInitializer", c.biases_initializer, Initializer::names());
  if (c.has_biases) {
    const auto l2 = r.per_array_numbers("L2Factors", {"Weights", "Biases"}, 1.0);
    c.l2_weights = l2[0];
    c.l2_biases = l2[1];
  } else {
    c.l2_weights = r.per_array_numbers("L2Factors", {"Weights"}, 1.0, " (\"HasBiases\" is false)")[0];
  }
  r.finish();
  config_ = c;
  validate();
}

void Convolution::validate() const {
  const auto& c = config_;
  const std::string type = "Convolution option ";
  if (c.output_channels != kUnknownDim && (c.output_channels < 1 || c.output_channels > kMaxSize))
    throw OptionError(type + "\"OutputChannels\"", "out of range", "an integer >= 1",
                      std::to_string(c.output_channels));
  const std::pair<const char*, const Sizes*> sizes[] = {
      {"KernelSize", &c.kernel_size}, {"Stride", &c.stride}, {"PaddingSize", &c.padding}, {"Dilation", &c.dilation}};
  const char* first_list = nullptr;
  size_t first_length = 0;
  for (const auto& [name, s] : sizes) {
    const int64_t min = s == &c.padding ? 0 : 1;
    if (s != &c.kernel_size && !s->given())
      throw OptionError(type + in_quotes(name), "no value", sizes_expected(min, s == &c.padding), "an empty list");
    if (s->given() && (s->values.size() > 3 || (!s->per_dim && s->values.size() != 1)))
      throw OptionError(type + in_quotes(name), "wrong number of spatial dimensions",
                        sizes_expected(min, s == &c.padding), std::to_string(s->values.size()) + " values");
    for (int64_t v : s->values)
      if (v < min || v > kMaxSize)
        throw OptionError(type + in_quotes(name), "out of range", sizes_expected(min, false), std::to_string(v));
    if (!s->per_dim || (s == &c.padding && c.same_padding)) continue;
    if (!first_list) {
      first_list = name;
      first_length = s->values.size();
    } else if (s->values.size() != first_length) {
      throw OptionError("Convolution options", "list-valued options give different numbers of spatial dimensions",
                        std::to_string(first_length) + " values (as " + in_quotes(first_list) + ")",
                        std::to_string(s->values.size()) + " values in " + in_quotes(name));
    }
  }
  if (c.groups < 1 || c.groups > kMaxSize)
    throw OptionError(type + "\"ChannelGroups\"", "out of range", "an integer >= 1", std::to_string(c.groups));
  if (c.output_channels != kUnknownDim && c.output_channels % c.groups != 0)
    throw OptionError(type + "\"ChannelGroups\"",
                      "must divide \"OutputChannels\" (" + std::to_string(c.output_channels) + ")",
                      "a divisor of " + std::to_string(c.output_channels), std::to_string(c.groups));
  if (c.biases_initializer.uses_fans())
    throw OptionError(type + "\"BiasesInitializer\"", "initializer needs the fans of a weight array of rank >= 2",
                      "one of Zeros, Ones, NarrowNormal", in_quotes(c.biases_initializer.name()));
  for (double f : {c.l2_weights, c.l2_biases})
    if (!(f >= 0) || !std::isfinite(f))
      throw OptionError(type + "\"L2Factors\"", "out of range", "finite numbers >= 0", number_text(f));
}

int64_t Convolution::output_size(int64_t dim, int64_t in, int64_t kernel) const {
  const int64_t s = config_.stride.at(dim);
  if (config_.same_padding) return (in + s - 1) / s;
  const int64_t span = config_.dilation.at(dim) * (kernel - 1) + 1;  // the dilated kernel
  const int64_t padded = in + 2 * config_.padding.at(dim);
  return padded < span ? 0 : (padded - span) / s + 1;
}

int64_t Convolution::padding_before(int64_t dim, int64_t in, int64_t out, int64_t kernel) const {
  if (!config_.same_padding) return config_.padding.at(dim);
  const int64_t total = (out - 1) * config_.stride.at(dim) + config_.dilation.at(dim) * (kernel - 1) + 1 - in;
  return total > 0 ? total / 2 : 0;
}

std::vector<ArrayDecl> Convolution::arrays(const LayerShapes& s) const {
  const int64_t oc = config_.output_channels;
  const Shape w = s.arrays.count("Weights") ? s.arrays.at("Weights") : Shape();
  const Shape b = s.arrays.count("Biases") ? s.arrays.at("Biases") : Shape{oc};
  std::vector<ArrayDecl> decls{
      {"Weights", w, ArrayRole::Learnable, config_.weights_initializer, config_.l2_weights, true}};
  if (config_.has_biases)
    decls.push_back({"Biases", b, ArrayRole::Learnable, config_.biases_initializer, config_.l2_biases, true});
  return decls;
}

void Convolution::check_array(const std::string& name, const Array& value) const {
  for (int64_t i = 0; i < value.size(); ++i) {
    if (std::isfinite(value[i])) continue;
    std::vector<int64_t> index(value.dims().size());
    for (size_t k = index.size(), flat = static_cast<size_t>(i); k-- > 0;) {
      const size_t n = static_cast<size_t>(value.dims()[k]);
      index[k] = static_cast<int64_t>(flat % n);
      flat /= n;
    }
    throw InitializationError(array_where(name) + ", element " + dims_to_string(index), "value is not finite",
                              "a finite number", number_text(value[i]));
  }
}

std::string Convolution::unknown_shape_reason(const std::string& array) const {
  if (array == "Biases")
    return "the number of output channels is not known (give \"OutputChannels\", port \"Output\" or array \"Weights\")";
  if (!config_.kernel_size.given()) return "the kernel size is not known (give \"KernelSize\")";
  if (config_.output_channels == kUnknownDim)
    return "the output channels or the input channels are not known (\"OutputChannels\" or port \"Output\" gives the "
           "first dimension, port \"Input\" the second)";
  return "the input channels are not known (port \"Input\" gives them)";
}

void Convolution::forward(const ForwardArgs& a) const {
  const float* b = config_.has_biases ? a.params.at(kBiases) : nullptr;
  const kernels::VolumeDims volume = dims_of(*this, a);
  if (a.input_shapes[0].rank() == 4)
    kernels::conv_volume_forward(a.inputs[0], a.params[kWeights], b, volume, a.outputs[0]);
  else
    kernels::conv_forward(a.inputs[0], a.params[kWeights], b, volume.plane, a.outputs[0]);
}

void Convolution::backward(const BackwardArgs& a) const {
  float* db = config_.has_biases ? at_or_null(a.param_grads, kBiases) : nullptr;
  float *dx = at_or_null(a.input_grads, 0), *dw = at_or_null(a.param_grads, kWeights);
  const kernels::VolumeDims volume = dims_of(*this, a);
  if (a.input_shapes[0].rank() == 4)
    kernels::conv_volume_backward(a.inputs[0], a.params[kWeights], a.output_grads[0], volume, dx,
                                  !a.overwrite_input_grads, dw, db);
  else
    kernels::conv_backward(a.inputs[0], a.params[kWeights], a.output_grads[0], volume.plane, dx,
                           !a.overwrite_input_grads, dw, db);
}

nlohmann::json Convolution::options() const {
  const auto& c = config_;
  nlohmann::json l2{{"Weights", c.l2_weights}};
  if (c.has_biases) l2["Biases"] = c.l2_biases;
  return {
      {"OutputChannels",
       c.output_channels == kUnknownDim ? nlohmann::json(nullptr) : nlohmann::json(c.output_channels)},
      {"KernelSize", sizes_json(c.kernel_size)},
      {"Stride", sizes_json(c.stride)},
      {"PaddingSize", c.same_padding ? nlohmann::json("Same") : sizes_json(c.padding)},
      {"Dilation", sizes_json(c.dilation)},
      {"ChannelGroups", c.groups},
      {"HasBiases", c.has_biases},
      {"WeightsInitializer", c.weights_initializer.name()},
      {"BiasesInitializer", c.biases_initializer.name()},
      {"L2Factors", l2},
  };
}

bool Convolution::has_user_functions() const {
  return config_.weights_initializer.kind() == Initializer::Kind::Function ||
         config_.biases_initializer.kind() == Initializer::Kind::Function;
}

}  // namespace netkit
