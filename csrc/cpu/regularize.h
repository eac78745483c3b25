// The regularize family's kernels (regularize_impl.h): constraints and noise applied to a
// network's weights or activations during training.
#pragma once
#include <cstdint>

#include "imgclf/common.h"

namespace imgclf {
namespace cpu {

// Max-norm: every column j of W (d, H), the incoming weights of unit j, whose L2 norm
// exceeds c is scaled down to norm c, in place.  Returns how many columns were scaled.
using MaxNormF32 = int64_t (*)(float* W, int64_t d, int64_t H, double c, int threads);
using MaxNormF64 = int64_t (*)(double* W, int64_t d, int64_t H, double c, int threads);

// Inverted dropout, in place: element i of h (n elements) is kept when the counter-based
// hash of (seed, i) clears the drop probability p (exactly as imgclf/dropout.h computes it,
// on every backend) and scaled by 1 / (1 - p); otherwise zeroed.  Applying it with the same
// seed to the gradient is the backward pass.  Returns how many elements were kept.
using DropoutF32 = int64_t (*)(float* h, int64_t n, double p, uint64_t seed, int threads);
using DropoutF64 = int64_t (*)(double* h, int64_t n, double p, uint64_t seed, int threads);

struct RegularizeOps {
  MaxNormF32 max_norm_f32;
  MaxNormF64 max_norm_f64;
  DropoutF32 dropout_f32;
  DropoutF64 dropout_f64;
};

}  // namespace cpu
}  // namespace imgclf
