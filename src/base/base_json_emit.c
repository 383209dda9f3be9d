/* The one JSON emitter (base_jw, see base.h): every writer of JSON text in labelloop, the tree
 * dump, the exporters and the API's export shape, shares its escaper, number forms and layout, so
 * they cannot drift apart and Label Studio's bytes (Python's json.dumps) come out everywhere. */
#include "base_int.h"

#include <string.h>

static void jw_init(struct base_jw *w, enum base_json_style style, int indent)
{
    w->f = NULL;
    w->indent = indent;
    w->compact = style == BASE_JSON_COMPACT;
    w->failed = 0;
    w->err.status = BASE_OK;
    w->err.msg[0] = '\0';
}

void base_jw_init_buf(struct base_jw *w, struct base_buf *b, enum base_json_style style, int indent)
{
    jw_init(w, style, indent);
    w->b = b;
}

void base_jw_init_file(struct base_jw *w, FILE *f, enum base_json_style style, int indent)
{
    jw_init(w, style, indent);
    w->f = f;
    w->win = (struct base_buf){
        .data = w->stack, .len = 0, .cap = sizeof w->stack, .limit = sizeof w->stack - 1};
    w->stack[0] = '\0';
    w->b = &w->win;
}

static void jw_fail(struct base_jw *w, enum base_status status, const char *what)
{
    if (!w->failed)
        base_err_set(&w->err, status, "%s", what);
    w->failed = 1;
}

static void jw_flush(struct base_jw *w)
{
    if (w->win.len && fwrite_unlocked(w->win.data, 1, w->win.len, w->f) != w->win.len)
        jw_fail(w, BASE_E_IO, "cannot write the JSON file");
    w->win.len = 0;
}

void base_jw_put_slow(struct base_jw *w, const char *s, size_t n)
{
    if (w->failed || !n)
        return;
    if (!w->f) {
        if (base_buf_append(w->b, s, n, &w->err))
            w->failed = 1;
        return;
    }
    jw_flush(w);
    if (n < w->win.cap) {
        memcpy(w->win.data, s, n);
        w->win.len = n;
    } else if (fwrite_unlocked(s, 1, n, w->f) != n) {
        jw_fail(w, BASE_E_IO, "cannot write the JSON file");
    }
}

int base_jw_end(struct base_jw *w, struct base_err *err)
{
    if (w->f) {
        jw_flush(w);
        if (ferror(w->f))
            jw_fail(w, BASE_E_IO, "cannot write the JSON file");
    }
    if (!w->failed)
        return 0;
    if (err)
        *err = w->err;
    return -1;
}

/* The letter of a two-character escape (\n), 0 for the \u00XX ones; Python's set. */
static const char short_escape[256] = {['"'] = '"',  ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r',
                                       ['\t'] = 't', ['\b'] = 'b',  ['\f'] = 'f'};

void base_jw_string(struct base_jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    BASE_JW_LIT(w, "\"");
    const char *run = s;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') /* what Python escapes (ensure_ascii=False) */
            continue;
        base_jw_put(w, run, (size_t)(s + i - run));
        run = s + i + 1;
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (short_escape[c])
            u[1] = short_escape[c];
        base_jw_put(w, u, short_escape[c] ? 2 : 6);
    }
    base_jw_put(w, run, (size_t)(s + n - run));
    BASE_JW_LIT(w, "\"");
}

void base_jw_int(struct base_jw *w, int64_t v)
{
    char num[24];
    base_jw_put(w, num, (size_t)base_fmt_int(v, num));
}

void base_jw_real(struct base_jw *w, double v)
{
    char num[32];
    base_jw_put(w, num, (size_t)base_fmt_double(v, num));
}

/* ",\n" and the indent of a level, as one piece when it is short (it is, but for deep nesting):
 * these are most of what an indented export writes besides its values. */
static const char sep_nl[] = ",\n                                                                "
                             "                ";

static void jw_indent(struct base_jw *w, int level, int comma)
{
    size_t n = (size_t)w->indent * (size_t)level;
    if (n <= sizeof sep_nl - 3) {
        base_jw_put(w, sep_nl + !comma, n + 1 + (size_t)comma);
        return;
    }
    base_jw_put(w, sep_nl + !comma, 1 + (size_t)comma);
    for (; n; n -= n < sizeof sep_nl - 3 ? n : sizeof sep_nl - 3)
        base_jw_put(w, sep_nl + 2, n < sizeof sep_nl - 3 ? n : sizeof sep_nl - 3);
}

void base_jw_newline(struct base_jw *w, int level)
{
    if (w->indent >= 0)
        jw_indent(w, level, 0);
}

void base_jw_sep(struct base_jw *w, size_t i, int level)
{
    if (w->indent >= 0)
        jw_indent(w, level + 1, i != 0);
    else if (i)
        base_jw_put(w, ", ", w->compact ? 1 : 2);
}

void base_jw_key(struct base_jw *w, const char *key, size_t n)
{
    base_jw_string(w, key, n);
    base_jw_put(w, ": ", w->compact ? 1 : 2);
}

void base_jw_close(struct base_jw *w, char bracket, int level)
{
    base_jw_newline(w, level);
    base_jw_put(w, &bracket, 1);
}

static void jw_array(struct base_jw *w, const json_t *v, int level)
{
    size_t n = json_array_size(v);
    if (!n) {
        BASE_JW_LIT(w, "[]");
        return;
    }
    BASE_JW_LIT(w, "[");
    for (size_t i = 0; i < n; i++) {
        base_jw_sep(w, i, level);
        base_jw_value(w, json_array_get(v, i), level + 1);
    }
    base_jw_close(w, ']', level);
}

static void jw_object(struct base_jw *w, const json_t *v, int level)
{
    if (!json_object_size(v)) {
        BASE_JW_LIT(w, "{}");
        return;
    }
    BASE_JW_LIT(w, "{");
    size_t i = 0;
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
        base_jw_sep(w, i++, level);
        base_jw_key(w, key, strlen(key));
        base_jw_value(w, json_object_iter_value(it), level + 1);
    }
    base_jw_close(w, '}', level);
}

void base_jw_value(struct base_jw *w, const json_t *v, int level)
{
    if (!v) {
        BASE_JW_LIT(w, "null");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        jw_object(w, v, level);
        break;
    case JSON_ARRAY:
        jw_array(w, v, level);
        break;
    case JSON_STRING:
        base_jw_string(w, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        base_jw_int(w, json_integer_value(v));
        break;
    case JSON_REAL:
        base_jw_real(w, json_real_value(v));
        break;
    case JSON_TRUE:
        BASE_JW_LIT(w, "true");
        break;
    case JSON_FALSE:
        BASE_JW_LIT(w, "false");
        break;
    case JSON_NULL:
        BASE_JW_LIT(w, "null");
        break;
    }
}
