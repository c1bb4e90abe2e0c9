// The `netkit` commands: train, eval, info, graph. Each takes its arguments after the command
// name and writes to the given streams; errors are thrown (main turns them into one line).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "tools/cli/args.h"

namespace netkit::cli {

const std::vector<CommandSpec>& command_specs();
// Runs one command; returns the exit code. `terminal`: stderr is a terminal (progress bar).
int run_command(const std::string& command, const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                bool terminal);
// The top-level help: commands and their summaries.
std::string overview();

}  // namespace netkit::cli
