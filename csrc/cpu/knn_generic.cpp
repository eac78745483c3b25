// The generic build of the kernel template (flags in CMakeLists.txt).
#define IMGCLF_ISA generic
#define IMGCLF_ISA_NAME "generic"
#include "knn_impl.h"
