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

bool probe(int device, std::string* why) {
  int* p = nullptr;
  int host = 0;
  cudaError_t e = cudaSetDevice(device);
  if (e == cudaSuccess) e = cudaMalloc(&p, sizeof(int));
  if (e == cudaSuccess) {
    probe_kernel<<<1, 1>>>(p);
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
