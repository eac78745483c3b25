// imgclf._cuda: binds the CUDA side.  So far: device discovery and a launch probe.
#include <pybind11/pybind11.h>

#include <string>

#include "../cuda/device.h"

namespace py = pybind11;

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
}
