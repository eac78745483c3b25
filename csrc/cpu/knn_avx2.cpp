// The avx2 build of the kernel template (flags in CMakeLists.txt).
#define IMGCLF_ISA avx2
#define IMGCLF_ISA_NAME "avx2"
#include "knn_impl.h"
