// Distance tiles, fused k-nearest-neighbour search and the full distance matrix.
//
// This file is compiled once per SIMD level: isa_generic.cpp, isa_avx2.cpp and
// isa_avx512.cpp define IMGCLF_ISA (the namespace) and include it with their own compiler
// flags, so the vector types below become SSE2, AVX2 or AVX-512 code.
//
// Layout.  Training rows are packed once per call into panels of P = 32 rows; inside a
// panel, each vector lane holds a different training row, so a distance tile needs no
// horizontal sums.  Queries are packed in blocks of MR rows, interleaved along d, and each
// query value is broadcast against a panel vector.  A work item is a chunk of queries
// (small enough to stay in L2) and a range of panels; each panel is read once per chunk
// and reused by every query of the chunk from L1/L2.
//   float/double: panel [d][32 rows]; tile op is dot (float32 L2), (y-x)^2 or |y-x|.
//   uint8 L2:     panel [d/4][32 rows][4 bytes]: VPDPBUSD (u8 x s8 -> s32), exact.
//   uint8 L1:     panel [d/8][32 rows][8 bytes]: VPSADBW sums 8 byte-diffs per row, exact.
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including knn_impl.h"
#endif

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <type_traits>
#include <vector>

#include "imgclf/common.h"
#include "imgclf/topk.h"
#include "knn.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {

constexpr int P = 32;  // training rows per panel

#if defined(__AVX512F__) && defined(__AVX512BW__)
constexpr int NB = 64;  // native vector bytes
constexpr int MR_F32 = 12, MR_F64 = 6, MR_U8L2 = 8, MR_U8L1 = 6;
#elif defined(__AVX2__)
constexpr int NB = 32;
constexpr int MR_F32 = 3, MR_F64 = 1, MR_U8L2 = 2, MR_U8L1 = 1;
#else
constexpr int NB = 16;
constexpr int MR_F32 = 1, MR_F64 = 1, MR_U8L2 = 1, MR_U8L1 = 1;
#endif

#if defined(__AVX512VNNI__) && defined(__AVX512F__)
constexpr bool kVnni = true;
#else
constexpr bool kVnni = false;
#endif

template <class T> struct NVec;
template <> struct NVec<float> {
  typedef float type __attribute__((vector_size(NB)));
  typedef int32_t bits __attribute__((vector_size(NB)));
  static constexpr int32_t kAbs = 0x7fffffff;
};
template <> struct NVec<double> {
  typedef double type __attribute__((vector_size(NB)));
  typedef int64_t bits __attribute__((vector_size(NB)));
  static constexpr int64_t kAbs = 0x7fffffffffffffffLL;
};
template <class T> using nvec = typename NVec<T>::type;
// |v| by clearing the sign bits: one logical op (a compare-and-negate would take three)
template <class T> static inline nvec<T> vabs(nvec<T> v) {
  using B = typename NVec<T>::bits;
  return (nvec<T>)((B)v & NVec<T>::kAbs);
}

// Dot: x.y (float32 L2 candidates by |x|^2 + |y|^2 - 2 x.y).  Sq: sum (y - x)^2.
// Abs: sum |y - x|.  Min: sum min(x, y) (float32 L1 candidates by
// sum x + sum y - 2 sum min(x, y)): a min and an add per element, where |y - x| needs a
// subtract, a mask and an add; see bench/NOTES.md v6.
enum class Op { Dot, Sq, Abs, Min };

// ------------------------------------------------------------------------------------
// Policies: how one element type and metric packs, runs a tile, and finishes a distance.
// ------------------------------------------------------------------------------------

// float / double.  G = 1 element per group.
template <class T, Op op> struct FloatPolicy {
  using In = T;
  using XW = T;     // packed query word
  using Acc = T;    // tile accumulator
  using Dist = T;   // distance given to the top-k
  using Aux = T;    // per-row auxiliary (squared norm for Dot)
  static constexpr int G = 1;
  static constexpr int MR = sizeof(T) == 4 ? MR_F32 : MR_F64;
  static constexpr int XWPG = 1;  // query words per group per row
  static constexpr int KCG = 512 / (int)sizeof(T);  // groups per kc chunk (512 bytes of a row)

  static void pack_panel(const T* Y, int64_t nt, int64_t d, int64_t p, T* out) {
    int64_t r0 = p * P;
    for (int r = 0; r < P; ++r) {
      int64_t row = r0 + r;
      if (row < nt) {
        const T* y = Y + row * d;
        for (int64_t k = 0; k < d; ++k) out[k * P + r] = y[k];
      } else {
        for (int64_t k = 0; k < d; ++k) out[k * P + r] = T(0);
      }
    }
  }
  static int64_t groups(int64_t d) { return d; }
  static void pack_block(const T* X, int64_t nq, int64_t d, int64_t q0, XW* out) {
    for (int m = 0; m < MR; ++m) {
      int64_t q = q0 + m;
      for (int64_t k = 0; k < d; ++k) out[k * MR + m] = q < nq ? X[q * d + k] : T(0);
    }
  }
  static Aux aux(const T* row, int64_t d) {
    double s = 0;
    if (op == Op::Dot)
      for (int64_t k = 0; k < d; ++k) s += double(row[k]) * double(row[k]);
    else if (op == Op::Min)
      for (int64_t k = 0; k < d; ++k) s += double(row[k]);
    return T(s);
  }

  static inline void micro(const XW* __restrict xp, const In* __restrict yp, int64_t ng,
                           Acc* __restrict c, bool first) {
    using V = nvec<T>;
    constexpr int W = NB / sizeof(T);
    constexpr int NV = P / W;
    V acc[MR][NV];
    // For Min, the sum runs as acc = t * 1 + acc: one rounding, exactly an addition, but on
    // the FMA pipes (Zen 4 runs min on its add pipes).  `one` is hidden from the optimizer,
    // which would fold the multiplication away.
    V one = V{} + T(1);
    __asm__("" : "+x"(one));
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        if (first) acc[m][v] = V{};
        else std::memcpy(&acc[m][v], c + m * P + v * W, sizeof(V));
      }
    for (int64_t kk = 0; kk < ng; ++kk) {
      V y[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) std::memcpy(&y[v], yp + kk * P + v * W, sizeof(V));
      const T* x = xp + kk * MR;
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) {
        const T xs = x[m];
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) {
          if constexpr (op == Op::Dot) {
            acc[m][v] += y[v] * xs;
          } else if constexpr (op == Op::Sq) {
            V t = y[v] - xs;
            acc[m][v] += t * t;
          } else if constexpr (op == Op::Abs) {
            acc[m][v] += vabs<T>(y[v] - xs);
          } else {
            V t = y[v] < xs ? y[v] : xs;  // vminps
            acc[m][v] = t * one + acc[m][v];
          }
        }
      }
    }
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) std::memcpy(c + m * P + v * W, &acc[m][v], sizeof(V));
  }
  static inline Dist finish(Acc a, Aux xa, Aux ya) {
    if constexpr (op == Op::Dot || op == Op::Min) return xa + ya - T(2) * a;
    else return a;
  }
};

