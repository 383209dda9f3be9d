/* Predictions (create, read, update, delete, list; writes refresh the task's prediction
 * counters and score) and the lookup of upload records used to authorise media requests. */
#include "store_int.h"

#include <stddef.h>
#include <string.h>

static const char SQL_INSERT[] =
    "INSERT INTO prediction(task_id, project_id, result, score, model_version, cluster,"
    " neighbors, mislabeling, created_at, updated_at)"
    " SELECT ?1, project_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8 FROM task WHERE id = ?1 RETURNING id";
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
static const char SQL_EACH_TASK[] = "SELECT " STORE_PREDICTION_COLS " FROM prediction"
                                    " WHERE task_id = ? ORDER BY id";
static const char SQL_EACH_PROJECT[] = "SELECT " STORE_PREDICTION_COLS " FROM prediction"
                                       " WHERE project_id = ? ORDER BY id";
static const char SQL_EACH_ALL[] = "SELECT " STORE_PREDICTION_COLS " FROM prediction"
                                   " WHERE ? = 0 ORDER BY id";
static const char SQL_UPLOAD_PROJECT[] = "SELECT project_id FROM file_upload WHERE file = ?";

#define F(col, how, member) STORE_FIELD(col, how, struct store_prediction, member)
static const struct store_field FIELDS[] = {
    F(0, I64, id),          F(1, I64, task),         F(2, I64, project),
    F(4, SET, has_score),   F(4, REAL, score),       F(5, TEXT, model_version),
    F(6, SET, has_cluster), F(6, I64, cluster),      F(8, REAL, mislabeling),
    F(9, TIME, created_at), F(10, TIME, updated_at),
};
#undef F

static void load_scalars(struct store_stmt *s, struct store_prediction *p)
{
    memset(p, 0, sizeof *p);
    store_load_fields(s, FIELDS, sizeof FIELDS / sizeof FIELDS[0], p);
}

void store_prediction_load(struct store_stmt *s, struct store_prediction *p, struct base_arena *ar)
{
    (void)ar;
    load_scalars(s, p);
    p->result = store_col_json(s, 3);
    if (!p->result)
        p->result = json_array();
    p->neighbors = store_col_json(s, 7);
}

void store_prediction_load_text(struct store_stmt *s, struct store_prediction *p,
                                struct base_arena *ar)
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
static void bind_fields(struct store_stmt *s, int first, const struct store_prediction *p)
{
    if (p->result)
        store_bind_json(s, first, p->result);
    else
        store_bind_static(s, first, "[]");
    if (p->has_score)
        store_bind_real(s, first + 1, p->score);
    else
        store_bind_null(s, first + 1);
    store_bind_text(s, first + 2, p->model_version);
    if (p->has_cluster)
        store_bind_i64(s, first + 3, p->cluster);
    else
        store_bind_null(s, first + 3);
    store_bind_json(s, first + 4, p->neighbors);
    store_bind_real(s, first + 5, p->mislabeling);
}

static void bind_insert(struct store_stmt *s, int64_t task, const void *row, int64_t now)
{
    store_bind_i64(s, 1, task);
    bind_fields(s, 2, row);
    store_bind_time(s, 8, now);
}

static void bind_update(struct store_stmt *s, int64_t id, const void *row, int64_t now)
{
    const struct store_prediction *p = row;
    store_bind_i64(s, 1, id);
    store_bind_i64(s, 2, p->task);
    bind_fields(s, 3, p);
    store_bind_time(s, 9, now);
}

struct many {
    const char *sql;
    int64_t project;
    const struct store_prediction *in;
    size_t n;
    int64_t made;
};

static int insert_many_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct many *m = ctx;
    int64_t now = base_time_us();
    for (size_t i = 0; i < m->n; i++) {
        struct store_stmt *s = store_prepare(c, m->sql, err);
        if (!s)
            return -1;
        bind_insert(s, m->in[i].task, &m->in[i], now);
        if (m->project)
            store_bind_i64(s, 9, m->project);
        if (store_step_done(c, s, err))
            return -1;
        if (store_changes(c) == 0 && m->project)
            return base_err_set(err, BASE_E_INVALID,
                                "prediction %zu: task %lld is not a task of project %lld", i,
                                (long long)m->in[i].task, (long long)m->project);
        if (store_changes(c) == 0)
            continue;
        m->made++;
        if (store_task_refresh(c, m->in[i].task, err))
            return -1;
    }
    return 0;
}

