// Optimizer steps as one multi-tensor launch: the tensors' pointers travel in the kernel's
// argument block (up to kMaxTensors per launch), each block updates one chunk of one
// tensor.  Same update rules as csrc/cpu/optim_impl.h.
#include <cuda_runtime.h>

#include <cstdint>

#include "optim.h"

namespace imgclf {
namespace cuda {
namespace {

constexpr int64_t kChunk = 8192;
constexpr int kThreads = 256;

template <class T> struct Batch {
  TensorRef<T> t[kMaxTensors];
  int64_t first_chunk[kMaxTensors + 1];
  int count;
};

template <class T> __global__ void optim_kernel(OptimHyper h, Batch<T> b) {
  const int64_t chunk = blockIdx.x;
  int t = 0;
  while (t + 1 < b.count && b.first_chunk[t + 1] <= chunk) ++t;
  const TensorRef<T> x = b.t[t];
  const int64_t begin = (chunk - b.first_chunk[t]) * kChunk;
  const int64_t end = begin + kChunk < x.n ? begin + kChunk : x.n;
  const T lr = T(h.lr), eps = T(h.eps);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const T g = x.g[i];
    switch (h.kind) {
      case OptimKind::SGD: x.w[i] -= lr * g; break;
      case OptimKind::Momentum: {
        const T v = T(h.momentum) * x.s1[i] - lr * g;
        x.s1[i] = v;
        x.w[i] += v;
        break;
      }
      case OptimKind::Nesterov: {
        const T a = T(h.momentum), vo = x.s1[i], v = a * vo - lr * g;
        x.s1[i] = v;
        x.w[i] += -a * vo + (1 + a) * v;
        break;
      }
      case OptimKind::AdaGrad: {
        const T c = x.s1[i] + g * g;
        x.s1[i] = c;
        x.w[i] -= lr * g / (sqrt(c) + eps);
        break;
      }
      case OptimKind::RMSProp: {
        const T a = T(h.decay), c = a * x.s1[i] + (1 - a) * g * g;
        x.s1[i] = c;
        x.w[i] -= lr * g / (sqrt(c) + eps);
        break;
      }
      case OptimKind::Adam: {
        const T a = T(h.beta1), b2 = T(h.beta2), step = T(h.lr / h.bias_correction1),
                isb2 = T(1.0 / sqrt(h.bias_correction2)), decay = T(1.0 - h.lr * h.weight_decay);
        const T m = a * x.s1[i] + (1 - a) * g;
        const T v = b2 * x.s2[i] + (1 - b2) * g * g;
        x.s1[i] = m;
        x.s2[i] = v;
        x.w[i] = x.w[i] * decay - step * m / (sqrt(v) * isb2 + eps);
        break;
      }
    }
  }
}

template <class T> cudaError_t optim_step(const OptimHyper& h, const TensorRef<T>* ts, int count,
                                          cudaStream_t stream) {
  for (int g0 = 0; g0 < count; g0 += kMaxTensors) {
    Batch<T> b{};
    b.count = count - g0 < kMaxTensors ? count - g0 : kMaxTensors;
    b.first_chunk[0] = 0;
    for (int t = 0; t < b.count; ++t) {
      b.t[t] = ts[g0 + t];
      b.first_chunk[t + 1] = b.first_chunk[t] + (ts[g0 + t].n + kChunk - 1) / kChunk;
    }
    const int64_t chunks = b.first_chunk[b.count];
    if (chunks == 0) continue;
    optim_kernel<T><<<unsigned(chunks), kThreads, 0, stream>>>(h, b);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

}  // namespace

cudaError_t optim_step_f32(const OptimHyper& h, const TensorRef<float>* ts, int count,
                           cudaStream_t stream) {
  return optim_step(h, ts, count, stream);
}
cudaError_t optim_step_f64(const OptimHyper& h, const TensorRef<double>* ts, int count,
                           cudaStream_t stream) {
  return optim_step(h, ts, count, stream);
}

}  // namespace cuda
}  // namespace imgclf
