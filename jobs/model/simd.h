// Internal to the model: the run-time choice between a vectorised kernel's
// baseline build and its AVX2/FMA build (written once with GCC vector types,
// compiled twice; see neighbors.cc and newton_terms.cc).
#ifndef WINBACK_JOBS_MODEL_SIMD_H_
#define WINBACK_JOBS_MODEL_SIMD_H_

namespace winback::model {

// kAuto picks AVX2/FMA when the CPU has it, else the baseline build; tests
// force each one.
enum class SimdKernel { kAuto, kBaseline, kAvx2 };

// True when the CPU has AVX2 and FMA.
bool CpuHasAvx2();

// Whether `kernel` runs the AVX2/FMA build.
bool UseAvx2(SimdKernel kernel);

}  // namespace winback::model

#endif  // WINBACK_JOBS_MODEL_SIMD_H_