// float32 rows widened to double: the exact pass.  It reads the packed float32 panels of
// the float32 pass (same layout, no second copy of the training set) and sums the exact
// float32 differences in double, so its distances are float64 distances: nothing overflows
// or underflows for any finite float32 input.
template <Op op> struct WidePolicy {
  static_assert(op == Op::Sq || op == Op::Abs, "the exact pass sums (y - x)^2 or |y - x|");
  using In = float;
  using XW = double;
  using Acc = double;
  using Dist = double;
  using Aux = float;
  static constexpr int G = 1;
  static constexpr int MR = MR_F64;
  static constexpr int XWPG = 1;
  static constexpr int KCG = 128;

  static void pack_panel(const float* Y, int64_t nt, int64_t d, int64_t p, float* out) {
    FloatPolicy<float, op>::pack_panel(Y, nt, d, p, out);
  }
  static int64_t groups(int64_t d) { return d; }
  static void pack_block(const float* X, int64_t nq, int64_t d, int64_t q0, double* out) {
    for (int m = 0; m < MR; ++m) {
      int64_t q = q0 + m;
      for (int64_t k = 0; k < d; ++k) out[k * MR + m] = q < nq ? double(X[q * d + k]) : 0.0;
    }
  }
  static Aux aux(const float*, int64_t) { return 0.f; }

  static inline void micro(const XW* __restrict xp, const In* __restrict yp, int64_t ng,
                           Acc* __restrict c, bool first) {
    using V = nvec<double>;
    typedef float H __attribute__((vector_size(NB / 2)));  // the floats of one V
    constexpr int W = NB / 8;
    constexpr int NV = P / W;
    V acc[MR][NV];
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        if (first) acc[m][v] = V{};
        else std::memcpy(&acc[m][v], c + m * P + v * W, sizeof(V));
      }
    for (int64_t kk = 0; kk < ng; ++kk) {
      V y[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        H h;
        std::memcpy(&h, yp + kk * P + v * W, sizeof(H));
        y[v] = __builtin_convertvector(h, V);
      }
      const double* x = xp + kk * MR;
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) {
        const double xs = x[m];
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) {
          V t = y[v] - xs;  // exact: the difference of two floats fits a double
          if constexpr (op == Op::Sq) acc[m][v] += t * t;
          else acc[m][v] += vabs<double>(t);
        }
      }
    }
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) std::memcpy(c + m * P + v * W, &acc[m][v], sizeof(V));
  }
  static inline Dist finish(Acc a, Aux, Aux) { return a; }
};

// uint8 panel: [d/G][32 rows][G bytes], zero-padded past d and past the last row.
template <int G>
static void pack_byte_panel(const uint8_t* Y, int64_t nt, int64_t d, int64_t p, uint8_t* out) {
  const int64_t ng = (d + G - 1) / G;
  for (int r = 0; r < P; ++r) {
    const int64_t row = p * P + r;
    const uint8_t* y = row < nt ? Y + row * d : nullptr;
    for (int64_t g = 0; g < ng; ++g)
      for (int b = 0; b < G; ++b) {
        const int64_t k = g * G + b;
        out[(g * P + r) * G + b] = (y && k < d) ? y[k] : 0;
      }
  }
}

// uint8 squared L2, exact.  Group of 4 bytes; dist = |x|^2 + |y|^2 - 2 x.y in uint32
// arithmetic (the true value is < 2^31 for d <= kU8SqL2MaxFeatures, so wrap-around cancels).
// VNNI: x.y = dpbusd(y as u8, x - 128 as s8) + 128 * sum(y), folded into the row aux.
// Others: x.y from 16-bit multiply-adds of the even and odd bytes (pmaddwd), exact.
struct U8L2Policy {
  using In = uint8_t;
  using XW = int32_t;
  using Acc = int32_t;
  using Dist = int32_t;
  using Aux = uint32_t;
  static constexpr int G = 4;
  static constexpr int MR = MR_U8L2;
  static constexpr int XWPG = kVnni ? 1 : 2;
  static constexpr int KCG = 128;  // 512 bytes of a row

  static int64_t groups(int64_t d) { return (d + G - 1) / G; }
  static void pack_panel(const uint8_t* Y, int64_t nt, int64_t d, int64_t p, uint8_t* out) {
    pack_byte_panel<G>(Y, nt, d, p, out);
  }
  static void pack_block(const uint8_t* X, int64_t nq, int64_t d, int64_t q0, XW* out) {
    int64_t ng = groups(d);
    for (int m = 0; m < MR; ++m) {
      int64_t q = q0 + m;
      for (int64_t g = 0; g < ng; ++g) {
        uint32_t b[4];
        for (int t = 0; t < 4; ++t) {
          int64_t k = g * G + t;
          b[t] = (q < nq && k < d) ? X[q * d + k] : 0;
        }
        if (kVnni) {  // four signed bytes x - 128
          uint32_t w = 0;
          for (int t = 0; t < 4; ++t) w |= ((b[t] - 128u) & 0xffu) << (8 * t);
          out[(g * MR + m) * XWPG] = int32_t(w);
        } else {      // (x0, x2) and (x1, x3) as 16-bit pairs
          out[(g * MR + m) * XWPG + 0] = int32_t(b[0] | (b[2] << 16));
          out[(g * MR + m) * XWPG + 1] = int32_t(b[1] | (b[3] << 16));
        }
      }
    }
  }
  static Aux aux_x(const uint8_t* row, int64_t d) {
    uint32_t s = 0;
    for (int64_t k = 0; k < d; ++k) s += uint32_t(row[k]) * row[k];
    return s;
  }
  static Aux aux_y(const uint8_t* row, int64_t d) {
    uint32_t s = 0, t = 0;
    for (int64_t k = 0; k < d; ++k) {
      s += uint32_t(row[k]) * row[k];
      t += row[k];
    }
    return kVnni ? s - 256u * t : s;  // |y|^2 - 2 * 128 * sum(y) when x.y is offset
  }

