/* The one JSON tokenizer (base_jtok, see base.h): white space, strings, numbers and literals
 * read exactly as jansson reads them (its UTF-8 rules, escapes, surrogate pairs, number range),
 * so the hand-written readers built on it (base_json_parse's fast path, the exporters'
 * re-emitter and arena parser) accept what jansson accepts and mean the same by it.
 * fuzz_base_json, fuzz_formats_reemit and fuzz_formats_jv hold them to jansson. */
#include "base_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int tok_fail(struct base_jtok *t, const char *why)
{
    t->why = why;
    return -1;
}

void base_jtok_ws(struct base_jtok *t)
{
    while (t->p < t->end && (*t->p == ' ' || *t->p == '\n' || *t->p == '\r' || *t->p == '\t'))
        t->p++;
}

static char *tok_tmp(struct base_jtok *t, size_t n)
{
    if (n > t->tmpcap) {
        t->tmpcap = n > 2 * t->tmpcap ? n : 2 * t->tmpcap;
        t->tmp = base_realloc(t->tmp, t->tmpcap);
    }
    return t->tmp;
}

/* Length of the valid UTF-8 sequence at p (jansson's rules: no overlongs, no surrogates, at most
 * U+10FFFF), 0 if invalid. */
static size_t tok_utf8(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n = c < 0x80                 ? 1
               : c >= 0xc2 && c <= 0xdf ? 2
               : (c & 0xf0) == 0xe0     ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    if (!n || (size_t)(end - p) < n)
        return 0;
    uint32_t v = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    return n;
}

