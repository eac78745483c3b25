// imgclf._cpu: binds the CPU kernels.  Checks arguments, releases the GIL, polls for
// Ctrl-C; no math lives here.  Outputs are allocated by the Python layer and passed in.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels.h"

namespace py = pybind11;
using namespace imgclf;
using cpu::DType;
using cpu::LossKind;
using cpu::PenaltyKind;

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
  if (m < 0 || m > 2) throw py::value_error("metric code must be 0 (l1), 1 (sqeuclidean) or 2 (l2)");
  return Metric(m);
}

// uint8 distances are exact integers: "l2" is the caller's root of the squared one, and
// int32 must hold every value (255^2 d for squared L2, 255 d for L1)
void check_u8(Metric m, int64_t d) {
  if (m == Metric::L2)
    throw py::value_error("uint8 inputs give exact int32 distances: pass sqeuclidean (1) and take the root");
  if (d > (m == Metric::L1 ? 8421504 : 33025))
    throw py::value_error("uint8 distances over this many features overflow int32");
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
    check_u8(m, d);
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
    check_u8(m, d);
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

// ---- losses, penalties, the linear minibatch, optimizer steps ----------------------------

template <class T>
void check_same(const py::array& a, const py::array& b, const char* an, const char* bn) {
  if (!is<T>(b)) throw py::type_error(std::string(bn) + " must have the dtype of " + an);
  bool same = a.ndim() == b.ndim();
  for (py::ssize_t i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == b.shape(i);
  if (!same) throw py::value_error(std::string(bn) + " must have the shape of " + an);
  if (!(b.flags() & py::array::c_style)) throw py::value_error(std::string(bn) + " must be C-contiguous");
}

const int64_t* labels_ptr(const py::array& y, int64_t n, int64_t C) {
  if (!is<int64_t>(y) || y.ndim() != 1 || y.shape(0) != n || !(y.flags() & py::array::c_style))
    throw py::value_error("y must be a contiguous int64 vector with one label per row");
  auto p = static_cast<const int64_t*>(y.data());
  for (int64_t i = 0; i < n; ++i)
    if (p[i] < 0 || p[i] >= C) throw py::value_error("y must lie in [0, n_classes)");
  return p;
}

double class_loss(py::array S, py::array y, int kind, double margin, py::array dS) {
  check_matrix(S, "scores");
  const int64_t n = S.shape(0), C = S.shape(1);
  if (kind < 0 || kind > 2) throw py::value_error("loss kind must be 0 (softmax), 1 (svm) or 2 (squared svm)");
  const int64_t* yp = labels_ptr(y, n, C);
  check_out(dS, "dscores", n, C);
  const cpu::Ops& ops = cpu::active_ops();
  const int th = cpu::num_threads();
  if (is<float>(S)) {
    check_same<float>(S, dS, "scores", "dscores");
    auto sp = static_cast<const float*>(S.data());
    auto dp = static_cast<float*>(dS.mutable_data());
    py::gil_scoped_release nogil;
    return ops.loss_f32(sp, n, C, yp, LossKind(kind), margin, dp, th);
  }
  if (is<double>(S)) {
    check_same<double>(S, dS, "scores", "dscores");
    auto sp = static_cast<const double*>(S.data());
    auto dp = static_cast<double*>(dS.mutable_data());
    py::gil_scoped_release nogil;
    return ops.loss_f64(sp, n, C, yp, LossKind(kind), margin, dp, th);
  }
  throw py::type_error("scores must be float32 or float64");
}

double penalty(py::array W, int kind, double beta, double reg, py::object grad) {
  if (!(W.flags() & py::array::c_style)) throw py::value_error("W must be C-contiguous");
  if (kind < 0 || kind > 2) throw py::value_error("penalty kind must be 0 (l2), 1 (l1) or 2 (elasticnet)");
  const cpu::Ops& ops = cpu::active_ops();
  const int th = cpu::num_threads();
  const int64_t n = W.size();
  py::array g;
  const bool has_grad = !grad.is_none();  // (a default py::array is an empty array, not null)
  if (has_grad) {
    g = grad.cast<py::array>();
    if (!g.writeable()) throw py::value_error("grad must be writeable");
  }
  if (is<float>(W)) {
    float* gp = nullptr;
    if (has_grad) { check_same<float>(W, g, "W", "grad"); gp = static_cast<float*>(g.mutable_data()); }
    auto wp = static_cast<const float*>(W.data());
    py::gil_scoped_release nogil;
    return ops.penalty_f32(wp, n, PenaltyKind(kind), beta, reg, gp, th);
  }
  if (is<double>(W)) {
    double* gp = nullptr;
    if (has_grad) { check_same<double>(W, g, "W", "grad"); gp = static_cast<double*>(g.mutable_data()); }
    auto wp = static_cast<const double*>(W.data());
    py::gil_scoped_release nogil;
    return ops.penalty_f64(wp, n, PenaltyKind(kind), beta, reg, gp, th);
  }
  throw py::type_error("W must be float32 or float64");
}

template <class T>
double linear_grad_t(cpu::LinearBatch& lb, py::object shift, py::array W, py::array b,
                     py::array dW, py::array db) {
  const T* sp = nullptr;
  py::array sh;
  if (!shift.is_none()) {
    sh = shift.cast<py::array>();
    if (!is<T>(sh) || sh.size() != lb.d || !(sh.flags() & py::array::c_style))
      throw py::value_error("shift must be a contiguous vector of n_features values of W's dtype");
    sp = static_cast<const T*>(sh.data());
  }
  check_same<T>(W, dW, "W", "dW");
  if (!is<T>(b) || b.ndim() != 1 || b.shape(0) != lb.C) throw py::value_error("b must be a vector of n_classes values of W's dtype");
  check_same<T>(b, db, "b", "db");
  auto wp = static_cast<const T*>(W.data());
  auto bp = static_cast<const T*>(b.data());
  auto dwp = static_cast<T*>(dW.mutable_data());
  auto dbp = static_cast<T*>(db.mutable_data());
  const cpu::Ops& ops = cpu::active_ops();
  const int th = cpu::num_threads();
  return interruptible([&](Cancel& c) {
    if constexpr (std::is_same<T, float>::value)
      return ops.linear_f32(lb, sp, wp, bp, dwp, dbp, c, th);
    else
      return ops.linear_f64(lb, sp, wp, bp, dwp, dbp, c, th);
  });
}

double linear_grad(py::array X, py::object rows, double scale, py::object shift, py::array W,
                   py::array b, py::array y, int kind, double margin, double reg, int penalty,
                   double beta, py::array dW, py::array db) {
  check_matrix(X, "X");
  check_matrix(W, "W");
  cpu::LinearBatch lb{};
  lb.X = X.data();
  lb.d = X.shape(1);
  if (W.shape(0) != lb.d) throw py::value_error("W must have one row per feature of X");
  lb.C = W.shape(1);
  if (is<uint8_t>(X)) lb.x_dtype = DType::U8;
  else if (is<float>(X)) lb.x_dtype = DType::F32;
  else if (is<double>(X)) lb.x_dtype = DType::F64;
  else throw py::type_error("X must be uint8, float32 or float64");
  py::array r;
  if (rows.is_none()) {
    lb.rows = nullptr;
    lb.B = X.shape(0);
  } else {
    r = rows.cast<py::array>();
    if (!is<int64_t>(r) || r.ndim() != 1 || !(r.flags() & py::array::c_style))
      throw py::value_error("rows must be a contiguous int64 vector");
    lb.rows = static_cast<const int64_t*>(r.data());
    lb.B = r.shape(0);
    for (int64_t i = 0; i < lb.B; ++i)
      if (lb.rows[i] < 0 || lb.rows[i] >= X.shape(0)) throw py::value_error("rows must index rows of X");
  }
  if (lb.B < 1) throw py::value_error("the batch is empty");
  if (kind < 0 || kind > 2) throw py::value_error("loss kind must be 0, 1 or 2");
  lb.y = labels_ptr(y, lb.B, lb.C);
  lb.scale = scale;
  lb.kind = LossKind(kind);
  lb.margin = margin;
  if (penalty < 0 || penalty > 2) throw py::value_error("penalty kind must be 0, 1 or 2");
  lb.reg = reg;
  lb.penalty = PenaltyKind(penalty);
  lb.beta = beta;
  if (is<float>(W)) return linear_grad_t<float>(lb, shift, W, b, dW, db);
  if (is<double>(W)) return linear_grad_t<double>(lb, shift, W, b, dW, db);
  throw py::type_error("W must be float32 or float64");
}

// The threads of one step write every param and state while reading every grad: an array
// that overlaps another one it writes or reads (the same array twice, m is v, overlapping
// views) would race.  Contiguous arrays overlap exactly when their byte ranges do.
template <class T>
void check_no_overlap(const std::vector<cpu::OptimTensor<T>>& ts) {
  struct Span { uintptr_t lo, hi; bool written; };
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

template <class T>
void optim_t(const cpu::OptimHyper& h, py::list params, py::list grads, py::object s1,
             py::object s2) {
  const size_t n = params.size();
  std::vector<cpu::OptimTensor<T>> ts(n);
  std::vector<py::array> keep;
  auto get = [&](py::handle o, const py::array& like, const char* name, bool write) {
    py::array a = py::reinterpret_borrow<py::array>(o);
    if (!py::isinstance<py::array>(o)) throw py::type_error(std::string(name) + " must be arrays");
    check_same<T>(like, a, "param", name);
    if (write && !a.writeable()) throw py::value_error(std::string(name) + " must be writeable");
    keep.push_back(a);
    return a;
  };
  for (size_t t = 0; t < n; ++t) {
    py::handle ph = params[t];
    if (!py::isinstance<py::array>(ph)) throw py::type_error("params must be arrays");
    py::array p = py::reinterpret_borrow<py::array>(ph);
    if (!is<T>(p) || !(p.flags() & py::array::c_style) || !p.writeable())
      throw py::value_error("params must be writeable C-contiguous arrays of one float dtype");
    keep.push_back(p);
    ts[t].w = static_cast<T*>(p.mutable_data());
    ts[t].n = p.size();
    ts[t].g = static_cast<const T*>(get(grads[t], p, "grads", false).data());
    ts[t].s1 = s1.is_none() ? nullptr
                            : static_cast<T*>(get(s1.cast<py::list>()[t], p, "state", true).mutable_data());
    ts[t].s2 = s2.is_none() ? nullptr
                            : static_cast<T*>(get(s2.cast<py::list>()[t], p, "state", true).mutable_data());
  }
  check_no_overlap(ts);
  const cpu::Ops& ops = cpu::active_ops();
  const int th = cpu::num_threads();
  py::gil_scoped_release nogil;
  if constexpr (std::is_same<T, float>::value) ops.optim_f32(h, ts.data(), int64_t(n), th);
  else ops.optim_f64(h, ts.data(), int64_t(n), th);
}

void optim_step(int kind, py::list params, py::list grads, py::object s1, py::object s2,
                double lr, double a, double b, double eps, double wd, double bc1, double bc2) {
  if (kind < 0 || kind > 5) throw py::value_error("unknown optimizer kind");
  const size_t n = params.size();
  if (grads.size() != n) throw py::value_error("params and grads must have the same length");
  const bool need1 = kind != 0, need2 = kind == 5;
  if (need1 && (s1.is_none() || s1.cast<py::list>().size() != n))
    throw py::value_error("this optimizer needs one state array per param");
  if (need2 && (s2.is_none() || s2.cast<py::list>().size() != n))
    throw py::value_error("adam needs two state arrays per param");
  if (!need1) s1 = py::none();
  if (!need2) s2 = py::none();
  if (n == 0) return;
  cpu::OptimHyper h{cpu::OptimKind(kind), lr, a, b, eps, wd, bc1, bc2};
  py::handle p0 = params[0];
  if (py::isinstance<py::array_t<float>>(p0) && is<float>(py::reinterpret_borrow<py::array>(p0)))
    optim_t<float>(h, params, grads, s1, s2);
  else if (py::isinstance<py::array>(p0) && is<double>(py::reinterpret_borrow<py::array>(p0)))
    optim_t<double>(h, params, grads, s1, s2);
  else
    throw py::type_error("params must be float32 or float64 arrays");
}

// C = alpha op(A) op(B) + beta C; A, B, C 2-D C-contiguous of one float dtype
void gemm(py::array A, py::array B, py::array C, bool ta, bool tb, double alpha, double beta) {
  check_matrix(A, "A");
  check_matrix(B, "B");
  check_matrix(C, "out");
  if (!C.writeable()) throw py::value_error("out must be writeable");
  const int64_t M = ta ? A.shape(1) : A.shape(0), K = ta ? A.shape(0) : A.shape(1);
  const int64_t KB = tb ? B.shape(1) : B.shape(0), N = tb ? B.shape(0) : B.shape(1);
  if (K != KB) throw py::value_error("A and B have incompatible shapes for a matrix product");
  if (C.shape(0) != M || C.shape(1) != N) throw py::value_error("out has the wrong shape");
  const cpu::Ops& ops = cpu::active_ops();
  const int th = cpu::num_threads();
  if (is<float>(A) && is<float>(B) && is<float>(C)) {
    auto a = static_cast<const float*>(A.data()), b = static_cast<const float*>(B.data());
    auto c = static_cast<float*>(C.mutable_data());
    interruptible([&](Cancel& cc) {
      ops.gemm_f32(ta, tb, M, N, K, float(alpha), a, A.shape(1), b, B.shape(1), float(beta), c, N, cc, th);
      return 0;
    });
  } else if (is<double>(A) && is<double>(B) && is<double>(C)) {
    auto a = static_cast<const double*>(A.data()), b = static_cast<const double*>(B.data());
    auto c = static_cast<double*>(C.mutable_data());
    interruptible([&](Cancel& cc) {
      ops.gemm_f64(ta, tb, M, N, K, alpha, a, A.shape(1), b, B.shape(1), beta, c, N, cc, th);
      return 0;
    });
  } else {
    throw py::type_error("A, B and out must all be float32 or all float64");
  }
}

void bias_act(py::array h, py::array b, bool relu) {
  check_matrix(h, "h");
  if (!h.writeable()) throw py::value_error("h must be writeable");
  const int64_t n = h.shape(0), H = h.shape(1);
  if (b.ndim() != 1 || b.shape(0) != H || !(b.flags() & py::array::c_style))
    throw py::value_error("b must be a contiguous vector with one value per column of h");
  const cpu::Ops& ops = cpu::active_ops();
  const int th = cpu::num_threads();
  if (is<float>(h) && is<float>(b)) {
    auto hp = static_cast<float*>(h.mutable_data());
    auto bp = static_cast<const float*>(b.data());
    py::gil_scoped_release nogil;
    ops.bias_act_f32(hp, bp, n, H, relu, th);
  } else if (is<double>(h) && is<double>(b)) {
    auto hp = static_cast<double*>(h.mutable_data());
    auto bp = static_cast<const double*>(b.data());
    py::gil_scoped_release nogil;
    ops.bias_act_f64(hp, bp, n, H, relu, th);
  } else {
    throw py::type_error("h and b must both be float32 or both float64");
  }
}

void act_backward(py::array dh, py::array h, py::array db) {
  check_matrix(dh, "dh");
  if (!dh.writeable() || !db.writeable()) throw py::value_error("dh and db must be writeable");
  const int64_t n = dh.shape(0), H = dh.shape(1);
  if (db.ndim() != 1 || db.shape(0) != H || !(db.flags() & py::array::c_style))
    throw py::value_error("db must be a contiguous vector with one value per column of dh");
  const cpu::Ops& ops = cpu::active_ops();
  const int th = cpu::num_threads();
  if (is<float>(dh)) {
    check_same<float>(dh, h, "dh", "h");
    if (!is<float>(db)) throw py::type_error("db must have dh's dtype");
    auto d = static_cast<float*>(dh.mutable_data());
    auto x = static_cast<const float*>(h.data());
    auto o = static_cast<float*>(db.mutable_data());
    py::gil_scoped_release nogil;
    ops.act_backward_f32(d, x, n, H, o, th);
  } else if (is<double>(dh)) {
    check_same<double>(dh, h, "dh", "h");
    if (!is<double>(db)) throw py::type_error("db must have dh's dtype");
    auto d = static_cast<double*>(dh.mutable_data());
    auto x = static_cast<const double*>(h.data());
    auto o = static_cast<double*>(db.mutable_data());
    py::gil_scoped_release nogil;
    ops.act_backward_f64(d, x, n, H, o, th);
  } else {
    throw py::type_error("dh must be float32 or float64");
  }
}

void gather_affine(py::array X, py::object rows, double scale, py::object shift, py::array out) {
  check_matrix(X, "X");
  check_matrix(out, "out");
  if (!out.writeable()) throw py::value_error("out must be writeable");
  const int64_t d = X.shape(1);
  DType xt;
  if (is<uint8_t>(X)) xt = DType::U8;
  else if (is<float>(X)) xt = DType::F32;
  else if (is<double>(X)) xt = DType::F64;
  else throw py::type_error("X must be uint8, float32 or float64");
  const int64_t* rp = nullptr;
  int64_t n = X.shape(0);
  py::array r;
  if (!rows.is_none()) {
    r = rows.cast<py::array>();
    if (!is<int64_t>(r) || r.ndim() != 1 || !(r.flags() & py::array::c_style))
      throw py::value_error("rows must be a contiguous int64 vector");
    rp = static_cast<const int64_t*>(r.data());
    n = r.shape(0);
    for (int64_t i = 0; i < n; ++i)
      if (rp[i] < 0 || rp[i] >= X.shape(0)) throw py::value_error("rows must index rows of X");
  }
  if (out.shape(0) != n || out.shape(1) != d) throw py::value_error("out must be (n_rows, n_features)");
  py::array sh;
  const bool has_shift = !shift.is_none();  // (a default py::array is an empty array, not null)
  if (has_shift) {
    sh = shift.cast<py::array>();
    if (sh.ndim() != 1 || sh.shape(0) != d || !(sh.flags() & py::array::c_style) || !sh.dtype().equal(out.dtype()))
      throw py::value_error("shift must be a contiguous vector of n_features values of out's dtype");
  }
  const cpu::Ops& ops = cpu::active_ops();
  const int th = cpu::num_threads();
  const void* xp = X.data();
  if (is<float>(out)) {
    auto s = has_shift ? static_cast<const float*>(sh.data()) : nullptr;
    auto o = static_cast<float*>(out.mutable_data());
    py::gil_scoped_release nogil;
    ops.gather_f32(xp, xt, d, rp, n, scale, s, o, th);
  } else if (is<double>(out)) {
    auto s = has_shift ? static_cast<const double*>(sh.data()) : nullptr;
    auto o = static_cast<double*>(out.mutable_data());
    py::gil_scoped_release nogil;
    ops.gather_f64(xp, xt, d, rp, n, scale, s, o, th);
  } else {
    throw py::type_error("out must be float32 or float64");
  }
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
  m.def("class_loss", &class_loss, py::arg("scores"), py::arg("y"), py::arg("kind"),
        py::arg("margin"), py::arg("dscores"), "Mean softmax/SVM loss; writes dL/dscores");
  m.def("penalty", &penalty, py::arg("W"), py::arg("kind"), py::arg("beta"), py::arg("reg"),
        py::arg("grad"), "reg * R(W); adds its gradient to grad in place");
  m.def("linear_grad", &linear_grad, py::arg("X"), py::arg("rows"), py::arg("scale"),
        py::arg("shift"), py::arg("W"), py::arg("b"), py::arg("y"), py::arg("kind"),
        py::arg("margin"), py::arg("reg"), py::arg("penalty"), py::arg("beta"), py::arg("dW"),
        py::arg("db"),
        "Fused linear-classifier minibatch: returns the mean loss (data + reg * R(W)), "
        "writes dW and db");
  m.def("optim_step", &optim_step, py::arg("kind"), py::arg("params"), py::arg("grads"),
        py::arg("state1"), py::arg("state2"), py::arg("lr"), py::arg("a"), py::arg("b"),
        py::arg("eps"), py::arg("weight_decay"), py::arg("bc1"), py::arg("bc2"),
        "One in-place optimizer update of every (param, grad, state) triple");
  m.def("gemm", &gemm, py::arg("A"), py::arg("B"), py::arg("out"), py::arg("trans_a"),
        py::arg("trans_b"), py::arg("alpha"), py::arg("beta"), "out = alpha op(A) op(B) + beta out");
  m.def("bias_act", &bias_act, py::arg("h"), py::arg("b"), py::arg("relu"), "h = max(h + b, 0) in place");
  m.def("act_backward", &act_backward, py::arg("dh"), py::arg("h"), py::arg("db"),
        "dh = 0 where h <= 0 in place; db = column sums of dh");
  m.def("gather_affine", &gather_affine, py::arg("X"), py::arg("rows"), py::arg("scale"),
        py::arg("shift"), py::arg("out"), "out = scale * X[rows] - shift");
  m.def("simd_levels", &cpu::simd_levels, "SIMD levels this CPU supports, best first");
  m.def("simd_level", &cpu::simd_level, "The SIMD level in use");
  m.def("set_simd_level", [](const std::string& s) {
    try { cpu::set_simd_level(s); } catch (const std::invalid_argument& e) { throw py::value_error(e.what()); }
  });
  m.def("num_threads", &cpu::num_threads);
  m.def("set_num_threads", &cpu::set_num_threads);
}
