#include <netkit/layers/registry.h>

#include <functional>
#include <map>

#include <netkit/core/error.h>
#include <netkit/layers/batch_norm.h>
#include <netkit/layers/catenate.h>
#include <netkit/layers/convolution.h>
#include <netkit/layers/cross_entropy_loss.h>
#include <netkit/layers/dropout.h>
#include <netkit/layers/elementwise.h>
#include <netkit/layers/flatten.h>
#include <netkit/layers/linear.h>
#include <netkit/layers/mean_squared_loss.h>
#include <netkit/layers/option_reader.h>
#include <netkit/layers/pooling.h>
#include <netkit/layers/reshape.h>
#include <netkit/layers/softmax.h>
#include <netkit/layers/total.h>

namespace netkit {

namespace {

using Factory = std::function<LayerPtr(const nlohmann::json&)>;

template <class L>
Factory factory() {
  return [](const nlohmann::json& options) { return std::make_shared<const L>(options); };
}

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table{
      {"BatchNormalization", factory<BatchNormalization>()},
      {"Catenate", factory<Catenate>()},
      {"Convolution", factory<Convolution>()},
      {"CrossEntropyLoss", factory<CrossEntropyLoss>()},
      {"Dropout", factory<Dropout>()},
      {"Elementwise", factory<Elementwise>()},
      {"Flatten", factory<Flatten>()},
      {"Linear", factory<Linear>()},
      {"MeanSquaredLoss", factory<MeanSquaredLoss>()},
      {"Pooling", factory<Pooling>()},
      {"Ramp", factory<Ramp>()},
      {"Reshape", factory<Reshape>()},
      {"Softmax", factory<Softmax>()},
      {"Total", factory<Total>()},
  };
  return table;
}

}  // namespace

LayerPtr make_layer(const std::string& type, const nlohmann::json& options) {
  auto it = factories().find(type);
  if (it == factories().end())
    throw OptionError("layer type", "unknown layer type", "one of " + join_names(known_layer_types()), in_quotes(type));
  return it->second(options);
}

const LegacyNames& legacy_names(const std::string& type) {
  static const LegacyNames none;
  return type == "BatchNormalization" ? BatchNormalization::legacy_names() : none;
}

std::vector<std::string> known_layer_types() {
  std::vector<std::string> names;
  for (const auto& entry : factories()) names.push_back(entry.first);
  return names;
}

}  // namespace netkit
