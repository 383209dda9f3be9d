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
    fwrite_unlocked(e->reemit.out.data, 1, e->reemit.out.len, e->f);
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

/* ---- records shared by JSON_MIN and CSV -----------------------------------------------------
 * A record (spec 5.3) is built as a list of (key, value) with the semantics of the dict the
 * converter fills (setting a key that exists replaces its value in place), then written as JSON
 * (JSON_MIN, indent 2) or as cells (CSV). Values are pieces of the parsed task, written through
 * the re-emitter, or the few values the record makes itself. */

enum rec_kind { REC_JV, REC_INT, REC_NULL, REC_PRETTY, REC_ANNOTATOR };

struct rec_field {
    const char *key;
    size_t klen;
    enum rec_kind kind;
    const struct formats_jv *jv;
    const struct formats_lout *out;
    long long i;
};

struct rec {
    struct rec_field *f;
    size_t n;
};

static void rec_set(struct rec *r, const char *key, size_t klen, struct rec_field v)
{
    v.key = key, v.klen = klen;
    for (size_t i = 0; i < r->n; i++)
        if (r->f[i].klen == klen && !memcmp(r->f[i].key, key, klen)) {
            r->f[i] = v;
            return;
        }
    r->f[r->n++] = v;
}

static void rec_build(struct formats_export *e, const struct formats_litem *it, struct rec *r)
{
    const struct formats_jv *d = it->data, *ann = it->annotation;
    r->f = base_arena_alloc(e->jp.arena, (d->n + it->nout + 8) * sizeof *r->f), r->n = 0;
    for (size_t i = 0; i < d->n; i++) {
        const struct formats_jm *m = &d->kids[i];
        int undef = it->undef_key && m->klen == 11 && !memcmp(m->key, "$undefined$", 11);
        const char *k = undef ? it->undef_key : m->key;
        rec_set(r, k, undef ? strlen(k) : m->klen, (struct rec_field){.kind = REC_JV, .jv = &m->v});
    }
    rec_set(r, "id", 2, (struct rec_field){.kind = REC_INT, .i = it->id});
    for (size_t i = 0; i < it->nout; i++)
        rec_set(r, it->out[i].name, it->out[i].nlen,
                (struct rec_field){.kind = REC_PRETTY, .out = &it->out[i]});
    rec_set(r, "annotator", 9, (struct rec_field){.kind = REC_ANNOTATOR, .jv = ann});
    static const char *const keys[] = {"annotation_id", "created_at", "updated_at", "lead_time"};
    static const char *const src[] = {"id", "created_at", "updated_at", "lead_time"};
    for (int i = 0; i < 4; i++) {
        const struct formats_jv *x = formats_jv_get(ann, src[i]);
        rec_set(r, keys[i], strlen(keys[i]),
                (struct rec_field){.kind = x ? REC_JV : REC_NULL, .jv = x});
    }
    const struct formats_jv *agreement = formats_jv_get(it->task, "agreement");
    if (agreement)
        rec_set(r, "agreement", 9, (struct rec_field){.kind = REC_JV, .jv = agreement});
}

/* ---- writing JSON pieces (base's emitter; its indent is the record's) ------------------------ */

/* A parsed value in formats_json_write's form (containers: their text re-emitted). */
static int put_jv(struct formats_export *e, struct base_jw *w, const struct formats_jv *v,
                  int level, struct base_err *err)
{
    switch (v->type) {
    case FORMATS_JV_STRING:
        base_jw_string(w, v->s, v->n);
        return 0;
    case FORMATS_JV_INT:
        base_jw_int(w, v->i);
        return 0;
    case FORMATS_JV_REAL:
        base_jw_real(w, v->d);
        return 0;
    case FORMATS_JV_TRUE:
    case FORMATS_JV_FALSE:
    case FORMATS_JV_NULL:
        base_jw_put(w, v->src, v->srclen);
        return 0;
    default:
        break;
    }
    if (formats_json_reemit(&e->reemit, v->src, v->srclen, w->indent, level, err))
        return -1;
    base_jw_put(w, e->reemit.out.data, e->reemit.out.len);
    return 0;
}

/* A member of an object at `level` ("key": value), i-th of it. */
static int put_member(struct formats_export *e, struct base_jw *w, size_t i, const char *key,
                      size_t klen, const struct formats_jv *v, int level, struct base_err *err)
{
    base_jw_put(w, "{", !i);
    base_jw_sep(w, i, level);
    base_jw_key(w, key, klen);
    return put_jv(e, w, v, level + 1, err);
}

/* The region value as the converter leaves it: value keys but "type", original_width/height of
 * the result replacing or following them. */
