/* A minimal unit-test harness: CHECK records a failure and continues, TEST_MAIN runs the named
 * tests (or only those named on the command line) and returns non-zero if any check failed. */
#ifndef LL_TEST_H
#define LL_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        test_checks++;                                                                             \
        if (va_ != vb_) {                                                                          \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    va_, vb_);                                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        test_checks++;                                                                             \
        if (!sa_ || !sb_ || strcmp(sa_, sb_)) {                                                    \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a,  \
                    #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                               \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double va_ = (double)(a), vb_ = (double)(b);                                               \
        test_checks++;                                                                             \
        if (!(fabs(va_ - vb_) <= (tol))) {                                                         \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s ~= %s failed: %.9g vs %.9g (tol %g)\n", __FILE__, __LINE__, \
                    #a, #b, va_, vb_, (double)(tol));                                              \
        }                                                                                          \
    } while (0)

struct test_case {
    const char *name;
    void (*fn)(void);
};

#define TEST_CASE(fn)                                                                              \
    {                                                                                              \
#fn, fn                                                                                    \
    }

static inline int test_run(int argc, char **argv, const struct test_case *cases, size_t n)
{
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        int selected = argc < 2;
        for (int a = 1; a < argc; a++)
            selected |= !strcmp(argv[a], cases[i].name);
        if (!selected)
            continue;
        int before = test_failures;
        cases[i].fn();
        ran++;
        fprintf(stderr, "%s %s\n", test_failures == before ? "ok  " : "FAIL", cases[i].name);
    }
    fprintf(stderr, "%d tests, %d checks, %d failures\n", ran, test_checks, test_failures);
    return test_failures || !ran ? 1 : 0;
}

#define TEST_MAIN(...)                                                                             \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const struct test_case cases_[] = {__VA_ARGS__};                                    \
        return test_run(argc, argv, cases_, sizeof cases_ / sizeof cases_[0]);                     \
    }

/* Where the read-only shared data sets live (../shared by default). */
static inline const char *test_shared_dir(void)
{
    const char *s = getenv("LL_SHARED");
    return s && *s ? s : "../shared";
}

#endif
