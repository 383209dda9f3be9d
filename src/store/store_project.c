/* Projects. The settable columns are one X-macro list (store.h), which yields the descriptor
 * table the API validates against, the SQL text of the statements and struct store_project, so
 * none of them can drift apart. */
#include "store_int.h"

#include <stddef.h>
#include <string.h>

#define AS_ENTRY(name, type)  {#name, type, offsetof(struct store_project, name)},
#define AS_SELECT(name, type) ", " #name
#define AS_SET(name, type)    #name " = ?, "

const struct store_column store_project_columns[] = {STORE_PROJECT_COLUMNS(AS_ENTRY)};
const size_t store_project_ncolumns =
    sizeof store_project_columns / sizeof store_project_columns[0];

/* The first four selected columns precede the settable ones. */
#define FIXED_COLS 4
static const char SQL_GET[] =
    "SELECT id, created_by_id, created_at, updated_at" STORE_PROJECT_COLUMNS(
        AS_SELECT) " FROM project WHERE id = ?";
static const char SQL_LIST[] =
    "SELECT id, created_by_id, created_at, updated_at" STORE_PROJECT_COLUMNS(
        AS_SELECT) " FROM project ORDER BY id DESC LIMIT ? OFFSET ?";
static const char SQL_WRITE[] =
    "UPDATE project SET " STORE_PROJECT_COLUMNS(AS_SET) "updated_at = ? WHERE id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO project(created_by_id, created_at, updated_at) VALUES (?, ?, ?) RETURNING id";
static const char SQL_DELETE[] = "DELETE FROM project WHERE id = ?";
static const char SQL_COUNT[] = "SELECT count(*) FROM project";
static const char SQL_OVERLAP[] =
    "UPDATE task SET overlap = ?2, is_labeled = (CASE WHEN (SELECT count(*) FROM annotation a"
    " WHERE a.task_id = task.id AND ((a.was_cancelled = 0 AND a.result IS NOT NULL)"
    " OR (SELECT skip_queue FROM project WHERE id = ?1) = 'IGNORE_SKIPPED')) >= ?2"
    " THEN 1 ELSE 0 END)"
    " WHERE project_id = ?1";
static const char SQL_COUNTS[] =
    "SELECT (SELECT count(*) FROM task WHERE project_id = ?1),"
    " (SELECT count(*) FROM task WHERE project_id = ?1 AND is_labeled = 1),"
    " (SELECT count(DISTINCT task_id) FROM annotation WHERE project_id = ?1"
    "  AND was_cancelled = 0 AND ground_truth = 0 AND result IS NOT NULL),"
    " (SELECT count(*) FROM annotation WHERE project_id = ?1 AND was_cancelled = 0),"
    " (SELECT count(*) FROM annotation WHERE project_id = ?1"
    "  AND was_cancelled = 0 AND ground_truth = 0 AND result IS NOT NULL),"
    " (SELECT count(*) FROM annotation WHERE project_id = ?1 AND ground_truth = 1),"
    " (SELECT count(*) FROM annotation WHERE project_id = ?1 AND was_cancelled = 1),"
    " (SELECT count(*) FROM prediction WHERE project_id = ?1)";

static const char SQL_UNCERTAINTY[] =
    "UPDATE task SET uncertainty = " STORE_UNCERTAINTY("task.id", "?1") " WHERE project_id = ?1";

int store_project_refresh_uncertainty(struct store_conn *c, int64_t project, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_UNCERTAINTY, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, project);
    return store_step_done(c, s, err);
}

const struct store_column *store_project_column(const char *name)
{
    for (size_t i = 0; i < store_project_ncolumns; i++)
        if (!strcmp(store_project_columns[i].name, name))
            return &store_project_columns[i];
    return NULL;
}

static void load_column(struct store_stmt *s, int i, const struct store_column *col,
                        struct store_project *p)
{
    void *f = (char *)p + col->offset;
    const char *text;
    switch (col->type) {
    case STORE_BOOL:
        *(int *)f = store_col_int(s, i);
        break;
    case STORE_INT:
        *(int64_t *)f = store_col_i64(s, i);
        break;
    case STORE_REAL:
        *(double *)f = store_col_real(s, i);
        break;
    case STORE_TEXT:
    case STORE_TEXT_NULL:
        text = store_col_str(s, i);
        *(char **)f = text ? base_strdup(text) : NULL;
        break;
    case STORE_JSON:
        *(json_t **)f = store_col_json(s, i);
        if (!*(json_t **)f)
            *(json_t **)f = json_object();
        break;
    }
}

