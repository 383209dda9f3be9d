/* Predictions (create, read, update, delete, list; writes refresh the task's prediction
 * counters and score) and the lookup of upload records used to authorise media requests. */
#include "store_int.h"

#include <string.h>

static const char SQL_INSERT[] =
    "INSERT INTO prediction(task_id, project_id, result, score, model_version, cluster,"
    " neighbors, mislabeling, created_at, updated_at)"
    " SELECT ?1, project_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8 FROM task WHERE id = ?1";
/* The loop's insert: nothing when the task is gone or already has a prediction of this version
 * (the server may have predicted it on the spot meanwhile). */
static const char SQL_INSERT_NEW[] =
    "INSERT INTO prediction(task_id, project_id, result, score, model_version, cluster,"
    " neighbors, mislabeling, created_at, updated_at)"
    " SELECT ?1, project_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8 FROM task WHERE id = ?1"
    " AND NOT EXISTS (SELECT 1 FROM prediction WHERE task_id = ?1 AND model_version = ?4)";
/* The bulk import of /import/predictions: only into tasks of project ?9. */
static const char SQL_INSERT_IN_PROJECT[] =
    "INSERT INTO prediction(task_id, project_id, result, score, model_version, cluster,"
    " neighbors, mislabeling, created_at, updated_at)"
    " SELECT ?1, project_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8 FROM task WHERE id = ?1"
    " AND project_id = ?9";
static const char SQL_VERSIONS[] = "SELECT model_version, count(*) FROM prediction"
                                   " WHERE project_id = ? GROUP BY model_version ORDER BY 1";
static const char SQL_GET[] = "SELECT " STORE_PREDICTION_COLS " FROM prediction WHERE id = ?";
static const char SQL_UPDATE[] =
    "UPDATE prediction SET task_id = ?2, project_id = (SELECT project_id FROM task"
    " WHERE id = ?2), result = ?3, score = ?4, model_version = ?5, cluster = ?6, neighbors = ?7,"
    " mislabeling = ?8, updated_at = ?9 WHERE id = ?1";
static const char SQL_DELETE[] = "DELETE FROM prediction WHERE id = ?";
static const char SQL_TASK_EXISTS[] = "SELECT 1 FROM task WHERE id = ?";
static const char SQL_EACH_TASK[] = "SELECT " STORE_PREDICTION_COLS " FROM prediction"
                                    " WHERE task_id = ? ORDER BY id";
static const char SQL_EACH_PROJECT[] = "SELECT " STORE_PREDICTION_COLS " FROM prediction"
                                       " WHERE project_id = ? ORDER BY id";
static const char SQL_EACH_ALL[] = "SELECT " STORE_PREDICTION_COLS " FROM prediction"
                                   " WHERE ? = 0 ORDER BY id";
static const char SQL_UPLOAD_PROJECT[] = "SELECT project_id FROM file_upload WHERE file = ?";

static void load_scalars(sqlite3_stmt *s, struct store_prediction *p)
{
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(s, 0);
    p->task = sqlite3_column_int64(s, 1);
    p->project = sqlite3_column_int64(s, 2);
    p->has_score = sqlite3_column_type(s, 4) != SQLITE_NULL;
    p->score = sqlite3_column_double(s, 4);
    store_col_copy(s, 5, p->model_version, sizeof p->model_version);
    p->has_cluster = sqlite3_column_type(s, 6) != SQLITE_NULL;
    p->cluster = sqlite3_column_int64(s, 6);
    p->mislabeling = sqlite3_column_double(s, 8);
    p->created_at = store_col_time(s, 9);
    p->updated_at = store_col_time(s, 10);
}

void store_prediction_load(sqlite3_stmt *s, struct store_prediction *p, struct base_arena *ar)
{
    (void)ar;
    load_scalars(s, p);
    p->result = store_col_json(s, 3);
    if (!p->result)
        p->result = json_array();
    p->neighbors = store_col_json(s, 7);
}

void store_prediction_load_text(sqlite3_stmt *s, struct store_prediction *p, struct base_arena *ar)
{
    load_scalars(s, p);
    p->result_text = store_col_json_text(s, 3, ar, &p->result_len);
    p->neighbors_text = store_col_json_text(s, 7, ar, &p->neighbors_len);
}

void store_prediction_release(struct store_prediction *p)
{
    if (!p)
        return;
    json_decref(p->result);
    json_decref(p->neighbors);
    p->result = p->neighbors = NULL;
}

