// The CPU kernel families: (name, table type), one line each.  A family `foo` is
// csrc/cpu/foo.h (its kernel types and its table FooOps) and csrc/cpu/foo_impl.h (its
// kernels, compiled per SIMD level, and foo_ops() that fills the table by name).  Adding
// one means adding its line here and its header below; the build (CMakeLists.txt here)
// reads the family names from this list and compiles isa_family.cpp once per family and
// SIMD level.
#pragma once
#include "dense.h"
#include "knn.h"
#include "loss.h"
#include "network.h"
#include "optim.h"
#include "regularize.h"

#define IMGCLF_CPU_FAMILIES(X) \
  X(knn, KnnOps)               \
  X(loss, LossOps)             \
  X(optim, OptimOps)           \
  X(dense, DenseOps)           \
  X(regularize, RegularizeOps) \
  X(network, NetworkOps)
