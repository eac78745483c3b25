// imgclf._cpu: binds the CPU kernels.  Checks arguments, releases the GIL, polls for
// Ctrl-C; no math lives here.  Outputs are allocated by the Python layer and passed in.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>

#include "kernels.h"

namespace py = pybind11;
using namespace imgclf;

namespace {

// dtype equivalence (native byte order included), not object identity
template <class T>
bool is(const py::array& a) {
  return py::isinstance<py::array_t<T>>(a);
}

void check_matrix(const py::array& a, const char* name) {
  if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be 2-D");
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + " must be C-contiguous");
}

void check_out(const py::array& a, const char* name, py::ssize_t r, py::ssize_t c) {
  check_matrix(a, name);
  if (!a.writeable()) throw py::value_error(std::string(name) + " must be writeable");
  if (a.shape(0) != r || a.shape(1) != c)
    throw py::value_error(std::string(name) + " has the wrong shape");
}

Metric to_metric(int m) {
  if (m != 0 && m != 1) throw py::value_error("metric code must be 0 (l1) or 1 (sqeuclidean)");
  return Metric(m);
}

// Runs f(cancel) without the GIL; Ctrl-C (seen by the calling thread) stops it and raises.
template <class F>
auto interruptible(F f) {
  Cancel cancel([] {
    py::gil_scoped_acquire g;
    return PyErr_CheckSignals() != 0;
  });
  auto run = [&] {
    py::gil_scoped_release nogil;
    return f(cancel);
  };
  auto r = run();
  if (cancel.stopped()) {
    if (PyErr_Occurred()) throw py::error_already_set();
    throw py::value_error("interrupted");
  }
  return r;
}

int64_t knn(py::array X, py::array Y, int64_t k, int metric, py::array out_d, py::array out_i) {
  check_matrix(X, "queries");
  check_matrix(Y, "train");
  const int64_t nq = X.shape(0), nt = Y.shape(0), d = X.shape(1);
  if (Y.shape(1) != d) throw py::value_error("queries and train have different feature counts");
  if (!X.dtype().equal(Y.dtype())) throw py::type_error("queries and train must have the same dtype");
  if (k < 1 || k > nt) throw py::value_error("k must be in [1, n_train]");
  if (nt >= INT32_MAX) throw py::value_error("train has too many rows (at most 2^31 - 2)");
  check_out(out_d, "out_distances", nq, k);
  check_out(out_i, "out_indices", nq, k);
  if (!is<int64_t>(out_i)) throw py::type_error("out_indices must be int64");
  const Metric m = to_metric(metric);
  const cpu::Ops& ops = cpu::active_ops();
  const int th = cpu::num_threads();
  auto* oi = static_cast<int64_t*>(out_i.mutable_data());
  if (is<float>(X)) {
    if (!is<float>(out_d)) throw py::type_error("out_distances must be float32");
    auto x = static_cast<const float*>(X.data()), y = static_cast<const float*>(Y.data());
    auto od = static_cast<float*>(out_d.mutable_data());
    return interruptible([&](Cancel& c) { return ops.knn_f32(x, nq, y, nt, d, k, m, od, oi, c, th); });
  }
  if (is<double>(X)) {
    if (!is<double>(out_d)) throw py::type_error("out_distances must be float64");
    auto x = static_cast<const double*>(X.data()), y = static_cast<const double*>(Y.data());
    auto od = static_cast<double*>(out_d.mutable_data());
    return interruptible([&](Cancel& c) { return ops.knn_f64(x, nq, y, nt, d, k, m, od, oi, c, th); });
  }
  if (is<uint8_t>(X)) {
    if (!is<int32_t>(out_d)) throw py::type_error("out_distances must be int32");
    if (d > 33025) throw py::value_error("uint8 inputs with more than 33025 features overflow int32");
    auto x = static_cast<const uint8_t*>(X.data()), y = static_cast<const uint8_t*>(Y.data());
    auto od = static_cast<int32_t*>(out_d.mutable_data());
    return interruptible([&](Cancel& c) { return ops.knn_u8(x, nq, y, nt, d, k, m, od, oi, c, th); });
  }
  throw py::type_error("queries must be float32, float64 or uint8");
}

