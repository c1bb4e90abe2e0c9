#include <netkit/core/error.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace netkit {

Error::Error(std::string where, std::string problem, std::string expected, std::string got, std::string hint)
    : where_(std::move(where)),
      problem_(std::move(problem)),
      expected_(std::move(expected)),
      got_(std::move(got)),
      hint_(std::move(hint)) {
  compose();
}

void Error::prepend_where(const std::string& outer) {
  where_ = where_.empty() ? outer : outer + ", " + where_;
  compose();
}

void Error::compose() {
  message_ = where_.empty() ? problem_ : where_ + ": " + problem_;
  if (!expected_.empty() || !got_.empty()) message_ += "; expected " + expected_ + ", got " + got_;
  if (!hint_.empty()) message_ += ". " + hint_;
}

std::string in_quotes(const std::string& name) { return "\"" + name + "\""; }

}  // namespace netkit

namespace netkit {

std::string number_text(double value) {
  char buffer[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

}  // namespace netkit
