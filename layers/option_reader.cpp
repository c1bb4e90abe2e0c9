#include <netkit/layers/option_reader.h>

#include <algorithm>
#include <cmath>

#include <netkit/core/error.h>

namespace netkit {

OptionReader::OptionReader(const nlohmann::json& options, std::string layer_type)
    : options_(options), type_(std::move(layer_type)) {
  if (!options_.is_null() && !options_.is_object())
    throw OptionError(type_ + " options", "options must be a JSON object", "an object", json_type_name(options_));
}

std::string OptionReader::where(const std::string& name) const { return type_ + " option " + in_quotes(name); }

const nlohmann::json* OptionReader::raw(const std::string& name) {
  known_.insert(name);
  if (options_.is_null()) return nullptr;
  auto it = options_.find(name);
  return it == options_.end() ? nullptr : &*it;
}

double OptionReader::number(const std::string& name, double fallback) {
  const nlohmann::json* v = raw(name);
  if (!v) return fallback;
  if (!v->is_number()) throw OptionError(where(name), "wrong type", "a number", json_type_name(*v));
  double x = v->get<double>();
  if (!std::isfinite(x)) throw OptionError(where(name), "not finite", "a finite number", shortened(v->dump()));
  return x;
}

bool OptionReader::boolean(const std::string& name, bool fallback) {
  const nlohmann::json* v = raw(name);
  if (!v) return fallback;
  if (!v->is_boolean()) throw OptionError(where(name), "wrong type", "true or false", json_type_name(*v));
  return v->get<bool>();
}

std::string OptionReader::choice(const std::string& name, const std::string& fallback,
                                 const std::vector<std::string>& allowed) {
  const nlohmann::json* v = raw(name);
  if (!v) return fallback;
  if (v->is_string())
    for (const auto& a : allowed)
      if (a == v->get<std::string>()) return a;
  throw OptionError(where(name), "invalid value", "one of " + join_names(allowed), shortened(v->dump()));
}

int64_t OptionReader::port_count(const std::string& name, int64_t fallback) {
  const nlohmann::json* v = raw(name);
  if (!v) return fallback;
  if (!v->is_number_integer() || v->get<int64_t>() < 1 || v->get<int64_t>() > kMaxPorts)
    throw OptionError(where(name), "invalid port count", "an integer from 1 to " + std::to_string(kMaxPorts),
                      shortened(v->dump()));
  return v->get<int64_t>();
}

Initializer OptionReader::initializer(const std::string& name, const Initializer& fallback,
                                      const std::vector<std::string>& allowed) {
  const nlohmann::json* v = raw(name);
  if (!v) return fallback;
  if (!v->is_string()) throw OptionError(where(name), "wrong type", "an initializer name", json_type_name(*v));
  return Initializer::named(v->get<std::string>(), where(name), allowed);
}

std::vector<double> OptionReader::per_array_numbers(const std::string& name, const std::vector<std::string>& arrays,
                                                    double fallback, const std::string& note) {
  std::vector<double> values(arrays.size(), fallback);
  const nlohmann::json* v = raw(name);
  if (!v) return values;
  if (v->is_number()) return std::vector<double>(arrays.size(), v->get<double>());
  std::string names, form;
  for (size_t i = 0; i < arrays.size(); ++i) {
    names += (i ? " or " : "") + in_quotes(arrays[i]);
    form += (i ? ", " : "") + in_quotes(arrays[i]) + ": " + std::string(1, static_cast<char>('x' + i % 3));
  }
  if (!v->is_object()) throw OptionError(where(name), "wrong type", "a number or {" + form + "}", json_type_name(*v));
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it->is_number())
      throw OptionError(where(name) + ", " + in_quotes(it.key()), "wrong type", "a number", json_type_name(*it));
    const auto at = std::find(arrays.begin(), arrays.end(), it.key());
    if (at == arrays.end()) throw OptionError(where(name), "unknown array", names + note, in_quotes(it.key()));
    values[static_cast<size_t>(at - arrays.begin())] = it->get<double>();
  }
  return values;
}

void OptionReader::finish() const {
  if (options_.is_null()) return;
  for (auto it = options_.begin(); it != options_.end(); ++it) {
    if (!known_.count(it.key())) {
      throw OptionError(type_ + " options", "unknown option " + in_quotes(it.key()),
                        "one of " + join_names({known_.begin(), known_.end()}), in_quotes(it.key()));
    }
  }
}

std::string json_type_name(const nlohmann::json& value) {
  if (value.is_number()) return "a number (" + shortened(value.dump()) + ")";
  if (value.is_string()) return "a string (" + shortened(value.dump()) + ")";
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_null()) return "null";
  if (value.is_array()) return "a list";
  return "an object";
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < kShownNames; ++i) s += (s.empty() ? "" : ", ") + in_quotes(names[i]);
  if (names.size() > kShownNames) s += ", ... (" + std::to_string(names.size()) + " names)";
  return s;
}

}  // namespace netkit
