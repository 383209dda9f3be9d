/* Prints "<hex bits> <base_fmt_double text>" for N seeded random doubles (random bit patterns,
 * random [0, 100) coordinates, random subnormals) and every edge case we know of (powers of ten
 * and two with their neighbours, the 1e16 / 1e-5 notation switch, integers, extremes), so that
 * check_fmt_double.py can compare each line with Python's repr. */
#include "base/base.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void put(double v)
{
    char out[32];
    uint64_t bits;
    if (!isfinite(v))
        return;
    memcpy(&bits, &v, sizeof bits);
    base_fmt_double(v, out);
    printf("%016llx %s\n", (unsigned long long)bits, out);
    bits ^= (uint64_t)1 << 63; /* the negative twin */
    memcpy(&v, &bits, sizeof v);
    base_fmt_double(v, out);
    printf("%016llx %s\n", (unsigned long long)bits, out);
}

static void put_around(double v)
{
    put(v);
    put(nextafter(v, INFINITY));
    put(nextafter(v, 0));
}

static double from_bits(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static void edge_cases(void)
{
    for (int e = -325; e <= 308; e++) { /* 10^e correctly rounded, and 5 10^e */
        char text[16];
        snprintf(text, sizeof text, "1e%d", e);
        put_around(strtod(text, NULL));
        text[0] = '5';
        put_around(strtod(text, NULL));
    }
    for (int e = -1074; e <= 1023; e++)
        put_around(ldexp(1, e));
    for (int i = 0; i <= 100000; i++)
        put((double)i);
    const double misc[] = {0.0,
                           DBL_MIN,
                           DBL_MAX,
                           DBL_TRUE_MIN,
                           5e-324,
                           1e-323,
                           1e16,
                           1e15,
                           9999999999999998.0,
                           1e-5,
                           1e-4,
                           0.0001,
                           0.00001,
                           9.999999999999999e-05,
                           0.1,
                           0.2,
                           0.3,
                           1.0 / 3.0,
                           2.0 / 3.0,
                           9007199254740992.0,
                           9007199254740993.0,
                           5.0,
                           12.5,
                           123456789012345680.0};
    for (size_t i = 0; i < sizeof misc / sizeof misc[0]; i++)
        put_around(misc[i]);
    for (uint64_t t = 1; t < 64; t++) /* the smallest subnormals */
        put(from_bits(t));
    put(from_bits(0x000fffffffffffffu)); /* the largest subnormal */
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    struct base_rng rng;
    base_rng_seed(&rng, 20260501);
    edge_cases();
    for (long i = 0; i < n / 3; i++) {
        put(from_bits(base_rng_next(&rng)));
        put(base_rng_uniform(&rng) * 100);
        put(from_bits(base_rng_next(&rng) & 0x000fffffffffffffu));
    }
    return 0;
}
