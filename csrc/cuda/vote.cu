// Majority / distance-weighted vote over each query's neighbour labels: one thread per
// query.  Same contract and summation order (neighbour by neighbour) as csrc/cpu/vote.cpp.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels.h"

namespace imgclf {
namespace cuda {
namespace {

__global__ void vote_kernel(const int64_t* __restrict__ L, const double* __restrict__ D, int64_t n,
                            int k, int C, int weights, int tie, int64_t* __restrict__ out,
                            double* __restrict__ scores) {
  const int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (q >= n) return;
  const int64_t* l = L + q * k;
  const double* d = D ? D + q * k : nullptr;
  double* s = scores + q * C;
  for (int c = 0; c < C; ++c) s[c] = 0.0;
  bool exact = false;  // with distance weights, exact matches (d == 0) alone vote
  if (weights == 1)
    for (int t = 0; t < k; ++t) exact |= d[t] == 0.0;
  for (int t = 0; t < k; ++t) {
    double w = 1.0;
    if (weights == 1) w = exact ? (d[t] == 0.0 ? 1.0 : 0.0) : 1.0 / d[t];
    s[l[t]] += w;
  }
  double best = s[0];
  for (int c = 1; c < C; ++c) best = fmax(best, s[c]);
  int64_t label = -1;
  if (tie == 0)  // nearest: the tied class met first in distance order
    for (int t = 0; t < k && label < 0; ++t)
      if (s[l[t]] == best) label = l[t];
  for (int c = 0; c < C && label < 0; ++c)
    if (s[c] == best) label = c;
  out[q] = label;
}

}  // namespace

cudaError_t vote(const int64_t* labels, const double* dist, int64_t n, int k, int C, int weights,
                 int tie, int64_t* out_labels, double* scores, cudaStream_t stream) {
  if (n <= 0 || k <= 0 || C <= 0 || (weights == 1 && !dist)) return cudaErrorInvalidValue;
  vote_kernel<<<unsigned((n + 255) / 256), 256, 0, stream>>>(labels, dist, n, k, C, weights, tie,
                                                              out_labels, scores);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace imgclf
