// The optim family on the GPU (optim.cu), with the update rules of csrc/cpu/optim_impl.h.
// Multi-tensor: one launch updates up to kMaxTensors tensors; more are done in groups.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "imgclf/types.h"

namespace imgclf {
namespace cuda {

constexpr int kMaxTensors = 48;
template <class T> struct TensorRef {
  T* w;
  const T* g;
  T* s1;
  T* s2;
  int64_t n;
};
cudaError_t optim_step_f32(const OptimHyper& h, const TensorRef<float>* ts, int count,
                           cudaStream_t stream);
cudaError_t optim_step_f64(const OptimHyper& h, const TensorRef<double>* ts, int count,
                           cudaStream_t stream);

}  // namespace cuda
}  // namespace imgclf
