// _cuda bindings of the regularize family: max_norm.
#include "../../cuda/regularize.h"
#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

void max_norm(uintptr_t W, int64_t d, int64_t H, double c, uintptr_t norms, int itemsize,
              uintptr_t stream, int device) {
  if (!(c > 0)) throw py::value_error("c must be > 0");
  DeviceGuard guard(device);
  auto st = stream_of(stream);
  visit_float(itemsize, "W", [&](auto tag) {
    using T = decltype(tag);
    auto f = pick<T>(cuda::max_norm_f32, cuda::max_norm_f64);
    py::gil_scoped_release nogil;
    check(f(ptr<T>(W), d, H, c, ptr<double>(norms), st), "max_norm");
  });
}

void dropout(uintptr_t h, int64_t n, double p, uint64_t seed, int itemsize, uintptr_t stream,
             int device) {
  if (!(p >= 0 && p < 1)) throw py::value_error("p must be in [0, 1)");
  DeviceGuard guard(device);
  auto st = stream_of(stream);
  visit_float(itemsize, "h", [&](auto tag) {
    using T = decltype(tag);
    auto f = pick<T>(cuda::dropout_f32, cuda::dropout_f64);
    py::gil_scoped_release nogil;
    check(f(ptr<T>(h), n, p, seed, st), "dropout");
  });
}

}  // namespace

void bind_regularize(py::module_& m) {
  m.def("max_norm", &max_norm, py::arg("W"), py::arg("d"), py::arg("H"), py::arg("c"),
        py::arg("norms"), py::arg("itemsize"), py::arg("stream"), py::arg("device"),
        "Max-norm constraint on the columns of W (launches only)");
  m.def("dropout", &dropout, py::arg("h"), py::arg("n"), py::arg("p"), py::arg("seed"),
        py::arg("itemsize"), py::arg("stream"), py::arg("device"),
        "Inverted dropout in place (launches only)");
}

}  // namespace bindings
}  // namespace imgclf