#define F(col, how, member) STORE_FIELD(col, how, struct store_project, member)
static const struct store_field FIXED[FIXED_COLS] = {
    F(0, I64, id),
    F(1, I64, created_by),
    F(2, TIME, created_at),
    F(3, TIME, updated_at),
};
#undef F

static void load(struct store_stmt *s, void *out)
{
    struct store_project *p = out;
    memset(p, 0, sizeof *p);
    store_load_fields(s, FIXED, FIXED_COLS, p);
    for (size_t i = 0; i < store_project_ncolumns; i++)
        load_column(s, FIXED_COLS + (int)i, &store_project_columns[i], p);
}

void store_project_release(struct store_project *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < store_project_ncolumns; i++) {
        const struct store_column *col = &store_project_columns[i];
        void *f = (char *)p + col->offset;
        if (col->type == STORE_TEXT || col->type == STORE_TEXT_NULL)
            base_free(*(char **)f), *(char **)f = NULL;
        else if (col->type == STORE_JSON)
            json_decref(*(json_t **)f), *(json_t **)f = NULL;
    }
}

static json_t *column_json(const struct store_project *p, const struct store_column *col)
{
    const void *f = (const char *)p + col->offset;
    const char *text;
    switch (col->type) {
    case STORE_BOOL:
        return json_boolean(*(const int *)f);
    case STORE_INT:
        return json_integer(*(const int64_t *)f);
    case STORE_REAL:
        return json_real(*(const double *)f);
    case STORE_TEXT:
    case STORE_TEXT_NULL:
        text = *(char *const *)f;
        return text ? json_string(text) : json_null();
    case STORE_JSON:
        return json_incref(*(json_t *const *)f);
    }
    return json_null();
}

json_t *store_project_json(const struct store_project *p)
{
    json_t *row = json_object();
    char iso[32];
    json_object_set_new(row, "id", json_integer(p->id));
    for (size_t i = 0; i < store_project_ncolumns; i++)
        json_object_set_new(row, store_project_columns[i].name,
                            column_json(p, &store_project_columns[i]));
    json_object_set_new(row, "created_by",
                        p->created_by ? json_integer(p->created_by) : json_null());
    json_object_set_new(row, "organization", json_integer(1));
    base_time_iso(p->created_at, iso);
    json_object_set_new(row, "created_at", json_string(iso));
    base_time_iso(p->updated_at, iso);
    json_object_set_new(row, "updated_at", json_string(iso));
    return row;
}

const char *store_project_data_key(const struct store_project *p)
{
    void *it = json_is_object(p->data_types) ? json_object_iter(p->data_types) : NULL;
    return it ? json_object_iter_key(it) : NULL;
}

static json_t *load_row(struct store_stmt *s)
{
    struct store_project p;
    load(s, &p);
    json_t *row = store_project_json(&p);
    store_project_release(&p);
    return row;
}

static void load_json_row(struct store_stmt *s, void *row)
{
    *(json_t **)row = load_row(s);
}

static int bind_column(struct store_stmt *s, int i, const struct store_column *col, const json_t *v,
                       struct base_err *err)
{
    int ok = 1;
    switch (col->type) {
    case STORE_BOOL:
        ok = json_is_boolean(v) || json_is_integer(v);
        store_bind_int(s, i, json_is_true(v) || (json_is_integer(v) && json_integer_value(v)));
        break;
    case STORE_INT:
        ok = json_is_integer(v);
        store_bind_i64(s, i, json_integer_value(v));
        break;
    case STORE_REAL:
        ok = json_is_number(v);
        store_bind_real(s, i, json_number_value(v));
        break;
    case STORE_TEXT:
    case STORE_TEXT_NULL:
        ok = json_is_string(v) || (col->type == STORE_TEXT_NULL && json_is_null(v));
        store_bind_text(s, i, json_string_value(v));
        break;
    case STORE_JSON:
        store_bind_json(s, i, v);
        break;
    }
    return ok ? 0 : base_err_set(err, BASE_E_INVALID, "%s: wrong type", col->name);
}

/* Reads the row, applies `fields` and writes every column back, in the caller's transaction. */
static int merge_write(struct store_conn *c, int64_t id, const json_t *fields, json_t **row_out,
                       struct base_err *err)
{
    json_t *row = NULL;
    struct store_one q = {.sql = SQL_GET, .key = id, .load = load_json_row, .out = &row};
    if (store_one_on(c, &q, err))
        return -1;
    struct store_stmt *s;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)fields, key, v) if (store_project_column(key))
        json_object_set(row, key, v);
    int rc = -1;
    if (!(s = store_prepare(c, SQL_WRITE, err)))
        goto out;
    for (size_t i = 0; i < store_project_ncolumns; i++)
        if (bind_column(s, (int)i + 1, &store_project_columns[i],
                        json_object_get(row, store_project_columns[i].name), err))
            goto out;
    store_bind_time(s, (int)store_project_ncolumns + 1, base_time_us());
    store_bind_i64(s, (int)store_project_ncolumns + 2, id);
    rc = store_step_done(c, s, err);
