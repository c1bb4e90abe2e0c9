// The batch-norm loops (batch_norm_loops_body.inc) compiled for every instruction set, called
// through the variant of kernels::instruction_set(). All give the same bits (see the .inc); only
// their speed differs.
#include <netkit/layers/kernels/batch_norm_loops.h>

#include <algorithm>
#include <cstring>

#include <netkit/layers/kernels/instruction_set.h>
#ifdef NETKIT_INSTRUCTION_SET_VARIANTS
#include <immintrin.h>
#endif

namespace netkit::kernels::batch_norm_loops {

namespace {

struct Loops {
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

#define NETKIT_VARIANT_BODY <netkit/layers/kernels/batch_norm_loops_body.inc>
#include <netkit/layers/kernels/instruction_set_variants.inc>

const Loops& loops() { return variant(baseline::table, avx2::table, avx512::table); }

}  // namespace

void lanes_sum(const float* x, int64_t n, double* lanes, int64_t ahead) { loops().lanes_sum(x, n, lanes, ahead); }
void lanes_squared_deviation(const float* x, int64_t n, double center, double* lanes) {
  loops().lanes_squared_deviation(x, n, center, lanes);
}
void lanes_gradient_sums(const float* x, const float* g, int64_t n, float center, double* lanes_g, double* lanes_gx,
                         int64_t ahead) {
  loops().lanes_gradient_sums(x, g, n, center, lanes_g, lanes_gx, ahead);
}
void scale_shift_scalar(const float* x, float* y, int64_t n, float c, float a, float b) {
  loops().scale_shift_scalar(x, y, n, c, a, b);
}
void scale_shift_rows(const float* x, float* y, int64_t rows, int64_t stride, int64_t width, const float* c,
                      const float* a, const float* b) {
  loops().scale_shift_rows(x, y, rows, stride, width, c, a, b);
}
void input_gradient_scalar(const float* x, const float* g, float* dx, int64_t n, float c, float mg, float k, float s,
                           bool accumulate) {
  loops().input_gradient_scalar(x, g, dx, n, c, mg, k, s, accumulate);
}
void input_gradient_rows(const float* x, const float* g, float* dx, int64_t rows, int64_t stride, int64_t width,
                         const float* c, const float* mg, const float* k, const float* s, bool accumulate) {
  loops().input_gradient_rows(x, g, dx, rows, stride, width, c, mg, k, s, accumulate);
}
void rows_sum(const float* x, int64_t rows, int64_t stride, int64_t width, double* acc) {
  loops().rows_sum(x, rows, stride, width, acc);
}
void rows_squared_deviation(const float* x, int64_t rows, int64_t stride, int64_t width, const double* center,
                            double* acc) {
  loops().rows_squared_deviation(x, rows, stride, width, center, acc);
}
void rows_gradient_sums(const float* x, const float* g, int64_t rows, int64_t stride, int64_t width,
                        const float* center, double* acc_g, double* acc_gx) {
  loops().rows_gradient_sums(x, g, rows, stride, width, center, acc_g, acc_gx);
}
void rows_moments(const float* x, int64_t rows, int64_t stride, int64_t width, double* mean, double* m2) {
  loops().rows_moments(x, rows, stride, width, mean, m2);
}
void add_into(double* total, const double* part, int64_t n) { loops().add_into(total, part, n); }

double lanes_total(const double* lanes) {
  double s = 0;
  for (int k = 0; k < kLanes; ++k) s += lanes[k];
  return s;
}

}  // namespace netkit::kernels::batch_norm_loops
