// The generic build of the kernel templates (its compiler flags are in CMakeLists.txt).
#define IMGCLF_ISA generic
#define IMGCLF_ISA_NAME "generic"
#include "knn_impl.h"
#include "loss_impl.h"
#include "optim_impl.h"
#include "gemm_impl.h"

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {
extern const Ops ops;
const Ops ops = {IMGCLF_ISA_NAME, knn_f32,         knn_f64,         knn_u8,
                 pairwise_f32,    pairwise_f64,    pairwise_u8,     class_loss_f32,
                 class_loss_f64,  penalty_f32,     penalty_f64,     linear_grad_f32,
                 linear_grad_f64, optim_f32,       optim_f64,       gemm_f32,
                 gemm_f64};
}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
