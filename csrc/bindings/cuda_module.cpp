// imgclf._cuda: binds the CUDA side: device discovery and a launch probe, distances and
// k-nearest neighbours, the vote, the losses and the multi-tensor optimizer steps.  Arrays arrive as device pointers (CuPy's data.ptr) with
// their sizes, plus CuPy's current stream; nothing here synchronizes.  A CUDA error becomes
// a RuntimeError carrying the CUDA message.
#include <cuda_runtime.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <climits>
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

int max_smem(int device) {
  int v = 0;
  check(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), "device attribute");
  return v;
}

// (kk, workspace bytes) for a search; itemsize 4 (float32) or 1 (uint8, rows padded to 4)
py::tuple knn_plan(int64_t nq, int64_t nt, int k, int itemsize, int device) {
  if (nt >= INT32_MAX) throw py::value_error("train has too many rows for the CUDA kernels (2^31 - 1 at most)");
  const bool f = itemsize == 4;
  const int kk = ic::knn_candidates(nt, k, f, max_smem(device));
  if (kk < 0)
    throw py::value_error("k=" + std::to_string(k) + " is too large for this GPU's shared memory per block");
  return py::make_tuple(kk, ic::knn_workspace_bytes(nq, nt, kk, f));
}

void knn(uintptr_t X, int64_t nq, uintptr_t Y, int64_t nt, int64_t width, int k, int kk, int metric,
         int itemsize, uintptr_t out_d, uintptr_t out_i, uintptr_t workspace, uintptr_t stream) {
  if (metric != 0 && metric != 1) throw py::value_error("metric code must be 0 (l1) or 1 (squared l2)");
  if (k < 1 || k > nt || kk < k) throw py::value_error("k must lie in [1, n_train] and kk >= k");
  auto st = reinterpret_cast<cudaStream_t>(stream);
  py::gil_scoped_release nogil;
  if (itemsize == 4)
    check(ic::knn_f32(ptr<const float>(X), nq, ptr<const float>(Y), nt, width, k, kk, metric == 0,
                      ptr<float>(out_d), ptr<int64_t>(out_i), ptr<void>(workspace), st), "knn");
  else if (itemsize == 1)
    check(ic::knn_u8(ptr<const uint8_t>(X), nq, ptr<const uint8_t>(Y), nt, width, k, metric == 0,
                     ptr<int32_t>(out_d), ptr<int64_t>(out_i), ptr<void>(workspace), st), "knn");
  else
    throw py::type_error("knn takes float32 or uint8");
}

void pairwise(uintptr_t X, int64_t nq, uintptr_t Y, int64_t nt, int64_t width, int metric, int itemsize,
              uintptr_t out, uintptr_t stream) {
  if (metric != 0 && metric != 1) throw py::value_error("metric code must be 0 (l1) or 1 (squared l2)");
  auto st = reinterpret_cast<cudaStream_t>(stream);
  py::gil_scoped_release nogil;
  if (itemsize == 4)
    check(ic::pairwise_f32(ptr<const float>(X), nq, ptr<const float>(Y), nt, width, metric == 0, ptr<float>(out), st),
          "pairwise");
  else if (itemsize == 1)
    check(ic::pairwise_u8(ptr<const uint8_t>(X), nq, ptr<const uint8_t>(Y), nt, width, metric == 0,
                          ptr<int32_t>(out), st), "pairwise");
  else
    throw py::type_error("pairwise takes float32 or uint8");
}

void vote(uintptr_t labels, uintptr_t dist, int64_t n, int k, int C, int weights, int tie, uintptr_t out_labels,
          uintptr_t scores, uintptr_t stream) {
  if (weights == 1 && dist == 0) throw py::value_error("distance weights need distances");
  auto st = reinterpret_cast<cudaStream_t>(stream);
  py::gil_scoped_release nogil;
  check(ic::vote(ptr<const int64_t>(labels), dist ? ptr<const double>(dist) : nullptr, n, k, C, weights, tie,
                 ptr<int64_t>(out_labels), ptr<double>(scores), st), "vote");
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
  m.def("knn_plan", &knn_plan, py::arg("n_queries"), py::arg("n_train"), py::arg("k"), py::arg("itemsize"),
        py::arg("device"), "(candidates per query, workspace bytes) for knn on this device");
  m.def("knn", &knn, py::arg("queries"), py::arg("n_queries"), py::arg("train"), py::arg("n_train"),
        py::arg("width"), py::arg("k"), py::arg("kk"), py::arg("metric"), py::arg("itemsize"),
        py::arg("out_dist"), py::arg("out_idx"), py::arg("workspace"), py::arg("stream"),
        "Fused k-nearest-neighbour search (launches only); width = d (float32) or padded bytes (uint8)");
  m.def("pairwise", &pairwise, py::arg("X"), py::arg("n_X"), py::arg("Y"), py::arg("n_Y"), py::arg("width"),
        py::arg("metric"), py::arg("itemsize"), py::arg("out"), py::arg("stream"), "Full distance matrix");
  m.def("vote", &vote, py::arg("labels"), py::arg("dist"), py::arg("n"), py::arg("k"), py::arg("n_classes"),
        py::arg("weights"), py::arg("tie_break"), py::arg("out_labels"), py::arg("scores"), py::arg("stream"),
        "Vote over neighbour labels (dist = 0 when absent)");
  m.def("class_loss", &class_loss, py::arg("scores"), py::arg("n"), py::arg("n_classes"), py::arg("y"),
        py::arg("kind"), py::arg("margin"), py::arg("dscores"), py::arg("row_loss"), py::arg("out_loss"),
        py::arg("itemsize"), py::arg("stream"),
        "Softmax/SVM loss: writes dscores and the mean loss (one double) on the device");
  m.def("optim_step", &optim_step, py::arg("kind"), py::arg("itemsize"), py::arg("tensors"), py::arg("lr"),
        py::arg("a"), py::arg("b"), py::arg("eps"), py::arg("weight_decay"), py::arg("bc1"), py::arg("bc2"),
        py::arg("stream"), "One multi-tensor optimizer update (launches only, no synchronization)");
}
