// The FMA rate of one core: independent chains of 256-bit (AVX2) or 512-bit (AVX-512)
// fused multiply-adds on register-resident accumulators, enough of them to cover the FMA
// latency on every pipe.  The ceiling a float32 GEMM can reach per thread.
//
//   g++ -O2 -mavx2 -mfma bench/micro/fma_rate.cpp -o /tmp/fma_rate && /tmp/fma_rate
//   (add -mavx512f for the 512-bit rate where the CPU has it)
//
// Prints the median over 7 runs of CPU time (this thread), in GFLOP/s (2 flops per lane).
#include <immintrin.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#if defined(__AVX512F__)
typedef __m512 V;
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SET1 _mm512_set1_ps
#define LANES 16
static float hsum(V v) { return _mm512_reduce_add_ps(v); }
#else
typedef __m256 V;
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SET1 _mm256_set1_ps
#define LANES 8
static float hsum(V v) {
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  float s = 0;
  for (float x : t) s += x;
  return s;
}
#endif

static double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main() {
  const long iters = 100000000;  // x 12 chains
  std::vector<double> rates;
  float sink = 0;
  for (int rep = 0; rep < 7; ++rep) {
    V a0 = SET1(1.0f), a1 = SET1(1.1f), a2 = SET1(1.2f), a3 = SET1(1.3f), a4 = SET1(1.4f),
      a5 = SET1(1.5f), a6 = SET1(1.6f), a7 = SET1(1.7f), a8 = SET1(1.8f), a9 = SET1(1.9f),
      a10 = SET1(2.0f), a11 = SET1(2.1f);
    const V m = SET1(0.999999f), c = SET1(1e-7f);
    const double t0 = cpu_seconds();
    for (long i = 0; i < iters; ++i) {
      a0 = FMA(a0, m, c);
      a1 = FMA(a1, m, c);
      a2 = FMA(a2, m, c);
      a3 = FMA(a3, m, c);
      a4 = FMA(a4, m, c);
      a5 = FMA(a5, m, c);
      a6 = FMA(a6, m, c);
      a7 = FMA(a7, m, c);
      a8 = FMA(a8, m, c);
      a9 = FMA(a9, m, c);
      a10 = FMA(a10, m, c);
      a11 = FMA(a11, m, c);
      __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
    }
    const double t = cpu_seconds() - t0;
    sink += hsum(a0) + hsum(a1) + hsum(a2) + hsum(a3) + hsum(a4) + hsum(a5) + hsum(a6) + hsum(a7) +
            hsum(a8) + hsum(a9) + hsum(a10) + hsum(a11);
    rates.push_back(2.0 * LANES * 12 * iters / t / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  std::printf(
      "fp32 FMA, %d lanes, 12 chains, one thread: median %.1f GFLOP/s (min %.1f, max %.1f)%s\n",
      LANES, rates[3], rates[0], rates[6], sink == 12345.f ? "!" : "");
}
