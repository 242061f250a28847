#ifndef CASCADE_CBLAS_SHIM_H
#define CASCADE_CBLAS_SHIM_H
// Debian's libblas-dev installs the reference CBLAS header; with libopenblas-dev
// present, the `blas` alternative resolves `-lblas` to OpenBLAS at link and run time.
#include <cblas.h>
#endif
