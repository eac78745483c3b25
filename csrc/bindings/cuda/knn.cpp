// _cuda bindings of the knn family: max_shared_memory, knn_workspace, knn_smem, knn,
// pairwise_distances, vote.
#include <climits>

#include "../../cuda/knn.h"
#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

// The device's opt-in limit of dynamic shared memory per block (what the plan is made for).
int max_shared_memory(int device) {
  int v = 0;
  check(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
        "device attribute");
  return v;
}

size_t knn_workspace(int64_t nq, int64_t nt, int kk, int itemsize) {
  if (itemsize != 4 && itemsize != 1) throw py::type_error("knn takes float32 or uint8");
  return cuda::knn_workspace_bytes(nq, nt, kk, itemsize == 4);
}

size_t knn_smem(int kk, int k, int itemsize) {
  if (itemsize != 4 && itemsize != 1) throw py::type_error("knn takes float32 or uint8");
  if (k < 1 || kk < k) throw py::value_error("need 1 <= k <= kk");
  return cuda::knn_smem_bytes(kk, k, itemsize == 4);
}

void check_metric(Metric m) {
  if (m == Metric::L2)
    throw py::value_error("the CUDA kernels return squared L2: pass sqeuclidean and take the root");
}

void knn(uintptr_t X, int64_t nq, uintptr_t Y, int64_t nt, int64_t width, int k, int kk,
         Metric metric, int itemsize, uintptr_t out_d, uintptr_t out_i, uintptr_t workspace,
         uintptr_t stream, int device) {
  check_metric(metric);
  if (nt >= INT32_MAX)
    throw py::value_error("train has too many rows for the CUDA kernels (2^31 - 1 at most)");
  if (k < 1 || k > nt || kk < k || kk > nt) throw py::value_error("need 1 <= k <= kk <= n_train");
  if (itemsize != 4 && itemsize != 1) throw py::type_error("knn takes float32 or uint8");
  check_aligned(X, itemsize, "queries");
  check_aligned(Y, itemsize, "train");
  check_u8_width(itemsize, width);
  DeviceGuard guard(device);
  const size_t need = cuda::knn_smem_bytes(kk, k, itemsize == 4),
               have = size_t(max_shared_memory(device));
  if (need > have)
    throw py::value_error("knn with k=" + std::to_string(k) + " and kk=" + std::to_string(kk) +
                          " needs " + std::to_string(need) +
                          " bytes of shared memory per block; device " + std::to_string(device) +
                          " allows " + std::to_string(have));
  auto st = stream_of(stream);
  py::gil_scoped_release nogil;
  if (itemsize == 4)
    check(cuda::knn_f32(ptr<const float>(X), nq, ptr<const float>(Y), nt, width, k, kk, metric,
                        ptr<float>(out_d), ptr<int64_t>(out_i), ptr<void>(workspace), st),
          "knn");
  else
    check(cuda::knn_u8(ptr<const uint8_t>(X), nq, ptr<const uint8_t>(Y), nt, width, k, metric,
                       ptr<int32_t>(out_d), ptr<int64_t>(out_i), ptr<void>(workspace), st),
          "knn");
}

void pairwise_distances(uintptr_t X, int64_t nq, uintptr_t Y, int64_t nt, int64_t width,
                        Metric metric, int itemsize, uintptr_t out, uintptr_t stream, int device) {
  check_metric(metric);
  if (itemsize != 4 && itemsize != 1)
    throw py::type_error("pairwise_distances takes float32 or uint8");
  check_aligned(X, itemsize, "X");
  check_aligned(Y, itemsize, "Y");
  check_u8_width(itemsize, width);
  DeviceGuard guard(device);
  auto st = stream_of(stream);
  py::gil_scoped_release nogil;
  if (itemsize == 4)
    check(cuda::pairwise_distances_f32(ptr<const float>(X), nq, ptr<const float>(Y), nt, width,
                                       metric, ptr<float>(out), st),
          "pairwise_distances");
  else
    check(cuda::pairwise_distances_u8(ptr<const uint8_t>(X), nq, ptr<const uint8_t>(Y), nt, width,
                                      metric, ptr<int32_t>(out), st),
          "pairwise_distances");
}

void vote(uintptr_t labels, uintptr_t dist, int64_t n, int k, int C, Weights weights, TieBreak tie,
          uintptr_t out_labels, uintptr_t scores, uintptr_t stream, int device) {
  if (weights == Weights::Distance && dist == 0)
    throw py::value_error("distance weights need distances");
  DeviceGuard guard(device);
  auto st = stream_of(stream);
  py::gil_scoped_release nogil;
  check(cuda::vote(ptr<const int64_t>(labels), dist ? ptr<const double>(dist) : nullptr, n, k, C,
                   weights, tie, ptr<int64_t>(out_labels), ptr<double>(scores), st),
        "vote");
}

}  // namespace

void bind_knn(py::module_& m) {
  m.def("max_shared_memory", &max_shared_memory, py::arg("device"),
        "The device's opt-in dynamic shared memory per block, in bytes (what knn plans against)");
  m.def("knn_workspace", &knn_workspace, py::arg("n_queries"), py::arg("n_train"), py::arg("kk"),
        py::arg("itemsize"), "Scratch bytes of a knn with kk candidates per query");
  m.def("knn_smem", &knn_smem, py::arg("kk"), py::arg("k"), py::arg("itemsize"),
        "The most dynamic shared memory per block that a knn with (kk, k) launches with");
  m.def("knn", &knn, py::arg("queries"), py::arg("n_queries"), py::arg("train"), py::arg("n_train"),
        py::arg("width"), py::arg("k"), py::arg("kk"), py::arg("metric"), py::arg("itemsize"),
        py::arg("out_dist"), py::arg("out_idx"), py::arg("workspace"), py::arg("stream"),
        py::arg("device"),
        "Fused k-nearest-neighbour search (launches only); width = d (float32) or padded bytes "
        "(uint8)");
  m.def("pairwise_distances", &pairwise_distances, py::arg("X"), py::arg("n_X"), py::arg("Y"),
        py::arg("n_Y"), py::arg("width"), py::arg("metric"), py::arg("itemsize"), py::arg("out"),
        py::arg("stream"), py::arg("device"), "Full distance matrix");
  m.def("vote", &vote, py::arg("labels"), py::arg("dist"), py::arg("n"), py::arg("k"),
        py::arg("n_classes"), py::arg("weights"), py::arg("tie_break"), py::arg("out_labels"),
        py::arg("scores"), py::arg("stream"), py::arg("device"),
        "Vote over neighbour labels (dist = 0 when absent)");
}

}  // namespace bindings
}  // namespace imgclf
