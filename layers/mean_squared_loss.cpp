#include <netkit/layers/mean_squared_loss.h>

#include <vector>

#include <netkit/core/error.h>
#include <netkit/layers/kernels/losses.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

MeanSquaredLoss::MeanSquaredLoss(const nlohmann::json& options) {
  OptionReader r(options, "MeanSquaredLoss");  // checks that the options are an object (or null)
  if (options.is_object() && !options.empty())
    throw OptionError("MeanSquaredLoss options", "unknown option " + in_quotes(options.begin().key()),
                      "no options (MeanSquaredLoss has none)", in_quotes(options.begin().key()));
}

void MeanSquaredLoss::infer_shapes(LayerShapes& s) const {
  Shape& in = s.inputs.at(0);
  Shape& target = s.inputs.at(1);
  Shape& loss = s.outputs.at(0);
  if (loss.rank_known() && loss.rank() != 0)
    throw ShapeError("port \"Loss\"", "the loss is one number per example", "shape []", "shape " + loss.to_string());
  loss = Shape(std::vector<int64_t>{});  // shape [] (Shape{} would be an unknown rank)
  const auto joined = Shape::unify(in, target);
  if (!joined)
    throw ShapeError("port \"Target\"", "target must have the input's shape", in.to_string(), target.to_string());
  in = target = *joined;
}

void MeanSquaredLoss::forward(const ForwardArgs& a) const {
  kernels::mean_squared_forward(a.inputs[0], a.inputs[1], a.batch, a.input_shapes.at(0).num_elements(), a.outputs[0]);
}

void MeanSquaredLoss::backward(const BackwardArgs& a) const {
  auto grad = [&](size_t i) { return i < a.input_grads.size() ? a.input_grads[i] : nullptr; };
  if (!grad(0) && !grad(1)) return;
  kernels::mean_squared_backward(a.inputs[0], a.inputs[1], a.output_grads[0], a.batch,
                                 a.input_shapes.at(0).num_elements(), grad(0), grad(1), !a.overwrite_input_grads);
}

}  // namespace netkit
