// imgclf._cpu: the CPU kernels.  Each family binds itself (knn.cpp, loss.cpp, optim.cpp,
// dense.cpp, regularize.cpp, network.cpp: argument checks, GIL release, Ctrl-C; no math); this file
// adds the enums and the run-time knobs (SIMD level, threads).  Outputs are allocated by the Python
// layer and passed in.
#include <pybind11/stl.h>

#include <stdexcept>

#include "common.h"

namespace py = pybind11;
namespace ib = imgclf::bindings;
namespace cpu = imgclf::cpu;

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "imgclf CPU kernels (C++ / OpenMP, SIMD chosen at run time)";
  m.attr("__version__") = IMGCLF_VERSION;
  ib::bind_enums(m);
  ib::bind_knn(m);
  ib::bind_loss(m);
  ib::bind_optim(m);
  ib::bind_dense(m);
  ib::bind_regularize(m);
  ib::bind_network(m);
  m.def("simd_levels", &cpu::simd_levels, "SIMD levels this CPU supports, best first");
  m.def("simd_level", &cpu::simd_level, "The SIMD level in use");
  m.def(
      "set_simd_level",
      [](const std::string& s) {
        try {
          cpu::set_simd_level(s);
        } catch (const std::invalid_argument& e) { throw py::value_error(e.what()); }
      },
      py::arg("level"), "Use this SIMD level's kernels (e.g. to compare levels)");
  m.def("num_threads", &cpu::num_threads, "Threads the kernels use");
  m.def("set_num_threads", &cpu::set_num_threads, py::arg("n"), "n <= 0: the OpenMP default");
}
