#include <netkit/layers/softmax.h>

#include <cstdint>

#include <netkit/core/error.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

Softmax::Softmax(const nlohmann::json& options) {
  OptionReader r(options, "Softmax");
  if (const auto* v = r.raw("Level")) {
    const std::string where = r.where("Level");
    if (!v->is_number_integer())
      throw OptionError(where, "wrong type", "a nonzero integer (-1: the last dimension, 1: the first)",
                        json_type_name(*v));
    const bool too_large = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX);
    if (too_large || v->get<int64_t>() == 0 || v->get<int64_t>() == INT64_MIN)
      throw OptionError(where, "out of range", "a nonzero integer (-1: the last dimension, 1: the first)",
                        shortened(v->dump()));
    level_ = v->get<int64_t>();
  }
  r.finish();
}

int64_t Softmax::axis(int64_t rank) const {
  const int64_t depth = level_ > 0 ? level_ : -level_;
  if (depth > rank)
    throw ShapeError("port \"Input\"",
                     "option \"Level\" -> " + std::to_string(level_) + " names a dimension the input does not have",
                     "rank >= " + std::to_string(depth), "rank " + std::to_string(rank));
  return level_ > 0 ? level_ - 1 : rank + level_;
}

kernels::SoftmaxDims Softmax::dims(int64_t batch, const Shape& example) const {
  const auto& d = example.dims();
  const int64_t a = axis(example.rank());
  kernels::SoftmaxDims k{batch, d[static_cast<size_t>(a)], 1};
  for (size_t i = 0; i < static_cast<size_t>(a); ++i) k.outer *= d[i];
  for (size_t i = static_cast<size_t>(a) + 1; i < d.size(); ++i) k.inner *= d[i];
  return k;
}

void Softmax::infer_shapes(LayerShapes& s) const {
  Shape& in = s.inputs.at(0);
  Shape& out = s.outputs.at(0);
  const auto joined = Shape::unify(in, out);
  if (!joined)
    throw ShapeError("port \"Output\"", "output shape must equal the input shape", in.to_string(), out.to_string());
  if (joined->rank_known()) {
    if (joined->rank() < 1)
      throw ShapeError("port \"Input\"", "softmax needs an array of rank >= 1 to normalise along", "rank >= 1",
                       "rank 0");
    axis(joined->rank());
  }
  in = out = *joined;
}

void Softmax::forward(const ForwardArgs& a) const {
  kernels::softmax_forward(a.inputs[0], dims(a.batch, a.input_shapes.at(0)), a.outputs[0]);
}

void Softmax::backward(const BackwardArgs& a) const {
  float* dx = a.input_grads.empty() ? nullptr : a.input_grads[0];
  if (!dx) return;  // no arrays: nothing else to differentiate
  kernels::softmax_backward(a.outputs[0], a.output_grads[0], dims(a.batch, a.input_shapes.at(0)), dx,
                            !a.overwrite_input_grads);
}

}  // namespace netkit
