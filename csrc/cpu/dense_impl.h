// Dense layers: matrix products, bias + activation, its backward pass, and the gather of
// scaled input rows.
//
// Matrix products for the network layers: C = alpha * op(A) op(B) + beta * C, where
// op(X) is X or X^T, float32 or float64, row-major.
//
// Compiled once per SIMD level (see isa_*.cpp).  Blocked GEMM with a register-blocked
// micro-kernel that keeps an MR x NR tile of C in vector registers (NR = 2 SIMD lines of
// columns; 24 zmm under AVX-512).  op(A) and op(B) are read in place where their rows are
// contiguous along the tile (A's rows, B's rows); only A^T, B^T and a narrower last column
// panel of B are packed (A^T into panels of MR rows interleaved along k, B into panels of
// NR columns).  k is blocked by KC so a B panel stays in L1/L2; tiles of C are shared among
// the OpenMP threads.  Running in imgclf's own thread pool matters: a BLAS with its own
// spinning threads beside OpenMP loops takes the cores from each other.
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including dense_impl.h"
#endif

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "imgclf/common.h"
#include "dense.h"
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

template <class T> constexpr int64_t NR =
    2 * kLineBytes / sizeof(T);  // two SIMD registers of columns

// Interleave the low (high) halves of two SIMD lines: {a0, b0, a1, b1, ...}
// (__builtin_shufflevector: GCC 12 or later, clang; older GCC packs B^T a scalar at a time)
#if defined(__clang__) || __GNUC__ >= 12
#define IMGCLF_GEMM_ZIP 1
template <class T, int64_t... I>
inline Line<T> zip_lo(Line<T> a, Line<T> b, std::integer_sequence<int64_t, I...>) {
  constexpr int64_t v = sizeof...(I);
  return __builtin_shufflevector(a, b, (I % 2 ? v + I / 2 : I / 2)...);
}
template <class T, int64_t... I>
inline Line<T> zip_hi(Line<T> a, Line<T> b, std::integer_sequence<int64_t, I...>) {
  constexpr int64_t v = sizeof...(I);
  return __builtin_shufflevector(a, b, (I % 2 ? v + v / 2 + I / 2 : v / 2 + I / 2)...);
}

// r[0..v) (v = lanes) transposed in registers: log2(v) rounds of zipping line i with line
// i + v/2 (a perfect shuffle of the rows), each round v shuffles
template <class T> inline void transpose_lines(Line<T>* r) {
  constexpr int64_t v = kLineBytes / sizeof(T);
  using Lanes = std::make_integer_sequence<int64_t, v>;
  for (int64_t w = 1; w < v; w *= 2) {
    Line<T> n[v];
    for (int64_t i = 0; i < v / 2; ++i) {
      n[2 * i] = zip_lo<T>(r[i], r[i + v / 2], Lanes{});
      n[2 * i + 1] = zip_hi<T>(r[i], r[i + v / 2], Lanes{});
    }
    for (int64_t i = 0; i < v; ++i) r[i] = n[i];
  }
}

#endif  // IMGCLF_GEMM_ZIP

