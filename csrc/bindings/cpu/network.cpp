// _cpu bindings of the network family: network_loss (one minibatch of a fully connected
// network, every layer in one call) and network_train (consecutive minibatches, each its
// loss and an optimizer step).  Checks every array against the shapes the weights imply,
// naming it; the Python layer (imgclf.ops.network) owns and passes the buffers.
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
  for (auto o : l) {  // (a cast would copy a non-array, and writes to the copy would be lost)
    if (!py::isinstance<py::array>(o))
      throw py::type_error(std::string(name) + " must hold NumPy arrays");
    out.push_back(py::reinterpret_borrow<py::array>(o));
  }
  return out;
}

// The arrays of one network batch, checked where the dtype is not needed (the layer widths
// from the weights, X against them, the rows and labels, the presence of dropout).
struct Net {
  size_t L;
  std::vector<py::array> Ws, bs, dWs, dbs, acts, dhs, drops;
  std::vector<int64_t> widths;
  DType xt;
  py::array rows, shift;
  const int64_t* rp = nullptr;
  const int64_t* yp = nullptr;
  int64_t n_rows = 0;
  bool dropping, has_shift = false;

  Net(py::array& X, py::object rows_, py::object shift_, py::array& y, py::list W, py::list b,
      py::list dW, py::list db, py::list act, py::object drop, py::list dh, bool dropping_,
      double reg)
      : L(W.size()), dropping(dropping_) {
    if (L < 1) throw py::value_error("W must hold at least one weight matrix");
    Ws = arrays(W, L, "W");
    bs = arrays(b, L, "b");
    dWs = arrays(dW, L, "dW");
    dbs = arrays(db, L, "db");
    acts = arrays(act, L - 1, "act");
    dhs = arrays(dh, L - 1, "dh");
    if (dropping == drop.is_none()) throw py::value_error("drop and seeds must be given together");
    if (dropping) drops = arrays(drop.cast<py::list>(), L - 1, "drop");
    widths.resize(L + 1);
    for (size_t l = 0; l < L; ++l) {
      check_matrix(Ws[l], nth("W", l).c_str());
      if (l > 0 && Ws[l].shape(0) != widths[l])
        throw py::value_error(nth("W", l) + " must have as many rows as W[" +
                              std::to_string(l - 1) + "] has columns");
      widths[l] = Ws[l].shape(0);
      widths[l + 1] = Ws[l].shape(1);
    }
    check_matrix(X, "X");
    xt = dtype_of(X, "X");
    if (X.shape(1) != widths[0]) throw py::value_error("X must have W[0]'s rows as features");
    rp = row_indices(rows_, X, n_rows, rows);
    if (n_rows < 1) throw py::value_error("the batch is empty");
    yp = labels_ptr(y, n_rows, widths[L]);
    if (!(reg >= 0)) throw py::value_error("reg must be >= 0");
    if (!shift_.is_none()) {
      shift = shift_.cast<py::array>();
      has_shift = true;
    }
  }
};

// The pointers of a NetBatch<T> for batches of n rows (the buffers' first dimension), every
// array checked against the shapes the weights imply.  weights_out: W and b are written
// (network_train's optimizer steps).
template <class T> struct Batch {
  std::vector<const T*> wp, bp;
  std::vector<T*> dwp, dbp, ap, dp, hp;
  cpu::NetBatch<T> nb{};

  Batch(Net& net, py::array& X, int64_t n, double scale, py::array& x, py::array& s, py::array& ds,
        Activation activation, double slope, LossKind loss, double margin, PenaltyKind penalty,
        double reg, double beta, double p, bool weights_out)
      : wp(net.L), bp(net.L), dwp(net.L), dbp(net.L), ap(net.L), dp(net.L), hp(net.L) {
    const size_t L = net.L;
    const int64_t* w = net.widths.data();
    for (size_t l = 0; l < L; ++l) {
      const int64_t H = w[l + 1];
      need<T>(net.Ws[l], nth("W", l), w[l], H, weights_out);
      need<T>(net.bs[l], nth("b", l), H, -1, weights_out);
      need<T>(net.dWs[l], nth("dW", l), w[l], H, true);
      need<T>(net.dbs[l], nth("db", l), H, -1, true);
      wp[l] = cdata<T>(net.Ws[l]);
      bp[l] = cdata<T>(net.bs[l]);
      dwp[l] = data<T>(net.dWs[l]);
      dbp[l] = data<T>(net.dbs[l]);
      if (l + 1 < L) {
        need<T>(net.acts[l], nth("act", l), n, H, true);
        need<T>(net.dhs[l], nth("dh", l), n, H, true);
        ap[l] = data<T>(net.acts[l]);
        hp[l] = data<T>(net.dhs[l]);
        if (net.dropping) {
          need<T>(net.drops[l], nth("drop", l), n, H, true);
          dp[l] = data<T>(net.drops[l]);
        }
      }
    }
    const int64_t C = w[L];
    need<T>(x, "x", n, w[0], true);
    need<T>(s, "s", n, C, true);
    need<T>(ds, "ds", n, C, true);
    if (net.has_shift) need<T>(net.shift, "shift", w[0], -1, false);
    if (net.dropping && !(p > 0 && p < 1)) throw py::value_error("p must be in (0, 1) with seeds");
    nb.X = X.data();
    nb.xt = net.xt;
    nb.rows = net.rp;
    nb.n = n;
    nb.scale = scale;
    nb.shift = net.has_shift ? cdata<T>(net.shift) : nullptr;
    nb.y = net.yp;
    nb.L = int64_t(L);
    nb.widths = w;
    nb.W = wp.data();
    nb.b = bp.data();
    nb.dW = dwp.data();
    nb.db = dbp.data();
    nb.x = data<T>(x);
    nb.act = ap.data();
    nb.drop = net.dropping ? dp.data() : nullptr;
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
  }
};

