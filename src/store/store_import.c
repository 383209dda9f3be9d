/* Bulk import: a JSON list of tasks with their annotations, predictions and upload records,
 * written in one transaction with prepared statements, counters computed on the way in (not
 * recomputed per row), so 100,000 tasks take seconds and a failure leaves nothing behind. */
#include "store_int.h"

#include <string.h>

static const char SQL_PROJECT[] = "SELECT maximum_annotations, skip_queue = 'IGNORE_SKIPPED'"
                                  " FROM project WHERE id = ?";
/* inner_id grows with id within a project, so the newest task holds the largest. */
static const char SQL_MAX_INNER[] = "SELECT coalesce((SELECT inner_id FROM task INDEXED BY"
                                    " task_project WHERE project_id = ? ORDER BY id DESC LIMIT 1),"
                                    " 0)";
static const char SQL_UPLOAD[] = "INSERT INTO file_upload(file, project_id, user_id, created_at)"
                                 " VALUES (?, ?, ?, ?) RETURNING id";
static const char SQL_TASK[] =
    "INSERT INTO task(project_id, data, meta, created_at, updated_at, is_labeled, overlap,"
    " inner_id, total_annotations, cancelled_annotations, total_predictions, prediction_score,"
    " file_upload_id) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id";
static const char SQL_ANNOTATION[] =
    "INSERT INTO annotation(task_id, project_id, completed_by_id, result, was_cancelled,"
    " ground_truth, lead_time, prediction, created_at, updated_at, last_action)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 'imported')";
static const char SQL_PREDICTION[] =
    "INSERT INTO prediction(task_id, project_id, result, score, model_version, cluster,"
    " neighbors, mislabeling, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)";

/* An annotator by id, or by email when the export expanded completed_by to a user object. */
static const char SQL_USER[] = "SELECT id FROM \"user\" WHERE (?1 > 0 AND id = ?1)"
                               " OR (?1 = 0 AND lower(email) = lower(?2))";

static const char SQL_UNCERTAINTY[] = "UPDATE task SET uncertainty = " STORE_UNCERTAINTY(
    "task.id", "?1") " WHERE project_id = ?1"
                     " AND id >= ?2 AND total_predictions > 0";

static const char SQL_STATS[] = "UPDATE project_stats SET tasks = tasks + ?2,"
                                " annotations = annotations + ?3, predictions = predictions + ?4"
                                " WHERE project_id = ?1";

struct import_ctx {
    struct store_conn *c;
    int64_t project, user, overlap, inner, now;
    int ignore_skipped;
    int own_stats;                           /* PostgreSQL: counted here, not per row */
    int64_t tasks, annotations, predictions; /* what the new tasks add to project_stats */
    struct store_import_result *res;
    int64_t last_key, last_user; /* map_user's last answer */
    char *last_email;
};

static int bad(struct base_err *err, size_t i, const char *what)
{
    return base_err_set(err, BASE_E_INVALID, "task %zu: %s", i, what);
}

static int check_task(const json_t *t, size_t i, struct base_err *err)
{
    const json_t *anns = json_object_get(t, "annotations");
    const json_t *preds = json_object_get(t, "predictions");
    const json_t *meta = json_object_get(t, "meta");
    const json_t *file = json_object_get(t, "file_upload");
    if (!json_is_object(t) || !json_is_object(json_object_get(t, "data")))
        return bad(err, i, "expected an object with a \"data\" object");
    if ((meta && !json_is_object(meta) && !json_is_null(meta)) || (anns && !json_is_array(anns)) ||
        (preds && !json_is_array(preds)) || (file && !json_is_string(file)))
        return bad(err, i, "meta, annotations, predictions or file_upload has the wrong type");
    size_t k;
    const json_t *v;
    json_array_foreach(anns, k, v) if (!json_is_object(v)) return bad(err, i,
                                                                      "annotation not an object");
    json_array_foreach(preds, k,
                       v) if (!json_is_object(v) ||
                              !json_is_array(json_object_get(
                                  v, "result"))) return bad(err, i,
                                                            "prediction without a \"result\" list");
    return 0;
}

