// _cpu bindings of the knn family: knn, pairwise_distances, vote.
#include <climits>

#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

// uint8 distances are exact integers: "l2" is the caller's root of the squared one, and
// int32 must hold every value (255^2 d for squared L2, 255 d for L1)
void check_u8(Metric m, int64_t d) {
  if (m == Metric::L2)
    throw py::value_error(
        "uint8 inputs give exact int32 distances: pass sqeuclidean and take the root");
  if (d > (m == Metric::L1 ? cpu::kU8L1MaxFeatures : cpu::kU8SqL2MaxFeatures))
    throw py::value_error("uint8 distances over this many features overflow int32");
}

template <class T> using DistOf =
    typename std::conditional<std::is_same<T, uint8_t>::value, int32_t, T>::type;

int64_t knn(py::array X, py::array Y, int64_t k, Metric m, py::array out_d, py::array out_i) {
  check_matrix(X, "queries");
  check_matrix(Y, "train");
  const int64_t nq = X.shape(0), nt = Y.shape(0), d = X.shape(1);
  if (Y.shape(1) != d) throw py::value_error("queries and train have different feature counts");
  if (!X.dtype().equal(Y.dtype()))
    throw py::type_error("queries and train must have the same dtype");
  if (k < 1 || k > nt) throw py::value_error("k must be in [1, n_train]");
  if (nt >= INT32_MAX) throw py::value_error("train has too many rows (at most 2^31 - 2)");
  check_out(out_d, "out_distances", nq, k);
  check_out(out_i, "out_indices", nq, k);
  if (!is<int64_t>(out_i)) throw py::type_error("out_indices must be int64");
  const cpu::KnnOps& ops = cpu::active_ops().knn;
  const int th = cpu::num_threads();
  return visit_real(X, "queries", [&](auto tag) -> int64_t {
    using T = decltype(tag);
    using D = DistOf<T>;
    if (!is<D>(out_d)) throw py::type_error("out_distances has the wrong dtype");
    if constexpr (std::is_same<T, uint8_t>::value) check_u8(m, d);
    const T* x = cdata<T>(X);
    const T* y = cdata<T>(Y);
    D* od = data<D>(out_d);
    int64_t* oi = data<int64_t>(out_i);
    return interruptible([&](Cancel& c) -> int64_t {
      if constexpr (std::is_same<T, float>::value)
        return ops.knn_f32(x, nq, y, nt, d, k, m, od, oi, c, th);
      else if constexpr (std::is_same<T, double>::value)
        return ops.knn_f64(x, nq, y, nt, d, k, m, od, oi, c, th);
      else return ops.knn_u8(x, nq, y, nt, d, k, m, od, oi, c, th);
    });
  });
}

void pairwise_distances(py::array X, py::array Y, Metric m, py::array out) {
  check_matrix(X, "X");
  check_matrix(Y, "Y");
  const int64_t nq = X.shape(0), nt = Y.shape(0), d = X.shape(1);
  if (Y.shape(1) != d) throw py::value_error("X and Y have different feature counts");
  if (!X.dtype().equal(Y.dtype())) throw py::type_error("X and Y must have the same dtype");
  check_out(out, "out", nq, nt);
  const cpu::KnnOps& ops = cpu::active_ops().knn;
  const int th = cpu::num_threads();
  visit_real(X, "X", [&](auto tag) {
    using T = decltype(tag);
    using D = DistOf<T>;
    if (!is<D>(out))
      throw py::type_error("out has the wrong dtype (float32, float64 or int32 for uint8)");
    if constexpr (std::is_same<T, uint8_t>::value) check_u8(m, d);
    const T* x = cdata<T>(X);
    const T* y = cdata<T>(Y);
    D* o = data<D>(out);
    interruptible([&](Cancel& c) {
      if constexpr (std::is_same<T, float>::value)
        ops.pairwise_distances_f32(x, nq, y, nt, d, m, o, c, th);
      else if constexpr (std::is_same<T, double>::value)
        ops.pairwise_distances_f64(x, nq, y, nt, d, m, o, c, th);
      else ops.pairwise_distances_u8(x, nq, y, nt, d, m, o, c, th);
      return 0;
    });
  });
}

void vote(py::array_t<int64_t, 0> labels, py::object dist, int64_t n_classes, Weights weights,
          TieBreak tie_break, py::array_t<int64_t, 0> out_labels,
          py::array_t<double, 0> out_scores) {
  check_matrix(labels, "neighbor_labels");
  const int64_t nq = labels.shape(0), k = labels.shape(1);
  if (n_classes < 1) throw py::value_error("n_classes must be >= 1");
  const int64_t* lab = labels.data();
  for (int64_t t = 0; t < nq * k; ++t)
    if (lab[t] < 0 || lab[t] >= n_classes)
      throw py::value_error("neighbor_labels must lie in [0, n_classes)");
  const double* dp = nullptr;
  py::array_t<double, 0> da;
  if (!dist.is_none()) {
    da = dist.cast<py::array_t<double, 0>>();
    check_matrix(da, "distances");
    if (da.shape(0) != nq || da.shape(1) != k)
      throw py::value_error("distances must have the shape of neighbor_labels");
    dp = da.data();
  }
  if (weights == Weights::Distance && !dp)
    throw py::value_error("weights='distance' needs distances");
  if (out_labels.ndim() != 1 || out_labels.shape(0) != nq)
    throw py::value_error("out_labels has the wrong shape");
  check_out(out_scores, "out_scores", nq, n_classes);
  int64_t* ol = out_labels.mutable_data();
  double* os = out_scores.mutable_data();
  const cpu::KnnOps& ops = cpu::active_ops().knn;
  const int th = cpu::num_threads();
  py::gil_scoped_release nogil;
  ops.vote(lab, dp, nq, k, n_classes, weights, tie_break, ol, os, th);
}

}  // namespace

void bind_knn(py::module_& m) {
  m.def("knn", &knn, py::arg("queries"), py::arg("train"), py::arg("k"), py::arg("metric"),
        py::arg("out_distances"), py::arg("out_indices"),
        "Fused k-nearest-neighbour search into preallocated outputs; returns how many float32 "
        "queries took the exact pass.");
  m.def("pairwise_distances", &pairwise_distances, py::arg("X"), py::arg("Y"), py::arg("metric"),
        py::arg("out"), "The full distance matrix into out.");
  m.def("vote", &vote, py::arg("neighbor_labels"), py::arg("distances"), py::arg("n_classes"),
        py::arg("weights"), py::arg("tie_break"), py::arg("out_labels"), py::arg("out_scores"),
        "Vote over neighbour labels (nearest first) into out_labels and out_scores.");
}

}  // namespace bindings
}  // namespace imgclf
