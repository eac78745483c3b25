// The CPU kernel families and the run-time SIMD dispatch table.
//
// Every SIMD level (generic, avx2, avx512) compiles the same templates (knn_impl.h,
// loss_impl.h, optim_impl.h) in its own translation unit (isa_*.cpp) with its own instruction-set flags, and exports one `Ops` table.
// dispatch.cpp picks the best table the running CPU supports.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "imgclf/common.h"

namespace imgclf {
namespace cpu {

// Fused k-nearest-neighbour search.  Writes (n_queries, k) distances and training indices,
// each row sorted by (distance, index).  Metric::SqL2 gives squared Euclidean distances.
// float32: candidates from a fast float32 pass are re-ranked with float64 distances, and a
// query whose candidate set cannot be proven complete is searched again exactly; the
// return value counts those queries.  uint8: exact int32 distances.
using KnnF32 = int64_t (*)(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d,
                           int64_t k, Metric m, float* out_d, int64_t* out_i, Cancel& cancel,
                           int threads);
using KnnF64 = int64_t (*)(const double* X, int64_t nq, const double* Y, int64_t nt,
                           int64_t d, int64_t k, Metric m, double* out_d, int64_t* out_i,
                           Cancel& cancel, int threads);
using KnnU8 = int64_t (*)(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt,
                          int64_t d, int64_t k, Metric m, int32_t* out_d, int64_t* out_i,
                          Cancel& cancel, int threads);
// The full (n_queries, n_train) distance matrix, computed directly (no GEMM identity).
using PairF32 = void (*)(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d,
                         Metric m, float* out, Cancel& cancel, int threads);
using PairF64 = void (*)(const double* X, int64_t nq, const double* Y, int64_t nt, int64_t d,
                         Metric m, double* out, Cancel& cancel, int threads);
using PairU8 = void (*)(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt, int64_t d,
                        Metric m, int32_t* out, Cancel& cancel, int threads);

// ---- losses and penalties (loss_impl.h) ------------------------------------------------
enum class LossKind : int { Softmax = 0, Svm = 1, SquaredSvm = 2 };
enum class PenaltyKind : int { L2 = 0, L1 = 1, ElasticNet = 2 };
enum class DType : int { U8 = 0, F32 = 1, F64 = 2 };

// Mean loss over the rows of scores S (n, C); writes dL/dS (may alias S).
using LossF32 = double (*)(const float* S, int64_t n, int64_t C, const int64_t* y, LossKind kind,
                           double margin, float* dS, int threads);
using LossF64 = double (*)(const double* S, int64_t n, int64_t C, const int64_t* y,
                           LossKind kind, double margin, double* dS, int threads);
// reg * R(W); adds reg * R'(W) to grad when grad is not null.
using PenaltyF32 = double (*)(const float* W, int64_t n, PenaltyKind kind, double beta,
                              double reg, float* grad, int threads);
using PenaltyF64 = double (*)(const double* W, int64_t n, PenaltyKind kind, double beta,
                              double reg, double* grad, int threads);

// One minibatch of a linear classifier: rows of X (any of uint8/float32/float64, (n, d)),
// transformed x = scale * X[row] - shift, scored by x W + b (W: (d, C)).
struct LinearBatch {
  const void* X;
  DType x_dtype;
  int64_t d;
  const int64_t* rows;  // B row indices into X, or null for rows 0..B-1
  int64_t B;
  int64_t C;
  const int64_t* y;  // B labels in [0, C)
  double scale;
  LossKind kind;
  double margin;
  double reg;  // penalty reg * R(W), fused into dW (0: none)
  PenaltyKind penalty;
  double beta;
};
using LinearF32 = double (*)(const LinearBatch& lb, const float* shift, const float* W,
                             const float* b, float* dW, float* db, Cancel& cancel, int threads);
using LinearF64 = double (*)(const LinearBatch& lb, const double* shift, const double* W,
                             const double* b, double* dW, double* db, Cancel& cancel,
                             int threads);

// ---- optimizer steps (optim_impl.h) ------------------------------------------------------
enum class OptimKind : int { SGD = 0, Momentum = 1, Nesterov = 2, AdaGrad = 3, RMSProp = 4, Adam = 5 };
struct OptimHyper {
  OptimKind kind;
  double lr;
  double a;    // momentum/nesterov rho, rmsprop decay, adam beta1
  double b;    // adam beta2
  double eps;  // adagrad, rmsprop, adam
  double wd;   // adam decoupled weight decay
  double bc1, bc2;  // adam bias corrections 1 - beta^step
};
template <class T>
struct OptimTensor {
  T* w;
  const T* g;
  T* s1;  // velocity / cache / first moment (null for sgd)
  T* s2;  // second moment (adam only)
  int64_t n;
};
using OptimF32 = void (*)(const OptimHyper& h, const OptimTensor<float>* ts, int64_t count, int threads);
using OptimF64 = void (*)(const OptimHyper& h, const OptimTensor<double>* ts, int64_t count, int threads);

// ---- dense products (gemm_impl.h) ----------------------------------------------------------
// C (M x N) = alpha * op(A) op(B) + beta * C, row-major, op = transpose when ta / tb.
using GemmF32 = void (*)(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                         const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                         float* C, int64_t ldc, Cancel& cancel, int threads);
using GemmF64 = void (*)(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha,
                         const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
                         double* C, int64_t ldc, Cancel& cancel, int threads);

// h = max(h + b, 0) (relu) or h + b, in place, h (n, H)
using BiasActF32 = void (*)(float* h, const float* b, int64_t n, int64_t H, bool relu, int threads);
using BiasActF64 = void (*)(double* h, const double* b, int64_t n, int64_t H, bool relu, int threads);
// dh = 0 where h <= 0, in place; db = column sums of dh
using ActBackF32 = void (*)(float* dh, const float* h, int64_t n, int64_t H, float* db, int threads);
using ActBackF64 = void (*)(double* dh, const double* h, int64_t n, int64_t H, double* db, int threads);
// out (n, d) = scale * X[rows] - shift, X uint8/float32/float64
using GatherF32 = void (*)(const void* X, DType xt, int64_t d, const int64_t* rows, int64_t n,
                           double scale, const float* shift, float* out, int threads);
using GatherF64 = void (*)(const void* X, DType xt, int64_t d, const int64_t* rows, int64_t n,
                           double scale, const double* shift, double* out, int threads);

// The kernels of one SIMD level.
struct Ops {
  const char* name;
  KnnF32 knn_f32;
  KnnF64 knn_f64;
  KnnU8 knn_u8;
  PairF32 pairwise_f32;
  PairF64 pairwise_f64;
  PairU8 pairwise_u8;
  LossF32 loss_f32;
  LossF64 loss_f64;
  PenaltyF32 penalty_f32;
  PenaltyF64 penalty_f64;
  LinearF32 linear_f32;
  LinearF64 linear_f64;
  OptimF32 optim_f32;
  OptimF64 optim_f64;
  GemmF32 gemm_f32;
  GemmF64 gemm_f64;
  BiasActF32 bias_act_f32;
  BiasActF64 bias_act_f64;
  ActBackF32 act_backward_f32;
  ActBackF64 act_backward_f64;
  GatherF32 gather_f32;
  GatherF64 gather_f64;
};

namespace generic { extern const Ops ops; }
#if defined(IMGCLF_X86)
namespace avx2 { extern const Ops ops; }
namespace avx512 { extern const Ops ops; }
#endif

// dispatch.cpp
std::vector<std::string> simd_levels();  // supported by this CPU, best first
const Ops& active_ops();
std::string simd_level();
void set_simd_level(const std::string& name);  // throws std::invalid_argument
int num_threads();
void set_num_threads(int n);  // n <= 0 restores the OpenMP default

// vote.cpp: majority / distance-weighted vote over sorted neighbour labels.
// weights: 0 uniform, 1 distance.  tie_break: 0 nearest, 1 smallest.
void vote(const int64_t* labels, const double* dist, int64_t nq, int64_t k, int64_t n_classes,
          int weights, int tie_break, int64_t* out_labels, double* out_scores, int threads);

}  // namespace cpu
}  // namespace imgclf