  static inline void micro(const XW* __restrict xp, const In* __restrict yp, int64_t ng,
                           Acc* __restrict c, bool first) {
#if defined(__SSE2__)
#if defined(__AVX512F__) && defined(__AVX512BW__)
    using V = __m512i;
#define IC_(f) _mm512_##f
#define ICAND_ _mm512_and_si512
#define ICL_(p) _mm512_loadu_si512((const void*)(p))
#define ICS_(p, v) _mm512_storeu_si512((void*)(p), v)
#elif defined(__AVX2__)
    using V = __m256i;
#define IC_(f) _mm256_##f
#define ICAND_ _mm256_and_si256
#define ICL_(p) _mm256_loadu_si256((const __m256i*)(p))
#define ICS_(p, v) _mm256_storeu_si256((__m256i*)(p), v)
#else
    using V = __m128i;
#define IC_(f) _mm_##f
#define ICAND_ _mm_and_si128
#define ICL_(p) _mm_loadu_si128((const __m128i*)(p))
#define ICS_(p, v) _mm_storeu_si128((__m128i*)(p), v)
#endif
    constexpr int NV = P * 4 / NB;  // vectors per group of the panel
    constexpr int W = NB / 4;       // int32 lanes per vector
    V acc[MR][NV];
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[m][v] = first ? IC_(set1_epi32)(0) : ICL_(c + m * P + v * W);
    for (int64_t g = 0; g < ng; ++g) {
      V y[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) y[v] = ICL_(yp + (g * P) * 4 + v * NB);
      if constexpr (kVnni) {
#if defined(__AVX512VNNI__)
#pragma GCC unroll 16
        for (int m = 0; m < MR; ++m) {
          V xb = _mm512_set1_epi32(xp[g * MR + m]);
#pragma GCC unroll 16
          for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_dpbusd_epi32(acc[m][v], y[v], xb);
        }
#endif
      } else {
        V ye[NV], yo[NV];
        const V lo = IC_(set1_epi32)(0x00ff00ff);
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) {
          ye[v] = ICAND_(y[v], lo);
          yo[v] = IC_(srli_epi16)(y[v], 8);
        }
#pragma GCC unroll 16
        for (int m = 0; m < MR; ++m) {
          V xe = IC_(set1_epi32)(xp[(g * MR + m) * 2 + 0]);
          V xo = IC_(set1_epi32)(xp[(g * MR + m) * 2 + 1]);
#pragma GCC unroll 16
          for (int v = 0; v < NV; ++v)
            acc[m][v] = IC_(add_epi32)(
                acc[m][v], IC_(add_epi32)(IC_(madd_epi16)(ye[v], xe), IC_(madd_epi16)(yo[v], xo)));
        }
      }
    }
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) ICS_(c + m * P + v * W, acc[m][v]);
#undef IC_
#undef ICAND_
#undef ICL_
#undef ICS_
#else
    for (int m = 0; m < MR; ++m)
      for (int r = 0; r < P; ++r) {
        int32_t s = first ? 0 : c[m * P + r];
        for (int64_t g = 0; g < ng; ++g) {
          const uint8_t* y = yp + (g * P + r) * 4;
          uint32_t xe = uint32_t(xp[(g * MR + m) * 2]), xo = uint32_t(xp[(g * MR + m) * 2 + 1]);
          s += int32_t(y[0] * (xe & 0xffff) + y[2] * (xe >> 16) + y[1] * (xo & 0xffff) +
                       y[3] * (xo >> 16));
        }
        c[m * P + r] = s;
      }
#endif
  }
  static inline Dist finish(Acc a, Aux xa, Aux ya) { return int32_t(xa + ya - 2u * uint32_t(a)); }
};

// uint8 L1, exact.  Group of 8 bytes; VPSADBW sums |y - x| over 8 bytes per 64-bit lane.
struct U8L1Policy {
  using In = uint8_t;
  using XW = uint64_t;
  using Acc = uint64_t;
  using Dist = int32_t;
  using Aux = int32_t;
  static constexpr int G = 8;
  static constexpr int MR = MR_U8L1;
  static constexpr int XWPG = 1;
  static constexpr int KCG = 64;  // 512 bytes of a row

  static int64_t groups(int64_t d) { return (d + G - 1) / G; }
  static void pack_panel(const uint8_t* Y, int64_t nt, int64_t d, int64_t p, uint8_t* out) {
    pack_byte_panel<G>(Y, nt, d, p, out);
  }
  static void pack_block(const uint8_t* X, int64_t nq, int64_t d, int64_t q0, XW* out) {
    int64_t ng = groups(d);
    for (int m = 0; m < MR; ++m) {
      int64_t q = q0 + m;
      for (int64_t g = 0; g < ng; ++g) {
        uint64_t w = 0;
        for (int t = 0; t < 8; ++t) {
          int64_t k = g * G + t;
          uint64_t b = (q < nq && k < d) ? X[q * d + k] : 0;
          w |= b << (8 * t);
        }
        out[g * MR + m] = w;
      }
    }
  }
  static Aux aux_x(const uint8_t*, int64_t) { return 0; }
  static Aux aux_y(const uint8_t*, int64_t) { return 0; }

