// libFuzzer target for resuming from a checkpoint (train/checkpoint.h): any bytes, given as the
// checkpoint of the run in checkpoint_fuzz_run.h, must either be refused with a netkit::Error or
// resume and finish that run (anything else, a crash or a sanitizer report is a finding). Build
// with clang (tools/CMakeLists.txt, NETKIT_FUZZ=ON); .ci/run runs it for 60 s:
//   build-fuzz/tools/fuzz_checkpoint -max_total_time=60 -max_len=8192 <copy of tests/fuzz_corpus/checkpoint>
#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <netkit/core/error.h>
#include "tools/fuzz/checkpoint_fuzz_run.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const netkit::Net net = netkit::fuzz::checkpoint_fuzz_net();
  static const netkit::TrainingData examples = netkit::fuzz::checkpoint_fuzz_data();
  static const std::string path =
      (std::filesystem::temp_directory_path() /
       ("netkit-fuzz-checkpoint-" + std::to_string(static_cast<long>(::getpid())) + ".json"))
          .string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  const bool written = std::fwrite(data, 1, size, f) == size;
  if (std::fclose(f) != 0 || !written) std::abort();
  netkit::TrainOptions o = netkit::fuzz::checkpoint_fuzz_options();
  o.resume_from = path;
  try {
    netkit::net_train(net, examples, o);
  } catch (const netkit::Error&) {
  }
  return 0;
}
