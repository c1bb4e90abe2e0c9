// The batch-norm loops (batch_norm_loops_body.inc) compiled for baseline x86-64, AVX2 and
// AVX-512, and the choice among them, made once from what the CPU supports. All three give the
// same bits (see the .inc); only their speed differs.
#include <netkit/layers/kernels/batch_norm_loops.h>

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NETKIT_BN_ISA_VARIANTS 1  // GCC's target pragmas; other compilers build the baseline only
#include <immintrin.h>
#endif

namespace netkit::kernels::batch_norm_loops {

namespace {

struct Table {
  decltype(&batch_norm_loops::lanes_sum) lanes_sum;
  decltype(&batch_norm_loops::lanes_squared_deviation) lanes_squared_deviation;
  decltype(&batch_norm_loops::lanes_gradient_sums) lanes_gradient_sums;
  decltype(&batch_norm_loops::scale_shift_scalar) scale_shift_scalar;
  decltype(&batch_norm_loops::scale_shift_rows) scale_shift_rows;
  decltype(&batch_norm_loops::input_gradient_scalar) input_gradient_scalar;
  decltype(&batch_norm_loops::input_gradient_rows) input_gradient_rows;
  decltype(&batch_norm_loops::rows_sum) rows_sum;
  decltype(&batch_norm_loops::rows_squared_deviation) rows_squared_deviation;
  decltype(&batch_norm_loops::rows_gradient_sums) rows_gradient_sums;
  decltype(&batch_norm_loops::rows_moments) rows_moments;
  decltype(&batch_norm_loops::add_into) add_into;
};

#define NETKIT_BN_TABLE                       \
  const Table table{&lanes_sum,               \
                    &lanes_squared_deviation, \
                    &lanes_gradient_sums,     \
                    &scale_shift_scalar,      \
                    &scale_shift_rows,        \
                    &input_gradient_scalar,   \
                    &input_gradient_rows,     \
                    &rows_sum,                \
                    &rows_squared_deviation,  \
                    &rows_gradient_sums,      \
                    &rows_moments,            \
                    &add_into};

namespace baseline {
using vf = float __attribute__((vector_size(16)));
using vw = vf;
using vd = double __attribute__((vector_size(32)));
inline vd widen(vf v) { return __builtin_convertvector(v, vd); }
#include <netkit/layers/kernels/batch_norm_loops_body.inc>
NETKIT_BN_TABLE
}  // namespace baseline

#ifdef NETKIT_BN_ISA_VARIANTS
#pragma GCC push_options
#pragma GCC target("avx2")
namespace avx2 {
using vf = float __attribute__((vector_size(16)));
using vw = float __attribute__((vector_size(32)));
using vd = double __attribute__((vector_size(32)));
inline vd widen(vf v) { return vd(_mm256_cvtps_pd(__m128(v))); }
#include <netkit/layers/kernels/batch_norm_loops_body.inc>
NETKIT_BN_TABLE
}  // namespace avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx512f")
namespace avx512 {
using vf = float __attribute__((vector_size(32)));
using vw = float __attribute__((vector_size(64)));
using vd = double __attribute__((vector_size(64)));
// (the masked form: _mm512_cvtps_pd trips GCC 12's -Wmaybe-uninitialized inside its own header)
inline vd widen(vf v) { return vd(_mm512_maskz_cvtps_pd(static_cast<__mmask8>(0xFF), __m256(v))); }
#include <netkit/layers/kernels/batch_norm_loops_body.inc>
NETKIT_BN_TABLE
}  // namespace avx512
#pragma GCC pop_options
#endif

const Table* table_of(InstructionSet set) {
#ifdef NETKIT_BN_ISA_VARIANTS
  __builtin_cpu_init();  // needed when called from a static initialiser, as below
#endif
  switch (set) {
    case InstructionSet::baseline:
      return &baseline::table;
#ifdef NETKIT_BN_ISA_VARIANTS
    case InstructionSet::avx2:
      return __builtin_cpu_supports("avx2") ? &avx2::table : nullptr;
    case InstructionSet::avx512:
      return __builtin_cpu_supports("avx512f") ? &avx512::table : nullptr;
#endif
    default:
      return nullptr;
  }
}

InstructionSet best_supported() {
  for (InstructionSet set : {InstructionSet::avx512, InstructionSet::avx2})
    if (table_of(set)) return set;
  return InstructionSet::baseline;
}

// Set once before any kernel runs (static initialisation) and by use_instruction_set between runs.
InstructionSet current_set = best_supported();
const Table* current_table = table_of(current_set);

const Table& chosen() { return *current_table; }

}  // namespace

void lanes_sum(const float* x, int64_t n, double* lanes, int64_t ahead) { chosen().lanes_sum(x, n, lanes, ahead); }
void lanes_squared_deviation(const float* x, int64_t n, double center, double* lanes) {
  chosen().lanes_squared_deviation(x, n, center, lanes);
}
void lanes_gradient_sums(const float* x, const float* g, int64_t n, float center, double* lanes_g, double* lanes_gx,
                         int64_t ahead) {
  chosen().lanes_gradient_sums(x, g, n, center, lanes_g, lanes_gx, ahead);
}
void scale_shift_scalar(const float* x, float* y, int64_t n, float c, float a, float b) {
  chosen().scale_shift_scalar(x, y, n, c, a, b);
}
void scale_shift_rows(const float* x, float* y, int64_t rows, int64_t stride, int64_t width, const float* c,
                      const float* a, const float* b) {
  chosen().scale_shift_rows(x, y, rows, stride, width, c, a, b);
}
void input_gradient_scalar(const float* x, const float* g, float* dx, int64_t n, float c, float mg, float k, float s,
                           bool accumulate) {
  chosen().input_gradient_scalar(x, g, dx, n, c, mg, k, s, accumulate);
}
void input_gradient_rows(const float* x, const float* g, float* dx, int64_t rows, int64_t stride, int64_t width,
                         const float* c, const float* mg, const float* k, const float* s, bool accumulate) {
  chosen().input_gradient_rows(x, g, dx, rows, stride, width, c, mg, k, s, accumulate);
}
void rows_sum(const float* x, int64_t rows, int64_t stride, int64_t width, double* acc) {
  chosen().rows_sum(x, rows, stride, width, acc);
}
void rows_squared_deviation(const float* x, int64_t rows, int64_t stride, int64_t width, const double* center,
                            double* acc) {
  chosen().rows_squared_deviation(x, rows, stride, width, center, acc);
}
void rows_gradient_sums(const float* x, const float* g, int64_t rows, int64_t stride, int64_t width,
                        const float* center, double* acc_g, double* acc_gx) {
  chosen().rows_gradient_sums(x, g, rows, stride, width, center, acc_g, acc_gx);
}
void rows_moments(const float* x, int64_t rows, int64_t stride, int64_t width, double* mean, double* m2) {
  chosen().rows_moments(x, rows, stride, width, mean, m2);
}
void add_into(double* total, const double* part, int64_t n) { chosen().add_into(total, part, n); }

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

InstructionSet instruction_set() { return current_set; }

bool use_instruction_set(InstructionSet set) {
  const Table* t = table_of(set);
  if (!t) return false;
  current_set = set;
  current_table = t;
  return true;
}

double lanes_total(const double* lanes) {
  double s = 0;
  for (int k = 0; k < kLanes; ++k) s += lanes[k];
  return s;
}

}  // namespace netkit::kernels::batch_norm_loops