  static inline void micro(const XW* __restrict xp, const In* __restrict yp, int64_t ng,
                           Acc* __restrict c, bool first) {
#if defined(__SSE2__)
#if defined(__AVX512F__) && defined(__AVX512BW__)
    using V = __m512i;
#define IC_(f) _mm512_##f
#define ICB_(x) _mm512_set1_epi64((long long)(x))
#define ICL_(p) _mm512_loadu_si512((const void*)(p))
#define ICS_(p, v) _mm512_storeu_si512((void*)(p), v)
#elif defined(__AVX2__)
    using V = __m256i;
#define IC_(f) _mm256_##f
#define ICB_(x) _mm256_set1_epi64x((long long)(x))
#define ICL_(p) _mm256_loadu_si256((const __m256i*)(p))
#define ICS_(p, v) _mm256_storeu_si256((__m256i*)(p), v)
#else
    using V = __m128i;
#define IC_(f) _mm_##f
#define ICB_(x) _mm_set1_epi64x((long long)(x))
#define ICL_(p) _mm_loadu_si128((const __m128i*)(p))
#define ICS_(p, v) _mm_storeu_si128((__m128i*)(p), v)
#endif
    constexpr int NV = P * 8 / NB;  // vectors per group of the panel
    constexpr int W = NB / 8;       // rows (64-bit lanes) per vector
    V acc[MR][NV];
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[m][v] = first ? ICB_(0) : ICL_(c + m * P + v * W);
    for (int64_t g = 0; g < ng; ++g) {
      V y[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) y[v] = ICL_(yp + (g * P) * 8 + v * NB);
#pragma GCC unroll 16
      for (int m = 0; m < MR; ++m) {
        V xb = ICB_(xp[g * MR + m]);
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) acc[m][v] = IC_(add_epi64)(acc[m][v], IC_(sad_epu8)(y[v], xb));
      }
    }
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) ICS_(c + m * P + v * W, acc[m][v]);
#undef IC_
#undef ICB_
#undef ICL_
#undef ICS_
#else
    for (int m = 0; m < MR; ++m)
      for (int r = 0; r < P; ++r) {
        uint64_t s = first ? 0 : c[m * P + r];
        for (int64_t g = 0; g < ng; ++g) {
          const uint8_t* y = yp + (g * P + r) * 8;
          uint64_t x = xp[g * MR + m];
          for (int t = 0; t < 8; ++t) {
            int a = y[t], b = int((x >> (8 * t)) & 0xff);
            s += uint64_t(a > b ? a - b : b - a);
          }
        }
        c[m * P + r] = s;
      }
#endif
  }
  static inline Dist finish(Acc a, Aux, Aux) { return int32_t(a); }
};

// Row auxiliaries: float policies use one function for both sides.
template <class Pol> static typename Pol::Aux aux_x(const typename Pol::In* r, int64_t d) {
  if constexpr (std::is_floating_point_v<typename Pol::In>) return Pol::aux(r, d);
  else return Pol::aux_x(r, d);
}
template <class Pol> static typename Pol::Aux aux_y(const typename Pol::In* r, int64_t d) {
  if constexpr (std::is_floating_point_v<typename Pol::In>) return Pol::aux(r, d);
  else return Pol::aux_y(r, d);
}

// ------------------------------------------------------------------------------------
// The tiled driver: pack, then stream panels past chunks of queries.
// ------------------------------------------------------------------------------------

// Runs f() over items in parallel, catching exceptions and rethrowing the first after the
// region (an exception must not cross an OpenMP boundary).
template <class F> static void parallel_items(int64_t n, int threads, F f) {
  std::exception_ptr err;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t it = 0; it < n; ++it) {
    try {
      f(it);
    } catch (...) {
#pragma omp critical(imgclf_err)
      if (!err) err = std::current_exception();
    }
  }
  if (err) std::rethrow_exception(err);
}

template <class Pol> struct Packed {
  using In = typename Pol::In;
  using Aux = typename Pol::Aux;
  int64_t nt, d, ng, npanels, panel_elems;
  Buffer<In> panels;
  Buffer<Aux> yaux;

  Packed(const In* Y, int64_t nt_, int64_t d_, int threads, Cancel& cancel)
      : nt(nt_),
        d(d_),
        ng(Pol::groups(d_)),
        npanels((nt_ + P - 1) / P),
        panel_elems(Pol::groups(d_) * P * Pol::G) {
    panels.reset(size_t(npanels * panel_elems));
    yaux.reset(size_t(npanels * P));
    parallel_items(npanels, threads, [&](int64_t p) {
      if (omp_get_thread_num() == 0) cancel.poll();
      if (cancel.stopped()) return;
      Pol::pack_panel(Y, nt, d, p, panels.data() + p * panel_elems);
      for (int r = 0; r < P; ++r) {
        int64_t row = p * P + r;
        yaux[size_t(row)] = row < nt ? aux_y<Pol>(Y + row * d, d) : Aux(0);
      }
    });
  }
  const In* panel(int64_t p) const { return panels.data() + p * panel_elems; }
};

// Queries per chunk: a multiple of MR whose packed rows take about 768 KiB (L2-resident:
// larger chunks re-read each training panel fewer times; see bench/NOTES.md).
template <class Pol> static int64_t chunk_rows(int64_t d) {
  int64_t row_bytes =
      std::max<int64_t>(1, Pol::groups(d) * Pol::XWPG * (int64_t)sizeof(typename Pol::XW));
  int64_t mb = (768 * 1024 / row_bytes) / Pol::MR * Pol::MR;
  return std::clamp<int64_t>(mb, Pol::MR, 160 * Pol::MR);
}