/* Binds result..mislabeling of `p` from parameter `first` on (the order of both statements). */
static void bind_fields(sqlite3_stmt *s, int first, const struct store_prediction *p)
{
    if (p->result)
        store_bind_json(s, first, p->result);
    else
        sqlite3_bind_text(s, first, "[]", 2, SQLITE_STATIC);
    if (p->has_score)
        sqlite3_bind_double(s, first + 1, p->score);
    else
        sqlite3_bind_null(s, first + 1);
    sqlite3_bind_text(s, first + 2, p->model_version, -1, SQLITE_TRANSIENT);
    if (p->has_cluster)
        sqlite3_bind_int64(s, first + 3, p->cluster);
    else
        sqlite3_bind_null(s, first + 3);
    store_bind_json(s, first + 4, p->neighbors);
    sqlite3_bind_double(s, first + 5, p->mislabeling);
}

int store_prediction_create(struct store *st, int64_t task, const struct store_prediction *in,
                            int64_t *id, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = -1;
    sqlite3_stmt *s;
    if (store_begin(c, 1, err) || !(s = store_stmt(c, SQL_INSERT, err)))
        goto out;
    sqlite3_bind_int64(s, 1, task);
    bind_fields(s, 2, in);
    store_bind_time(s, 8, base_time_us());
    rc = store_insert_task_row(c, s, task, id, err, "task %lld not found", (long long)task);
out:
    store_rollback(c);
    store_conn_put(st, c);
    return rc;
}

/* Inserts predictions in one transaction with `sql` (SQL_INSERT_NEW or SQL_INSERT_IN_PROJECT):
 * a row it does not write is skipped, or with `project` fails the whole import naming the task. */
static int insert_many(struct store *st, const char *sql, int64_t project,
                       const struct store_prediction *in, size_t n, int64_t *created,
                       struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = -1;
    int64_t now = base_time_us(), made = 0;
    sqlite3_stmt *s;
    if (store_begin(c, 1, err))
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (!(s = store_stmt(c, sql, err)))
            goto out;
        sqlite3_bind_int64(s, 1, in[i].task);
        bind_fields(s, 2, &in[i]);
        store_bind_time(s, 8, now);
        if (project)
            sqlite3_bind_int64(s, 9, project);
        if (store_step_done(c, s, err))
            goto out;
        if (sqlite3_changes(c->db) == 0 && project) {
            base_err_set(err, BASE_E_INVALID,
                         "prediction %zu: task %lld is not a task of project %lld", i,
                         (long long)in[i].task, (long long)project);
            goto out;
        }
        if (sqlite3_changes(c->db) == 0)
            continue;
        made++;
        if (store_task_refresh(c, in[i].task, err))
            goto out;
    }
    rc = store_commit(c, err);
out:
    if (created)
        *created = rc == 0 ? made : 0;
    store_rollback(c);
    store_conn_put(st, c);
    return rc;
}

int store_prediction_create_many(struct store *st, const struct store_prediction *in, size_t n,
                                 int64_t *created, struct base_err *err)
{
    return insert_many(st, SQL_INSERT_NEW, 0, in, n, created, err);
}

int store_predictions_import(struct store *st, int64_t project, const struct store_prediction *in,
                             size_t n, struct base_err *err)
{
    return insert_many(st, SQL_INSERT_IN_PROJECT, project, in, n, NULL, err);
}

struct versions_each {
    store_version_count_fn fn;
    void *ctx;
};

static int version_row(void *ctx, sqlite3_stmt *s, struct base_err *err)
{
    struct versions_each *x = ctx;
    const char *mv = (const char *)sqlite3_column_text(s, 0);
    return x->fn(x->ctx, mv ? mv : "", sqlite3_column_int64(s, 1), err);
}

int store_prediction_versions(struct store *st, int64_t project, store_version_count_fn fn,
                              void *ctx, struct base_err *err)
{
    struct versions_each x = {fn, ctx};
    return store_read(st, SQL_VERSIONS, store_bind_id_arg, &project, 0, version_row, &x, err);
}

static int get_on(struct store_conn *c, int64_t id, struct store_prediction *out,
                  struct base_err *err)
{
    sqlite3_stmt *s = store_stmt(c, SQL_GET, err);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = store_step_row(c, s, err, BASE_E_NOTFOUND, "Not found.");
    if (!rc)
        store_prediction_load(s, out, NULL);
    sqlite3_reset(s);
    return rc;
}

