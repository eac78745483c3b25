// imgclf._cuda: the CUDA kernels.  Each family binds itself (knn.cpp, loss.cpp, optim.cpp,
// regularize.cpp); this file adds the enums and device discovery (a device counts as
// usable only after a probe kernel ran on it).
#include <pybind11/stl.h>

#include <string>

#include "../../cuda/device.h"
#include "common.h"

namespace py = pybind11;
namespace ib = imgclf::bindings;

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "imgclf CUDA kernels";
  ib::bind_enums(m);
  ib::bind_dense(m);
  ib::bind_knn(m);
  ib::bind_loss(m);
  ib::bind_optim(m);
  ib::bind_regularize(m);
  m.def(
      "device_count",
      [] {
        std::string why;
        int n = imgclf::cuda::device_count(&why);
        return py::make_tuple(n, why);
      },
      "(number of CUDA devices, reason when 0)");
  m.def(
      "probe",
      [](int device) {
        std::string why;
        bool ok;
        {
          py::gil_scoped_release nogil;
          ok = imgclf::cuda::probe(device, &why);
        }
        return py::make_tuple(ok, why);
      },
      py::arg("device") = 0, "Launch a tiny kernel: (usable, reason when not)");
  m.def("device_name", &imgclf::cuda::device_name, py::arg("device") = 0);
}
