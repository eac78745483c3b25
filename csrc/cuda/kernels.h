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

// ---- distances and k-nearest neighbours (knn.cu) -----------------------------------------------
// metric: l1 true for L1, false for squared L2.  uint8 rows are zero-padded to d4 bytes (a
// multiple of 4).  Results are ordered by (distance, index), as on the CPU.
// knn_candidates: the length kk of each query's candidate list (2k + 8 for float32, k for
// uint8, capped by nt and by max_smem, the device's opt-in shared memory per block), or -1
// when k entries do not fit.  knn_workspace_bytes: the scratch knn_* needs for that kk.
int knn_candidates(int64_t nt, int k, bool is_float, int max_smem);
size_t knn_workspace_bytes(int64_t nq, int64_t nt, int kk, bool is_float);
cudaError_t knn_f32(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d, int k, int kk,
                    bool l1, float* out_d, int64_t* out_i, void* workspace, cudaStream_t stream);
cudaError_t knn_u8(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt, int64_t d4, int k,
                   bool l1, int32_t* out_d, int64_t* out_i, void* workspace, cudaStream_t stream);
// The full (nq, nt) matrix, each distance summed directly (no norms identity).
cudaError_t pairwise_f32(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d, bool l1,
                         float* out, cudaStream_t stream);
cudaError_t pairwise_u8(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt, int64_t d4, bool l1,
                        int32_t* out, cudaStream_t stream);

// ---- vote (vote.cu) -------------------------------------------------------------------------------
// labels (n, k) in [0, C); dist (n, k) float64 or null; weights 0 uniform, 1 distance;
// tie 0 nearest, 1 smallest.  Writes out_labels (n) and scores (n, C), as vote.cpp does.
cudaError_t vote(const int64_t* labels, const double* dist, int64_t n, int k, int C, int weights,
                 int tie, int64_t* out_labels, double* scores, cudaStream_t stream);

}  // namespace cuda
}  // namespace imgclf
