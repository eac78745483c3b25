// The avx2 build of every kernel family (its compiler flags are in CMakeLists.txt).
#define IMGCLF_ISA avx2
#define IMGCLF_ISA_NAME "avx2"
#include "isa_families.h"
