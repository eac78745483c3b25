// What the _cuda binding files share.  Arrays arrive as device pointers (CuPy's data.ptr)
// with their sizes, plus the stream to launch on; nothing here synchronizes.  A CUDA error
// becomes a RuntimeError carrying the CUDA message.  Bindings only bind: no math here.
#pragma once
#include <cuda_runtime.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "../enums.h"

namespace imgclf {
namespace bindings {

namespace py = pybind11;

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": CUDA error: " + cudaGetErrorString(e));
}

template <class T>
T* ptr(uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

inline cudaStream_t stream_of(uintptr_t s) { return reinterpret_cast<cudaStream_t>(s); }

// f(T{}) for the element type of an itemsize: 4 float, 8 double (TypeError otherwise)
template <class F>
auto visit_float(int itemsize, const char* name, F f) {
  if (itemsize == 4) return f(float{});
  if (itemsize == 8) return f(double{});
  throw py::type_error(std::string(name) + " must be float32 or float64");
}

template <class T, class F32, class F64>
auto pick(F32 f32, F64 f64) {
  if constexpr (sizeof(T) == 4) return f32;
  else return f64;
}

// Each family binds itself (csrc/bindings/cuda/<family>.cpp).
void bind_dense(py::module_& m);
void bind_knn(py::module_& m);
void bind_loss(py::module_& m);
void bind_optim(py::module_& m);
void bind_regularize(py::module_& m);

}  // namespace bindings
}  // namespace imgclf
