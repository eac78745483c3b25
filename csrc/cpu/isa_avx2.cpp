// The avx2 build of the kernel templates (its compiler flags are in CMakeLists.txt).
#define IMGCLF_ISA avx2
#define IMGCLF_ISA_NAME "avx2"
#include "knn_impl.h"
#include "loss_impl.h"
#include "optim_impl.h"
#include "gemm_impl.h"
#include "isa_table.h"
