// The CUDA kernel families, with the same names and contracts as csrc/cpu/kernels.h.
// Every function takes device pointers and the cudaStream_t to run on (CuPy's current
// stream), returns the launch's cudaError_t, and never synchronizes.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace imgclf {
namespace cuda {

// ---- losses (loss.cu) ----------------------------------------------------------------------
// kind: 0 softmax, 1 svm, 2 squared svm.  Writes dL/dS (n, C) and the mean loss into
// *out_loss (one double on the device).  row_loss is scratch for n doubles.  The mean is a
// fixed-order reduction: the same inputs give the same bits on every run.
cudaError_t class_loss_f32(const float* S, int64_t n, int64_t C, const int64_t* y, int kind,
                           double margin, float* dS, double* row_loss, double* out_loss,
                           cudaStream_t stream);
cudaError_t class_loss_f64(const double* S, int64_t n, int64_t C, const int64_t* y, int kind,
                           double margin, double* dS, double* row_loss, double* out_loss,
                           cudaStream_t stream);

// ---- optimizer steps (optim.cu) -----------------------------------------------------------------
// kind: 0 sgd, 1 momentum, 2 nesterov, 3 adagrad, 4 rmsprop, 5 adam (as on the CPU).
// Multi-tensor: one launch updates up to kMaxTensors tensors; more are done in groups.
constexpr int kMaxTensors = 48;
struct OptimHyper {
  int kind;
  double lr, a, b, eps, wd, bc1, bc2;
};
template <class T>
struct TensorRef {
  T* w;
  const T* g;
  T* s1;
  T* s2;
  int64_t n;
};
cudaError_t optim_f32(const OptimHyper& h, const TensorRef<float>* ts, int count, cudaStream_t stream);
cudaError_t optim_f64(const OptimHyper& h, const TensorRef<double>* ts, int count, cudaStream_t stream);

}  // namespace cuda
}  // namespace imgclf
