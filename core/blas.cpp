#include <netkit/core/blas.h>

#include <cblas.h>

#include <limits>
#include <string>

#include <netkit/core/error.h>

namespace netkit::blas {

namespace {

// OpenBLAS takes 32-bit sizes: refuse larger ones instead of letting them wrap.
blasint checked(int64_t n, const char* name) {
  if (n < 0 || n > std::numeric_limits<blasint>::max())
    throw EvaluationError(std::string("sgemm argument ") + name, "size out of range for BLAS",
                          "0 to " + std::to_string(std::numeric_limits<blasint>::max()), std::to_string(n));
  return static_cast<blasint>(n);
}

}  // namespace

void sgemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans,
              checked(m, "m"), checked(n, "n"), checked(k, "k"), alpha, a, checked(lda, "lda"), b, checked(ldb, "ldb"),
              beta, c, checked(ldc, "ldc"));
}

std::string core_name() { return openblas_get_corename(); }

void set_num_threads(int n) { openblas_set_num_threads(n); }

}  // namespace netkit::blas
