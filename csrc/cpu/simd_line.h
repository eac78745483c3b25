// One SIMD register of float or double as a GCC vector, shared by the kernel templates
// that are compiled once per SIMD level: a zmm (64 bytes) under AVX-512, a ymm (32) under
// AVX2, an xmm (16) otherwise.  The width is the level's own: a 64-byte vector on AVX2 is
// split into two ymm by the compiler, which doubles every register-blocked kernel's
// accumulators past the 16 registers and spills them (the packed GEMM ran 100x slower).
// Memory is only touched through memcpy, so unaligned addresses are fine (a template
// argument would drop an aligned(4) attribute, which is why there is one typedef per
// element type).
#pragma once
#include <type_traits>

#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including simd_line.h"
#endif

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {

#if defined(__AVX512F__)
#define IMGCLF_LINE_BYTES 64
#elif defined(__AVX2__)
#define IMGCLF_LINE_BYTES 32
#else
#define IMGCLF_LINE_BYTES 16
#endif
constexpr int kLineBytes = IMGCLF_LINE_BYTES;
typedef float LineF __attribute__((vector_size(IMGCLF_LINE_BYTES)));
typedef double LineD __attribute__((vector_size(IMGCLF_LINE_BYTES)));
template <class T> using Line =
    typename std::conditional<std::is_same<T, float>::value, LineF, LineD>::type;

template <class T> inline Line<T> load(const T* p) {
  Line<T> r;
  __builtin_memcpy(&r, p, kLineBytes);
  return r;
}
template <class T> inline void store(T* p, const Line<T>& v) {
  __builtin_memcpy(p, &v, kLineBytes);
}

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
