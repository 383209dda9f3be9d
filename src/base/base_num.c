/* Number formatting and strict parsing. Python-repr floats keep our JSON byte-compatible with
 * what Label Studio writes, so exports diff cleanly against real ones. */
#include "base.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "d.ddde+XX" -> digits "dddd" (n of them) and exponent. */
static int split_e(const char *tmp, char *digits, int *exp10)
{
    const char *e = strchr(tmp, 'e');
    int n = 0;
    for (const char *p = tmp; p < e; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    *exp10 = atoi(e + 1);
    return n;
}

/* "d.ddde<exp>" from n digits, without printf (this runs for every float we write). */
static char *sci_text(const char *digits, int n, int exp10, char out[40])
{
    int i = 0;
    out[i++] = digits[0];
    out[i++] = '.';
    for (int k = 1; k < n; k++)
        out[i++] = digits[k];
    out[i++] = 'e';
    if (exp10 < 0) {
        out[i++] = '-';
        exp10 = -exp10;
    }
    char rev[8];
    int r = 0;
    do
        rev[r++] = (char)('0' + exp10 % 10);
    while ((exp10 /= 10) && r < 8);
    while (r)
        out[i++] = rev[--r];
    out[i] = '\0';
    return out;
}

/* Rounds the 17 significant digits d17 to nd digits (half up; the caller has excluded ties)
 * into out; returns the exponent, which grows by one when 9.99.. rounds to 10. */
static int round_digits(const char *d17, int nd, int exp10, char *out)
{
    memcpy(out, d17, (size_t)nd);
    if (d17[nd] >= '5') {
        int i = nd - 1;
        while (i >= 0 && out[i] == '9')
            out[i--] = '0';
        if (i < 0) {
            out[0] = '1';
            exp10++;
        } else {
            out[i]++;
        }
    }
    return exp10;
}

/* Shortest digits that read back as v exactly; returns them (no dot) and the exponent.
 * If some decimal of k <= 15 significant digits reads back as v, it lies within half an ulp of v,
 * far closer than half a step of the 15-digit grid, so the 15-digit rounding of v is that decimal
 * padded with zeros: testing 15, then 16, then 17 digits finds the shortest. The candidates are
 * rounded from one 17-digit printf (printf is the expensive part); when the dropped digits are a
 * tie ("5", "50"), which double rounding could get wrong, printf rounds v itself. */
static void shortest_digits(double v, char digits[24], int *exp10)
{
    char tmp[40], d17[24], cand[24];
    int e17;
    if (v < DBL_MIN) { /* subnormal: fewer bits, the grid argument fails; search every length */
        for (int prec = 0; prec < 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*e", prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
        int n = split_e(tmp, digits, exp10);
        while (n > 1 && digits[n - 1] == '0')
            n--;
        digits[n] = '\0';
        return;
    }
    snprintf(tmp, sizeof tmp, "%.16e", v);
    split_e(tmp, d17, &e17);
    int nd = 17, e = e17;
    for (int k = 15; k <= 16; k++) {
        int tie = d17[k] == '5' && (k == 16 || d17[16] == '0');
        int ek;
        if (tie) {
            snprintf(tmp, sizeof tmp, "%.*e", k - 1, v);
            split_e(tmp, cand, &ek);
        } else {
            ek = round_digits(d17, k, e17, cand);
        }
        if (strtod(sci_text(cand, k, ek, tmp), NULL) == v) {
            memcpy(d17, cand, (size_t)k);
            nd = k, e = ek;
            break;
        }
    }
    while (nd > 1 && d17[nd - 1] == '0')
        nd--;
    memcpy(digits, d17, (size_t)nd);
    digits[nd] = '\0';
    *exp10 = e;
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
    /* positional: 42.3718109130859, 0.0001, 1e+15 written as 1000000000000000.0 */
    int n = 0;
    if (*sign)
        out[n++] = '-';
    if (exp10 < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            out[n++] = '0';
        for (int i = 0; i < nd; i++)
            out[n++] = digits[i];
    } else {
        int int_digits = exp10 + 1;
        for (int i = 0; i < int_digits; i++)
            out[n++] = i < nd ? digits[i] : '0';
        out[n++] = '.';
        if (nd > int_digits)
            for (int i = int_digits; i < nd; i++)
                out[n++] = digits[i];
        else
            out[n++] = '0';
    }
    out[n] = '\0';
    return n;
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
