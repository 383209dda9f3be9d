/* Task files Label Studio imports besides JSON (spec 2.4): CSV and TSV with a header row naming
 * the data keys and one task per row (quoted fields with "" escapes and line breaks, CRLF or LF,
 * a UTF-8 byte order mark), and TXT with one task per non-empty line. Cells are typed per column
 * as pandas reads them: a column of integers holds numbers, of decimals reals, of True/False
 * booleans, anything else text; an empty cell is "". */
#include "formats_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSV_MAX_COLUMNS 1000
#define CSV_MAX_ROWS    1000000

struct csv {
    const char *p, *end;
    char sep;
    size_t line; /* 1-based, for messages */
    struct base_buf cell;
};

/* Reads one field into c->cell; *last = 1 when it ended its record (or the input). */
static int field(struct csv *c, int *last, struct base_err *err)
{
    base_buf_reset(&c->cell);
    base_buf_append(&c->cell, "", 0, NULL);
    int quoted = c->p < c->end && *c->p == '"';
    c->p += quoted;
    while (c->p < c->end) {
        char ch = *c->p;
        if (quoted && ch == '"') {
            if (c->p + 1 < c->end && c->p[1] == '"') {
                base_buf_append(&c->cell, "\"", 1, NULL);
                c->p += 2;
                continue;
            }
            quoted = 0;
            c->p++;
            continue;
        }
        if (!quoted && (ch == c->sep || ch == '\n' || ch == '\r'))
            break;
        if (ch == '\n')
            c->line++;
        if (base_buf_append(&c->cell, c->p, 1, err))
            return -1;
        c->p++;
    }
    if (quoted)
        return base_err_set(err, BASE_E_INVALID, "line %zu: a quoted field is not closed", c->line);
    *last = c->p >= c->end || *c->p != c->sep;
    if (c->p < c->end && *c->p == c->sep) {
        c->p++;
    } else if (c->p < c->end) { /* \r\n, \n or \r */
        c->p += *c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n' ? 2 : 1;
        c->line++;
    }
    return 0;
}

/* One record as an array of strings; *row = NULL at the end of the input. Blank lines are
 * skipped, as pandas does. */
static int record(struct csv *c, json_t **row, struct base_err *err)
{
    *row = NULL;
    while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) {
        c->line += *c->p == '\n';
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    json_t *r = json_array();
    int last = 0;
    while (!last) {
        if (json_array_size(r) == CSV_MAX_COLUMNS) {
            json_decref(r);
            return base_err_set(err, BASE_E_INVALID, "line %zu: more than %d columns", c->line,
                                CSV_MAX_COLUMNS);
        }
        if (field(c, &last, err)) {
            json_decref(r);
            return -1;
        }
        json_t *cell = json_stringn(c->cell.data, c->cell.len);
        if (!cell) {
            json_decref(r);
            return base_err_set(err, BASE_E_INVALID, "line %zu: not UTF-8 text", c->line);
        }
        json_array_append_new(r, cell);
    }
    *row = r;
    return 0;
}

enum cell_type { CELL_INT = 1, CELL_REAL = 2, CELL_BOOL = 4, CELL_TEXT = 8 };

static unsigned cell_type(const char *s)
{
    char *end;
    if (!*s)
        return 0; /* empty: any type */
    if (!strcasecmp(s, "true") || !strcasecmp(s, "false"))
        return CELL_BOOL;
    errno = 0;
    (void)strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0 && strspn(s, "+-0123456789") == strlen(s))
        return CELL_INT;
    (void)strtod(s, &end);
    if (*end == '\0' && strspn(s, "+-0123456789.eE") == strlen(s))
        return CELL_REAL;
    return CELL_TEXT;
}

static json_t *typed(const char *s, unsigned type)
{
    if (!*s)
        return json_string("");
    if (type == CELL_INT)
        return json_integer(strtoll(s, NULL, 10));
    if (type == CELL_REAL || type == (CELL_INT | CELL_REAL))
        return json_real(strtod(s, NULL));
    if (type == CELL_BOOL)
        return json_boolean(!strcasecmp(s, "true"));
    return json_string(s);
}

