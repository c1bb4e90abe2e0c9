#include <netkit/layers/flatten.h>

#include <cstdint>
#include <cstdlib>

#include <netkit/core/error.h>
#include <netkit/layers/option_reader.h>
#include <netkit/layers/reshape.h>

namespace netkit {

namespace {

constexpr int64_t kMaxLevel = INT32_MAX;
const char kWhere[] = "Flatten option \"Level\"";
const char kForm[] = "a nonzero integer or \"Infinity\"";

}  // namespace

Flatten::Flatten(std::optional<int64_t> level) : level_(level) { validate(); }

Flatten::Flatten(const nlohmann::json& options) {
  OptionReader r(options, "Flatten");
  if (const nlohmann::json* v = r.raw("Level")) {
    if (v->is_string() && v->get<std::string>() == "Infinity") {
      level_.reset();
    } else if (v->is_number_integer()) {
      if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(kMaxLevel))
        throw OptionError(kWhere, "out of range",
                          "an integer from -" + std::to_string(kMaxLevel) + " to " + std::to_string(kMaxLevel) +
                              ", not 0, or \"Infinity\"",
                          shortened(v->dump()));
      level_ = v->get<int64_t>();
    } else {
      throw OptionError(kWhere, "wrong type", kForm, json_type_name(*v));
    }
  }
  r.finish();
  validate();
}

void Flatten::validate() const {
  if (!level_) return;
  if (*level_ == 0 || *level_ > kMaxLevel || *level_ < -kMaxLevel)
    throw OptionError(kWhere, "out of range",
                      "an integer from -" + std::to_string(kMaxLevel) + " to " + std::to_string(kMaxLevel) +
                          ", not 0, or \"Infinity\"",
                      std::to_string(*level_));
}

void Flatten::infer_shapes(LayerShapes& s) const {
  Shape& in = s.inputs.at(0);
  Shape& out = s.outputs.at(0);
  const int64_t joined = level_ ? std::llabs(*level_) : 0;  // dimensions removed by joining
  const std::string what =
      !level_ ? std::string("Level \"Infinity\" flattens every dimension")
      : *level_ > 0
          ? "Level " + std::to_string(*level_) + " flattens the first " + std::to_string(joined + 1) + " dimensions"
          : "Level " + std::to_string(*level_) + " flattens the last " + std::to_string(joined + 1) + " dimensions";
  if (!level_ && out.rank_known() && out.rank() != 1)
    throw ShapeError("port \"Output\"", what + " into a vector", "rank 1", "shape " + out.to_string());
  if (level_ && in.rank_known() && in.rank() < joined + 1)
    throw ShapeError("port \"Input\"", what, "rank >= " + std::to_string(joined + 1), "shape " + in.to_string());
  if (level_ && out.rank_known() && out.rank() < 1)
    throw ShapeError("port \"Output\"", what + " into one", "rank >= 1", "shape " + out.to_string());
  // The input rank: known, or (for a level) the output rank plus the joined dimensions.
  int64_t rank = in.rank_known() ? in.rank() : (level_ && out.rank_known()) ? out.rank() + joined : -1;
  if (rank < 0) {
    if (!level_) out = Shape::unify(out, Shape::of_rank(1)).value();
    return;
  }
  const int64_t group = level_ ? joined + 1 : rank;                // flattened input dimensions
  const int64_t start = level_ && *level_ < 0 ? rank - group : 0;  // first of them
  const int64_t out_rank = rank - group + 1;
  if (out.rank_known() && out.rank() != out_rank)
    throw ShapeError("port \"Output\"", "rank does not follow from the input's (" + what + ")",
                     "rank " + std::to_string(out_rank), "shape " + out.to_string());
  std::vector<int64_t> di = in.rank_known() ? in.dims() : std::vector<int64_t>(static_cast<size_t>(rank), kUnknownDim);
  std::vector<int64_t> dout =
      out.rank_known() ? out.dims() : std::vector<int64_t>(static_cast<size_t>(out_rank), kUnknownDim);
  // Dimensions outside the group pass through (both ways).
  for (int64_t j = 0; j < rank; ++j) {
    if (j >= start && j < start + group) continue;
    const auto i = static_cast<size_t>(j), o = static_cast<size_t>(j < start ? j : j - group + 1);
    if (di[i] != kUnknownDim && dout[o] != kUnknownDim && di[i] != dout[o])
      throw ShapeError("port \"Output\"",
                       "dimension " + std::to_string(o + 1) + " must equal input dimension " + std::to_string(j + 1) +
                           " (not flattened)",
                       std::to_string(di[i]), std::to_string(dout[o]));
    if (di[i] == kUnknownDim) di[i] = dout[o];
    dout[o] = di[i];
  }
  // The group: its product is the output's dimension `start`; one unknown member can be solved for.
  std::vector<int64_t> members(di.begin() + start, di.begin() + start + group);
  const auto o = static_cast<size_t>(start);
  const Shape members_shape(members);
  if (members_shape.known()) {
    const int64_t product = members_shape.num_elements();
    if (dout[o] != kUnknownDim && dout[o] != product)
      throw ShapeError("port \"Output\"",
                       "size in dimension " + std::to_string(o + 1) +
                           " must be the product of the flattened input dimensions " + members_shape.to_string(),
                       std::to_string(product), std::to_string(dout[o]));
    dout[o] = product;
  } else if (dout[o] != kUnknownDim) {
    if (!solve_element_count(members, dout[o])) {
      std::vector<int64_t> known;
      for (int64_t m : members)
        if (m != kUnknownDim) known.push_back(m);
      throw ShapeError("port \"Output\"",
                       "size in dimension " + std::to_string(o + 1) +
                           " must be a multiple of the known flattened input dimensions " + members_shape.to_string(),
                       "a multiple of " + std::to_string(checked_product(known)), std::to_string(dout[o]));
    }
    for (int64_t j = 0; j < group; ++j) di[static_cast<size_t>(start + j)] = members[static_cast<size_t>(j)];
  }
  in = Shape(di);
  out = Shape(dout);
}

void Flatten::forward(const ForwardArgs& a) const { pass_through_forward(a); }

void Flatten::backward(const BackwardArgs& a) const { pass_through_backward(a); }

nlohmann::json Flatten::options() const {
  return {{"Level", level_ ? nlohmann::json(*level_) : nlohmann::json("Infinity")}};
}

}  // namespace netkit
