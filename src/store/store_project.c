/* Projects. The settable columns are one X-macro list, which yields the descriptor table the
 * API validates against and the SQL text of the statements, so the two cannot drift apart. */
#include "store_int.h"

#include <string.h>

#define PROJECT_COLUMNS(X)                                                                         \
    X(title, STORE_TEXT)                                                                           \
    X(description, STORE_TEXT)                                                                     \
    X(label_config, STORE_TEXT)                                                                    \
    X(expert_instruction, STORE_TEXT)                                                              \
    X(show_instruction, STORE_BOOL)                                                                \
    X(show_skip_button, STORE_BOOL)                                                                \
    X(enable_empty_annotation, STORE_BOOL)                                                         \
    X(show_annotation_history, STORE_BOOL)                                                         \
    X(color, STORE_TEXT)                                                                           \
    X(maximum_annotations, STORE_INT)                                                              \
    X(is_published, STORE_BOOL)                                                                    \
    X(model_version, STORE_TEXT)                                                                   \
    X(is_draft, STORE_BOOL)                                                                        \
    X(min_annotations_to_start_training, STORE_INT)                                                \
    X(show_collab_predictions, STORE_BOOL)                                                         \
    X(sampling, STORE_TEXT)                                                                        \
    X(show_ground_truth_first, STORE_BOOL)                                                         \
    X(show_overlap_first, STORE_BOOL)                                                              \
    X(overlap_cohort_percentage, STORE_INT)                                                        \
    X(task_data_login, STORE_TEXT_NULL)                                                            \
    X(task_data_password, STORE_TEXT_NULL)                                                         \
    X(control_weights, STORE_JSON)                                                                 \
    X(parsed_label_config, STORE_JSON)                                                             \
    X(evaluate_predictions_automatically, STORE_BOOL)                                              \
    X(skip_queue, STORE_TEXT)                                                                      \
    X(reveal_preannotations_interactively, STORE_BOOL)                                             \
    X(pinned_at, STORE_TEXT_NULL)                                                                  \
    X(data_types, STORE_JSON)                                                                      \
    X(loop_enabled, STORE_BOOL)                                                                    \
    X(loop_min_labeled, STORE_INT)                                                                 \
    X(loop_retrain_every, STORE_INT)                                                               \
    X(loop_label_map, STORE_TEXT)

#define AS_ENTRY(name, type)  {#name, type},
#define AS_SELECT(name, type) ", " #name
#define AS_SET(name, type)    #name " = ?, "

const struct store_column store_project_columns[] = {PROJECT_COLUMNS(AS_ENTRY)};
const size_t store_project_ncolumns =
    sizeof store_project_columns / sizeof store_project_columns[0];

/* The first four selected columns precede the settable ones. */
#define FIXED_COLS 4
static const char SQL_GET[] = "SELECT id, created_by_id, created_at, updated_at" PROJECT_COLUMNS(
    AS_SELECT) " FROM project WHERE id = ?";
static const char SQL_LIST[] = "SELECT id, created_by_id, created_at, updated_at" PROJECT_COLUMNS(
    AS_SELECT) " FROM project ORDER BY id DESC LIMIT ? OFFSET ?";
static const char SQL_WRITE[] =
    "UPDATE project SET " PROJECT_COLUMNS(AS_SET) "updated_at = ? WHERE id = ?";
static const char SQL_INSERT[] =
    "INSERT INTO project(created_by_id, created_at, updated_at) VALUES (?, ?, ?)";
static const char SQL_DELETE[] = "DELETE FROM project WHERE id = ?";
static const char SQL_COUNT[] = "SELECT count(*) FROM project";
static const char SQL_OVERLAP[] =
    "UPDATE task SET overlap = ?2, is_labeled = ((SELECT count(*) FROM annotation a"
    " WHERE a.task_id = task.id AND ((a.was_cancelled = 0 AND a.result IS NOT NULL)"
    " OR (SELECT skip_queue FROM project WHERE id = ?1) = 'IGNORE_SKIPPED')) >= ?2)"
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
    sqlite3_stmt *s = store_stmt(c, SQL_UNCERTAINTY, err);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, project);
    return store_step_done(c, s, err);
}

