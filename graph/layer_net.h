// LayerNet: one layer together with its port shapes, arrays and learning-rate multipliers,
// usable on its own as in the Wolfram documentation: construct with options, initialize,
// evaluate on one example or a batch in Test or Train mode, take gradients, extract arrays and
// options, ask for information. The layer object stays pure configuration; this value owns the
// arrays.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <netkit/core/array.h>
#include <netkit/layers/layer.h>

namespace netkit {

enum class InitializeMode { Missing, All };

struct PortInfo {
  std::string name;
  Shape shape;
};

struct ArrayInfo {
  std::string name;
  Shape shape;
  ArrayRole role;
  int64_t elements;  // -1 while the shape is not known
  bool initialized;
  double learning_rate_multiplier;
  double l2_factor;
};

struct LayerInfo {
  std::string type;
  std::vector<PortInfo> inputs, outputs;
  int64_t array_count;
  int64_t total_elements;  // over arrays of known shape
  std::vector<ArrayInfo> arrays;
};

struct Gradients {
  std::vector<Array> inputs;            // dL/d(input port), in port order, dims of the batches
  std::map<std::string, Array> arrays;  // dL/d(array) for every learnable array
  const Array& input() const { return inputs.at(0); }
};

class LayerNet {
 public:
  // `net_options` holds what belongs to the layer in a net rather than to its configuration:
  // port shapes by port name ("Input" -> 3 or [3, 5, 5]), learnable or moving arrays by name
  // (nested number lists), and "LearningRateMultipliers" (a number, or an object by array name).
  explicit LayerNet(LayerPtr layer, const nlohmann::json& net_options = nullptr);
  // Any option: the layer's own and the net options above, told apart by name.
  static LayerNet create(const std::string& type, const nlohmann::json& options = nullptr);
  // Every option with its default for a layer type.
  static nlohmann::json default_options(const std::string& type);

  const Layer& layer() const { return *layer_; }
  LayerPtr layer_ptr() const { return layer_; }
  std::string type() const { return layer_->type(); }
  // Inferred shape of a port (input or output).
  Shape port_shape(const std::string& port) const;
  // Port shapes the user fixed, by port name.
  const std::map<std::string, Shape>& fixed_ports() const { return fixed_ports_; }
  // Shapes inferred from this layer alone: its options, fixed ports and given arrays.
  const LayerShapes& shapes() const { return shapes_; }

  // Fills missing learnable and moving arrays (or all) from `seed`; each array draws from its
  // own stream, so the result does not depend on which arrays were missing.
  void initialize(uint64_t seed = 0, InitializeMode mode = InitializeMode::Missing);
  bool initialized() const;

  // One example (no batch dimension) or a batch (leading batch dimension). Never changes the net.
  Array evaluate(const Array& example, Mode mode = Mode::Test) const;
  Array evaluate_batch(const Array& batch, Mode mode = Mode::Test) const;
  // Layers with several input ports: one batch per port, in port order.
  Array evaluate_batch(const std::vector<Array>& batches, Mode mode = Mode::Test) const;
  // Gradients of L for dL/dOutput = output_gradient, through a forward pass in `mode`.
  Gradients gradients(const Array& batch, const Array& output_gradient, Mode mode = Mode::Test) const;
  Gradients gradients(const std::vector<Array>& batches, const Array& output_gradient, Mode mode = Mode::Test) const;
  // What NetTrain does to this layer's moving arrays once per optimisation step: a Train-mode
  // forward pass on `batch`, then the moving update (skipped for arrays frozen by a multiplier 0).
  void moving_update_step(const Array& batch);
  int64_t moving_update_count() const { return moving_updates_; }

