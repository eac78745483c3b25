// The dense family on the GPU (dense.cu), as csrc/cpu/dense.h: bias + activation and its
// backward pass.  (The matrix products run in cuBLAS through CuPy.)
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "imgclf/types.h"

namespace imgclf {
namespace cuda {

// h = act(h + b), in place, h (n, H); slope: leaky_relu's negative slope.
cudaError_t bias_act_f32(float* h, const float* b, int64_t n, int64_t H, Activation act,
                         double slope, cudaStream_t stream);
cudaError_t bias_act_f64(double* h, const double* b, int64_t n, int64_t H, Activation act,
                         double slope, cudaStream_t stream);
// dh *= act'(h) in place (h: the layer's output); db (H) = column sums of the result,
// summed in a fixed order (the same bits on every run).
cudaError_t act_backward_f32(float* dh, const float* h, int64_t n, int64_t H, Activation act,
                             double slope, float* db, cudaStream_t stream);
cudaError_t act_backward_f64(double* dh, const double* h, int64_t n, int64_t H, Activation act,
                             double slope, double* db, cudaStream_t stream);

}  // namespace cuda
}  // namespace imgclf
