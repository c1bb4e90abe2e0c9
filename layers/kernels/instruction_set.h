// The instruction sets netkit's kernels are compiled for, which of them this build and CPU can
// run, the one every kernel uses, and the switch that tests and benchmarks use to force another.
//
// A kernel with per-set variants writes its loops once, in a body file, and compiles that file
// once per set through layers/kernels/instruction_set_variants.inc (namespaces baseline, avx2 and
// avx512, each with a table of the loops); it calls the loops through
// variant(baseline::table, avx2::table, avx512::table), so that every kernel follows the one
// choice made here.
#pragma once

#include <optional>
#include <string_view>

namespace netkit::kernels {

// baseline: x86-64 (SSE2); avx2: x86-64-v3 (AVX2 with FMA); avx512: x86-64-v4 (AVX-512 F, BW, CD,
// DQ and VL).
enum class InstructionSet { baseline, avx2, avx512 };
inline constexpr InstructionSet kInstructionSets[] = {InstructionSet::baseline, InstructionSet::avx2,
                                                      InstructionSet::avx512};

// GCC on x86-64 compiles every set's variants; other compilers (such as the fuzz build's clang)
// compile the baseline only.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NETKIT_INSTRUCTION_SET_VARIANTS 1
#endif

// "baseline", "avx2", "avx512", and back (nullopt for any other name).
const char* name(InstructionSet set);
std::optional<InstructionSet> instruction_set_named(std::string_view name);

// Whether this build has the set's variants and the CPU can run them (baseline: always).
bool supported(InstructionSet set);

// The set every kernel uses: the best supported one unless use_instruction_set chose another.
InstructionSet instruction_set();

// Makes every kernel use `set` from now on and returns true, or returns false (no change) when it
// is not supported. Not to be called while kernels run.
bool use_instruction_set(InstructionSet set);

// The chosen set's entry among a kernel's per-set tables.
template <class Table>
const Table& variant(const Table& baseline, const Table& avx2, const Table& avx512) {
  switch (instruction_set()) {
    case InstructionSet::avx512:
      return avx512;
    case InstructionSet::avx2:
      return avx2;
    case InstructionSet::baseline:
      break;
  }
  return baseline;
}

}  // namespace netkit::kernels
