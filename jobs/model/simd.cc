#include "jobs/model/simd.h"

namespace winback::model {

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool UseAvx2(SimdKernel kernel) {
  static const bool has_avx2 = CpuHasAvx2();
  return kernel == SimdKernel::kAvx2 ||
         (kernel == SimdKernel::kAuto && has_avx2);
}

}  // namespace winback::model