void pairwise(py::array X, py::array Y, int metric, py::array out) {
  check_matrix(X, "X");
  check_matrix(Y, "Y");
  const int64_t nq = X.shape(0), nt = Y.shape(0), d = X.shape(1);
  if (Y.shape(1) != d) throw py::value_error("X and Y have different feature counts");
  if (!X.dtype().equal(Y.dtype())) throw py::type_error("X and Y must have the same dtype");
  check_out(out, "out", nq, nt);
  const Metric m = to_metric(metric);
  const cpu::Ops& ops = cpu::active_ops();
  const int th = cpu::num_threads();
  if (is<float>(X) && is<float>(out)) {
    auto x = static_cast<const float*>(X.data()), y = static_cast<const float*>(Y.data());
    auto o = static_cast<float*>(out.mutable_data());
    interruptible([&](Cancel& c) { ops.pairwise_f32(x, nq, y, nt, d, m, o, c, th); return 0; });
  } else if (is<double>(X) && is<double>(out)) {
    auto x = static_cast<const double*>(X.data()), y = static_cast<const double*>(Y.data());
    auto o = static_cast<double*>(out.mutable_data());
    interruptible([&](Cancel& c) { ops.pairwise_f64(x, nq, y, nt, d, m, o, c, th); return 0; });
  } else if (is<uint8_t>(X) && is<int32_t>(out)) {
    if (d > 33025) throw py::value_error("uint8 inputs with more than 33025 features overflow int32");
    auto x = static_cast<const uint8_t*>(X.data()), y = static_cast<const uint8_t*>(Y.data());
    auto o = static_cast<int32_t*>(out.mutable_data());
    interruptible([&](Cancel& c) { ops.pairwise_u8(x, nq, y, nt, d, m, o, c, th); return 0; });
  } else {
    throw py::type_error("expected float32->float32, float64->float64 or uint8->int32 arrays");
  }
}

void vote(py::array_t<int64_t, 0> labels, py::object dist, int64_t n_classes, int weights,
          int tie_break, py::array_t<int64_t, 0> out_labels, py::array_t<double, 0> out_scores) {
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
    if (da.shape(0) != nq || da.shape(1) != k) throw py::value_error("distances must have the shape of neighbor_labels");
    dp = da.data();
  }
  if (weights == 1 && !dp) throw py::value_error("weights='distance' needs distances");
  if (out_labels.ndim() != 1 || out_labels.shape(0) != nq) throw py::value_error("out_labels has the wrong shape");
  check_out(out_scores, "out_scores", nq, n_classes);
  int64_t* ol = out_labels.mutable_data();
  double* os = out_scores.mutable_data();
  const int th = cpu::num_threads();
  py::gil_scoped_release nogil;
  cpu::vote(lab, dp, nq, k, n_classes, weights, tie_break, ol, os, th);
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "imgclf CPU kernels (C++ / OpenMP, SIMD chosen at run time)";
  m.attr("__version__") = IMGCLF_VERSION;
  m.def("knn", &knn, py::arg("queries"), py::arg("train"), py::arg("k"), py::arg("metric"),
        py::arg("out_distances"), py::arg("out_indices"),
        "Fused k-nearest-neighbour search into preallocated outputs; returns how many float32 "
        "queries needed the exact fallback scan.");
  m.def("pairwise", &pairwise, py::arg("X"), py::arg("Y"), py::arg("metric"), py::arg("out"));
  m.def("vote", &vote, py::arg("neighbor_labels"), py::arg("distances"), py::arg("n_classes"),
        py::arg("weights"), py::arg("tie_break"), py::arg("out_labels"), py::arg("out_scores"));
  m.def("simd_levels", &cpu::simd_levels, "SIMD levels this CPU supports, best first");
  m.def("simd_level", &cpu::simd_level, "The SIMD level in use");
  m.def("set_simd_level", [](const std::string& s) {
    try { cpu::set_simd_level(s); } catch (const std::invalid_argument& e) { throw py::value_error(e.what()); }
  });
  m.def("num_threads", &cpu::num_threads);
  m.def("set_num_threads", &cpu::set_num_threads);
}
