// The enums of imgclf/types.h as Python enums, under the lower-case names imgclf.ops uses
// (Metric.l2, LossKind.softmax, ...).  Each compiled module registers its own copy
// (module_local), so _cpu and _cuda can both be loaded.
#pragma once
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>

#include "imgclf/types.h"

namespace imgclf {
namespace bindings {

inline void bind_enums(pybind11::module_& m) {
  namespace py = pybind11;
  py::enum_<Metric>(m, "Metric", py::module_local())
      .value("l1", Metric::L1)
      .value("sqeuclidean", Metric::SqL2)
      .value("l2", Metric::L2);
  py::enum_<Weights>(m, "Weights", py::module_local())
      .value("uniform", Weights::Uniform)
      .value("distance", Weights::Distance);
  py::enum_<TieBreak>(m, "TieBreak", py::module_local())
      .value("nearest", TieBreak::Nearest)
      .value("smallest", TieBreak::Smallest);
  py::enum_<LossKind>(m, "LossKind", py::module_local())
      .value("softmax", LossKind::Softmax)
      .value("svm", LossKind::Svm)
      .value("squared_svm", LossKind::SquaredSvm);
  py::enum_<PenaltyKind>(m, "PenaltyKind", py::module_local())
      .value("l2", PenaltyKind::L2)
      .value("l1", PenaltyKind::L1)
      .value("elasticnet", PenaltyKind::ElasticNet);
  py::enum_<Activation>(m, "Activation", py::module_local())
      .value("identity", Activation::Identity)
      .value("relu", Activation::ReLU)
      .value("leaky_relu", Activation::LeakyReLU)
      .value("tanh", Activation::Tanh)
      .value("sigmoid", Activation::Sigmoid);
  py::enum_<OptimKind>(m, "OptimKind", py::module_local())
      .value("sgd", OptimKind::SGD)
      .value("momentum", OptimKind::Momentum)
      .value("nesterov", OptimKind::Nesterov)
      .value("adagrad", OptimKind::AdaGrad)
      .value("rmsprop", OptimKind::RMSProp)
      .value("adam", OptimKind::Adam);
}

// OptimHyper from the keyword arguments both modules' optim_step take; the bias
// corrections of Adam are 1 - beta^step.
inline OptimHyper optim_hyper(OptimKind kind, double lr, double momentum, double decay,
                              double beta1, double beta2, double eps, double weight_decay,
                              int64_t step) {
  if (step < 1) throw pybind11::value_error("step counts from 1");
  OptimHyper h;
  h.kind = kind;
  h.lr = lr;
  h.momentum = momentum;
  h.decay = decay;
  h.beta1 = beta1;
  h.beta2 = beta2;
  h.eps = eps;
  h.weight_decay = weight_decay;
  h.bias_correction1 = 1.0 - std::pow(beta1, double(step));
  h.bias_correction2 = 1.0 - std::pow(beta2, double(step));
  return h;
}

// The states an optimizer kind updates besides the parameters (0, 1 or 2).
inline int optim_states(OptimKind kind) {
  return kind == OptimKind::SGD ? 0 : kind == OptimKind::Adam ? 2 : 1;
}

}  // namespace bindings
}  // namespace imgclf
