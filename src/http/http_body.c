/* Parsers of request parts that come from outside: multipart/form-data bodies (file uploads)
 * and Range headers (media). Both work on bytes already in memory and never trust lengths. */
#include "http.h"
#include "http_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Finds parameter `key` (case-insensitive) in a header value such as
 * `form-data; name="file"; filename="a.jpg"` and returns it unquoted in `a`, or NULL. */
static const char *header_param(struct base_arena *a, const char *v, size_t vlen, const char *key)
{
    size_t klen = strlen(key);
    const char *end = v + vlen, *p = memchr(v, ';', vlen);
    while (p && p < end) {
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        int match = (size_t)(end - p) > klen && !strncasecmp(p, key, klen) && p[klen] == '=';
        const char *q = p + (match ? klen + 1 : 0);
        if (match && q < end && *q == '"') {
            char *out = base_arena_alloc(a, (size_t)(end - q));
            size_t o = 0;
            for (q++; q < end && *q != '"'; q++) {
                if (*q == '\\' && q + 1 < end)
                    q++;
                out[o++] = *q;
            }
            out[o] = '\0';
            return q < end ? out : NULL;
        }
        size_t len = (size_t)(end - q);
        const char *semi = memchr(q, ';', len);
        if (match)
            return base_arena_strndup(a, q, semi ? (size_t)(semi - q) : len);
        p = semi;
    }
    return NULL;
}

static int parse_part_headers(struct base_arena *a, const char *h, size_t hlen,
                              struct http_part *part, struct base_err *err)
{
    part->name = "";
    const char *end = h + hlen;
    while (h < end) {
        const char *eol = memchr(h, '\n', (size_t)(end - h));
        size_t len = eol ? (size_t)(eol - h) : (size_t)(end - h);
        size_t line = len && h[len - 1] == '\r' ? len - 1 : len;
        const char *colon = memchr(h, ':', line);
        if (!colon)
            return base_err_set(err, BASE_E_INVALID, "multipart part header without ':'");
        size_t nlen = (size_t)(colon - h);
        const char *v = colon + 1;
        while (v < h + line && (*v == ' ' || *v == '\t'))
            v++;
        size_t vlen = (size_t)(h + line - v);
        if (nlen == 19 && !strncasecmp(h, "Content-Disposition", 19)) {
            const char *name = header_param(a, v, vlen, "name");
            part->name = name ? name : "";
            part->filename = header_param(a, v, vlen, "filename");
        } else if (nlen == 12 && !strncasecmp(h, "Content-Type", 12)) {
            part->content_type = base_arena_strndup(a, v, vlen);
        }
        h += len + (eol != NULL);
    }
    return 0;
}

static const char *boundary_of(struct base_arena *a, const char *content_type)
{
    if (!content_type || strncasecmp(content_type, "multipart/form-data", 19))
        return NULL;
    const char *b = header_param(a, content_type, strlen(content_type), "boundary");
    return b && *b && strlen(b) <= 200 ? b : NULL;
}

static const char *find(const char *hay, size_t n, const char *needle, size_t m)
{
    return m <= n ? memmem(hay, n, needle, m) : NULL;
}

int http_multipart_parse(const char *content_type, const char *body, size_t len,
                         struct base_arena *a, struct http_part **parts, size_t *nparts,
                         size_t max_parts, struct base_err *err)
{
    *parts = NULL;
    *nparts = 0;
    const char *b = boundary_of(a, content_type);
    if (!b)
        return base_err_set(err, BASE_E_INVALID, "multipart body without a boundary");
    /* Every delimiter but the first is preceded by CRLF; prefixing one makes them uniform. */
    char *delim = base_arena_printf(a, "\r\n--%s", b);
    size_t dlen = strlen(delim);
    const char *end = body + len, *p;
    /* Every delimiter but a leading one is preceded by CRLF; p points just after one. */
    if (len >= dlen - 2 && !memcmp(body, delim + 2, dlen - 2)) {
        p = body + dlen - 2;
    } else {
        const char *first = find(body, len, delim, dlen);
        if (!first)
            return base_err_set(err, BASE_E_INVALID, "multipart body has no boundary delimiter");
        p = first + dlen;
    }
    struct http_part *out = base_arena_calloc(a, max_parts ? max_parts : 1, sizeof *out);
    size_t n = 0;
    while (!(end - p >= 2 && p[0] == '-' && p[1] == '-')) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return base_err_set(err, BASE_E_INVALID, "malformed multipart delimiter line");
        p += 2;
        const char *hstart = p, *data;
        size_t hlen = 0;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            data = p + 2; /* a part without headers */
        } else {
            const char *hend = find(p, (size_t)(end - p), "\r\n\r\n", 4);
            if (!hend)
                return base_err_set(err, BASE_E_INVALID, "multipart part headers not terminated");
            hlen = (size_t)(hend - p);
            data = hend + 4;
        }
        const char *next = find(data, (size_t)(end - data), delim, dlen);
        if (!next)
            return base_err_set(err, BASE_E_INVALID, "multipart body not terminated");
        if (n == max_parts)
            return base_err_set(err, BASE_E_TOOBIG, "more than %zu multipart parts", max_parts);
        if (parse_part_headers(a, hstart, hlen, &out[n], err))
            return -1;
        out[n].data = data;
        out[n].len = (size_t)(next - data);
        n++;
        p = next + dlen;
    }
    *parts = out;
    *nparts = n;
    return 0;
}

/* ---- Range ----------------------------------------------------------------------------------- */

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int http_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *len)
{
    if (!header || strncmp(header, "bytes=", 6))
        return 0;
    const char *spec = header + 6;
    while (*spec == ' ')
        spec++;
    size_t n = strcspn(spec, " ");
    if (spec[n + strspn(spec + n, " ")] || memchr(spec, ',', n))
        return 0;
    const char *dash = memchr(spec, '-', n);
    if (!dash)
        return 0;
    size_t alen = (size_t)(dash - spec), blen = n - alen - 1;
    uint64_t a = 0, b = 0;
    if ((alen && parse_u64(spec, alen, &a)) || (blen && parse_u64(dash + 1, blen, &b)) ||
        (!alen && !blen))
        return 0;
    if (!alen) { /* suffix: the last b bytes */
        if (b == 0 || size == 0)
            return -1;
        *len = b < size ? b : size;
        *start = size - *len;
        return 1;
    }
    if (blen && b < a)
        return 0;
    if (a >= size)
        return -1;
    uint64_t last = blen && b < size - 1 ? b : size - 1;
    *start = a;
    *len = last - a + 1;
    return 1;
}
