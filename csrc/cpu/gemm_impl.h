// Dense matrix products for the network layers: C = alpha * op(A) op(B) + beta * C, where
// op(X) is X or X^T, float32 or float64, row-major.
//
// Compiled once per SIMD level (see isa_*.cpp).  Classic packed GEMM: op(B) is packed into
// panels of NR = 2 cache lines of columns, op(A) into panels of MR rows interleaved along k,
// and a register-blocked micro-kernel keeps an MR x NR tile of C in vector registers
// (24 zmm under AVX-512).  k is blocked by KC so a B panel stays in L1/L2; tiles of C are
// shared among the OpenMP threads.  Running in imgclf's own thread pool matters: a BLAS
// with its own spinning threads beside OpenMP loops takes the cores from each other.
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including gemm_impl.h"
#endif

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "imgclf/common.h"
#include "kernels.h"
#include "simd_line.h"

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {
namespace gemm_detail {
namespace {

#if defined(__AVX512F__)
constexpr int MR = 12;
#elif defined(__AVX2__)
constexpr int MR = 6;
#else
constexpr int MR = 4;
#endif
constexpr int64_t KC = 1024;

template <class T>
constexpr int64_t NR = 2 * 64 / sizeof(T);  // two cache lines of columns

// element (r, c) of op(X) where X is (rows x cols) row-major before the transpose
template <class T>
inline T at(const T* X, int64_t ld, bool trans, int64_t r, int64_t c) {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

// pack op(B)[k0:k0+kc, n0:n0+NR] as kc rows of NR (zero padded)
template <class T>
void pack_b(const T* B, int64_t ldb, bool tb, int64_t k0, int64_t kc, int64_t n0, int64_t nn, T* out) {
  constexpr int64_t nr = NR<T>;
  for (int64_t k = 0; k < kc; ++k) {
    T* o = out + k * nr;
    if (!tb) {
      const T* src = B + (k0 + k) * ldb + n0;
      for (int64_t c = 0; c < nn; ++c) o[c] = src[c];
    } else {
      for (int64_t c = 0; c < nn; ++c) o[c] = B[(n0 + c) * ldb + k0 + k];
    }
    for (int64_t c = nn; c < nr; ++c) o[c] = 0;
  }
}

// pack op(A)[m0:m0+MR, k0:k0+kc] as kc groups of MR (zero padded)
template <class T>
void pack_a(const T* A, int64_t lda, bool ta, int64_t m0, int64_t mm, int64_t k0, int64_t kc, T* out) {
  if (ta) {  // rows of A^T are columns of A: contiguous along m
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = A + (k0 + k) * lda + m0;
      T* o = out + k * MR;
      for (int r = 0; r < mm; ++r) o[r] = src[r];
      for (int r = int(mm); r < MR; ++r) o[r] = 0;
    }
  } else {
    for (int r = 0; r < MR; ++r) {
      if (r < mm) {
        const T* src = A + (m0 + r) * lda + k0;
        for (int64_t k = 0; k < kc; ++k) out[k * MR + r] = src[k];
      } else {
        for (int64_t k = 0; k < kc; ++k) out[k * MR + r] = 0;
      }
    }
  }
}

// acc(MR x NR) = sum_k a[k][:] x b[k][:]; then C tile = alpha acc + (first ? beta C : C)
// a[r * rs + k * ks]: a packed panel (rs = 1, ks = MR) or rows of A read in place (rs = lda,
// ks = 1; a full panel of MR rows, so no packing pass competes with the arithmetic)
template <class T>
void micro(const T* a, int64_t rs, int64_t ks, const T* b, int64_t kc, T* C, int64_t ldc,
           int64_t mm, int64_t nn, T alpha, T beta, bool first) {
  constexpr int64_t v = 64 / sizeof(T);
  Line<T> c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = Line<T>{};
  for (int64_t k = 0; k < kc; ++k) {
    const Line<T> b0 = load(b + k * 2 * v), b1 = load(b + k * 2 * v + v);
    const T* ak = a + k * ks;
    for (int r = 0; r < MR; ++r) {
      c0[r] += ak[r * rs] * b0;
      c1[r] += ak[r * rs] * b1;
    }
  }
  if (nn == 2 * v) {  // full-width tile: vector read-modify-write
    for (int r = 0; r < mm; ++r) {
      T* cr = C + r * ldc;
      Line<T> o0 = alpha * c0[r], o1 = alpha * c1[r];
      if (!first) {
        o0 += load(cr);
        o1 += load(cr + v);
      } else if (beta != 0) {
        o0 += beta * load(cr);
        o1 += beta * load(cr + v);
      }
      store(cr, o0);
      store(cr + v, o1);
    }
    return;
  }
  for (int r = 0; r < mm; ++r) {
    T* crow = C + r * ldc;
    for (int64_t c = 0; c < nn; ++c) {
      const T val = alpha * (c < v ? c0[r][c] : c1[r][c - v]);
      if (!first) crow[c] += val;
      else crow[c] = beta == 0 ? val : val + beta * crow[c];
    }
  }
}

}  // namespace
}  // namespace gemm_detail

template <class T>
static void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                 int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc, int threads) {
  using namespace gemm_detail;
  constexpr int64_t nr = NR<T>;
  const int64_t mp = (M + MR - 1) / MR, np_ = (N + nr - 1) / nr;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0 ? T(0) : beta * C[i * ldc + j];
    return;
  }
  const int64_t nk = (K + KC - 1) / KC, kc_max = (K + nk - 1) / nk;  // equal k blocks
  Buffer<T> bp{size_t(np_ * kc_max * nr)};
  const bool par = double(M) * N * K > 2e5;
#pragma omp parallel num_threads(par ? threads : 1)
  {
    alignas(64) T ap[MR * KC];
    for (int64_t k0 = 0; k0 < K; k0 += kc_max) {
      const int64_t kc = std::min(kc_max, K - k0);
#pragma omp for schedule(static)
      for (int64_t p = 0; p < np_; ++p)
        pack_b(B, ldb, tb, k0, kc, p * nr, std::min(nr, N - p * nr), bp.data() + p * kc * nr);
      // row panels outer, column panels inner: one packed A panel serves a row of tiles
#pragma omp for schedule(static)
      for (int64_t ip = 0; ip < mp; ++ip) {
        const int64_t m0 = ip * MR, mm = std::min<int64_t>(MR, M - m0);
        const bool direct = !ta && mm == MR;
        if (!direct) pack_a(A, lda, ta, m0, mm, k0, kc, ap);
        const T* a = direct ? A + m0 * lda + k0 : ap;
        for (int64_t p = 0; p < np_; ++p) {
          const int64_t n0 = p * nr;
          micro(a, direct ? lda : 1, direct ? 1 : MR, bp.data() + p * kc * nr, kc,
                C + m0 * ldc + n0, ldc, mm, std::min(nr, N - n0), alpha, beta, k0 == 0);
        }
      }
    }
  }
}

static void gemm_f32(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                     int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                     int threads) {
  gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}
static void gemm_f64(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha,
                     const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
                     double* C, int64_t ldc, int threads) {
  gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, threads);
}

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
