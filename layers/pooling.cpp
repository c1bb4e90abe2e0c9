#include <netkit/layers/pooling.h>

#include <cstdint>

#include <netkit/core/error.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

using kernels::PoolFunction;

// Larger sizes are refused, so that in + 2 PaddingSize - KernelSize cannot overflow.
constexpr int64_t kMaxSize = INT32_MAX;

const char kKernel[] = "KernelSize";
const char kStride[] = "Stride";
const char kPadding[] = "PaddingSize";

std::string option_where(const std::string& name) { return "Pooling option " + in_quotes(name); }

nlohmann::json sizes_json(const Pooling::Sizes& s) {
  return s.scalar ? nlohmann::json(s.values.at(0)) : nlohmann::json(s.values);
}

std::string sizes_text(const Pooling::Sizes& s) { return sizes_json(s).dump(); }

Pooling::Sizes read_sizes(OptionReader& r, const std::string& name, const Pooling::Sizes& fallback, int64_t min) {
  const nlohmann::json* v = r.raw(name);
  if (!v) return fallback;
  const std::string form = "an integer >= " + std::to_string(min) + " or a list of 1 or 2 of them";
  auto value = [&](const nlohmann::json& e) -> int64_t {
    if (!e.is_number_integer()) throw OptionError(option_where(name), "wrong type", form, json_type_name(e));
    if ((e.is_number_unsigned() && e.get<uint64_t>() > static_cast<uint64_t>(kMaxSize)) || e.get<int64_t>() > kMaxSize)
      throw OptionError(option_where(name), "out of range", "integers <= " + std::to_string(kMaxSize),
                        shortened(e.dump()));
    return e.get<int64_t>();
  };
  if (!v->is_array()) return {{value(*v)}, true};
  if (v->empty() || v->size() > 2)
    throw OptionError(option_where(name), "unsupported number of spatial dimensions",
                      "a list of 1 or 2 sizes (1-D or 2-D pooling)", std::to_string(v->size()) + " sizes");
  Pooling::Sizes s{{}, false};
  for (const auto& e : *v) s.values.push_back(value(e));
  return s;
}

// The pooling dims of a batch: 1-D inputs are planes of height 1.
template <class Args>
kernels::PoolDims dims_of(const Pooling& layer, const Args& a) {
  const Shape& in = a.input_shapes.at(0);
  const Shape& out = a.output_shapes.at(0);
  const Pooling::Sizes stride = layer.stride(), &kernel = layer.config().kernel_size, &pad = layer.config().padding;
  kernels::PoolDims d;
  d.planes = a.batch * in[0];
  const int64_t w = in.rank() - 2;  // the last spatial dimension
  if (in.rank() == 3) {
    d.in_h = in[1], d.out_h = out[1];
    d.kernel_h = kernel.at(0), d.stride_h = stride.at(0), d.pad_h = pad.at(0);
  }
  d.in_w = in[w + 1], d.out_w = out[w + 1];
  d.kernel_w = kernel.at(w), d.stride_w = stride.at(w), d.pad_w = pad.at(w);
  return d;
}

}  // namespace

Pooling::Pooling(Config config) : config_(std::move(config)) { validate(); }

Pooling::Pooling(const nlohmann::json& options) {
  OptionReader r(options, "Pooling");
  Config c;
  c.function = r.choice("Function", "Max", {"Max", "Mean"}) == "Max" ? PoolFunction::Max : PoolFunction::Mean;
  c.kernel_size = read_sizes(r, kKernel, c.kernel_size, 1);
  if (r.raw(kStride)) c.stride = read_sizes(r, kStride, c.kernel_size, 1);
  c.padding = read_sizes(r, kPadding, c.padding, 0);
  r.finish();
  config_ = std::move(c);
  validate();
}

int64_t Pooling::spatial_rank() const {
  for (const Sizes* s : {&config_.kernel_size, &config_.padding})
    if (!s->scalar) return static_cast<int64_t>(s->values.size());
  if (config_.stride && !config_.stride->scalar) return static_cast<int64_t>(config_.stride->values.size());
  return 0;
}

void Pooling::validate() const {
  const Sizes stride_sizes = stride();
  const std::pair<const char*, const Sizes*> all[] = {
      {kKernel, &config_.kernel_size}, {kStride, &stride_sizes}, {kPadding, &config_.padding}};
  const char* list_source = nullptr;
  size_t list_length = 0;
  for (const auto& [name, s] : all) {
    const int64_t min = s == &config_.padding ? 0 : 1;
    if (s->values.empty() || (s->scalar && s->values.size() != 1) || s->values.size() > 2)
      throw OptionError(option_where(name), "unsupported number of spatial dimensions",
                        "a list of 1 or 2 sizes (1-D or 2-D pooling)", std::to_string(s->values.size()) + " sizes");
    for (int64_t v : s->values)
      if (v < min || v > kMaxSize)
        throw OptionError(option_where(name), "out of range",
                          "integers from " + std::to_string(min) + " to " + std::to_string(kMaxSize), sizes_text(*s));
    if (s->scalar) continue;
    if (list_source && s->values.size() != list_length)
      throw OptionError(option_where(name), "list length differs from " + in_quotes(list_source),
                        std::to_string(list_length) + " sizes (" + std::to_string(list_length) + "-D pooling)",
                        std::to_string(s->values.size()) + " sizes");
    if (!list_source) list_source = name, list_length = s->values.size();
  }
  // PyTorch's rule: padding at most half the kernel, so every window overlaps the input.
  const int64_t dims = list_source ? static_cast<int64_t>(list_length) : 1;
  for (int64_t i = 0; i < dims; ++i) {
    const int64_t k = config_.kernel_size.at(i), p = config_.padding.at(i);
    if (2 * p > k)
      throw OptionError(option_where(kPadding), "padding must be at most half the kernel size",
                        "at most " + std::to_string(k / 2) + " (KernelSize " + std::to_string(k) + ")" +
                            (list_source ? " in spatial dimension " + std::to_string(i + 1) : ""),
                        std::to_string(p));
  }
}

