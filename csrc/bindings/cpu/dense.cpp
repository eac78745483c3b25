// _cpu bindings of the dense family: gemm, bias_act, act_backward, affine_rows.
#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

// out = alpha op(A) op(B) + beta out; A, B, out 2-D C-contiguous of one float dtype
void gemm(py::array A, py::array B, py::array C, bool ta, bool tb, double alpha, double beta) {
  check_matrix(A, "A");
  check_matrix(B, "B");
  check_matrix(C, "out");
  if (!C.writeable()) throw py::value_error("out must be writeable");
  const int64_t M = ta ? A.shape(1) : A.shape(0), K = ta ? A.shape(0) : A.shape(1);
  const int64_t KB = tb ? B.shape(1) : B.shape(0), N = tb ? B.shape(0) : B.shape(1);
  if (K != KB) throw py::value_error("A and B have incompatible shapes for a matrix product");
  if (C.shape(0) != M || C.shape(1) != N) throw py::value_error("out has the wrong shape");
  const cpu::DenseOps& ops = cpu::active_ops().dense;
  const int th = cpu::num_threads();
  visit_float(A, "A", [&](auto tag) {
    using T = decltype(tag);
    if (!is<T>(B) || !is<T>(C))
      throw py::type_error("A, B and out must all be float32 or all float64");
    const T* a = cdata<T>(A);
    const T* b = cdata<T>(B);
    T* c = data<T>(C);
    auto f = pick<T>(ops.gemm_f32, ops.gemm_f64);
    interruptible([&](Cancel& cc) {
      f(ta, tb, M, N, K, T(alpha), a, A.shape(1), b, B.shape(1), T(beta), c, N, cc, th);
      return 0;
    });
  });
}

void bias_act(py::array h, py::array b, Activation act, double slope) {
  check_matrix(h, "h");
  if (!h.writeable()) throw py::value_error("h must be writeable");
  const int64_t n = h.shape(0), H = h.shape(1);
  if (b.ndim() != 1 || b.shape(0) != H || !(b.flags() & py::array::c_style))
    throw py::value_error("b must be a contiguous vector with one value per column of h");
  const cpu::DenseOps& ops = cpu::active_ops().dense;
  const int th = cpu::num_threads();
  visit_float(h, "h", [&](auto tag) {
    using T = decltype(tag);
    if (!is<T>(b)) throw py::type_error("b must have h's dtype");
    T* hp = data<T>(h);
    const T* bp = cdata<T>(b);
    auto f = pick<T>(ops.bias_act_f32, ops.bias_act_f64);
    py::gil_scoped_release nogil;
    f(hp, bp, n, H, act, slope, th);
  });
}

void act_backward(py::array dh, py::array h, Activation act, double slope, py::array db) {
  check_matrix(dh, "dh");
  if (!dh.writeable() || !db.writeable()) throw py::value_error("dh and db must be writeable");
  const int64_t n = dh.shape(0), H = dh.shape(1);
  if (db.ndim() != 1 || db.shape(0) != H || !(db.flags() & py::array::c_style))
    throw py::value_error("db must be a contiguous vector with one value per column of dh");
  const cpu::DenseOps& ops = cpu::active_ops().dense;
  const int th = cpu::num_threads();
  visit_float(dh, "dh", [&](auto tag) {
    using T = decltype(tag);
    check_same<T>(dh, h, "dh", "h");
    if (!is<T>(db)) throw py::type_error("db must have dh's dtype");
    T* d = data<T>(dh);
    const T* y = cdata<T>(h);
    T* o = data<T>(db);
    auto f = pick<T>(ops.act_backward_f32, ops.act_backward_f64);
    py::gil_scoped_release nogil;
    f(d, y, n, H, act, slope, o, th);
  });
}

void affine_rows(py::array X, py::object rows, double scale, py::object shift, py::array out) {
  check_matrix(X, "X");
  check_matrix(out, "out");
  if (!out.writeable()) throw py::value_error("out must be writeable");
  const int64_t d = X.shape(1);
  const DType xt = dtype_of(X, "X");
  int64_t n;
  py::array r;
  const int64_t* rp = row_indices(rows, X, n, r);
  if (out.shape(0) != n || out.shape(1) != d)
    throw py::value_error("out must be (n_rows, n_features)");
  py::array sh;
  const bool has_shift = !shift.is_none();  // (a default py::array is an empty array, not null)
  if (has_shift) {
    sh = shift.cast<py::array>();
    if (sh.ndim() != 1 || sh.shape(0) != d || !(sh.flags() & py::array::c_style) ||
        !sh.dtype().equal(out.dtype()))
      throw py::value_error(
          "shift must be a contiguous vector of n_features values of out's dtype");
  }
  const cpu::DenseOps& ops = cpu::active_ops().dense;
  const int th = cpu::num_threads();
  const void* xp = X.data();
  visit_float(out, "out", [&](auto tag) {
    using T = decltype(tag);
    const T* s = has_shift ? cdata<T>(sh) : nullptr;
    T* o = data<T>(out);
    auto f = pick<T>(ops.affine_rows_f32, ops.affine_rows_f64);
    py::gil_scoped_release nogil;
    f(xp, xt, d, rp, n, scale, s, o, th);
  });
}

}  // namespace

void bind_dense(py::module_& m) {
  m.def("gemm", &gemm, py::arg("A"), py::arg("B"), py::arg("out"), py::arg("trans_a"),
        py::arg("trans_b"), py::arg("alpha"), py::arg("beta"),
        "out = alpha op(A) op(B) + beta out");
  m.def("bias_act", &bias_act, py::arg("h"), py::arg("b"), py::arg("activation"), py::arg("slope"),
        "h = act(h + b) in place");
  m.def("act_backward", &act_backward, py::arg("dh"), py::arg("h"), py::arg("activation"),
        py::arg("slope"), py::arg("db"),
        "dh *= act'(h) in place (h: the layer's output); db = column sums of dh");
  m.def("affine_rows", &affine_rows, py::arg("X"), py::arg("rows"), py::arg("scale"),
        py::arg("shift"), py::arg("out"), "out = scale * X[rows] - shift");
}

}  // namespace bindings
}  // namespace imgclf
