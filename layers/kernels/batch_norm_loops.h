// The hot loops of the batch-norm kernels (layers/kernels/batch_norm.cpp), each compiled for
// several instruction sets (batch_norm_loops_body.inc). Reductions accumulate in double with the
// order spelled out, so every instruction set and every thread count gives the same bits.
//   lanes_*: one run of a channel, kLanes interleaved accumulators (lane k takes i % kLanes == k),
//     prefetching the run `ahead` floats away (0: none);
//   rows_*: column sums over rows of `stride` floats, each column summed row by row in order;
//   scale_shift_* / input_gradient_*: the elementwise passes.
#pragma once

#include <cstdint>

namespace netkit::kernels::batch_norm_loops {

// The instruction sets the loops are compiled for (baseline x86-64, AVX2, AVX-512; other
// compilers than GCC on x86-64: baseline only). All give the same bits; the fastest one the CPU
// supports is used unless a test or benchmark picks another.
enum class InstructionSet { baseline, avx2, avx512 };
const char* name(InstructionSet set);
InstructionSet instruction_set();
// Uses `set` from now on and returns true, or returns false (no change) when this build or CPU
// lacks it. Not to be called while kernels run.
bool use_instruction_set(InstructionSet set);

constexpr int kLanes = 16;  // independent double accumulators a run: enough to hide the adds' latency

void lanes_sum(const float* x, int64_t n, double* lanes, int64_t ahead);
void lanes_squared_deviation(const float* x, int64_t n, double center, double* lanes);
void lanes_gradient_sums(const float* x, const float* g, int64_t n, float center, double* lanes_g, double* lanes_gx,
                         int64_t ahead);
void scale_shift_scalar(const float* __restrict x, float* __restrict y, int64_t n, float c, float a, float b);
void scale_shift_rows(const float* __restrict x, float* __restrict y, int64_t rows, int64_t stride, int64_t width,
                      const float* __restrict c, const float* __restrict a, const float* __restrict b);
void input_gradient_scalar(const float* __restrict x, const float* __restrict g, float* __restrict dx, int64_t n,
                           float c, float mg, float k, float s, bool accumulate);
void input_gradient_rows(const float* __restrict x, const float* __restrict g, float* __restrict dx, int64_t rows,
                         int64_t stride, int64_t width, const float* __restrict c, const float* __restrict mg,
                         const float* __restrict k, const float* __restrict s, bool accumulate);
void rows_sum(const float* x, int64_t rows, int64_t stride, int64_t width, double* acc);
void rows_squared_deviation(const float* x, int64_t rows, int64_t stride, int64_t width, const double* center,
                            double* acc);
void rows_gradient_sums(const float* x, const float* g, int64_t rows, int64_t stride, int64_t width,
                        const float* center, double* acc_g, double* acc_gx);
// mean[j] and m2[j] (sum of squared deviations) of each column, reading x once: chunks of 8
// rows, each in two passes over registers, merged by Chan's formula.
void rows_moments(const float* x, int64_t rows, int64_t stride, int64_t width, double* mean, double* m2);
void add_into(double* __restrict total, const double* __restrict part, int64_t n);
// The lanes added in order.
double lanes_total(const double* lanes);

}  // namespace netkit::kernels::batch_norm_loops
