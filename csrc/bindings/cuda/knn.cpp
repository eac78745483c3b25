// _cuda bindings of the knn family: knn_plan, knn, pairwise_distances, vote.
#include <climits>

#include "../../cuda/knn.h"
#include "common.h"

namespace imgclf {
namespace bindings {
namespace {

int max_smem(int device) {
  int v = 0;
  check(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "device attribute");
  return v;
}

// (kk, workspace bytes) for a search; itemsize 4 (float32) or 1 (uint8, rows padded to 4)
py::tuple knn_plan(int64_t nq, int64_t nt, int k, int itemsize, int device) {
  if (nt >= INT32_MAX) throw py::value_error("train has too many rows for the CUDA kernels (2^31 - 1 at most)");
  const bool f = itemsize == 4;
  const int kk = cuda::knn_candidates(nt, k, f, max_smem(device));
  if (kk < 0) throw py::value_error("k=" + std::to_string(k) + " is too large for this GPU's shared memory per block");
  return py::make_tuple(kk, cuda::knn_workspace_bytes(nq, nt, kk, f));
}

void check_metric(Metric m) {
  if (m == Metric::L2) throw py::value_error("the CUDA kernels return squared L2: pass sqeuclidean and take the root");
}

void knn(uintptr_t X, int64_t nq, uintptr_t Y, int64_t nt, int64_t width, int k, int kk, Metric metric,
         int itemsize, uintptr_t out_d, uintptr_t out_i, uintptr_t workspace, uintptr_t stream) {
  check_metric(metric);
  if (k < 1 || k > nt || kk < k) throw py::value_error("k must lie in [1, n_train] and kk >= k");
  auto st = stream_of(stream);
  if (itemsize != 4 && itemsize != 1) throw py::type_error("knn takes float32 or uint8");
  py::gil_scoped_release nogil;
  if (itemsize == 4)
    check(cuda::knn_f32(ptr<const float>(X), nq, ptr<const float>(Y), nt, width, k, kk, metric, ptr<float>(out_d),
                        ptr<int64_t>(out_i), ptr<void>(workspace), st),
          "knn");
  else
    check(cuda::knn_u8(ptr<const uint8_t>(X), nq, ptr<const uint8_t>(Y), nt, width, k, metric, ptr<int32_t>(out_d),
                       ptr<int64_t>(out_i), ptr<void>(workspace), st),
          "knn");
}

void pairwise_distances(uintptr_t X, int64_t nq, uintptr_t Y, int64_t nt, int64_t width, Metric metric,
                        int itemsize, uintptr_t out, uintptr_t stream) {
  check_metric(metric);
  auto st = stream_of(stream);
  if (itemsize != 4 && itemsize != 1) throw py::type_error("pairwise_distances takes float32 or uint8");
  py::gil_scoped_release nogil;
  if (itemsize == 4)
    check(cuda::pairwise_distances_f32(ptr<const float>(X), nq, ptr<const float>(Y), nt, width, metric,
                                       ptr<float>(out), st),
          "pairwise_distances");
  else
    check(cuda::pairwise_distances_u8(ptr<const uint8_t>(X), nq, ptr<const uint8_t>(Y), nt, width, metric,
                                      ptr<int32_t>(out), st),
          "pairwise_distances");
}

void vote(uintptr_t labels, uintptr_t dist, int64_t n, int k, int C, Weights weights, TieBreak tie,
          uintptr_t out_labels, uintptr_t scores, uintptr_t stream) {
  if (weights == Weights::Distance && dist == 0) throw py::value_error("distance weights need distances");
  auto st = stream_of(stream);
  py::gil_scoped_release nogil;
  check(cuda::vote(ptr<const int64_t>(labels), dist ? ptr<const double>(dist) : nullptr, n, k, C, weights, tie,
                   ptr<int64_t>(out_labels), ptr<double>(scores), st),
        "vote");
}

}  // namespace

void bind_knn(py::module_& m) {
  m.def("knn_plan", &knn_plan, py::arg("n_queries"), py::arg("n_train"), py::arg("k"), py::arg("itemsize"),
        py::arg("device"), "(candidates per query, workspace bytes) for knn on this device");
  m.def("knn", &knn, py::arg("queries"), py::arg("n_queries"), py::arg("train"), py::arg("n_train"),
        py::arg("width"), py::arg("k"), py::arg("kk"), py::arg("metric"), py::arg("itemsize"),
        py::arg("out_dist"), py::arg("out_idx"), py::arg("workspace"), py::arg("stream"),
        "Fused k-nearest-neighbour search (launches only); width = d (float32) or padded bytes (uint8)");
  m.def("pairwise_distances", &pairwise_distances, py::arg("X"), py::arg("n_X"), py::arg("Y"), py::arg("n_Y"),
        py::arg("width"), py::arg("metric"), py::arg("itemsize"), py::arg("out"), py::arg("stream"),
        "Full distance matrix");
  m.def("vote", &vote, py::arg("labels"), py::arg("dist"), py::arg("n"), py::arg("k"), py::arg("n_classes"),
        py::arg("weights"), py::arg("tie_break"), py::arg("out_labels"), py::arg("scores"), py::arg("stream"),
        "Vote over neighbour labels (dist = 0 when absent)");
}

}  // namespace bindings
}  // namespace imgclf
