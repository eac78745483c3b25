// _cpu bindings of the optim family: optim_step, one multi-tensor update.
#include <pybind11/stl.h>

#include <algorithm>
#include <vector>

#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

// Every array is checked (type, dtype, shape, contiguity, writeability, overlap) before
// the kernel writes any.
template <class T>
void optim_t(const OptimHyper& h, py::list params, py::list grads, py::object s1, py::object s2) {
  const size_t n = params.size();
  std::vector<cpu::OptimTensor<T>> ts(n);
  std::vector<py::array> keep;
  auto get = [&](py::handle o, const py::array& like, const char* name, bool write) {
    if (!py::isinstance<py::array>(o)) throw py::type_error(std::string(name) + " must be arrays");
    py::array a = py::reinterpret_borrow<py::array>(o);
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
    ts[t].w = data<T>(p);
    ts[t].n = p.size();
    ts[t].g = cdata<T>(get(grads[t], p, "grads", false));
    ts[t].s1 = ts[t].s2 = nullptr;
    if (!s1.is_none()) {
      py::array a = get(s1.cast<py::list>()[t], p, "state1", true);  // (kept alive in keep)
      ts[t].s1 = data<T>(a);
    }
    if (!s2.is_none()) {
      py::array a = get(s2.cast<py::list>()[t], p, "state2", true);
      ts[t].s2 = data<T>(a);
    }
  }
  check_no_overlap(ts);
  auto f = pick<T>(cpu::active_ops().optim.optim_step_f32, cpu::active_ops().optim.optim_step_f64);
  const int th = cpu::num_threads();
  py::gil_scoped_release nogil;
  f(h, ts.data(), int64_t(n), th);
}

void optim_step(OptimKind kind, py::list params, py::list grads, py::object s1, py::object s2,
                double lr, double momentum, double decay, double beta1, double beta2, double eps,
                double weight_decay, int64_t step) {
  const size_t n = params.size();
  if (grads.size() != n) throw py::value_error("params and grads must have the same length");
  const int states = optim_states(kind);
  if (states >= 1 && (s1.is_none() || s1.cast<py::list>().size() != n))
    throw py::value_error("this optimizer needs one state array per param");
  if (states >= 2 && (s2.is_none() || s2.cast<py::list>().size() != n))
    throw py::value_error("adam needs two state arrays per param");
  if (states < 1) s1 = py::none();
  if (states < 2) s2 = py::none();
  if (n == 0) return;
  const OptimHyper h =
      optim_hyper(kind, lr, momentum, decay, beta1, beta2, eps, weight_decay, step);
  py::handle p0 = params[0];
  if (!py::isinstance<py::array>(p0))
    throw py::type_error("params must be float32 or float64 arrays");
  visit_float(py::reinterpret_borrow<py::array>(p0), "params",
              [&](auto tag) { optim_t<decltype(tag)>(h, params, grads, s1, s2); });
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("optim_step", &optim_step, py::arg("kind"), py::arg("params"), py::arg("grads"),
        py::arg("state1"), py::arg("state2"), py::kw_only(), py::arg("lr"),
        py::arg("momentum") = 0.0, py::arg("decay") = 0.0, py::arg("beta1") = 0.0,
        py::arg("beta2") = 0.0, py::arg("eps") = 0.0, py::arg("weight_decay") = 0.0,
        py::arg("step") = 1,
        "One in-place optimizer update of every (param, grad, state...) list entry");
}

}  // namespace bindings
}  // namespace imgclf
