#include "tools/cli/args.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <netkit/core/error.h>

namespace netkit::cli {

namespace {

const OptionSpec* find(const CommandSpec& spec, const std::string& name) {
  for (const auto& o : spec.options)
    if (o.name == name) return &o;
  return nullptr;
}

std::string option_names(const CommandSpec& spec) {
  std::string out;
  for (const auto& o : spec.options) out += (out.empty() ? "" : ", ") + ("--" + o.name);
  return out + (out.empty() ? "" : ", ") + "--help";
}

bool bounded_above(const OptionSpec& o) { return std::isfinite(o.max); }

std::string expected_value(const OptionSpec& o) {
  std::ostringstream s;
  if (o.kind == ArgKind::Integer && bounded_above(o))
    s << "an integer from " << static_cast<int64_t>(o.min) << " to " << static_cast<int64_t>(o.max);
  else if (o.kind == ArgKind::Integer)
    s << "an integer >= " << static_cast<int64_t>(o.min);
  else if (o.kind == ArgKind::Number && bounded_above(o))
    s << "a number from " << number_text(o.min) << " to " << number_text(o.max);
  else if (o.kind == ArgKind::Number)
    s << "a number >= " << number_text(o.min);
  else
    s << "a value";
  return s.str();
}

void check_value(const std::string& where, const OptionSpec& o, const std::string& text) {
  if (o.kind == ArgKind::Text) {
    if (text.empty()) throw OptionError(where, "empty value", expected_value(o), "\"\"");
    return;
  }
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  if (o.kind == ArgKind::Integer) {
    const long long v = std::strtoll(begin, &end, 10);
    if (text.empty() || *end != '\0' || errno == ERANGE)
      throw OptionError(where, "not an integer", expected_value(o), in_quotes(text));
    if (static_cast<double>(v) < o.min || static_cast<double>(v) > o.max)
      throw OptionError(where, "out of range", expected_value(o), shortened(text));
  } else {
    const double v = std::strtod(begin, &end);
    if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
      throw OptionError(where, "not a number", expected_value(o), in_quotes(text));
    if (v < o.min || v > o.max) throw OptionError(where, "out of range", expected_value(o), shortened(text));
  }
}

}  // namespace

std::string ParsedArgs::text(const std::string& option, const std::string& fallback) const {
  auto it = values.find(option);
  return it == values.end() ? fallback : it->second;
}

int64_t ParsedArgs::integer(const std::string& option, int64_t fallback) const {
  auto it = values.find(option);
  return it == values.end() ? fallback : std::strtoll(it->second.c_str(), nullptr, 10);
}

double ParsedArgs::number(const std::string& option, double fallback) const {
  auto it = values.find(option);
  return it == values.end() ? fallback : std::strtod(it->second.c_str(), nullptr);
}

ParsedArgs parse_args(const CommandSpec& spec, const std::vector<std::string>& args) {
  const std::string command = "netkit " + spec.name;
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.values["help"] = "";
      return out;
    }
    if (a.rfind("--", 0) != 0) {
      if (out.positionals.size() == spec.positionals.size()) {
        std::string wanted;
        for (const auto& p : spec.positionals) wanted += (wanted.empty() ? "" : " ") + p;
        throw OptionError(command, "unexpected argument " + in_quotes(a), wanted.empty() ? "no arguments" : wanted,
                          in_quotes(a));
      }
      out.positionals.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) value = name.substr(eq + 1), name = name.substr(0, eq);
    const OptionSpec* o = find(spec, name);
    if (!o)
      throw OptionError(command, "unknown option " + in_quotes("--" + name), "one of " + option_names(spec),
                        in_quotes(a));
    const std::string where = command + ", option --" + name;
    if (o->kind == ArgKind::Flag) {
      if (inline_value) throw OptionError(where, "a flag takes no value", "--" + name, in_quotes(a));
    } else if (!inline_value) {
      if (i + 1 == args.size())
        throw OptionError(where, "missing value", expected_value(*o), "the end of the arguments");
      value = args[++i];
    }
    if (o->kind != ArgKind::Flag) check_value(where, *o, value);
    if (out.values.count(name)) throw OptionError(where, "given twice", "one value", "a second " + in_quotes(value));
    out.values[name] = value;
  }
  if (out.positionals.size() < spec.positionals.size())
    throw OptionError(command, "missing argument " + spec.positionals[out.positionals.size()],
                      std::to_string(spec.positionals.size()) + " arguments", std::to_string(out.positionals.size()),
                      "See netkit " + spec.name + " --help");
  for (const auto& r : spec.required)
    if (!out.values.count(r))
      throw OptionError(command, "missing option --" + r, "--" + r + " " + find(spec, r)->placeholder, "none",
                        "See netkit " + spec.name + " --help");
  return out;
}

std::string usage(const CommandSpec& spec) {
  std::ostringstream s;
  s << "usage: netkit " << spec.name;
  for (const auto& p : spec.positionals) s << " " << p;
  for (const auto& o : spec.options) {
    const bool req = std::find(spec.required.begin(), spec.required.end(), o.name) != spec.required.end();
    s << " " << (req ? "" : "[") << "--" << o.name << (o.placeholder.empty() ? "" : " " + o.placeholder)
      << (req ? "" : "]");
  }
  s << "\n\n" << spec.summary << "\n\noptions:\n";
  size_t width = 0;
  for (const auto& o : spec.options) width = std::max(width, o.name.size() + o.placeholder.size() + 3);
  for (const auto& o : spec.options) {
    std::string left = "--" + o.name + (o.placeholder.empty() ? "" : " " + o.placeholder);
    s << "  " << left << std::string(width - left.size() + 2, ' ') << o.help;
    if (bounded_above(o)) s << "; " << expected_value(o);
    s << "\n";
  }
  s << "  --help" << std::string(width > 4 ? width - 4 : 2, ' ') << "this text\n";
  return s.str();
}

}  // namespace netkit::cli
