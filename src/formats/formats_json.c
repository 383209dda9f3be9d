/* The exporters' JSON: trees written as Python's json module writes them (base's emitter in its
 * Python style), stored JSON text re-emitted in that form without building a tree, and a light
 * parse into an arena for the formats that read a few fields of each task. */
#include "formats_int.h"

#include <stdlib.h>
#include <string.h>

int formats_json_write(FILE *f, const json_t *v, int indent, int level)
{
    struct base_jw w;
    base_jw_init_file(&w, f, BASE_JSON_PYTHON, indent);
    base_jw_value(&w, v, level);
    return base_jw_end(&w, NULL);
}

int formats_json_buf(struct base_buf *b, const json_t *v, int indent, struct base_err *err)
{
    struct base_jw w;
    base_jw_init_buf(&w, b, BASE_JSON_PYTHON, indent);
    base_jw_value(&w, v, 0);
    return base_jw_end(&w, err);
}

double formats_json_num(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

/* ---- re-emitting stored JSON text ------------------------------------------------------------
 * Exports used to parse every stored task into jansson values only to write them out again: half
 * of an export's time was malloc, hash tables and free. The re-emitter reads the text once and
 * writes each token in formats_json_write's form, accepting exactly what base_json_parse
 * (jansson's grammar and limits) accepts. The one thing a single pass cannot reproduce is an
 * object with a repeated key (jansson keeps the first position, the last value); such objects,
 * keys with escapes, objects of more than EM_MAX_KEYS keys and text with NUL bytes (which
 * jansson's reader treats inconsistently) send the whole text to the tree path instead.
 * fuzz_formats_reemit checks both paths give the same bytes and errors. */

#include <math.h>
#include <stdint.h>

#define EM_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */
#define EM_MAX_KEYS  256

enum { EM_OK = 0, EM_INVALID = -1, EM_TREE = 1 };

struct em_key {
    const char *p;
    size_t len;
    uint32_t hash;
};

struct em {
    struct base_jtok t; /* allow_nul: text dumped by jansson itself (formats_jv_parse) */
    const char *text;
    struct base_jw *w;
    int depth;
    struct em_key *keys; /* keys of the open objects, innermost last */
    size_t nkeys, capkeys;
};

static int em_fail(struct em *m, const char *why)
{
    m->t.why = why;
    return EM_INVALID;
}

/* A number written in decimal (integers) or Python's repr (reals). */
static int em_number(struct em *m)
{
    int real;
    long long v = 0;
    double d = 0;
    if (base_jtok_number(&m->t, &real, &v, &d))
        return EM_INVALID;
    if (real)
        base_jw_real(m->w, d);
    else
        base_jw_int(m->w, v);
    return 0;
}

static int em_literal(struct em *m)
{
    const char *at = m->t.p;
    if (base_jtok_literal(&m->t) < 0)
        return EM_INVALID;
    base_jw_put(m->w, at, (size_t)(m->t.p - at));
    return 0;
}

static int em_value(struct em *m, int level);

static int em_array(struct em *m, int level)
{
    m->t.p++;
    base_jtok_ws(&m->t);
    if (m->t.p < m->t.end && *m->t.p == ']') {
        m->t.p++;
        BASE_JW_LIT(m->w, "[]");
        return 0;
    }
    BASE_JW_LIT(m->w, "[");
    for (size_t i = 0;; i++) {
        base_jw_sep(m->w, i, level);
        int rc = em_value(m, level + 1);
        if (rc)
            return rc;
        base_jtok_ws(&m->t);
        if (m->t.p < m->t.end && *m->t.p == ']')
            break;
        if (m->t.p >= m->t.end || *m->t.p != ',')
            return em_fail(m, "']' or ',' expected");
        m->t.p++;
    }
    m->t.p++;
    base_jw_close(m->w, ']', level);
    return 0;
}

/* Records a key of the innermost object (keys from `first` on); EM_TREE when it repeats. */
static int em_key_add(struct em *m, size_t first, const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    for (size_t i = first; i < m->nkeys; i++)
        if (m->keys[i].hash == h && m->keys[i].len == len && !memcmp(m->keys[i].p, s, len))
            return EM_TREE;
    if (m->nkeys - first >= EM_MAX_KEYS)
        return EM_TREE;
    if (m->nkeys == m->capkeys) {
        m->capkeys = m->capkeys ? 2 * m->capkeys : 64;
        m->keys = base_realloc(m->keys, m->capkeys * sizeof *m->keys);
    }
    m->keys[m->nkeys++] = (struct em_key){s, len, h};
    return 0;
}

static int em_member(struct em *m, size_t first, int level)
{
    const char *s;
    size_t len;
    int raw, rc;
    if (m->t.p >= m->t.end || *m->t.p != '"')
        return em_fail(m, "string or '}' expected");
    m->t.p++;
    if ((rc = base_jtok_string(&m->t, &s, &len, &raw)))
        return rc;
    if (!raw) /* decoded into the scratch: cannot be kept for the repeat check */
        return EM_TREE;
    if ((rc = em_key_add(m, first, s, len)))
        return rc;
    base_jw_key(m->w, s, len);
    base_jtok_ws(&m->t);
    if (m->t.p >= m->t.end || *m->t.p != ':')
        return em_fail(m, "':' expected");
    m->t.p++;
    return em_value(m, level + 1);
}

static int em_object(struct em *m, int level)
{
    m->t.p++;
    base_jtok_ws(&m->t);
    if (m->t.p < m->t.end && *m->t.p == '}') {
        m->t.p++;
        BASE_JW_LIT(m->w, "{}");
        return 0;
    }
    BASE_JW_LIT(m->w, "{");
    size_t first = m->nkeys;
    for (size_t i = 0;; i++) {
        base_jw_sep(m->w, i, level);
        base_jtok_ws(&m->t);
        int rc = em_member(m, first, level);
        if (rc)
            return rc;
        base_jtok_ws(&m->t);
        if (m->t.p < m->t.end && *m->t.p == '}')
            break;
        if (m->t.p >= m->t.end || *m->t.p != ',')
            return em_fail(m, "'}' or ',' expected");
        m->t.p++;
    }
    m->t.p++;
    m->nkeys = first;
    base_jw_close(m->w, '}', level);
    return 0;
}

static int em_value(struct em *m, int level)
{
    base_jtok_ws(&m->t);
    if (m->t.p >= m->t.end)
        return em_fail(m, "unexpected end of text");
    if (m->depth >= EM_MAX_DEPTH) /* jansson counts every value, scalars too */
        return em_fail(m, "maximum parsing depth reached");
    char c = *m->t.p;
    if (c == '{' || c == '[') {
        m->depth++;
        int rc = c == '{' ? em_object(m, level) : em_array(m, level);
        m->depth--;
        return rc;
    }
    if (c == '"') {
        const char *s;
        size_t len;
        int raw, rc;
        m->t.p++;
        if ((rc = base_jtok_string(&m->t, &s, &len, &raw)))
            return rc;
        base_jw_string(m->w, s, len);
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return em_number(m);
    return em_literal(m);
}

void formats_json_reemit_release(struct formats_json_reemit *r)
{
    base_buf_release(&r->out);
    base_free(r->tmp);
    base_free(r->keys);
    memset(r, 0, sizeof *r);
}

/* One pass into w; EM_TREE when the tree path must write it. */
static int reemit(struct formats_json_reemit *r, struct base_jw *w, const char *text, size_t len,
                  int level, struct base_err *err)
{
    struct em m = {.t = {.p = text, .end = text + len, .tmp = r->tmp, .tmpcap = r->tmpcap},
                   .text = text,
                   .w = w,
                   .keys = r->keys,
                   .capkeys = r->capkeys};
    int rc = em_value(&m, level);
    if (rc == 0) {
        base_jtok_ws(&m.t);
        if (m.t.p < m.t.end)
            rc = em_fail(&m, "end of text expected");
    }
    r->tmp = m.t.tmp, r->tmpcap = m.t.tmpcap, r->keys = (void *)m.keys, r->capkeys = m.capkeys;
    if (rc == EM_INVALID)
        base_err_set(err, BASE_E_INVALID, "invalid JSON at byte %zu: %s", (size_t)(m.t.p - text),
                     m.t.why);
    return rc;
}

int formats_json_reemit(struct formats_json_reemit *r, const char *text, size_t len, int indent,
                        int level, struct base_err *err)
{
    if (!r->out.limit)
        base_buf_init(&r->out, FORMATS_TEXT_MAX);
    base_buf_reset(&r->out);
    struct base_jw w;
    base_jw_init_buf(&w, &r->out, BASE_JSON_PYTHON, indent);
    /* jansson's reader swallows some NUL bytes and not others: the tree path decides */
    int rc = memchr(text, '\0', len) ? EM_TREE : reemit(r, &w, text, len, level, err);
    if (rc == EM_TREE) {
        json_t *v = base_json_parse(text, len, err);
        if (!v)
            return -1;
        base_buf_reset(&r->out);
        base_jw_init_buf(&w, &r->out, BASE_JSON_PYTHON, indent);
        base_jw_value(&w, v, level);
        json_decref(v);
        rc = 0;
    }
    return rc ? -1 : base_jw_end(&w, err);
}

/* ---- light parse into an arena ----------------------------------------------------------------
 * The item formats read a few fields of each task and copy the rest through. Parsing a task into
 * jansson values cost a malloc per value and a free per value (~half of an export); here values
 * go into an arena the caller resets once per task, strings without escapes point into the text,
 * and every value keeps its text span so nested values are written by the re-emitter. Grammar,
 * limits and errors are the re-emitter's (jansson's); objects follow jansson's semantics for a
 * repeated key (first position, last value). Text with NUL bytes is parsed by jansson, dumped and
 * parsed again (jansson decides what such text means). fuzz_formats_jv holds it equal to
 * base_json_parse's value. */

struct jp {
    struct em m;
    struct base_arena *arena;
    struct formats_jm *stack; /* members of the open containers, innermost last */
    size_t n, cap;
};

static int jp_value(struct jp *p, struct formats_jv *v);

static void jp_push(struct jp *p, const char *key, size_t klen, const struct formats_jv *v)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->stack = base_realloc(p->stack, p->cap * sizeof *p->stack);
    }
    p->stack[p->n++] = (struct formats_jm){.key = key, .klen = klen, .v = *v};
}

