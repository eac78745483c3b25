// The loss family's kernels (loss_impl.h): softmax/SVM losses over class scores, weight
// penalties, and the fused minibatch of a linear classifier.
#pragma once
#include <cstdint>

#include "imgclf/common.h"

namespace imgclf {
namespace cpu {

// Mean loss over the rows of scores S (n, C); writes dL/dS (may alias S).
using ClassLossF32 = double (*)(const float* S, int64_t n, int64_t C, const int64_t* y,
                                LossKind kind, double margin, float* dS, int threads);
using ClassLossF64 = double (*)(const double* S, int64_t n, int64_t C, const int64_t* y,
                                LossKind kind, double margin, double* dS, int threads);
// reg * R(W); adds reg * R'(W) to grad when grad is not null.
using PenaltyF32 = double (*)(const float* W, int64_t n, PenaltyKind kind, double beta, double reg,
                              float* grad, int threads);
using PenaltyF64 = double (*)(const double* W, int64_t n, PenaltyKind kind, double beta, double reg,
                              double* grad, int threads);

// One minibatch of a linear classifier: rows of X (uint8/float32/float64, (n, d)),
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
// Returns the mean loss (data + penalty); writes dW (d, C) and db (C).
using LinearLossF32 = double (*)(const LinearBatch& lb, const float* shift, const float* W,
                                 const float* b, float* dW, float* db, Cancel& cancel, int threads);
using LinearLossF64 = double (*)(const LinearBatch& lb, const double* shift, const double* W,
                                 const double* b, double* dW, double* db, Cancel& cancel,
                                 int threads);

struct LossOps {
  ClassLossF32 class_loss_f32;
  ClassLossF64 class_loss_f64;
  PenaltyF32 penalty_f32;
  PenaltyF64 penalty_f64;
  LinearLossF32 linear_loss_f32;
  LinearLossF64 linear_loss_f64;
};

}  // namespace cpu
}  // namespace imgclf
