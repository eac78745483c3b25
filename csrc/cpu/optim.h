// The optim family's kernels (optim_impl.h): optimizer steps, in place, multi-tensor.
#pragma once
#include <cstdint>

#include "imgclf/common.h"

namespace imgclf {
namespace cpu {

template <class T> struct OptimTensor {
  T* w;
  const T* g;
  T* s1;  // velocity / cache / first moment (null for sgd)
  T* s2;  // second moment (adam only)
  int64_t n;
};
// One update of every tensor (the hyperparameters of imgclf/types.h).
using OptimStepF32 = void (*)(const OptimHyper& h, const OptimTensor<float>* ts, int64_t count,
                              int threads);
using OptimStepF64 = void (*)(const OptimHyper& h, const OptimTensor<double>* ts, int64_t count,
                              int threads);

struct OptimOps {
  OptimStepF32 optim_step_f32;
  OptimStepF64 optim_step_f64;
};

}  // namespace cpu
}  // namespace imgclf
