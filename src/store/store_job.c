/* Training and prediction jobs of the loop: queued with coalescing, claimed fairly across
 * projects, progress and log written by the worker process, ended exactly once, and recovered
 * after a server restart. The table is the only place a job's state lives, so the server, its
 * worker processes and a restarted server all agree on it. */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

#define JOB_COLS                                                                                   \
    "id, project_id, kind, state, reason, attempt, version_id, created_at, started_at, ended_at,"  \
    " pid, cancel_requested, phase, progress, log, error, params, owner, lease_until"

static const char SQL_FIND_QUEUED[] = "SELECT id FROM ml_job WHERE project_id = ? AND kind = ?"
                                      " AND state = 'queued' ORDER BY id LIMIT 1";
/* Only while still queued: a claim on PostgreSQL does not wait for the writers' lock, so the
 * job found may have started since; the trigger then queues a job of its own. */
static const char SQL_REPLACE[] = "UPDATE ml_job SET reason = ?2, created_at = ?3,"
                                  " version_id = coalesce(?4, version_id), params = ?5"
                                  " WHERE id = ?1 AND state = 'queued'";
static const char SQL_INSERT[] = "INSERT INTO ml_job(project_id, kind, state, reason, attempt,"
                                 " version_id, created_at, params)"
                                 " SELECT ?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7 FROM project"
                                 " WHERE id = ?1 RETURNING id";
static const char SQL_GET[] = "SELECT " JOB_COLS " FROM ml_job WHERE id = ?";
static const char SQL_EACH[] = "SELECT " JOB_COLS " FROM ml_job WHERE ?1 = 0 OR project_id = ?1"
                               " ORDER BY id DESC LIMIT ?2";
/* The claim, one statement: among the projects with a queued job, the one whose last job
 * started longest ago (never started: first), then its oldest job. On PostgreSQL the pick skips
 * rows another claim holds (FOR UPDATE SKIP LOCKED) instead of waiting for the writers' lock, and
 * re-checks the row's state once it holds it; SQLite runs every write alone. */
#define SQL_CLAIM_HEAD                                                                             \
    "UPDATE ml_job SET state = 'running', started_at = ?1, pid = 0, phase = '', progress = '{}',"  \
    " owner = ?2, lease_until = ?3 WHERE state = 'queued' AND id = (SELECT j.id FROM ml_job j"     \
    " WHERE j.state = 'queued' ORDER BY"                                                           \
    " (SELECT max(k.started_at) FROM ml_job k WHERE k.project_id = j.project_id"                   \
    " AND k.started_at IS NOT NULL) IS NOT NULL,"                                                  \
    " (SELECT max(k.started_at) FROM ml_job k WHERE k.project_id = j.project_id), j.id LIMIT 1"
static const char SQL_CLAIM[] = SQL_CLAIM_HEAD ") RETURNING id";
static const char SQL_CLAIM_PG[] = SQL_CLAIM_HEAD " FOR UPDATE OF j SKIP LOCKED) RETURNING id";
static const char SQL_RENEW[] = "UPDATE ml_job SET lease_until = ?3 WHERE id = ?1 AND owner = ?2"
                                " AND state = 'running' RETURNING cancel_requested";
static const char SQL_EXPIRED[] = "SELECT id, attempt FROM ml_job WHERE state = 'running'"
                                  " AND lease_until <= ?1 ORDER BY id";
static const char SQL_REQUEUE[] =
    "UPDATE ml_job SET state = 'queued', attempt = attempt + 1, owner = '', lease_until = 0,"
    " pid = 0, error = ?2 WHERE id = ?1 AND state = 'running'";
static const char SQL_PID[] = "UPDATE ml_job SET pid = ?2 WHERE id = ?1";
static const char SQL_PROGRESS[] = "UPDATE ml_job SET phase = ?2, progress = coalesce(?3, progress)"
                                   " WHERE id = ?1 AND state = 'running'";
static const char SQL_LOG[] = "UPDATE ml_job SET log = ?2 WHERE id = ?1";
static const char SQL_FINISH[] = "UPDATE ml_job SET state = ?2, error = ?3, ended_at = ?4, pid = 0"
                                 " WHERE id = ?1 AND state IN ('queued', 'running')";
