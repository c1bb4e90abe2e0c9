// Array initializers: named ("Zeros", "Ones", "NarrowNormal", "XavierUniform", "KaimingNormal")
// or a user function of the shape.
//
// Fans of a weight array, used by XavierUniform and KaimingNormal:
//   rank 2, [out, in] (a Linear layer's Weights):    fan_in = in,     fan_out = out;
//   rank k >= 3, [out, in, k1, ...] (a convolution kernel, channels first): with the receptive
//     field r = k1 * ... * k(k-2),                    fan_in = in * r, fan_out = out * r.
// That is Glorot's and He's definition, and PyTorch's. A vector (rank 1) has no fans: the
// fan-based initializers refuse it rather than guess.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <netkit/core/array.h>
#include <netkit/core/random.h>

namespace netkit {

class Initializer {
 public:
  using Function = std::function<Array(const Shape&)>;
  enum class Kind { Zeros, Ones, NarrowNormal, XavierUniform, KaimingNormal, Function };

  Initializer(Kind kind = Kind::Zeros) : kind_(kind) {}
  Initializer(Function f);
  // Parses one of `allowed` (a subset of all_names()); `where` locates errors (e.g. option
  // "ScalingInitializer"). A fan-based name where only names() are allowed is refused as such.
  static Initializer named(const std::string& name, const std::string& where,
                           const std::vector<std::string>& allowed = names());
  // Initializers for any array: "Zeros", "Ones", "NarrowNormal".
  static const std::vector<std::string>& names();
  // Those and the fan-based ones, for weight arrays of rank >= 2.
  static const std::vector<std::string>& all_names();

  Kind kind() const { return kind_; }
  std::string name() const;  // "Function" for a user function
  // True for the initializers that need the fans of a weight shape.
  bool uses_fans() const { return kind_ == Kind::XavierUniform || kind_ == Kind::KaimingNormal; }

  // A fresh array of `shape` (fully known) drawn from `random`. A user function's result must
  // have exactly that shape and finite values.
  //   NarrowNormal:  normal, mean 0, standard deviation 0.01;
  //   XavierUniform: uniform in [-l, l], l = sqrt(6 / (fan_in + fan_out))  (Glorot and Bengio 2010);
  //   KaimingNormal: normal, mean 0, standard deviation sqrt(2 / fan_in)   (He et al. 2015, for Ramp).
  Array make(const Shape& shape, Random& random, const std::string& where) const;

 private:
  Kind kind_;
  Function function_;
};

// Fans of a weight shape of rank >= 2 (see above); throws InitializationError naming `where` otherwise.
struct Fans {
  int64_t in = 0, out = 0;
};
Fans fans_of(const Shape& shape, const std::string& where);

}  // namespace netkit
