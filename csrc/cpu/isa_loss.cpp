// The loss family (loss_impl.h) at one SIMD level; CMakeLists.txt compiles this file once per
// level with IMGCLF_ISA=<level> and the level's instruction-set flags.
#include "loss_impl.h"
#include "isa_parts.h"

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {
const LossPart loss_part = {class_loss_f32, class_loss_f64,  penalty_f32,
                            penalty_f64,    linear_grad_f32, linear_grad_f64};
}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
