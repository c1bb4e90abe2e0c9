#include <netkit/layers/catenate.h>

#include <algorithm>
#include <cstring>

#include <netkit/core/checked_size.h>
#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

std::string input_port(size_t i) { return "port \"Input" + std::to_string(i + 1) + "\""; }

// Per-example element count of each input and of the output.
std::vector<int64_t> block_sizes(const std::vector<Shape>& inputs) {
  std::vector<int64_t> sizes;
  for (const auto& s : inputs) sizes.push_back(s.num_elements());
  return sizes;
}

}  // namespace

Catenate::Catenate(const nlohmann::json& options) {
  OptionReader r(options, "Catenate");
  inputs_ = r.port_count("Inputs", 2);
  r.finish();
}

std::vector<std::string> Catenate::input_ports() const { return numbered_ports("Input", inputs_); }

void Catenate::infer_shapes(LayerShapes& s) const {
  // Rank: every port has the same rank, at least 1.
  int64_t rank = -1;
  std::string rank_source;
  auto check_rank = [&](const Shape& shape, const std::string& port) {
    if (!shape.rank_known()) return;
    if (shape.rank() < 1) throw ShapeError(port, "Catenate needs arrays of rank >= 1", "rank >= 1", "rank 0");
    if (rank >= 0 && shape.rank() != rank)
      throw ShapeError(port, "rank differs from " + rank_source, "rank " + std::to_string(rank),
                       "rank " + std::to_string(shape.rank()));
    if (rank < 0) rank = shape.rank(), rank_source = port;
  };
  check_rank(s.outputs.at(0), "port \"Output\"");
  for (size_t i = 0; i < s.inputs.size(); ++i) check_rank(s.inputs[i], input_port(i));
  if (rank < 0) return;

  // Trailing dimensions: shared by every port.
  std::vector<int64_t> tail(static_cast<size_t>(rank - 1), kUnknownDim);
  auto merge_tail = [&](const Shape& shape, const std::string& port) {
    if (!shape.rank_known()) return;
    for (size_t d = 1; d < shape.dims().size(); ++d) {
      const int64_t v = shape.dims()[d];
      if (v == kUnknownDim) continue;
      if (tail[d - 1] != kUnknownDim && tail[d - 1] != v)
        throw ShapeError(port, "dimension " + std::to_string(d + 1) + " must agree across Catenate's ports",
                         std::to_string(tail[d - 1]), std::to_string(v));
      tail[d - 1] = v;
    }
  };
  merge_tail(s.outputs[0], "port \"Output\"");
  for (size_t i = 0; i < s.inputs.size(); ++i) merge_tail(s.inputs[i], input_port(i));

  // First dimension: the output's is the sum of the inputs'; one unknown term can be solved for.
  auto first = [](const Shape& shape) { return shape.rank_known() ? shape.dims()[0] : kUnknownDim; };
  int64_t known_sum = 0, unknown = 0, unknown_index = -1;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    const int64_t d = first(s.inputs[i]);
    if (d == kUnknownDim)
      ++unknown, unknown_index = static_cast<int64_t>(i);
    else
      known_sum = checked_add(known_sum, d, "port \"Output\", the sum of the inputs' first dimensions");
  }
  int64_t out_first = first(s.outputs[0]);
  if (unknown == 0) {
    if (out_first != kUnknownDim && out_first != known_sum)
      throw ShapeError("port \"Output\"", "first dimension must be the sum of the inputs' first dimensions",
                       std::to_string(known_sum), std::to_string(out_first));
    out_first = known_sum;
  }
  auto with_first = [&](int64_t d0) {
    std::vector<int64_t> dims{d0};
    dims.insert(dims.end(), tail.begin(), tail.end());
    return Shape(dims);
  };
  std::vector<int64_t> firsts;
  for (const auto& in : s.inputs) firsts.push_back(first(in));
  if (unknown == 1 && out_first != kUnknownDim) {
    if (out_first - known_sum < 1)
      throw ShapeError(input_port(static_cast<size_t>(unknown_index)), "no first dimension fits the output's",
                       "an output first dimension > " + std::to_string(known_sum), std::to_string(out_first));
    firsts[static_cast<size_t>(unknown_index)] = out_first - known_sum;
  }
  for (size_t i = 0; i < s.inputs.size(); ++i) s.inputs[i] = with_first(firsts[i]);
  s.outputs[0] = with_first(out_first);
}

void Catenate::forward(const ForwardArgs& a) const {
  const auto sizes = block_sizes(a.input_shapes);
  int64_t row = 0;
  for (int64_t size : sizes) row += size;
  parallel_for(a.batch, [&](int64_t n) {
    float* out = a.outputs[0] + n * row;
    for (size_t k = 0; k < sizes.size(); ++k) {
      std::memcpy(out, a.inputs[k] + n * sizes[k], static_cast<size_t>(sizes[k]) * sizeof(float));
      out += sizes[k];
    }
  });
}

void Catenate::backward(const BackwardArgs& a) const {
  // Each input's gradient is its own block of dL/dOutput.
  const auto sizes = block_sizes(a.input_shapes);
  int64_t row = 0;
  for (int64_t size : sizes) row += size;
  parallel_for(a.batch, [&](int64_t n) {
    const float* g = a.output_grads[0] + n * row;
    for (size_t k = 0; k < sizes.size(); ++k) {
      if (float* dx = a.input_grads[k]) {
        dx += n * sizes[k];
        if (a.overwrite_input_grads)
          std::copy(g, g + sizes[k], dx);
        else
          for (int64_t i = 0; i < sizes[k]; ++i) dx[i] += g[i];
      }
      g += sizes[k];
    }
  });
}

}  // namespace netkit