double network_loss(py::array X, py::object rows, double scale, py::object shift, py::array y,
                    py::list W, py::list b, py::list dW, py::list db, py::array x, py::list act,
                    py::object drop, py::array s, py::array ds, py::list dh, Activation activation,
                    double slope, LossKind loss, double margin, PenaltyKind penalty, double reg,
                    double beta, double p, py::object seeds) {
  Net net(X, rows, shift, y, W, b, dW, db, act, drop, dh, !seeds.is_none(), reg);
  py::array sd;
  if (net.dropping) {
    sd = seeds.cast<py::array>();
    if (!is<uint64_t>(sd) || sd.ndim() != 1 || sd.shape(0) != int64_t(net.L - 1) ||
        !(sd.flags() & py::array::c_style))
      throw py::value_error("seeds must be a contiguous uint64 vector, one per hidden layer");
  }
  const cpu::NetworkOps& ops = cpu::active_ops().network;
  const int th = cpu::num_threads();
  return visit_float(net.Ws[0], "W[0]", [&](auto tag) -> double {
    using T = decltype(tag);
    Batch<T> bt(net, X, net.n_rows, scale, x, s, ds, activation, slope, loss, margin, penalty, reg,
                beta, p, false);
    bt.nb.seeds = net.dropping ? cdata<uint64_t>(sd) : nullptr;
    auto f = pick<T>(ops.network_loss_f32, ops.network_loss_f64);
    return interruptible([&](Cancel& cc) { return f(bt.nb, cc, th); });
  });
}