// pack op(B)[k0:k0+kc, n0:n0+NR] as kc rows of NR (zero padded).  op(B) = B^T: each full
// panel is v x v blocks of B transposed in registers (a scalar gather along B's columns
// took 17 % of the 256x128 @ 128x256 product).
template <class T> void pack_b(const T* B, int64_t ldb, bool tb, int64_t k0, int64_t kc, int64_t n0,
                               int64_t nn, T* out) {
  constexpr int64_t nr = NR<T>, v = nr / 2;
  int64_t k = 0;
#ifdef IMGCLF_GEMM_ZIP
  if (tb && nn == nr) {
    for (; k + v <= kc; k += v)
      for (int64_t h = 0; h < 2; ++h) {
        Line<T> r[v];
        for (int64_t i = 0; i < v; ++i) r[i] = load(B + (n0 + h * v + i) * ldb + k0 + k);
        transpose_lines<T>(r);
        for (int64_t i = 0; i < v; ++i) store(out + (k + i) * nr + h * v, r[i]);
      }
  }
#endif
  for (; k < kc; ++k) {
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

// pack op(A)[m0:m0+MR, k0:k0+kc] = A^T's rows m0.. as kc groups of MR (zero padded); rows of
// A^T are columns of A, contiguous along m.  (Without the transpose A is read in place.)
template <class T>
void pack_a_t(const T* A, int64_t lda, int64_t m0, int64_t mm, int64_t k0, int64_t kc, T* out) {
  for (int64_t k = 0; k < kc; ++k) {
    const T* src = A + (k0 + k) * lda + m0;
    T* o = out + k * MR;
    if (mm == MR) {  // a fixed-size copy the compiler inlines (not a memmove call per k)
      __builtin_memcpy(o, src, MR * sizeof(T));
      continue;
    }
    for (int r = 0; r < mm; ++r) o[r] = src[r];
    for (int r = int(mm); r < MR; ++r) o[r] = 0;
  }
}

// x, rounded to its type: an empty asm the compiler cannot look through, so an x * y
// passed through it is never fused with a following add into one FMA
template <class V> inline V rounded(V x) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__("" : "+v"(x));
#elif defined(__aarch64__)
  __asm__("" : "+w"(x));
#else
  volatile V t = x;
  x = t;
#endif
  return x;
}

// acc(R x NV lines) = sum_k a[k][:] x b[k][:]; then C tile = alpha acc + (first ? beta C : C)
// a[r * rs + k * ks]: a packed panel (rs = 1, ks = MR) or rows of A read in place (rs = lda,
// ks = 1); b[k * bs + c]: a packed panel (bs = NR) or rows of B read in place (bs = ldb).
// Reading in place skips a packing pass that competes with the arithmetic (packing B cost
// 3.5 % of the 784-wide layer's product).  R and NV are template arguments so a short last
// row panel and a last column panel no wider than one line do only the work they need;
// every element of C is summed over k in the same order, and alpha acc and beta C are each
// rounded on their own (never fused into an FMA, whose use the compiler could choose
// differently in each instantiation), so the result is the same whichever tile computes it.
template <class T, int R, int NV> void micro(const T* a, int64_t rs, int64_t ks, const T* b,
                                             int64_t bs, int64_t kc, T* C, int64_t ldc, int64_t nn,
                                             T alpha, T beta, bool first) {
  constexpr int64_t v = kLineBytes / sizeof(T);
  Line<T> c[R][NV];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NV; ++j) c[r][j] = Line<T>{};
  for (int64_t k = 0; k < kc; ++k) {
    Line<T> bk[NV];
    for (int j = 0; j < NV; ++j) bk[j] = load(b + k * bs + j * v);
    const T* ak = a + k * ks;
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < NV; ++j) c[r][j] += ak[r * rs] * bk[j];
  }
  if (nn == NV * v) {  // full-width tile: vector read-modify-write
    for (int r = 0; r < R; ++r) {
      T* cr = C + r * ldc;
      for (int j = 0; j < NV; ++j) {
        Line<T> o = rounded(alpha * c[r][j]);
        if (!first) o += load(cr + j * v);
        else if (beta != 0) o += rounded(beta * load(cr + j * v));
        store(cr + j * v, o);
      }
    }
    return;
  }
  for (int r = 0; r < R; ++r) {
    T* crow = C + r * ldc;
    for (int64_t col = 0; col < nn; ++col) {
      const T val = rounded(alpha * c[r][col / v][col % v]);
      if (!first) crow[col] += val;
      else crow[col] = beta == 0 ? val : val + rounded(beta * crow[col]);
    }
  }
}

