/* JSON helpers over jansson: parsing with error messages fit for an HTTP 400, the tree dump
 * (through the emitter of base_json_emit.c, so our API and exports match Label Studio's bytes)
 * and a walk over the elements of a huge array. */
#include "base_int.h"

#include <jansson.h>
#include <string.h>

json_t *base_json_parse(const char *text, size_t len, struct base_err *err)
{
    json_t *fast = base_json_parse_fast(text, len);
    if (fast)
        return fast;
    json_error_t je;
    json_t *v = json_loadb(text ? text : "", len, JSON_DECODE_ANY, &je);
    if (!v)
        base_err_set(err, BASE_E_INVALID, "JSON parse error - %s: line %d column %d", je.text,
                     je.line, je.column);
    return v;
}

int base_json_dump(const json_t *v, enum base_json_style style, struct base_buf *out,
                   struct base_err *err)
{
    struct base_jw w;
    base_jw_init_buf(&w, out, style, -1);
    base_jw_value(&w, v, 0);
    return base_jw_end(&w, err);
}

char *base_json_dumps(const json_t *v, enum base_json_style style, size_t *len)
{
    struct base_buf b;
    /* No cap: the value is in memory already and its text is of its size; running out of
     * memory aborts here as in every base_alloc. Callers that take outside input bound it before
     * it becomes a tree (request bodies, files); base_json_dump takes a bounded buffer. */
    base_buf_init(&b, SIZE_MAX);
    base_json_dump(v, style, &b, NULL);
    return base_buf_steal(&b, len);
}

/* ---- streaming the elements of an array ------------------------------------------------------ */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

int base_json_items_init(struct base_json_items *it, const char *text, size_t len)
{
    it->end = text + len;
    it->p = skip_ws(text, it->end);
    it->index = 0;
    it->state = 0;
    return it->p < it->end && *it->p == '[';
}

/* End of the value starting at p: a string, a nested container or a bare scalar. */
static const char *value_end(const char *p, const char *end)
{
    int depth = 0;
    for (; p < end; p++) {
        char c = *p;
        if (c == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            if (p >= end)
                return NULL;
            if (depth == 0)
                return p + 1;
        } else if (c == '[' || c == '{') {
            depth++;
        } else if (c == ']' || c == '}') {
            if (depth == 0)
                return p;
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            return p;
        }
    }
    return depth == 0 ? p : NULL;
}

int base_json_items_next(struct base_json_items *it, const char **item, size_t *len,
                         struct base_err *err)
{
    if (it->state == 2)
        return 0;
    const char *p = skip_ws(it->p, it->end);
    if (it->state == 0) {
        if (p >= it->end || *p != '[')
            return base_err_set(err, BASE_E_INVALID, "JSON parse error - expected a list");
        p = skip_ws(p + 1, it->end);
        it->state = 1;
    } else if (p < it->end && *p == ',') {
        p = skip_ws(p + 1, it->end);
        if (p < it->end && *p == ']')
            return base_err_set(err, BASE_E_INVALID,
                                "JSON parse error - trailing comma after element %zu", it->index);
    } else if (p < it->end && *p != ']') {
        return base_err_set(err, BASE_E_INVALID,
                            "JSON parse error - expected ',' or ']' after element %zu", it->index);
    }
    if (p < it->end && *p == ']') {
        if (skip_ws(p + 1, it->end) != it->end)
            return base_err_set(err, BASE_E_INVALID, "JSON parse error - text after the list");
        it->state = 2;
        it->p = p + 1;
        return 0;
    }
    const char *e = p < it->end ? value_end(p, it->end) : NULL;
    if (!e || e == p)
        return base_err_set(err, BASE_E_INVALID,
                            "JSON parse error - element %zu is malformed or the list is not closed",
                            it->index);
    *item = p;
    *len = (size_t)(e - p);
    it->p = e;
    it->index++;
    return 1;
}
