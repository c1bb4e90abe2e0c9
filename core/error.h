// Typed errors, one per stage (construction, shapes, initialization, evaluation, training, files). Every message has
// the form
//   <where>: <problem>; expected <X>, got <Y>[. <hint>]
// and callers higher up prepend their own location ("node 3 \"bn1\" (BatchNormalization), ")
// without losing the exception's type.
#pragma once

#include <cstddef>
#include <exception>
#include <string>

namespace netkit {

class Error : public std::exception {
 public:
  Error(std::string where, std::string problem, std::string expected = {}, std::string got = {}, std::string hint = {});

  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& where() const { return where_; }
  const std::string& problem() const { return problem_; }
  const std::string& expected() const { return expected_; }
  const std::string& got() const { return got_; }
  const std::string& hint() const { return hint_; }

  // Puts an outer location in front of `where`, e.g. "layer BatchNormalization" + "port \"Input\"".
  void prepend_where(const std::string& outer);

 private:
  void compose();
  std::string where_, problem_, expected_, got_, hint_, message_;
};

// Invalid option or argument when a layer or object is constructed.
class OptionError : public Error {
  using Error::Error;
};
// Shapes that cannot be inferred or do not agree.
class ShapeError : public Error {
  using Error::Error;
};
// Arrays missing, not initializable, or of the wrong size or content.
class InitializationError : public Error {
  using Error::Error;
};
// Evaluation failures (wrong batch shapes, uninitialized net).
class EvaluationError : public Error {
  using Error::Error;
};
// Evaluation would produce NaN or infinity (e.g. a negative MovingVariance).
class NumericalError : public EvaluationError {
  using EvaluationError::EvaluationError;
};
// Model files and JSON documents that cannot be read.
class FormatError : public Error {
  using Error::Error;
};
// Training-loop failures.
class TrainingError : public Error {
  using Error::Error;
};
// Memory that could not be allocated (the message names what and how many bytes).
class AllocationError : public Error {
  using Error::Error;
};

// At most this many characters of a user's text are echoed in a message.
inline constexpr size_t kShownChars = 80;

// Quotes a user's text for a one-line message: "Epsilon" -> "\"Epsilon\"". Quotes, backslashes
// and control characters are escaped ("\n", "\x01"); a text longer than kShownChars shows its
// start and its length: "\"aaaa...\" (100000 characters)".
std::string in_quotes(const std::string& text);

// Text that is not a name (a JSON value, a list) echoed in a message: shown whole up to
// kShownChars, else its start and its length: "[1, 2, 3, ... (5000 characters)".
std::string shortened(const std::string& text);

// Shortest text that reads back to the same double ("0.001", "-1", "1e+30", "nan").
std::string number_text(double value);

// Runs f; any netkit::Error escaping it gets `outer` prepended to its location.
template <class F>
decltype(auto) with_location(const std::string& outer, F&& f) {
  try {
    return f();
  } catch (Error& e) {
    e.prepend_where(outer);
    throw;
  }
}

}  // namespace netkit