static const char SQL_CANCEL_INFO[] = "SELECT state, pid FROM ml_job WHERE id = ?";
static const char SQL_CANCEL_FLAG[] = "UPDATE ml_job SET cancel_requested = 1 WHERE id = ?";
static const char SQL_LOOP_STATE[] =
    "SELECT (SELECT count(*) FROM task WHERE project_id = ?1 AND is_labeled = 1),"
    " (SELECT count(*) FROM ml_job WHERE project_id = ?1 AND kind = 'train'),"
    " (SELECT count(*) FROM annotation WHERE project_id = ?1 AND updated_at >"
    "  coalesce((SELECT max(created_at) FROM ml_job WHERE project_id = ?1 AND kind = 'train'),"
    "  '')),"
    " (SELECT count(*) FROM ml_job WHERE project_id = ?1 AND state = 'queued'),"
    " (SELECT count(*) FROM ml_job WHERE project_id = ?1 AND state = 'running'),"
    " (SELECT count(*) FROM ml_job WHERE project_id = ?1 AND state = 'queued' AND kind = 'train'),"
    " coalesce((SELECT v.id FROM ml_version v JOIN project p ON p.id = v.project_id"
    "  WHERE p.id = ?1 AND v.name = p.model_version), 0)";

static const char *const KINDS[] = {[STORE_JOB_TRAIN] = "train", [STORE_JOB_PREDICT] = "predict"};
static const char *const STATES[] = {
    [STORE_JOB_QUEUED] = "queued", [STORE_JOB_RUNNING] = "running",     [STORE_JOB_DONE] = "done",
    [STORE_JOB_FAILED] = "failed", [STORE_JOB_CANCELLED] = "cancelled",
};

const char *store_job_kind_name(enum store_job_kind k)
{
    return (unsigned)k <= STORE_JOB_PREDICT ? KINDS[k] : "?";
}

const char *store_job_state_name(enum store_job_state s)
{
    return (unsigned)s <= STORE_JOB_CANCELLED ? STATES[s] : "?";
}

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (!strcmp(names[i], s))
            return i;
    return 0;
}

static char *col_strdup(struct store_stmt *s, int i)
{
    const char *t = store_col_str(s, i);
    return t ? base_strdup(t) : NULL;
}

static void load(struct store_stmt *s, void *out)
{
    struct store_job *j = out;
    memset(j, 0, sizeof *j);
    j->id = store_col_i64(s, 0);
    j->project = store_col_i64(s, 1);
    j->kind = lookup(KINDS, 2, store_col_str(s, 2));
    j->state = lookup(STATES, 5, store_col_str(s, 3));
    store_col_copy(s, 4, j->reason, sizeof j->reason);
    j->attempt = store_col_int(s, 5);
    j->version = store_col_i64(s, 6);
    j->created_at = store_col_time(s, 7);
    j->started_at = store_col_time(s, 8);
    j->ended_at = store_col_time(s, 9);
    j->pid = store_col_i64(s, 10);
    j->cancel_requested = store_col_int(s, 11);
    store_col_copy(s, 12, j->phase, sizeof j->phase);
    j->progress = store_col_json(s, 13);
    if (!json_is_object(j->progress)) {
        json_decref(j->progress);
        j->progress = json_object();
    }
    j->log = col_strdup(s, 14);
    if (!j->log)
        j->log = base_strdup("");
    j->error = col_strdup(s, 15);
    j->params = store_col_json(s, 16);
    if (!json_is_object(j->params)) {
        json_decref(j->params);
        j->params = json_object();
    }
    store_col_copy(s, 17, j->owner, sizeof j->owner);
    j->lease_until = store_col_i64(s, 18);
}

void store_job_release(struct store_job *j)
{
    if (!j)
        return;
    json_decref(j->progress);
    json_decref(j->params);
    base_free(j->log);
    base_free(j->error);
    j->progress = j->params = NULL;
    j->log = j->error = NULL;
}

