// Bias + activation and its backward pass on the GPU.  Forward: one thread per element.
// Backward: a block per 32 columns, 8 row groups; each thread scales its elements by the
// derivative (from the layer's output, as on the CPU) and sums them, and the 8 partial sums
// of a column are added in a fixed order, so the bias gradient is deterministic.
#include <cuda_runtime.h>

#include <cstdint>

#include "dense.h"

namespace imgclf {
namespace cuda {
namespace {

template <Activation act, class T> __device__ __forceinline__ T activate(T x, T slope) {
  if constexpr (act == Activation::ReLU) return x > T(0) ? x : T(0);
  else if constexpr (act == Activation::LeakyReLU) return x > T(0) ? x : slope * x;
  else if constexpr (act == Activation::Tanh) return tanh(x);
  else if constexpr (act == Activation::Sigmoid) return T(1) / (T(1) + exp(-x));
  else return x;
}

// act'(x) from the output y = act(x)
template <Activation act, class T> __device__ __forceinline__ T derivative(T y, T slope) {
  if constexpr (act == Activation::ReLU) return y > T(0) ? T(1) : T(0);
  else if constexpr (act == Activation::LeakyReLU) return y > T(0) ? T(1) : slope;
  else if constexpr (act == Activation::Tanh) return T(1) - y * y;
  else if constexpr (act == Activation::Sigmoid) return y * (T(1) - y);
  else return T(1);
}

template <Activation act, class T> __global__ void bias_act_kernel(T* __restrict__ h,
                                                                   const T* __restrict__ b,
                                                                   int64_t n, int64_t H, T slope) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= n * H) return;
  h[e] = activate<act>(h[e] + b[e % H], slope);
}

constexpr int kCols = 32, kRowGroups = 8;

template <Activation act, class T>
__global__ void act_backward_kernel(T* __restrict__ dh, const T* __restrict__ h, int64_t n,
                                    int64_t H, T slope, T* __restrict__ db) {
  __shared__ T part[kRowGroups][kCols];
  const int64_t j = int64_t(blockIdx.x) * kCols + threadIdx.x;
  T s = 0;
  if (j < H) {
    for (int64_t i = threadIdx.y; i < n; i += kRowGroups) {
      const int64_t e = i * H + j;
      T v;
      if constexpr (act == Activation::ReLU) v = h[e] > T(0) ? dh[e] : T(0);  // 0 * inf stays 0
      else v = dh[e] * derivative<act>(h[e], slope);
      dh[e] = v;
      s += v;
    }
  }
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && j < H) {
    T t = 0;
    for (int g = 0; g < kRowGroups; ++g) t += part[g][threadIdx.x];
    db[j] = t;
  }
}

template <Activation act, class T>
cudaError_t bias_act_t(T* h, const T* b, int64_t n, int64_t H, T slope, cudaStream_t st) {
  if (n <= 0 || H <= 0) return cudaSuccess;
  bias_act_kernel<act, T><<<unsigned((n * H + 255) / 256), 256, 0, st>>>(h, b, n, H, slope);
  return cudaGetLastError();
}

template <Activation act, class T> cudaError_t act_backward_t(T* dh, const T* h, int64_t n,
                                                              int64_t H, T slope, T* db,
                                                              cudaStream_t st) {
  if (H <= 0) return cudaSuccess;
  act_backward_kernel<act, T>
      <<<unsigned((H + kCols - 1) / kCols), dim3(kCols, kRowGroups), 0, st>>>(dh, h, n, H, slope,
                                                                              db);  // n = 0: db = 0
  return cudaGetLastError();
}

template <class T> cudaError_t bias_act(T* h, const T* b, int64_t n, int64_t H, Activation act,
                                        double slope, cudaStream_t st) {
  const T s = T(slope);
  switch (act) {
    case Activation::ReLU: return bias_act_t<Activation::ReLU>(h, b, n, H, s, st);
    case Activation::LeakyReLU: return bias_act_t<Activation::LeakyReLU>(h, b, n, H, s, st);
    case Activation::Tanh: return bias_act_t<Activation::Tanh>(h, b, n, H, s, st);
    case Activation::Sigmoid: return bias_act_t<Activation::Sigmoid>(h, b, n, H, s, st);
    default: return bias_act_t<Activation::Identity>(h, b, n, H, s, st);
  }
}

template <class T> cudaError_t act_backward(T* dh, const T* h, int64_t n, int64_t H, Activation act,
                                            double slope, T* db, cudaStream_t st) {
  const T s = T(slope);
  switch (act) {
    case Activation::ReLU: return act_backward_t<Activation::ReLU>(dh, h, n, H, s, db, st);
    case Activation::LeakyReLU:
      return act_backward_t<Activation::LeakyReLU>(dh, h, n, H, s, db, st);
    case Activation::Tanh: return act_backward_t<Activation::Tanh>(dh, h, n, H, s, db, st);
    case Activation::Sigmoid: return act_backward_t<Activation::Sigmoid>(dh, h, n, H, s, db, st);
    default: return act_backward_t<Activation::Identity>(dh, h, n, H, s, db, st);
  }
}

}  // namespace

cudaError_t bias_act_f32(float* h, const float* b, int64_t n, int64_t H, Activation act,
                         double slope, cudaStream_t st) {
  return bias_act(h, b, n, H, act, slope, st);
}
cudaError_t bias_act_f64(double* h, const double* b, int64_t n, int64_t H, Activation act,
                         double slope, cudaStream_t st) {
  return bias_act(h, b, n, H, act, slope, st);
}
cudaError_t act_backward_f32(float* dh, const float* h, int64_t n, int64_t H, Activation act,
                             double slope, float* db, cudaStream_t st) {
  return act_backward(dh, h, n, H, act, slope, db, st);
}
cudaError_t act_backward_f64(double* dh, const double* h, int64_t n, int64_t H, Activation act,
                             double slope, double* db, cudaStream_t st) {
  return act_backward(dh, h, n, H, act, slope, db, st);
}

}  // namespace cuda
}  // namespace imgclf
