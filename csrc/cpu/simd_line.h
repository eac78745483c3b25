// One cache line of float or double as a GCC vector, shared by the kernel templates that
// are compiled once per SIMD level: native zmm under AVX-512, split by the compiler into
// two ymm (AVX2) or four xmm (SSE2).  Memory is only touched through memcpy, so unaligned
// addresses are fine (a template argument would drop an aligned(4) attribute, which is why
// there is one typedef per element type).
#pragma once
#include <type_traits>

#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including simd_line.h"
#endif

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {

typedef float LineF __attribute__((vector_size(64)));
typedef double LineD __attribute__((vector_size(64)));
template <class T>
using Line = typename std::conditional<std::is_same<T, float>::value, LineF, LineD>::type;

template <class T>
inline Line<T> load(const T* p) {
  Line<T> r;
  __builtin_memcpy(&r, p, 64);
  return r;
}
template <class T>
inline void store(T* p, const Line<T>& v) {
  __builtin_memcpy(p, &v, 64);
}

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
