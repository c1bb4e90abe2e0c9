// Command-line arguments of the `netkit` tool: one command, positional arguments and
// --options, each option declared with its kind so that a bad value is refused with the
// option's name, what was expected and what was found.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace netkit::cli {

enum class ArgKind { Flag, Integer, Number, Text };

struct OptionSpec {
  std::string name;  // without "--"
  ArgKind kind;
  std::string help;
  std::string placeholder;                               // e.g. "N"; empty for flags
  double min = 0;                                        // for Integer and Number: smallest allowed value
  double max = std::numeric_limits<double>::infinity();  // for Integer and Number: largest allowed value
};

struct CommandSpec {
  std::string name;                      // "train"
  std::vector<std::string> positionals;  // "MODEL.json"
  std::vector<OptionSpec> options;
  std::vector<std::string> required;  // option names that must be given
  std::string summary;
};

struct ParsedArgs {
  std::vector<std::string> positionals;
  std::map<std::string, std::string> values;  // option -> text ("" for flags)
  bool has(const std::string& option) const { return values.count(option) > 0; }
  std::string text(const std::string& option, const std::string& fallback) const;
  int64_t integer(const std::string& option, int64_t fallback) const;
  double number(const std::string& option, double fallback) const;
};

// Parses argv after the command name. "--help" anywhere gives a ParsedArgs with "help" set.
// Throws OptionError: "netkit train, option --epochs: not an integer; expected an integer >= 1, got \"x\"".
ParsedArgs parse_args(const CommandSpec& spec, const std::vector<std::string>& args);

// The --help text of a command.
std::string usage(const CommandSpec& spec);

}  // namespace netkit::cli
