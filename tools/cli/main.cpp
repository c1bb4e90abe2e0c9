// The `netkit` command line. Errors become one line on stderr and a non-zero exit code:
// 2 for bad arguments, 1 for everything else.
#include <unistd.h>

#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include <netkit/core/error.h>
#include "tools/cli/commands.h"

namespace {

// "netkit: <message>" unless the message already names the command.
std::string one_line(const std::string& message) {
  return message.rfind("netkit", 0) == 0 ? message : "netkit: " + message;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << netkit::cli::overview();
    return args.empty() ? 2 : 0;
  }
  try {
    const std::string command = args[0];
    args.erase(args.begin());
    return netkit::cli::run_command(command, args, std::cout, std::cerr, isatty(STDERR_FILENO) != 0);
  } catch (const netkit::OptionError& e) {
    std::cerr << one_line(e.what()) << "\n";
    return 2;
  } catch (const std::bad_alloc&) {  // an allocation not guarded where it happens
    std::cerr << "netkit: out of memory; expected enough free memory for the command, got an allocation failure\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << one_line(e.what()) << "\n";
    return 1;
  }
}
