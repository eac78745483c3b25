// Losses over class scores, weight penalties, and the fused minibatch step of a linear
// classifier (gather rows -> scale/shift -> scores -> loss -> gradients).
//
// Compiled once per SIMD level with knn_impl.h and optim_impl.h (see isa_*.cpp).  The
// inner loops run over fixed-size chunks of one cache line (V elements) so the compiler
// turns each into a single AVX-512 (or two AVX2, four SSE2) instruction.
//
// Conventions (the NumPy reference in _reference.py is the specification):
//   softmax: L_i = logsumexp(s_i) - s_i[y_i]
//   svm:     L_i = sum_{j != y_i} max(0, s_ij - s_iy + margin)  (squared: the square of each term)
//   loss = mean_i L_i; dscores = dL/dscores (already divided by the batch size).
//   penalty R(W): l2 sum W^2, l1 sum |W|, elasticnet sum beta*W^2 + |W|; the op returns
//   reg * R(W) and adds reg * R'(W) to the gradient (sign(0) = 0).
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including loss_impl.h"
#endif

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "imgclf/common.h"
#include "loss.h"
#include "simd_line.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {
namespace loss_detail {
namespace {  // internal linkage: each SIMD level keeps its own copies

template <class T> constexpr int64_t V =
    kLineBytes / sizeof(T);  // elements per Line (one SIMD register)

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// One row of softmax: returns the row's loss, writes its gradient scaled by inv_n.
template <class T> double softmax_row(const T* s, int64_t C, int64_t y, T inv_n, T* ds) {
  T mx = s[0];
  for (int64_t c = 1; c < C; ++c) mx = std::max(mx, s[c]);
  double sum = 0;
  for (int64_t c = 0; c < C; ++c) {
    T e = std::exp(s[c] - mx);
    ds[c] = e;
    sum += e;
  }
  const double loss = double(mx) + std::log(sum) - double(s[y]);
  const T scale = T(1.0 / sum) * inv_n;
  for (int64_t c = 0; c < C; ++c) ds[c] *= scale;
  ds[y] -= inv_n;
  return loss;
}

template <class T>
double svm_row(const T* s, int64_t C, int64_t y, T margin, bool squared, T inv_n, T* ds) {
  const T sy = s[y];
  double loss = 0;
  T gy = 0;
  for (int64_t c = 0; c < C; ++c) {
    T m = s[c] - sy + margin;
    T g = 0;
    if (c != y && m > 0) {
      loss += squared ? double(m) * m : double(m);
      g = squared ? 2 * m * inv_n : inv_n;
    }
    ds[c] = g;
    gy += g;
  }
  ds[y] = -gy;
  return loss;
}

template <class T>
double row_loss(const T* s, int64_t C, int64_t y, LossKind kind, T margin, T inv_n, T* ds) {
  if (kind == LossKind::Softmax) return softmax_row(s, C, y, inv_n, ds);
  return svm_row(s, C, y, margin, kind == LossKind::SquaredSvm, inv_n, ds);
}

// One weight's penalty term R(w) and derivative R'(w).
template <class T> inline void penalty_term(T w, PenaltyKind kind, T beta, T& v, T& g) {
  const T sg = T((w > 0) - (w < 0));
  switch (kind) {
    case PenaltyKind::L2:
      v = w * w;
      g = 2 * w;
      break;
    case PenaltyKind::L1:
      v = std::abs(w);
      g = sg;
      break;
    default:
      v = beta * w * w + std::abs(w);
      g = 2 * beta * w + sg;
      break;
  }
}

}  // namespace
}  // namespace loss_detail

template <class T> static double class_loss(const T* S, int64_t n, int64_t C, const int64_t* y,
                                            LossKind kind, double margin, T* dS, int threads) {
  using namespace loss_detail;
  const T inv_n = T(1.0 / double(n));
  double total = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : total) \
    schedule(static) if (n * C > 16384)
  for (int64_t i = 0; i < n; ++i)
    total += row_loss(S + i * C, C, y[i], kind, T(margin), inv_n, dS + i * C);
  return total / double(n);
}

// The penalty of one SIMD line: values v and derivatives g of R at every lane of w.
template <PenaltyKind K, class T>
inline void penalty_line(Line<T> w, T beta, Line<T>& v, Line<T>& g) {
  const Line<T> zero{};
  if (K == PenaltyKind::L2) {
    v = w * w;
    g = w + w;
    return;
  }
  const Line<T> one = zero + T(1);
  const Line<T> sg = (w > zero ? one : zero) - (w < zero ? one : zero);
  const Line<T> aw = w < zero ? -w : w;
  if (K == PenaltyKind::L1) {
    v = aw;
    g = sg;
  } else {
    v = beta * w * w + aw;
    g = (beta + beta) * w + sg;
  }
}

