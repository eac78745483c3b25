// The optim family (optim_impl.h) at one SIMD level; CMakeLists.txt compiles this file once
// per level with IMGCLF_ISA=<level> and the level's instruction-set flags.
#include "optim_impl.h"
#include "isa_parts.h"

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {
const OptimPart optim_part = {optim_f32, optim_f64};
}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
