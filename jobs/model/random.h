// Portable, seeded random helpers for the model library (internal).
//
// std::uniform_*_distribution are implementation-defined, so seeded results
// would differ between standard libraries; these helpers draw from
// std::mt19937_64 with fixed arithmetic so a seed means the same everywhere.
#ifndef WINBACK_JOBS_MODEL_RANDOM_H_
#define WINBACK_JOBS_MODEL_RANDOM_H_

#include <cstdint>
#include <random>

namespace winback::model {

// SplitMix64 finaliser: derives independent seeds from (seed, a, b, ...).
inline uint64_t MixSeed(uint64_t seed, uint64_t salt) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (salt + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform integer in [0, n), n > 0, by rejection (no modulo bias).
inline uint64_t UniformIndex(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t v;
  do {
    v = rng();
  } while (v >= limit);
  return v % n;
}

// Uniform double in [0, 1) with 53 random bits.
inline double UniformUnit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace winback::model

#endif  // WINBACK_JOBS_MODEL_RANDOM_H_
