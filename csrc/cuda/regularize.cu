// Max-norm on the GPU: one thread per column sums its squares in double (in row order, as
// the CPU does), then every element is scaled by its column's factor.  Dropout: one thread
// per element, the mask of imgclf/dropout.h.
#include <cuda_runtime.h>

#include <cstdint>

#include "imgclf/dropout.h"
#include "regularize.h"

namespace imgclf {
namespace cuda {
namespace {

template <class T> __global__ void column_norms_kernel(const T* __restrict__ W, int64_t d,
                                                       int64_t H, double* __restrict__ norms) {
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= H) return;
  double s = 0;
  for (int64_t i = 0; i < d; ++i) {
    const double w = double(W[i * H + j]);
    s += w * w;
  }
  norms[j] = sqrt(s);
}

template <class T> __global__ void scale_kernel(T* __restrict__ W, int64_t d, int64_t H, double c,
                                                const double* __restrict__ norms) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= d * H) return;
  const double n = norms[e % H];
  if (n > c) W[e] *= T(c / n);
}

template <class T>
cudaError_t max_norm(T* W, int64_t d, int64_t H, double c, double* norms, cudaStream_t st) {
  if (d <= 0 || H <= 0) return cudaSuccess;
  column_norms_kernel<T><<<unsigned((H + 255) / 256), 256, 0, st>>>(W, d, H, norms);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  scale_kernel<T><<<unsigned((d * H + 255) / 256), 256, 0, st>>>(W, d, H, c, norms);
  return cudaGetLastError();
}

template <class T>
__global__ void dropout_kernel(T* __restrict__ h, int64_t n, uint32_t thr, T scale, uint64_t seed) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  h[i] = dropout_keep(seed, uint64_t(i), thr) ? h[i] * scale : T(0);
}

template <class T> cudaError_t dropout(T* h, int64_t n, double p, uint64_t seed, cudaStream_t st) {
  if (n <= 0) return cudaSuccess;
  dropout_kernel<T><<<unsigned((n + 255) / 256), 256, 0, st>>>(h, n, dropout_threshold(p),
                                                               T(1.0 / (1.0 - p)), seed);
  return cudaGetLastError();
}

}  // namespace

cudaError_t dropout_f32(float* h, int64_t n, double p, uint64_t seed, cudaStream_t st) {
  return dropout(h, n, p, seed, st);
}
cudaError_t dropout_f64(double* h, int64_t n, double p, uint64_t seed, cudaStream_t st) {
  return dropout(h, n, p, seed, st);
}

cudaError_t max_norm_f32(float* W, int64_t d, int64_t H, double c, double* norms, cudaStream_t st) {
  return max_norm(W, d, H, c, norms, st);
}
cudaError_t max_norm_f64(double* W, int64_t d, int64_t H, double c, double* norms,
                         cudaStream_t st) {
  return max_norm(W, d, H, c, norms, st);
}

}  // namespace cuda
}  // namespace imgclf
