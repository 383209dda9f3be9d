/* JSON, JSON_MIN, CSV and TSV exports (spec 5.3-5.5). JSON is the task list itself; JSON_MIN and
 * CSV/TSV are flat records per item. CSV needs the union of all columns for its header, so rows
 * are spooled to a temporary file as (column, cell) pairs and written out at commit. */
#include "formats_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- JSON --------------------------------------------------------------------------------------
 */

static int json_open(struct formats_export *e, struct base_err *err)
{
    (void)err;
    fputc('[', e->f);
    return 0;
}

/* The task's text (compact or any other spacing) re-emitted in Python's form without being
 * parsed into values: see formats_json_reemit. */
static int json_task(struct formats_export *e, const char *text, size_t len, struct base_err *err)
{
    if (formats_json_reemit(&e->reemit, text, len, -1, 0, err))
        return -1;
    if (e->nitems++)
        fputs(", ", e->f);
    fwrite_unlocked(e->reemit.out, 1, e->reemit.len, e->f);
    if (ferror(e->f))
        return base_err_set(err, BASE_E_IO, "%s: write failed", e->dest);
    return 0;
}

static int json_commit(struct formats_export *e, struct base_err *err)
{
    fputc(']', e->f);
    return ferror(e->f) ? base_err_set(err, BASE_E_IO, "%s: write failed", e->dest) : 0;
}

const struct formats_writer formats_writer_json = {
    .open = json_open, .task = json_task, .commit = json_commit};

/* ---- records shared by JSON_MIN and CSV ----------------------------------------------------- */

/* _prettify: Choices/TextArea with one value become that string. */
static json_t *prettify(const json_t *list)
{
    json_t *out = json_array(), *v;
    const char *type = NULL;
    size_t i;
    json_array_foreach(list, i, v)
    {
        json_t *j = json_copy(v);
        type = json_string_value(json_object_get(v, "type"));
        json_object_del(j, "type");
        json_t *choices = json_object_get(j, "choices"), *text = json_object_get(j, "text");
        if (type && !strcmp(type, "Choices") && json_array_size(choices) == 1)
            json_array_append(out, json_array_get(choices, 0));
        else if (type && !strcmp(type, "TextArea") && json_array_size(text) == 1)
            json_array_append(out, json_array_get(text, 0));
        else
            json_array_append(out, j);
        json_decref(j);
    }
    int single = type && (!strcmp(type, "Choices") || !strcmp(type, "TextArea"));
    if (single && json_array_size(out) == 1) {
        json_t *one = json_incref(json_array_get(out, 0));
        json_decref(out);
        return one;
    }
    return out;
}

static json_t *annotator(const json_t *ann, int as_string)
{
    json_t *by = json_object_get(ann, "completed_by");
    if (json_is_object(by))
        by = json_object_get(by, "email");
    if (json_is_integer(by) && as_string) {
        char s[32];
        snprintf(s, sizeof s, "%" JSON_INTEGER_FORMAT, json_integer_value(by));
        return json_string(s);
    }
    return by && !json_is_object(by) ? json_incref(by) : json_null();
}

/* JSON text of v as a string value, through the export's reusable memory stream. */
static json_t *json_text(struct formats_export *e, const json_t *v)
{
    if (!e->scratch && !(e->scratch = open_memstream(&e->scratch_buf, &e->scratch_len)))
        return NULL;
    rewind(e->scratch);
    formats_json_write(e->scratch, v, -1, 0);
    fflush(e->scratch);
    return json_stringn(e->scratch_buf, e->scratch_len);
}

static json_t *record(struct formats_export *e, const struct formats_item *it, int csv)
{
    json_t *r = json_object(), *v;
    const char *k;
    json_object_foreach((json_t *)it->data, k, v) json_object_set(r, k, v);
    json_object_set_new(r, "id", json_integer(it->id));
    json_object_foreach(it->output, k, v)
    {
        json_t *pretty = prettify(v);
        if (csv && !json_is_string(pretty)) {
            json_t *text = json_text(e, pretty);
            json_decref(pretty);
            pretty = text;
        }
        json_object_set_new(r, k, pretty ? pretty : json_null());
    }
    static const char *const keys[] = {"annotation_id", "created_at", "updated_at", "lead_time"};
    static const char *const src[] = {"id", "created_at", "updated_at", "lead_time"};
    json_object_set_new(r, "annotator", annotator(it->annotation, csv));
    for (int i = 0; i < 4; i++) {
        json_t *x = json_object_get(it->annotation, src[i]);
        json_object_set(r, keys[i], x ? x : json_null());
    }
    json_t *agreement = json_object_get(it->task, "agreement");
    if (agreement)
        json_object_set(r, "agreement", agreement);
    return r;
}

/* ---- JSON_MIN ----------------------------------------------------------------------------------
 */

static int min_item(struct formats_export *e, const struct formats_item *it, struct base_err *err)
{
    json_t *r = record(e, it, 0);
    fputs(e->nitems ? ",\n  " : "[\n  ", e->f);
    int rc = formats_json_write(e->f, r, 2, 1);
    json_decref(r);
    return rc ? base_err_set(err, BASE_E_IO, "%s: write failed", e->dest) : 0;
}

static int min_commit(struct formats_export *e, struct base_err *err)
{
    fputs(e->nitems ? "\n]" : "[]", e->f);
    return ferror(e->f) ? base_err_set(err, BASE_E_IO, "%s: write failed", e->dest) : 0;
}

const struct formats_writer formats_writer_json_min = {.item = min_item, .commit = min_commit};

/* ---- CSV / TSV ---------------------------------------------------------------------------------
 */

struct csv_state {
    char sep;
    FILE *spool;     /* per row: u32 ncells, then (u32 column, u32 length, bytes) */
    json_t *columns; /* name -> index, in first-seen order */
};

