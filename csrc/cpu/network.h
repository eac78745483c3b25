// The network family's kernel (network_impl.h): the loss and gradients of a fully connected
// network on one minibatch, every layer in one call -- the gather of the input rows, the
// products, bias + activation, dropout, the class loss, the backward pass and the penalty,
// composed from the dense, loss and regularize kernels of the same SIMD level.  One call
// per batch instead of ~20 op calls keeps the per-batch Python work out of the loop.
#pragma once
#include <cstdint>

#include "imgclf/common.h"
#include "optim.h"

namespace imgclf {
namespace cpu {

// One minibatch of an L-layer network (L >= 1 weight layers; L - 1 hidden layers).
// widths[0..L]: d, H_1, ..., H_{L-1}, C.  Layer l (0-based) maps widths[l] -> widths[l+1]
// with W[l] (widths[l], widths[l+1]) and b[l] (widths[l+1]), row-major.
// Input: x = scale * X[rows] - shift (X (?, d) of dtype xt; rows may be null: the first n
// rows; shift may be null).  Hidden layer l: act[l] = act(in_l W[l] + b[l]) (n, widths[l+1]);
// with dropout (seeds non-null) drop[l] is act[l] with inverted dropout of probability p
// and seed seeds[l], and the next layer reads drop[l].  Scores s (n, C), the loss's
// gradient ds (n, C).  Backward: dh[l] (n, widths[l+1]) for each hidden layer.
// Outputs dW[l], db[l] with W[l]'s and b[l]'s shapes; the penalty reg * R(W[l]) is added
// to the loss and its gradient to dW[l] for every layer (reg = 0: none).
template <class T> struct NetBatch {
  const void* X;
  DType xt;
  const int64_t* rows;
  int64_t n;
  double scale;
  const T* shift;
  const int64_t* y;
  int64_t L;
  const int64_t* widths;
  const T* const* W;
  const T* const* b;
  T* const* dW;
  T* const* db;
  T* x;
  T* const* act;
  T* const* drop;  // null (no dropout) or L - 1 buffers
  T* s;
  T* ds;
  T* const* dh;
  Activation activation;
  double slope;
  LossKind loss;
  double margin;
  PenaltyKind penalty;
  double reg;
  double beta;
  double p;
  const uint64_t* seeds;  // null: no dropout
};

// Returns the mean data loss plus the penalty.
using NetworkLossF32 = double (*)(const NetBatch<float>& nb, Cancel& cancel, int threads);
using NetworkLossF64 = double (*)(const NetBatch<double>& nb, Cancel& cancel, int threads);

// Training steps on consecutive minibatches, each one network_loss and one optimizer step:
// batch k is rows[k * batch, min((k + 1) * batch, n_rows)) of nb (nb.rows and nb.y point at
// the first batch's rows and labels; nb.n, nb.rows, nb.y and nb.seeds move batch by batch),
// with the dropout seeds seeds[k * (L - 1) ...] (null: no dropout).  After its loss, the
// step hyper[k] updates every tensors[t] (weights and biases, their gradients in nb.dW /
// nb.db), then max_norm > 0 scales down every weight matrix's too-long columns.  losses[k]
// is batch k's loss.  Stops before the step of a batch whose loss is not finite (its loss
// written) or when cancel stops; returns the batches stepped.
template <class T> struct NetTrain {
  int64_t count;
  int64_t batch;
  int64_t n_rows;
  const OptimHyper* hyper;
  const OptimTensor<T>* tensors;
  int64_t n_tensors;
  double max_norm;
  const uint64_t* seeds;
  double* losses;
};
using NetworkTrainF32 = int64_t (*)(const NetBatch<float>& nb, const NetTrain<float>& tr,
                                    Cancel& cancel, int threads);
using NetworkTrainF64 = int64_t (*)(const NetBatch<double>& nb, const NetTrain<double>& tr,
                                    Cancel& cancel, int threads);

struct NetworkOps {
  NetworkLossF32 network_loss_f32;
  NetworkLossF64 network_loss_f64;
  NetworkTrainF32 network_train_f32;
  NetworkTrainF64 network_train_f64;
};

}  // namespace cpu
}  // namespace imgclf
