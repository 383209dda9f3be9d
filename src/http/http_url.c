/* Request targets and routes: percent-decoding of the path and the query string (our own, so
 * that it can be fuzzed and so that "%00" or a malformed escape is a clean 400), and matching
 * of route patterns such as "/api/projects/{id}/import". */
#include "http.h"
#include "http_int.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) into a new arena string; '+' becomes ' ' when plus_is_space. Refuses bad
 * escapes and NUL bytes. */
static char *decode(struct base_arena *a, const char *s, size_t n, int plus_is_space,
                    struct base_err *err)
{
    char *out = base_arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                base_err_set(err, BASE_E_INVALID, "malformed percent-escape in URL");
                return NULL;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0') {
            base_err_set(err, BASE_E_INVALID, "URL contains a NUL byte");
            return NULL;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

static int parse_query(const char *q, struct base_arena *a, struct http_query_pair **pairs,
                       size_t *npairs, size_t max_pairs, struct base_err *err)
{
    size_t count = 0;
    for (const char *p = q; *p; p++)
        count += *p == '&';
    count++;
    if (count > max_pairs)
        return base_err_set(err, BASE_E_INVALID, "too many query parameters (limit %zu)",
                            max_pairs);
    struct http_query_pair *out = base_arena_calloc(a, count, sizeof *out);
    size_t n = 0;
    while (*q) {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t nlen = eq ? (size_t)(eq - q) : len;
        if (len) {
            out[n].name = decode(a, q, nlen, 1, err);
            out[n].value = eq ? decode(a, eq + 1, len - nlen - 1, 1, err) : "";
            if (!out[n].name || !out[n].value)
                return -1;
            n++;
        }
        q += len + (q[len] == '&');
    }
    *pairs = out;
    *npairs = n;
    return 0;
}

int http_url_parse(const char *target, struct base_arena *a, char **path,
                   struct http_query_pair **pairs, size_t *npairs, size_t max_pairs,
                   struct base_err *err)
{
    *pairs = NULL;
    *npairs = 0;
    if (!target || target[0] != '/')
        return base_err_set(err, BASE_E_INVALID, "request target must start with '/'");
    size_t plen = strcspn(target, "?#");
    *path = decode(a, target, plen, 0, err);
    if (!*path)
        return -1;
    if (target[plen] != '?')
        return 0;
    const char *q = target + plen + 1;
    char *query = base_arena_strndup(a, q, strcspn(q, "#"));
    return parse_query(query, a, pairs, npairs, max_pairs, err);
}

/* ---- routes ---------------------------------------------------------------------------------- */

static int parse_id(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 19 || s[0] < '1' || s[0] > '9')
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int http_route_match(const char *pattern, const char *path, struct http_route_match *m)
{
    memset(m, 0, sizeof *m);
    size_t plen = strlen(path);
    if (plen > 1 && path[plen - 1] == '/')
        plen--;
    const char *p = pattern, *s = path, *end = path + plen;
    while (*p) {
        if (*p != '/' || s >= end || *s != '/')
            return 0;
        p++, s++;
        size_t pseg = strcspn(p, "/");
        const char *slash = memchr(s, '/', (size_t)(end - s));
        size_t sseg = slash ? (size_t)(slash - s) : (size_t)(end - s);
        if (pseg == 3 && !memcmp(p, "{*}", 3)) {
            if (p[3] || s >= end || sseg == 0)
                return 0;
            m->tail = s;
            return 1;
        }
        if (p[0] == '{' && pseg > 1 && p[pseg - 1] == '}') {
            if (m->nids == HTTP_ROUTE_MAX_IDS || parse_id(s, sseg, &m->ids[m->nids]))
                return 0;
            m->nids++;
        } else if (pseg != sseg || memcmp(p, s, pseg)) {
            return 0;
        }
        p += pseg;
        s += sseg;
    }
    return s == end || (pattern[0] == '/' && pattern[1] == '\0' && plen == 1);
}

/* ---- cookies --------------------------------------------------------------------------------- */

const char *http_cookie_get(struct base_arena *a, const char *header, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t len = strcspn(p, ";");
        if (len > nlen && !memcmp(p, name, nlen) && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vlen = len - nlen - 1;
            while (vlen && v[vlen - 1] == ' ')
                vlen--;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
                v++, vlen -= 2;
            return base_arena_strndup(a, v, vlen);
        }
        p += len;
    }
    return NULL;
}