  bool has_array(const std::string& name) const;
  // Throws InitializationError "not initialized" when the array is missing.
  const Array& array(const std::string& name) const;
  // Replaces an array after checking its shape against the inferred shapes and its values.
  void set_array(const std::string& name, Array value);
  std::vector<std::string> array_names() const;  // learnable and moving, declaration order
  // For the net that holds this layer: in-place access (moving updates, optimiser steps) and
  // removal (an array that becomes shared moves to the net's store). nullptr when missing.
  Array* mutable_array(const std::string& name);
  void remove_array(const std::string& name) { arrays_.erase(name); }

  nlohmann::json option(const std::string& name) const;
  nlohmann::json options() const;

  void set_learning_rate_multiplier(double m);
  // Counts every multiplier change of any LayerNet: holders of resolved multipliers (an array
  // store) compare it to know when to read them again.
  static uint64_t multiplier_generation();
  void set_learning_rate_multiplier(const std::string& array, double m);
  // Resolved: the array's own multiplier, else the layer's, else 1.
  double learning_rate_multiplier(const std::string& array) const;
  // As given: the layer-wide value (if any) and per-array values.
  std::optional<double> layer_learning_rate_multiplier() const { return layer_multiplier_; }
  const std::map<std::string, double>& array_learning_rate_multipliers() const { return array_multipliers_; }

  LayerInfo information() const;
  // "BatchNormalization layer": the location in front of this layer's messages.
  std::string where() const { return type() + " layer"; }

  // Restores state read from a model file (used by the JSON reader).
  void set_moving_update_count(int64_t n);

 private:
  struct Forward;
  Forward run_forward(const std::vector<const Array*>& batches, Mode mode) const;
  Gradients run_gradients(const std::vector<const Array*>& batches, const Array& output_gradient, Mode mode) const;
  std::vector<ArrayDecl> param_decls() const;
  void infer();
  void check_multiplier(const std::string& where, double m) const;

  LayerPtr layer_;
  std::map<std::string, Shape> fixed_ports_;
  LayerShapes shapes_;
  std::map<std::string, Array> arrays_;
  std::optional<double> layer_multiplier_;
  std::map<std::string, double> array_multipliers_;
  int64_t moving_updates_ = 0;
};

// Convenience constructors in the Wolfram spelling.
inline LayerNet BatchNormalizationLayer(const nlohmann::json& options = nullptr) {
  return LayerNet::create("BatchNormalization", options);
}
inline LayerNet LinearLayer(const nlohmann::json& options = nullptr) { return LayerNet::create("Linear", options); }
inline LayerNet ElementwiseLayer(const nlohmann::json& options = nullptr) {
  return LayerNet::create("Elementwise", options);
}
inline LayerNet RampLayer() { return LayerNet::create("Ramp"); }
inline LayerNet TotalLayer(const nlohmann::json& options = nullptr) { return LayerNet::create("Total", options); }
inline LayerNet CatenateLayer(const nlohmann::json& options = nullptr) { return LayerNet::create("Catenate", options); }
inline LayerNet ConvolutionLayer(const nlohmann::json& options = nullptr) {
  return LayerNet::create("Convolution", options);
}
inline LayerNet PoolingLayer(const nlohmann::json& options = nullptr) { return LayerNet::create("Pooling", options); }
inline LayerNet FlattenLayer(const nlohmann::json& options = nullptr) { return LayerNet::create("Flatten", options); }
inline LayerNet ReshapeLayer(const nlohmann::json& options = nullptr) { return LayerNet::create("Reshape", options); }
inline LayerNet DropoutLayer(const nlohmann::json& options = nullptr) { return LayerNet::create("Dropout", options); }
inline LayerNet SoftmaxLayer(const nlohmann::json& options = nullptr) { return LayerNet::create("Softmax", options); }
inline LayerNet CrossEntropyLossLayer(const nlohmann::json& options = nullptr) {
  return LayerNet::create("CrossEntropyLoss", options);
}
inline LayerNet MeanSquaredLossLayer(const nlohmann::json& options = nullptr) {
  return LayerNet::create("MeanSquaredLoss", options);
}

}  // namespace netkit