// micro with R = mm rows (1 <= mm <= MR), chosen at run time
template <class T, int NV, int R = MR>
inline void micro_rows(int64_t mm, const T* a, int64_t rs, int64_t ks, const T* b, int64_t bs,
                       int64_t kc, T* C, int64_t ldc, int64_t nn, T alpha, T beta, bool first) {
  if constexpr (R > 1) {
    if (mm < R) {
      micro_rows<T, NV, R - 1>(mm, a, rs, ks, b, bs, kc, C, ldc, nn, alpha, beta, first);
      return;
    }
  }
  micro<T, R, NV>(a, rs, ks, b, bs, kc, C, ldc, nn, alpha, beta, first);
}

}  // namespace
}  // namespace gemm_detail

template <class T> static void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha,
                                    const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C,
                                    int64_t ldc, Cancel& cancel, int threads) {
  using namespace gemm_detail;
  constexpr int64_t nr = NR<T>, v = nr / 2;
  const int64_t mp = (M + MR - 1) / MR, np_ = (N + nr - 1) / nr;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0 ? T(0) : beta * C[i * ldc + j];
    return;
  }
  const int64_t nk = (K + KC - 1) / KC, kc_max = (K + nk - 1) / nk;  // equal k blocks
  // op(B) = B: full column panels are read in place, only a narrower last one is packed
  const int64_t packed = tb ? np_ : (N % nr != 0);
  const int64_t first_packed = np_ - packed;
  Buffer<T> bp{size_t(packed * kc_max * nr)};
  const bool par = double(M) * N * K > 2e5;
#pragma omp parallel num_threads(par ? threads : 1)
  {
    alignas(64) T ap[MR * KC];
    for (int64_t k0 = 0; k0 < K; k0 += kc_max) {
      const int64_t kc = std::min(kc_max, K - k0);
#pragma omp for schedule(static)
      for (int64_t p = first_packed; p < np_; ++p)
        pack_b(B, ldb, tb, k0, kc, p * nr, std::min(nr, N - p * nr),
               bp.data() + (p - first_packed) * kc * nr);
      // row panels outer, column panels inner: one packed A panel serves a row of tiles
#pragma omp for schedule(static)
      for (int64_t ip = 0; ip < mp; ++ip) {
        // Ctrl-C: work is skipped, never the loops (every thread must meet every barrier)
        if (omp_get_thread_num() == 0 && (ip & 7) == 0) cancel.poll();
        if (cancel.stopped()) continue;
        const int64_t m0 = ip * MR, mm = std::min<int64_t>(MR, M - m0);
        if (ta) pack_a_t(A, lda, m0, mm, k0, kc, ap);
        const T* a = ta ? ap : A + m0 * lda + k0;
        const int64_t rs = ta ? 1 : lda, ks = ta ? MR : 1;
        for (int64_t p = 0; p < np_; ++p) {
          const int64_t n0 = p * nr, nn = std::min(nr, N - n0);
          const bool in_place = p < first_packed;
          const T* b = in_place ? B + k0 * ldb + n0 : bp.data() + (p - first_packed) * kc * nr;
          const int64_t bs = in_place ? ldb : nr;
          T* c = C + m0 * ldc + n0;
          if (nn <= v) micro_rows<T, 1>(mm, a, rs, ks, b, bs, kc, c, ldc, nn, alpha, beta, k0 == 0);
          else micro_rows<T, 2>(mm, a, rs, ks, b, bs, kc, c, ldc, nn, alpha, beta, k0 == 0);
        }
      }
    }
  }
}