/* A cell as pandas writes it: strings as they are, numbers in Python form, bools True/False,
 * nested values as JSON (converter >= Oct 2022), null as an empty cell. */
static void cell_text(const json_t *v, struct base_buf *b)
{
    struct base_err e;
    char num[32];
    switch (json_typeof(v)) {
    case JSON_STRING:
        base_buf_append(b, json_string_value(v), json_string_length(v), &e);
        break;
    case JSON_INTEGER:
        base_buf_printf(b, &e, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        base_fmt_double(json_real_value(v), num);
        base_buf_puts(b, num, &e);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        base_buf_puts(b, json_is_true(v) ? "True" : "False", &e);
        break;
    case JSON_NULL:
        break;
    default:
        formats_json_buf(b, v, -1, &e);
    }
}

static int csv_open(struct formats_export *e, struct base_err *err)
{
    struct csv_state *s = base_calloc(1, sizeof *s);
    e->st = s;
    s->sep = e->o.kind == FORMATS_TSV ? '\t' : ',';
    s->columns = json_object();
    s->spool = tmpfile();
    return s->spool ? 0 : base_err_set(err, BASE_E_IO, "cannot create a temporary file");
}

static int csv_item(struct formats_export *e, const struct formats_item *it, struct base_err *err)
{
    struct csv_state *s = e->st;
    json_t *r = record(e, it, 1), *v;
    const char *k;
    struct base_buf b;
    base_buf_init(&b, (size_t)1 << 30);
    uint32_t n = (uint32_t)json_object_size(r);
    fwrite(&n, sizeof n, 1, s->spool);
    json_object_foreach(r, k, v)
    {
        json_t *col = json_object_get(s->columns, k);
        if (!col) {
            col = json_integer((json_int_t)json_object_size(s->columns));
            json_object_set_new(s->columns, k, col);
        }
        base_buf_reset(&b);
        cell_text(v, &b);
        uint32_t hdr[2] = {(uint32_t)json_integer_value(col), (uint32_t)b.len};
        fwrite(hdr, sizeof hdr, 1, s->spool);
        fwrite(b.data ? b.data : "", 1, b.len, s->spool);
    }
    base_buf_release(&b);
    json_decref(r);
    return ferror(s->spool) ? base_err_set(err, BASE_E_IO, "temporary file: write failed") : 0;
}

/* Python csv QUOTE_MINIMAL: quote when the field holds the separator, a quote or a line break. */
static void csv_field(FILE *f, const char *s, size_t n, char sep)
{
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == sep || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        fwrite_unlocked(s, 1, n, f);
        return;
    }
    putc_unlocked('"', f);
    const char *run = s, *end = s + n, *q;
    while ((q = memchr(run, '"', (size_t)(end - run)))) { /* a quote is doubled */
        fwrite_unlocked(run, 1, (size_t)(q + 1 - run), f);
        putc_unlocked('"', f);
        run = q + 1;
    }
    fwrite_unlocked(run, 1, (size_t)(end - run), f);
    putc_unlocked('"', f);
}

static int csv_rows(struct formats_export *e, struct csv_state *s, size_t ncols,
                    struct base_err *err)
{
    char **cells = base_calloc(ncols + 1, sizeof *cells);
    uint32_t *lens = base_calloc(ncols + 1, sizeof *lens);
    uint32_t n, hdr[2];
    int rc = 0;
    rewind(s->spool);
    while (!rc && fread(&n, sizeof n, 1, s->spool) == 1) {
        for (uint32_t i = 0; i < n && !rc; i++) {
            if (fread(hdr, sizeof hdr, 1, s->spool) != 1 || hdr[0] >= ncols) {
                rc = base_err_set(err, BASE_E_IO, "temporary file: read failed");
                break;
            }
            cells[hdr[0]] = base_realloc(cells[hdr[0]], hdr[1] + 1);
            lens[hdr[0]] = hdr[1];
            if (fread(cells[hdr[0]], 1, hdr[1], s->spool) != hdr[1])
                rc = base_err_set(err, BASE_E_IO, "temporary file: read failed");
        }
        for (size_t c = 0; c < ncols && !rc; c++) {
            if (c)
                putc_unlocked(s->sep, e->f);
            if (lens[c])
                csv_field(e->f, cells[c], lens[c], s->sep);
            lens[c] = 0;
        }
        putc_unlocked('\n', e->f);
    }
    for (size_t c = 0; c < ncols; c++)
        base_free(cells[c]);
    base_free(cells), base_free(lens);
    return rc;
}

static int csv_commit(struct formats_export *e, struct base_err *err)
{
    struct csv_state *s = e->st;
    size_t ncols = json_object_size(s->columns), c = 0;
    const char *k;
    json_t *v;
    json_object_foreach(s->columns, k, v)
    {
        if (c++)
            fputc(s->sep, e->f);
        csv_field(e->f, k, strlen(k), s->sep);
    }
    fputc('\n', e->f);
    int rc = csv_rows(e, s, ncols, err);
    if (!rc && ferror(e->f))
        rc = base_err_set(err, BASE_E_IO, "%s: write failed", e->dest);
    return rc;
}

static void csv_release(struct formats_export *e)
{
    struct csv_state *s = e->st;
    if (!s)
        return;
    if (s->spool)
        fclose(s->spool);
    json_decref(s->columns);
    base_free(s);
}

const struct formats_writer formats_writer_csv = {
    .open = csv_open, .item = csv_item, .commit = csv_commit, .release = csv_release};
const struct formats_writer formats_writer_tsv = {
    .open = csv_open, .item = csv_item, .commit = csv_commit, .release = csv_release};
