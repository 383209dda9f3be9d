/* Strict number parsing and small string tests (float formatting is in base_dtoa.c). */
#include "base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int base_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return -1;
    *out = v;
    return 0;
}

int base_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno == ERANGE || *end || end == s)
        return -1;
    *out = v;
    return 0;
}

int base_str_ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && !memcmp(s + ls - lx, suffix, lx);
}
