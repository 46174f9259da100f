// Test support: chi-square statistic and quantiles (Wilson–Hilferty), for distribution tests.
#pragma once

#include <cmath>
#include <numeric>
#include <vector>

namespace verikit::test {

// Pearson's statistic against a uniform expectation.
inline double chi_square(const std::vector<double>& counts) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  const double expected = total / static_cast<double>(counts.size());
  double chi = 0;
  for (double c : counts) chi += (c - expected) * (c - expected) / expected;
  return chi;
}

// Upper-tail quantile: P(X > q) = p for X ~ chi-square(df), by the Wilson–Hilferty
// approximation (accurate to about 1% for df >= 3), with z from the normal tail.
inline double chi_square_quantile(int df, double p) {
  // Normal upper quantile by bisection on erfc.
  double lo = 0, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > p ? lo : hi) = mid;
  }
  const double z = lo;
  const double k = df;
  const double t = 1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k));
  return k * t * t * t;
}

}  // namespace verikit::test
