/* JSON number tokens to values without strtod where that is safe, for both JSON scanners (the
 * fast parse here and formats' light parse). The coordinates Label Studio stores are random 16-17
 * digit reals, which send glibc's strtod down its multi-precision path: ~12% of an item export
 * was strtod. test_base_num_token holds these equal to strtod/strtoll. */
#include "base.h"

#include <float.h>
#include <math.h>

/* Digits and decimal exponent of a valid JSON number token: value = (neg ? -1 : 1) * w * 10^e10.
 * Leading zeros do not count as digits. -1 when it has more than 19 digits (w would overflow)
 * or an exponent of more than 5 digits. */
static int decompose(const char *s, size_t n, uint64_t *w, int *e10, int *neg)
{
    size_t i = 0;
    int digits = 0, frac = 0, e = 0, esign = 1;
    *w = 0, *e10 = 0, *neg = s[0] == '-';
    i += (size_t)*neg;
    for (; i < n && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')); i++) {
        if (s[i] == '.') {
            frac = 1;
            continue;
        }
        *e10 -= frac;
        if (*w == 0 && s[i] == '0')
            continue;
        if (++digits > 19)
            return -1;
        *w = *w * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < n) { /* e or E */
        i++;
        if (s[i] == '-' || s[i] == '+')
            esign = s[i++] == '-' ? -1 : 1;
        if (n - i > 5)
            return -1;
        for (; i < n; i++)
            e = e * 10 + (s[i] - '0');
    }
    *e10 += esign * e;
    return 0;
}

#if LDBL_MANT_DIG == 64 && FLT_EVAL_METHOD == 0
/* w * 10^e10 in x87 long double (64-bit significand: w and 10^27 are exact), so one correctly
 * rounded operation, then rounded to double. The two roundings give strtod's double unless the
 * long double is exactly a midpoint between two doubles (no other midpoint can lie between it
 * and the true value: it would be a closer long double), which goes to strtod. */
static int real_extended(uint64_t w, int e10, double *out)
{
    static const long double p10[28] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                        1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                        1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                        1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
    if (e10 < -27 || e10 > 27)
        return -1;
    long double q = e10 < 0 ? (long double)w / p10[-e10] : (long double)w * p10[e10];
    double d = (double)q;
    long double below = ((long double)d + nextafter(d, 0)) / 2;
    long double above = ((long double)d + nextafter(d, INFINITY)) / 2;
    if (q == below || q == above)
        return -1;
    *out = d;
    return 0;
}
#else
static int real_extended(uint64_t w, int e10, double *out)
{
    (void)w, (void)e10, (void)out;
    return -1;
}
#endif

int base_num_token_real(const char *s, size_t n, double *out)
{
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t w;
    int e10, neg;
    double d;
    if (FLT_EVAL_METHOD != 0 || decompose(s, n, &w, &e10, &neg))
        return -1;
    if (w == 0) /* exact: both factors are exact and one rounding (Clinger's fast path) */
        d = 0;
    else if (w < (uint64_t)1 << 53 && e10 >= -22 && e10 <= 22)
        d = e10 < 0 ? (double)w / p10[-e10] : (double)w * p10[e10];
    else if (real_extended(w, e10, &d))
        return -1;
    *out = neg ? -d : d;
    return 0;
}

int base_num_token_int(const char *s, size_t n, long long *out)
{
    int neg = s[0] == '-';
    long long v = 0;
    if (n - (size_t)neg > 18)
        return -1; /* may overflow: strtoll decides */
    for (size_t i = (size_t)neg; i < n; i++)
        v = v * 10 + (s[i] - '0');
    *out = neg ? -v : v;
    return 0;
}
