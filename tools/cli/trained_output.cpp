#include "tools/cli/trained_output.h"

#include <unistd.h>
#include <cerrno>
#include <filesystem>
#include <vector>

#include <netkit/core/atomic_file.h>
#include <netkit/core/error.h>
#include <netkit/graph/net_json.h>

namespace netkit::cli {

namespace fs = std::filesystem;

namespace {

void check_writable(const std::string& option, const std::string& path, size_t bytes, const std::string& what) {
  const AtomicWriteResult probe = probe_writable(path, bytes);
  std::error_code ec;
  const int error = !probe.ok() ? probe.error : fs::is_directory(path, ec) ? EISDIR : 0;
  if (error != 0)
    throw OptionError("netkit train, option " + option + " " + in_quotes(path), "cannot be written",
                      what + " (" + std::to_string(bytes) + " bytes)", write_error_cause(error), "Nothing was trained");
}

}  // namespace

void check_output_locations(const std::string& out_path, const std::string& checkpoint_dir, size_t model_bytes) {
  check_writable("--out", out_path, model_bytes, "a writable location with room for the model");
  if (checkpoint_dir.empty()) return;
  std::error_code ec;
  fs::create_directories(checkpoint_dir, ec);
  if (ec)
    throw OptionError("netkit train, option --checkpoint-dir " + in_quotes(checkpoint_dir), "cannot be created",
                      "a writable directory", write_error_cause(ec.value()), "Nothing was trained");
  check_writable("--checkpoint-dir", (fs::path(checkpoint_dir) / "checkpoint").string(), 4 * model_bytes,
                 "a writable directory with room for a checkpoint");
}

void save_trained_net(const Net& net, const std::string& out_path, const std::string& checkpoint_dir) {
  try {
    save_net(out_path, net);
    return;
  } catch (const FormatError& failed) {
    const std::string name = "trained-" + fs::path(out_path).filename().string();
    std::vector<fs::path> fallbacks;
    if (!checkpoint_dir.empty()) fallbacks.push_back(fs::path(checkpoint_dir) / name);
    std::error_code ec;
    const fs::path temp = fs::temp_directory_path(ec);
    if (!ec) fallbacks.push_back(temp / (std::to_string(static_cast<long>(::getpid())) + "-" + name));
    std::string tried;
    for (const fs::path& fallback : fallbacks) {
      try {
        save_net(fallback.string(), net);
        throw TrainingError("netkit train, option --out " + in_quotes(out_path), "cannot save the trained model",
                            "a writable location", failed.got(),
                            "The trained net was saved to " + in_quotes(fallback.string()) + " instead");
      } catch (const FormatError&) {
        tried += (tried.empty() ? "" : ", ") + in_quotes(fallback.string());
      }
    }
    throw TrainingError("netkit train, option --out " + in_quotes(out_path), "cannot save the trained model",
                        "a writable location", failed.got(),
                        "The trained net could not be saved elsewhere either" +
                            (tried.empty() ? std::string() : " (tried " + tried + ")"));
  }
}

}  // namespace netkit::cli
