/* Number formatting and strict parsing. Python-repr floats keep our JSON byte-compatible with
 * what Label Studio writes, so exports diff cleanly against real ones. */
#include "base.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Shortest "%.{p}e" digits that read back exactly; returns digits (no dot) and exponent.
 * Starting at 15 significant digits is enough: if some k <= 15 digit decimal reads back as v, it
 * lies within half an ulp of v, far closer than half a step of the 15-digit grid, so "%.14e"
 * prints exactly that decimal padded with zeros (stripped below). Saves ~14 printf+strtod rounds
 * per number, which dominate JSON export time. */
static void shortest_digits(double v, char digits[24], int *exp10)
{
    char tmp[40];
    for (int prec = 14; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    /* tmp is like "4.2371810913085938e+01" */
    char *e = strchr(tmp, 'e');
    *exp10 = atoi(e + 1);
    int n = 0;
    for (char *p = tmp; p < e; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
}

int base_fmt_double(double v, char out[32])
{
    if (isnan(v))
        return snprintf(out, 32, "NaN");
    if (isinf(v))
        return snprintf(out, 32, v < 0 ? "-Infinity" : "Infinity");
    if (v == 0)
        return snprintf(out, 32, signbit(v) ? "-0.0" : "0.0");
    char digits[24];
    int exp10;
    const char *sign = v < 0 ? "-" : "";
    shortest_digits(fabs(v), digits, &exp10);
    int nd = (int)strlen(digits);
    if (exp10 < -4 || exp10 >= 16) {
        /* Python: 1e-05, 1.5e+16 */
        if (nd == 1)
            return snprintf(out, 32, "%s%ce%c%02d", sign, digits[0], exp10 < 0 ? '-' : '+',
                            abs(exp10));
        return snprintf(out, 32, "%s%c.%se%c%02d", sign, digits[0], digits + 1,
                        exp10 < 0 ? '-' : '+', abs(exp10));
    }
    char buf[48];
    int n = 0;
    if (exp10 < 0) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, "0.");
        for (int i = 0; i < -exp10 - 1; i++)
            buf[n++] = '0';
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s", digits);
    } else {
        int int_digits = exp10 + 1;
        for (int i = 0; i < int_digits; i++)
            buf[n++] = i < nd ? digits[i] : '0';
        buf[n++] = '.';
        if (nd > int_digits)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "%s", digits + int_digits);
        else
            buf[n++] = '0';
        buf[n] = '\0';
    }
    return snprintf(out, 32, "%s%s", sign, buf);
}

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