// Calls sink(q, j, dist) for every (query, training row) pair of the work item
// [q0, q1) x panels [p0, p1), tile by tile.  `sink` is the fused top-k or a matrix store.
// Yp: training panels packed in Pol's layout (possibly by another policy with the same
// layout, as the exact float32 pass reuses the panels of the fast one).
template <class Pol, class Pk, class Sink>
static void run_item(const typename Pol::In* X, int64_t nq, const Pk& Yp, int64_t q0, int64_t q1,
                     int64_t p0, int64_t p1, Cancel& cancel, bool poller, Sink sink) {
  using XW = typename Pol::XW;
  using Acc = typename Pol::Acc;
  static_assert(std::is_same<typename Pol::In, typename Pk::In>::value, "panel element type");
  const int64_t d = Yp.d, ng = Yp.ng;
  constexpr int MR = Pol::MR;
  const int64_t nblocks = (q1 - q0 + MR - 1) / MR;
  const int64_t block_words = ng * MR * Pol::XWPG;
  Buffer<XW> xpack(size_t(nblocks * block_words));
  Buffer<typename Pol::Aux> xaux(size_t(nblocks * MR));
  for (int64_t b = 0; b < nblocks; ++b) {
    Pol::pack_block(X, std::min(nq, q1), d, q0 + b * MR, xpack.data() + b * block_words);
    for (int m = 0; m < MR; ++m) {
      int64_t q = q0 + b * MR + m;
      xaux[size_t(b * MR + m)] = q < q1 ? aux_x<Pol>(X + q * d, d) : typename Pol::Aux(0);
    }
  }
  Buffer<Acc> tile(size_t(nblocks * MR * P));
  for (int64_t p = p0; p < p1; ++p) {
    if (((p - p0) & 15) == 0) {
      if (poller) cancel.poll();
      if (cancel.stopped()) return;
    }
    const typename Pol::In* yp = Yp.panel(p);
    for (int64_t g0 = 0; g0 < ng; g0 += Pol::KCG) {
      int64_t gn = std::min<int64_t>(Pol::KCG, ng - g0);
      for (int64_t b = 0; b < nblocks; ++b)
        Pol::micro(xpack.data() + b * block_words + g0 * MR * Pol::XWPG, yp + g0 * P * Pol::G, gn,
                   tile.data() + b * MR * P, g0 == 0);
    }
    const int64_t j0 = p * P;
    const int rows = int(std::min<int64_t>(P, Yp.nt - j0));
    for (int64_t b = 0; b < nblocks; ++b)
      for (int m = 0; m < MR; ++m) {
        int64_t q = q0 + b * MR + m;
        if (q >= q1) break;
        const Acc* t = tile.data() + (b * MR + m) * P;
        const typename Pol::Aux xa = xaux[size_t(b * MR + m)];
        const auto* ya = Yp.yaux.data() + j0;
        alignas(64) typename Pol::Dist row[P];
#pragma GCC ivdep
        for (int r = 0; r < P; ++r) row[r] = Pol::finish(t[r], xa, typename Pol::Aux(ya[r]));
        sink(q, j0, rows, row);
      }
  }
}

// For each query the kk best (dist, index) pairs under Pol's distance, sorted, against
// training panels already packed.  A distance that is NaN never enters a list: a list can
// then hold fewer than kk entries, padded with TopK::kNoIndex (callers check).
template <class Pol, class Pk> static void knn_search(const typename Pol::In* X, int64_t nq,
                                                      const Pk& Yp, int kk, typename Pol::Dist* cd,
                                                      int32_t* ci, Cancel& cancel, int threads) {
  using Dist = typename Pol::Dist;
  const int64_t mb = chunk_rows<Pol>(Yp.d);
  const int64_t nchunks = (nq + mb - 1) / mb;
  int64_t nsplit = 1;
  if (nchunks < 2 * threads)
    nsplit = std::min<int64_t>(Yp.npanels, (2 * threads + nchunks - 1) / nchunks);
  const int64_t ppsplit = (Yp.npanels + nsplit - 1) / nsplit;
  nsplit = (Yp.npanels + ppsplit - 1) / ppsplit;

  // With several splits, each writes its own candidate lists, merged below.
  Buffer<Dist> sd(nsplit > 1 ? size_t(nsplit * nq * kk) : 0);
  Buffer<int32_t> si(nsplit > 1 ? size_t(nsplit * nq * kk) : 0);
  parallel_items(nchunks * nsplit, threads, [&](int64_t it) {
    const int64_t c = it / nsplit, s = it % nsplit;
    const int64_t q0 = c * mb, q1 = std::min(nq, q0 + mb);
    const int64_t p0 = s * ppsplit, p1 = std::min(Yp.npanels, p0 + ppsplit);
    Dist* hd = nsplit > 1 ? sd.data() + (s * nq + q0) * kk : cd + q0 * kk;
    int32_t* hi = nsplit > 1 ? si.data() + (s * nq + q0) * kk : ci + q0 * kk;
    std::vector<TopK<Dist>> heaps(size_t(q1 - q0));
    for (int64_t q = q0; q < q1; ++q) {
      heaps[size_t(q - q0)] = TopK<Dist>{hd + (q - q0) * kk, hi + (q - q0) * kk, kk};
      heaps[size_t(q - q0)].clear();
    }
    const bool poller = omp_get_thread_num() == 0;
    run_item<Pol>(X, nq, Yp, q0, q1, p0, p1, cancel, poller,
                  [&](int64_t q, int64_t j0, int rows, const Dist* row) {
                    TopK<Dist>& h = heaps[size_t(q - q0)];
                    const Dist thr = h.top();
                    int hit = 0;  // vectorized test: does any distance reach the heap?
                    for (int r = 0; r < P; ++r) hit |= row[r] <= thr;
                    if (!hit) return;
                    for (int r = 0; r < rows; ++r)
                      if (row[r] <= h.top()) h.push(row[r], int32_t(j0 + r));
                  });
    for (auto& h : heaps) h.sort();
  });
  if (nsplit == 1 || cancel.stopped()) return;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t q = 0; q < nq; ++q) {
    TopK<Dist> h{cd + q * kk, ci + q * kk, kk};
    h.clear();
    for (int64_t s = 0; s < nsplit; ++s) {
      const Dist* a = sd.data() + (s * nq + q) * kk;
      const int32_t* b = si.data() + (s * nq + q) * kk;
      for (int t = 0; t < kk && b[t] != TopK<Dist>::kNoIndex; ++t) {
        if (!h.less(a[t], b[t], h.d[0], h.i[0])) break;  // sorted: the rest lose too
        h.push(a[t], b[t]);
      }
    }
    h.sort();
  }
}

