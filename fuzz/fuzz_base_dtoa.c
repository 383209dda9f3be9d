/* Fuzzes base_fmt_double (Schubfach) against the slow reference it replaced: the shortest
 * printf("%.*e") precision whose text strtod reads back. The output must read back as the same
 * double, be no longer than the reference, and equal it when as long (both are then the closest
 * decimal of that length); it may be shorter only next to a power of two, where the rounding
 * interval is lopsided and the closest decimal of a length is not always inside it. */
#include "base/base.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Significant digits of a number text, without sign, dot, leading zeros or exponent. */
static int digits_of(const char *s, char *out)
{
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && (n || *s != '0'))
            out[n++] = *s;
    while (n > 1 && out[n - 1] == '0')
        n--;
    out[n] = '\0';
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double v;
    uint64_t bits = 0;
    memcpy(&bits, data, size < sizeof bits ? size : sizeof bits);
    memcpy(&v, &bits, sizeof v);
    char out[32], ref[40], d_out[32], d_ref[40];
    int len = base_fmt_double(v, out);
    if ((size_t)len != strlen(out) || len >= 32)
        abort();
    if (!isfinite(v) || v == 0)
        return 0;
    if (strtod(out, NULL) != v)
        abort();
    for (int prec = 0; prec < 17; prec++) {
        snprintf(ref, sizeof ref, "%.*e", prec, v);
        if (strtod(ref, NULL) == v)
            break;
    }
    int n_out = digits_of(out, d_out), n_ref = digits_of(ref, d_ref);
    if (n_out > n_ref || (n_out == n_ref && strcmp(d_out, d_ref)))
        abort();
    return 0;
}
