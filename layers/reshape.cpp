#include <netkit/layers/reshape.h>

#include <cstdint>

#include <netkit/core/error.h>
#include <netkit/core/parallel.h>
#include <netkit/layers/option_reader.h>

namespace netkit {

namespace {

// 64 KiB of floats per task, as in the elementwise kernels.
constexpr int64_t kChunk = 16384;
constexpr int64_t kMaxDim = INT32_MAX;

const char kWhere[] = "Reshape option \"Dimensions\"";
const char kForm[] = "a list of integers >= 1 with at most one -1 or \"Inferred\"";

nlohmann::json dimensions_json(const std::vector<int64_t>& dims) {
  nlohmann::json list = nlohmann::json::array();
  for (int64_t d : dims) list.push_back(d == kUnknownDim ? nlohmann::json("Inferred") : nlohmann::json(d));
  return list;
}

int64_t known_product(const std::vector<int64_t>& dims, int64_t* unknown) {
  std::vector<int64_t> known;
  *unknown = 0;
  for (int64_t d : dims) {
    if (d == kUnknownDim)
      ++*unknown;
    else
      known.push_back(d);
  }
  return checked_product(known);
}

}  // namespace

bool solve_element_count(std::vector<int64_t>& dims, int64_t count) {
  int64_t unknown = 0;
  const int64_t product = known_product(dims, &unknown);
  if (unknown == 0) return product == count;
  if (product == 0) return count == 0;  // the unknown dimensions stay open
  if (count % product != 0) return false;
  if (unknown == 1)
    for (int64_t& d : dims)
      if (d == kUnknownDim) d = count / product;
  return true;
}

Reshape::Reshape(std::vector<int64_t> dimensions) : dimensions_(std::move(dimensions)) { validate(); }

Reshape::Reshape(const nlohmann::json& options) {
  OptionReader r(options, "Reshape");
  if (const nlohmann::json* v = r.raw("Dimensions")) {
    if (!v->is_array()) throw OptionError(kWhere, "wrong type", kForm, json_type_name(*v));
    dimensions_.clear();
    for (const auto& e : *v) {
      if (e.is_string() && e.get<std::string>() == "Inferred") {
        dimensions_.push_back(kUnknownDim);
      } else if (e.is_number_integer() &&
                 !(e.is_number_unsigned() && e.get<uint64_t>() > static_cast<uint64_t>(kMaxDim))) {
        const int64_t d = e.get<int64_t>();
        if (d != -1 && (d < 1 || d > kMaxDim))
          throw OptionError(kWhere, "out of range", "integers from 1 to " + std::to_string(kMaxDim) + ", or -1",
                            shortened(v->dump()));
        dimensions_.push_back(d == -1 ? kUnknownDim : d);
      } else if (e.is_number_integer()) {
        throw OptionError(kWhere, "out of range", "integers from 1 to " + std::to_string(kMaxDim) + ", or -1",
                          shortened(v->dump()));
      } else {
        throw OptionError(kWhere, "wrong type", kForm, "a list holding " + json_type_name(e));
      }
    }
  }
  r.finish();
  validate();
}

void Reshape::validate() const {
  int64_t inferred = 0;
  for (int64_t d : dimensions_) {
    if (d == kUnknownDim)
      ++inferred;
    else if (d < 1 || d > kMaxDim)
      throw OptionError(kWhere, "out of range", "integers from 1 to " + std::to_string(kMaxDim) + ", or -1",
                        shortened(dimensions_json(dimensions_).dump()));
  }
  if (inferred > 1)
    throw OptionError(kWhere, "more than one inferred dimension", "at most one -1 or \"Inferred\"",
                      shortened(dimensions_json(dimensions_).dump()));
  try {
    int64_t unknown = 0;
    known_product(dimensions_, &unknown);
  } catch (const ShapeError&) {
    throw OptionError(kWhere, "too many elements", "a product below 2^63",
                      shortened(dimensions_json(dimensions_).dump()));
  }
}

void Reshape::infer_shapes(LayerShapes& s) const {
  Shape& in = s.inputs.at(0);
  Shape& out = s.outputs.at(0);
  const std::string dims_text = dimensions_json(dimensions_).dump();
  // The output: "Dimensions", refined by a given output port (which may fix the inferred entry).
  std::vector<int64_t> dout = dimensions_;
  if (out.rank_known()) {
    if (out.rank() != static_cast<int64_t>(dout.size()))
      throw ShapeError("port \"Output\"", "rank must match \"Dimensions\" " + dims_text,
                       "rank " + std::to_string(dout.size()), "shape " + out.to_string());
    for (size_t i = 0; i < dout.size(); ++i) {
      const int64_t given = out.dims()[i];
      if (given == kUnknownDim) continue;
      if (dout[i] != kUnknownDim && dout[i] != given)
        throw ShapeError("port \"Output\"",
                         "dimension " + std::to_string(i + 1) + " must match \"Dimensions\" " + dims_text,
                         std::to_string(dout[i]), std::to_string(given));
      dout[i] = given;
    }
  }
  // Forward: a known input count fixes the inferred entry (or must equal the output's count).
  if (in.known()) {
    const int64_t count = in.num_elements();
    int64_t unknown = 0;
    const int64_t product = known_product(dout, &unknown);
    if (!solve_element_count(dout, count))
      throw ShapeError("port \"Input\"",
                       "element count must not change (output " + Shape(dout).to_string() + " from \"Dimensions\" " +
                           dims_text + ")",
                       unknown ? "a multiple of " + std::to_string(product) + " elements"
                               : "a shape of " + std::to_string(product) + " elements",
                       "shape " + in.to_string() + " (" + std::to_string(count) + " elements)");
  }
  // Backward: a fully known output fixes one unknown input dimension.
  const Shape output(dout);
  if (output.known() && in.rank_known() && !in.known()) {
    std::vector<int64_t> di = in.dims();
    int64_t unknown = 0;
    const int64_t product = known_product(di, &unknown);
    if (!solve_element_count(di, output.num_elements()))
      throw ShapeError("port \"Input\"",
                       "element count must not change (output " + output.to_string() + ", " +
                           std::to_string(output.num_elements()) + " elements)",
                       "a shape whose known dimensions divide " + std::to_string(output.num_elements()),
                       "shape " + in.to_string() + " (a multiple of " + std::to_string(product) + " elements)");
    in = Shape(di);
  }
  out = output;
}

void Reshape::forward(const ForwardArgs& a) const { pass_through_forward(a); }

void Reshape::backward(const BackwardArgs& a) const { pass_through_backward(a); }

nlohmann::json Reshape::options() const { return {{"Dimensions", dimensions_json(dimensions_)}}; }

void pass_through_forward(const ForwardArgs& a) {
  const int64_t n = a.batch * a.input_shapes.at(0).num_elements();
  const float* x = a.inputs[0];
  float* y = a.outputs[0];
  parallel_chunks(n, kChunk, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = x[i];
  });
}

void pass_through_backward(const BackwardArgs& a) {
  if (a.input_grads.empty() || !a.input_grads[0]) return;
  const int64_t n = a.batch * a.input_shapes.at(0).num_elements();
  const float* g = a.output_grads[0];
  float* dx = a.input_grads[0];
  const bool overwrite = a.overwrite_input_grads;
  parallel_chunks(n, kChunk, [&](int64_t begin, int64_t end) {
    if (overwrite)
      for (int64_t i = begin; i < end; ++i) dx[i] = g[i];
    else
      for (int64_t i = begin; i < end; ++i) dx[i] += g[i];
  });
}

}  // namespace netkit
