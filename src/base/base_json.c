/* JSON helpers over jansson: parsing with error messages fit for an HTTP 400, and a serializer
 * that writes floats the way Python does, so our API and exports match Label Studio's bytes. */
#include "base.h"

#include <jansson.h>
#include <string.h>

json_t *base_json_parse(const char *text, size_t len, struct base_err *err)
{
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
