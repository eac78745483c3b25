// The knn family (knn_impl.h) at one SIMD level; CMakeLists.txt compiles this file once per
// level with IMGCLF_ISA=<level> and the level's instruction-set flags.
#include "knn_impl.h"
#include "isa_parts.h"

namespace imgclf {
namespace cpu {
namespace IMGCLF_ISA {
const KnnPart knn_part = {knn_f32, knn_f64, knn_u8, pairwise_f32, pairwise_f64, pairwise_u8};
}  // namespace IMGCLF_ISA
}  // namespace cpu
}  // namespace imgclf