static int insert_upload(struct import_ctx *x, const char *file, int64_t *id, struct base_err *err)
{
    struct store_stmt *s = store_prepare(x->c, SQL_UPLOAD, err);
    if (!s)
        return -1;
    store_bind_text(s, 1, file);
    store_bind_i64(s, 2, x->project);
    store_bind_id(s, 3, x->user);
    store_bind_time(s, 4, x->now);
    if (store_step_id(x->c, s, id, err))
        return -1;
    if (x->res->upload_count++ == 0)
        x->res->first_upload_id = *id;
    return 0;
}

static int insert_task(struct import_ctx *x, const json_t *t, int64_t upload, int64_t *id,
                       struct base_err *err)
{
    const json_t *anns = json_object_get(t, "annotations"),
                 *preds = json_object_get(t, "predictions");
    const json_t *meta = json_object_get(t, "meta"), *v;
    int64_t done = 0, cancelled = 0, finished = 0, nscore = 0;
    double score = 0;
    size_t k;
    json_array_foreach(anns, k, v)
    {
        int skip = json_is_true(json_object_get(v, "was_cancelled"));
        cancelled += skip;
        done += !skip;
        finished += x->ignore_skipped || (!skip && json_is_array(json_object_get(v, "result")));
    }
    json_array_foreach(preds, k, v) if (json_is_number(json_object_get(v, "score")))
    {
        score += json_number_value(json_object_get(v, "score"));
        nscore++;
    }
    struct store_stmt *s = store_prepare(x->c, SQL_TASK, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, x->project);
    store_bind_json(s, 2, json_object_get(t, "data"));
    if (json_is_object(meta))
        store_bind_json(s, 3, meta);
    else
        store_bind_static(s, 3, "{}");
    store_bind_time(s, 4, x->now);
    store_bind_int(s, 5, finished >= x->overlap);
    store_bind_i64(s, 6, x->overlap);
    store_bind_i64(s, 7, ++x->inner);
    store_bind_i64(s, 8, done);
    store_bind_i64(s, 9, cancelled);
    store_bind_i64(s, 10, (int64_t)json_array_size(preds));
    if (nscore)
        store_bind_real(s, 11, score / (double)nscore);
    store_bind_id(s, 12, upload);
    if (store_step_id(x->c, s, id, err))
        return -1;
    x->tasks++;
    x->annotations += done;
    x->predictions += (int64_t)json_array_size(preds);
    return 0;
}

/* The local user an imported annotation's completed_by names: the importer when it names none,
 * 0 (null, counted) when it names a user of another instance. The last answer is remembered:
 * an export usually has few annotators. */
static int map_user(struct import_ctx *x, const json_t *by, int64_t *id, struct base_err *err)
{
    const json_t *email = json_object_get(by, "email");
    if (!json_is_integer(by) && !json_is_string(email)) {
        *id = x->user;
        return 0;
    }
    int64_t key = json_is_integer(by) ? json_integer_value(by) : 0;
    const char *mail = json_is_string(email) ? json_string_value(email) : "";
    if (x->last_key == key && x->last_email && !strcmp(x->last_email, mail)) {
        *id = x->last_user;
    } else {
        struct store_stmt *s = store_prepare(x->c, SQL_USER, err);
        if (!s)
            return -1;
        store_bind_i64(s, 1, key);
        store_bind_static(s, 2, mail);
        int step = store_step(s);
        if (step != STORE_ROW && step != STORE_DONE)
            return store_fail(x->c, step, err);
        *id = step == STORE_ROW ? store_col_i64(s, 0) : 0;
        store_reset(s);
        base_free(x->last_email);
        x->last_email = base_strdup(mail);
        x->last_key = key;
        x->last_user = *id;
    }
    x->res->unknown_annotators += *id == 0;
    return 0;
}

