// Distance tiles, fused k-nearest-neighbour search and the full distance matrix on the GPU.
// Same contracts as csrc/cpu/knn_impl.h; the NumPy reference (_reference.py) is the spec.
//
// Search, per chunk of at most kChunk queries (all launches on the caller's stream):
//   1. dist_tile: a (chunk x kTile) block of distances into a scratch tile (64 x 64 per
//      thread block, 4 x 4 per thread, operands staged through shared memory).  The full
//      queries x train matrix never exists; the tile is the only distance storage.
//   2. select: one thread block per query merges its tile row into its running list of the
//      kk best (distance, index) pairs, kept sorted in shared memory: candidates below the
//      current kk-th are gathered, bitonic-sorted, and merged by rank (a candidate's rank in
//      the merged list is its own position plus the number of smaller entries in the other
//      list; (distance, index) keys are distinct, so ranks never collide).
//   3. uint8: the lists are the answer (exact integer distances).
//      float32: the kk = 2k + 8 candidates are re-ranked by float64 distances, and the
//      float32 rounding bound proves that no other row could enter the top k (as on the
//      CPU); a query it cannot prove is scanned again in float64 by one block (fallback).
//
// uint8 rows arrive zero-padded to a multiple of 4 bytes and are read as 32-bit words:
// squared L2 by __dp4a (|x|^2 + |y|^2 - 2 x.y in uint32, exact, as on the CPU), L1 by
// __vsadu4 (byte sums of absolute differences, exact).
#include <cuda_runtime.h>

#include <cfloat>
#include <climits>
#include <cstdint>
#include <type_traits>

#include "knn.h"

