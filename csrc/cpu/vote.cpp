// Majority vote over each query's sorted neighbour labels.
#include <omp.h>

#include <vector>

#include "kernels.h"

namespace imgclf {
namespace cpu {

void vote(const int64_t* labels, const double* dist, int64_t nq, int64_t k, int64_t n_classes,
          int weights, int tie_break, int64_t* out_labels, double* out_scores, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t q = 0; q < nq; ++q) {
    const int64_t* lab = labels + q * k;
    const double* dq = dist ? dist + q * k : nullptr;
    double* sc = out_scores + q * n_classes;
    for (int64_t c = 0; c < n_classes; ++c) sc[c] = 0.0;
    bool exact = false;  // distance weights: exact matches (distance 0) outvote the rest
    if (weights == 1)
      for (int64_t t = 0; t < k; ++t) exact = exact || dq[t] == 0.0;
    for (int64_t t = 0; t < k; ++t) {
      double w = 1.0;
      if (weights == 1) w = exact ? (dq[t] == 0.0 ? 1.0 : 0.0) : 1.0 / dq[t];
      sc[lab[t]] += w;
    }
    double best = sc[0];
    for (int64_t c = 1; c < n_classes; ++c) best = sc[c] > best ? sc[c] : best;
    int64_t choice = -1;
    if (tie_break == 0) {  // nearest: the tied class met first in distance order
      for (int64_t t = 0; t < k && choice < 0; ++t)
        if (sc[lab[t]] == best) choice = lab[t];
    }
    if (choice < 0)  // smallest tied label (also the rule when no neighbour has weight)
      for (int64_t c = 0; c < n_classes && choice < 0; ++c)
        if (sc[c] == best) choice = c;
    out_labels[q] = choice;
  }
}

}  // namespace cpu
}  // namespace imgclf