static int insert_annotation(struct import_ctx *x, int64_t task, const json_t *a,
                             struct base_err *err)
{
    struct store_stmt *s = store_prepare(x->c, SQL_ANNOTATION, err);
    if (!s)
        return -1;
    const json_t *by = json_object_get(a, "completed_by"), *lead = json_object_get(a, "lead_time");
    const json_t *result = json_object_get(a, "result"), *pred = json_object_get(a, "prediction");
    store_bind_i64(s, 1, task);
    store_bind_i64(s, 2, x->project);
    int64_t who = 0;
    if (map_user(x, by, &who, err))
        return -1;
    store_bind_id(s, 3, who);
    store_bind_json(s, 4, json_is_null(result) ? NULL : result ? result : json_array());
    store_bind_int(s, 5, json_is_true(json_object_get(a, "was_cancelled")));
    store_bind_int(s, 6, json_is_true(json_object_get(a, "ground_truth")));
    if (json_is_number(lead))
        store_bind_real(s, 7, json_number_value(lead));
    if (json_is_object(pred))
        store_bind_json(s, 8, pred);
    else
        store_bind_static(s, 8, "{}");
    store_bind_time(s, 9, x->now);
    return store_step_done(x->c, s, err);
}

static int insert_prediction(struct import_ctx *x, int64_t task, const json_t *p,
                             struct base_err *err)
{
    struct store_stmt *s = store_prepare(x->c, SQL_PREDICTION, err);
    if (!s)
        return -1;
    const json_t *score = json_object_get(p, "score"), *mv = json_object_get(p, "model_version");
    const json_t *cluster = json_object_get(p, "cluster"), *nb = json_object_get(p, "neighbors");
    const json_t *mis = json_object_get(p, "mislabeling");
    store_bind_i64(s, 1, task);
    store_bind_i64(s, 2, x->project);
    store_bind_json(s, 3, json_object_get(p, "result"));
    if (json_is_number(score))
        store_bind_real(s, 4, json_number_value(score));
    store_bind_text(s, 5, json_is_string(mv) ? json_string_value(mv) : "");
    if (json_is_integer(cluster))
        store_bind_i64(s, 6, json_integer_value(cluster));
    store_bind_json(s, 7, json_is_null(nb) ? NULL : nb);
    store_bind_real(s, 8, json_is_number(mis) ? json_number_value(mis) : 0.0);
    store_bind_time(s, 9, x->now);
    return store_step_done(x->c, s, err);
}

static int import_one(struct import_ctx *x, const json_t *t, size_t i, struct base_err *err)
{
    if (check_task(t, i, err))
        return -1;
    int64_t upload = 0, task;
    const json_t *file = json_object_get(t, "file_upload"), *v;
    if (file && insert_upload(x, json_string_value(file), &upload, err))
        return base_err_prefix(err, "task %zu: ", i);
    if (insert_task(x, t, upload, &task, err))
        return base_err_prefix(err, "task %zu: ", i);
    if (x->res->task_count == 0)
        x->res->first_task_id = task;
    size_t k;
    json_array_foreach(json_object_get(t, "annotations"), k, v)
    {
        if (insert_annotation(x, task, v, err))
            return base_err_prefix(err, "task %zu annotation %zu: ", i, k);
        x->res->annotation_count++;
    }
    json_array_foreach(json_object_get(t, "predictions"), k, v)
    {
        if (insert_prediction(x, task, v, err))
            return base_err_prefix(err, "task %zu prediction %zu: ", i, k);
        x->res->prediction_count++;
    }
    x->res->task_count++;
    return 0;
}

static int load_project(struct import_ctx *x, struct base_err *err)
{
    struct store_stmt *s = store_prepare(x->c, SQL_PROJECT, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, x->project);
    if (store_step_row(x->c, s, err, BASE_E_NOTFOUND, "Not found."))
        return -1;
    x->overlap = store_col_i64(s, 0);
    x->ignore_skipped = store_col_int(s, 1);
    store_reset(s);
    if (!(s = store_prepare(x->c, SQL_MAX_INNER, err)))
        return -1;
    store_bind_i64(s, 1, x->project);
    int step = store_step(s);
    if (step != STORE_ROW)
        return store_fail(x->c, step, err);
    x->inner = store_col_i64(s, 0);
    store_reset(s);
    return 0;
}

