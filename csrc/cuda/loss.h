// The loss family on the GPU (loss.cu), with the names and contracts of csrc/cpu/loss.h.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "imgclf/types.h"

namespace imgclf {
namespace cuda {

// Writes dL/dS (n, C) and the mean loss into *out_loss (one double on the device).
// row_loss is scratch for n doubles.  The mean is a fixed-order reduction: the same
// inputs give the same bits on every run.
cudaError_t class_loss_f32(const float* S, int64_t n, int64_t C, const int64_t* y, LossKind kind,
                           double margin, float* dS, double* row_loss, double* out_loss,
                           cudaStream_t stream);
cudaError_t class_loss_f64(const double* S, int64_t n, int64_t C, const int64_t* y, LossKind kind,
                           double margin, double* dS, double* row_loss, double* out_loss,
                           cudaStream_t stream);

}  // namespace cuda
}  // namespace imgclf
