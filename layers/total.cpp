#include <netkit/layers/total.h>

#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

// 64 KiB of floats per task, as in the elementwise kernels.
constexpr int64_t kChunk = 16384;

}  // namespace

Total::Total(const nlohmann::json& options) {
  OptionReader r(options, "Total");
  inputs_ = r.port_count("Inputs", 2);
  r.finish();
}

std::vector<std::string> Total::input_ports() const { return numbered_ports("Input", inputs_); }

void Total::infer_shapes(LayerShapes& s) const {
  // All ports share one shape: unify them all, then give every port the result.
  Shape shape = s.outputs.at(0);
  std::string source = "port \"Output\"";
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    const std::string port = "port \"Input" + std::to_string(i + 1) + "\"";
    const auto joined = Shape::unify(shape, s.inputs[i]);
    if (!joined)
      throw ShapeError(port, "inputs of Total must all have one shape (" + source + ")", shape.to_string(),
                       s.inputs[i].to_string());
    if (!shape.rank_known() && s.inputs[i].rank_known()) source = port;
    shape = *joined;
  }
  for (auto& in : s.inputs) in = shape;
  s.outputs.at(0) = shape;
}

void Total::forward(const ForwardArgs& a) const {
  const int64_t n = a.batch * a.input_shapes.at(0).num_elements();
  float* y = a.outputs[0];
  parallel_chunks(n, kChunk, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = a.inputs[0][i];
    for (size_t k = 1; k < a.inputs.size(); ++k)  // inputs added in port order
      for (int64_t i = begin; i < end; ++i) y[i] += a.inputs[k][i];
  });
}

void Total::backward(const BackwardArgs& a) const {
  // d(sum)/d(input k) = 1: every input gradient receives dL/dOutput.
  const int64_t n = a.batch * a.input_shapes.at(0).num_elements();
  const float* g = a.output_grads[0];
  parallel_chunks(n, kChunk, [&](int64_t begin, int64_t end) {
    for (float* dx : a.input_grads) {
      if (!dx) continue;
      if (a.overwrite_input_grads)
        for (int64_t i = begin; i < end; ++i) dx[i] = g[i];
      else
        for (int64_t i = begin; i < end; ++i) dx[i] += g[i];
    }
  });
}

}  // namespace netkit