// The penalty kind a template argument and one SIMD line at a time: the values are summed
// in four vector accumulators of T over blocks of at most 4096 weights, each block's sum
// added to a double (a T partial over 4096 / lanes terms per lane keeps float32 within
// ~1e-6 of the double sum).  The scalar form (one float64 sum, kind switched per weight)
// took ~5 cycles per weight: 0.09 s per epoch of the 784-256-128-10 network.
template <PenaltyKind K, class T>
static double penalty_t(const T* W, int64_t n, T b, T r, T* grad, int threads) {
  constexpr int64_t v = kLineBytes / sizeof(T), B = 4096;
  const int64_t nb = (n + B - 1) / B;
  double total = 0;
#pragma omp parallel for num_threads(threads) reduction(+ : total) schedule(static) if (n > 65536)
  for (int64_t blk = 0; blk < nb; ++blk) {
    const int64_t lo = blk * B, hi = std::min(n, lo + B);
    Line<T> acc[4] = {};
    int64_t i = lo;
    for (; i + 4 * v <= hi; i += 4 * v) {
      for (int u = 0; u < 4; ++u) {
        Line<T> pv, pg;
        penalty_line<K, T>(load(W + i + u * v), b, pv, pg);
        acc[u] += pv;
        if (grad) store(grad + i + u * v, load(grad + i + u * v) + r * pg);
      }
    }
    const Line<T> a = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    double part = 0;
    for (int64_t l = 0; l < v; ++l) part += double(a[l]);
    for (; i < hi; ++i) {
      T pv, pg;
      loss_detail::penalty_term(W[i], K, b, pv, pg);
      part += double(pv);
      if (grad) grad[i] += r * pg;
    }
    total += part;
  }
  return total;
}

template <class T> static double penalty(const T* W, int64_t n, PenaltyKind kind, double beta,
                                         double reg, T* grad, int threads) {
  const T r = T(reg), b = T(beta);
  double total;
  switch (kind) {
    case PenaltyKind::L2: total = penalty_t<PenaltyKind::L2>(W, n, b, r, grad, threads); break;
    case PenaltyKind::L1: total = penalty_t<PenaltyKind::L1>(W, n, b, r, grad, threads); break;
    default: total = penalty_t<PenaltyKind::ElasticNet>(W, n, b, r, grad, threads); break;
  }
  return reg * total;
}

