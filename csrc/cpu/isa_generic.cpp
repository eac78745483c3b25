// The generic build of every kernel family (its compiler flags are in CMakeLists.txt).
#define IMGCLF_ISA generic
#define IMGCLF_ISA_NAME "generic"
#include "isa_families.h"
