// The dense family (gemm_impl.h: gemm, bias + activation, row gather) at one SIMD level;
// CMakeLists.txt compiles this file once per level with IMGCLF_ISA=<level> and the level's
// instruction-set flags.
#include "gemm_impl.h"
#include "isa_parts.h"

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {
const GemmPart gemm_part = {gemm_f32,         gemm_f64,         bias_act_f32, bias_act_f64,
                            act_backward_f32, act_backward_f64, gather_f32,   gather_f64};
}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
