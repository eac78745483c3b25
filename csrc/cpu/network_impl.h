// A fully connected network's minibatch loss and gradients in one call (network.h): the
// dense, loss and regularize kernels of this SIMD level (called through their tables),
// composed in the order the reference (imgclf.ops.network, backend="numpy") runs them.
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including network_impl.h"
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels.h"
#include "network.h"

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {

// The other families' tables of this SIMD level (isa_family.cpp defines them): the batch
// calls the very functions the single ops run, not copies compiled in this translation
// unit, so it computes the same bits as the op-by-op path whatever the compiler's choices.
extern const DenseOps dense_table;
extern const LossOps loss_table;
extern const RegularizeOps regularize_table;
extern const OptimOps optim_table;

template <class T> static double network_loss(const NetBatch<T>& nb, Cancel& cancel, int threads) {
  const auto gemm = pick<T>(dense_table.gemm_f32, dense_table.gemm_f64);
  const auto bias_act = pick<T>(dense_table.bias_act_f32, dense_table.bias_act_f64);
  const auto act_backward = pick<T>(dense_table.act_backward_f32, dense_table.act_backward_f64);
  const auto affine_rows = pick<T>(dense_table.affine_rows_f32, dense_table.affine_rows_f64);
  const auto class_loss = pick<T>(loss_table.class_loss_f32, loss_table.class_loss_f64);
  const auto penalty = pick<T>(loss_table.penalty_f32, loss_table.penalty_f64);
  const auto dropout = pick<T>(regularize_table.dropout_f32, regularize_table.dropout_f64);
  const int64_t n = nb.n, L = nb.L, C = nb.widths[L];
  const int64_t* w = nb.widths;
  affine_rows(nb.X, nb.xt, w[0], nb.rows, n, nb.scale, nb.shift, nb.x, threads);
  // forward: in_l is the input of layer l
  const T* in = nb.x;
  for (int64_t l = 0; l + 1 < L; ++l) {
    const int64_t H = w[l + 1];
    gemm(false, false, n, H, w[l], T(1), in, w[l], nb.W[l], H, T(0), nb.act[l], H, cancel, threads);
    if (cancel.stopped()) return 0;
    bias_act(nb.act[l], nb.b[l], n, H, nb.activation, nb.slope, threads);
    in = nb.act[l];
    if (nb.seeds) {
      std::memcpy(nb.drop[l], nb.act[l], size_t(n * H) * sizeof(T));
      dropout(nb.drop[l], n * H, nb.p, nb.seeds[l], threads);
      in = nb.drop[l];
    }
  }
  gemm(false, false, n, C, w[L - 1], T(1), in, w[L - 1], nb.W[L - 1], C, T(0), nb.s, C, cancel,
       threads);
  if (cancel.stopped()) return 0;
  bias_act(nb.s, nb.b[L - 1], n, C, Activation::Identity, 0.0, threads);
  double value = class_loss(nb.s, n, C, nb.y, nb.loss, nb.margin, nb.ds, threads);
  // backward: gl is the gradient with respect to layer l's output (the scores for the
  // output layer; a hidden layer's is taken through its dropout and activation first)
  for (int64_t l = L - 1; l >= 0; --l) {
    const int64_t H = w[l + 1];
    T* gl = l == L - 1 ? nb.ds : nb.dh[l];
    if (l < L - 1) {
      if (nb.seeds) dropout(gl, n * H, nb.p, nb.seeds[l], threads);
      act_backward(gl, nb.act[l], n, H, nb.activation, nb.slope, nb.db[l], threads);
    } else {
      act_backward(gl, gl, n, H, Activation::Identity, 0.0, nb.db[l], threads);
    }
    const T* in_l = l == 0 ? nb.x : (nb.seeds ? nb.drop[l - 1] : nb.act[l - 1]);
    gemm(true, false, w[l], H, n, T(1), in_l, w[l], gl, H, T(0), nb.dW[l], H, cancel, threads);
    if (l > 0)  // the gradient of the layer's input: dh[l-1] = g W[l]^T
      gemm(false, true, n, w[l], H, T(1), gl, H, nb.W[l], H, T(0), nb.dh[l - 1], w[l], cancel,
           threads);
    if (cancel.stopped()) return 0;
  }
  if (nb.reg != 0)
    for (int64_t l = 0; l < L; ++l)
      value += penalty(nb.W[l], w[l] * w[l + 1], nb.penalty, nb.beta, nb.reg, nb.dW[l], threads);
  return value;
}

// One optimizer step per batch after its loss, all in this call (network.h, NetTrain): the
// same kernels, through the same tables, as network_loss followed by optim_step and
// max_norm from Python, without returning to Python between batches.
template <class T> static int64_t network_train(const NetBatch<T>& first, const NetTrain<T>& tr,
                                                Cancel& cancel, int threads) {
  const auto step = pick<T>(optim_table.optim_step_f32, optim_table.optim_step_f64);
  const auto max_norm = pick<T>(regularize_table.max_norm_f32, regularize_table.max_norm_f64);
  NetBatch<T> nb = first;
  const int64_t hidden = nb.L - 1;
  for (int64_t k = 0; k < tr.count; ++k) {
    const int64_t off = k * tr.batch;
    nb.n = std::min(tr.batch, tr.n_rows - off);
    nb.rows = first.rows + off;
    nb.y = first.y + off;
    nb.seeds = tr.seeds ? tr.seeds + k * hidden : nullptr;
    const double value = network_loss(nb, cancel, threads);
    if (cancel.stopped()) return k;
    tr.losses[k] = value;
    if (!std::isfinite(value)) return k;
    step(tr.hyper[k], tr.tensors, tr.n_tensors, threads);
    if (tr.max_norm > 0)
      for (int64_t l = 0; l < nb.L; ++l)
        max_norm(const_cast<T*>(nb.W[l]), nb.widths[l], nb.widths[l + 1], tr.max_norm, threads);
    cancel.poll();
    if (cancel.stopped()) return k + 1;
  }
  return tr.count;
}

static double network_loss_f32(const NetBatch<float>& nb, Cancel& cancel, int threads) {
  return network_loss(nb, cancel, threads);
}
static double network_loss_f64(const NetBatch<double>& nb, Cancel& cancel, int threads) {
  return network_loss(nb, cancel, threads);
}

static int64_t network_train_f32(const NetBatch<float>& nb, const NetTrain<float>& tr,
                                 Cancel& cancel, int threads) {
  return network_train(nb, tr, cancel, threads);
}
static int64_t network_train_f64(const NetBatch<double>& nb, const NetTrain<double>& tr,
                                 Cancel& cancel, int threads) {
  return network_train(nb, tr, cancel, threads);
}

static constexpr NetworkOps network_ops() {
  NetworkOps o{};
  o.network_loss_f32 = network_loss_f32;
  o.network_loss_f64 = network_loss_f64;
  o.network_train_f32 = network_train_f32;
  o.network_train_f64 = network_train_f64;
  return o;
}

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