/* Inserts predictions in one transaction with `sql` (SQL_INSERT_NEW or SQL_INSERT_IN_PROJECT):
 * a row it does not write is skipped, or with `project` fails the whole import naming the task. */
static int insert_many(struct store *st, const char *sql, int64_t project,
                       const struct store_prediction *in, size_t n, int64_t *created,
                       struct base_err *err)
{
    struct many m = {sql, project, in, n, 0};
    int rc = store_tx(st, STORE_TX_WRITE, insert_many_body, &m, err);
    if (created)
        *created = rc == 0 ? m.made : 0;
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

static int version_row(void *ctx, struct store_stmt *s, struct base_err *err)
{
    struct versions_each *x = ctx;
    const char *mv = store_col_str(s, 0);
    return x->fn(x->ctx, mv ? mv : "", store_col_i64(s, 1), err);
}

int store_prediction_versions(struct store *st, int64_t project, store_version_count_fn fn,
                              void *ctx, struct base_err *err)
{
    struct versions_each x = {fn, ctx};
    return store_read(st, SQL_VERSIONS, store_bind_id_arg, &project, 0, version_row, &x, err);
}

static void apply(void *row, unsigned set, const void *value)
{
    struct store_prediction *p = row;
    const struct store_prediction *v = value;
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

static void load(struct store_stmt *s, void *row)
{
    store_prediction_load(s, row, NULL);
}

static void release(void *row)
{
    store_prediction_release(row);
}

static const struct store_kind KIND = {
    .sql_insert = SQL_INSERT,
    .sql_get = SQL_GET,
    .sql_update = SQL_UPDATE,
    .sql_delete = SQL_DELETE,
    .task_offset = offsetof(struct store_prediction, task),
    .names_task = 1,
    .load = load,
    .release = release,
    .apply = apply,
    .bind_insert = bind_insert,
    .bind_update = bind_update,
};

int store_prediction_create(struct store *st, int64_t task, const struct store_prediction *in,
                            int64_t *id, struct base_err *err)
{
    return store_kind_create(st, &KIND, task, in, id, err);
}

int store_prediction_get(struct store *st, int64_t id, struct store_prediction *out,
                         struct base_err *err)
{
    return store_kind_get(st, &KIND, id, out, err);
}

int store_prediction_update(struct store *st, int64_t id, unsigned set,
                            const struct store_prediction *v, struct base_err *err)
{
    struct store_prediction p = {0};
    return store_kind_update(st, &KIND, id, set, v, &p, err);
}

int store_prediction_delete(struct store *st, int64_t id, struct base_err *err)
{
    struct store_prediction p = {0};
    return store_kind_delete(st, &KIND, id, &p, err);
}

STORE_EACH_ROW(each_row, struct store_prediction, store_prediction_fn, load,
               store_prediction_release)

int store_prediction_each(struct store *st, int64_t task, int64_t project, store_prediction_fn fn,
                          void *ctx, struct base_err *err)
{
    const char *sql = task > 0 ? SQL_EACH_TASK : project > 0 ? SQL_EACH_PROJECT : SQL_EACH_ALL;
    int64_t key = task > 0 ? task : project > 0 ? project : 0;
    struct store_cb x = STORE_CB(fn, ctx);
    return store_read(st, sql, store_bind_id_arg, &key, 0, each_row, &x, err);
}

static void load_project(struct store_stmt *s, void *project)
{
    *(int64_t *)project = store_col_i64(s, 0);
}

int store_file_upload_project(struct store *st, const char *file, int64_t *project,
                              struct base_err *err)
{
    struct store_one q = {
        .sql = SQL_UPLOAD_PROJECT, .text = file, .load = load_project, .out = project};
    return store_one(st, &q, err);
}
