// Array initializers: named ("Zeros", "Ones", "NarrowNormal") or a user function of the shape.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/array.h"
#include "core/random.h"

namespace netkit {

class Initializer {
 public:
  using Function = std::function<Array(const Shape&)>;
  enum class Kind { Zeros, Ones, NarrowNormal, Function };

  Initializer(Kind kind = Kind::Zeros) : kind_(kind) {}
  Initializer(Function f);
  // Parses "Zeros" / "Ones" / "NarrowNormal"; `where` locates errors (e.g. option "ScalingInitializer").
  static Initializer named(const std::string& name, const std::string& where);
  static const std::vector<std::string>& names();

  Kind kind() const { return kind_; }
  std::string name() const;  // "Function" for a user function

  // A fresh array of `shape` (fully known) drawn from `random`. A user function's result must
  // have exactly that shape and finite values.
  Array make(const Shape& shape, Random& random, const std::string& where) const;

 private:
  Kind kind_;
  Function function_;
};

}  // namespace netkit
