// Run-time choice of the SIMD level and the thread count.
#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.h"

namespace imgclf {
namespace cpu {
namespace {

struct Level {
  const char* name;
  const Ops* ops;
  bool (*supported)();
};

#if defined(IMGCLF_X86)
bool has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma");
}
bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
bool always() { return true; }

const std::vector<Level>& levels() {
  static const std::vector<Level> all = {
#if defined(IMGCLF_X86)
      {"avx512", &avx512::ops, has_avx512},
      {"avx2", &avx2::ops, has_avx2},
#endif
      {"generic", &generic::ops, always},
  };
  return all;
}

const Ops* pick_default() {
  // IMGCLF_SIMD=avx2|generic caps the level (for testing and for comparing levels).
  const char* env = std::getenv("IMGCLF_SIMD");
  for (const Level& l : levels()) {
    if (!l.supported()) continue;
    if (env && *env && std::string(env) != l.name) continue;
    return l.ops;
  }
  return &generic::ops;
}

std::atomic<const Ops*> g_ops{nullptr};
std::atomic<int> g_threads{0};

}  // namespace

std::vector<std::string> simd_levels() {
  std::vector<std::string> out;
  for (const Level& l : levels())
    if (l.supported()) out.push_back(l.name);
  return out;
}

const Ops& active_ops() {
  const Ops* o = g_ops.load();
  if (!o) {
    o = pick_default();
    g_ops.store(o);
  }
  return *o;
}

std::string simd_level() { return active_ops().name; }

void set_simd_level(const std::string& name) {
  for (const Level& l : levels()) {
    if (name != l.name) continue;
    if (!l.supported())
      throw std::invalid_argument("SIMD level '" + name + "' is not supported by this CPU");
    g_ops.store(l.ops);
    return;
  }
  std::string known;
  for (const Level& l : levels()) known += std::string(known.empty() ? "" : ", ") + l.name;
  throw std::invalid_argument("unknown SIMD level '" + name + "' (expected one of: " + known + ")");
}

int num_threads() {
  int n = g_threads.load();
  return n > 0 ? n : omp_get_max_threads();
}

void set_num_threads(int n) { g_threads.store(n > 0 ? n : 0); }

}  // namespace cpu
}  // namespace imgclf
