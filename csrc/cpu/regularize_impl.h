// Constraints and noise for training a network (the regularize family, regularize.h).
//
// dropout: inverted dropout with the counter-based mask of imgclf/dropout.h: the same
// elements are dropped on every backend and thread split, and the same call on the
// gradient is the backward pass.
//
// max_norm: each unit's incoming weight vector (a column of W, (d, H) row-major) is
// rescaled to L2 norm c when its norm exceeds c.  The column norms are summed in double,
// row by row, so the pass reads W once in its memory order (a column walk would touch one
// element per cache line); the scaling is a second row-order pass.
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including regularize_impl.h"
#endif

#include <omp.h>

#include <cmath>
#include <vector>

#include "imgclf/dropout.h"
#include "regularize.h"

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {

template <class T> static int64_t max_norm(T* W, int64_t d, int64_t H, double c, int threads) {
  const int nth = d * H > 65536 ? threads : 1;
  std::vector<double> part(size_t(nth) * size_t(H), 0.0);
#pragma omp parallel num_threads(nth)
  {
    double* acc = part.data() + size_t(omp_get_thread_num()) * size_t(H);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < d; ++i) {
      const T* w = W + i * H;
      for (int64_t j = 0; j < H; ++j) acc[j] += double(w[j]) * double(w[j]);
    }
  }
  std::vector<T> factor(static_cast<size_t>(H), T(1));
  int64_t scaled = 0;
  for (int64_t j = 0; j < H; ++j) {
    double s = 0;
    for (int t = 0; t < nth; ++t) s += part[size_t(t) * size_t(H) + size_t(j)];
    const double norm = std::sqrt(s);
    if (norm > c) factor[size_t(j)] = T(c / norm);
    scaled += norm > c;
  }
  if (!scaled) return 0;
#pragma omp parallel for num_threads(nth) schedule(static)
  for (int64_t i = 0; i < d; ++i) {
    T* w = W + i * H;
    for (int64_t j = 0; j < H; ++j) w[j] *= factor[size_t(j)];
  }
  return scaled;
}

template <class T> static int64_t dropout(T* h, int64_t n, double p, uint64_t seed, int threads) {
  const uint32_t thr = dropout_threshold(p);
  const T scale = T(1.0 / (1.0 - p));
  int64_t kept = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : kept) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = dropout_keep(seed, uint64_t(i), thr);
    h[i] = keep ? h[i] * scale : T(0);
    kept += keep;
  }
  return kept;
}

static constexpr RegularizeOps regularize_ops() {
  RegularizeOps o{};
  o.max_norm_f32 = max_norm<float>;
  o.max_norm_f64 = max_norm<double>;
  o.dropout_f32 = dropout<float>;
  o.dropout_f64 = dropout<double>;
  return o;
}

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
