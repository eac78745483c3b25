// Softmax / SVM loss and gradient over class scores: one warp per row, a fixed-order mean.
// Same contract as csrc/cpu/loss_impl.h (class_loss); the NumPy reference is the spec.
#include <cuda_runtime.h>

#include <cstdint>

#include "loss.h"

namespace imgclf {
namespace cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 8;

__device__ inline double warp_sum(double v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ inline double warp_max(double v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

template <class T> __global__ void class_loss_kernel(const T* S, int64_t n, int64_t C,
                                                     const int64_t* y, LossKind kind, double margin,
                                                     T* dS, double* row_loss) {
  const int lane = threadIdx.x % kWarp;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (row >= n) return;  // whole warps leave together
  const T* s = S + row * C;
  T* d = dS + row * C;
  const int64_t yi = y[row];
  const double inv_n = 1.0 / double(n);
  if (kind == LossKind::Softmax) {  // softmax: max, sum of exp, then the gradient
    double mx = -INFINITY;
    for (int64_t c = lane; c < C; c += kWarp) mx = fmax(mx, double(s[c]));
    mx = warp_max(mx);
    double z = 0;
    for (int64_t c = lane; c < C; c += kWarp) z += exp(double(s[c]) - mx);
    z = warp_sum(z);
    for (int64_t c = lane; c < C; c += kWarp) {
      const double p = exp(double(s[c]) - mx) / z;
      d[c] = T((p - (c == yi ? 1.0 : 0.0)) * inv_n);
    }
    if (lane == 0) row_loss[row] = mx + log(z) - double(s[yi]);
  } else {  // multiclass hinge (squared for LossKind::SquaredSvm)
    const double sy = double(s[yi]);
    double loss = 0, gy = 0;
    for (int64_t c = lane; c < C; c += kWarp) {
      const double m = double(s[c]) - sy + margin;
      double g = 0;
      if (c != yi && m > 0) {
        loss += kind == LossKind::SquaredSvm ? m * m : m;
        g = (kind == LossKind::SquaredSvm ? 2 * m : 1.0) * inv_n;
      }
      if (c != yi) d[c] = T(g);
      gy += g;
    }
    loss = warp_sum(loss);
    gy = warp_sum(gy);
    if (lane == 0) {
      d[yi] = T(-gy);
      row_loss[row] = loss;
    }
  }
}

// one block sums the row losses in a fixed order (deterministic), then divides by n
__global__ void mean_kernel(const double* v, int64_t n, double* out) {
  __shared__ double part[256];
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += v[i];
  part[threadIdx.x] = acc;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (int(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = part[0] / double(n);
}

template <class T> cudaError_t class_loss(const T* S, int64_t n, int64_t C, const int64_t* y,
                                          LossKind kind, double margin, T* dS, double* row_loss,
                                          double* out_loss, cudaStream_t stream) {
  if (n <= 0 || C <= 0) return cudaErrorInvalidValue;
  const int64_t blocks = (n + kRowsPerBlock - 1) / kRowsPerBlock;
  class_loss_kernel<T><<<unsigned(blocks), kRowsPerBlock * kWarp, 0, stream>>>(
      S, n, C, y, kind, margin, dS, row_loss);
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return e;
  mean_kernel<<<1, 256, 0, stream>>>(row_loss, n, out_loss);
  return cudaGetLastError();
}

}  // namespace

cudaError_t class_loss_f32(const float* S, int64_t n, int64_t C, const int64_t* y, LossKind kind,
                           double margin, float* dS, double* row_loss, double* out_loss,
                           cudaStream_t stream) {
  return class_loss(S, n, C, y, kind, margin, dS, row_loss, out_loss, stream);
}
cudaError_t class_loss_f64(const double* S, int64_t n, int64_t C, const int64_t* y, LossKind kind,
                           double margin, double* dS, double* row_loss, double* out_loss,
                           cudaStream_t stream) {
  return class_loss(S, n, C, y, kind, margin, dS, row_loss, out_loss, stream);
}

}  // namespace cuda
}  // namespace imgclf
