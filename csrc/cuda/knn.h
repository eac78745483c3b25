// The knn family on the GPU (knn.cu), with the names and contracts of csrc/cpu/knn.h.
// Every function takes device pointers and the cudaStream_t to run on (CuPy's current
// stream), returns the launch's cudaError_t, and never synchronizes.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "imgclf/types.h"

namespace imgclf {
namespace cuda {

// metric: Metric::L1 or Metric::SqL2 (Metric::L2 is the caller's root of SqL2).  uint8 rows
// are zero-padded to d4 bytes (a multiple of 4).  Results are ordered by (distance, index),
// as on the CPU.
// The candidate list length kk of each query (k <= kk <= n_train) is planned by the caller
// (imgclf._gpu.knn_candidates, against the device's opt-in shared memory per block);
// knn_smem_bytes is the most dynamic shared memory any kernel of a search with (kk, k)
// asks for, which the caller checks against the device before launching.
// knn_workspace_bytes: the scratch knn_* needs for that kk.
size_t knn_smem_bytes(int kk, int k, bool is_float);
size_t knn_workspace_bytes(int64_t nq, int64_t nt, int kk, bool is_float);
cudaError_t knn_f32(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d, int k,
                    int kk, Metric metric, float* out_d, int64_t* out_i, void* workspace,
                    cudaStream_t stream);
cudaError_t knn_u8(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt, int64_t d4, int k,
                   Metric metric, int32_t* out_d, int64_t* out_i, void* workspace,
                   cudaStream_t stream);
// The full (nq, nt) matrix, each distance summed directly (no norms identity).
cudaError_t pairwise_distances_f32(const float* X, int64_t nq, const float* Y, int64_t nt,
                                   int64_t d, Metric metric, float* out, cudaStream_t stream);
cudaError_t pairwise_distances_u8(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt,
                                  int64_t d4, Metric metric, int32_t* out, cudaStream_t stream);
// labels (n, k) in [0, C); dist (n, k) float64 or null for uniform weights.  Writes
// out_labels (n) and scores (n, C), as the CPU's vote does.
cudaError_t vote(const int64_t* labels, const double* dist, int64_t n, int k, int C,
                 Weights weights, TieBreak tie, int64_t* out_labels, double* scores,
                 cudaStream_t stream);

}  // namespace cuda
}  // namespace imgclf