static int find_queued(struct store_conn *c, int64_t project, enum store_job_kind kind, int64_t *id,
                       struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_FIND_QUEUED, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, project);
    store_bind_static(s, 2, KINDS[kind]);
    int step = store_step(s);
    *id = step == STORE_ROW ? store_col_i64(s, 0) : 0;
    store_reset(s);
    return step == STORE_ROW || step == STORE_DONE ? 0 : store_fail(c, step, err);
}

static int insert_job(struct store_conn *c, int64_t project, enum store_job_kind kind,
                      const char *reason, int64_t version, int attempt, const json_t *params,
                      int64_t *id, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_INSERT, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, project);
    store_bind_static(s, 2, KINDS[kind]);
    store_bind_text(s, 3, reason);
    store_bind_int(s, 4, attempt > 0 ? attempt : 1);
    store_bind_id(s, 5, version);
    store_bind_time(s, 6, base_time_us());
    store_bind_json(s, 7, params);
    if (store_step_id(c, s, id, err))
        return -1;
    if (*id == 0)
        return base_err_set(err, BASE_E_NOTFOUND, "project %lld not found", (long long)project);
    return 0;
}

static int replace_job(struct store_conn *c, int64_t id, const char *reason, int64_t version,
                       const json_t *params, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_REPLACE, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, id);
    store_bind_text(s, 2, reason);
    store_bind_time(s, 3, base_time_us());
    store_bind_id(s, 4, version);
    store_bind_json(s, 5, params);
    return store_step_done(c, s, err);
}

struct enqueue {
    int64_t project, version;
    enum store_job_kind kind;
    const char *reason;
    int attempt, coalesce;
    const json_t *params;
    int64_t *id;
    int *replaced;
};

static int enqueue_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct enqueue *q = ctx;
    int64_t found = 0;
    if (q->coalesce && find_queued(c, q->project, q->kind, &found, err))
        return -1;
    if (!found)
        return insert_job(c, q->project, q->kind, q->reason, q->version, q->attempt, q->params,
                          q->id, err);
    if (replace_job(c, found, q->reason, q->version, q->params, err))
        return -1;
    if (store_changes(c) == 0) /* claimed since it was found */
        return insert_job(c, q->project, q->kind, q->reason, q->version, q->attempt, q->params,
                          q->id, err);
    *q->id = found;
    if (q->replaced)
        *q->replaced = 1;
    return 0;
}

int store_job_enqueue(struct store *st, int64_t project, enum store_job_kind kind,
                      const char *reason, int64_t version, int attempt, const json_t *params,
                      int coalesce, int64_t *id, int *replaced, struct base_err *err)
{
    if ((unsigned)kind > STORE_JOB_PREDICT)
        return base_err_set(err, BASE_E_INVALID, "unknown job kind");
    json_t *empty = params ? NULL : json_object();
    struct enqueue q = {project, version, kind, reason, attempt, coalesce, params ? params : empty,
                        id,      replaced};
    if (replaced)
        *replaced = 0;
    int rc = store_tx(st, STORE_TX_WRITE, enqueue_body, &q, err);
    if (rc && replaced)
        *replaced = 0;
    json_decref(empty);
    return rc;
}

int store_job_get(struct store *st, int64_t id, struct store_job *out, struct base_err *err)
{
    char missing[64];
    snprintf(missing, sizeof missing, "job %lld not found", (long long)id);
    struct store_one q = {.sql = SQL_GET, .key = id, .load = load, .out = out, .msg = missing};
    return store_one(st, &q, err);
}

STORE_EACH_ROW(each_row, struct store_job, store_job_fn, load, store_job_release)

int store_job_each(struct store *st, int64_t project, int64_t limit, store_job_fn fn, void *ctx,
                   struct base_err *err)
{
    int64_t keys[2] = {project, limit > 0 ? limit : STORE_NO_LIMIT};
    struct store_cb x = STORE_CB(fn, ctx);
    return store_read(st, SQL_EACH, store_bind_ids_arg, keys, 0, each_row, &x, err);
}

/* ?1 = id and ?2 = an integer (or a text when `text` is set), of the one-row updates. */
struct id_value {
    int64_t id, n;
    const char *text;
};