const struct store_column *store_project_column(const char *name)
{
    for (size_t i = 0; i < store_project_ncolumns; i++)
        if (!strcmp(store_project_columns[i].name, name))
            return &store_project_columns[i];
    return NULL;
}

static json_t *column_value(sqlite3_stmt *s, int i, enum store_type type)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return type == STORE_JSON ? json_object() : json_null();
    switch (type) {
    case STORE_BOOL:
        return json_boolean(sqlite3_column_int(s, i));
    case STORE_INT:
        return json_integer(sqlite3_column_int64(s, i));
    case STORE_REAL:
        return json_real(sqlite3_column_double(s, i));
    case STORE_TEXT:
    case STORE_TEXT_NULL:
        return json_string((const char *)sqlite3_column_text(s, i));
    case STORE_JSON: {
        json_t *v = store_col_json(s, i);
        return v ? v : json_object();
    }
    }
    return json_null();
}

static json_t *load_row(sqlite3_stmt *s)
{
    json_t *row = json_object();
    char iso[32];
    json_object_set_new(row, "id", json_integer(sqlite3_column_int64(s, 0)));
    for (size_t i = 0; i < store_project_ncolumns; i++)
        json_object_set_new(row, store_project_columns[i].name,
                            column_value(s, FIXED_COLS + (int)i, store_project_columns[i].type));
    int64_t by = sqlite3_column_int64(s, 1);
    json_object_set_new(row, "created_by", by ? json_integer(by) : json_null());
    json_object_set_new(row, "organization", json_integer(1));
    base_time_iso(store_col_time(s, 2), iso);
    json_object_set_new(row, "created_at", json_string(iso));
    base_time_iso(store_col_time(s, 3), iso);
    json_object_set_new(row, "updated_at", json_string(iso));
    return row;
}

static int bind_column(sqlite3_stmt *s, int i, const struct store_column *col, const json_t *v,
                       struct base_err *err)
{
    int ok = 1;
    switch (col->type) {
    case STORE_BOOL:
        ok = json_is_boolean(v) || json_is_integer(v);
        sqlite3_bind_int(s, i, json_is_true(v) || (json_is_integer(v) && json_integer_value(v)));
        break;
    case STORE_INT:
        ok = json_is_integer(v);
        sqlite3_bind_int64(s, i, json_integer_value(v));
        break;
    case STORE_REAL:
        ok = json_is_number(v);
        sqlite3_bind_double(s, i, json_number_value(v));
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
    sqlite3_stmt *s = store_stmt(c, SQL_GET, err);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    if (store_step_row(c, s, err, BASE_E_NOTFOUND, "Not found."))
        return -1;
    json_t *row = load_row(s);
    sqlite3_reset(s);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)fields, key, v) if (store_project_column(key))
        json_object_set(row, key, v);
    int rc = -1;
    if (!(s = store_stmt(c, SQL_WRITE, err)))
        goto out;
    for (size_t i = 0; i < store_project_ncolumns; i++)
        if (bind_column(s, (int)i + 1, &store_project_columns[i],
                        json_object_get(row, store_project_columns[i].name), err))
            goto out;
    store_bind_time(s, (int)store_project_ncolumns + 1, base_time_us());
    sqlite3_bind_int64(s, (int)store_project_ncolumns + 2, id);
    rc = store_step_done(c, s, err);
out:
    if (rc == 0 && row_out)
        *row_out = row;
    else
        json_decref(row);
    return rc;
}

int store_project_create(struct store *st, const json_t *fields, int64_t created_by, int64_t *id,
                         struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = -1;
    int64_t now = base_time_us();
    sqlite3_stmt *s;
    if (store_begin(c, 1, err) || !(s = store_stmt(c, SQL_INSERT, err)))
        goto out;
    store_bind_id(s, 1, created_by);
    store_bind_time(s, 2, now);
    store_bind_time(s, 3, now);
    if (store_step_done(c, s, err))
        goto out;
    *id = sqlite3_last_insert_rowid(c->db);
    if (merge_write(c, *id, fields, NULL, err) || store_commit(c, err))
        goto out;
    rc = 0;
out:
    store_rollback(c);
    store_conn_put(st, c);
    return rc;
}