static int jp_key_eq(const struct formats_jm *a, const struct formats_jm *b)
{
    return a->klen == b->klen && !memcmp(a->key, b->key, a->klen);
}

/* Index of an earlier member with the same key (jansson: first position, last value). */
static size_t jp_find(const struct formats_jm *m, size_t kept, const struct formats_jm *x,
                      size_t *hash, size_t hcap)
{
    if (!hash) {
        for (size_t i = 0; i < kept; i++)
            if (jp_key_eq(&m[i], x))
                return i;
        return (size_t)-1;
    }
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < x->klen; i++)
        h = (h ^ (unsigned char)x->key[i]) * 16777619u;
    for (size_t s = h & (hcap - 1);; s = (s + 1) & (hcap - 1)) {
        if (hash[s] == (size_t)-1) {
            hash[s] = kept;
            return (size_t)-1;
        }
        if (jp_key_eq(&m[hash[s]], x))
            return hash[s];
    }
}

/* Moves the container's members (stack[from..]) into the arena, merging repeated keys. */
static void jp_close(struct jp *p, struct formats_jv *v, size_t from, int object)
{
    size_t n = p->n - from, kept = 0, hcap = 0, *hash = NULL;
    struct formats_jm *m = base_arena_alloc(p->arena, (n ? n : 1) * sizeof *m);
    if (object && n > 16) {
        for (hcap = 32; hcap < 2 * n; hcap *= 2)
            ;
        hash = base_arena_alloc(p->arena, hcap * sizeof *hash);
        memset(hash, 0xff, hcap * sizeof *hash);
    }
    for (size_t i = 0; i < n; i++) {
        const struct formats_jm *x = &p->stack[from + i];
        size_t at = object ? jp_find(m, kept, x, hash, hcap) : (size_t)-1;
        if (at == (size_t)-1)
            m[kept++] = *x;
        else
            m[at].v = x->v;
    }
    p->n = from;
    v->kids = m, v->n = kept;
}