// A training index that never entered a top-k list: only a NaN distance (NaN input) leaves
// one behind.  Refused rather than returned.
static void check_filled(const int32_t* idx, int64_t n) {
  for (int64_t t = 0; t < n; ++t)
    if (idx[t] == TopK<float>::kNoIndex)
      throw std::domain_error("the inputs contain NaN: no distance to compare");
}

template <class Pol, class Out, class Fin>
static void pairwise_impl(const typename Pol::In* X, int64_t nq, const typename Pol::In* Y,
                          int64_t nt, int64_t d, Out* out, Fin fin, Cancel& cancel, int threads) {
  Packed<Pol> Yp(Y, nt, d, threads, cancel);
  if (cancel.stopped()) return;
  const int64_t mb = chunk_rows<Pol>(d);
  const int64_t nchunks = (nq + mb - 1) / mb;
  int64_t nsplit = nchunks < 2 * threads ? std::min<int64_t>(Yp.npanels, 2 * threads) : 1;
  const int64_t ppsplit = (Yp.npanels + nsplit - 1) / nsplit;
  nsplit = (Yp.npanels + ppsplit - 1) / ppsplit;
  parallel_items(nchunks * nsplit, threads, [&](int64_t it) {
    const int64_t c = it / nsplit, s = it % nsplit;
    const int64_t q0 = c * mb, q1 = std::min(nq, q0 + mb);
    const int64_t p0 = s * ppsplit, p1 = std::min(Yp.npanels, p0 + ppsplit);
    run_item<Pol>(X, nq, Yp, q0, q1, p0, p1, cancel, omp_get_thread_num() == 0,
                  [&](int64_t q, int64_t j0, int rows, const auto* row) {
                    Out* o = out + q * nt + j0;
                    for (int r = 0; r < rows; ++r) o[r] = fin(row[r]);
                  });
  });
}

// ------------------------------------------------------------------------------------
// float32: fast candidates, float64 re-rank, proof of completeness, exact pass.
// ------------------------------------------------------------------------------------

static double exact_dist(const float* x, const float* y, int64_t d, Metric m) {
  double s[4] = {0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 4 <= d; k += 4)
    for (int t = 0; t < 4; ++t) {
      double v = double(y[k + t]) - double(x[k + t]);
      s[t] += m == Metric::L1 ? std::fabs(v) : v * v;
    }
  for (; k < d; ++k) {
    double v = double(y[k]) - double(x[k]);
    s[0] += m == Metric::L1 ? std::fabs(v) : v * v;
  }
  return (s[0] + s[1]) + (s[2] + s[3]);
}

// Per-row norms in double: |row|_2 (l2) or |row|_1 (l1).
static void row_norms(const float* A, int64_t n, int64_t d, bool l1, double* out, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads) if (n * d > 65536)
  for (int64_t j = 0; j < n; ++j) {
    // eight independent partial sums (vectorized; one loop-carried add per element made
    // this a fixed cost of every float32 knn call); the bound it feeds has room for any
    // summation order
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const float* a = A + j * d;
    int64_t t = 0;
    if (l1) {
      for (; t + 8 <= d; t += 8)
        for (int l = 0; l < 8; ++l) acc[l] += std::fabs(double(a[t + l]));
      for (; t < d; ++t) acc[0] += std::fabs(double(a[t]));
    } else {
      for (; t + 8 <= d; t += 8)
        for (int l = 0; l < 8; ++l) acc[l] += double(a[t + l]) * double(a[t + l]);
      for (; t < d; ++t) acc[0] += double(a[t]) * double(a[t]);
    }
    const double s =
        ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    out[j] = l1 ? s : std::sqrt(s);
  }
}

// The float32 candidate pass is used only where none of its intermediate sums can overflow:
// every one is bounded by (|x|_2 + |y|_2)^2 (l2) or |x|_1 + |y|_1 (l1); 2^120 leaves room
// below FLT_MAX (2^128) for the rounding.  Beyond it, every query takes the exact pass.
static bool fast_pass_safe(double xmax, double ymax, bool l1) {
  const double lim = std::ldexp(1.0, 120);
  return l1 ? xmax + ymax < lim : (xmax + ymax) * (xmax + ymax) < lim;
}

