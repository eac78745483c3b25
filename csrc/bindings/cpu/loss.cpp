// _cpu bindings of the loss family: class_loss (softmax/SVM), penalty, linear_loss.
#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

double class_loss(py::array S, py::array y, LossKind kind, double margin, py::array dS) {
  check_matrix(S, "scores");
  const int64_t n = S.shape(0), C = S.shape(1);
  const int64_t* yp = labels_ptr(y, n, C);
  check_out(dS, "dscores", n, C);
  const cpu::LossOps& ops = cpu::active_ops().loss;
  const int th = cpu::num_threads();
  return visit_float(S, "scores", [&](auto tag) {
    using T = decltype(tag);
    check_same<T>(S, dS, "scores", "dscores");
    const T* sp = cdata<T>(S);
    T* dp = data<T>(dS);
    auto f = pick<T>(ops.class_loss_f32, ops.class_loss_f64);
    py::gil_scoped_release nogil;
    return f(sp, n, C, yp, kind, margin, dp, th);
  });
}

double penalty(py::array W, PenaltyKind kind, double beta, double reg, py::object grad) {
  if (!(W.flags() & py::array::c_style)) throw py::value_error("W must be C-contiguous");
  const int64_t n = W.size();
  py::array g;
  const bool has_grad = !grad.is_none();  // (a default py::array is an empty array, not null)
  if (has_grad) {
    g = grad.cast<py::array>();
    if (!g.writeable()) throw py::value_error("grad must be writeable");
  }
  const cpu::LossOps& ops = cpu::active_ops().loss;
  const int th = cpu::num_threads();
  return visit_float(W, "W", [&](auto tag) {
    using T = decltype(tag);
    T* gp = nullptr;
    if (has_grad) {
      check_same<T>(W, g, "W", "grad");
      gp = data<T>(g);
    }
    const T* wp = cdata<T>(W);
    auto f = pick<T>(ops.penalty_f32, ops.penalty_f64);
    py::gil_scoped_release nogil;
    return f(wp, n, kind, beta, reg, gp, th);
  });
}

double linear_loss(py::array X, py::object rows, double scale, py::object shift, py::array W,
                   py::array b, py::array y, LossKind kind, double margin, double reg,
                   PenaltyKind penalty_kind, double beta, py::array dW, py::array db) {
  check_matrix(X, "X");
  check_matrix(W, "W");
  cpu::LinearBatch lb{};
  lb.X = X.data();
  lb.x_dtype = dtype_of(X, "X");
  lb.d = X.shape(1);
  if (W.shape(0) != lb.d) throw py::value_error("W must have one row per feature of X");
  lb.C = W.shape(1);
  py::array r;
  lb.rows = row_indices(rows, X, lb.B, r);
  if (lb.B < 1) throw py::value_error("the batch is empty");
  lb.y = labels_ptr(y, lb.B, lb.C);
  lb.scale = scale;
  lb.kind = kind;
  lb.margin = margin;
  lb.reg = reg;
  lb.penalty = penalty_kind;
  lb.beta = beta;
  const cpu::LossOps& ops = cpu::active_ops().loss;
  const int th = cpu::num_threads();
  return visit_float(W, "W", [&](auto tag) {
    using T = decltype(tag);
    const T* sp = nullptr;
    py::array sh;
    if (!shift.is_none()) {
      sh = shift.cast<py::array>();
      if (!is<T>(sh) || sh.size() != lb.d || !(sh.flags() & py::array::c_style))
        throw py::value_error(
            "shift must be a contiguous vector of n_features values of W's dtype");
      sp = cdata<T>(sh);
    }
    check_same<T>(W, dW, "W", "dW");
    if (!is<T>(b) || b.ndim() != 1 || b.shape(0) != lb.C)
      throw py::value_error("b must be a vector of n_classes values of W's dtype");
    check_same<T>(b, db, "b", "db");
    const T* wp = cdata<T>(W);
    const T* bp = cdata<T>(b);
    T* dwp = data<T>(dW);
    T* dbp = data<T>(db);
    auto f = pick<T>(ops.linear_loss_f32, ops.linear_loss_f64);
    return interruptible([&](Cancel& c) { return f(lb, sp, wp, bp, dwp, dbp, c, th); });
  });
}

}  // namespace

void bind_loss(py::module_& m) {
  m.def("class_loss", &class_loss, py::arg("scores"), py::arg("y"), py::arg("kind"),
        py::arg("margin"), py::arg("dscores"), "Mean softmax/SVM loss; writes dL/dscores");
  m.def("penalty", &penalty, py::arg("W"), py::arg("kind"), py::arg("beta"), py::arg("reg"),
        py::arg("grad"), "reg * R(W); adds its gradient to grad in place");
  m.def("linear_loss", &linear_loss, py::arg("X"), py::arg("rows"), py::arg("scale"),
        py::arg("shift"), py::arg("W"), py::arg("b"), py::arg("y"), py::arg("kind"),
        py::arg("margin"), py::arg("reg"), py::arg("penalty"), py::arg("beta"), py::arg("dW"),
        py::arg("db"),
        "Fused linear-classifier minibatch: returns the mean loss (data + reg * R(W)), writes dW "
        "and db");
}

}  // namespace bindings
}  // namespace imgclf