int store_project_get(struct store *st, int64_t id, json_t **row, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = -1;
    sqlite3_stmt *s = store_stmt(c, SQL_GET, err);
    if (s) {
        sqlite3_bind_int64(s, 1, id);
        if (!(rc = store_step_row(c, s, err, BASE_E_NOTFOUND, "Not found.")))
            *row = load_row(s);
    }
    store_conn_put(st, c);
    return rc;
}

int store_project_update(struct store *st, int64_t id, const json_t *fields, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = -1;
    json_t *row = NULL;
    sqlite3_stmt *s;
    if (store_begin(c, 1, err) || merge_write(c, id, fields, &row, err))
        goto out;
    if (json_object_get(fields, "model_version") && store_project_refresh_uncertainty(c, id, err))
        goto out;
    if (json_object_get(fields, "maximum_annotations") || json_object_get(fields, "skip_queue")) {
        if (!(s = store_stmt(c, SQL_OVERLAP, err)))
            goto out;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, json_integer_value(json_object_get(row, "maximum_annotations")));
        if (store_step_done(c, s, err))
            goto out;
    }
    if (store_commit(c, err))
        goto out;
    rc = 0;
out:
    json_decref(row);
    store_rollback(c);
    store_conn_put(st, c);
    return rc;
}

int store_project_delete(struct store *st, int64_t id, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = -1;
    sqlite3_stmt *s;
    if (store_begin(c, 1, err) || !(s = store_stmt(c, SQL_DELETE, err)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    if (store_step_done(c, s, err))
        goto out;
    if (sqlite3_changes(c->db) == 0) {
        base_err_set(err, BASE_E_NOTFOUND, "Not found.");
        goto out;
    }
    if (store_commit(c, err))
        goto out;
    rc = 0;
out:
    store_rollback(c);
    store_conn_put(st, c);
    return rc;
}

int store_project_list(struct store *st, int64_t offset, int64_t limit, json_t **rows,
                       int64_t *total, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = -1, step;
    json_t *out = json_array();
    sqlite3_stmt *s;
    if (store_begin(c, 0, err) || !(s = store_stmt(c, SQL_COUNT, err)))
        goto out;
    if ((step = sqlite3_step(s)) != SQLITE_ROW) {
        store_fail(c, step, err);
        goto out;
    }
    *total = sqlite3_column_int64(s, 0);
    if (!(s = store_stmt(c, SQL_LIST, err)))
        goto out;
    sqlite3_bind_int64(s, 1, limit);
    sqlite3_bind_int64(s, 2, offset);
    while ((step = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(out, load_row(s));
    if (step != SQLITE_DONE) {
        store_fail(c, step, err);
        goto out;
    }
    rc = store_commit(c, err);
out:
    store_rollback(c);
    store_conn_put(st, c);
    if (rc == 0)
        *rows = out;
    else
        json_decref(out);
    return rc;
}

int store_project_counts(struct store *st, int64_t id, struct store_project_counts *p,
                         struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = -1;
    sqlite3_stmt *s = store_stmt(c, SQL_COUNTS, err);
    if (s) {
        sqlite3_bind_int64(s, 1, id);
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) {
            int64_t *f[] = {&p->task_number,
                            &p->finished_task_number,
                            &p->num_tasks_with_annotations,
                            &p->total_annotations_number,
                            &p->useful_annotation_number,
                            &p->ground_truth_number,
                            &p->skipped_annotations_number,
                            &p->total_predictions_number};
            for (int i = 0; i < 8; i++)
                *f[i] = sqlite3_column_int64(s, i);
            rc = 0;
        } else {
            store_fail(c, step, err);
        }
    }
    store_conn_put(st, c);
    return rc;
}
