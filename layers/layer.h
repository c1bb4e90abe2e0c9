// The Layer contract. A layer object is only its configuration: every
// method is const. Arrays live in the net's array store; activations, gradients and per-node
// saved values live with the executor, which hands the layer raw pointers.
//
// Array order: arrays() lists the learnable and moving arrays ("params") first, then the saved
// ones; ForwardArgs::params, BackwardArgs::param_grads and MovingUpdateArgs::moving are indexed
// like the params, ForwardArgs::saved like the saved arrays.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <netkit/core/array.h>
#include <netkit/core/shape.h>
#include <netkit/layers/initializer.h>

namespace netkit {

enum class Mode { Test, Train };
const char* mode_name(Mode mode);

enum class ArrayRole {
  Learnable,  // trained by the optimiser
  Moving,     // state updated by the moving update (e.g. batch-norm statistics), never by gradients
  Saved,      // written by a Train-mode forward, read by backward and the moving update
};
const char* role_name(ArrayRole role);

struct ArrayDecl {
  std::string name;
  Shape shape;  // may be partial while shapes are still being inferred
  ArrayRole role;
  Initializer initializer;
  double l2_factor = 0.0;  // scales the trainer's L2 coefficient for this array
  bool shareable = true;   // moving arrays are never shared
};

// The shapes around one layer during inference: ports in port order, learnable and moving
// arrays by name. infer_shapes refines what is unknown and throws ShapeError on a conflict.
struct LayerShapes {
  std::vector<Shape> inputs, outputs;
  std::map<std::string, Shape> arrays;
};

struct ForwardArgs {
  Mode mode = Mode::Test;
  int64_t batch = 0;
  std::vector<Shape> input_shapes;   // per example, fully known
  std::vector<Shape> output_shapes;  // per example, fully known (Linear's size may come from its arrays)
  std::vector<const float*> inputs;
  std::vector<float*> outputs;
  std::vector<const float*> params;
  std::vector<float*> saved;
  // Randomness of Train-mode layers (Dropout): the executor derives one value per step and node
  // from the training seed, so a run is reproducible and resumable.
  uint64_t seed = 0;
};

struct BackwardArgs {
  Mode mode = Mode::Test;  // the mode of the forward pass being differentiated
  int64_t batch = 0;
  std::vector<Shape> input_shapes, output_shapes;
  std::vector<const float*> inputs, outputs, output_grads;
  std::vector<float*> input_grads;     // nullptr where no gradient is wanted
  bool overwrite_input_grads = false;  // false: accumulate (+=); true: the buffers are written
  std::vector<const float*> params;
  std::vector<float*> param_grads;  // accumulated; nullptr for moving or frozen arrays
  std::vector<const float*> saved;
  uint64_t seed = 0;  // the forward pass's seed: Dropout regenerates its mask instead of storing it
};

struct MovingUpdateArgs {
  int64_t batch = 0;
  std::vector<Shape> input_shapes;
  int64_t update_count = 1;         // 1 for this layer's first moving update
  std::vector<const float*> saved;  // from the Train-mode forward pass of this step
  std::vector<float*> moving;       // non-null only for the moving arrays to update
};

// What older model files name differently for one layer type: arrays renamed since (old name ->
// current name), the options whose values are objects keyed by array name, and options added
// since, with the value that keeps an old file's meaning. The model reader applies them.
struct LegacyNames {
  std::map<std::string, std::string> arrays;
  std::vector<std::string> options_by_array;
  nlohmann::json added_options = nlohmann::json::object();
};

class PopulationAccumulator {
 public:
  virtual ~PopulationAccumulator() = default;
  // `batch` examples of per-example shape `example`.
  virtual void add(const float* inputs, const Shape& example, int64_t batch) = 0;
  virtual std::map<std::string, Array> result() const = 0;
};

class Layer;
using LayerPtr = std::shared_ptr<const Layer>;

class Layer {
 public:
  virtual ~Layer() = default;

  // User-facing type name and registry key, e.g. "BatchNormalization".
  virtual std::string type() const = 0;
  virtual std::vector<std::string> input_ports() const { return {"Input"}; }
  virtual std::vector<std::string> output_ports() const { return {"Output"}; }

  virtual void infer_shapes(LayerShapes& shapes) const = 0;
  virtual std::vector<ArrayDecl> arrays(const LayerShapes& shapes) const = 0;
  // Rejects values a learnable or moving array may not hold (e.g. a negative variance);
  // the shape has already been checked.
  virtual void check_array(const std::string& name, const Array& value) const;
  // Why the shape of `array` is still unknown, in the user's terms (used by initialization errors).
  virtual std::string unknown_shape_reason(const std::string& array) const;

  virtual void forward(const ForwardArgs& args) const = 0;
  virtual void backward(const BackwardArgs& args) const = 0;
  // Folds this step's saved statistics into the moving arrays. Default: nothing to do.
  virtual void update_moving(const MovingUpdateArgs& args) const;

  // A rewrite this layer offers when its first input is the only output of `producer`: a layer
  // that reads the producer's own first input instead and gives the same result, more exactly or
  // faster (a probability loss after a Softmax reads the logits). The plans made for running ask
  // every layer (graph/plan_fusion.h); `producer_input` is the producer's input shape per example.
  // Default: no rewrite.
  virtual LayerPtr absorb_producer(const Layer& producer, const Shape& producer_input) const;

  // Layers whose moving arrays can instead be set from statistics of their input over a whole
  // data set (batch norm with "Statistics" -> "Population"): an accumulator fed the layer's
  // input batch by batch (the net in Test mode), whose result maps moving-array names to values.
  // Default (and a layer whose statistics are frozen): none.
  virtual std::unique_ptr<PopulationAccumulator> population_accumulator() const;

  // Every option of the layer's own with its current value, as JSON.
  virtual nlohmann::json options() const = 0;
  // True when an option holds a user function, which no file can hold.
  virtual bool has_user_functions() const { return false; }
};

// "Input1", "Input2", ...: the numbered port names of multi-input layers.
std::vector<std::string> numbered_ports(const std::string& stem, int64_t count);

// Index of `name` in a declaration list; throws std::out_of_range if absent.
size_t array_index(const std::vector<ArrayDecl>& decls, const std::string& name);

}  // namespace netkit
