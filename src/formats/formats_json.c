/* JSON text exactly as Python's json module writes it (ensure_ascii=False, ", "/": " separators,
 * optional indent, floats in repr form), so exported files compare byte for byte with Label
 * Studio's. jansson's own dump differs in float formatting and separators. */
#include "formats_int.h"

#include <stdlib.h>
#include <string.h>

void formats_json_write_string(FILE *f, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    putc_unlocked('"', f);
    const char *run = s;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            snprintf(u, sizeof u, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            esc = u;
        }
        if (!esc)
            continue;
        fwrite_unlocked(run, 1, (size_t)(s + i - run), f);
        fputs_unlocked(esc, f);
        run = s + i + 1;
    }
    fwrite_unlocked(run, 1, (size_t)(s + len - run), f);
    putc_unlocked('"', f);
}

static void newline(FILE *f, int indent, int level)
{
    putc_unlocked('\n', f);
    for (int i = 0; i < indent * level; i++)
        putc_unlocked(' ', f);
}

static void write_array(FILE *f, const json_t *v, int indent, int level)
{
    size_t n = json_array_size(v);
    if (!n) {
        fputs_unlocked("[]", f);
        return;
    }
    putc_unlocked('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs_unlocked(indent < 0 ? ", " : ",", f);
        if (indent >= 0)
            newline(f, indent, level + 1);
        formats_json_write(f, json_array_get(v, i), indent, level + 1);
    }
    if (indent >= 0)
        newline(f, indent, level);
    putc_unlocked(']', f);
}

static void write_object(FILE *f, const json_t *v, int indent, int level)
{
    if (!json_object_size(v)) {
        fputs_unlocked("{}", f);
        return;
    }
    putc_unlocked('{', f);
    const char *key;
    json_t *val;
    int first = 1;
    json_object_foreach((json_t *)v, key, val)
    {
        if (!first)
            fputs_unlocked(indent < 0 ? ", " : ",", f);
        first = 0;
        if (indent >= 0)
            newline(f, indent, level + 1);
        formats_json_write_string(f, key, strlen(key));
        fputs_unlocked(": ", f);
        formats_json_write(f, val, indent, level + 1);
    }
    if (indent >= 0)
        newline(f, indent, level);
    putc_unlocked('}', f);
}

int formats_json_write(FILE *f, const json_t *v, int indent, int level)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        write_object(f, v, indent, level);
        break;
    case JSON_ARRAY:
        write_array(f, v, indent, level);
        break;
    case JSON_STRING:
        formats_json_write_string(f, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        base_fmt_double(json_real_value(v), num);
        fputs_unlocked(num, f);
        break;
    case JSON_TRUE:
        fputs_unlocked("true", f);
        break;
    case JSON_FALSE:
        fputs_unlocked("false", f);
        break;
    case JSON_NULL:
        fputs_unlocked("null", f);
        break;
    }
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
