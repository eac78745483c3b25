// The dense family's kernels (dense_impl.h): matrix products, bias + activation and its
// backward pass, and the gather of scaled input rows: what a network layer runs.
#pragma once
#include <cstdint>

#include "imgclf/common.h"

namespace imgclf {
namespace cpu {

// C (M x N) = alpha * op(A) op(B) + beta * C, row-major, op = transpose when ta / tb.
using GemmF32 = void (*)(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                         const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                         float* C, int64_t ldc, Cancel& cancel, int threads);
using GemmF64 = void (*)(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha,
                         const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
                         double* C, int64_t ldc, Cancel& cancel, int threads);
// h = act(h + b), in place, h (n, H); slope: leaky_relu's negative slope.
using BiasActF32 = void (*)(float* h, const float* b, int64_t n, int64_t H, Activation act,
                            double slope, int threads);
using BiasActF64 = void (*)(double* h, const double* b, int64_t n, int64_t H, Activation act,
                            double slope, int threads);
// dh *= act'(h) in place (h: the layer's output); db = column sums of the result.
using ActBackwardF32 = void (*)(float* dh, const float* h, int64_t n, int64_t H, Activation act,
                                double slope, float* db, int threads);
using ActBackwardF64 = void (*)(double* dh, const double* h, int64_t n, int64_t H, Activation act,
                                double slope, double* db, int threads);
// out (n, d) = scale * X[rows] - shift, X uint8/float32/float64 (rows, shift may be null)
using AffineRowsF32 = void (*)(const void* X, DType xt, int64_t d, const int64_t* rows, int64_t n,
                               double scale, const float* shift, float* out, int threads);
using AffineRowsF64 = void (*)(const void* X, DType xt, int64_t d, const int64_t* rows, int64_t n,
                               double scale, const double* shift, double* out, int threads);

struct DenseOps {
  GemmF32 gemm_f32;
  GemmF64 gemm_f64;
  BiasActF32 bias_act_f32;
  BiasActF64 bias_act_f64;
  ActBackwardF32 act_backward_f32;
  ActBackwardF64 act_backward_f64;
  AffineRowsF32 affine_rows_f32;
  AffineRowsF64 affine_rows_f64;
};

}  // namespace cpu
}  // namespace imgclf
