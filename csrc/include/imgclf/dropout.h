// The dropout mask: a counter-based hash of (seed, element index), so the CPU, the GPU and
// the NumPy reference drop exactly the same elements, whatever the thread or block split.
// splitmix64's finalizer over seed + (i + 1) * golden gamma; the top 24 bits against the
// drop threshold round(p * 2^24).
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define IMGCLF_HD __host__ __device__
#else
#define IMGCLF_HD
#endif

namespace imgclf {

IMGCLF_HD inline uint64_t dropout_hash(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Elements whose 24-bit draw is below this are dropped.
IMGCLF_HD inline uint32_t dropout_threshold(double p) { return uint32_t(p * 16777216.0 + 0.5); }

IMGCLF_HD inline bool dropout_keep(uint64_t seed, uint64_t i, uint32_t threshold) {
  return uint32_t(dropout_hash(seed, i) >> 40) >= threshold;
}

}  // namespace imgclf
