// imgclf._cuda: binds the CUDA side: device discovery and a launch probe, the losses and
// the multi-tensor optimizer steps.  Arrays arrive as device pointers (CuPy's data.ptr) with
// their sizes, plus CuPy's current stream; nothing here synchronizes.  A CUDA error becomes
// a RuntimeError carrying the CUDA message.
#include <cuda_runtime.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "../cuda/device.h"
#include "../cuda/kernels.h"

namespace py = pybind11;
namespace ic = imgclf::cuda;

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": CUDA error: " + cudaGetErrorString(e));
}

template <class T>
T* ptr(uintptr_t p) { return reinterpret_cast<T*>(p); }

void class_loss(uintptr_t S, int64_t n, int64_t C, uintptr_t y, int kind, double margin, uintptr_t dS,
                uintptr_t row_loss, uintptr_t out_loss, int itemsize, uintptr_t stream) {
  if (kind < 0 || kind > 2) throw py::value_error("loss kind must be 0, 1 or 2");
  auto st = reinterpret_cast<cudaStream_t>(stream);
  py::gil_scoped_release nogil;
  if (itemsize == 4)
    check(ic::class_loss_f32(ptr<const float>(S), n, C, ptr<const int64_t>(y), kind, margin, ptr<float>(dS),
                             ptr<double>(row_loss), ptr<double>(out_loss), st), "class_loss");
  else if (itemsize == 8)
    check(ic::class_loss_f64(ptr<const double>(S), n, C, ptr<const int64_t>(y), kind, margin, ptr<double>(dS),
                             ptr<double>(row_loss), ptr<double>(out_loss), st), "class_loss");
  else
    throw py::type_error("scores must be float32 or float64");
}

// tensors: (w, g, s1, s2, n) device pointers (0 for an unused state) and sizes
template <class T>
void optim_t(const ic::OptimHyper& h, const std::vector<std::tuple<uintptr_t, uintptr_t, uintptr_t, uintptr_t, int64_t>>& ts,
             uintptr_t stream) {
  std::vector<ic::TensorRef<T>> refs;
  for (const auto& t : ts)
    refs.push_back({ptr<T>(std::get<0>(t)), ptr<const T>(std::get<1>(t)), ptr<T>(std::get<2>(t)),
                    ptr<T>(std::get<3>(t)), std::get<4>(t)});
  auto st = reinterpret_cast<cudaStream_t>(stream);
  py::gil_scoped_release nogil;
  if constexpr (sizeof(T) == 4) check(ic::optim_f32(h, refs.data(), int(refs.size()), st), "optimizer step");
  else check(ic::optim_f64(h, refs.data(), int(refs.size()), st), "optimizer step");
}

void optim_step(int kind, int itemsize,
                const std::vector<std::tuple<uintptr_t, uintptr_t, uintptr_t, uintptr_t, int64_t>>& ts,
                double lr, double a, double b, double eps, double wd, double bc1, double bc2, uintptr_t stream) {
  if (kind < 0 || kind > 5) throw py::value_error("unknown optimizer kind");
  ic::OptimHyper h{kind, lr, a, b, eps, wd, bc1, bc2};
  if (itemsize == 4) optim_t<float>(h, ts, stream);
  else if (itemsize == 8) optim_t<double>(h, ts, stream);
  else throw py::type_error("params must be float32 or float64");
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "imgclf CUDA kernels";
  m.def("device_count", [] {
    std::string why;
    int n = imgclf::cuda::device_count(&why);
    return py::make_tuple(n, why);
  }, "(number of CUDA devices, reason when 0)");
  m.def("probe", [](int device) {
    std::string why;
    bool ok;
    {
      py::gil_scoped_release nogil;
      ok = imgclf::cuda::probe(device, &why);
    }
    return py::make_tuple(ok, why);
  }, py::arg("device") = 0, "Launch a tiny kernel: (usable, reason when not)");
  m.def("device_name", &imgclf::cuda::device_name, py::arg("device") = 0);
  m.def("class_loss", &class_loss, py::arg("scores"), py::arg("n"), py::arg("n_classes"), py::arg("y"),
        py::arg("kind"), py::arg("margin"), py::arg("dscores"), py::arg("row_loss"), py::arg("out_loss"),
        py::arg("itemsize"), py::arg("stream"),
        "Softmax/SVM loss: writes dscores and the mean loss (one double) on the device");
  m.def("optim_step", &optim_step, py::arg("kind"), py::arg("itemsize"), py::arg("tensors"), py::arg("lr"),
        py::arg("a"), py::arg("b"), py::arg("eps"), py::arg("weight_decay"), py::arg("bc1"), py::arg("bc2"),
        py::arg("stream"), "One multi-tensor optimizer update (launches only, no synchronization)");
}
