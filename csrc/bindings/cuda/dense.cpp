// _cuda bindings of the dense family: bias_act, act_backward.
#include "../../cuda/dense.h"
#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

void bias_act(uintptr_t h, uintptr_t b, int64_t n, int64_t H, Activation act, double slope,
              int itemsize, uintptr_t stream, int device) {
  if (n < 0 || H < 0) throw py::value_error("n and H must be >= 0");
  DeviceGuard guard(device);
  auto st = stream_of(stream);
  visit_float(itemsize, "h", [&](auto tag) {
    using T = decltype(tag);
    auto f = pick<T>(cuda::bias_act_f32, cuda::bias_act_f64);
    py::gil_scoped_release nogil;
    check(f(ptr<T>(h), ptr<const T>(b), n, H, act, slope, st), "bias_act");
  });
}

void act_backward(uintptr_t dh, uintptr_t h, int64_t n, int64_t H, Activation act, double slope,
                  uintptr_t db, int itemsize, uintptr_t stream, int device) {
  if (n < 0 || H < 0) throw py::value_error("n and H must be >= 0");
  DeviceGuard guard(device);
  auto st = stream_of(stream);
  visit_float(itemsize, "dh", [&](auto tag) {
    using T = decltype(tag);
    auto f = pick<T>(cuda::act_backward_f32, cuda::act_backward_f64);
    py::gil_scoped_release nogil;
    check(f(ptr<T>(dh), ptr<const T>(h), n, H, act, slope, ptr<T>(db), st), "act_backward");
  });
}

}  // namespace

void bind_dense(py::module_& m) {
  m.def("bias_act", &bias_act, py::arg("h"), py::arg("b"), py::arg("n"), py::arg("H"),
        py::arg("activation"), py::arg("slope"), py::arg("itemsize"), py::arg("stream"),
        py::arg("device"), "h = act(h + b) in place (launches only)");
  m.def("act_backward", &act_backward, py::arg("dh"), py::arg("h"), py::arg("n"), py::arg("H"),
        py::arg("activation"), py::arg("slope"), py::arg("db"), py::arg("itemsize"),
        py::arg("stream"), py::arg("device"),
        "dh *= act'(h) in place; db = column sums of dh (launches only)");
}

}  // namespace bindings
}  // namespace imgclf
