/* A fast path for base_json_parse. Exports read every task's JSON back from SQLite, and
 * jansson's parser (a byte-at-a-time stream, a growing string buffer per token) was a third of
 * an export's time. This scanner builds the same jansson values straight from the text on base's
 * tokenizer (jansson's token rules) and gives up (NULL) on whatever is invalid or deeper than
 * FAST_MAX_DEPTH, leaving it to jansson, whose errors are the ones reported. */
#include "base_int.h"

#include <stdlib.h>
#include <string.h>

#define FAST_MAX_DEPTH 512

static json_t *scan_value(struct base_jtok *t, int depth);

static json_t *scan_array(struct base_jtok *t, int depth)
{
    json_t *a = json_array();
    base_jtok_ws(t);
    if (t->p < t->end && *t->p == ']') {
        t->p++;
        return a;
    }
    for (;;) {
        json_t *v = scan_value(t, depth + 1);
        if (!v || json_array_append_new(a, v))
            break;
        base_jtok_ws(t);
        if (t->p < t->end && *t->p == ',') {
            t->p++;
            continue;
        }
        if (t->p < t->end && *t->p == ']') {
            t->p++;
            return a;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

/* A member of an object (t->p at its key's quote); -1 when the scan gives up. */
static int scan_member(struct base_jtok *t, json_t *o, int depth)
{
    const char *key;
    size_t klen;
    int raw;
    t->p++;
    if (base_jtok_string(t, &key, &klen, &raw))
        return -1;
    /* a key with escapes sits decoded in t->tmp, which the value's strings reuse: keep a copy */
    char small[64], *k = klen < sizeof small ? small : base_alloc(klen + 1);
    memcpy(k, key, klen);
    base_jtok_ws(t);
    json_t *v = NULL;
    if (t->p < t->end && *t->p == ':') {
        t->p++;
        v = scan_value(t, depth + 1);
    }
    int bad = !v || json_object_setn_new_nocheck(o, k, klen, v);
    if (k != small)
        base_free(k);
    return bad ? -1 : 0;
}

static json_t *scan_object(struct base_jtok *t, int depth)
{
    json_t *o = json_object();
    base_jtok_ws(t);
    if (t->p < t->end && *t->p == '}') {
        t->p++;
        return o;
    }
    for (;;) {
        base_jtok_ws(t);
        if (t->p >= t->end || *t->p != '"' || scan_member(t, o, depth))
            break;
        base_jtok_ws(t);
        if (t->p < t->end && *t->p == ',') {
            t->p++;
            continue;
        }
        if (t->p < t->end && *t->p == '}') {
            t->p++;
            return o;
        }
        break;
    }
    json_decref(o);
    return NULL;
}

static json_t *scan_scalar(struct base_jtok *t)
{
    const char *str;
    size_t len;
    int raw, real;
    long long iv;
    double dv;
    if (*t->p == '"') {
        t->p++; /* the tokenizer checked UTF-8 and refused \u0000 as jansson does */
        return base_jtok_string(t, &str, &len, &raw) ? NULL : json_stringn_nocheck(str, len);
    }
    if (*t->p == '-' || (*t->p >= '0' && *t->p <= '9')) {
        if (base_jtok_number(t, &real, &iv, &dv))
            return NULL;
        return real ? json_real(dv) : json_integer(iv);
    }
    switch (base_jtok_literal(t)) {
    case 0:
        return json_true();
    case 1:
        return json_false();
    case 2:
        return json_null();
    }
    return NULL;
}

static json_t *scan_value(struct base_jtok *t, int depth)
{
    base_jtok_ws(t);
    if (t->p >= t->end || depth > FAST_MAX_DEPTH)
        return NULL;
    if (*t->p == '{') {
        t->p++;
        return scan_object(t, depth);
    }
    if (*t->p == '[') {
        t->p++;
        return scan_array(t, depth);
    }
    return scan_scalar(t);
}

json_t *base_json_parse_fast(const char *text, size_t len)
{
    struct base_jtok t = {.p = text, .end = text + len};
    json_t *v = text ? scan_value(&t, 0) : NULL;
    base_jtok_ws(&t);
    if (v && t.p != t.end) {
        json_decref(v);
        v = NULL;
    }
    base_free(t.tmp);
    return v;
}
