/* Unit tests of base_num_token.c: JSON number tokens converted without strtod/strtoll must give
 * their exact bits, on tricky tokens, rounding ties and millions of random tokens shaped like the
 * coordinates exports read; and the fast path must actually serve those. */
#include "base/base.h"
#include "test.h"

#include <errno.h>
#include <string.h>

/* 1 when the fast path served the token, 0 when it declined; a wrong value is a failure. */
static int same_as_strtod(const char *tok)
{
    double fast, slow = strtod(tok, NULL);
    if (base_num_token_real(tok, strlen(tok), &fast))
        return 0;
    if (memcmp(&fast, &slow, sizeof fast)) {
        fprintf(stderr, "%s: %.17g, strtod %.17g\n", tok, fast, slow);
        CHECK(0);
    }
    return 1;
}

static void test_number_tricky(void)
{
    static const char *const served[] = {"0.0",
                                         "-0.0",
                                         "1e22",
                                         "0.1",
                                         "4.35",
                                         "80.99999999999999",
                                         "1E+2",
                                         "-123.456e-7",
                                         "6.709037684790573",
                                         "13.600868220562788",
                                         "123456789012345678.9",
                                         "0.000000000000000000001234",
                                         "9.999999999999999e26"};
    static const char *const either[] = {"9007199254740993.0",
                                         "12345678901234567890.0",
                                         "1.7976931348623157e308",
                                         "5e-324",
                                         "2.2250738585072014e-308",
                                         "1e-28",
                                         "18446744073709551615.0",
                                         "1e99999",
                                         "0e12345678"};
    for (size_t i = 0; i < sizeof served / sizeof served[0]; i++)
        CHECK(same_as_strtod(served[i]));
    for (size_t i = 0; i < sizeof either / sizeof either[0]; i++)
        same_as_strtod(either[i]);
    double d;
    CHECK(base_num_token_real("12345678901234567890.5", 22, &d) == -1); /* 21 digits */
}

/* Exact midpoints between two doubles above 2^53: the long double lands on the tie. */
static void test_number_ties(void)
{
    struct base_rng r;
    base_rng_seed(&r, 7);
    char tok[48];
    for (int i = 0; i < 100000; i++) {
        uint64_t lo = ((uint64_t)1 << 53) + (base_rng_next(&r) >> 11 << 1); /* even, < 2^63 */
        lo &= ~(((uint64_t)1 << (base_rng_below(&r, 10))) - 1);
        double a = (double)lo, b = nextafter(a, INFINITY);
        uint64_t mid = (uint64_t)a + ((uint64_t)b - (uint64_t)a) / 2;
        snprintf(tok, sizeof tok, "%llu.0", (unsigned long long)mid);
        same_as_strtod(tok);
        snprintf(tok, sizeof tok, "%llue-3", (unsigned long long)mid);
        same_as_strtod(tok);
    }
}

static void test_number_random(void)
{
    struct base_rng r;
    base_rng_seed(&r, 42);
    char tok[64];
    long served = 0, total = 0;
    for (int i = 0; i < 1000000; i++) { /* shortest repr of coordinates, as stored */
        double v = base_rng_uniform(&r) * (i % 2 ? 100 : 1e6) - (i % 3 ? 0 : 50);
        tok[base_fmt_double(v, tok)] = '\0';
        served += same_as_strtod(tok), total++;
    }
    CHECK(served > total * 99 / 100);
    for (int i = 0; i < 1000000; i++) { /* any digits, point and exponent */
        int nd = 1 + (int)base_rng_below(&r, 20), point = (int)base_rng_below(&r, (uint64_t)nd);
        char *p = tok;
        *p++ = '1' + (char)base_rng_below(&r, 9);
        for (int k = 1; k < nd; k++) {
            if (k == point)
                *p++ = '.';
            *p++ = '0' + (char)base_rng_below(&r, 10);
        }
        int e = (int)base_rng_below(&r, 70) - 35;
        snprintf(p, sizeof tok - (size_t)(p - tok), point ? "e%d" : ".5e%d", e);
        same_as_strtod(tok);
    }
}

static void test_number_int(void)
{
    struct base_rng r;
    base_rng_seed(&r, 3);
    char tok[32];
    long long v;
    for (int i = 0; i < 200000; i++) {
        long long x = (long long)(base_rng_next(&r) >> (1 + base_rng_below(&r, 63)));
        snprintf(tok, sizeof tok, "%lld", i % 2 ? -x : x);
        size_t n = strlen(tok);
        if (base_num_token_int(tok, n, &v) == 0)
            CHECK(v == strtoll(tok, NULL, 10));
        else
            CHECK(n - (tok[0] == '-') > 18);
    }
    CHECK(base_num_token_int("-0", 2, &v) == 0 && v == 0);
    CHECK(base_num_token_int("9223372036854775807", 19, &v) == -1);
}

TEST_MAIN(TEST_CASE(test_number_tricky), TEST_CASE(test_number_ties), TEST_CASE(test_number_random),
          TEST_CASE(test_number_int))
