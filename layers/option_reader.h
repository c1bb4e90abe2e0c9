// Reads a layer's options from JSON with typed, located errors, and rejects unknown names.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <netkit/layers/initializer.h>

namespace netkit {

// The largest number of input ports of one layer ("Inputs" of Total and Catenate).
inline constexpr int64_t kMaxPorts = 1024;

class OptionReader {
 public:
  OptionReader(const nlohmann::json& options, std::string layer_type);

  double number(const std::string& name, double fallback);
  bool boolean(const std::string& name, bool fallback);
  std::string choice(const std::string& name, const std::string& fallback, const std::vector<std::string>& allowed);
  // A number of ports, an integer from 1 to kMaxPorts ("Inputs" of multi-input layers).
  int64_t port_count(const std::string& name, int64_t fallback);
  // An initializer name from `allowed` (layers/initializer.h).
  Initializer initializer(const std::string& name, const Initializer& fallback,
                          const std::vector<std::string>& allowed);
  // One number per array, given as a single number for all or as {"Array": x, ...} ("L2Factors").
  // Values come back in the order of `arrays`; `note` follows the list of names in errors.
  std::vector<double> per_array_numbers(const std::string& name, const std::vector<std::string>& arrays,
                                        double fallback, const std::string& note = "");
  // The raw value, or nullptr when absent (for options with their own structure).
  const nlohmann::json* raw(const std::string& name);
  // Throws OptionError for any option not read, listing the known names.
  void finish() const;
  // "BatchNormalization option \"Epsilon\"": the location used in messages.
  std::string where(const std::string& name) const;

 private:
  const nlohmann::json& options_;
  std::string type_;
  std::set<std::string> known_;
};

std::string json_type_name(const nlohmann::json& value);
// "\"a\", \"b\"": each name quoted; a list longer than kShownNames shows its first names and the count.
inline constexpr size_t kShownNames = 24;
std::string join_names(const std::vector<std::string>& names);

}  // namespace netkit
