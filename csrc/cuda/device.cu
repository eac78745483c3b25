// GPU discovery for imgclf._cuda: a device is "usable" only if a kernel launch on it
// completes, not merely if the runtime loads.
#include <cuda_runtime.h>

#include <string>

#include "device.h"

namespace imgclf {
namespace cuda {

__global__ void probe_kernel(int* out) { *out = 42; }

int device_count(std::string* why) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (why) *why = cudaGetErrorString(e);
    cudaGetLastError();
    return 0;
  }
  return n;
}

// Probes `device` and makes the caller's current device current again afterwards: a probe
// must not move a process that works on another device.
bool probe(int device, std::string* why) {
  int prev = -1;
  const bool had = cudaGetDevice(&prev) == cudaSuccess;
  struct Restore {
    bool had;
    int prev;
    ~Restore() {
      int now = -1;
      if (had && cudaGetDevice(&now) == cudaSuccess && now != prev) cudaSetDevice(prev);
    }
  } restore{had, prev};
  int* p = nullptr;
  int host = 0;
  cudaError_t e = cudaSetDevice(device);
  if (e == cudaSuccess) e = cudaMalloc(&p, sizeof(int));
  if (e == cudaSuccess) {
    probe_kernel<<<1, 1>>>(p);  // the legacy default stream of `device`
    e = cudaGetLastError();
  }
  if (e == cudaSuccess) e = cudaMemcpy(&host, p, sizeof(int), cudaMemcpyDeviceToHost);
  if (p) cudaFree(p);
  if (e == cudaSuccess && host != 42) {
    if (why) *why = "probe kernel returned a wrong value";
    return false;
  }
  if (e != cudaSuccess) {
    if (why) *why = cudaGetErrorString(e);
    cudaGetLastError();
    return false;
  }
  return true;
}

std::string device_name(int device) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return "unknown";
  return prop.name;
}

}  // namespace cuda
}  // namespace imgclf