/* The header's names, checked: not empty, each once. */
static int header_names(const json_t *header, struct base_err *err)
{
    for (size_t i = 0; i < json_array_size(header); i++) {
        const char *name = json_string_value(json_array_get(header, i));
        if (!*name)
            return base_err_set(err, BASE_E_INVALID, "header: column %zu has no name", i + 1);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(name, json_string_value(json_array_get(header, k))))
                return base_err_set(err, BASE_E_INVALID, "header: column \"%s\" appears twice",
                                    name);
    }
    return 0;
}

/* Rows to task data objects, each column typed by what all its cells hold. */
static json_t *to_tasks(const json_t *header, const json_t *rows)
{
    size_t ncol = json_array_size(header), i;
    unsigned *types = base_calloc(ncol + 1, sizeof *types);
    const json_t *row;
    json_array_foreach(rows, i, row) for (size_t k = 0; k < json_array_size(row); k++) types[k] |=
        cell_type(json_string_value(json_array_get(row, k)));
    for (size_t k = 0; k < ncol; k++)
        if ((types[k] & CELL_TEXT) || ((types[k] & CELL_BOOL) && types[k] != CELL_BOOL))
            types[k] = CELL_TEXT;
    json_t *tasks = json_array();
    json_array_foreach(rows, i, row)
    {
        json_t *data = json_object();
        for (size_t k = 0; k < ncol; k++) {
            const json_t *cell = json_array_get(row, k);
            json_object_set_new(data, json_string_value(json_array_get(header, k)),
                                typed(cell ? json_string_value(cell) : "", types[k]));
        }
        json_array_append_new(tasks, json_pack("{so}", "data", data));
    }
    base_free(types);
    return tasks;
}

int formats_csv_tasks(const char *text, size_t len, char sep, json_t **tasks, struct base_err *err)
{
    struct csv c = {text, text + len, sep, 1, {0}};
    json_t *header = NULL, *rows = json_array(), *row = NULL;
    int rc = -1;
    *tasks = NULL;
    base_buf_init(&c.cell, len + 1);
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
        c.p += 3;
    if (record(&c, &header, err))
        goto out;
    if (!header) {
        base_err_set(err, BASE_E_INVALID, "the file is empty: a header row is expected");
        goto out;
    }
    if (header_names(header, err))
        goto out;
    for (;;) {
        size_t at = c.line;
        if (record(&c, &row, err))
            goto out;
        if (!row)
            break;
        if (json_array_size(row) > json_array_size(header)) {
            base_err_set(err, BASE_E_INVALID, "line %zu: %zu fields, the header has %zu", at,
                         json_array_size(row), json_array_size(header));
            json_decref(row);
            goto out;
        }
        if (json_array_size(rows) == CSV_MAX_ROWS) {
            base_err_set(err, BASE_E_INVALID, "more than %d rows", CSV_MAX_ROWS);
            json_decref(row);
            goto out;
        }
        json_array_append_new(rows, row);
    }
    *tasks = to_tasks(header, rows);
    rc = 0;
out:
    base_buf_release(&c.cell);
    json_decref(header);
    json_decref(rows);
    return rc;
}

int formats_txt_tasks(const char *text, size_t len, json_t **tasks, struct base_err *err)
{
    const char *p = text, *end = text + len;
    *tasks = json_array();
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
        p += 3;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end, *a = p, *b = stop;
        while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
            b--;
        if (b > a && json_array_size(*tasks) == CSV_MAX_ROWS) {
            json_decref(*tasks);
            *tasks = NULL;
            return base_err_set(err, BASE_E_INVALID, "more than %d lines", CSV_MAX_ROWS);
        }
        json_t *line = b > a ? json_stringn(a, (size_t)(b - a)) : NULL;
        if (b > a && !line) {
            json_decref(*tasks);
            *tasks = NULL;
            return base_err_set(err, BASE_E_INVALID, "a line is not UTF-8 text");
        }
        if (line)
            json_array_append_new(*tasks, json_pack("{s{so}}", "data", "$undefined$", line));
        p = stop + (nl != NULL);
    }
    return 0;
}