out:
    if (rc == 0 && row_out)
        *row_out = row;
    else
        json_decref(row);
    return rc;
}

struct create {
    const json_t *fields;
    int64_t created_by, *id;
};

static void bind_create(struct store_stmt *s, void *arg)
{
    const struct create *x = arg;
    int64_t now = base_time_us();
    store_bind_id(s, 1, x->created_by);
    store_bind_time(s, 2, now);
    store_bind_time(s, 3, now);
}

static int create_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct create *x = ctx;
    return store_write_on(c, SQL_INSERT, bind_create, x, NULL, x->id, err) ||
                   merge_write(c, *x->id, x->fields, NULL, err)
               ? -1
               : 0;
}

int store_project_create(struct store *st, const json_t *fields, int64_t created_by, int64_t *id,
                         struct base_err *err)
{
    struct create x = {fields, created_by, id};
    return store_tx(st, STORE_TX_WRITE, create_body, &x, err);
}

int store_project_get(struct store *st, int64_t id, struct store_project *out, struct base_err *err)
{
    struct store_one q = {.sql = SQL_GET, .key = id, .load = load, .out = out};
    return store_one(st, &q, err);
}

struct update {
    int64_t id;
    const json_t *fields;
    json_t *row;
};

static void bind_overlap(struct store_stmt *s, void *arg)
{
    const struct update *u = arg;
    store_bind_i64(s, 1, u->id);
    store_bind_i64(s, 2, json_integer_value(json_object_get(u->row, "maximum_annotations")));
}

static int update_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct update *u = ctx;
    if (merge_write(c, u->id, u->fields, &u->row, err))
        return -1;
    if (json_object_get(u->fields, "model_version") &&
        store_project_refresh_uncertainty(c, u->id, err))
        return -1;
    if (json_object_get(u->fields, "maximum_annotations") ||
        json_object_get(u->fields, "skip_queue"))
        return store_write_on(c, SQL_OVERLAP, bind_overlap, u, NULL, NULL, err);
    return 0;
}

int store_project_update(struct store *st, int64_t id, const json_t *fields, struct base_err *err)
{
    struct update u = {id, fields, NULL};
    int rc = store_tx(st, STORE_TX_WRITE, update_body, &u, err);
    json_decref(u.row);
    return rc;
}

int store_project_delete(struct store *st, int64_t id, struct base_err *err)
{
    return store_write_tx(st, SQL_DELETE, store_bind_id_arg, &id, "Not found.", err);
}

struct list {
    int64_t offset, limit, *total;
    json_t *rows;
};

static void load_total(struct store_stmt *s, void *total)
{
    *(int64_t *)total = store_col_i64(s, 0);
}

static int list_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct list *l = ctx;
    struct store_one q = {.sql = SQL_COUNT, .load = load_total, .out = l->total};
    struct store_stmt *s;
    if (store_one_on(c, &q, err) || !(s = store_prepare(c, SQL_LIST, err)))
        return -1;
    store_bind_i64(s, 1, l->limit);
    store_bind_i64(s, 2, l->offset);
    int step;
    while ((step = store_step(s)) == STORE_ROW)
        json_array_append_new(l->rows, load_row(s));
    return step == STORE_DONE ? 0 : store_fail(c, step, err);
}

int store_project_list(struct store *st, int64_t offset, int64_t limit, json_t **rows,
                       int64_t *total, struct base_err *err)
{
    struct list l = {offset, limit, total, json_array()};
    int rc = store_tx(st, STORE_TX_READ, list_body, &l, err);
    if (rc == 0)
        *rows = l.rows;
    else
        json_decref(l.rows);
    return rc;
}

static void load_counts(struct store_stmt *s, void *arg)
{
    struct store_project_counts *p = arg;
    int64_t *f[] = {&p->task_number,
                    &p->finished_task_number,
                    &p->num_tasks_with_annotations,
                    &p->total_annotations_number,
                    &p->useful_annotation_number,
                    &p->ground_truth_number,
                    &p->skipped_annotations_number,
                    &p->total_predictions_number};
    for (int i = 0; i < 8; i++)
        *f[i] = store_col_i64(s, i);
}

int store_project_counts(struct store *st, int64_t id, struct store_project_counts *p,
                         struct base_err *err)
{
    struct store_one q = {.sql = SQL_COUNTS, .key = id, .load = load_counts, .out = p};
    return store_one(st, &q, err);
}
