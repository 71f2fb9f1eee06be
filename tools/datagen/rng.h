// A small, fully specified pseudo-random generator for the data generator.
//
// The standard library's distributions are implementation-defined, so the
// generator draws every variate through the functions below: the same seed
// gives the same files with any standard library. Each entity (a customer, a
// session, a bad row) gets its own stream, derived from (seed, stream tag,
// index) with SplitMix64, so the output does not depend on the order in which
// entities are processed, and extra draws for one entity never shift another.
#ifndef WINBACK_TOOLS_DATAGEN_RNG_H_
#define WINBACK_TOOLS_DATAGEN_RNG_H_

#include <cmath>
#include <cstdint>

namespace winback::datagen {

// SplitMix64 step: advances `state` and returns a well-mixed 64-bit value.
inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256++ with convenience variates. Not thread-safe; cheap to create.
class Rng {
 public:
  // The stream for entity `index` of kind `tag` under `seed`.
  Rng(uint64_t seed, uint64_t tag, uint64_t index) {
    uint64_t sm =
        seed * 0xD1B54A32D192ED03ULL ^ (tag + 1) * 0x9E3779B97F4A7C15ULL;
    SplitMix64(sm);
    sm ^= index * 0xA24BAED4963EE407ULL;
    for (uint64_t& s : s_) s = SplitMix64(sm);
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[0] + s_[3], 23) + s_[0];
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform in (0, 1]: safe to take the logarithm of.
  double UniformPositive() { return 1.0 - Uniform(); }

  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

  // Uniform integer in [0, n); n > 0. Lemire's multiply-shift, unbiased
  // enough for n far below 2^64 (the bias is below 2^-40 here).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >>
                                 64);
  }

  // Uniform integer in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  bool Bernoulli(double p) { return Uniform() < p; }

  double Exponential(double mean) {
    return -mean * std::log(UniformPositive());
  }

  // Standard normal (Box-Muller, one of the pair).
  double Normal() {
    const double u1 = UniformPositive();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  // Gamma(shape, scale 1), Marsaglia-Tsang; shape > 0.
  double Gamma(double shape) {
    if (shape < 1.0) {
      return Gamma(shape + 1.0) * std::pow(UniformPositive(), 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    while (true) {
      double x, v;
      do {
        x = Normal();
        v = 1.0 + c * x;
      } while (v <= 0.0);
      v = v * v * v;
      const double u = UniformPositive();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }

  // Poisson(mean): Knuth's product method for small means, a rounded normal
  // approximation above 30 (only the tail of session sizes goes there).
  int64_t Poisson(double mean) {
    if (mean <= 0.0) return 0;
    if (mean > 30.0) {
      const double x = std::round(mean + std::sqrt(mean) * Normal());
      return x < 0.0 ? 0 : static_cast<int64_t>(x);
    }
    const double limit = std::exp(-mean);
    int64_t k = 0;
    double p = Uniform();
    while (p > limit) {
      ++k;
      p *= Uniform();
    }
    return k;
  }

  // Index drawn with probability proportional to weights[i].
  template <typename Weights>
  int Choose(const Weights& weights) {
    double total = 0.0;
    for (double w : weights) total += w;
    double x = Uniform() * total;
    int i = 0;
    for (double w : weights) {
      if (x < w) return i;
      x -= w;
      ++i;
    }
    return i - 1;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4];
};

}  // namespace winback::datagen

#endif  // WINBACK_TOOLS_DATAGEN_RNG_H_