// Returns (batches stepped, interrupted); Ctrl-C does not raise here, so that the caller
// learns how many steps were taken before it raises KeyboardInterrupt itself.
py::tuple network_train(py::array X, py::array rows, double scale, py::object shift, py::array y,
                        py::list W, py::list b, py::list dW, py::list db, py::array x, py::list act,
                        py::object drop, py::array s, py::array ds, py::list dh,
                        Activation activation, double slope, LossKind loss, double margin,
                        PenaltyKind penalty, double reg, double beta, double p, py::object seeds,
                        int64_t batch, OptimKind kind, py::object state1, py::object state2,
                        double lr, double momentum, double decay, double beta1, double beta2,
                        double eps, double weight_decay, int64_t step, double max_norm,
                        py::array losses) {
  Net net(X, rows, shift, y, W, b, dW, db, act, drop, dh, !seeds.is_none(), reg);
  if (batch < 1) throw py::value_error("batch must be >= 1");
  const int64_t count = (net.n_rows + batch - 1) / batch, L = int64_t(net.L);
  py::array sd;
  if (net.dropping) {
    sd = seeds.cast<py::array>();
    if (!is<uint64_t>(sd) || sd.ndim() != 2 || sd.shape(0) != count || sd.shape(1) != L - 1 ||
        !(sd.flags() & py::array::c_style))
      throw py::value_error(
          "seeds must be a contiguous uint64 array, one row per batch and one "
          "column per hidden layer");
  }
  if (!is<double>(losses) || losses.ndim() != 1 || losses.shape(0) != count ||
      !(losses.flags() & py::array::c_style) || !losses.writeable())
    throw py::value_error("losses must be a writeable contiguous float64 vector, one per batch");
  if (!(max_norm >= 0)) throw py::value_error("max_norm must be >= 0 (0: none)");
  const int states = optim_states(kind);
  std::vector<py::array> st[2];
  for (int j = 0; j < states; ++j) {
    py::object o = j == 0 ? state1 : state2;
    if (o.is_none()) throw py::value_error("this optimizer needs its state arrays");
    st[j] = arrays(o.cast<py::list>(), size_t(2 * L), j == 0 ? "state1" : "state2");
  }
  std::vector<OptimHyper> hyper;
  for (int64_t k = 0; k < count; ++k)
    hyper.push_back(
        optim_hyper(kind, lr, momentum, decay, beta1, beta2, eps, weight_decay, step + k));
  const cpu::NetworkOps& ops = cpu::active_ops().network;
  const int th = cpu::num_threads();
  return visit_float(net.Ws[0], "W[0]", [&](auto tag) -> py::tuple {
    using T = decltype(tag);
    Batch<T> bt(net, X, std::min(batch, net.n_rows), scale, x, s, ds, activation, slope, loss,
                margin, penalty, reg, beta, p, true);
    // the optimizer's tensors: W[0], b[0], W[1], ... with their gradients and states
    std::vector<cpu::OptimTensor<T>> ts(2 * L);
    for (int64_t t = 0; t < 2 * L; ++t) {
      const py::array& prm = t % 2 ? net.bs[t / 2] : net.Ws[t / 2];
      ts[t].w = data<T>(const_cast<py::array&>(prm));
      ts[t].g = t % 2 ? bt.dbp[t / 2] : bt.dwp[t / 2];
      ts[t].n = prm.size();
      T* sp[2] = {nullptr, nullptr};
      for (int j = 0; j < states; ++j) {
        const char* name = j == 0 ? "state1" : "state2";
        check_same<T>(prm, st[j][t], "its param", name);
        if (!st[j][t].writeable()) throw py::value_error(std::string(name) + " must be writeable");
        sp[j] = data<T>(st[j][t]);
      }
      ts[t].s1 = sp[0];
      ts[t].s2 = sp[1];
    }
    check_no_overlap(ts);
    cpu::NetTrain<T> tr{};
    tr.count = count;
    tr.batch = batch;
    tr.n_rows = net.n_rows;
    tr.hyper = hyper.data();
    tr.tensors = ts.data();
    tr.n_tensors = 2 * L;
    tr.max_norm = max_norm;
    tr.seeds = net.dropping ? cdata<uint64_t>(sd) : nullptr;
    tr.losses = data<double>(losses);
    auto f = pick<T>(ops.network_train_f32, ops.network_train_f64);
    Cancel cancel([] {
      py::gil_scoped_acquire g;
      return PyErr_CheckSignals() != 0;
    });
    int64_t done;
    {
      py::gil_scoped_release nogil;
      done = f(bt.nb, tr, cancel, th);
    }
    // a signal that came after the kernel's last poll is handled here too: were it left to
    // Python's next bytecode, it would raise before the caller counted the steps taken
    const bool interrupted = cancel.stopped() || PyErr_CheckSignals() != 0;
    if (interrupted && PyErr_Occurred()) {
      // KeyboardInterrupt from the signal handler: the caller raises it once it has recorded
      // the steps taken; another exception from a handler is raised as it is
      if (!PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) throw py::error_already_set();
      PyErr_Clear();
    }
    return py::make_tuple(done, interrupted);
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
  m.def("network_train", &network_train, py::arg("X"), py::arg("rows"), py::arg("scale"),
        py::arg("shift"), py::arg("y"), py::arg("W"), py::arg("b"), py::arg("dW"), py::arg("db"),
        py::arg("x"), py::arg("act"), py::arg("drop"), py::arg("s"), py::arg("ds"), py::arg("dh"),
        py::arg("activation"), py::arg("slope"), py::arg("loss"), py::arg("margin"),
        py::arg("penalty"), py::arg("reg"), py::arg("beta"), py::arg("p"), py::arg("seeds"),
        py::arg("batch"), py::arg("kind"), py::arg("state1"), py::arg("state2"), py::kw_only(),
        py::arg("lr"), py::arg("momentum") = 0.0, py::arg("decay") = 0.0, py::arg("beta1") = 0.0,
        py::arg("beta2") = 0.0, py::arg("eps") = 0.0, py::arg("weight_decay") = 0.0,
        py::arg("step") = 1, py::arg("max_norm") = 0.0, py::arg("losses"),
        "Training steps on consecutive minibatches of rows (batch rows each, the last one "
        "shorter), each its network_loss then one optimizer step of W and b (then max_norm); "
        "writes losses; returns (batches stepped, interrupted by Ctrl-C)");
}

}  // namespace bindings
}  // namespace imgclf
