// The enumerations and small structs every kernel takes: defined once, here, for the CPU
// kernels, the CUDA kernels and both bindings (which expose each enum to Python with
// py::enum_, under the lower-case names imgclf.ops uses: Metric.l2, LossKind.softmax, ...).
#pragma once
#include <cstdint>
#include <type_traits>

namespace imgclf {

// kNN distances.  L2 ranks like SqL2; kernels that return floating-point distances take
// the root of each distance before it is rounded to the output type (so a float32 result
// is finite whenever the true Euclidean distance is).
enum class Metric : int { L1 = 0, SqL2 = 1, L2 = 2 };
enum class Weights : int { Uniform = 0, Distance = 1 };  // the vote
enum class TieBreak : int { Nearest = 0, Smallest = 1 };

// Losses over class scores and weight penalties.
enum class LossKind : int { Softmax = 0, Svm = 1, SquaredSvm = 2 };
enum class PenaltyKind : int { L2 = 0, L1 = 1, ElasticNet = 2 };

// The element type of an input that a kernel reads in any of three types.
enum class DType : int { U8 = 0, F32 = 1, F64 = 2 };

// A dense layer's activation, fused with its bias: y = act(x + b).  The backward pass
// needs only the layer's output y: relu 1[y > 0], leaky_relu 1[y > 0] + slope 1[y <= 0],
// tanh 1 - y^2, sigmoid y (1 - y).
enum class Activation : int { Identity = 0, ReLU = 1, LeakyReLU = 2, Tanh = 3, Sigmoid = 4 };

// Optimizer steps.  The fields each kind reads:
//   sgd       lr                      momentum/nesterov  lr, momentum
//   adagrad   lr, eps                 rmsprop            lr, decay, eps
//   adam      lr, beta1, beta2, eps, weight_decay, bias_correction1/2 (1 - beta^step)
enum class OptimKind : int {
  SGD = 0,
  Momentum = 1,
  Nesterov = 2,
  AdaGrad = 3,
  RMSProp = 4,
  Adam = 5
};
struct OptimHyper {
  OptimKind kind = OptimKind::SGD;
  double lr = 0, momentum = 0, decay = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  double bias_correction1 = 1, bias_correction2 = 1;
};

// The function of a float32/float64 pair for element type T: pick<T>(table.gemm_f32,
// table.gemm_f64) (kernels and bindings choose from their tables with it).
template <class T, class F32, class F64> constexpr auto pick(F32 f32, F64 f64) {
  if constexpr (std::is_same<T, float>::value) return f32;
  else return f64;
}

}  // namespace imgclf