// ---- vectorized exp, tanh and sigmoid ---------------------------------------------------
// exp(x) = 2^n e^r with n = round(x / ln 2) and r = x - n ln 2 (|r| <= ln 2 / 2, ln 2 split
// in a high part exact in n * hi and a low part); e^r by its Taylor polynomial to r^7
// (float: truncation < 1e-8 relative) or r^13 (double: < 1e-17), 2^n by writing the exponent
// bits (ln 2 split so that n * hi is exact).  n is rounded by adding 1.5 * 2^(mantissa bits), which
// leaves n in the low mantissa bits.  x is clamped to where e^x and its reciprocal stay normal
// numbers.
namespace act_detail {

template <class T> struct ExpConsts;
template <> struct ExpConsts<float> {
  typedef int32_t LineI __attribute__((vector_size(IMGCLF_LINE_BYTES)));
  static constexpr float lo = -87.0f, hi = 87.0f;
  static constexpr float shifter = 12582912.0f;  // 1.5 * 2^23
  static constexpr float ln2_hi = 0.693145751953125f,
                         ln2_lo = 1.428606765330187e-06f;  // hi: 15 bits
  static constexpr int degree = 7, mant = 23, bias = 127;
};
template <> struct ExpConsts<double> {
  typedef int64_t LineI __attribute__((vector_size(IMGCLF_LINE_BYTES)));
  static constexpr double lo = -708.0, hi = 708.0;
  static constexpr double shifter = 6755399441055744.0;  // 1.5 * 2^52
  // ln2_hi: ln 2 to 32 bits (n * ln2_hi is exact for |n| < 2^21, with or without FMA)
  static constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  static constexpr int degree = 13, mant = 52, bias = 1023;
};

template <class T> inline Line<T> splat(T v) { return Line<T>{} + v; }

template <class T> inline Line<T> exp_line(Line<T> x) {
  using C = ExpConsts<T>;
  using LineI = typename C::LineI;
  x = x < splat<T>(C::lo) ? splat<T>(C::lo) : x;
  x = x > splat<T>(C::hi) ? splat<T>(C::hi) : x;
  const Line<T> t = x * T(1.4426950408889634074) + C::shifter;  // n + shifter
  const Line<T> n = t - C::shifter;
  const Line<T> r = (x - n * C::ln2_hi) - n * C::ln2_lo;
  Line<T> p = splat<T>(T(1));  // Horner: 1 + r (1 + r/2 (1 + r/3 (...)))
  for (int k = C::degree; k >= 1; --k) p = p * (r * (T(1) / T(k))) + T(1);
  LineI ti, si;
  __builtin_memcpy(&ti, &t, sizeof t);
  const Line<T> sh = splat<T>(C::shifter);
  __builtin_memcpy(&si, &sh, sizeof sh);
  const LineI bits = ((ti - si) + C::bias) << C::mant;
  Line<T> scale;
  __builtin_memcpy(&scale, &bits, sizeof bits);
  return p * scale;
}

// tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|); below |x| = 1/64, where 1 - e
// cancels, its odd series to x^9 (truncation < 1e-19 relative there)
template <class T> inline Line<T> tanh_line(Line<T> x) {
  const Line<T> ax = x < T(0) ? -x : x;
  const Line<T> e = exp_line<T>(T(-2) * ax);
  Line<T> big = (T(1) - e) / (T(1) + e);
  const Line<T> x2 = x * x;
  const Line<T> small =
      x * (T(1) + x2 * (T(-1) / 3 + x2 * (T(2) / 15 + x2 * (T(-17) / 315 + x2 * (T(62) / 2835)))));
  big = x < T(0) ? -big : big;
  return ax < T(1) / 64 ? small : big;
}

// sigmoid(x) = 1 / (1 + exp(-x))
template <class T> inline Line<T> sigmoid_line(Line<T> x) {
  return T(1) / (T(1) + exp_line<T>(-x));
}

}  // namespace act_detail

