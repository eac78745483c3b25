// One SIMD level's build of every family, and its Ops table filled family by family.
// Included once by each isa_*.cpp, after it defines IMGCLF_ISA and IMGCLF_ISA_NAME.
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including isa_families.h"
#endif

#include "kernels.h"

#include "dense_impl.h"
#include "knn_impl.h"
#include "loss_impl.h"
#include "optim_impl.h"
#include "regularize_impl.h"

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {

// constexpr: the table is built at compile time.  Nothing of this translation unit may run
// when the module loads on a CPU without its instruction set (a dynamic initializer here
// would execute, say, AVX-512 stores on an AVX2 machine).
static constexpr Ops make_ops() {
  Ops o{};
  o.name = IMGCLF_ISA_NAME;
#define IMGCLF_FILL(family, Table) o.family = family##_ops();
  IMGCLF_CPU_FAMILIES(IMGCLF_FILL)
#undef IMGCLF_FILL
  return o;
}

extern const Ops ops;
constexpr Ops ops = make_ops();

}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