static int jp_string(struct jp *p, const char **s, size_t *len)
{
    int raw, rc;
    p->m.t.p++;
    if ((rc = base_jtok_string(&p->m.t, s, len, &raw)))
        return rc;
    if (!raw) { /* decoded into the scratch buffer (may hold NUL bytes after a \u0000) */
        char *copy = base_arena_alloc(p->arena, *len + 1);
        memcpy(copy, *s, *len);
        *s = copy;
    }
    return 0;
}

static int jp_container(struct jp *p, struct formats_jv *v, int object)
{
    char close = object ? '}' : ']';
    size_t from = p->n;
    p->m.t.p++;
    base_jtok_ws(&p->m.t);
    if (p->m.t.p < p->m.t.end && *p->m.t.p == close) {
        p->m.t.p++;
        jp_close(p, v, from, object);
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        size_t klen = 0;
        struct formats_jv x;
        int rc;
        base_jtok_ws(&p->m.t);
        if (object) {
            if (p->m.t.p >= p->m.t.end || *p->m.t.p != '"')
                return em_fail(&p->m, "string or '}' expected");
            if ((rc = jp_string(p, &key, &klen)))
                return rc;
            base_jtok_ws(&p->m.t);
            if (p->m.t.p >= p->m.t.end || *p->m.t.p != ':')
                return em_fail(&p->m, "':' expected");
            p->m.t.p++;
        }
        if ((rc = jp_value(p, &x)))
            return rc;
        jp_push(p, key, klen, &x);
        base_jtok_ws(&p->m.t);
        if (p->m.t.p < p->m.t.end && *p->m.t.p == close)
            break;
        if (p->m.t.p >= p->m.t.end || *p->m.t.p != ',')
            return em_fail(&p->m, object ? "'}' or ',' expected" : "']' or ',' expected");
        p->m.t.p++;
    }
    p->m.t.p++;
    jp_close(p, v, from, object);
    return 0;
}

