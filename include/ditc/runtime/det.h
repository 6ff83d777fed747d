//===- det.h - determinant by Gaussian elimination (C++, header only) ----===//
//
// One n x n determinant, shared by the runtime's det kernel
// (runtime/src/structured.cpp) and the importer's folding of a known Det
// input (lib/Importer/Onnx/OnnxStructuredOps.cpp), so that both compute the
// same numbers.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_RUNTIME_DET_H
#define DITC_RUNTIME_DET_H

#include <cmath>
#include <cstdint>
#include <utility>

namespace ditc_rt {

/// The determinant of the row-major n x n matrix `a`, which it overwrites:
/// elimination with partial pivoting, in double.
inline double determinant(double *a, int64_t n) {
  double det = 1;
  for (int64_t col = 0; col < n; ++col) {
    int64_t pivot = col;
    for (int64_t row = col + 1; row < n; ++row)
      if (std::fabs(a[row * n + col]) > std::fabs(a[pivot * n + col]))
        pivot = row;
    if (a[pivot * n + col] == 0)
      return 0;
    if (pivot != col) {
      for (int64_t k = 0; k < n; ++k)
        std::swap(a[col * n + k], a[pivot * n + k]);
      det = -det;
    }
    det *= a[col * n + col];
    for (int64_t row = col + 1; row < n; ++row) {
      double f = a[row * n + col] / a[col * n + col];
      for (int64_t k = col; k < n; ++k)
        a[row * n + k] -= f * a[col * n + k];
    }
  }
  return det;
}

} // namespace ditc_rt

#endif // DITC_RUNTIME_DET_H
