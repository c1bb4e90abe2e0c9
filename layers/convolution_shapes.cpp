// ConvolutionLayer shape inference (layers/convolution.h): the spatial rank, the channels and
// the kernel from whichever of the options, ports and arrays know them, checked against each
// other; then the output sizes from the input sizes (and, for stride 1, back).
#include <string>

#include <netkit/core/error.h>
#include <netkit/layers/convolution.h>

namespace netkit {

namespace {

const char kInputPort[] = "port \"Input\"", kOutputPort[] = "port \"Output\"", kWeightsArray[] = "array \"Weights\"",
           kBiasesArray[] = "array \"Biases\"";

std::string shape_text(const Shape& s) { return "shape " + s.to_string(); }

// A value that several sources may know; the first that knows it is named in conflicts.
struct Known {
  int64_t value = kUnknownDim;
  std::string source;
  // False when `candidate` is known and differs.
  bool agree(int64_t candidate, const std::string& from) {
    if (candidate == kUnknownDim) return true;
    if (value == kUnknownDim) {
      value = candidate;
      source = from;
    }
    return candidate == value;
  }
};

void check_rank(const Shape& s, const char* where, const std::string& problem, int64_t extra) {
  if (s.rank_known() && (s.rank() < 1 + extra || s.rank() > 3 + extra))
    throw ShapeError(
        where, problem,
        "rank " + std::to_string(1 + extra) + ", " + std::to_string(2 + extra) + " or " + std::to_string(3 + extra),
        shape_text(s));
  if (s.rank_known())
    for (int64_t k = 0; k < s.rank(); ++k)
      if (s.dim_known(k) && s[k] < 1) throw ShapeError(where, "sizes must be >= 1", "sizes >= 1", shape_text(s));
}

// Dimension k of a shape, or unknown when the rank is not known.
int64_t dim(const Shape& s, int64_t k) { return s.rank_known() ? s[k] : kUnknownDim; }

Shape with_dim(Shape s, int64_t k, int64_t value) {
  std::vector<int64_t> d = s.dims();
  d[static_cast<size_t>(k)] = value;
  return Shape(d);
}

}  // namespace

void Convolution::infer_shapes(LayerShapes& s) const {
  Shape& in = s.inputs.at(0);
  Shape& out = s.outputs.at(0);
  auto given = [&](const char* name) { return s.arrays.count(name) ? s.arrays.at(name) : Shape(); };
  Shape w = given("Weights");
  const Shape b = config_.has_biases ? given("Biases") : Shape();
  check_rank(in, kInputPort,
             "input must be [channels, length], [channels, height, width] or [channels, depth, height, width]", 1);
  check_rank(out, kOutputPort,
             "output must be [channels, length], [channels, height, width] or [channels, depth, height, width]", 1);
  check_rank(w, kWeightsArray, "must be [output channels, input channels / groups, kernel size...]", 2);
  if (b.rank_known() && b.rank() != 1)
    throw ShapeError(kBiasesArray, "must be a vector of one value per output channel", "rank 1", shape_text(b));

  // The number of spatial dimensions.
  Known rank;
  for (const auto& [name, sizes] : {std::pair<const char*, const Sizes*>{"KernelSize", &config_.kernel_size},
                                    {"Stride", &config_.stride},
                                    {"PaddingSize", &config_.padding},
                                    {"Dilation", &config_.dilation}})
    if (sizes->per_dim && !(sizes == &config_.padding && config_.same_padding))
      rank.agree(static_cast<int64_t>(sizes->values.size()), "option " + in_quotes(name));
  const std::pair<const char*, Shape*> ranked[] = {{kInputPort, &in}, {kOutputPort, &out}, {kWeightsArray, &w}};
  for (const auto& [where, shape] : ranked) {
    const int64_t extra = shape == &w ? 2 : 1;
    if (shape->rank_known() && !rank.agree(shape->rank() - extra, where))
      throw ShapeError(where,
                       "rank must fit the " + std::to_string(rank.value) + " spatial dimensions of the " +
                           "convolution (" + rank.source + ")",
                       "rank " + std::to_string(rank.value + extra), shape_text(*shape));
  }

  // Output channels: the option, the output port or either array.
  const int64_t groups = config_.groups;
  const std::string group_text = "\"ChannelGroups\" (" + std::to_string(groups) + ")";
  Known oc;
  oc.agree(config_.output_channels, "option \"OutputChannels\"");
  if (!oc.agree(dim(out, 0), kOutputPort))
    throw ShapeError(kOutputPort, "channels must equal the output channels (" + oc.source + ")",
                     std::to_string(oc.value) + " channels", shape_text(out));
  if (!oc.agree(dim(w, 0), kWeightsArray))
    throw ShapeError(kWeightsArray, "first dimension must equal the output channels (" + oc.source + ")",
                     shape_text(with_dim(w, 0, oc.value)), shape_text(w));
  if (b.rank_known() && !oc.agree(b[0], kBiasesArray))
    throw ShapeError(kBiasesArray, "length must equal the output channels (" + oc.source + ")",
                     "length " + std::to_string(oc.value), "length " + std::to_string(b[0]));
  if (oc.value != kUnknownDim && oc.value % groups != 0)
    throw ShapeError(oc.source, "output channels must be a multiple of " + group_text,
                     "a multiple of " + std::to_string(groups), std::to_string(oc.value) + " channels");

  // Input channels: the input port, or the Weights' second dimension times the groups.
  const int64_t ic = dim(in, 0);
  if (ic != kUnknownDim && ic % groups != 0)
    throw ShapeError(kInputPort, "channels must be a multiple of " + group_text,
                     "a multiple of " + std::to_string(groups), std::to_string(ic) + " channels");
  if (ic != kUnknownDim && w.rank_known() && w.dim_known(1) && w[1] * groups != ic)
    throw ShapeError(kWeightsArray,
                     "second dimension must equal the input channels per group (" + std::string(kInputPort) + " " +
                         in.to_string() + ", " + std::to_string(groups) + " groups)",
                     shape_text(with_dim(w, 1, ic / groups)), shape_text(w));
  const int64_t in_channels = ic != kUnknownDim ? ic : (w.rank_known() && w.dim_known(1) ? w[1] * groups : kUnknownDim);

  if (rank.value == kUnknownDim) {  // nothing spatial known yet
    if (oc.value != kUnknownDim && config_.has_biases) s.arrays["Biases"] = Shape{oc.value};
    return;
  }
  const int64_t r = rank.value;
  if (!in.rank_known()) in = Shape::of_rank(r + 1);
  if (!out.rank_known()) out = Shape::of_rank(r + 1);
  if (!w.rank_known()) w = Shape::of_rank(r + 2);

  // The kernel comes from "KernelSize"; given Weights must agree with it.
  std::vector<int64_t> wd = w.dims(), ind = in.dims(), outd = out.dims();
  wd[0] = oc.value;
  wd[1] = in_channels == kUnknownDim ? kUnknownDim : in_channels / groups;
  ind[0] = in_channels;
  outd[0] = oc.value;
  for (int64_t k = 0; k < r; ++k) {
    const size_t at = static_cast<size_t>(k + 1);
    if (!config_.kernel_size.given()) {
      if (w.dim_known(k + 2))
        throw ShapeError(kWeightsArray, "the kernel size is not known",
                         "option \"KernelSize\" (the Weights' spatial dimensions)", "no \"KernelSize\"",
                         "Give \"KernelSize\" with the Weights");
      continue;
    }
    const int64_t kernel = config_.kernel_size.at(k);
    wd[at + 1] = kernel;
    if (w.dim_known(k + 2) && w[k + 2] != kernel)
      throw ShapeError(kWeightsArray, "kernel dimensions must equal option \"KernelSize\"", shape_text(Shape(wd)),
                       shape_text(w));
    const int64_t stride = config_.stride.at(k), dilation = config_.dilation.at(k);
    const int64_t pad = config_.same_padding ? 0 : config_.padding.at(k), span = dilation * (kernel - 1) + 1;
    const std::string dimension = "spatial dimension " + std::to_string(k + 1);
    if (ind[at] != kUnknownDim) {
      const int64_t o = output_size(k, ind[at], kernel);
      if (o < 1)
        throw ShapeError(kInputPort, "output size would be less than 1 in " + dimension,
                         "input size >= " + std::to_string(span - 2 * pad) + " (kernel " + std::to_string(kernel) +
                             ", dilation " + std::to_string(dilation) + ", padding " + std::to_string(pad) + ")",
                         "input size " + std::to_string(ind[at]) + " (" + shape_text(in) + ")");
      if (outd[at] != kUnknownDim && outd[at] != o) {
        outd[at] = o;
        throw ShapeError(kOutputPort, "size must follow from the input size in " + dimension, shape_text(Shape(outd)),
                         shape_text(out));
      }
      outd[at] = o;
    } else if (outd[at] != kUnknownDim && stride == 1) {  // stride 1: the input size follows back
      const int64_t i = config_.same_padding ? outd[at] : outd[at] + span - 1 - 2 * pad;
      if (i < 1)
        throw ShapeError(kOutputPort, "no input size gives this output size in " + dimension,
                         "size >= " + std::to_string(2 + 2 * pad - span), "size " + std::to_string(outd[at]));
      ind[at] = i;
    }
  }
  in = Shape(ind);
  out = Shape(outd);
  s.arrays["Weights"] = Shape(wd);
  if (config_.has_biases) s.arrays["Biases"] = Shape{oc.value};
}

}  // namespace netkit
