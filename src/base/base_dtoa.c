/* Python-repr floats (base_fmt_double), which keep our JSON byte-compatible with what Label
 * Studio writes. The shortest round-trip digits come from Schubfach (R. Giulietti, "The Schubfach
 * way to render doubles", 2020): one 126-bit approximation of a power of ten per decimal exponent
 * (base_dtoa_table.h) and three multiplications decide the shortest correctly rounded decimal,
 * with no printf/strtod loop. Python's repr (David Gay's dtoa, mode 0) picks the same digits:
 * the shortest that reads back, the closest to the value among those, ties to an even digit. */
#include "base.h"

#include <math.h>
#include <string.h>

#include "base_dtoa_table.h"

#define DTOA_C_MIN  ((uint64_t)1 << 52) /* hidden bit: significands of normal doubles */
#define DTOA_Q_MIN  (-1074)             /* binary exponent of subnormals */
#define DTOA_MASK63 (((uint64_t)1 << 63) - 1)

/* floor(q log10 2), floor(log10(3/4 2^q)), floor(e log2 10): exact over the ranges used (checked
 * exhaustively against exact arithmetic for |q|, |e| < 1100 and 400). */
static int flog10pow2(int q)
{
    return (int)(((int64_t)q * 661971961083) >> 41);
}

static int flog10three_quarters_pow2(int q)
{
    return (int)(((int64_t)q * 661971961083 - 274743187321) >> 41);
}

static int flog2pow10(int e)
{
    return (int)(((int64_t)e * 913124641741) >> 38);
}

static uint64_t mulhi(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

/* floor(g cp / 2^127) with the lowest bit set when the dropped part is not zero ("round to odd"
 * of the paper), from the two 63-bit halves of g. */
static uint64_t rop(uint64_t g1, uint64_t g0, uint64_t cp)
{
    uint64_t x1 = mulhi(g0, cp), y0 = g1 * cp, y1 = mulhi(g1, cp);
    uint64_t z = (y0 >> 1) + x1, vbp = y1 + (z >> 63);
    return vbp | (((z & DTOA_MASK63) + DTOA_MASK63) >> 63);
}

/* The shortest decimal s 10^*e10 in the rounding interval of c 2^q (closest, ties to even s);
 * s may end in zeros. */
static uint64_t to_decimal(int q, uint64_t c, int *e10)
{
    uint64_t out = c & 1, cb = c << 2, cbr = cb + 2, cbl;
    int k;
    if (c != DTOA_C_MIN || q == DTOA_Q_MIN) {
        cbl = cb - 2;
        k = flog10pow2(q);
    } else { /* the interval below a power of two is half as wide */
        cbl = cb - 1;
        k = flog10three_quarters_pow2(q);
    }
    int h = q + flog2pow10(-k) + 2;
    const uint64_t *g = base_dtoa_g[k - BASE_DTOA_K_MIN];
    uint64_t vb = rop(g[0], g[1], cb << h), vbl = rop(g[0], g[1], cbl << h);
    uint64_t vbr = rop(g[0], g[1], cbr << h), s = vb >> 2;
    if (s >= 10) { /* one digit shorter (Java asks for two digits at least, here s >= 100) */
        uint64_t sp10 = 10 * (s / 10), tp10 = sp10 + 10;
        int upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
        if (upin != wpin) {
            *e10 = k;
            return upin ? sp10 : tp10;
        }
    }
    uint64_t t = s + 1;
    int uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
    *e10 = k;
    if (uin != win)
        return uin ? s : t;
    int64_t cmp = (int64_t)(vb - ((s + t) << 1));
    return cmp < 0 || (cmp == 0 && !(s & 1)) ? s : t;
}

/* Shortest digits of a finite v > 0 ("12345", no dot, no trailing zeros) and the exponent of
 * the first digit (v = d.ddd 10^exp10). Returns the number of digits. */
static int shortest_digits(double v, char digits[24], int *exp10)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t t = bits & (DTOA_C_MIN - 1), s;
    int bq = (int)(bits >> 52) & 0x7ff, e10;
    if (bq) {
        int mq = 1075 - bq;
        uint64_t c = DTOA_C_MIN | t;
        if (mq > 0 && mq < 53 && ((c >> mq) << mq) == c) { /* an integer below 2^53: exact */
            s = c >> mq;
            e10 = 0;
        } else {
            s = to_decimal(-mq, c, &e10);
        }
    } else if (t > 2) {
        s = to_decimal(DTOA_Q_MIN, t, &e10);
    } else { /* the two smallest subnormals are below the paper's precision bound (c >= 3) */
        s = t == 1 ? 5 : 1;
        e10 = t == 1 ? -324 : -323;
    }
    while (s % 10 == 0) {
        s /= 10;
        e10++;
    }
    char rev[24];
    int n = 0;
    for (; s; s /= 10)
        rev[n++] = (char)('0' + s % 10);
    for (int i = 0; i < n; i++)
        digits[i] = rev[n - 1 - i];
    digits[n] = '\0';
    *exp10 = e10 + n - 1;
    return n;
}

/* "e-05", "e+16": Python writes at least two exponent digits. */
static int exponent_text(int exp10, char *out)
{
    int n = 0;
    out[n++] = 'e';
    out[n++] = exp10 < 0 ? '-' : '+';
    unsigned e = (unsigned)(exp10 < 0 ? -exp10 : exp10);
    if (e >= 100)
        out[n++] = (char)('0' + e / 100);
    out[n++] = (char)('0' + e / 10 % 10);
    out[n++] = (char)('0' + e % 10);
    return n;
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
    int exp10, n = 0, nd = shortest_digits(fabs(v), digits, &exp10);
    if (v < 0)
        out[n++] = '-';
    if (exp10 < -4 || exp10 >= 16) { /* Python: 1e-05, 1.5e+16 */
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, digits + 1, (size_t)nd - 1);
            n += nd - 1;
        }
        n += exponent_text(exp10, out + n);
    } else if (exp10 < 0) { /* 0.0001 */
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            out[n++] = '0';
        memcpy(out + n, digits, (size_t)nd);
        n += nd;
    } else { /* 42.3718109130859; 1e+15 as 1000000000000000.0 */
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

int base_fmt_int(int64_t v, char out[24])
{
    char rev[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    do
        rev[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        rev[n++] = '-';
    for (int i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}
