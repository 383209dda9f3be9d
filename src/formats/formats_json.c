/* JSON text exactly as Python's json module writes it (ensure_ascii=False, ", "/": " separators,
 * optional indent, floats in repr form), so exported files compare byte for byte with Label
 * Studio's. jansson's own dump differs in float formatting and separators. */
#include "formats_int.h"

#include <stdlib.h>
#include <string.h>

/* Output goes through a buffer on the stack, flushed to the FILE in large pieces: one fwrite per
 * few kilobytes instead of one stdio call per token. */
struct jw {
    FILE *f;
    size_t n;
    char buf[16384];
};

static void jw_flush(struct jw *w)
{
    if (w->n)
        fwrite_unlocked(w->buf, 1, w->n, w->f);
    w->n = 0;
}

static void jw_put(struct jw *w, const char *s, size_t n)
{
    if (n > sizeof w->buf - w->n) {
        jw_flush(w);
        if (n > sizeof w->buf) {
            fwrite_unlocked(s, 1, n, w->f);
            return;
        }
    }
    memcpy(w->buf + w->n, s, n);
    w->n += n;
}

static void jw_char(struct jw *w, char c)
{
    if (w->n == sizeof w->buf)
        jw_flush(w);
    w->buf[w->n++] = c;
}

/* The letter of a two-character escape (\n), 0 for the \u00XX ones. */
static const char short_escape[256] = {['"'] = '"',  ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r',
                                       ['\t'] = 't', ['\b'] = 'b',  ['\f'] = 'f'};

static void jw_string(struct jw *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    jw_char(w, '"');
    const char *run = s;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') /* what Python escapes (ensure_ascii=False) */
            continue;
        jw_put(w, run, (size_t)(s + i - run));
        run = s + i + 1;
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (short_escape[c]) {
            u[1] = short_escape[c];
            jw_put(w, u, 2);
        } else {
            jw_put(w, u, 6);
        }
    }
    jw_put(w, run, (size_t)(s + len - run));
    jw_char(w, '"');
}

void formats_json_write_string(FILE *f, const char *s, size_t len)
{
    struct jw w = {.f = f};
    jw_string(&w, s, len);
    jw_flush(&w);
}

static void jw_value(struct jw *w, const json_t *v, int indent, int level);

static void newline(struct jw *w, int indent, int level)
{
    jw_char(w, '\n');
    for (int i = 0; i < indent * level; i++)
        jw_char(w, ' ');
}

static void write_array(struct jw *w, const json_t *v, int indent, int level)
{
    size_t n = json_array_size(v);
    if (!n) {
        jw_put(w, "[]", 2);
        return;
    }
    jw_char(w, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            jw_put(w, ", ", indent < 0 ? 2 : 1);
        if (indent >= 0)
            newline(w, indent, level + 1);
        jw_value(w, json_array_get(v, i), indent, level + 1);
    }
    if (indent >= 0)
        newline(w, indent, level);
    jw_char(w, ']');
}

static void write_object(struct jw *w, const json_t *v, int indent, int level)
{
    if (!json_object_size(v)) {
        jw_put(w, "{}", 2);
        return;
    }
    jw_char(w, '{');
    const char *key;
    json_t *val;
    int first = 1;
    json_object_foreach((json_t *)v, key, val)
    {
        if (!first)
            jw_put(w, ", ", indent < 0 ? 2 : 1);
        first = 0;
        if (indent >= 0)
            newline(w, indent, level + 1);
        jw_string(w, key, strlen(key));
        jw_put(w, ": ", 2);
        jw_value(w, val, indent, level + 1);
    }
    if (indent >= 0)
        newline(w, indent, level);
    jw_char(w, '}');
}

static void jw_integer(struct jw *w, json_int_t v)
{
    char rev[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    do
        rev[n++] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        rev[n++] = '-';
    while (n)
        jw_char(w, rev[--n]);
}

static void jw_value(struct jw *w, const json_t *v, int indent, int level)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        write_object(w, v, indent, level);
        break;
    case JSON_ARRAY:
        write_array(w, v, indent, level);
        break;
    case JSON_STRING:
        jw_string(w, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        jw_integer(w, json_integer_value(v));
        break;
    case JSON_REAL:
        jw_put(w, num, (size_t)base_fmt_double(json_real_value(v), num));
        break;
    case JSON_TRUE:
        jw_put(w, "true", 4);
        break;
    case JSON_FALSE:
        jw_put(w, "false", 5);
        break;
    case JSON_NULL:
        jw_put(w, "null", 4);
        break;
    }
}

int formats_json_write(FILE *f, const json_t *v, int indent, int level)
{
    struct jw w = {.f = f};
    jw_value(&w, v, indent, level);
    jw_flush(&w);
    return ferror(f) ? -1 : 0;
}

int formats_json_buf(struct base_buf *b, const json_t *v, int indent, struct base_err *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return base_err_set(err, BASE_E_NOMEM, "cannot open memory stream");
    formats_json_write(f, v, indent, 0);
    fclose(f);
    int rc = base_buf_append(b, text, len, err);
    free(text);
    return rc;
}

double formats_json_num(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : 0.0;
}
