// Throughput of the uint8 L1 inner loop on L1-resident data, one thread.
//
//   g++ -O2 -mavx512f -mavx512bw -o /tmp/u8_l1_ops bench/micro/u8_l1_ops.cpp && /tmp/u8_l1_ops
//
// The shape of imgclf's uint8 L1 tile: 6 query rows (8 bytes each, broadcast) against four
// 64-byte vectors of a training panel, 24 accumulators.  Prints billions of byte
// differences per second for VPSADBW + VPADDQ, and for VPSADBW alone (sums discarded
// into a dependency-free xor, to show the instruction's own rate).
#include <immintrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

constexpr int MR = 6, NG = 98, NV = 4;
alignas(64) uint8_t yp[NG * 256];
alignas(64) uint64_t xp[NG * MR];
alignas(64) uint64_t out[MR * 32];

template <bool Add> __attribute__((noinline)) void tile() {
  __m512i acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_setzero_si512();
  for (int g = 0; g < NG; ++g) {
    __m512i y[NV];
    for (int v = 0; v < NV; ++v) y[v] = _mm512_load_si512(yp + g * 256 + v * 64);
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m512i x = _mm512_set1_epi64(int64_t(xp[g * MR + m]));
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        __m512i s = _mm512_sad_epu8(y[v], x);
        if constexpr (Add) acc[m][v] = _mm512_add_epi64(acc[m][v], s);
        else acc[m][v] = s;  // the last group's sums survive; no add
      }
    }
    if constexpr (!Add) __asm__("" : : "v"(acc[0][0]));
  }
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) _mm512_store_si512(out + m * 32 + v * 8, acc[m][v]);
}

template <bool Add> double rate() {
  tile<Add>();
  const int reps = 20000;
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) tile<Add>();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return double(reps) * NG * MR * NV * 64 / s / 1e9;
}

int main() {
  for (auto& v : yp) v = uint8_t(rand());
  for (auto& v : xp) v = (uint64_t(rand()) << 32) ^ uint64_t(rand());
  std::printf("G byte-differences/s, one thread\n");
  for (int t = 0; t < 3; ++t)
    std::printf("sad+add %.1f | sad alone %.1f\n", rate<true>(), rate<false>());
}
