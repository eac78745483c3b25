// _cpu binding of the network family: network_loss (one minibatch of a fully connected
// network, every layer in one call).  Checks every array against the shapes the weights
// imply, naming it; the Python layer (imgclf.ops.network) owns and passes the buffers.
#include <vector>

#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

std::string nth(const char* name, size_t i) {
  return std::string(name) + "[" + std::to_string(i) + "]";
}

template <class T>
void need(const py::array& a, const std::string& name, int64_t r, int64_t c, bool out) {
  if (!is<T>(a)) throw py::type_error(name + " must have W[0]'s dtype");
  if (c < 0 ? a.ndim() != 1 || a.shape(0) != r
            : a.ndim() != 2 || a.shape(0) != r || a.shape(1) != c)
    throw py::value_error(name + " has the wrong shape");
  if (!(a.flags() & py::array::c_style)) throw py::value_error(name + " must be C-contiguous");
  if (out && !a.writeable()) throw py::value_error(name + " must be writeable");
}

std::vector<py::array> arrays(const py::list& l, size_t count, const char* name) {
  if (l.size() != count)
    throw py::value_error(std::string(name) + " must hold " + std::to_string(count) + " arrays");
  std::vector<py::array> out;
  for (auto o : l) out.push_back(py::reinterpret_borrow<py::object>(o).cast<py::array>());
  return out;
}

double network_loss(py::array X, py::object rows, double scale, py::object shift, py::array y,
                    py::list W, py::list b, py::list dW, py::list db, py::array x, py::list act,
                    py::object drop, py::array s, py::array ds, py::list dh, Activation activation,
                    double slope, LossKind loss, double margin, PenaltyKind penalty, double reg,
                    double beta, double p, py::object seeds) {
  const size_t L = W.size();
  if (L < 1) throw py::value_error("W must hold at least one weight matrix");
  auto Ws = arrays(W, L, "W"), bs = arrays(b, L, "b"), dWs = arrays(dW, L, "dW"),
       dbs = arrays(db, L, "db"), acts = arrays(act, L - 1, "act"), dhs = arrays(dh, L - 1, "dh");
  const bool dropping = !seeds.is_none();
  if (dropping == drop.is_none()) throw py::value_error("drop and seeds must be given together");
  std::vector<py::array> drops;
  py::array sd;
  std::vector<int64_t> widths(L + 1);
  for (size_t l = 0; l < L; ++l) {
    check_matrix(Ws[l], nth("W", l).c_str());
    if (l > 0 && Ws[l].shape(0) != widths[l])
      throw py::value_error(nth("W", l) + " must have as many rows as W[" + std::to_string(l - 1) +
                            "] has columns");
    widths[l] = Ws[l].shape(0);
    widths[l + 1] = Ws[l].shape(1);
  }
  check_matrix(X, "X");
  const DType xt = dtype_of(X, "X");
  if (X.shape(1) != widths[0]) throw py::value_error("X must have W[0]'s rows as features");
  int64_t n;
  py::array r;
  const int64_t* rp = row_indices(rows, X, n, r);
  if (n < 1) throw py::value_error("the batch is empty");
  const int64_t C = widths[L];
  const int64_t* yp = labels_ptr(y, n, C);
  if (dropping) {
    drops = arrays(drop.cast<py::list>(), L - 1, "drop");
    sd = seeds.cast<py::array>();
    if (!is<uint64_t>(sd) || sd.ndim() != 1 || sd.shape(0) != int64_t(L - 1) ||
        !(sd.flags() & py::array::c_style))
      throw py::value_error("seeds must be a contiguous uint64 vector, one per hidden layer");
    if (!(p > 0 && p < 1)) throw py::value_error("p must be in (0, 1) with seeds");
  }
  if (!(reg >= 0)) throw py::value_error("reg must be >= 0");
  py::array sh;
  if (!shift.is_none()) sh = shift.cast<py::array>();
  const cpu::NetworkOps& ops = cpu::active_ops().network;
  const int th = cpu::num_threads();
  return visit_float(Ws[0], "W[0]", [&](auto tag) -> double {
    using T = decltype(tag);
    std::vector<const T*> wp(L), bp(L);
    std::vector<T*> dwp(L), dbp(L), ap(L), dp(L), hp(L);
    for (size_t l = 0; l < L; ++l) {
      const int64_t H = widths[l + 1];
      need<T>(Ws[l], nth("W", l), widths[l], H, false);
      need<T>(bs[l], nth("b", l), H, -1, false);
      need<T>(dWs[l], nth("dW", l), widths[l], H, true);
      need<T>(dbs[l], nth("db", l), H, -1, true);
      wp[l] = cdata<T>(Ws[l]);
      bp[l] = cdata<T>(bs[l]);
      dwp[l] = data<T>(dWs[l]);
      dbp[l] = data<T>(dbs[l]);
      if (l + 1 < L) {
        need<T>(acts[l], nth("act", l), n, H, true);
        need<T>(dhs[l], nth("dh", l), n, H, true);
        ap[l] = data<T>(acts[l]);
        hp[l] = data<T>(dhs[l]);
        if (dropping) {
          need<T>(drops[l], nth("drop", l), n, H, true);
          dp[l] = data<T>(drops[l]);
        }
      }
    }
    need<T>(x, "x", n, widths[0], true);
    need<T>(s, "s", n, C, true);
    need<T>(ds, "ds", n, C, true);
    if (!shift.is_none()) need<T>(sh, "shift", widths[0], -1, false);
    cpu::NetBatch<T> nb{};
    nb.X = X.data();
    nb.xt = xt;
    nb.rows = rp;
    nb.n = n;
    nb.scale = scale;
    nb.shift = shift.is_none() ? nullptr : cdata<T>(sh);
    nb.y = yp;
    nb.L = int64_t(L);
    nb.widths = widths.data();
    nb.W = wp.data();
    nb.b = bp.data();
    nb.dW = dwp.data();
    nb.db = dbp.data();
    nb.x = data<T>(x);
    nb.act = ap.data();
    nb.drop = dropping ? dp.data() : nullptr;
    nb.s = data<T>(s);
    nb.ds = data<T>(ds);
    nb.dh = hp.data();
    nb.activation = activation;
    nb.slope = slope;
    nb.loss = loss;
    nb.margin = margin;
    nb.penalty = penalty;
    nb.reg = reg;
    nb.beta = beta;
    nb.p = p;
    nb.seeds = dropping ? cdata<uint64_t>(sd) : nullptr;
    auto f = pick<T>(ops.network_loss_f32, ops.network_loss_f64);
    return interruptible([&](Cancel& cc) { return f(nb, cc, th); });
  });
}

}  // namespace

void bind_network(py::module_& m) {
  m.def("network_loss", &network_loss, py::arg("X"), py::arg("rows"), py::arg("scale"),
        py::arg("shift"), py::arg("y"), py::arg("W"), py::arg("b"), py::arg("dW"), py::arg("db"),
        py::arg("x"), py::arg("act"), py::arg("drop"), py::arg("s"), py::arg("ds"), py::arg("dh"),
        py::arg("activation"), py::arg("slope"), py::arg("loss"), py::arg("margin"),
        py::arg("penalty"), py::arg("reg"), py::arg("beta"), py::arg("p"), py::arg("seeds"),
        "Loss and gradients of a fully connected network on one minibatch, every layer in one "
        "call; writes dW, db and the buffers x, act, drop, s, ds, dh; returns the loss");
}

}  // namespace bindings
}  // namespace imgclf
