// _cuda bindings of the loss family: class_loss.
#include "../../cuda/loss.h"
#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

void class_loss(uintptr_t S, int64_t n, int64_t C, uintptr_t y, LossKind kind, double margin,
                uintptr_t dS, uintptr_t row_loss, uintptr_t out_loss, int itemsize,
                uintptr_t stream, int device) {
  DeviceGuard guard(device);
  auto st = stream_of(stream);
  visit_float(itemsize, "scores", [&](auto tag) {
    using T = decltype(tag);
    auto f = pick<T>(cuda::class_loss_f32, cuda::class_loss_f64);
    py::gil_scoped_release nogil;
    check(f(ptr<const T>(S), n, C, ptr<const int64_t>(y), kind, margin, ptr<T>(dS),
            ptr<double>(row_loss), ptr<double>(out_loss), st),
          "class_loss");
  });
}

}  // namespace

void bind_loss(py::module_& m) {
  m.def("class_loss", &class_loss, py::arg("scores"), py::arg("n"), py::arg("n_classes"),
        py::arg("y"), py::arg("kind"), py::arg("margin"), py::arg("dscores"), py::arg("row_loss"),
        py::arg("out_loss"), py::arg("itemsize"), py::arg("stream"), py::arg("device"),
        "Softmax/SVM loss: writes dscores and the mean loss (one double) on the device");
}

}  // namespace bindings
}  // namespace imgclf