void Pooling::infer_shapes(LayerShapes& s) const {
  Shape& in = s.inputs.at(0);
  Shape& out = s.outputs.at(0);
  // Rank: 2 or 3, fixed by a list option or by either port; input and output agree.
  const int64_t fixed = spatial_rank();
  auto check_rank = [&](const Shape& shape, const char* port) {
    if (!shape.rank_known()) return;
    const int64_t r = shape.rank();
    if (fixed && r != fixed + 1)
      throw ShapeError(port,
                       std::to_string(fixed) + "-D pooling (KernelSize " + sizes_text(config_.kernel_size) +
                           ", Stride " + sizes_text(stride()) + ", PaddingSize " + sizes_text(config_.padding) +
                           ") needs " + (fixed == 1 ? "[channels, length]" : "[channels, height, width]") + " arrays",
                       "rank " + std::to_string(fixed + 1), "shape " + shape.to_string());
    if (r != 2 && r != 3)
      throw ShapeError(port, "pooling needs [channels, length] or [channels, height, width] arrays", "rank 2 or 3",
                       "shape " + shape.to_string());
  };
  check_rank(in, "port \"Input\"");
  check_rank(out, "port \"Output\"");
  if (in.rank_known() && out.rank_known() && in.rank() != out.rank())
    throw ShapeError("port \"Output\"", "rank must equal the input's", "rank " + std::to_string(in.rank()),
                     "shape " + out.to_string());
  const int64_t rank = in.rank_known() ? in.rank() : out.rank_known() ? out.rank() : fixed ? fixed + 1 : 0;
  if (!rank) return;
  std::vector<int64_t> di = in.rank_known() ? in.dims() : std::vector<int64_t>(static_cast<size_t>(rank), kUnknownDim);
  std::vector<int64_t> dout =
      out.rank_known() ? out.dims() : std::vector<int64_t>(static_cast<size_t>(rank), kUnknownDim);

  // Channels pass through.
  if (di[0] != kUnknownDim && dout[0] != kUnknownDim && di[0] != dout[0])
    throw ShapeError("port \"Output\"", "channels must equal the input's", std::to_string(di[0]),
                     std::to_string(dout[0]));
  if (di[0] == kUnknownDim) di[0] = dout[0];
  dout[0] = di[0];

  const Sizes st = stride();
  for (int64_t i = 0; i + 1 < rank; ++i) {
    const auto d = static_cast<size_t>(i + 1);
    const int64_t k = config_.kernel_size.at(i), sd = st.at(i), p = config_.padding.at(i);
    const std::string dim = "dimension " + std::to_string(i + 2);
    const std::string sizes =
        "KernelSize " + std::to_string(k) + ", Stride " + std::to_string(sd) + ", PaddingSize " + std::to_string(p);
    if (di[d] != kUnknownDim) {
      const int64_t o = kernels::pool_output_size(di[d], k, sd, p);
      if (o < 1)
        throw ShapeError(
            "port \"Input\"",
            "input smaller than the pooling window in " + dim + " (" + sizes + "): the output would be empty",
            "a size >= " + std::to_string(k - 2 * p) + " in " + dim, "shape " + Shape(di).to_string());
      if (dout[d] != kUnknownDim && dout[d] != o)
        throw ShapeError(
            "port \"Output\"",
            "size in " + dim + " does not follow from the input's " + std::to_string(di[d]) + " (" + sizes + ")",
            std::to_string(o), std::to_string(dout[d]));
      dout[d] = o;
    } else if (dout[d] != kUnknownDim && sd == 1) {
      // With stride 1 the input size is out + k - 2p - 1; a larger stride leaves it open.
      const int64_t n = dout[d] + k - 2 * p - 1;
      if (n < 1)
        throw ShapeError("port \"Output\"", "no input size gives this output in " + dim + " (" + sizes + ")",
                         "a size >= " + std::to_string(2 - k + 2 * p), std::to_string(dout[d]));
      di[d] = n;
    }
  }
  in = Shape(di);
  out = Shape(dout);
}

void Pooling::forward(const ForwardArgs& a) const {
  kernels::pool_forward(config_.function, a.inputs[0], dims_of(*this, a), a.outputs[0]);
}

void Pooling::backward(const BackwardArgs& a) const {
  if (a.input_grads.empty() || !a.input_grads[0]) return;
  kernels::pool_backward(config_.function, a.inputs[0], a.output_grads[0], dims_of(*this, a), a.input_grads[0],
                         !a.overwrite_input_grads);
}

nlohmann::json Pooling::options() const {
  return {
      {"Function", config_.function == PoolFunction::Max ? "Max" : "Mean"},
      {kKernel, sizes_json(config_.kernel_size)},
      {kStride, sizes_json(stride())},
      {kPadding, sizes_json(config_.padding)},
  };
}

}  // namespace netkit