// y = act(x), elementwise; slope: leaky_relu's negative slope
template <Activation act, class T> inline T activate(T x, T slope) {
  if constexpr (act == Activation::ReLU) return std::max(x, T(0));
  else if constexpr (act == Activation::LeakyReLU) return x > 0 ? x : slope * x;
  else if constexpr (act == Activation::Tanh) return std::tanh(x);
  else if constexpr (act == Activation::Sigmoid) return T(1) / (T(1) + std::exp(-x));
  else return x;
}
// act'(x) from the output y = act(x)
template <Activation act, class T> inline T derivative(T y, T slope) {
  if constexpr (act == Activation::ReLU) return y > 0 ? T(1) : T(0);
  else if constexpr (act == Activation::LeakyReLU) return y > 0 ? T(1) : slope;
  else if constexpr (act == Activation::Tanh) return T(1) - y * y;
  else if constexpr (act == Activation::Sigmoid) return y * (T(1) - y);
  else return T(1);
}

// one row of h = act(h + b); tanh and sigmoid a vector at a time (the tail through a padded
// vector, so every element gets the same arithmetic wherever it sits in the row)
template <Activation act, class T> inline void bias_act_row(T* r, const T* b, int64_t H, T slope) {
  if constexpr (act == Activation::Tanh || act == Activation::Sigmoid) {
    constexpr int64_t v = kLineBytes / sizeof(T);
    auto f = [](Line<T> z) {
      if constexpr (act == Activation::Tanh) return act_detail::tanh_line<T>(z);
      else return act_detail::sigmoid_line<T>(z);
    };
    int64_t j = 0;
    for (; j + v <= H; j += v) store(r + j, f(load(r + j) + load(b + j)));
    if (j < H) {
      alignas(64) T tmp[v] = {};
      for (int64_t k = j; k < H; ++k) tmp[k - j] = r[k] + b[k];
      store(tmp, f(load(tmp)));
      for (int64_t k = j; k < H; ++k) r[k] = tmp[k - j];
    }
  } else {
    for (int64_t j = 0; j < H; ++j) r[j] = activate<act>(r[j] + b[j], slope);
  }
}

template <Activation act, class T>
static void bias_act_t(T* h, const T* b, int64_t n, int64_t H, T slope, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static) if (n * H > 32768)
  for (int64_t i = 0; i < n; ++i) bias_act_row<act>(h + i * H, b, H, slope);
}

// h = act(h + b), in place; h is (n, H)
template <class T> static void bias_act(T* h, const T* b, int64_t n, int64_t H, Activation act,
                                        double slope, int threads) {
  const T s = T(slope);
  switch (act) {
    case Activation::ReLU: return bias_act_t<Activation::ReLU>(h, b, n, H, s, threads);
    case Activation::LeakyReLU: return bias_act_t<Activation::LeakyReLU>(h, b, n, H, s, threads);
    case Activation::Tanh: return bias_act_t<Activation::Tanh>(h, b, n, H, s, threads);
    case Activation::Sigmoid: return bias_act_t<Activation::Sigmoid>(h, b, n, H, s, threads);
    default: return bias_act_t<Activation::Identity>(h, b, n, H, s, threads);
  }
}

// dh *= act'(h) (the backward pass through the activation, in place, h its output);
// db = column sums of the result
template <Activation act, class T>
static void act_backward_t(T* dh, const T* h, int64_t n, int64_t H, T slope, T* db, int threads) {
  const int nth = n * H > 32768 ? threads : 1;
  std::vector<T> part(size_t(nth) * size_t(H), T(0));
#pragma omp parallel num_threads(nth)
  {
    T* acc = part.data() + size_t(omp_get_thread_num()) * size_t(H);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      T* d = dh + i * H;
      const T* y = h + i * H;
      for (int64_t j = 0; j < H; ++j) {
        T v;
        if constexpr (act == Activation::ReLU) v = y[j] > 0 ? d[j] : T(0);  // 0 * inf stays 0
        else v = d[j] * derivative<act>(y[j], slope);
        d[j] = v;
        acc[j] += v;
      }
    }
  }
  for (int64_t j = 0; j < H; ++j) {
    T s = 0;
    for (int t = 0; t < nth; ++t) s += part[size_t(t) * size_t(H) + size_t(j)];
    db[j] = s;
  }
}

