// The avx512 build of every kernel family (its compiler flags are in CMakeLists.txt).
#define IMGCLF_ISA avx512
#define IMGCLF_ISA_NAME "avx512"
#include "isa_families.h"
