// The Ops table of one SIMD level, joined from the parts its kernel families export
// (isa_parts.h).  CMakeLists.txt compiles this file once per level with IMGCLF_ISA=<level>;
// it needs no instruction-set flags (it only copies function pointers).  The table is
// filled when the module loads, before any kernel can be called.
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before compiling isa_table.cpp"
#endif
#include "isa_parts.h"

#define IMGCLF_STR2(x) #x
#define IMGCLF_STR(x) IMGCLF_STR2(x)

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {
extern const Ops ops;
const Ops ops = {IMGCLF_STR(IMGCLF_ISA),
                 knn_part.knn_f32,
                 knn_part.knn_f64,
                 knn_part.knn_u8,
                 knn_part.pairwise_f32,
                 knn_part.pairwise_f64,
                 knn_part.pairwise_u8,
                 loss_part.loss_f32,
                 loss_part.loss_f64,
                 loss_part.penalty_f32,
                 loss_part.penalty_f64,
                 loss_part.linear_f32,
                 loss_part.linear_f64,
                 optim_part.optim_f32,
                 optim_part.optim_f64,
                 gemm_part.gemm_f32,
                 gemm_part.gemm_f64,
                 gemm_part.bias_act_f32,
                 gemm_part.bias_act_f64,
                 gemm_part.act_backward_f32,
                 gemm_part.act_backward_f64,
                 gemm_part.gather_f32,
                 gemm_part.gather_f64};
}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