namespace imgclf {
namespace cuda {
namespace {

constexpr int kBQ = 64, kBT = 64, kKT = 16;  // tile block: queries x train rows x depth
constexpr int kTileThreads = 256;
constexpr int kSeg = 1024;                   // candidates gathered per merge
constexpr int kSelThreads = 256;
constexpr int64_t kChunk = 1024;      // queries per chunk
constexpr int64_t kTileCols = 16384;  // training rows per distance tile (chunk x tile: 64 MiB)

enum class Op { F32Dot, F32Sq, F32Abs, U8Dot, U8Sq, U8Abs };

template <Op op> struct OpT;
template <> struct OpT<Op::F32Dot> {
  using In = float;
  using Acc = float;
  using Aux = float;
  using Dist = float;
  __device__ static Acc step(Acc a, In x, In y) { return fmaf(x, y, a); }
  __device__ static Dist finish(Acc a, Aux xa, Aux ya) { return xa + ya - 2.f * a; }
};
template <> struct OpT<Op::F32Sq> {
  using In = float;
  using Acc = float;
  using Aux = float;
  using Dist = float;
  __device__ static Acc step(Acc a, In x, In y) {
    const float t = y - x;
    return fmaf(t, t, a);
  }
  __device__ static Dist finish(Acc a, Aux, Aux) { return a; }
};
template <> struct OpT<Op::F32Abs> {
  using In = float;
  using Acc = float;
  using Aux = float;
  using Dist = float;
  __device__ static Acc step(Acc a, In x, In y) { return a + fabsf(y - x); }
  __device__ static Dist finish(Acc a, Aux, Aux) { return a; }
};
template <> struct OpT<Op::U8Dot> {
  using In = uint32_t;
  using Acc = uint32_t;
  using Aux = uint32_t;
  using Dist = int32_t;
  __device__ static Acc step(Acc a, In x, In y) { return __dp4a(x, y, a); }
  __device__ static Dist finish(Acc a, Aux xa, Aux ya) { return int32_t(xa + ya - 2u * a); }
};
template <> struct OpT<Op::U8Sq> {
  using In = uint32_t;
  using Acc = uint32_t;
  using Aux = uint32_t;
  using Dist = int32_t;
  __device__ static Acc step(Acc a, In x, In y) {
    const uint32_t t = __vabsdiffu4(x, y);
    return __dp4a(t, t, a);
  }
  __device__ static Dist finish(Acc a, Aux, Aux) { return int32_t(a); }
};
template <> struct OpT<Op::U8Abs> {
  using In = uint32_t;
  using Acc = uint32_t;
  using Aux = uint32_t;
  using Dist = int32_t;
  __device__ static Acc step(Acc a, In x, In y) { return a + __vsadu4(x, y); }
  __device__ static Dist finish(Acc a, Aux, Aux) { return int32_t(a); }
};

// ---- 1. distance tiles ---------------------------------------------------------------------

// out[q * ldo + t] = dist(X[q], Y[t]) for q < nq, t < nt; rows are dw elements (floats or
// 32-bit words of 4 bytes).  Grid: (ceil(nt / 64), ceil(nq / 64)).
template <Op op> __global__ void __launch_bounds__(kTileThreads)
    dist_tile_kernel(const typename OpT<op>::In* __restrict__ X, int64_t nq,
                     const typename OpT<op>::In* __restrict__ Y, int64_t nt, int64_t dw,
                     const typename OpT<op>::Aux* __restrict__ xaux,
                     const typename OpT<op>::Aux* __restrict__ yaux,
                     typename OpT<op>::Dist* __restrict__ out, int64_t ldo) {
  using T = OpT<op>;
  using In = typename T::In;
  __shared__ In xs[kKT][kBQ + 1];
  __shared__ In ys[kKT][kBT + 1];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t q0 = int64_t(blockIdx.y) * kBQ, t0 = int64_t(blockIdx.x) * kBT;
  typename T::Acc acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = 0;
  for (int64_t k0 = 0; k0 < dw; k0 += kKT) {
    for (int e = tid; e < kBQ * kKT; e += kTileThreads) {
      const int r = e / kKT, kk = e % kKT;
      const int64_t q = q0 + r, k = k0 + kk;
      xs[kk][r] = (q < nq && k < dw) ? X[q * dw + k] : In(0);
      const int64_t t = t0 + r;
      ys[kk][r] = (t < nt && k < dw) ? Y[t * dw + k] : In(0);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kKT; ++kk) {
      In xv[4], yv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) xv[i] = xs[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; ++j) yv[j] = ys[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = T::step(acc[i][j], xv[i], yv[j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t q = q0 + ty + 16 * i;
    if (q >= nq) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t t = t0 + tx + 16 * j;
      if (t < nt) out[q * ldo + t] = T::finish(acc[i][j], xaux ? xaux[q] : 0, yaux ? yaux[t] : 0);
    }
  }
}

// Row auxiliaries, one warp per row: aux = |row|^2 (float32: rounded from float64; uint8:
// exact uint32), and norm = |row|_2 (l2) or |row|_1 (l1) in float64 for the rounding bound.
template <class In, class Aux>
__global__ void row_aux_kernel(const In* __restrict__ X, int64_t n, int64_t dw, bool l1,
                               Aux* __restrict__ aux, double* __restrict__ norm) {
  const int lane = threadIdx.x % 32;
  const int64_t row = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= n) return;
  double s2 = 0, s1 = 0;
  uint32_t u2 = 0;
  for (int64_t k = lane; k < dw; k += 32) {
    const In v = X[row * dw + k];
    if constexpr (std::is_same<In, float>::value) {
      s2 += double(v) * double(v);
      s1 += fabs(double(v));
    } else {  // four bytes
      u2 = __dp4a(uint32_t(v), uint32_t(v), u2);
    }
  }
  for (int o = 16; o > 0; o /= 2) {
    s2 += __shfl_xor_sync(0xffffffffu, s2, o);
    s1 += __shfl_xor_sync(0xffffffffu, s1, o);
    u2 += __shfl_xor_sync(0xffffffffu, u2, o);
  }
  if (lane == 0) {
    if constexpr (std::is_same<Aux, float>::value) aux[row] = Aux(s2);
    else aux[row] = Aux(u2);
    if (norm) norm[row] = l1 ? s1 : sqrt(s2);
  }
}

__global__ void max_kernel(const double* __restrict__ v, int64_t n, double* __restrict__ out) {
  __shared__ double part[256];
  double m = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmax(m, v[i]);
  part[threadIdx.x] = m;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (int(threadIdx.x) < w) part[threadIdx.x] = fmax(part[threadIdx.x], part[threadIdx.x + w]);
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = part[0];
}

// ---- 2. per-query running top-k ------------------------------------------------------------

template <class D> __device__ __host__ constexpr D key_max();
template <> __device__ __host__ constexpr float key_max<float>() { return INFINITY; }
template <> __device__ __host__ constexpr double key_max<double>() { return INFINITY; }
template <> __device__ __host__ constexpr int32_t key_max<int32_t>() { return INT_MAX; }
constexpr int32_t kNoIndex = INT_MAX;

template <class D> __device__ inline bool key_less(D a, int32_t ai, D b, int32_t bi) {
  return a < b || (a == b && ai < bi);
}

// number of entries of the sorted list (d, i)[0..n) that are less than (v, vi)
template <class D>
__device__ inline int count_less(const D* d, const int32_t* idx, int n, D v, int32_t vi) {
  int lo = 0, hi = n;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (key_less(d[mid], idx[mid], v, vi)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Sorts (d, idx)[0..nb) ascending by (distance, index); nb a power of two; whole block.
template <class D> __device__ void bitonic_sort(D* d, int32_t* idx, int nb) {
  for (int k = 2; k <= nb; k *= 2)
    for (int j = k / 2; j > 0; j /= 2) {
      for (int i = threadIdx.x; i < nb; i += blockDim.x) {
        const int p = i ^ j;
        if (p > i) {
          const bool up = (i & k) == 0;
          const bool swap =
              up ? key_less(d[p], idx[p], d[i], idx[i]) : key_less(d[i], idx[i], d[p], idx[p]);
          if (swap) {
            const D td = d[i];
            d[i] = d[p];
            d[p] = td;
            const int32_t ti = idx[i];
            idx[i] = idx[p];
            idx[p] = ti;
          }
        }
      }
      __syncthreads();
    }
}

// Shared-memory state of one query's list: L (kk sorted entries), N (the merge target) and
// B (up to kSeg gathered candidates).
template <class D> struct BlockList {
  D* ld;
  int32_t* li;
  D* nd;
  int32_t* ni;
  D* bd;
  int32_t* bi;
  int* count;
  int kk;

  __device__ void carve(unsigned char* smem, int kk_) {
    kk = kk_;
    ld = reinterpret_cast<D*>(smem);
    nd = ld + kk;
    bd = nd + kk;
    li = reinterpret_cast<int32_t*>(bd + kSeg);
    ni = li + kk;
    bi = ni + kk;
    count = reinterpret_cast<int*>(bi + kSeg);
  }
  // Sorts B[0..m), merges it into L keeping the kk smallest.  Called by the whole block.
  __device__ void merge(int m) {
    const int tid = threadIdx.x;
    int nb = 1;
    while (nb < m) nb *= 2;
    for (int i = m + tid; i < nb; i += blockDim.x) {
      bd[i] = key_max<D>();
      bi[i] = kNoIndex;
    }
    __syncthreads();
    bitonic_sort(bd, bi, nb);
    for (int i = tid; i < kk; i += blockDim.x) {
      const int r = i + count_less(bd, bi, m, ld[i], li[i]);
      if (r < kk) {
        nd[r] = ld[i];
        ni[r] = li[i];
      }
    }
    for (int j = tid; j < m; j += blockDim.x) {
      const int r = j + count_less(ld, li, kk, bd[j], bi[j]);
      if (r < kk) {
        nd[r] = bd[j];
        ni[r] = bi[j];
      }
    }
    __syncthreads();
    D* td = ld;
    ld = nd;
    nd = td;
    int32_t* ti = li;
    li = ni;
    ni = ti;
  }
  // Offers up to kSeg (value, index) pairs produced by get(e) for e < n.
  template <class Get> __device__ void offer(int n, Get get) {
    const D thr = ld[kk - 1];
    const int32_t thi = li[kk - 1];
    if (threadIdx.x == 0) *count = 0;
    __syncthreads();
    for (int e = threadIdx.x; e < n; e += blockDim.x) {
      D v;
      int32_t j;
      get(e, v, j);
      if (key_less(v, j, thr, thi)) {
        const int pos = atomicAdd(count, 1);
        bd[pos] = v;
        bi[pos] = j;
      }
    }
    __syncthreads();
    const int m = *count;
    if (m > 0) merge(m);  // m is the same in every thread: a uniform branch
    __syncthreads();
  }
};

template <class D> __global__ void init_lists_kernel(D* bd, int32_t* bi, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) {
    bd[i] = key_max<D>();
    bi[i] = kNoIndex;
  }
}

// One block per query row of the tile: merge tile[row][0..tn) (training rows t0 + e).
template <class D> __global__ void __launch_bounds__(kSelThreads)
    select_kernel(const D* __restrict__ tile, int64_t ldt, int tn, int64_t t0, D* best_d,
                  int32_t* best_i, int kk) {
  extern __shared__ __align__(16) unsigned char smem[];
  BlockList<D> L;
  L.carve(smem, kk);
  const int64_t row = blockIdx.x;
  D* gd = best_d + row * kk;
  int32_t* gi = best_i + row * kk;
  for (int i = threadIdx.x; i < kk; i += blockDim.x) {
    L.ld[i] = gd[i];
    L.li[i] = gi[i];
  }
  __syncthreads();
  const D* r = tile + row * ldt;
  for (int s = 0; s < tn; s += kSeg) {
    const int n = min(kSeg, tn - s);
    L.offer(n, [&](int e, D& v, int32_t& j) {
      v = r[s + e];
      j = int32_t(t0 + s + e);
    });
  }
  for (int i = threadIdx.x; i < kk; i += blockDim.x) {
    gd[i] = L.ld[i];
    gi[i] = L.li[i];
  }
}

// uint8: copy the first k entries of each list to the outputs.
__global__ void copy_out_kernel(const int32_t* bd, const int32_t* bi, int kk, int64_t nq, int k,
                                int32_t* out_d, int64_t* out_i) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= nq * k) return;
  const int64_t q = e / k, t = e % k;
  out_d[e] = bd[q * kk + t];
  out_i[e] = bi[q * kk + t];
}

// ---- 3. float32: float64 re-rank, proof, fallback --------------------------------------------

// One term of a float64 distance: |y - x| or (y - x)^2 added to s with one rounding (an
// FMA, as the CPU's FMA levels compute it: the compilers contract s += v * v there).
__device__ inline double exact_add(double s, float x, float y, bool l1) {
  const double v = double(y) - double(x);
  return l1 ? __dadd_rn(s, fabs(v)) : __fma_rn(v, v, s);
}

// exact[q * kk + t] = float64 distance of query q to its candidate t, summed in the order of
// the CPU's re-rank (exact_dist in csrc/cpu/knn_impl.h), so that both backends give every
// candidate the same float64 bits and rank ties (duplicate rows, equal distances) the same
// way: four partial sums s[j] over the columns c = j (mod 4) of the first d - d % 4, each in
// column order; the last d % 4 columns added to s[0]; then (s[0] + s[1]) + (s[2] + s[3]).
// Four lanes per candidate (lane j of the group keeps s[j]), eight candidates per warp.
__global__ void exact_kernel(const float* __restrict__ X, const float* __restrict__ Y, int64_t d,
                             const int32_t* __restrict__ ci, int64_t nq, int kk, bool l1,
                             double* __restrict__ exact) {
  const int lane = threadIdx.x % 32, j = lane % 4;
  const int64_t w = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 4;  // candidate
  const bool live = w < nq * kk;
  const int64_t q = live ? w / kk : 0;
  const int32_t idx = live ? ci[w] : kNoIndex;
  double s = 0;
  if (idx != kNoIndex) {
    const float* x = X + q * d;
    const float* y = Y + int64_t(idx) * d;
    const int64_t d4 = d - d % 4;
    for (int64_t c = j; c < d4; c += 4) s = exact_add(s, x[c], y[c], l1);
    if (j == 0)
      for (int64_t c = d4; c < d; ++c) s = exact_add(s, x[c], y[c], l1);
  }
  // lanes (j, j + 1) -> s[0] + s[1] and s[2] + s[3]; then lane 0 of the group adds them
  s = __dadd_rn(s, __shfl_down_sync(0xffffffffu, s, 1));
  s = __dadd_rn(s, __shfl_down_sync(0xffffffffu, s, 2));
  if (live && j == 0) exact[w] = idx == kNoIndex ? INFINITY : s;
}

// One block per query: sort the candidates by (float64 distance, index), check the bound,
// write the top k or flag the query for the exact scan.
__global__ void rerank_kernel(const float* __restrict__ approx, const int32_t* __restrict__ ci,
                              const double* __restrict__ exact, int kk, int k, int64_t nt,
                              int64_t d, bool l1, const double* __restrict__ xnorm,
                              const double* __restrict__ ymax, float* __restrict__ out_d,
                              int64_t* __restrict__ out_i, int* __restrict__ redo) {
  extern __shared__ __align__(16) unsigned char smem[];
  int nb = 1;
  while (nb < kk) nb *= 2;
  double* sd = reinterpret_cast<double*>(smem);
  int32_t* si = reinterpret_cast<int32_t*>(sd + nb);
  const int64_t q = blockIdx.x;
  const int tid = threadIdx.x;
  for (int i = tid; i < nb; i += blockDim.x) {
    sd[i] = i < kk ? exact[q * kk + i] : INFINITY;
    si[i] = i < kk ? ci[q * kk + i] : kNoIndex;
  }
  __syncthreads();
  bitonic_sort(sd, si, nb);
  // Rounding bounds of the float32 pass (u = 2^-24, gamma_d = d u / (1 - d u)), a true, t float32:
  //   L2 by |x|^2 + |y|^2 - 2 x.y:  |a - t| <= (2 gamma_d + 4u) (|x| + |y|_max)^2
  //   L1 summed directly:           a >= t / ((1 + u)(1 + gamma_d))
  bool proven = kk >= nt;
  if (!proven) {
    const double u = 5.9604644775390625e-08;
    const double gam = double(d) * u / (1.0 - double(d) * u);
    const double worst = double(approx[q * kk + kk - 1]), dk = sd[k - 1];
    if (l1) {
      proven = worst / ((1 + u) * (1 + gam) * 1.01) > dk;
    } else {
      const double s = xnorm[q] + *ymax;
      proven = worst - 1.01 * (2 * gam + 4 * u) * s * s > dk;
    }
  }
  if (tid == 0) redo[q] = proven ? 0 : 1;
  if (!proven) return;
  for (int t = tid; t < k; t += blockDim.x) {
    out_d[q * k + t] = float(sd[t]);
    out_i[q * k + t] = si[t];
  }
}

// The exact float64 scan for a flagged query (rare): one block per query of the chunk.
__global__ void __launch_bounds__(kSelThreads)
    fallback_kernel(const float* __restrict__ X, const float* __restrict__ Y, int64_t nt, int64_t d,
                    int k, bool l1, const int* __restrict__ redo, float* __restrict__ out_d,
                    int64_t* __restrict__ out_i) {
  const int64_t q = blockIdx.x;
  if (!redo[q]) return;
  extern __shared__ __align__(16) unsigned char smem[];
  BlockList<double> L;
  L.carve(smem, k);
  for (int i = threadIdx.x; i < k; i += blockDim.x) {
    L.ld[i] = INFINITY;
    L.li[i] = kNoIndex;
  }
  __syncthreads();
  const float* x = X + q * d;
  for (int64_t s = 0; s < nt; s += kSeg) {
    const int n = int(nt - s < kSeg ? nt - s : kSeg);
    L.offer(n, [&](int e, double& v, int32_t& j) {
      const int64_t row = s + e;
      const float* y = Y + row * d;
      double acc = 0;  // column order, as the CPU's exact pass sums
      for (int64_t t = 0; t < d; ++t) acc = exact_add(acc, x[t], y[t], l1);
      v = acc;
      j = int32_t(row);
    });
  }
  for (int t = threadIdx.x; t < k; t += blockDim.x) {
    out_d[q * k + t] = float(L.ld[t]);
    out_i[q * k + t] = L.li[t];
  }
}

// ---- drivers --------------------------------------------------------------------------------

// The scratch of one search, laid out by one function: called without a base it only
// sizes the layout (knn_workspace_bytes), with one it hands out the pointers (the drivers),
// so the two can never disagree.  Every part starts on a 256-byte boundary.
class Carver {
 public:
  explicit Carver(void* base) : base_(static_cast<unsigned char*>(base)) {}
  template <class T> T* take(int64_t n) {
    const size_t off = bytes_;
    bytes_ += (size_t(n) * sizeof(T) + 255) / 256 * 256;
    return base_ ? reinterpret_cast<T*>(base_ + off) : nullptr;
  }
  size_t bytes() const { return bytes_; }