static int put_region(struct formats_export *e, struct base_jw *w, const struct formats_jv *r,
                      int level, struct base_err *err)
{
    static const char *const sizes[] = {"original_width", "original_height"};
    const struct formats_jv *value = formats_jv_get(r, "value"), *sz[2];
    size_t n = 0;
    int in_value[2] = {0, 0};
    for (int s = 0; s < 2; s++)
        sz[s] = formats_jv_get(r, sizes[s]);
    for (size_t i = 0; i < value->n; i++) {
        const struct formats_jm *m = &value->kids[i];
        const struct formats_jv *v = &m->v;
        if (m->klen == 4 && !memcmp(m->key, "type", 4))
            continue;
        for (int s = 0; s < 2; s++)
            if (sz[s] && m->klen == strlen(sizes[s]) && !memcmp(m->key, sizes[s], m->klen))
                v = sz[s], in_value[s] = 1;
        if (put_member(e, w, n++, m->key, m->klen, v, level, err))
            return -1;
    }
    for (int s = 0; s < 2; s++)
        if (sz[s] && !in_value[s] &&
            put_member(e, w, n++, sizes[s], strlen(sizes[s]), sz[s], level, err))
            return -1;
    if (!n)
        BASE_JW_LIT(w, "{}");
    else
        base_jw_close(w, '}', level);
    return 0;
}

/* _prettify: a Choices/TextArea value with one choice or text becomes that element. */
static const struct formats_jv *pretty_one(const struct formats_lout *o, const struct formats_jv *r)
{
    static const char *const types[] = {"Choices", "TextArea"}, *const keys[] = {"choices", "text"};
    for (int t = 0; t < 2; t++) {
        const struct formats_jv *x = formats_jv_get(formats_jv_get(r, "value"), keys[t]);
        if (!strcmp(o->k->type, types[t]) && x && x->type == FORMATS_JV_ARRAY && x->n == 1)
            return &x->kids[0].v;
    }
    return NULL;
}

/* The control's list after _prettify; a single Choices/TextArea element stands alone. */
static int put_pretty(struct formats_export *e, struct base_jw *w, const struct formats_lout *o,
                      int level, struct base_err *err)
{
    int single = o->n == 1 && (!strcmp(o->k->type, "Choices") || !strcmp(o->k->type, "TextArea"));
    if (!single)
        BASE_JW_LIT(w, "[");
    for (size_t i = 0; i < o->n; i++) {
        int l = single ? level : level + 1;
        if (!single)
            base_jw_sep(w, i, level);
        const struct formats_jv *one = pretty_one(o, o->results[i]);
        if (one ? put_jv(e, w, one, l, err) : put_region(e, w, o->results[i], l, err))
            return -1;
    }
    if (!single)
        base_jw_close(w, ']', level);
    return 0;
}

/* completed_by (or its email when it is a user object); integers as strings in CSV. */
static const struct formats_jv *annotator(const struct formats_jv *ann)
{
    const struct formats_jv *by = formats_jv_get(ann, "completed_by");
    if (by && by->type == FORMATS_JV_OBJECT)
        by = formats_jv_get(by, "email");
    return by && by->type != FORMATS_JV_OBJECT ? by : NULL;
}

static int put_field(struct formats_export *e, struct base_jw *w, const struct rec_field *f,
                     int level, struct base_err *err)
{
    switch (f->kind) {
    case REC_INT:
        base_jw_int(w, f->i);
        return 0;
    case REC_NULL:
        BASE_JW_LIT(w, "null");
        return 0;
    case REC_PRETTY:
        return put_pretty(e, w, f->out, level, err);
    case REC_ANNOTATOR:
        if (!annotator(f->jv)) {
            BASE_JW_LIT(w, "null");
            return 0;
        }
        return put_jv(e, w, annotator(f->jv), level, err);
    case REC_JV:
        break;
    }
    return put_jv(e, w, f->jv, level, err);
}

/* ---- JSON_MIN ----------------------------------------------------------------------------------
 */

static int min_item(struct formats_export *e, const struct formats_litem *it, struct base_err *err)
{
    struct rec r;
    struct base_buf *b = &e->out;
    struct base_jw w;
    rec_build(e, it, &r);
    base_buf_reset(b);
    base_jw_init_buf(&w, b, BASE_JSON_PYTHON, 2);
    base_jw_put(&w, e->nitems ? ",\n  {" : "[\n  {", 5);
    for (size_t i = 0; i < r.n; i++) {
        base_jw_sep(&w, i, 1);
        base_jw_key(&w, r.f[i].key, r.f[i].klen);
        if (put_field(e, &w, &r.f[i], 2, err))
            return -1;
    }
    if (r.n)
        base_jw_close(&w, '}', 1);
    else
        BASE_JW_LIT(&w, "}");
    if (base_jw_end(&w, err))
        return base_err_prefix(err, "task %lld: ", it->id);
    fwrite_unlocked(b->data, 1, b->len, e->f);
    return ferror(e->f) ? base_err_set(err, BASE_E_IO, "%s: write failed", e->dest) : 0;
}

