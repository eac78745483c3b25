// Bounded max-heap of (distance, index) pairs ordered lexicographically, so that ties in
// distance resolve by the smaller training index on every backend and every thread split.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace imgclf {

template <class D> struct TopK {
  D* d;        // kk distances (heap order until sorted())
  int32_t* i;  // kk indices
  int kk;

  static constexpr int32_t kNoIndex = std::numeric_limits<int32_t>::max();
  static D worst() {
    return std::numeric_limits<D>::has_infinity ? std::numeric_limits<D>::infinity()
                                                : std::numeric_limits<D>::max();
  }
  static bool less(D da, int32_t ia, D db, int32_t ib) { return da < db || (da == db && ia < ib); }
  void clear() {
    for (int t = 0; t < kk; ++t) {
      d[t] = worst();
      i[t] = kNoIndex;
    }
  }
  D top() const { return d[0]; }
  // Insert (dist, idx) if it beats the current worst; O(log kk).
  inline void push(D dist, int32_t idx) {
    if (!less(dist, idx, d[0], i[0])) return;
    sift_down(dist, idx, kk);
  }
  // Place (dist, idx) at the root of the heap d[0:n) and restore the max-heap property.
  inline void sift_down(D dist, int32_t idx, int n) {
    int pos = 0;
    for (;;) {
      int c = 2 * pos + 1;
      if (c >= n) break;
      if (c + 1 < n && less(d[c], i[c], d[c + 1], i[c + 1])) ++c;
      if (!less(dist, idx, d[c], i[c])) break;
      d[pos] = d[c];
      i[pos] = i[c];
      pos = c;
    }
    d[pos] = dist;
    i[pos] = idx;
  }
  // Sort ascending by (distance, index); works on any arrangement, not only a heap.
  void sort() {
    if (kk > 32) {  // large k (up to n_train)
      std::vector<std::pair<D, int32_t>> v(static_cast<size_t>(kk));
      for (int t = 0; t < kk; ++t) v[size_t(t)] = {d[t], i[t]};
      std::sort(v.begin(), v.end());
      for (int t = 0; t < kk; ++t) {
        d[t] = v[size_t(t)].first;
        i[t] = v[size_t(t)].second;
      }
      return;
    }
    for (int a = 1; a < kk; ++a) {
      D dv = d[a];
      int32_t iv = i[a];
      int b = a - 1;
      while (b >= 0 && less(dv, iv, d[b], i[b])) {
        d[b + 1] = d[b];
        i[b + 1] = i[b];
        --b;
      }
      d[b + 1] = dv;
      i[b + 1] = iv;
    }
  }
};

}  // namespace imgclf
