#include "layers/initializer.h"

#include "core/error.h"

namespace netkit {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

}  // namespace

Initializer::Initializer(Function f) : kind_(Kind::Function), function_(std::move(f)) {
  if (!function_) throw OptionError("initializer", "empty function", "a callable", "an empty std::function");
}

const std::vector<std::string>& Initializer::names() {
  static const std::vector<std::string> names{"Zeros", "Ones", "NarrowNormal"};
  return names;
}

Initializer Initializer::named(const std::string& name, const std::string& where) {
  if (name == "Zeros") return Kind::Zeros;
  if (name == "Ones") return Kind::Ones;
  if (name == "NarrowNormal") return Kind::NarrowNormal;
  throw OptionError(where, "unknown initializer", "one of " + join(names()), in_quotes(name));
}

std::string Initializer::name() const {
  switch (kind_) {
    case Kind::Zeros: return "Zeros";
    case Kind::Ones: return "Ones";
    case Kind::NarrowNormal: return "NarrowNormal";
    case Kind::Function: break;
  }
  return "Function";
}

Array Initializer::make(const Shape& shape, Random& random, const std::string& where) const {
  switch (kind_) {
    case Kind::Zeros: return Array(shape, 0.0f);
    case Kind::Ones: return Array(shape, 1.0f);
    case Kind::NarrowNormal: {
      Array a(shape);
      for (int64_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(0.01 * random.normal());
      return a;
    }
    case Kind::Function: break;
  }
  Array a = function_(shape);
  if (a.dims() != shape.dims())
    throw InitializationError(where, "initializer function returned the wrong shape", shape.to_string(),
                              dims_to_string(a.dims()));
  if (!a.all_finite())
    throw InitializationError(where, "initializer function returned NaN or infinity", "finite values",
                              "a non-finite value");
  return a;
}

}  // namespace netkit
