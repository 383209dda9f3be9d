/* A fast path for base_json_parse. Exports read every task's JSON back from SQLite, and
 * jansson's parser (a byte-at-a-time stream, a growing string buffer per token) was a third of
 * an export's time. This scanner builds the same jansson values straight from the text and gives
 * up (NULL) on whatever is rare or invalid — \u escapes, integers beyond 18 digits, real overflow,
 * deep nesting, invalid UTF-8 (json_stringn checks it) — leaving those to jansson. */
#include "base_int.h"

#include <stdlib.h>
#include <string.h>

#define FAST_MAX_DEPTH 512

struct scan {
    const char *p, *end;
    char *tmp; /* unescaped string bytes */
    size_t cap;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static int is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* A string token after its opening quote: its bytes (unescaped into s->tmp when needed). */
static int scan_string(struct scan *s, const char **out, size_t *len)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p != '"' && *s->p != '\\' && (unsigned char)*s->p >= 0x20)
        s->p++;
    if (s->p < s->end && *s->p == '"') { /* no escapes: the bytes as they are */
        *out = start, *len = (size_t)(s->p - start);
        s->p++;
        return 0;
    }
    size_t n = (size_t)(s->p - start);
    if (s->cap <= (size_t)(s->end - start)) { /* room for the rest of the text, at least 1 */
        s->cap = (size_t)(s->end - start) + 1;
        s->tmp = base_realloc(s->tmp, s->cap);
    }
    memcpy(s->tmp, start, n);
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p++;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            const char *e = s->p < s->end && s->p[0] ? strchr(from, s->p[0]) : NULL;
            if (!e)
                return -1; /* \u escapes and invalid ones: jansson's */
            c = (unsigned char)to[e - from];
            s->p++;
        }
        s->tmp[n++] = (char)c;
    }
    if (s->p >= s->end)
        return -1;
    s->p++;
    *out = s->tmp, *len = n;
    return 0;
}

static json_t *scan_number(struct scan *s)
{
    const char *start = s->p;
    int neg = s->p < s->end && *s->p == '-', real = 0;
    if (neg)
        s->p++;
    if (!is_digit(s->p, s->end) || (*s->p == '0' && is_digit(s->p + 1, s->end)))
        return NULL;
    while (is_digit(s->p, s->end))
        s->p++;
    if (s->p < s->end && *s->p == '.') {
        real = 1;
        if (!is_digit(++s->p, s->end))
            return NULL;
        while (is_digit(s->p, s->end))
            s->p++;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        real = 1;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!is_digit(s->p, s->end))
            return NULL;
        while (is_digit(s->p, s->end))
            s->p++;
    }
    size_t n = (size_t)(s->p - start);
    long long iv;
    double dv;
    if (!real)
        return base_num_token_int(start, n, &iv) ? NULL : json_integer(iv);
    if (!base_num_token_real(start, n, &dv))
        return json_real(dv); /* NULL for an overflow to infinity: jansson reports it */
    char buf[64];
    if (n >= sizeof buf)
        return NULL;
    memcpy(buf, start, n);
    buf[n] = '\0';
    char *stop;
    double v = strtod(buf, &stop);
    if (stop != buf + n) /* a locale with another decimal point */
        return NULL;
    return json_real(v); /* NULL for an overflow to infinity: jansson reports it */
}

static json_t *scan_value(struct scan *s, int depth);

static json_t *scan_array(struct scan *s, int depth)
{
    json_t *a = json_array();
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return a;
    }
    for (;;) {
        json_t *v = scan_value(s, depth + 1);
        if (!v || json_array_append_new(a, v))
            break;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return a;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

static json_t *scan_object(struct scan *s, int depth)
{
    json_t *o = json_object();
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return o;
    }
    for (;;) {
        const char *key;
        size_t klen;
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"')
            break;
        s->p++;
        if (scan_string(s, &key, &klen) || memchr(key, '\0', klen))
            break;
        /* the key may sit in s->tmp, which the value's strings reuse: keep a copy */
        char small[64], *k = klen < sizeof small ? small : base_alloc(klen + 1);
        memcpy(k, key, klen);
        skip_ws(s);
        json_t *v = NULL;
        if (s->p < s->end && *s->p == ':') {
            s->p++;
            v = scan_value(s, depth + 1);
        }
        int bad = !v || json_object_setn_new(o, k, klen, v); /* checks UTF-8 */
        if (k != small)
            base_free(k);
        if (bad)
            break;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            return o;
        }
        break;
    }
    json_decref(o);
    return NULL;
}

static json_t *scan_literal(struct scan *s, const char *word, json_t *v)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
        return NULL;
    s->p += n;
    return v;
}

static json_t *scan_value(struct scan *s, int depth)
{
    skip_ws(s);
    if (s->p >= s->end || depth > FAST_MAX_DEPTH)
        return NULL;
    const char *str;
    size_t len;
    switch (*s->p) {
    case '{':
        s->p++;
        return scan_object(s, depth);
    case '[':
        s->p++;
        return scan_array(s, depth);
    case '"':
        s->p++;
        /* json_stringn checks UTF-8 (NULL when invalid); NUL bytes are jansson's to refuse */
        return scan_string(s, &str, &len) || memchr(str, '\0', len) ? NULL : json_stringn(str, len);
    case 't':
        return scan_literal(s, "true", json_true());
    case 'f':
        return scan_literal(s, "false", json_false());
    case 'n':
        return scan_literal(s, "null", json_null());
    default:
        return scan_number(s);
    }
}

json_t *base_json_parse_fast(const char *text, size_t len)
{
    struct scan s = {.p = text, .end = text + len};
    json_t *v = text ? scan_value(&s, 0) : NULL;
    skip_ws(&s);
    if (v && s.p != s.end) {
        json_decref(v);
        v = NULL;
    }
    base_free(s.tmp);
    return v;
}
