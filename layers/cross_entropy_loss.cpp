#include <netkit/layers/cross_entropy_loss.h>

#include <netkit/layers/softmax.h>

#include <cmath>
#include <vector>

#include <netkit/core/error.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

const char kTargetForm[] = "TargetForm";
const char kInputForm[] = "InputForm";

const Shape kScalar{std::vector<int64_t>{}};  // one number per example: shape [] (Shape{} is unknown rank)

std::string form_name(CrossEntropyLoss::TargetForm f) {
  return f == CrossEntropyLoss::TargetForm::Index ? "Index" : "Probabilities";
}
std::string form_name(CrossEntropyLoss::InputForm f) {
  return f == CrossEntropyLoss::InputForm::Logits ? "Logits" : "Probabilities";
}

// Examples as [positions, classes]: every input dimension but the last is a position.
kernels::CrossEntropyDims dims_of(int64_t batch, const Shape& input) {
  const auto& d = input.dims();
  return {batch, checked_product({d.begin(), d.end() - 1}), d.back()};
}

// A target value as the user wrote it: whole numbers in full ("10", not "1e+01").
std::string value_text(float v) {
  const double d = v;
  if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  return number_text(d);
}

}  // namespace

CrossEntropyLoss::CrossEntropyLoss(TargetForm target, InputForm input) : target_(target), input_(input) {}

LayerPtr CrossEntropyLoss::absorb_producer(const Layer& producer, const Shape& producer_input) const {
  const auto* softmax = dynamic_cast<const Softmax*>(&producer);
  if (input_ != InputForm::Probabilities || !softmax) return nullptr;
  const int64_t rank = producer_input.rank_known() ? producer_input.rank() : -1;
  if (softmax->level() != -1 && !(rank > 0 && softmax->level() == rank)) return nullptr;
  return std::make_shared<const CrossEntropyLoss>(target_, InputForm::Logits);
}

CrossEntropyLoss::CrossEntropyLoss(const nlohmann::json& options) {
  OptionReader r(options, "CrossEntropyLoss");
  target_ = r.choice(kTargetForm, "Index", {"Index", "Probabilities"}) == "Index" ? TargetForm::Index
                                                                                  : TargetForm::Probabilities;
  input_ = r.choice(kInputForm, "Probabilities", {"Probabilities", "Logits"}) == "Logits" ? InputForm::Logits
                                                                                          : InputForm::Probabilities;
  r.finish();
}

nlohmann::json CrossEntropyLoss::options() const {
  return {{kTargetForm, form_name(target_)}, {kInputForm, form_name(input_)}};
}

void CrossEntropyLoss::infer_shapes(LayerShapes& s) const {
  Shape& in = s.inputs.at(0);
  Shape& target = s.inputs.at(1);
  Shape& loss = s.outputs.at(0);
  if (loss.rank_known() && loss.rank() != 0)
    throw ShapeError("port \"Loss\"", "the loss is one number per example", "shape []", "shape " + loss.to_string());
  loss = kScalar;
  if (in.rank_known() && in.rank() < 1)
    throw ShapeError("port \"Input\"", "cross entropy needs class scores along a last dimension", "rank >= 1",
                     "rank 0");
  if (target_ == TargetForm::Probabilities) {
    if (target.rank_known() && target.rank() < 1)
      throw ShapeError("port \"Target\"",
                       "probability targets need the input's class dimension (\"TargetForm\" -> "
                       "\"Probabilities\")",
                       "rank >= 1", "rank 0", "Use \"TargetForm\" -> \"Index\" for one class index per example");
    const auto joined = Shape::unify(in, target);
    if (!joined)
      throw ShapeError("port \"Target\"",
                       "probability targets must have the input's shape (\"TargetForm\" -> "
                       "\"Probabilities\")",
                       in.to_string(), target.to_string());
    in = target = *joined;
    return;
  }
  // Index targets: the input's shape without its last (class) dimension.
  if (in.rank_known()) {
    std::vector<int64_t> dims = in.dims();
    const int64_t classes = dims.back();
    dims.pop_back();
    const auto joined = Shape::unify(Shape(dims), target);
    if (!joined)
      throw ShapeError("port \"Target\"",
                       "index targets have the input's shape without its class dimension "
                       "(\"TargetForm\" -> \"Index\")",
                       Shape(dims).to_string(), target.to_string(),
                       target.rank_known() && target.rank() == in.rank()
                           ? "Use \"TargetForm\" -> \"Probabilities\" for probability vectors"
                           : "");
    target = *joined;
    dims = joined->dims();
    dims.push_back(classes);
    in = Shape(dims);
  } else if (target.rank_known()) {
    std::vector<int64_t> dims = target.dims();
    dims.push_back(kUnknownDim);
    in = Shape(dims);
  }
}

void CrossEntropyLoss::check_indices(const float* t, const kernels::CrossEntropyDims& d, const Shape& input) const {
  const int64_t bad = kernels::first_bad_class_index(t, d.batch * d.positions, d.classes);
  if (bad < 0) return;
  std::string where = "port \"Target\", example " + std::to_string(bad / d.positions);
  if (input.rank() > 1) {
    // The position as a multi-index over the input's leading dimensions.
    std::vector<int64_t> index(static_cast<size_t>(input.rank() - 1));
    int64_t rest = bad % d.positions;
    for (size_t i = index.size(); i-- > 0;) {
      index[i] = rest % input[static_cast<int64_t>(i)];
      rest /= input[static_cast<int64_t>(i)];
    }
    where += ", position " + dims_to_string(index);
  }
  throw EvaluationError(where, "target is not a class index",
                        "an integer from 0 to " + std::to_string(d.classes - 1) + " (the input has " +
                            std::to_string(d.classes) + " classes; indices count from 0)",
                        value_text(t[bad]));
}

void CrossEntropyLoss::forward(const ForwardArgs& a) const {
  const Shape& input = a.input_shapes.at(0);
  const auto d = dims_of(a.batch, input);
  if (target_ == TargetForm::Index) check_indices(a.inputs[1], d, input);
  kernels::cross_entropy_forward(input_, target_, a.inputs[0], a.inputs[1], d, a.outputs[0]);
}

void CrossEntropyLoss::backward(const BackwardArgs& a) const {
  const Shape& input = a.input_shapes.at(0);
  const auto d = dims_of(a.batch, input);
  if (target_ == TargetForm::Index) check_indices(a.inputs[1], d, input);
  auto grad = [&](size_t i) { return i < a.input_grads.size() ? a.input_grads[i] : nullptr; };
  if (!grad(0) && !grad(1)) return;
  kernels::cross_entropy_backward(input_, target_, a.inputs[0], a.inputs[1], a.output_grads[0], d, grad(0), grad(1),
                                  !a.overwrite_input_grads);
}

}  // namespace netkit
