// OMP(...) writes `#pragma omp ...` in OpenMP builds and nothing otherwise, so
// NO_OMP=1 builds compile the same loops without unknown-pragma warnings.
#ifndef AHA_KERNELS_OMP_H
#define AHA_KERNELS_OMP_H

#ifdef _OPENMP
#define OMP_PRAGMA_(x) _Pragma(#x)
#define OMP(...) OMP_PRAGMA_(omp __VA_ARGS__)
#else
#define OMP(...)
#endif

#endif