static void bind_id_value(struct store_stmt *s, void *arg)
{
    const struct id_value *v = arg;
    store_bind_i64(s, 1, v->id);
    if (v->text)
        store_bind_text(s, 2, v->text);
    else
        store_bind_i64(s, 2, v->n);
}

int store_job_claim(struct store *st, const char *owner, int64_t lease_until_us, int64_t *id,
                    struct base_err *err)
{
    *id = 0;
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    struct store_stmt *s = store_prepare(c, store_conn_is_pg(c) ? SQL_CLAIM_PG : SQL_CLAIM, err);
    int rc = -1;
    if (s) {
        store_bind_time(s, 1, base_time_us());
        store_bind_text(s, 2, owner);
        store_bind_i64(s, 3, lease_until_us);
        rc = store_step_id(c, s, id, err);
    }
    if (rc)
        *id = 0;
    store_conn_put(st, c);
    return rc;
}

int store_job_renew(struct store *st, int64_t id, const char *owner, int64_t lease_until_us,
                    int *owned, int *cancel, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    struct store_stmt *s = store_prepare(c, SQL_RENEW, err);
    int rc = -1;
    if (s) {
        store_bind_i64(s, 1, id);
        store_bind_text(s, 2, owner);
        store_bind_i64(s, 3, lease_until_us);
        int step = store_step(s);
        *owned = step == STORE_ROW;
        *cancel = step == STORE_ROW && store_col_int(s, 0);
        store_reset(s);
        rc = step == STORE_ROW || step == STORE_DONE ? 0 : store_fail(c, step, err);
    }
    store_conn_put(st, c);
    return rc;
}

int store_job_set_pid(struct store *st, int64_t id, int64_t pid, struct base_err *err)
{
    struct id_value v = {id, pid, NULL};
    return store_write_one(st, SQL_PID, bind_id_value, &v, NULL, NULL, err);
}

int store_job_set_log(struct store *st, int64_t id, const char *log, struct base_err *err)
{
    struct id_value v = {id, 0, log ? log : ""};
    return store_write_one(st, SQL_LOG, bind_id_value, &v, NULL, NULL, err);
}

struct progress {
    int64_t id;
    const char *phase;
    const json_t *progress;
};

static void bind_progress(struct store_stmt *s, void *arg)
{
    const struct progress *p = arg;
    store_bind_i64(s, 1, p->id);
    store_bind_text(s, 2, p->phase ? p->phase : "");
    store_bind_json(s, 3, p->progress);
}

int store_job_progress(struct store *st, int64_t id, const char *phase, const json_t *progress,
                       struct base_err *err)
{
    struct progress p = {id, phase, progress};
    return store_write_one(st, SQL_PROGRESS, bind_progress, &p, NULL, NULL, err);
}

struct finish {
    int64_t id;
    enum store_job_state state;
    const char *error;
    int *changed;
};

static void bind_finish(struct store_stmt *s, void *arg)
{
    const struct finish *f = arg;
    store_bind_i64(s, 1, f->id);
    store_bind_static(s, 2, STATES[f->state]);
    store_bind_text(s, 3, f->error);
    store_bind_time(s, 4, base_time_us());
}

static int finish_on(struct store_conn *c, int64_t id, enum store_job_state state,
                     const char *error, int *changed, struct base_err *err)
{
    struct finish f = {id, state, error, changed};
    if (store_write_on(c, SQL_FINISH, bind_finish, &f, NULL, NULL, err))
        return -1;
    if (changed)
        *changed = store_changes(c) > 0;
    return 0;
}

static int finish_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct finish *f = ctx;
    return finish_on(c, f->id, f->state, f->error, f->changed, err);
}

int store_job_finish(struct store *st, int64_t id, enum store_job_state state, const char *error,
                     int *changed, struct base_err *err)
{
    if (state < STORE_JOB_DONE || state > STORE_JOB_CANCELLED)
        return base_err_set(err, BASE_E_INVALID, "a job ends done, failed or cancelled");
    struct finish f = {id, state, error, changed};
    return store_tx(st, STORE_TX_NONE, finish_body, &f, err);
}

struct cancel {
    int64_t id;
    enum store_job_state *was;
    int64_t *pid;
};

