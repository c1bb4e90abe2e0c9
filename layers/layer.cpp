#include <netkit/layers/layer.h>

#include <stdexcept>

#include <netkit/core/error.h>

namespace netkit {

const char* mode_name(Mode mode) { return mode == Mode::Train ? "Train" : "Test"; }

const char* role_name(ArrayRole role) {
  switch (role) {
    case ArrayRole::Learnable:
      return "learnable";
    case ArrayRole::Moving:
      return "moving";
    case ArrayRole::Saved:
      break;
  }
  return "saved";
}

void Layer::check_array(const std::string&, const Array&) const {}

std::string Layer::unknown_shape_reason(const std::string& array) const {
  return "the shape of array " + in_quotes(array) + " is not known";
}

void Layer::update_moving(const MovingUpdateArgs&) const {}

LayerPtr Layer::absorb_producer(const Layer&, const Shape&) const { return nullptr; }

std::unique_ptr<PopulationAccumulator> Layer::population_accumulator() const { return nullptr; }

std::vector<std::string> numbered_ports(const std::string& stem, int64_t count) {
  std::vector<std::string> names;
  for (int64_t i = 1; i <= count; ++i) names.push_back(stem + std::to_string(i));
  return names;
}

size_t array_index(const std::vector<ArrayDecl>& decls, const std::string& name) {
  for (size_t i = 0; i < decls.size(); ++i)
    if (decls[i].name == name) return i;
  throw std::out_of_range("no array named " + name);
}

}  // namespace netkit
