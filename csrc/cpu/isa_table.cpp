// The Ops table of one SIMD level, joined from its families' tables (isa_family.cpp).
// CMakeLists.txt compiles this file once per level with IMGCLF_ISA=<level> and no
// instruction-set flags: it only copies function pointers, when the module loads, so
// nothing here can execute an instruction the CPU lacks.
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before compiling isa_table.cpp"
#endif
#include "kernels.h"

#define IMGCLF_STR2(x) #x
#define IMGCLF_STR(x) IMGCLF_STR2(x)

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {

#define IMGCLF_DECLARE(family, Table) extern const Table family##_table;
IMGCLF_CPU_FAMILIES(IMGCLF_DECLARE)
#undef IMGCLF_DECLARE

#define IMGCLF_MEMBER(family, Table) family##_table,
extern const Ops ops;
const Ops ops = {IMGCLF_STR(IMGCLF_ISA), IMGCLF_CPU_FAMILIES(IMGCLF_MEMBER)};
#undef IMGCLF_MEMBER

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
