// The parts of one SIMD level's Ops table.  Each kernel family is compiled once per SIMD
// level in its own translation unit (isa_<family>.cpp, built by CMakeLists.txt with
// IMGCLF_ISA=<level> and that level's instruction-set flags) and exports its part;
// isa_table.cpp joins the four parts of a level into the level's Ops table.  One family per
// translation unit lets the two cores of a small machine build the levels in parallel and
// gives each family its own compiler flags.
#pragma once
#include "kernels.h"

namespace imgclf {
namespace cpu {

struct KnnPart {  // knn_impl.h
  KnnF32 knn_f32;
  KnnF64 knn_f64;
  KnnU8 knn_u8;
  PairF32 pairwise_f32;
  PairF64 pairwise_f64;
  PairU8 pairwise_u8;
};
struct LossPart {  // loss_impl.h
  LossF32 loss_f32;
  LossF64 loss_f64;
  PenaltyF32 penalty_f32;
  PenaltyF64 penalty_f64;
  LinearF32 linear_f32;
  LinearF64 linear_f64;
};
struct OptimPart {  // optim_impl.h
  OptimF32 optim_f32;
  OptimF64 optim_f64;
};
struct GemmPart {  // gemm_impl.h
  GemmF32 gemm_f32;
  GemmF64 gemm_f64;
  BiasActF32 bias_act_f32;
  BiasActF64 bias_act_f64;
  ActBackF32 act_backward_f32;
  ActBackF64 act_backward_f64;
  GatherF32 gather_f32;
  GatherF64 gather_f64;
};

#if defined(IMGCLF_ISA)
namespace IMGCLF_ISA {
extern const KnnPart knn_part;
extern const LossPart loss_part;
extern const OptimPart optim_part;
extern const GemmPart gemm_part;
}  // namespace IMGCLF_ISA
#endif

}  // namespace cpu
}  // namespace imgclf