template <Op fast_op, Op exact_op>
static int64_t knn_f32_impl(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d,
                            int64_t k, Metric metric, float* out_d, int64_t* out_i, Cancel& cancel,
                            int threads) {
  using Fast = FloatPolicy<float, fast_op>;
  using Exact = WidePolicy<exact_op>;
  const bool l1 = metric == Metric::L1, root = metric == Metric::L2;
  auto emit = [&](int64_t q, int64_t t, double dist, int32_t idx) {
    out_d[q * k + t] = float(root ? std::sqrt(dist) : dist);
    out_i[q * k + t] = idx;
  };
  std::vector<double> xn(static_cast<size_t>(nq)), yn(static_cast<size_t>(nt));
  row_norms(X, nq, d, l1, xn.data(), threads);
  row_norms(Y, nt, d, l1, yn.data(), threads);
  const double xmax = *std::max_element(xn.begin(), xn.end());
  const double ymax = *std::max_element(yn.begin(), yn.end());
  Packed<Fast> Yp(Y, nt, d, threads, cancel);
  if (cancel.stopped()) return 0;

  std::vector<int64_t> redo;
  if (!fast_pass_safe(xmax, ymax, l1)) {
    for (int64_t q = 0; q < nq; ++q) redo.push_back(q);
  } else {
    const int kk = int(std::min<int64_t>(nt, 2 * k + 8));
    Buffer<float> cd(size_t(nq * kk));
    Buffer<int32_t> ci(size_t(nq * kk));
    knn_search<Fast>(X, nq, Yp, kk, cd.data(), ci.data(), cancel, threads);
    if (cancel.stopped()) return 0;

    // Rounding bounds of the float32 pass (u = 2^-24, gamma_n = n u / (1 - n u)), with a
    // the true distance and t the float32 one:
    //   L2 by |x|^2 + |y|^2 - 2 x.y:        |a - t| <= (2 gamma_d + 4u) (|x|_2 + |y|_2,max)^2
    //   L1 by sum x + sum y - 2 sum min:  |a - t| <= (2 gamma_d + 8u) (|x|_1 + |y|_1,max)
    // (the float32 sum of the d mins is off by at most gamma_d sum |min| <= gamma_d
    // (|x|_1 + |y|_1); the row sums and the final combination add a few u of the same scale).
    // Gradual underflow adds an absolute error of at most 2^-150 per product and per
    // rounded norm: (d + 8) 2^-149 covers it, so tiny inputs are proven (or redone) too.
    const double u = std::ldexp(1.0, -24);
    const double gam = double(d) * u / (1.0 - double(d) * u);
    const double under = double(d + 8) * std::ldexp(1.0, -149);
#pragma omp parallel num_threads(threads)
    {
      std::vector<double> ed(static_cast<size_t>(kk));
      std::vector<int32_t> ei(static_cast<size_t>(kk));
      std::vector<int64_t> my_redo;
      const bool poller = omp_get_thread_num() == 0;
#pragma omp for schedule(static)
      for (int64_t q = 0; q < nq; ++q) {
        if (poller && (q & 255) == 0) cancel.poll();
        if (cancel.stopped()) continue;
        const float* x = X + q * d;
        const float* a = cd.data() + q * kk;
        const int32_t* ix = ci.data() + q * kk;
        // a NaN candidate distance leaves a list short: no proof, the exact pass decides
        bool proven = std::isfinite(a[kk - 1]) && ix[kk - 1] != TopK<float>::kNoIndex;
        if (!proven) {
          my_redo.push_back(q);
          continue;
        }
        for (int t = 0; t < kk; ++t) {
          ed[size_t(t)] = exact_dist(x, Y + int64_t(ix[t]) * d, d, metric);
          ei[size_t(t)] = ix[t];
        }
        TopK<double> h{ed.data(), ei.data(), kk};
        h.sort();
        if (kk < nt) {  // (kk == nt: every training row is a candidate)
          const double worst = double(a[kk - 1]), dk = ed[size_t(k - 1)];
          const double xq = xn[size_t(q)];
          const double e = l1 ? 1.01 * (2 * gam + 8 * u) * (xq + ymax) + under
                              : 1.01 * (2 * gam + 4 * u) * (xq + ymax) * (xq + ymax) + under;
          proven = worst - e > dk;
        }
        if (!proven) {
          my_redo.push_back(q);
          continue;
        }
        for (int64_t t = 0; t < k; ++t) emit(q, t, ed[size_t(t)], ei[size_t(t)]);
      }
#pragma omp critical(imgclf_redo)
      redo.insert(redo.end(), my_redo.begin(), my_redo.end());
    }
    if (cancel.stopped()) return 0;
    std::sort(redo.begin(), redo.end());
  }
  if (redo.empty()) return 0;

  // Queries whose candidates could not be proven complete (near-ties, duplicated rows,
  // extreme magnitudes): the exact pass, tiled like the fast one on the same panels, with
  // float64 sums.
  const int64_t nr = int64_t(redo.size());
  Buffer<float> xr(size_t(nr * d));
  for (int64_t r = 0; r < nr; ++r)
    std::memcpy(xr.data() + r * d, X + redo[size_t(r)] * d, size_t(d) * sizeof(float));
  Buffer<double> hd(size_t(nr * k));
  Buffer<int32_t> hi(size_t(nr * k));
  knn_search<Exact>(xr.data(), nr, Yp, int(k), hd.data(), hi.data(), cancel, threads);
  if (cancel.stopped()) return 0;
  check_filled(hi.data(), nr * k);
  for (int64_t r = 0; r < nr; ++r)
    for (int64_t t = 0; t < k; ++t)
      emit(redo[size_t(r)], t, hd[size_t(r * k + t)], hi[size_t(r * k + t)]);
  return nr;
}

static int64_t knn_f32(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d, int64_t k,
                       Metric metric, float* out_d, int64_t* out_i, Cancel& cancel, int threads) {
  if (metric == Metric::L1)
    return knn_f32_impl<Op::Min, Op::Abs>(X, nq, Y, nt, d, k, metric, out_d, out_i, cancel,
                                          threads);
  return knn_f32_impl<Op::Dot, Op::Sq>(X, nq, Y, nt, d, k, metric, out_d, out_i, cancel, threads);
}

template <class Pol, class OutD>
static int64_t knn_direct(const typename Pol::In* X, int64_t nq, const typename Pol::In* Y,
                          int64_t nt, int64_t d, int64_t k, bool root, OutD* out_d, int64_t* out_i,
                          Cancel& cancel, int threads) {
  using Dist = typename Pol::Dist;
  Buffer<Dist> cd(size_t(nq * k));
  Buffer<int32_t> ci(size_t(nq * k));
  {
    Packed<Pol> Yp(Y, nt, d, threads, cancel);
    if (cancel.stopped()) return 0;
    knn_search<Pol>(X, nq, Yp, int(k), cd.data(), ci.data(), cancel, threads);
  }
  if (cancel.stopped()) return 0;
  check_filled(ci.data(), nq * k);
  for (int64_t t = 0; t < nq * k; ++t) {
    out_d[t] = root ? OutD(std::sqrt(double(cd[size_t(t)]))) : OutD(cd[size_t(t)]);
    out_i[t] = ci[size_t(t)];
  }
  return 0;
}

static int64_t knn_f64(const double* X, int64_t nq, const double* Y, int64_t nt, int64_t d,
                       int64_t k, Metric m, double* out_d, int64_t* out_i, Cancel& cancel,
                       int threads) {
  if (m == Metric::L1)
    return knn_direct<FloatPolicy<double, Op::Abs>>(X, nq, Y, nt, d, k, false, out_d, out_i, cancel,
                                                    threads);
  return knn_direct<FloatPolicy<double, Op::Sq>>(X, nq, Y, nt, d, k, m == Metric::L2, out_d, out_i,
                                                 cancel, threads);
}

