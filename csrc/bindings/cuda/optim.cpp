// _cuda bindings of the optim family: optim_step, one multi-tensor update.
#include <pybind11/stl.h>

#include <tuple>
#include <vector>

#include "../../cuda/optim.h"
#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

using Tensors = std::vector<std::tuple<uintptr_t, uintptr_t, uintptr_t, uintptr_t, int64_t>>;

// tensors: (w, g, s1, s2, n) device pointers (0 for an unused state) and sizes
void optim_step(OptimKind kind, int itemsize, const Tensors& ts, uintptr_t stream, int device,
                double lr, double momentum, double decay, double beta1, double beta2, double eps,
                double weight_decay, int64_t step) {
  const OptimHyper h =
      optim_hyper(kind, lr, momentum, decay, beta1, beta2, eps, weight_decay, step);
  const int states = optim_states(kind);
  for (const auto& t : ts)
    if ((states >= 1 && !std::get<2>(t)) || (states >= 2 && !std::get<3>(t)))
      throw py::value_error("this optimizer needs its state arrays");
  DeviceGuard guard(device);
  auto st = stream_of(stream);
  visit_float(itemsize, "params", [&](auto tag) {
    using T = decltype(tag);
    std::vector<cuda::TensorRef<T>> refs;
    for (const auto& t : ts)
      refs.push_back({ptr<T>(std::get<0>(t)), ptr<const T>(std::get<1>(t)), ptr<T>(std::get<2>(t)),
                      ptr<T>(std::get<3>(t)), std::get<4>(t)});
    auto f = pick<T>(cuda::optim_step_f32, cuda::optim_step_f64);
    py::gil_scoped_release nogil;
    check(f(h, refs.data(), int(refs.size()), st), "optimizer step");
  });
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("optim_step", &optim_step, py::arg("kind"), py::arg("itemsize"), py::arg("tensors"),
        py::arg("stream"), py::arg("device"), py::kw_only(), py::arg("lr"),
        py::arg("momentum") = 0.0, py::arg("decay") = 0.0, py::arg("beta1") = 0.0,
        py::arg("beta2") = 0.0, py::arg("eps") = 0.0, py::arg("weight_decay") = 0.0,
        py::arg("step") = 1,
        "One multi-tensor optimizer update (launches only, no synchronization)");
}

}  // namespace bindings
}  // namespace imgclf
