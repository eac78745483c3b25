// What the _cpu binding files share: array checks that name the argument, the GIL release
// with Ctrl-C polling, and the dtype visitor that replaces a float32/float64 branch per op.
// Bindings only bind: no math here.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../enums.h"
#include "kernels.h"

namespace imgclf {
namespace bindings {

namespace py = pybind11;

// dtype equivalence (native byte order included), not object identity
template <class T> bool is(const py::array& a) { return py::isinstance<py::array_t<T>>(a); }

inline void check_matrix(const py::array& a, const char* name) {
  if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be 2-D");
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " must be C-contiguous");
}

inline void check_out(const py::array& a, const char* name, py::ssize_t r, py::ssize_t c) {
  check_matrix(a, name);
  if (!a.writeable()) throw py::value_error(std::string(name) + " must be writeable");
  if (a.shape(0) != r || a.shape(1) != c)
    throw py::value_error(std::string(name) + " has the wrong shape");
}

// b has a's dtype T, a's shape, and is C-contiguous
template <class T>
void check_same(const py::array& a, const py::array& b, const char* an, const char* bn) {
  if (!is<T>(b)) throw py::type_error(std::string(bn) + " must have the dtype of " + an);
  bool same = a.ndim() == b.ndim();
  for (py::ssize_t i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == b.shape(i);
  if (!same) throw py::value_error(std::string(bn) + " must have the shape of " + an);
  if (!(b.flags() & py::array::c_style))
    throw py::value_error(std::string(bn) + " must be C-contiguous");
}

inline const int64_t* labels_ptr(const py::array& y, int64_t n, int64_t C) {
  if (!is<int64_t>(y) || y.ndim() != 1 || y.shape(0) != n || !(y.flags() & py::array::c_style))
    throw py::value_error("y must be a contiguous int64 vector with one label per row");
  auto p = static_cast<const int64_t*>(y.data());
  for (int64_t i = 0; i < n; ++i)
    if (p[i] < 0 || p[i] >= C) throw py::value_error("y must lie in [0, n_classes)");
  return p;
}

// The row indices of a gathered batch: rows (None: every row of X, n = X.shape(0)) as a
// contiguous int64 vector indexing X; n set to the batch size.  `keep` holds the array
// the returned pointer points into.
inline const int64_t* row_indices(const py::object& rows, const py::array& X, int64_t& n,
                                  py::array& keep) {
  n = X.shape(0);
  if (rows.is_none()) return nullptr;
  keep = rows.cast<py::array>();
  if (!is<int64_t>(keep) || keep.ndim() != 1 || !(keep.flags() & py::array::c_style))
    throw py::value_error("rows must be a contiguous int64 vector");
  const int64_t* rp = static_cast<const int64_t*>(keep.data());
  n = keep.shape(0);
  for (int64_t i = 0; i < n; ++i)
    if (rp[i] < 0 || rp[i] >= X.shape(0)) throw py::value_error("rows must index rows of X");
  return rp;
}

inline DType dtype_of(const py::array& X, const char* name) {
  if (is<uint8_t>(X)) return DType::U8;
  if (is<float>(X)) return DType::F32;
  if (is<double>(X)) return DType::F64;
  throw py::type_error(std::string(name) + " must be uint8, float32 or float64");
}

// f(T{}) for T the element type of a: float or double (TypeError naming the argument
// otherwise).  One call replaces the float32/float64 branch of every binding.
template <class F> auto visit_float(const py::array& a, const char* name, F f) {
  if (is<float>(a)) return f(float{});
  if (is<double>(a)) return f(double{});
  throw py::type_error(std::string(name) + " must be float32 or float64");
}
// the same over float, double and uint8_t
template <class F> auto visit_real(const py::array& a, const char* name, F f) {
  if (is<float>(a)) return f(float{});
  if (is<double>(a)) return f(double{});
  if (is<uint8_t>(a)) return f(uint8_t{});
  throw py::type_error(std::string(name) + " must be float32, float64 or uint8");
}

template <class T> T* data(py::array& a) { return static_cast<T*>(a.mutable_data()); }
template <class T> const T* cdata(const py::array& a) { return static_cast<const T*>(a.data()); }

// The threads of one step write every param and state while reading every grad: an array
// that overlaps another one it writes or reads (the same array twice, m is v, overlapping
// views) would race.  Contiguous arrays overlap exactly when their byte ranges do.
template <class T> void check_no_overlap(const std::vector<cpu::OptimTensor<T>>& ts) {
  struct Span {
    uintptr_t lo, hi;
    bool written;
  };
  std::vector<Span> sp;
  auto add = [&](const T* p, int64_t n, bool w) {
    if (p && n > 0) sp.push_back({uintptr_t(p), uintptr_t(p + n), w});
  };
  for (const auto& t : ts) {
    add(t.w, t.n, true);
    add(t.g, t.n, false);
    add(t.s1, t.n, true);
    add(t.s2, t.n, true);
  }
  std::sort(sp.begin(), sp.end(), [](const Span& a, const Span& b) { return a.lo < b.lo; });
  uintptr_t end_any = 0, end_written = 0;
  for (const Span& s : sp) {
    if (s.lo < end_written || (s.written && s.lo < end_any))
      throw py::value_error("params, grads and states must not share memory");
    end_any = std::max(end_any, s.hi);
    if (s.written) end_written = std::max(end_written, s.hi);
  }
}

// Runs f(cancel) without the GIL; Ctrl-C (seen by the calling thread) stops it and raises.
template <class F> auto interruptible(F f) {
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

// Each family binds itself (csrc/bindings/cpu/<family>.cpp).
void bind_knn(py::module_& m);
void bind_loss(py::module_& m);
void bind_optim(py::module_& m);
void bind_dense(py::module_& m);
void bind_regularize(py::module_& m);
void bind_network(py::module_& m);

}  // namespace bindings
}  // namespace imgclf