int store_prediction_get(struct store *st, int64_t id, struct store_prediction *out,
                         struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = get_on(c, id, out, err);
    store_conn_put(st, c);
    return rc;
}

static void apply(struct store_prediction *p, unsigned set, const struct store_prediction *v)
{
    if (set & STORE_SET_RESULT) {
        json_decref(p->result);
        p->result = json_incref(v->result);
    }
    if (set & STORE_SET_SCORE)
        p->has_score = v->has_score, p->score = v->score;
    if (set & STORE_SET_MODEL_VERSION)
        memcpy(p->model_version, v->model_version, sizeof p->model_version);
    if (set & STORE_SET_TASK)
        p->task = v->task;
    if (set & STORE_SET_CLUSTER)
        p->has_cluster = v->has_cluster, p->cluster = v->cluster;
    if (set & STORE_SET_NEIGHBORS) {
        json_decref(p->neighbors);
        p->neighbors = v->neighbors ? json_incref(v->neighbors) : NULL;
    }
    if (set & STORE_SET_MISLABELING)
        p->mislabeling = v->mislabeling;
}

static int task_exists(struct store_conn *c, int64_t task, struct base_err *err)
{
    sqlite3_stmt *s = store_stmt(c, SQL_TASK_EXISTS, err);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, task);
    int rc = store_step_row(c, s, err, BASE_E_INVALID, "task %lld does not exist", (long long)task);
    sqlite3_reset(s);
    return rc;
}

int store_prediction_update(struct store *st, int64_t id, unsigned set,
                            const struct store_prediction *v, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    struct store_prediction p = {0};
    int rc = -1;
    sqlite3_stmt *s;
    if (store_begin(c, 1, err) || get_on(c, id, &p, err))
        goto out;
    int64_t old_task = p.task;
    apply(&p, set, v);
    if (p.task != old_task && task_exists(c, p.task, err))
        goto out;
    if (!(s = store_stmt(c, SQL_UPDATE, err)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, p.task);
    bind_fields(s, 3, &p);
    store_bind_time(s, 9, base_time_us());
    if (store_step_done(c, s, err) || store_task_refresh(c, p.task, err) ||
        (p.task != old_task && store_task_refresh(c, old_task, err)) || store_commit(c, err))
        goto out;
    rc = 0;
out:
    store_prediction_release(&p);
    store_rollback(c);
    store_conn_put(st, c);
    return rc;
}

int store_prediction_delete(struct store *st, int64_t id, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    struct store_prediction p = {0};
    int rc = -1;
    sqlite3_stmt *s;
    if (store_begin(c, 1, err) || get_on(c, id, &p, err) || !(s = store_stmt(c, SQL_DELETE, err)))
        goto out;
    sqlite3_bind_int64(s, 1, id);
    if (store_step_done(c, s, err) || store_task_refresh(c, p.task, err) || store_commit(c, err))
        goto out;
    rc = 0;
out:
    store_prediction_release(&p);
    store_rollback(c);
    store_conn_put(st, c);
    return rc;
}

int store_prediction_each(struct store *st, int64_t task, int64_t project, store_prediction_fn fn,
                          void *ctx, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    const char *sql = task > 0 ? SQL_EACH_TASK : project > 0 ? SQL_EACH_PROJECT : SQL_EACH_ALL;
    int rc = -1, step = SQLITE_DONE;
    sqlite3_stmt *s = store_stmt(c, sql, err);
    if (!s)
        goto out;
    sqlite3_bind_int64(s, 1, task > 0 ? task : project > 0 ? project : 0);
    rc = store_begin(c, 0, err);
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_prediction p;
        store_prediction_load(s, &p, NULL);
        rc = fn(ctx, &p, err);
        store_prediction_release(&p);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = store_fail(c, step, err);
out:
    store_rollback(c);
    store_conn_put(st, c);
    return rc;
}

int store_file_upload_project(struct store *st, const char *file, int64_t *project,
                              struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    int rc = -1;
    sqlite3_stmt *s = store_stmt(c, SQL_UPLOAD_PROJECT, err);
    if (s) {
        sqlite3_bind_text(s, 1, file, -1, SQLITE_TRANSIENT);
        if (!(rc = store_step_row(c, s, err, BASE_E_NOTFOUND, "Not found.")))
            *project = sqlite3_column_int64(s, 0);
    }
    store_conn_put(st, c);
    return rc;
}
