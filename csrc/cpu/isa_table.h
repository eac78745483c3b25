// The Ops table of one SIMD level: included last by each isa_*.cpp, after the kernel
// templates, inside nothing (it opens the level's namespace itself).
#ifndef IMGCLF_ISA
#error "define IMGCLF_ISA before including isa_table.h"
#endif

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {
extern const Ops ops;
const Ops ops = {IMGCLF_ISA_NAME, knn_f32,         knn_f64,         knn_u8,
                 pairwise_f32,    pairwise_f64,    pairwise_u8,     class_loss_f32,
                 class_loss_f64,  penalty_f32,     penalty_f64,     linear_grad_f32,
                 linear_grad_f64, optim_f32,       optim_f64,       gemm_f32,
                 gemm_f64,        bias_act_f32,    bias_act_f64,    act_backward_f32,
                 act_backward_f64, gather_f32,     gather_f64};
}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
