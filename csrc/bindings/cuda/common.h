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
  if (e != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": CUDA error: " + cudaGetErrorString(e));
}

template <class T> T* ptr(uintptr_t p) { return reinterpret_cast<T*>(p); }

inline cudaStream_t stream_of(uintptr_t s) { return reinterpret_cast<cudaStream_t>(s); }

// Makes `device` (the device that holds the arrays of a call) current for the launches of
// one binding call and restores the caller's current device afterwards, so a call never
// moves the caller to another device.  Nothing is switched when it is already current.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    if (device < 0) throw py::value_error("device must be >= 0, got " + std::to_string(device));
    check(cudaGetDevice(&prev_), "cudaGetDevice");
    if (prev_ != device) check(cudaSetDevice(device), "cudaSetDevice");
  }
  ~DeviceGuard() {
    int now = -1;
    if (cudaGetDevice(&now) == cudaSuccess && now != prev_) cudaSetDevice(prev_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_ = 0;
};

// The kernels read rows as itemsize-wide elements (uint8: as 32-bit words of 4 bytes), so
// every pointer must be aligned to that width and uint8 rows padded to a multiple of 4
// bytes.  A misaligned read is a fault that ends the process's whole CUDA context: refuse
// it here, naming the argument (imgclf._gpu copies such input before it gets here).
inline void check_aligned(uintptr_t p, int itemsize, const char* name) {
  const uintptr_t need = itemsize == 1 ? 4 : uintptr_t(itemsize);
  if (p % need)
    throw py::value_error(
        std::string(name) + ": the data pointer is not " + std::to_string(need) +
        "-byte aligned (copy the array, e.g. cupy.ascontiguousarray of a fresh array)");
}
inline void check_u8_width(int itemsize, int64_t width) {
  if (itemsize == 1 && width % 4)
    throw py::value_error("uint8 rows must be zero-padded to a multiple of 4 bytes, got width " +
                          std::to_string(width));
}

// f(T{}) for the element type of an itemsize: 4 float, 8 double (TypeError otherwise)
template <class F> auto visit_float(int itemsize, const char* name, F f) {
  if (itemsize == 4) return f(float{});
  if (itemsize == 8) return f(double{});
  throw py::type_error(std::string(name) + " must be float32 or float64");
}

// Each family binds itself (csrc/bindings/cuda/<family>.cpp).
void bind_dense(py::module_& m);
void bind_knn(py::module_& m);
void bind_loss(py::module_& m);
void bind_optim(py::module_& m);
void bind_regularize(py::module_& m);

}  // namespace bindings
}  // namespace imgclf