static int min_commit(struct formats_export *e, struct base_err *err)
{
    fputs(e->nitems ? "\n]" : "[]", e->f);
    return ferror(e->f) ? base_err_set(err, BASE_E_IO, "%s: write failed", e->dest) : 0;
}

const struct formats_writer formats_writer_json_min = {.litem = min_item, .commit = min_commit};

/* ---- CSV / TSV ---------------------------------------------------------------------------------
 */

struct csv_state {
    char sep;
    FILE *spool;     /* per row: u32 ncells, then (u32 column, u32 length, bytes) */
    json_t *columns; /* name -> index, in first-seen order */
    char *key;       /* NUL-terminated column name */
    size_t keycap;
};

/* A cell as pandas writes it: strings as they are, numbers in Python form, bools True/False,
 * nested values as JSON (converter >= Oct 2022), null as an empty cell; a control's list and
 * an integer annotator as strings. */
static int csv_cell(struct formats_export *e, struct base_jw *w, const struct rec_field *f,
                    struct base_err *err)
{
    const struct formats_jv *v = f->kind == REC_ANNOTATOR ? annotator(f->jv) : f->jv;
    if (f->kind == REC_INT) {
        base_jw_int(w, f->i);
        return 0;
    }
    if (f->kind == REC_NULL || (f->kind == REC_ANNOTATOR && !v))
        return 0;
    if (f->kind == REC_PRETTY) {
        const struct formats_jv *one = f->out->n == 1 && (!strcmp(f->out->k->type, "Choices") ||
                                                          !strcmp(f->out->k->type, "TextArea"))
                                           ? pretty_one(f->out, f->out->results[0])
                                           : NULL;
        if (one && one->type == FORMATS_JV_STRING) {
            base_jw_put(w, one->s, one->n);
            return 0;
        }
        return put_pretty(e, w, f->out, 0, err);
    }
    /* strings raw, booleans as Python prints them, null empty; numbers and nested values as JSON */
    switch (v->type) {
    case FORMATS_JV_STRING:
        base_jw_put(w, v->s, v->n);
        return 0;
    case FORMATS_JV_TRUE:
    case FORMATS_JV_FALSE:
        base_jw_put(w, v->type == FORMATS_JV_TRUE ? "True" : "False",
                    v->type == FORMATS_JV_TRUE ? 4 : 5);
        return 0;
    case FORMATS_JV_NULL:
        return 0;
    default:
        return put_jv(e, w, v, 0, err);
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

/* Index of a column, appending a new one (names as C strings, as the header writes them). */
static uint32_t csv_column(struct csv_state *s, const char *key, size_t klen)
{
    if (klen + 1 > s->keycap) {
        s->keycap = 2 * (klen + 1);
        s->key = base_realloc(s->key, s->keycap);
    }
    memcpy(s->key, key, klen);
    s->key[klen] = '\0';
    json_t *col = json_object_get(s->columns, s->key);
    if (!col) {
        col = json_integer((json_int_t)json_object_size(s->columns));
        json_object_set_new(s->columns, s->key, col);
    }
    return (uint32_t)json_integer_value(col);
}

static int csv_item(struct formats_export *e, const struct formats_litem *it, struct base_err *err)
{
    struct csv_state *s = e->st;
    struct rec r;
    struct base_buf *b = &e->out;
    rec_build(e, it, &r);
    uint32_t n = (uint32_t)r.n;
    fwrite(&n, sizeof n, 1, s->spool);
    for (size_t i = 0; i < r.n; i++) {
        uint32_t col = csv_column(s, r.f[i].key, r.f[i].klen);
        struct base_jw w;
        base_buf_reset(b);
        base_jw_init_buf(&w, b, BASE_JSON_PYTHON, -1);
        if (csv_cell(e, &w, &r.f[i], err) || base_jw_end(&w, err))
            return -1;
        uint32_t hdr[2] = {col, (uint32_t)b->len};
        fwrite(hdr, sizeof hdr, 1, s->spool);
        fwrite(b->data ? b->data : "", 1, b->len, s->spool);
    }
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
    base_free(s->key);
    base_free(s);
}

const struct formats_writer formats_writer_csv = {
    .open = csv_open, .litem = csv_item, .commit = csv_commit, .release = csv_release};
const struct formats_writer formats_writer_tsv = {
    .open = csv_open, .litem = csv_item, .commit = csv_commit, .release = csv_release};