// ---- the fused minibatch of a linear classifier ------------------------------------------
//
// x_i = scale * X[rows[i]] - shift, scores s_i = x_i W + b, then the loss, dW = x^T dS and
// db = sum_i dS_i.  The affine map is folded out so the kernel reads the raw rows of X (uint8
// images stay uint8; no float copy of the batch is made):
//   s_ic  = scale * (X_i . W_c) + (b_c - shift . W_c)
//   dW_jc = scale * sum_i X_ij dS_ic - shift_j db_c
// Vector lanes run along the features j; a block of CB <= 10 classes keeps 2 x CB
// accumulators in registers (two rows in the forward pass, two feature vectors in the
// backward pass), so each converted X vector feeds CB fused multiply-adds.
namespace loss_detail {
namespace {

// V<T> consecutive Src values converted to one Line<T>.  (GCC 12 lowers a u8 -> float
// __builtin_convertvector to scalar code, so the widening conversions use intrinsics.)
constexpr int kF = kLineBytes / 4, kD = kLineBytes / 8;  // floats, doubles per Line
inline LineF load_cvt(const uint8_t* p, float*) {
#if defined(__AVX512F__)
  return (LineF)_mm512_cvtepi32_ps(
      _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#elif defined(__AVX2__)
  return (LineF)_mm256_cvtepi32_ps(
      _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
#elif defined(__SSE2__)
  int32_t w;
  std::memcpy(&w, p, 4);
  const __m128i z = _mm_setzero_si128();
  const __m128i x = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(w), z), z);
  return (LineF)_mm_cvtepi32_ps(x);
#else
  LineF r;
  for (int l = 0; l < kF; ++l) r[l] = float(p[l]);
  return r;
#endif
}
inline LineD load_cvt(const uint8_t* p, double*) {
#if defined(__AVX512F__)
  return (LineD)_mm512_cvtepi32_pd(
      _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
#else
  LineD r;
  for (int l = 0; l < kD; ++l) r[l] = double(p[l]);
  return r;
#endif
}
inline LineF load_cvt(const float* p, float*) { return load(p); }
inline LineD load_cvt(const float* p, double*) {
#if defined(__AVX512F__)
  return (LineD)_mm512_cvtps_pd(_mm256_loadu_ps(p));
#elif defined(__AVX2__)
  return (LineD)_mm256_cvtps_pd(_mm_loadu_ps(p));
#else
  LineD r;
  for (int l = 0; l < kD; ++l) r[l] = double(p[l]);
  return r;
#endif
}
inline LineF load_cvt(const double* p, float*) {
  LineF r;
  for (int l = 0; l < kF; ++l) r[l] = float(p[l]);
  return r;
}
inline LineD load_cvt(const double* p, double*) { return load(p); }

template <class T> inline T hsum(const Line<T>& a) {
  T s = 0;
  for (int64_t l = 0; l < V<T>; ++l) s += a[l];
  return s;
}

// classes per register block: 2 x CBMAX accumulators plus 3 operands must fit the level's
// registers (32 zmm under AVX-512; 16 ymm / xmm otherwise, where 5 also splits 10 classes
// evenly)
#if defined(__AVX512F__)
constexpr int CBMAX = 10;
#else
constexpr int CBMAX = 5;
#endif

// raw[r][c] = X_r . WT_c for two rows and CB classes (WT: classes x d)
template <int CB, class T, class Src>
void fwd_two_rows(const Src* x0, const Src* x1, const T* WT, int64_t d, T* raw0, T* raw1) {
  constexpr int64_t v = V<T>;
  Line<T> a0[CB], a1[CB];
  for (int c = 0; c < CB; ++c) a0[c] = a1[c] = Line<T>{};
  int64_t j = 0;
  for (; j + v <= d; j += v) {
    const Line<T> u0 = load_cvt(x0 + j, (T*)nullptr), u1 = load_cvt(x1 + j, (T*)nullptr);
    for (int c = 0; c < CB; ++c) {
      const Line<T> w = load(WT + c * d + j);
      a0[c] += u0 * w;
      a1[c] += u1 * w;
    }
  }
  for (int c = 0; c < CB; ++c) {
    T s0 = hsum<T>(a0[c]), s1 = hsum<T>(a1[c]);
    for (int64_t t = j; t < d; ++t) {
      s0 += T(x0[t]) * WT[c * d + t];
      s1 += T(x1[t]) * WT[c * d + t];
    }
    raw0[c] = s0;
    raw1[c] = s1;
  }
}

// acc[c * 2v + (0 .. NV*v)] = sum_i X_i[j .. j + NV*v) * dS_i,c for CB classes
template <int CB, int NV, class T, class Src>
void bwd_cols(const Src* X, const int64_t* rows, int64_t d, int64_t j, int64_t B, const T* dS,
              int64_t ldS, T* acc /* CB x NV*v */) {
  constexpr int64_t v = V<T>;
  Line<T> a0[CB], a1[CB];
  for (int c = 0; c < CB; ++c) a0[c] = a1[c] = Line<T>{};
  for (int64_t i = 0; i < B; ++i) {
    const Src* xr = X + (rows ? rows[i] : i) * d + j;
    const T* ds = dS + i * ldS;
    const Line<T> u0 = load_cvt(xr, (T*)nullptr);
    const Line<T> u1 = NV > 1 ? load_cvt(xr + v, (T*)nullptr) : Line<T>{};
    for (int c = 0; c < CB; ++c) {
      const T g = ds[c];
      a0[c] += u0 * g;
      if (NV > 1) a1[c] += u1 * g;
    }
  }
  for (int c = 0; c < CB; ++c) {
    store(acc + c * 2 * v, a0[c]);
    if (NV > 1) store(acc + c * 2 * v + v, a1[c]);
  }
}

template <class T, class Src, int CB>
void fwd_dispatch(int cb, const Src* x0, const Src* x1, const T* WT, int64_t d, T* r0, T* r1) {
  if constexpr (CB >= 1) {
    if (cb == CB) return fwd_two_rows<CB>(x0, x1, WT, d, r0, r1);
    fwd_dispatch<T, Src, CB - 1>(cb, x0, x1, WT, d, r0, r1);
  }
}

template <class T, class Src, int CB>
void bwd_dispatch(int cb, int nv, const Src* X, const int64_t* rows, int64_t d, int64_t j,
                  int64_t B, const T* dS, int64_t ldS, T* acc) {
  if constexpr (CB >= 1) {
    if (cb == CB) {
      if (nv == 2) return bwd_cols<CB, 2>(X, rows, d, j, B, dS, ldS, acc);
      return bwd_cols<CB, 1>(X, rows, d, j, B, dS, ldS, acc);
    }
    bwd_dispatch<T, Src, CB - 1>(cb, nv, X, rows, d, j, B, dS, ldS, acc);
  }
}

}  // namespace
}  // namespace loss_detail

template <class T, class Src>
static double linear_loss(const Src* X, int64_t d, const int64_t* rows, int64_t B, double scale,
                          const T* shift, const T* W, const T* bias, int64_t C, const int64_t* y,
                          LossKind kind, double margin, double reg, PenaltyKind pk, double beta,
                          T* dW, T* db, Cancel& cancel, int threads) {
  using namespace loss_detail;
  constexpr int64_t v = V<T>;
  Buffer<T> WT{size_t(C * d)}, S{size_t(B * C)}, k0{size_t(C)};
  const T sc = T(scale), inv_n = T(1.0 / double(B)), rg = T(reg), bt = T(beta);
  const int64_t nblk = (d + 2 * v - 1) / (2 * v);  // backward feature blocks of 2v
  double total = 0, rtotal = 0;
  // a small minibatch (digits: 84 x 64 x 10) runs on one thread: a parallel region costs
  // more than its work, and far more when other processes hold the cores
  const int nth = double(B) * double(d) * double(C) > double(1 << 18) ? threads : 1;
#pragma omp parallel num_threads(nth) reduction(+ : total, rtotal)
  {
    // 1. W^T, and the constant part of the scores k0_c = b_c - shift . W_c
#pragma omp for schedule(static)
    for (int64_t c = 0; c < C; ++c) {
      T* wt = WT.data() + c * d;
      T k = bias[c];
      for (int64_t j = 0; j < d; ++j) {
        wt[j] = W[j * C + c];
        if (shift) k -= shift[j] * wt[j];
      }
      k0[size_t(c)] = k;
    }
    // 2. scores two rows at a time, then each row's loss; S becomes dscores
#pragma omp for schedule(static)
    for (int64_t i0 = 0; i0 < B; i0 += 2) {
      const int64_t i1 = std::min(i0 + 1, B - 1);
      const Src* x0 = X + (rows ? rows[i0] : i0) * d;
      const Src* x1 = X + (rows ? rows[i1] : i1) * d;
      // random rows: fetch the rows four pairs ahead into L2 (prefetcht1): 2 pairs ahead into
      // L1 left most of the DRAM latency exposed (bench/NOTES.md t5)
      for (int64_t ia = i0 + 8; ia < std::min(i0 + 10, B); ++ia) {
        const char* ahead = reinterpret_cast<const char*>(X + (rows ? rows[ia] : ia) * d);
        for (int64_t o = 0; o < d * int64_t(sizeof(Src)); o += 64)
          __builtin_prefetch(ahead + o, 0, 2);
      }
      alignas(64) T r0[64], r1[64];
      std::vector<T> big;
      T* s0 = C <= 64 ? r0 : (big.resize(size_t(2 * C)), big.data());
      T* s1 = C <= 64 ? r1 : big.data() + C;
      for (int64_t c0 = 0; c0 < C; c0 += CBMAX) {
        const int cb = int(std::min<int64_t>(CBMAX, C - c0));
        fwd_dispatch<T, Src, CBMAX>(cb, x0, x1, WT.data() + c0 * d, d, s0 + c0, s1 + c0);
      }
      for (int64_t r = 0; r < (i1 > i0 ? 2 : 1); ++r) {
        T* s = r ? s1 : s0;
        for (int64_t c = 0; c < C; ++c) s[c] = sc * s[c] + k0[size_t(c)];
        total += row_loss(s, C, y[i0 + r], kind, T(margin), inv_n, S.data() + (i0 + r) * C);
      }
    }
    // 3. db (one thread) while the others start on dW
#pragma omp single nowait
    {
      for (int64_t c = 0; c < C; ++c) db[c] = 0;
      for (int64_t i = 0; i < B; ++i)
        for (int64_t c = 0; c < C; ++c) db[c] += S[size_t(i * C + c)];
      cancel.poll();
    }
    // 4. raw X^T dS over feature blocks of 2v (tail: v, then scalars)
    alignas(64) T acc[CBMAX * 2 * kLineBytes / sizeof(T)];
#pragma omp for schedule(dynamic, 1)
    for (int64_t blk = 0; blk < nblk; ++blk) {
      const int64_t j = blk * 2 * v;
      const int64_t width = std::min<int64_t>(2 * v, d - j);
      const int nv = width >= 2 * v ? 2 : (width >= v ? 1 : 0);
      for (int64_t c0 = 0; c0 < C; c0 += CBMAX) {
        const int cb = int(std::min<int64_t>(CBMAX, C - c0));
        if (nv) bwd_dispatch<T, Src, CBMAX>(cb, nv, X, rows, d, j, B, S.data() + c0, C, acc);
        for (int c = 0; c < cb; ++c)
          for (int64_t t = nv * v; t < width; ++t) {  // scalar tail columns
            T a = 0;
            for (int64_t i = 0; i < B; ++i)
              a += T(X[(rows ? rows[i] : i) * d + j + t]) * S[size_t(i * C + c0 + c)];
            acc[c * 2 * v + t] = a;
          }
        for (int c = 0; c < cb; ++c)
          for (int64_t t = 0; t < width; ++t) {
            const int64_t jj = j + t, at = jj * C + c0 + c;
            dW[at] = sc * acc[c * 2 * v + t];  // finished below once db is known
          }
      }
    }
#pragma omp barrier
    // 5. dW -= shift_j db_c, plus the penalty
#pragma omp for schedule(static)
    for (int64_t jj = 0; jj < d; ++jj)
      for (int64_t c = 0; c < C; ++c) {
        const int64_t at = jj * C + c;
        T g = dW[at];
        if (shift) g -= shift[jj] * db[c];
        if (reg != 0) {
          T pv, pg;
          penalty_term(W[at], pk, bt, pv, pg);
          rtotal += pv;
          g += rg * pg;
        }
        dW[at] = g;
      }
  }
  return total / double(B) + reg * rtotal;
}

static double class_loss_f32(const float* S, int64_t n, int64_t C, const int64_t* y, LossKind kind,
                             double margin, float* dS, int threads) {
  return class_loss(S, n, C, y, kind, margin, dS, threads);
}
static double class_loss_f64(const double* S, int64_t n, int64_t C, const int64_t* y, LossKind kind,
                             double margin, double* dS, int threads) {
  return class_loss(S, n, C, y, kind, margin, dS, threads);
}
static double penalty_f32(const float* W, int64_t n, PenaltyKind kind, double beta, double reg,
                          float* grad, int threads) {
  return penalty(W, n, kind, beta, reg, grad, threads);
}
static double penalty_f64(const double* W, int64_t n, PenaltyKind kind, double beta, double reg,
                          double* grad, int threads) {
  return penalty(W, n, kind, beta, reg, grad, threads);
}

template <class T> static double linear_loss_any(const LinearBatch& lb, const T* shift, const T* W,
                                                 const T* b, T* dW, T* db, Cancel& cancel,
                                                 int threads) {
  switch (lb.x_dtype) {
    case DType::U8:
      return linear_loss(static_cast<const uint8_t*>(lb.X), lb.d, lb.rows, lb.B, lb.scale, shift, W,
                         b, lb.C, lb.y, lb.kind, lb.margin, lb.reg, lb.penalty, lb.beta, dW, db,
                         cancel, threads);
    case DType::F32:
      return linear_loss(static_cast<const float*>(lb.X), lb.d, lb.rows, lb.B, lb.scale, shift, W,
                         b, lb.C, lb.y, lb.kind, lb.margin, lb.reg, lb.penalty, lb.beta, dW, db,
                         cancel, threads);
    default:
      return linear_loss(static_cast<const double*>(lb.X), lb.d, lb.rows, lb.B, lb.scale, shift, W,
                         b, lb.C, lb.y, lb.kind, lb.margin, lb.reg, lb.penalty, lb.beta, dW, db,
                         cancel, threads);
  }
}
static double linear_loss_f32(const LinearBatch& lb, const float* shift, const float* W,
                              const float* b, float* dW, float* db, Cancel& c, int threads) {
  return linear_loss_any(lb, shift, W, b, dW, db, c, threads);
}
static double linear_loss_f64(const LinearBatch& lb, const double* shift, const double* W,
                              const double* b, double* dW, double* db, Cancel& c, int threads) {
  return linear_loss_any(lb, shift, W, b, dW, db, c, threads);
}

static constexpr LossOps loss_ops() {
  LossOps o{};
  o.class_loss_f32 = class_loss_f32;
  o.class_loss_f64 = class_loss_f64;
  o.penalty_f32 = penalty_f32;
  o.penalty_f64 = penalty_f64;
  o.linear_loss_f32 = linear_loss_f32;
  o.linear_loss_f64 = linear_loss_f64;
  return o;
}

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