 private:
  unsigned char* base_;
  size_t bytes_ = 0;
};

int64_t chunk_rows(int64_t nq) { return nq < kChunk ? nq : kChunk; }

template <class Aux, class Dist> struct Scratch {
  Aux* xaux;      // per-query auxiliary (squared norm for the GEMM form)
  Aux* yaux;      // per-training-row auxiliary
  Dist* tile;     // one (chunk x kTileCols) distance tile
  Dist* best_d;   // the running lists of one chunk
  int32_t* best_i;
  // float32 only: the float64 re-rank and its proof
  double* exact;  // float64 distances of the candidates
  double* xnorm;  // query norms
  double* ynorm;  // training norms
  double* ymax;   // their maximum
  int* redo;      // queries the proof could not settle

  static constexpr bool kFloat = std::is_same<Dist, float>::value;

  // Lays the scratch out over `base` (or only sizes it when base is null); returns bytes.
  size_t lay(void* base, int64_t nq, int64_t nt, int kk) {
    Carver c(base);
    const int64_t qc = chunk_rows(nq);
    xaux = c.take<Aux>(nq);
    yaux = c.take<Aux>(nt);
    tile = c.take<Dist>(qc * kTileCols);
    best_d = c.take<Dist>(qc * int64_t(kk));
    best_i = c.take<int32_t>(qc * int64_t(kk));
    exact = xnorm = ynorm = ymax = nullptr;
    redo = nullptr;
    if (kFloat) {
      exact = c.take<double>(qc * int64_t(kk));
      xnorm = c.take<double>(nq);
      ynorm = c.take<double>(nt);
      ymax = c.take<double>(1);
      redo = c.take<int>(qc);
    }
    return c.bytes();
  }
};
using F32Scratch = Scratch<float, float>;
using U8Scratch = Scratch<uint32_t, int32_t>;

#define IMGCLF_TRY(x)                 \
  do {                                \
    cudaError_t e_ = (x);             \
    if (e_ != cudaSuccess) return e_; \
  } while (0)

template <class K> cudaError_t allow_smem(K kernel, size_t bytes) {
  if (bytes <= 48 * 1024) return cudaSuccess;
  return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
}

template <class D> size_t list_smem(int kk) {
  return size_t(2 * kk + kSeg) * (sizeof(D) + sizeof(int32_t)) + 16;
}

template <Op op>
cudaError_t launch_tiles(const typename OpT<op>::In* X, int64_t nq, const typename OpT<op>::In* Y,
                         int64_t nt, int64_t dw, const typename OpT<op>::Aux* xaux,
                         const typename OpT<op>::Aux* yaux, typename OpT<op>::Dist* out,
                         int64_t ldo, cudaStream_t st) {
  const dim3 grid(unsigned((nt + kBT - 1) / kBT), unsigned((nq + kBQ - 1) / kBQ));
  dist_tile_kernel<op><<<grid, kTileThreads, 0, st>>>(X, nq, Y, nt, dw, xaux, yaux, out, ldo);
  return cudaGetLastError();
}

// One chunk of queries: lists, tiles, selection.
template <Op op>
cudaError_t search_chunk(const typename OpT<op>::In* X, int64_t nq, const typename OpT<op>::In* Y,
                         int64_t nt, int64_t dw, const typename OpT<op>::Aux* xaux,
                         const typename OpT<op>::Aux* yaux, int kk, typename OpT<op>::Dist* tile,
                         typename OpT<op>::Dist* best_d, int32_t* best_i, cudaStream_t st) {
  using D = typename OpT<op>::Dist;
  const int64_t nl = nq * kk;
  init_lists_kernel<D><<<unsigned((nl + 255) / 256), 256, 0, st>>>(best_d, best_i, nl);
  IMGCLF_TRY(cudaGetLastError());
  const size_t sm = list_smem<D>(kk);
  IMGCLF_TRY(allow_smem(select_kernel<D>, sm));
  for (int64_t t0 = 0; t0 < nt; t0 += kTileCols) {
    const int64_t tn = nt - t0 < kTileCols ? nt - t0 : kTileCols;
    IMGCLF_TRY(launch_tiles<op>(X, nq, Y + t0 * dw, tn, dw, xaux, yaux ? yaux + t0 : nullptr, tile,
                                kTileCols, st));
    select_kernel<D>
        <<<unsigned(nq), kSelThreads, sm, st>>>(tile, kTileCols, int(tn), t0, best_d, best_i, kk);
    IMGCLF_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

int pow2_at_least(int n) {
  int nb = 1;
  while (nb < n) nb *= 2;
  return nb;
}

}  // namespace

// select_kernel: the list of kk (distance, index) pairs twice plus kSeg gathered ones;
// float32 adds rerank_kernel (the kk candidates, rounded up to a power of two, as
// (double, int32)) and fallback_kernel (a list of k (double, int32) pairs).
size_t knn_smem_bytes(int kk, int k, bool is_float) {
  if (!is_float) return list_smem<int32_t>(kk);
  size_t m = list_smem<float>(kk);
  const size_t r = size_t(pow2_at_least(kk)) * (sizeof(double) + sizeof(int32_t));
  const size_t f = list_smem<double>(k);
  if (r > m) m = r;
  if (f > m) m = f;
  return m;
}

size_t knn_workspace_bytes(int64_t nq, int64_t nt, int kk, bool is_float) {
  return is_float ? F32Scratch{}.lay(nullptr, nq, nt, kk) : U8Scratch{}.lay(nullptr, nq, nt, kk);
}

cudaError_t knn_f32(const float* X, int64_t nq, const float* Y, int64_t nt, int64_t d, int k,
                    int kk, Metric metric, float* out_d, int64_t* out_i, void* workspace,
                    cudaStream_t st) {
  if (metric == Metric::L2) return cudaErrorInvalidValue;  // the caller takes the root
  const bool l1 = metric == Metric::L1;
  const int64_t qc = chunk_rows(nq);
  F32Scratch w;
  w.lay(workspace, nq, nt, kk);
  float *xaux = w.xaux, *yaux = w.yaux, *tile = w.tile, *bd = w.best_d;
  int32_t* bi = w.best_i;
  double *exact = w.exact, *xnorm = w.xnorm, *ynorm = w.ynorm, *ymax = w.ymax;
  int* redo = w.redo;
  row_aux_kernel<float, float><<<unsigned((nq + 7) / 8), 256, 0, st>>>(X, nq, d, l1, xaux, xnorm);
  IMGCLF_TRY(cudaGetLastError());
  row_aux_kernel<float, float><<<unsigned((nt + 7) / 8), 256, 0, st>>>(Y, nt, d, l1, yaux, ynorm);
  IMGCLF_TRY(cudaGetLastError());
  max_kernel<<<1, 256, 0, st>>>(ynorm, nt, ymax);
  IMGCLF_TRY(cudaGetLastError());
  const int nb = pow2_at_least(kk);
  const size_t rsm = size_t(nb) * (sizeof(double) + sizeof(int32_t));
  const size_t fsm = list_smem<double>(k);
  IMGCLF_TRY(allow_smem(rerank_kernel, rsm));
  IMGCLF_TRY(allow_smem(fallback_kernel, fsm));
  for (int64_t q0 = 0; q0 < nq; q0 += qc) {
    const int64_t n = nq - q0 < qc ? nq - q0 : qc;
    const float* Xc = X + q0 * d;
    cudaError_t e =
        l1 ? search_chunk<Op::F32Abs>(Xc, n, Y, nt, d, nullptr, nullptr, kk, tile, bd, bi, st)
           : search_chunk<Op::F32Dot>(Xc, n, Y, nt, d, xaux + q0, yaux, kk, tile, bd, bi, st);
    IMGCLF_TRY(e);
    const int64_t lanes = n * kk * 4;
    exact_kernel<<<unsigned((lanes + 255) / 256), 256, 0, st>>>(Xc, Y, d, bi, n, kk, l1, exact);
    IMGCLF_TRY(cudaGetLastError());
    rerank_kernel<<<unsigned(n), 256, rsm, st>>>(bd, bi, exact, kk, k, nt, d, l1, xnorm + q0, ymax,
                                                 out_d + q0 * k, out_i + q0 * k, redo);
    IMGCLF_TRY(cudaGetLastError());
    fallback_kernel<<<unsigned(n), kSelThreads, fsm, st>>>(Xc, Y, nt, d, k, l1, redo,
                                                           out_d + q0 * k, out_i + q0 * k);
    IMGCLF_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

cudaError_t knn_u8(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt, int64_t d4, int k,
                   Metric metric, int32_t* out_d, int64_t* out_i, void* workspace,
                   cudaStream_t st) {
  if (metric == Metric::L2) return cudaErrorInvalidValue;  // the caller takes the root
  const bool l1 = metric == Metric::L1;
  const int64_t dw = d4 / 4;
  const uint32_t* Xw = reinterpret_cast<const uint32_t*>(X);
  const uint32_t* Yw = reinterpret_cast<const uint32_t*>(Y);
  const int64_t qc = chunk_rows(nq);
  U8Scratch w;
  w.lay(workspace, nq, nt, k);
  uint32_t *xaux = w.xaux, *yaux = w.yaux;
  int32_t *tile = w.tile, *bd = w.best_d, *bi = w.best_i;
  if (!l1) {
    row_aux_kernel<uint32_t, uint32_t>
        <<<unsigned((nq + 7) / 8), 256, 0, st>>>(Xw, nq, dw, false, xaux, nullptr);
    IMGCLF_TRY(cudaGetLastError());
    row_aux_kernel<uint32_t, uint32_t>
        <<<unsigned((nt + 7) / 8), 256, 0, st>>>(Yw, nt, dw, false, yaux, nullptr);
    IMGCLF_TRY(cudaGetLastError());
  }
  for (int64_t q0 = 0; q0 < nq; q0 += qc) {
    const int64_t n = nq - q0 < qc ? nq - q0 : qc;
    const uint32_t* Xc = Xw + q0 * dw;
    cudaError_t e =
        l1 ? search_chunk<Op::U8Abs>(Xc, n, Yw, nt, dw, nullptr, nullptr, k, tile, bd, bi, st)
           : search_chunk<Op::U8Dot>(Xc, n, Yw, nt, dw, xaux + q0, yaux, k, tile, bd, bi, st);
    IMGCLF_TRY(e);
    const int64_t ne = n * k;
    copy_out_kernel<<<unsigned((ne + 255) / 256), 256, 0, st>>>(bd, bi, k, n, k, out_d + q0 * k,
                                                                out_i + q0 * k);
    IMGCLF_TRY(cudaGetLastError());
  }
  return cudaSuccess;
}

cudaError_t pairwise_distances_f32(const float* X, int64_t nq, const float* Y, int64_t nt,
                                   int64_t d, Metric metric, float* out, cudaStream_t st) {
  if (metric == Metric::L2) return cudaErrorInvalidValue;  // the caller takes the root
  const bool l1 = metric == Metric::L1;
  for (int64_t q0 = 0; q0 < nq; q0 += kChunk) {
    const int64_t n = nq - q0 < kChunk ? nq - q0 : kChunk;
    cudaError_t e = l1 ? launch_tiles<Op::F32Abs>(X + q0 * d, n, Y, nt, d, nullptr, nullptr,
                                                  out + q0 * nt, nt, st)
                       : launch_tiles<Op::F32Sq>(X + q0 * d, n, Y, nt, d, nullptr, nullptr,
                                                 out + q0 * nt, nt, st);
    IMGCLF_TRY(e);
  }
  return cudaSuccess;
}

cudaError_t pairwise_distances_u8(const uint8_t* X, int64_t nq, const uint8_t* Y, int64_t nt,
                                  int64_t d4, Metric metric, int32_t* out, cudaStream_t st) {
  if (metric == Metric::L2) return cudaErrorInvalidValue;  // the caller takes the root
  const bool l1 = metric == Metric::L1;
  const int64_t dw = d4 / 4;
  const uint32_t* Xw = reinterpret_cast<const uint32_t*>(X);
  const uint32_t* Yw = reinterpret_cast<const uint32_t*>(Y);
  for (int64_t q0 = 0; q0 < nq; q0 += kChunk) {
    const int64_t n = nq - q0 < kChunk ? nq - q0 : kChunk;
    cudaError_t e = l1 ? launch_tiles<Op::U8Abs>(Xw + q0 * dw, n, Yw, nt, dw, nullptr, nullptr,
                                                 out + q0 * nt, nt, st)
                       : launch_tiles<Op::U8Sq>(Xw + q0 * dw, n, Yw, nt, dw, nullptr, nullptr,
                                                out + q0 * nt, nt, st);
    IMGCLF_TRY(e);
  }
  return cudaSuccess;
}

// ---- the vote --------------------------------------------------------------------------------
// One thread per query; the same summation order (neighbour by neighbour) and tie rules as
// the CPU's vote (csrc/cpu/knn_impl.h).
namespace {

__global__ void vote_kernel(const int64_t* __restrict__ L, const double* __restrict__ D, int64_t n,
                            int k, int C, Weights weights, TieBreak tie, int64_t* __restrict__ out,
                            double* __restrict__ scores) {
  const int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (q >= n) return;
  const int64_t* l = L + q * k;
  const double* d = D ? D + q * k : nullptr;
  double* s = scores + q * C;
  for (int c = 0; c < C; ++c) s[c] = 0.0;
  bool exact = false;  // with distance weights, exact matches (d == 0) alone vote
  if (weights == Weights::Distance)
    for (int t = 0; t < k; ++t) exact |= d[t] == 0.0;
  for (int t = 0; t < k; ++t) {
    double w = 1.0;
    if (weights == Weights::Distance) w = exact ? (d[t] == 0.0 ? 1.0 : 0.0) : 1.0 / d[t];
    s[l[t]] += w;
  }
  double best = s[0];
  for (int c = 1; c < C; ++c) best = fmax(best, s[c]);
  int64_t label = -1;
  if (tie == TieBreak::Nearest)  // nearest: the tied class met first in distance order
    for (int t = 0; t < k && label < 0; ++t)
      if (s[l[t]] == best) label = l[t];
  for (int c = 0; c < C && label < 0; ++c)
    if (s[c] == best) label = c;
  out[q] = label;
}

}  // namespace

cudaError_t vote(const int64_t* labels, const double* dist, int64_t n, int k, int C,
                 Weights weights, TieBreak tie, int64_t* out_labels, double* scores,
                 cudaStream_t stream) {
  if (n <= 0 || k <= 0 || C <= 0 || (weights == Weights::Distance && !dist))
    return cudaErrorInvalidValue;
  vote_kernel<<<unsigned((n + 255) / 256), 256, 0, stream>>>(labels, dist, n, k, C, weights, tie,
                                                             out_labels, scores);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace imgclf
