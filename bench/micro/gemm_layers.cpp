// imgclf's GEMM (csrc/cpu/dense_impl.h, the AVX-512 build) on the eight products of one
// training batch of the 784-256-128-10 network (batch 256, float32), one thread, each
// product timed alone with its operands in cache: thread CPU time, median of 31 rounds of
// 5 calls.  Prints each product's time and rate, and the eight summed over an epoch (235
// batches), to set beside the FMA rate (bench/micro/fma_rate.cpp built with -mavx512f).
//
//   g++ -O3 -fopenmp -fno-math-errno -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl
//       -mavx512dq -mavx512vnni -mprefer-vector-width=512 -Icsrc/cpu -Icsrc/include
//       bench/micro/gemm_layers.cpp -o /tmp/gemm_layers && /tmp/gemm_layers
//   (one command line)
//
// bench/NOTES.md t10 has what the numbers said about the packing passes and the edge tiles.
#define IMGCLF_ISA avx512
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "dense_impl.h"

static double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main() {
  struct Product {
    const char* name;
    bool ta, tb;
    long M, N, K;
  };
  // C (M x N) = op(A) op(B); forward h W, weight gradient in^T g, input gradient g W^T
  const Product products[] = {
      {"x W1        (256x784 @ 784x256)", false, false, 256, 256, 784},
      {"x^T dh1     (784x256 @ 256x256)", true, false, 784, 256, 256},
      {"h1 W2       (256x256 @ 256x128)", false, false, 256, 128, 256},
      {"h1^T dh2    (256x256 @ 256x128)", true, false, 256, 128, 256},
      {"dh2 W2^T    (256x128 @ 128x256)", false, true, 256, 256, 128},
      {"h2 W3       (256x128 @ 128x10) ", false, false, 256, 10, 128},
      {"h2^T ds     (128x256 @ 256x10) ", true, false, 128, 10, 256},
      {"ds W3^T     (256x10 @ 10x128)  ", false, true, 256, 128, 10},
  };
  std::mt19937 gen(0);
  std::normal_distribution<float> normal;
  double epoch = 0;
  for (const Product& p : products) {
    const long a_rows = p.ta ? p.K : p.M, a_cols = p.ta ? p.M : p.K;
    const long b_rows = p.tb ? p.N : p.K, b_cols = p.tb ? p.K : p.N;
    std::vector<float> A(a_rows * a_cols), B(b_rows * b_cols), C(p.M * p.N);
    for (float& x : A) x = normal(gen);
    for (float& x : B) x = normal(gen);
    imgclf::Cancel cancel;
    std::vector<double> times;
    for (int round = 0; round < 31; ++round) {
      const double t0 = cpu_seconds();
      for (int i = 0; i < 5; ++i)
        imgclf::cpu::avx512::gemm<float>(p.ta, p.tb, p.M, p.N, p.K, 1.f, A.data(), a_cols, B.data(),
                                         b_cols, 0.f, C.data(), p.N, cancel, 1);
      times.push_back((cpu_seconds() - t0) / 5);
    }
    std::sort(times.begin(), times.end());
    const double t = times[15];
    epoch += 235 * t;
    std::printf("%s %8.1f us %6.1f GFLOP/s\n", p.name, 1e6 * t, 2.0 * p.M * p.N * p.K / t / 1e9);
  }
  std::printf("the eight products over an epoch (235 batches): %.4f s\n", epoch);
}
