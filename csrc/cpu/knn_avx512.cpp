// The avx512 build of the kernel template (flags in CMakeLists.txt).
#define IMGCLF_ISA avx512
#define IMGCLF_ISA_NAME "avx512"
#include "knn_impl.h"
