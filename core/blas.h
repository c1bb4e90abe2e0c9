// The one BLAS wrapper (the only file that includes cblas.h). All matrices are row-major:
// element (i, j) of an m x n matrix with leading dimension ld is at p[i * ld + j].
#pragma once

#include <cstdint>
#include <string>

namespace netkit::blas {

// C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, op = transpose when the flag is set.
void sgemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The kernel family OpenBLAS runs (e.g. "Haswell", "SkylakeX"); depends on OPENBLAS_CORETYPE.
std::string core_name();
void set_num_threads(int n);

}  // namespace netkit::blas