static int jp_literal(struct jp *p, struct formats_jv *v)
{
    static const int types[] = {FORMATS_JV_TRUE, FORMATS_JV_FALSE, FORMATS_JV_NULL};
    int i = base_jtok_literal(&p->m.t);
    if (i < 0)
        return EM_INVALID;
    v->type = types[i];
    return 0;
}

static int jp_scalar(struct jp *p, struct formats_jv *v, char c)
{
    if (c == '"') {
        v->type = FORMATS_JV_STRING;
        return jp_string(p, &v->s, &v->n);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int real;
        if (base_jtok_number(&p->m.t, &real, &v->i, &v->d))
            return EM_INVALID;
        v->type = real ? FORMATS_JV_REAL : FORMATS_JV_INT;
        return 0;
    }
    return jp_literal(p, v);
}

static int jp_value(struct jp *p, struct formats_jv *v)
{
    memset(v, 0, sizeof *v);
    base_jtok_ws(&p->m.t);
    if (p->m.t.p >= p->m.t.end)
        return em_fail(&p->m, "unexpected end of text");
    if (p->m.depth >= EM_MAX_DEPTH)
        return em_fail(&p->m, "maximum parsing depth reached");
    char c = *p->m.t.p;
    v->src = p->m.t.p;
    int rc;
    if (c == '{' || c == '[') {
        v->type = c == '{' ? FORMATS_JV_OBJECT : FORMATS_JV_ARRAY;
        p->m.depth++;
        rc = jp_container(p, v, c == '{');
        p->m.depth--;
    } else {
        rc = jp_scalar(p, v, c);
    }
    v->srclen = (size_t)(p->m.t.p - v->src);
    return rc;
}

static int jv_parse(struct formats_jv_parser *jp, const char *text, size_t len, int allow_nul,
                    struct formats_jv *out, struct base_err *err)
{
    struct jp p = {.m = {.t = {.p = text,
                               .end = text + len,
                               .tmp = jp->tmp,
                               .tmpcap = jp->tmpcap,
                               .allow_nul = allow_nul},
                         .text = text},
                   .arena = jp->arena,
                   .stack = jp->stack,
                   .cap = jp->cap};
    int rc = jp_value(&p, out);
    if (rc == 0) {
        base_jtok_ws(&p.m.t);
        if (p.m.t.p < p.m.t.end)
            rc = em_fail(&p.m, "end of text expected");
    }
    jp->tmp = p.m.t.tmp, jp->tmpcap = p.m.t.tmpcap, jp->stack = p.stack, jp->cap = p.cap;
    if (rc)
        return base_err_set(err, BASE_E_INVALID, "invalid JSON at byte %zu: %s",
                            (size_t)(p.m.t.p - text), p.m.t.why);
    return 0;
}

int formats_jv_parse(struct formats_jv_parser *jp, const char *text, size_t len,
                     struct formats_jv *out, struct base_err *err)
{
    if (!jp->arena)
        jp->arena = base_arena_new(1 << 16);
    if (!memchr(text, '\0', len))
        return jv_parse(jp, text, len, 0, out, err);
    json_t *v = base_json_parse(text, len, err);
    if (!v)
        return -1;
    size_t n;
    char *dump = base_json_dumps(v, BASE_JSON_COMPACT, &n);
    json_decref(v);
    char *copy = base_arena_alloc(jp->arena, n + 1); /* the values point into the text */
    memcpy(copy, dump, n + 1);
    base_free(dump);
    return jv_parse(jp, copy, n, 1, out, err);
}

void formats_jv_reset(struct formats_jv_parser *jp)
{
    if (jp->arena)
        base_arena_reset(jp->arena);
}

void formats_jv_parser_release(struct formats_jv_parser *jp)
{
    base_arena_free(jp->arena);
    base_free(jp->tmp);
    base_free(jp->stack);
    memset(jp, 0, sizeof *jp);
}

const struct formats_jv *formats_jv_get(const struct formats_jv *o, const char *key)
{
    if (!o || o->type != FORMATS_JV_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < o->n; i++)
        if (o->kids[i].klen == n && !memcmp(o->kids[i].key, key, n))
            return &o->kids[i].v;
    return NULL;
}

double formats_jv_num(const struct formats_jv *v)
{
    return !v                           ? 0.0
           : v->type == FORMATS_JV_INT  ? (double)v->i
           : v->type == FORMATS_JV_REAL ? v->d
                                        : 0.0;
}
