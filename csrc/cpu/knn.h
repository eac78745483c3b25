// The knn family's kernels (knn_impl.h): fused k-nearest-neighbour search, the full
// distance matrix, and the vote over neighbour labels.
#pragma once
#include <cstdint>

#include "imgclf/common.h"

namespace imgclf {
namespace cpu {

// uint8 distances are exact int32: the most features for which every distance fits below
// 2^31 (255 d for L1, 255^2 d for squared L2; imgclf._reference holds the same two numbers)
constexpr int64_t kU8L1MaxFeatures = 8421504;
constexpr int64_t kU8SqL2MaxFeatures = 33025;

// Fused k-nearest-neighbour search.  Writes (n_queries, k) distances and training indices,
// each row sorted by (distance, index).  float32: candidates from a fast float32 pass are
// re-ranked with float64 distances, and a query whose candidate set cannot be proven
// complete takes an exact pass (float32 differences summed in float64); the return value
// counts those queries.  uint8: exact int32 distances (Metric::L2 is refused: the caller
// takes the root of the exact squared distance).  NaN input raises std::domain_error.
using KnnF32 = int64_t (*)(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d,
                           int64_t k, Metric m, float* out_d, int64_t* out_i, Cancel& cancel,
                           int threads);
using KnnF64 = int64_t (*)(const double* X, int64_t nq, const double* Y, int64_t nt, int64_t d,
                           int64_t k, Metric m, double* out_d, int64_t* out_i, Cancel& cancel,
                           int threads);
using KnnU8 = int64_t (*)(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt, int64_t d,
                          int64_t k, Metric m, int32_t* out_d, int64_t* out_i, Cancel& cancel,
                          int threads);
// The full (n_queries, n_train) distance matrix, each distance summed directly.
using PairwiseF32 = void (*)(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d,
                             Metric m, float* out, Cancel& cancel, int threads);
using PairwiseF64 = void (*)(const double* X, int64_t nq, const double* Y, int64_t nt, int64_t d,
                             Metric m, double* out, Cancel& cancel, int threads);
using PairwiseU8 = void (*)(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt, int64_t d,
                            Metric m, int32_t* out, Cancel& cancel, int threads);
// Majority or distance-weighted vote over each query's k neighbour labels (nearest first);
// dist may be null for uniform weights.  Writes labels (nq) and scores (nq, n_classes).
using Vote = void (*)(const int64_t* labels, const double* dist, int64_t nq, int64_t k,
                      int64_t n_classes, Weights weights, TieBreak tie_break, int64_t* out_labels,
                      double* out_scores, int threads);

struct KnnOps {
  KnnF32 knn_f32;
  KnnF64 knn_f64;
  KnnU8 knn_u8;
  PairwiseF32 pairwise_distances_f32;
  PairwiseF64 pairwise_distances_f64;
  PairwiseU8 pairwise_distances_u8;
  Vote vote;
};

}  // namespace cpu
}  // namespace imgclf