static void load_cancel(struct store_stmt *s, void *arg)
{
    struct cancel *x = arg;
    *x->was = lookup(STATES, 5, store_col_str(s, 0));
    *x->pid = store_col_i64(s, 1);
}

static int cancel_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct cancel *x = ctx;
    char missing[64];
    snprintf(missing, sizeof missing, "job %lld not found", (long long)x->id);
    struct store_one q = {
        .sql = SQL_CANCEL_INFO, .key = x->id, .load = load_cancel, .out = x, .msg = missing};
    if (store_one_on(c, &q, err))
        return -1;
    if (*x->was == STORE_JOB_QUEUED)
        return finish_on(c, x->id, STORE_JOB_CANCELLED, "cancelled before it started", NULL, err);
    if (*x->was == STORE_JOB_RUNNING)
        return store_write_on(c, SQL_CANCEL_FLAG, store_bind_id_arg, &x->id, NULL, NULL, err);
    return 0;
}

int store_job_cancel(struct store *st, int64_t id, enum store_job_state *was, int64_t *pid,
                     struct base_err *err)
{
    struct cancel x = {id, was, pid};
    return store_tx(st, STORE_TX_WRITE, cancel_body, &x, err);
}

struct expired {
    int64_t id;
    int attempt;
};

static int list_expired(struct store_conn *c, int64_t now, struct expired **out, size_t *n,
                        struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_EXPIRED, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, now);
    int step;
    size_t cap = 0;
    while ((step = store_step(s)) == STORE_ROW) {
        if (*n == cap)
            *out = base_realloc(*out, (cap = cap * 2 + 4) * sizeof **out);
        (*out)[(*n)++] = (struct expired){store_col_i64(s, 0), store_col_int(s, 1)};
    }
    store_reset(s);
    return step == STORE_DONE ? 0 : store_fail(c, step, err);
}

struct recover {
    int64_t now;
    int max_attempts;
    int64_t *failed, *requeued;
    struct expired *jobs;
    size_t n;
};

static void bind_requeue(struct store_stmt *s, void *arg)
{
    const struct expired *j = arg;
    char why[128];
    snprintf(why, sizeof why,
             "job %lld: the server running it stopped renewing its lease;"
             " queued again (attempt %d)",
             (long long)j->id, j->attempt + 1);
    store_bind_i64(s, 1, j->id);
    store_bind_text(s, 2, why);
}

static int recover_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct recover *r = ctx;
    if (list_expired(c, r->now, &r->jobs, &r->n, err))
        return -1;
    for (size_t i = 0; i < r->n; i++) {
        struct expired *j = &r->jobs[i];
        if (j->attempt < r->max_attempts) {
            if (store_write_on(c, SQL_REQUEUE, bind_requeue, j, NULL, NULL, err))
                return -1;
            ++*r->requeued;
            continue;
        }
        char why[160];
        snprintf(why, sizeof why,
                 "job %lld: its server stopped during each of %d attempts;"
                 " not retried",
                 (long long)j->id, j->attempt);
        if (finish_on(c, j->id, STORE_JOB_FAILED, why, NULL, err))
            return -1;
        ++*r->failed;
    }
    return 0;
}

int store_jobs_recover(struct store *st, int64_t now_us, int max_attempts, int64_t *failed,
                       int64_t *requeued, struct base_err *err)
{
    struct recover r = {now_us, max_attempts, failed, requeued, NULL, 0};
    *failed = *requeued = 0;
    int rc = store_tx(st, STORE_TX_WRITE, recover_body, &r, err);
    base_free(r.jobs);
    return rc;
}

static void load_loop_state(struct store_stmt *s, void *arg)
{
    struct store_loop_state *out = arg;
    int64_t *f[] = {&out->labeled, &out->train_jobs,   &out->changes,        &out->queued,
                    &out->running, &out->queued_train, &out->current_version};
    for (int i = 0; i < 7; i++)
        *f[i] = store_col_i64(s, i);
}

int store_loop_state(struct store *st, int64_t project, struct store_loop_state *out,
                     struct base_err *err)
{
    struct store_one q = {
        .sql = SQL_LOOP_STATE, .key = project, .load = load_loop_state, .out = out};
    return store_one(st, &q, err);
}
