// _cpu bindings of the regularize family: max_norm.
#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

int64_t max_norm(py::array W, double c) {
  check_matrix(W, "W");
  if (!W.writeable()) throw py::value_error("W must be writeable");
  if (!(c > 0)) throw py::value_error("c must be > 0");
  const int64_t d = W.shape(0), H = W.shape(1);
  const cpu::RegularizeOps& ops = cpu::active_ops().regularize;
  const int th = cpu::num_threads();
  return visit_float(W, "W", [&](auto tag) {
    using T = decltype(tag);
    T* w = data<T>(W);
    auto f = pick<T>(ops.max_norm_f32, ops.max_norm_f64);
    py::gil_scoped_release nogil;
    return f(w, d, H, c, th);
  });
}

int64_t dropout(py::array h, double p, uint64_t seed) {
  if (!(h.flags() & py::array::c_style)) throw py::value_error("h must be C-contiguous");
  if (!h.writeable()) throw py::value_error("h must be writeable");
  if (!(p >= 0 && p < 1)) throw py::value_error("p must be in [0, 1)");
  const cpu::RegularizeOps& ops = cpu::active_ops().regularize;
  const int th = cpu::num_threads();
  const int64_t n = h.size();
  return visit_float(h, "h", [&](auto tag) {
    using T = decltype(tag);
    T* x = data<T>(h);
    auto f = pick<T>(ops.dropout_f32, ops.dropout_f64);
    py::gil_scoped_release nogil;
    return f(x, n, p, seed, th);
  });
}

}  // namespace

void bind_regularize(py::module_& m) {
  m.def("max_norm", &max_norm, py::arg("W"), py::arg("c"),
        "Scale every column of W whose L2 norm exceeds c down to norm c, in place; returns how "
        "many were scaled");
  m.def("dropout", &dropout, py::arg("h"), py::arg("p"), py::arg("seed"),
        "Inverted dropout in place with the counter-based mask of (seed, index); returns how many "
        "elements were kept");
}

}  // namespace bindings
}  // namespace imgclf
