/* Actions of the data manager on a list of tasks (delete them, their annotations or predictions,
 * turn predictions into annotations): each one set-based statement over the ids (bound as one
 * JSON array) in one transaction that also brings the touched tasks' counters up to date. */
#include "store_int.h"

#include <string.h>

#define IDS " IN (" STORE_JSON_IDS("?2") ")"

static const char SQL_TASKS_DELETE[] = "DELETE FROM task WHERE project_id = ?1 AND id" IDS;
static const char SQL_ANN_TASKS[] = "SELECT DISTINCT task_id FROM annotation"
                                    " WHERE project_id = ?1 AND task_id" IDS;
static const char SQL_ANN_DELETE[] = "DELETE FROM annotation WHERE project_id = ?1 AND task_id" IDS;
static const char SQL_PRED_TASKS[] = "SELECT DISTINCT task_id FROM prediction"
                                     " WHERE project_id = ?1 AND task_id" IDS;
static const char SQL_PRED_DELETE[] =
    "DELETE FROM prediction WHERE project_id = ?1 AND task_id" IDS;
/* ?3 the user, ?4 the model versions (JSON array or NULL), ?5 now */
#define FROM_PREDICTIONS                                                                           \
    " FROM prediction p WHERE p.project_id = ?1 AND p.task_id" IDS                                 \
    " AND (p.model_version IN (" STORE_JSON_TEXTS(                                                 \
        "?4") ") OR ?4 IS NULL)"                                                                   \
              " AND NOT EXISTS (SELECT 1 FROM annotation a WHERE a.parent_prediction_id = p.id)"
static const char SQL_P2A_TASKS[] = "SELECT DISTINCT p.task_id" FROM_PREDICTIONS;
static const char SQL_P2A[] =
    "INSERT INTO annotation(task_id, project_id, completed_by_id, result, was_cancelled,"
    " ground_truth, prediction, created_at, updated_at, parent_prediction_id, last_action)"
    " SELECT p.task_id, p.project_id, ?3, p.result, 0, 0, '{}', ?5, ?5, p.id, "
    "'prediction'" FROM_PREDICTIONS " ORDER BY p.id";
static const char SQL_TOUCH[] = "UPDATE task SET updated_at = ?2, updated_by_id = ?3 WHERE id = ?1";

struct bulk {
    int64_t project, user;
    char *ids;                   /* JSON array */
    const json_t *versions;      /* JSON array or NULL */
    const char *collect, *write; /* the statements: touched tasks, then the change */
    int touch;                   /* mark the touched tasks updated by the user */
    int64_t *tasks, changed;     /* the touched tasks (collect), the rows the change changed */
    size_t ntasks;
};

static void bind_bulk(struct store_stmt *s, const struct bulk *b)
{
    store_bind_i64(s, 1, b->project);
    store_bind_static(s, 2, b->ids);
    if (store_bind_count(s) < 3)
        return;
    store_bind_id(s, 3, b->user);
    store_bind_json(s, 4, b->versions);
    store_bind_time(s, 5, base_time_us());
}

/* The tasks the change will touch, read before it is made. */
static int touched(struct store_conn *c, const struct bulk *b, int64_t **out, size_t *n,
                   struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, b->collect, err);
    if (!s)
        return -1;
    bind_bulk(s, b);
    size_t cap = 0;
    int step;
    while ((step = store_step(s)) == STORE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            *out = base_realloc(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = store_col_i64(s, 0);
    }
    store_reset(s);
    return step == STORE_DONE ? 0 : store_fail(c, step, err);
}

static int refresh(struct store_conn *c, const struct bulk *b, const int64_t *tasks, size_t n,
                   struct base_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (store_task_refresh(c, tasks[i], err))
            return -1;
        if (!b->touch)
            continue;
        struct store_stmt *s = store_prepare(c, SQL_TOUCH, err);
        if (!s)
            return -1;
        store_bind_i64(s, 1, tasks[i]);
        store_bind_time(s, 2, base_time_us());
        store_bind_id(s, 3, b->user);
        if (store_step_done(c, s, err))
            return -1;
    }
    return 0;
}

static int run_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct bulk *b = ctx;
    struct store_stmt *s;
    if ((b->collect && touched(c, b, &b->tasks, &b->ntasks, err)) ||
        !(s = store_prepare(c, b->write, err)))
        return -1;
    bind_bulk(s, b);
    if (store_step_done(c, s, err))
        return -1;
    b->changed = store_changes(c);
    return refresh(c, b, b->tasks, b->ntasks, err);
}

static int run(struct store *st, struct bulk *b, const int64_t *ids, size_t nids, int64_t *count,
               struct base_err *err)
{
    if (count)
        *count = 0;
    if (nids == 0)
        return 0;
    b->ids = store_ids_json(ids, nids);
    int rc = store_tx(st, STORE_TX_WRITE, run_body, b, err);
    if (rc == 0 && count)
        *count = b->changed;
    base_free(b->tasks);
    base_free(b->ids);
    return rc;
}

int store_tasks_delete_ids(struct store *st, int64_t project, const int64_t *ids, size_t nids,
                           int64_t *n, struct base_err *err)
{
    struct bulk b = {.project = project, .write = SQL_TASKS_DELETE};
    return run(st, &b, ids, nids, n, err);
}

int store_annotations_delete_tasks(struct store *st, int64_t project, const int64_t *ids,
                                   size_t nids, int64_t user, int64_t *n, struct base_err *err)
{
    struct bulk b = {.project = project,
                     .user = user,
                     .collect = SQL_ANN_TASKS,
                     .write = SQL_ANN_DELETE,
                     .touch = 1};
    return run(st, &b, ids, nids, n, err);
}

int store_predictions_delete_tasks(struct store *st, int64_t project, const int64_t *ids,
                                   size_t nids, int64_t *n, struct base_err *err)
{
    struct bulk b = {.project = project, .collect = SQL_PRED_TASKS, .write = SQL_PRED_DELETE};
    return run(st, &b, ids, nids, n, err);
}

int store_predictions_to_annotations(struct store *st, int64_t project, const int64_t *ids,
                                     size_t nids, const json_t *model_versions, int64_t user,
                                     int64_t *n, struct base_err *err)
{
    struct bulk b = {.project = project,
                     .user = user,
                     .versions = model_versions,
                     .collect = SQL_P2A_TASKS,
                     .write = SQL_P2A,
                     .touch = 1};
    return run(st, &b, ids, nids, n, err);
}
