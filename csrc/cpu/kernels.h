// The CPU kernels: one table per SIMD level, chosen at run time.
//
// Every SIMD level (generic, avx2, avx512) compiles the same family templates
// (<family>_impl.h, declared in <family>.h) in its own translation unit (isa_*.cpp) with
// its own instruction-set flags, and exports one `Ops` table holding each family's kernels
// (families.h lists them).  dispatch.cpp picks the best table the running CPU supports.
#pragma once
#include <string>
#include <vector>

#include "families.h"

namespace imgclf {
namespace cpu {

// The kernels of one SIMD level: one member per family.
struct Ops {
  const char* name;
#define IMGCLF_OPS_MEMBER(family, Table) Table family;
  IMGCLF_CPU_FAMILIES(IMGCLF_OPS_MEMBER)
#undef IMGCLF_OPS_MEMBER
};

namespace generic {
extern const Ops ops;
}
#if defined(IMGCLF_X86)
namespace avx2 {
extern const Ops ops;
}
namespace avx512 {
extern const Ops ops;
}
#endif

// dispatch.cpp
std::vector<std::string> simd_levels();  // supported by this CPU, best first
const Ops& active_ops();
std::string simd_level();
void set_simd_level(const std::string& name);  // throws std::invalid_argument
int num_threads();
void set_num_threads(int n);  // n <= 0 restores the OpenMP default

}  // namespace cpu
}  // namespace imgclf
