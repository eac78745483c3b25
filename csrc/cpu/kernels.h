// The CPU kernel families and the run-time SIMD dispatch table.
//
// Every SIMD level (generic, avx2, avx512) compiles the same template (knn_impl.h) in its
// own translation unit with its own instruction-set flags, and exports one `Ops` table.
// dispatch.cpp picks the best table the running CPU supports.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "imgclf/common.h"

namespace imgclf {
namespace cpu {

// Fused k-nearest-neighbour search.  Writes (n_queries, k) distances and training indices,
// each row sorted by (distance, index).  Metric::SqL2 gives squared Euclidean distances.
// float32: candidates from a fast float32 pass are re-ranked with float64 distances, and a
// query whose candidate set cannot be proven complete is searched again exactly; the
// return value counts those queries.  uint8: exact int32 distances.
using KnnF32 = int64_t (*)(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d,
                           int64_t k, Metric m, float* out_d, int64_t* out_i, Cancel& cancel,
                           int threads);
using KnnF64 = int64_t (*)(const double* X, int64_t nq, const double* Y, int64_t nt,
                           int64_t d, int64_t k, Metric m, double* out_d, int64_t* out_i,
                           Cancel& cancel, int threads);
using KnnU8 = int64_t (*)(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt,
                          int64_t d, int64_t k, Metric m, int32_t* out_d, int64_t* out_i,
                          Cancel& cancel, int threads);
// The full (n_queries, n_train) distance matrix, computed directly (no GEMM identity).
using PairF32 = void (*)(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d,
                         Metric m, float* out, Cancel& cancel, int threads);
using PairF64 = void (*)(const double* X, int64_t nq, const double* Y, int64_t nt, int64_t d,
                         Metric m, double* out, Cancel& cancel, int threads);
using PairU8 = void (*)(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt, int64_t d,
                        Metric m, int32_t* out, Cancel& cancel, int threads);

struct Ops {
  const char* name;
  KnnF32 knn_f32;
  KnnF64 knn_f64;
  KnnU8 knn_u8;
  PairF32 pairwise_f32;
  PairF64 pairwise_f64;
  PairU8 pairwise_u8;
};

namespace generic { extern const Ops ops; }
#if defined(IMGCLF_X86)
namespace avx2 { extern const Ops ops; }
namespace avx512 { extern const Ops ops; }
#endif

// dispatch.cpp
std::vector<std::string> simd_levels();  // supported by this CPU, best first
const Ops& active_ops();
std::string simd_level();
void set_simd_level(const std::string& name);  // throws std::invalid_argument
int num_threads();
void set_num_threads(int n);  // n <= 0 restores the OpenMP default

// vote.cpp: majority / distance-weighted vote over sorted neighbour labels.
// weights: 0 uniform, 1 distance.  tie_break: 0 nearest, 1 smallest.
void vote(const int64_t* labels, const double* dist, int64_t nq, int64_t k, int64_t n_classes,
          int weights, int tie_break, int64_t* out_labels, double* out_scores, int threads);

}  // namespace cpu
}  // namespace imgclf