static int tok_hex4(const char *p, const char *end, uint32_t *v)
{
    if (end - p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

static size_t tok_put_utf8(char *o, uint32_t v)
{
    if (v < 0x80)
        return o[0] = (char)v, 1;
    if (v < 0x800)
        return o[0] = (char)(0xc0 | v >> 6), o[1] = (char)(0x80 | (v & 0x3f)), 2;
    if (v < 0x10000) {
        o[0] = (char)(0xe0 | v >> 12), o[1] = (char)(0x80 | ((v >> 6) & 0x3f));
        return o[2] = (char)(0x80 | (v & 0x3f)), 3;
    }
    o[0] = (char)(0xf0 | v >> 18), o[1] = (char)(0x80 | ((v >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((v >> 6) & 0x3f)), o[3] = (char)(0x80 | (v & 0x3f));
    return 4;
}

/* A \u escape at t->p (after the backslash and 'u'), surrogate pairs joined. */
static int tok_unicode(struct base_jtok *t, uint32_t *v)
{
    if (tok_hex4(t->p, t->end, v))
        return tok_fail(t, "invalid \\u escape");
    t->p += 4;
    if (*v >= 0xdc00 && *v <= 0xdfff)
        return tok_fail(t, "invalid Unicode \\u escape (lone low surrogate)");
    if (*v >= 0xd800 && *v <= 0xdbff) {
        uint32_t lo;
        if (t->end - t->p < 6 || t->p[0] != '\\' || t->p[1] != 'u' ||
            tok_hex4(t->p + 2, t->end, &lo) || lo < 0xdc00 || lo > 0xdfff)
            return tok_fail(t, "invalid Unicode \\u escape (unpaired high surrogate)");
        t->p += 6;
        *v = 0x10000 + ((*v - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (*v == 0 && !t->allow_nul)
        return tok_fail(t, "\\u0000 is not allowed");
    return 0;
}

/* The rest of a string with escapes, from `start` (after the quote), decoded into t->tmp. */
static int tok_unescape(struct base_jtok *t, const char *start, const char **s, size_t *len)
{
    char *o = tok_tmp(t, (size_t)(t->end - start) + 4);
    size_t n = 0;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    for (t->p = start; t->p < t->end && *t->p != '"';) {
        unsigned char c = (unsigned char)*t->p;
        if (c < 0x20)
            return tok_fail(t, "control character in string");
        if (c != '\\') {
            size_t k = tok_utf8((const unsigned char *)t->p, (const unsigned char *)t->end);
            if (!k)
                return tok_fail(t, "invalid UTF-8 in string");
            memcpy(o + n, t->p, k), n += k, t->p += k;
            continue;
        }
        const char *e = t->p + 1 < t->end && t->p[1] ? strchr(from, t->p[1]) : NULL;
        uint32_t v;
        if (t->p + 1 < t->end && t->p[1] == 'u') {
            t->p += 2;
            if (tok_unicode(t, &v))
                return -1;
            n += tok_put_utf8(o + n, v);
        } else if (e) {
            o[n++] = to[e - from], t->p += 2;
        } else {
            return tok_fail(t, "invalid escape in string");
        }
    }
    if (t->p >= t->end)
        return tok_fail(t, "unterminated string");
    t->p++;
    *s = o, *len = n;
    return 0;
}

/* A string token (t->p after the opening quote): its decoded bytes; *raw = no escapes. */
int base_jtok_string(struct base_jtok *t, const char **s, size_t *len, int *raw)
{
    const char *start = t->p;
    while (t->p < t->end) {
        unsigned char c = (unsigned char)*t->p;
        if (c == '"' || c == '\\' || c < 0x20)
            break;
        if (c < 0x80) {
            t->p++;
            continue;
        }
        size_t k = tok_utf8((const unsigned char *)t->p, (const unsigned char *)t->end);
        if (!k)
            return tok_fail(t, "invalid UTF-8 in string");
        t->p += k;
    }
    if (t->p < t->end && *t->p == '"') {
        *s = start, *len = (size_t)(t->p - start), *raw = 1;
        t->p++;
        return 0;
    }
    *raw = 0;
    return tok_unescape(t, start, s, len);
}

static int tok_digits(struct base_jtok *t)
{
    const char *s = t->p;
    while (t->p < t->end && *t->p >= '0' && *t->p <= '9')
        t->p++;
    return t->p > s ? 0 : -1;
}

/* Scans a number token as jansson reads it: integers as strtoll reads them (overflow rejected),
 * reals as strtod does (overflow rejected); base_num_token_* where it is exact, else those. */
int base_jtok_number(struct base_jtok *t, int *real, long long *iv, double *dv)
{
    const char *s = t->p;
    *real = 0;
    if (t->p < t->end && *t->p == '-')
        t->p++;
    if (t->p < t->end && *t->p == '0')
        t->p++;
    else if (tok_digits(t))
        return tok_fail(t, "invalid number");
    if (t->p < t->end && *t->p == '.') {
        t->p++, *real = 1;
        if (tok_digits(t))
            return tok_fail(t, "invalid number");
    }
    if (t->p < t->end && (*t->p == 'e' || *t->p == 'E')) {
        t->p++, *real = 1;
        if (t->p < t->end && (*t->p == '+' || *t->p == '-'))
            t->p++;
        if (tok_digits(t))
            return tok_fail(t, "invalid number");
    }
    size_t n = (size_t)(t->p - s);
    if (*real ? !base_num_token_real(s, n, dv) : !base_num_token_int(s, n, iv))
        return 0;
    char *tok = tok_tmp(t, n + 1);
    memcpy(tok, s, n);
    tok[n] = '\0';
    errno = 0;
    if (!*real) {
        *iv = strtoll(tok, NULL, 10);
        return errno == ERANGE ? tok_fail(t, "too big integer") : 0;
    }
    *dv = strtod(tok, NULL);
    if ((*dv == HUGE_VAL || *dv == -HUGE_VAL) && errno == ERANGE)
        return tok_fail(t, "real number overflow");
    return 0;
}

int base_jtok_literal(struct base_jtok *t)
{
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(t->end - t->p) >= n && !memcmp(t->p, words[i], n)) {
            t->p += n;
            return i;
        }
    }
    tok_fail(t, "invalid token");
    return -1;
}
