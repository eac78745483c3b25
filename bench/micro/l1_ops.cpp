// Throughput of candidate float32 L1 inner loops on L1-resident data, one thread.
//
//   g++ -O2 -mavx512f -mavx512dq -mfma -o /tmp/l1_ops bench/micro/l1_ops.cpp && /tmp/l1_ops
//
// The loop has the shape of imgclf's float32 tile: 12 query rows broadcast against two
// 16-lane vectors of training rows, 24 accumulators.  Prints billions of (query, train,
// feature) elements per second; bench/NOTES.md (v6) explains what the numbers say.
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

constexpr int MR = 12, NG = 196;
alignas(64) float yp[NG * 32];
alignas(64) float xp[NG * MR];
alignas(64) float out[MR * 32];

enum Variant { SubAndAdd, FnmaddAndAdd, MaxAdd, MinFma, FmaOnly, AddOnly };

template <int V> __attribute__((noinline)) void tile() {
  __m512 acc[MR][2];
  for (int m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = _mm512_setzero_ps();
  const __m512 mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  __m512 one = _mm512_set1_ps(1.f);
  __asm__("" : "+v"(one));
  for (int k = 0; k < NG; ++k) {
    const __m512 y[2] = {_mm512_load_ps(yp + k * 32), _mm512_load_ps(yp + k * 32 + 16)};
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
      const __m512 x = _mm512_set1_ps(xp[k * MR + m]);
#pragma GCC unroll 2
      for (int v = 0; v < 2; ++v) {
        __m512& a = acc[m][v];
        if constexpr (V == SubAndAdd)
          a = _mm512_add_ps(a, _mm512_and_ps(_mm512_sub_ps(y[v], x), mask));
        if constexpr (V == FnmaddAndAdd)
          a = _mm512_add_ps(a, _mm512_and_ps(_mm512_fnmadd_ps(y[v], one, x), mask));
        if constexpr (V == MaxAdd) a = _mm512_add_ps(a, _mm512_max_ps(y[v], x));
        if constexpr (V == MinFma) a = _mm512_fmadd_ps(_mm512_min_ps(y[v], x), one, a);
        if constexpr (V == FmaOnly) a = _mm512_fmadd_ps(y[v], x, a);
        if constexpr (V == AddOnly) a = _mm512_add_ps(a, y[v]);
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < 2; ++v) _mm512_store_ps(out + m * 32 + v * 16, acc[m][v]);
}

template <int V> double rate() {
  tile<V>();
  const int reps = 20000;
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) tile<V>();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return double(reps) * NG * MR * 32 / s / 1e9;
}

int main() {
  for (float& v : yp) v = rand() / float(RAND_MAX);
  for (float& v : xp) v = rand() / float(RAND_MAX);
  std::printf("G elements/s, one thread\n");
  for (int t = 0; t < 3; ++t)
    std::printf(
        "sub+and+add %.1f | fnmadd+and+add %.1f | max+add %.1f | min+fma %.1f | "
        "fma only %.1f | add only %.1f\n",
        rate<SubAndAdd>(), rate<FnmaddAndAdd>(), rate<MaxAdd>(), rate<MinFma>(), rate<FmaOnly>(),
        rate<AddOnly>());
}
