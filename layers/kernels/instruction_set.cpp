#include <netkit/layers/kernels/instruction_set.h>

namespace netkit::kernels {

namespace {

bool cpu_runs(InstructionSet set) {
#ifdef NETKIT_INSTRUCTION_SET_VARIANTS
  __builtin_cpu_init();  // may run before the library's static initialisers
  switch (set) {
    case InstructionSet::baseline:
      return true;
    case InstructionSet::avx2:
      return __builtin_cpu_supports("x86-64-v3");
    case InstructionSet::avx512:
      return __builtin_cpu_supports("x86-64-v4");
  }
  return false;
#else
  return set == InstructionSet::baseline;
#endif
}

InstructionSet best_supported() {
  for (InstructionSet set : {InstructionSet::avx512, InstructionSet::avx2})
    if (cpu_runs(set)) return set;
  return InstructionSet::baseline;
}

// Chosen on first use; changed only by use_instruction_set, between kernel runs.
InstructionSet& current() {
  static InstructionSet set = best_supported();
  return set;
}

}  // namespace

const char* name(InstructionSet set) {
  switch (set) {
    case InstructionSet::baseline:
      return "baseline";
    case InstructionSet::avx2:
      return "avx2";
    case InstructionSet::avx512:
      return "avx512";
  }
  return "?";
}

std::optional<InstructionSet> instruction_set_named(std::string_view text) {
  for (InstructionSet set : kInstructionSets)
    if (text == name(set)) return set;
  return std::nullopt;
}

bool supported(InstructionSet set) { return cpu_runs(set); }

InstructionSet instruction_set() { return current(); }

bool use_instruction_set(InstructionSet set) {
  if (!supported(set)) return false;
  current() = set;
  return true;
}

}  // namespace netkit::kernels