// uint8: exact integer distances; "l2" is the caller's (the root of an exact int32).
static int64_t knn_u8(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt, int64_t d,
                      int64_t k, Metric m, int32_t* out_d, int64_t* out_i, Cancel& cancel,
                      int threads) {
  if (m == Metric::L1)
    return knn_direct<U8L1Policy>(X, nq, Y, nt, d, k, false, out_d, out_i, cancel, threads);
  return knn_direct<U8L2Policy>(X, nq, Y, nt, d, k, false, out_d, out_i, cancel, threads);
}

// float32 pairwise distances are summed in float32 unless a square could overflow (the
// largest value) or a squared difference could fall into float32's subnormal range (values
// below 2^-40 in magnitude: two distinct floats that small differ by less than 2^-63):
// then in double, rounded once to float32 (after the root for "l2").
static bool pairwise_f32_wide(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d,
                              Metric m, int threads) {
  float amax = 0.f, amin = INFINITY;
  auto scan = [&](const float* A, int64_t n) {
    float hi = 0.f, lo = INFINITY;
#pragma omp parallel for reduction(max : hi) reduction(min : lo) \
    num_threads(threads) if (n * d > 65536)
    for (int64_t t = 0; t < n * d; ++t) {
      const float v = std::fabs(A[t]);
      hi = std::max(hi, v);
      if (v > 0.f) lo = std::min(lo, v);
    }
    amax = std::max(amax, hi);
    amin = std::min(amin, lo);
  };
  scan(X, nq);
  scan(Y, nt);
  const double big = 2.0 * double(amax);
  if (m == Metric::L1) return big * double(d) >= std::ldexp(1.0, 120);
  return big * big * double(d) >= std::ldexp(1.0, 120) || double(amin) < std::ldexp(1.0, -40);
}

static void pairwise_distances_f32(const float* X, int64_t nq, const float* Y, int64_t nt,
                                   int64_t d, Metric m, float* out, Cancel& cancel, int threads) {
  const bool root = m == Metric::L2;
  if (pairwise_f32_wide(X, nq, Y, nt, d, m, threads)) {
    auto fin = [root](double v) { return float(root ? std::sqrt(v) : v); };
    if (m == Metric::L1)
      pairwise_impl<WidePolicy<Op::Abs>>(X, nq, Y, nt, d, out, fin, cancel, threads);
    else pairwise_impl<WidePolicy<Op::Sq>>(X, nq, Y, nt, d, out, fin, cancel, threads);
    return;
  }
  auto fin = [root](float v) { return root ? std::sqrt(v) : v; };
  if (m == Metric::L1)
    pairwise_impl<FloatPolicy<float, Op::Abs>>(X, nq, Y, nt, d, out, fin, cancel, threads);
  else pairwise_impl<FloatPolicy<float, Op::Sq>>(X, nq, Y, nt, d, out, fin, cancel, threads);
}
static void pairwise_distances_f64(const double* X, int64_t nq, const double* Y, int64_t nt,
                                   int64_t d, Metric m, double* out, Cancel& cancel, int threads) {
  const bool root = m == Metric::L2;
  auto fin = [root](double v) { return root ? std::sqrt(v) : v; };
  if (m == Metric::L1)
    pairwise_impl<FloatPolicy<double, Op::Abs>>(X, nq, Y, nt, d, out, fin, cancel, threads);
  else pairwise_impl<FloatPolicy<double, Op::Sq>>(X, nq, Y, nt, d, out, fin, cancel, threads);
}
static void pairwise_distances_u8(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt,
                                  int64_t d, Metric m, int32_t* out, Cancel& cancel, int threads) {
  auto fin = [](int32_t v) { return v; };
  if (m == Metric::L1) pairwise_impl<U8L1Policy>(X, nq, Y, nt, d, out, fin, cancel, threads);
  else pairwise_impl<U8L2Policy>(X, nq, Y, nt, d, out, fin, cancel, threads);
}

// Majority or distance-weighted vote over each query's sorted neighbour labels.
static void vote(const int64_t* labels, const double* dist, int64_t nq, int64_t k,
                 int64_t n_classes, Weights weights, TieBreak tie_break, int64_t* out_labels,
                 double* out_scores, int threads) {
  const bool by_distance = weights == Weights::Distance;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t q = 0; q < nq; ++q) {
    const int64_t* lab = labels + q * k;
    const double* dq = dist ? dist + q * k : nullptr;
    double* sc = out_scores + q * n_classes;
    for (int64_t c = 0; c < n_classes; ++c) sc[c] = 0.0;
    bool exact = false;  // distance weights: exact matches (distance 0) outvote the rest
    if (by_distance)
      for (int64_t t = 0; t < k; ++t) exact = exact || dq[t] == 0.0;
    for (int64_t t = 0; t < k; ++t) {
      double w = 1.0;
      if (by_distance) w = exact ? (dq[t] == 0.0 ? 1.0 : 0.0) : 1.0 / dq[t];
      sc[lab[t]] += w;
    }
    double best = sc[0];
    for (int64_t c = 1; c < n_classes; ++c) best = sc[c] > best ? sc[c] : best;
    int64_t choice = -1;
    if (tie_break == TieBreak::Nearest) {  // the tied class met first in distance order
      for (int64_t t = 0; t < k && choice < 0; ++t)
        if (sc[lab[t]] == best) choice = lab[t];
    }
    if (choice < 0)  // smallest tied label (also the rule when no neighbour has weight)
      for (int64_t c = 0; c < n_classes && choice < 0; ++c)
        if (sc[c] == best) choice = c;
    out_labels[q] = choice;
  }
}

static constexpr KnnOps knn_ops() {
  KnnOps o{};
  o.knn_f32 = knn_f32;
  o.knn_f64 = knn_f64;
  o.knn_u8 = knn_u8;
  o.pairwise_distances_f32 = pairwise_distances_f32;
  o.pairwise_distances_f64 = pairwise_distances_f64;
  o.pairwise_distances_u8 = pairwise_distances_u8;
  o.vote = vote;
  return o;
}

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
