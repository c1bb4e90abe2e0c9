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

namespace {

// The length of the longest start of `text` of at most kShownChars bytes that does not end inside
// a UTF-8 sequence.
size_t shown_length(const std::string& text) {
  if (text.size() <= kShownChars) return text.size();
  size_t n = kShownChars;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

std::string length_note(const std::string& text) { return " (" + std::to_string(text.size()) + " characters)"; }

}  // namespace

std::string in_quotes(const std::string& text) {
  const size_t shown = shown_length(text);
  std::string out = "\"";
  for (size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      char code[8];
      std::snprintf(code, sizeof code, "\\x%02X", c);
      out += code;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < text.size()) return out + "...\"" + length_note(text);
  return out + "\"";
}

std::string shortened(const std::string& text) {
  const size_t shown = shown_length(text);
  return shown < text.size() ? text.substr(0, shown) + "..." + length_note(text) : text;
}

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
