#include <netkit/layers/initializer.h>

#include <algorithm>
#include <cmath>

#include <netkit/core/error.h>

namespace netkit {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

Array normal_array(const Shape& shape, Random& random, double stddev) {
  Array a(shape);
  for (int64_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(stddev * random.normal());
  return a;
}

}  // namespace

Initializer::Initializer(Function f) : kind_(Kind::Function), function_(std::move(f)) {
  if (!function_) throw OptionError("initializer", "empty function", "a callable", "an empty std::function");
}

const std::vector<std::string>& Initializer::names() {
  static const std::vector<std::string> names{"Zeros", "Ones", "NarrowNormal"};
  return names;
}

const std::vector<std::string>& Initializer::all_names() {
  static const std::vector<std::string> names{"Zeros", "Ones", "NarrowNormal", "XavierUniform", "KaimingNormal"};
  return names;
}

Initializer Initializer::named(const std::string& name, const std::string& where,
                               const std::vector<std::string>& allowed) {
  const bool is_allowed = std::find(allowed.begin(), allowed.end(), name) != allowed.end();
  const auto& all = all_names();
  if (!is_allowed && std::find(all.begin(), all.end(), name) != all.end())
    throw OptionError(where, "initializer needs the fans of a weight array of rank >= 2", "one of " + join(allowed),
                      in_quotes(name));
  if (is_allowed) {
    if (name == "Zeros") return Kind::Zeros;
    if (name == "Ones") return Kind::Ones;
    if (name == "NarrowNormal") return Kind::NarrowNormal;
    if (name == "XavierUniform") return Kind::XavierUniform;
    if (name == "KaimingNormal") return Kind::KaimingNormal;
  }
  throw OptionError(where, "unknown initializer", "one of " + join(allowed), in_quotes(name));
}

std::string Initializer::name() const {
  switch (kind_) {
    case Kind::Zeros:
      return "Zeros";
    case Kind::Ones:
      return "Ones";
    case Kind::NarrowNormal:
      return "NarrowNormal";
    case Kind::XavierUniform:
      return "XavierUniform";
    case Kind::KaimingNormal:
      return "KaimingNormal";
    case Kind::Function:
      break;
  }
  return "Function";
}

Fans fans_of(const Shape& shape, const std::string& where) {
  if (shape.rank() < 2)
    throw InitializationError(where, "fan-based initializers need a weight array of rank >= 2 ([out, in, ...])",
                              "rank >= 2", "shape " + shape.to_string());
  const auto& d = shape.dims();
  const int64_t receptive = checked_product({d.begin() + 2, d.end()});
  return {d[1] * receptive, d[0] * receptive};
}

Array Initializer::make(const Shape& shape, Random& random, const std::string& where) const {
  switch (kind_) {
    case Kind::Zeros:
      return Array(shape, 0.0f);
    case Kind::Ones:
      return Array(shape, 1.0f);
    case Kind::NarrowNormal:
      return normal_array(shape, random, 0.01);
    case Kind::XavierUniform: {
      const Fans f = fans_of(shape, where);
      const double limit = std::sqrt(6.0 / static_cast<double>(f.in + f.out));
      Array a(shape);
      for (int64_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(random.uniform(-limit, limit));
      return a;
    }
    case Kind::KaimingNormal: {
      const Fans f = fans_of(shape, where);
      return normal_array(shape, random, std::sqrt(2.0 / static_cast<double>(f.in)));
    }
    case Kind::Function:
      break;
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
