// Optimizer updates, in place, one fused pass over (param, grad, state...) per tensor.
//
// Compiled once per SIMD level (see isa_*.cpp).  The multi-tensor form takes every
// parameter of a model at once: the tensors are cut into chunks of 16384 elements and the
// chunks are shared among the threads, so one call updates a whole model at the memory
// limit whatever the tensor sizes.
//
// Update rules (the NumPy reference in _reference.py is the specification):
//   sgd       w -= lr g
//   momentum  v = rho v - lr g;  w += v
//   nesterov  v' = rho v - lr g;  w += -rho v + (1 + rho) v';  v = v'
//   adagrad   c += g^2;  w -= lr g / (sqrt(c) + eps)
//   rmsprop   c = decay c + (1 - decay) g^2;  w -= lr g / (sqrt(c) + eps)
//   adam      w *= 1 - lr wd  (decoupled weight decay);  m = b1 m + (1 - b1) g;
//             v = b2 v + (1 - b2) g^2;  w -= lr (m / bc1) / (sqrt(v / bc2) + eps)
//             with bc1 = 1 - b1^step, bc2 = 1 - b2^step, step counting from 1.
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including optim_impl.h"
#endif

#include <omp.h>

#include <cmath>
#include <vector>

#include "optim.h"

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {

template <class T> static void optim_range(const OptimHyper& h, T* __restrict w,
                                           const T* __restrict g, T* __restrict s1,
                                           T* __restrict s2, int64_t n) {
  const T lr = T(h.lr), eps = T(h.eps);
  switch (h.kind) {
    case OptimKind::SGD:
      for (int64_t i = 0; i < n; ++i) w[i] -= lr * g[i];
      break;
    case OptimKind::Momentum: {
      const T a = T(h.momentum);
      for (int64_t i = 0; i < n; ++i) {
        const T v = a * s1[i] - lr * g[i];
        s1[i] = v;
        w[i] += v;
      }
      break;
    }
    case OptimKind::Nesterov: {
      const T a = T(h.momentum);
      for (int64_t i = 0; i < n; ++i) {
        const T vo = s1[i], v = a * vo - lr * g[i];
        s1[i] = v;
        w[i] += -a * vo + (1 + a) * v;
      }
      break;
    }
    case OptimKind::AdaGrad:
      for (int64_t i = 0; i < n; ++i) {
        const T c = s1[i] + g[i] * g[i];
        s1[i] = c;
        w[i] -= lr * g[i] / (std::sqrt(c) + eps);
      }
      break;
    case OptimKind::RMSProp: {
      const T a = T(h.decay);
      for (int64_t i = 0; i < n; ++i) {
        const T c = a * s1[i] + (1 - a) * g[i] * g[i];
        s1[i] = c;
        w[i] -= lr * g[i] / (std::sqrt(c) + eps);
      }
      break;
    }
    case OptimKind::Adam: {
      const T a = T(h.beta1), b2 = T(h.beta2), step = T(h.lr / h.bias_correction1),
              isb2 = T(1.0 / std::sqrt(h.bias_correction2)), decay = T(1.0 - h.lr * h.weight_decay);
      for (int64_t i = 0; i < n; ++i) {
        const T gi = g[i];
        const T m = a * s1[i] + (1 - a) * gi;
        const T v = b2 * s2[i] + (1 - b2) * gi * gi;
        s1[i] = m;
        s2[i] = v;
        w[i] = w[i] * decay - step * m / (std::sqrt(v) * isb2 + eps);
      }
      break;
    }
  }
}

template <class T> static void optim_step_any(const OptimHyper& h, const OptimTensor<T>* ts,
                                              int64_t count, int threads) {
  constexpr int64_t CH = 16384;
  std::vector<int64_t> first(size_t(count) + 1, 0);  // chunk index where tensor t starts
  for (int64_t t = 0; t < count; ++t) first[t + 1] = first[t] + (ts[t].n + CH - 1) / CH;
  const int64_t chunks = first[count];
#pragma omp parallel for num_threads(threads) schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t t = 0;
    while (first[t + 1] <= c) ++t;
    const OptimTensor<T>& x = ts[t];
    const int64_t b = (c - first[t]) * CH, e = std::min(x.n, b + CH);
    optim_range(h, x.w + b, x.g + b, x.s1 ? x.s1 + b : nullptr, x.s2 ? x.s2 + b : nullptr, e - b);
  }
}

static void optim_step_f32(const OptimHyper& h, const OptimTensor<float>* ts, int64_t count,
                           int threads) {
  optim_step_any(h, ts, count, threads);
}
static void optim_step_f64(const OptimHyper& h, const OptimTensor<double>* ts, int64_t count,
                           int threads) {
  optim_step_any(h, ts, count, threads);
}

static constexpr OptimOps optim_ops() {
  OptimOps o{};
  o.optim_step_f32 = optim_step_f32;
  o.optim_step_f64 = optim_step_f64;
  return o;
}

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