struct store_import {
    struct store *st;
    struct import_ctx x;
    struct store_import_result res;
    size_t next; /* index of the next task, for messages */
    int failed;
};

struct store_import *store_import_begin(struct store *st, int64_t project, int64_t user,
                                        struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return NULL;
    struct store_import *imp = base_calloc(1, sizeof *imp);
    imp->st = st;
    imp->x = (struct import_ctx){.c = c,
                                 .project = project,
                                 .user = user,
                                 .overlap = 1,
                                 .now = base_time_us(),
                                 .res = &imp->res};
    imp->x.own_stats = store_conn_is_pg(c);
    if (store_begin(c, 1, err) ||
        (imp->x.own_stats && store_exec(c, "SET LOCAL labelloop.bulk = 'on'", err)) ||
        load_project(&imp->x, err)) {
        store_import_abort(imp);
        return NULL;
    }
    return imp;
}

int store_import_add(struct store_import *imp, const json_t *tasks, struct base_err *err)
{
    if (imp->failed)
        return base_err_set(err, BASE_E_INTERNAL, "import already failed");
    if (!json_is_array(tasks)) {
        imp->failed = 1;
        return base_err_set(err, BASE_E_INVALID, "expected a list of tasks");
    }
    size_t i;
    const json_t *t;
    json_array_foreach(tasks, i, t) if (import_one(&imp->x, t, imp->next + i, err))
    {
        imp->failed = 1;
        return -1;
    }
    imp->next += json_array_size(tasks);
    return 0;
}

/* Imported predictions set the new tasks' uncertainty (the queue's order) in the same
 * transaction; without predictions it stays NULL and nothing needs computing. */
static int import_uncertainty(struct store_import *imp, struct base_err *err)
{
    if (imp->res.prediction_count == 0)
        return 0;
    struct store_stmt *s = store_prepare(imp->x.c, SQL_UNCERTAINTY, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, imp->x.project);
    store_bind_i64(s, 2, imp->res.first_task_id);
    return store_step_done(imp->x.c, s, err);
}

/* On PostgreSQL the triggers left the new tasks uncounted (migration 13): one update counts them.
 */
static int import_stats(struct store_import *imp, struct base_err *err)
{
    const struct import_ctx *x = &imp->x;
    if (!x->own_stats || x->tasks == 0)
        return 0;
    struct store_stmt *s = store_prepare(x->c, SQL_STATS, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, x->project);
    store_bind_i64(s, 2, x->tasks);
    store_bind_i64(s, 3, x->annotations);
    store_bind_i64(s, 4, x->predictions);
    return store_step_done(x->c, s, err);
}

int store_import_commit(struct store_import *imp, struct store_import_result *res,
                        struct base_err *err)
{
    int rc = imp->failed ? base_err_set(err, BASE_E_INTERNAL, "import already failed")
                         : import_uncertainty(imp, err) || import_stats(imp, err) ||
                               store_commit(imp->x.c, err);
    if (rc == 0)
        *res = imp->res;
    else
        memset(res, 0, sizeof *res);
    store_import_abort(imp);
    return rc;
}

void store_import_abort(struct store_import *imp)
{
    if (!imp)
        return;
    store_rollback(imp->x.c);
    store_conn_put(imp->st, imp->x.c);
    base_free(imp->x.last_email);
    base_free(imp);
}

int store_tasks_import(struct store *st, int64_t project, const json_t *tasks, int64_t user,
                       struct store_import_result *res, struct base_err *err)
{
    memset(res, 0, sizeof *res);
    if (!json_is_array(tasks))
        return base_err_set(err, BASE_E_INVALID, "expected a list of tasks");
    struct store_import *imp = store_import_begin(st, project, user, err);
    if (!imp)
        return -1;
    if (store_import_add(imp, tasks, err)) {
        store_import_abort(imp);
        return -1;
    }
    return store_import_commit(imp, res, err);
}
