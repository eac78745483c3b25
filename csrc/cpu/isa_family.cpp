// One kernel family at one SIMD level.  CMakeLists.txt compiles this file once per
// (family, level) -- every family of families.h, every level of the build -- with
// IMGCLF_ISA=<level>, IMGCLF_FAMILY=<family>, IMGCLF_FAMILY_IMPL="<family>_impl.h" and the
// level's instruction-set flags, so the families and levels compile in parallel and each
// family can have its own compiler flags.  It exports the family's table,
// imgclf::cpu::<level>::<family>_table; isa_table.cpp joins a level's tables into its Ops.
#if !defined(IMGCLF_ISA) || !defined(IMGCLF_FAMILY) || !defined(IMGCLF_FAMILY_IMPL)
#error "define IMGCLF_ISA, IMGCLF_FAMILY and IMGCLF_FAMILY_IMPL before compiling isa_family.cpp"
#endif
#include "kernels.h"
#include IMGCLF_FAMILY_IMPL

#define IMGCLF_CAT2(a, b) a##b
#define IMGCLF_CAT(a, b) IMGCLF_CAT2(a, b)
#define IMGCLF_TABLE IMGCLF_CAT(IMGCLF_FAMILY, _table)
#define IMGCLF_MAKE IMGCLF_CAT(IMGCLF_FAMILY, _ops)

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {

// constexpr: the table is built at compile time.  Nothing of this translation unit may run
// when the module loads on a CPU without its instruction set (a dynamic initializer here
// would execute, say, AVX-512 stores on an AVX2 machine).
extern const decltype(IMGCLF_MAKE()) IMGCLF_TABLE;
constexpr decltype(IMGCLF_MAKE()) IMGCLF_TABLE = IMGCLF_MAKE();

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
