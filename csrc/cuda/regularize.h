// The regularize family on the GPU (regularize.cu), as csrc/cpu/regularize.h.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace imgclf {
namespace cuda {

// Columns of W (d, H) with L2 norm above c are scaled to norm c, in place; norms is
// scratch for H doubles.
cudaError_t max_norm_f32(float* W, int64_t d, int64_t H, double c, double* norms,
                         cudaStream_t stream);
cudaError_t max_norm_f64(double* W, int64_t d, int64_t H, double c, double* norms,
                         cudaStream_t stream);
// Inverted dropout with the mask of imgclf/dropout.h (the CPU's and the reference's).
cudaError_t dropout_f32(float* h, int64_t n, double p, uint64_t seed, cudaStream_t stream);
cudaError_t dropout_f64(double* h, int64_t n, double p, uint64_t seed, cudaStream_t stream);

}  // namespace cuda
}  // namespace imgclf