template <class T> static void act_backward(T* dh, const T* h, int64_t n, int64_t H, Activation act,
                                            double slope, T* db, int threads) {
  const T s = T(slope);
  switch (act) {
    case Activation::ReLU: return act_backward_t<Activation::ReLU>(dh, h, n, H, s, db, threads);
    case Activation::LeakyReLU:
      return act_backward_t<Activation::LeakyReLU>(dh, h, n, H, s, db, threads);
    case Activation::Tanh: return act_backward_t<Activation::Tanh>(dh, h, n, H, s, db, threads);
    case Activation::Sigmoid:
      return act_backward_t<Activation::Sigmoid>(dh, h, n, H, s, db, threads);
    default: return act_backward_t<Activation::Identity>(dh, h, n, H, s, db, threads);
  }
}

// out_i = scale * X[rows[i]] - shift (shift may be null): the input of a dense layer,
// converted from uint8 / float32 / float64 rows as the minibatch is drawn.  The rows are
// drawn at random from a training set larger than the caches, so each row's cache lines are
// prefetched 4 rows ahead and the misses overlap the conversion of the rows before (a
// Fashion-MNIST epoch of 256-row uint8 batches, one Zen 4 thread: 0.022 s without, 0.010 s
// with; 2 ahead 0.011, 8 ahead 0.012).  The conversion loops are left to the compiler's
// vectorizer (an explicit uint8 -> float __builtin_convertvector line ran 2x slower).
template <class T, class Src> static void affine_rows_t(const Src* X, int64_t d,
                                                        const int64_t* rows, int64_t n, T scale,
                                                        const T* shift, T* out, int threads) {
  constexpr int64_t ahead = 4;
  const int64_t row_bytes = d * int64_t(sizeof(Src));
#pragma omp parallel for num_threads(threads) schedule(static) if (n * d > 32768)
  for (int64_t i = 0; i < n; ++i) {
    if (rows && i + ahead < n) {
      const char* next = reinterpret_cast<const char*>(X + rows[i + ahead] * d);
      for (int64_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(next + b);
    }
    const Src* x = X + (rows ? rows[i] : i) * d;
    T* o = out + i * d;
    if (shift)
      for (int64_t j = 0; j < d; ++j) o[j] = scale * T(x[j]) - shift[j];
    else
      for (int64_t j = 0; j < d; ++j) o[j] = scale * T(x[j]);
  }
}

template <class T> static void affine_rows(const void* X, DType xt, int64_t d, const int64_t* rows,
                                           int64_t n, double scale, const T* shift, T* out,
                                           int threads) {
  switch (xt) {
    case DType::U8:
      return affine_rows_t(static_cast<const uint8_t*>(X), d, rows, n, T(scale), shift, out,
                           threads);
    case DType::F32:
      return affine_rows_t(static_cast<const float*>(X), d, rows, n, T(scale), shift, out, threads);
    default:
      return affine_rows_t(static_cast<const double*>(X), d, rows, n, T(scale), shift, out,
                           threads);
  }
}

static void gemm_f32(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                     int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                     Cancel& cancel, int threads) {
  gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, cancel, threads);
}
static void gemm_f64(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha,
                     const double* A, int64_t lda, const double* B, int64_t ldb, double beta,
                     double* C, int64_t ldc, Cancel& cancel, int threads) {
  gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, cancel, threads);
}

static constexpr DenseOps dense_ops() {
  DenseOps o{};
  o.gemm_f32 = gemm_f32;
  o.gemm_f64 = gemm_f64;
  o.bias_act_f32 = bias_act<float>;
  o.bias_act_f64 = bias_act<double>;
  o.act_backward_f32 = act_backward<float>;
  o.act_backward_f64 = act_backward<double>;
  o.affine_rows_f32 = affine_rows<float>;
  o.affine_rows_f64 = affine_rows<double>;
  return o;
}

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
