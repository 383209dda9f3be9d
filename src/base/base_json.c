/* JSON helpers over jansson: parsing with error messages fit for an HTTP 400, and a serializer
 * that writes floats the way Python does, so our API and exports match Label Studio's bytes. */
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

static int put(struct base_buf *out, const char *s, size_t n, struct base_err *err)
{
    return base_buf_append(out, s, n, err);
}

/* Python's json escapes '"', '\\' and control characters; everything else stays raw UTF-8
 * (ensure_ascii=False, as Django REST framework renders). */
static int dump_string(const char *s, size_t n, struct base_buf *out, struct base_err *err)
{
    static const char hex[] = "0123456789abcdef";
    if (put(out, "\"", 1, err))
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (put(out, s + run, i - run, err))
            return -1;
        char esc[8] = {'\\', 0};
        size_t elen = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        if (put(out, esc, elen, err))
            return -1;
        run = i + 1;
    }
    if (put(out, s + run, n - run, err))
        return -1;
    return put(out, "\"", 1, err);
}

static int dump_value(const json_t *v, enum base_json_style style, struct base_buf *out,
                      struct base_err *err);

static int dump_object(const json_t *v, enum base_json_style style, struct base_buf *out,
                       struct base_err *err)
{
    const char *sep = style == BASE_JSON_PYTHON ? ", " : ",";
    const char *colon = style == BASE_JSON_PYTHON ? ": " : ":";
    if (put(out, "{", 1, err))
        return -1;
    int first = 1;
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
        if ((!first && base_buf_puts(out, sep, err)) || dump_string(key, strlen(key), out, err) ||
            base_buf_puts(out, colon, err) ||
            dump_value(json_object_iter_value(it), style, out, err))
            return -1;
        first = 0;
    }
    return put(out, "}", 1, err);
}

static int dump_array(const json_t *v, enum base_json_style style, struct base_buf *out,
                      struct base_err *err)
{
    const char *sep = style == BASE_JSON_PYTHON ? ", " : ",";
    if (put(out, "[", 1, err))
        return -1;
    for (size_t i = 0; i < json_array_size(v); i++)
        if ((i && base_buf_puts(out, sep, err)) ||
            dump_value(json_array_get(v, i), style, out, err))
            return -1;
    return put(out, "]", 1, err);
}

static int dump_value(const json_t *v, enum base_json_style style, struct base_buf *out,
                      struct base_err *err)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return dump_object(v, style, out, err);
    case JSON_ARRAY:
        return dump_array(v, style, out, err);
    case JSON_STRING:
        return dump_string(json_string_value(v), json_string_length(v), out, err);
    case JSON_INTEGER:
        return base_buf_printf(out, err, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        return put(out, num, (size_t)base_fmt_double(json_real_value(v), num), err);
    case JSON_TRUE:
        return put(out, "true", 4, err);
    case JSON_FALSE:
        return put(out, "false", 5, err);
    case JSON_NULL:
        return put(out, "null", 4, err);
    }
    return base_err_set(err, BASE_E_INTERNAL, "unknown JSON type");
}

int base_json_dump(const json_t *v, enum base_json_style style, struct base_buf *out,
                   struct base_err *err)
{
    if (!v)
        return put(out, "null", 4, err);
    return dump_value(v, style, out, err);
}

char *base_json_dumps(const json_t *v, enum base_json_style style, size_t *len)
{
    struct base_buf b;
    base_buf_init(&b, SIZE_MAX / 2);
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
