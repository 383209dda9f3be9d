/* Helpers shared by the nn tests: seeded random arrays and relative comparisons. */
#ifndef LL_NN_TEST_UTIL_H
#define LL_NN_TEST_UTIL_H

#include "nn/nn_int.h"
#include "test.h"

static inline void fill_uniform_d(struct base_rng *r, double *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * base_rng_uniform(r);
}

static inline void fill_uniform_f(struct base_rng *r, float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * base_rng_uniform(r));
}

/* max |a - b| / max(1e-3, max |b|): one scale per array, so tiny entries don't dominate. */
static inline double rel_err_f(const float *a, const float *b, size_t n)
{
    double m = 1e-3, e = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(b[i]) > m ? fabs(b[i]) : m;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        e = d > e ? d : e;
    }
    return e / m;
}

#endif
