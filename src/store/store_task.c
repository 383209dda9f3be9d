/* Tasks: the streaming iterator (chunks of tasks in id order, each chunk's annotations and
 * predictions fetched with one range query apiece and merged), totals, updates, deletion and the
 * orders of the labeling queue. */
#include "store_int.h"

#include <string.h>

#define CHUNK 256

#define TASK_COLS                                                                                  \
    "t.id, t.project_id, t.data, t.meta, t.created_at, t.updated_at, t.is_labeled, t.overlap, "    \
    "t.inner_id, t.total_annotations, t.cancelled_annotations, t.total_predictions, "              \
    "t.prediction_score, t.file_upload_id, f.file, t.updated_by_id, t.uncertainty"

/* ?3: only annotated; ?4: JSON array of ids or NULL. */
#define TASK_FILTER                                                                                \
    " t.project_id = ?1 AND (?3 = 0 OR t.total_annotations + t.cancelled_annotations > 0)"         \
    " AND (t.id IN (" STORE_JSON_IDS("?4") ") OR ?4 IS NULL)"

/* INDEXED BY: without statistics SQLite would rather walk the rowids of every project. */
static const char SQL_CHUNK[] = "SELECT " TASK_COLS " FROM task t INDEXED BY task_project"
                                " LEFT JOIN file_upload f ON f.id = t.file_upload_id"
                                " WHERE" TASK_FILTER " AND t.id > ?2"
                                " ORDER BY t.id LIMIT ?5 OFFSET ?6";
/* The same for an id list: the ids drive the lookup (the OR in TASK_FILTER would make SQLite scan
 * the whole project and test each row against the list). */
static const char SQL_CHUNK_IDS[] =
    "SELECT " TASK_COLS " FROM task t"
    " LEFT JOIN file_upload f ON f.id = t.file_upload_id"
    " WHERE t.id IN (" STORE_JSON_IDS("?4") ")"
                                            " AND" TASK_FILTER " AND t.id > ?2"
                                            " ORDER BY t.id LIMIT ?5 OFFSET ?6";
/* Where page N starts, from the covering index alone (OFFSET over full rows is much slower). */
static const char SQL_SEEK[] = "SELECT id FROM task INDEXED BY task_project WHERE project_id = ?1"
                               " ORDER BY id LIMIT 1 OFFSET ?2";
/* When a project's ids are contiguous (bulk imports, nothing deleted in between) the task at
 * position k is simply first + k: no index walk at all. */
static const char SQL_SPAN[] =
    "SELECT (SELECT id FROM task INDEXED BY task_project WHERE project_id = ?1 ORDER BY id"
    " LIMIT 1), (SELECT id FROM task INDEXED BY task_project WHERE project_id = ?1"
    " ORDER BY id DESC LIMIT 1), (SELECT tasks FROM project_stats WHERE project_id = ?1)";
static const char SQL_STATS[] = "SELECT tasks, annotations, predictions FROM project_stats"
                                " WHERE project_id = ?";
static const char SQL_ONE[] = "SELECT " TASK_COLS " FROM task t"
                              " LEFT JOIN file_upload f ON f.id = t.file_upload_id"
                              " WHERE t.id = ?1";
static const char SQL_TOTALS[] = "SELECT count(*), coalesce(sum(t.total_annotations), 0),"
                                 " coalesce(sum(t.total_predictions), 0) FROM task t"
                                 " WHERE" TASK_FILTER " AND ?2 = 0";
static const char SQL_ANN_RANGE[] = "SELECT " STORE_ANNOTATION_COLS " FROM annotation"
                                    " WHERE project_id = ?1 AND task_id BETWEEN ?2 AND ?3"
                                    " ORDER BY task_id, id";
static const char SQL_PRED_RANGE[] = "SELECT " STORE_PREDICTION_COLS " FROM prediction"
                                     " WHERE project_id = ?1 AND task_id BETWEEN ?2 AND ?3"
                                     " ORDER BY task_id, id";
/* For an id list (a reordered or filtered page, scattered over the project): the rows of just
 * those tasks, not of every task between the lowest and the highest. ?2: JSON array of ids. */
static const char SQL_ANN_IDS[] = "SELECT " STORE_ANNOTATION_COLS " FROM annotation"
                                  " WHERE project_id = ?1 AND task_id IN"
                                  " (" STORE_JSON_IDS("?2") ") ORDER BY task_id, id";
static const char SQL_PRED_IDS[] = "SELECT " STORE_PREDICTION_COLS " FROM prediction"
                                   " WHERE project_id = ?1 AND task_id IN"
                                   " (" STORE_JSON_IDS("?2") ") ORDER BY task_id, id";
static const char SQL_PROJECT_OF[] = "SELECT project_id FROM task WHERE id = ?";
static const char SQL_UPDATE[] =
    "UPDATE task SET data = coalesce(?2, data), meta = coalesce(?3, meta), updated_at = ?4,"
    " updated_by_id = ?5 WHERE id = ?1";
static const char SQL_DELETE[] = "DELETE FROM task WHERE id = ?";
static const char SQL_DELETE_ALL[] = "DELETE FROM task WHERE project_id = ?";
static const char SQL_REFRESH[] =
    "UPDATE task SET"
    " total_annotations = (SELECT count(*) FROM annotation WHERE task_id = ?1"
    "  AND was_cancelled = 0),"
    " cancelled_annotations = (SELECT count(*) FROM annotation WHERE task_id = ?1"
    "  AND was_cancelled = 1),"
    " total_predictions = (SELECT count(*) FROM prediction WHERE task_id = ?1),"
    " prediction_score = (SELECT avg(score) FROM prediction WHERE task_id = ?1),"
    " uncertainty = " STORE_UNCERTAINTY(
        "?1",
        "task.project_id") ","
                           " is_labeled = (CASE WHEN (SELECT count(*) FROM annotation a WHERE "
                           "a.task_id = ?1"
                           "  AND ((a.was_cancelled = 0 AND a.result IS NOT NULL)"
                           "  OR (SELECT skip_queue FROM project p WHERE p.id = task.project_id) = "
                           "'IGNORE_SKIPPED'))"
                           "  >= overlap THEN 1 ELSE 0 END)"
                           " WHERE id = ?1";

#define NOT_MINE                                                                                   \
    " NOT EXISTS (SELECT 1 FROM annotation a WHERE a.task_id = t.id AND a.completed_by_id = ?2)"
static const char SQL_NEXT_SEQ[] = "SELECT t.id FROM task t WHERE t.project_id = ?1"
                                   " AND t.is_labeled = 0 AND" NOT_MINE " ORDER BY t.id LIMIT 1";
static const char SQL_NEXT_COUNT[] = "SELECT count(*) FROM task t WHERE t.project_id = ?1"
                                     " AND t.is_labeled = 0 AND" NOT_MINE;
static const char SQL_NEXT_NTH[] =
    "SELECT t.id FROM task t WHERE t.project_id = ?1"
    " AND t.is_labeled = 0 AND" NOT_MINE " ORDER BY t.id LIMIT 1 OFFSET ?3";
static const char SQL_NEXT_UNCERTAIN[] =
    "SELECT t.id FROM task t INDEXED BY task_next_uncertain WHERE t.project_id = ?1"
    " AND t.is_labeled = 0 AND t.uncertainty IS NOT NULL AND" NOT_MINE
    " ORDER BY t.uncertainty DESC, t.id LIMIT 1";

/* The same orders for store_task_take, which also skips tasks whose annotations and other
 * users' live locks reach their overlap (Label Studio's rule): ?3 is now, in microseconds. */
#define NOT_LOCKED                                                                                 \
    " t.total_annotations + (SELECT count(*) FROM task_lock l WHERE l.task_id = t.id"              \
    " AND l.user_id <> ?2 AND l.expire_us > ?3) < t.overlap"
#define TAKE_WHERE " t.project_id = ?1 AND t.is_labeled = 0 AND" NOT_MINE " AND" NOT_LOCKED
static const char SQL_TAKE_SEQ[] =
    "SELECT t.id FROM task t WHERE" TAKE_WHERE " ORDER BY t.id LIMIT 1";
static const char SQL_TAKE_COUNT[] = "SELECT count(*) FROM task t WHERE" TAKE_WHERE;
static const char SQL_TAKE_NTH[] =
    "SELECT t.id FROM task t WHERE" TAKE_WHERE " ORDER BY t.id LIMIT 1 OFFSET ?4";
static const char SQL_TAKE_UNCERTAIN[] =
    "SELECT t.id FROM task t WHERE" TAKE_WHERE " AND t.uncertainty IS NOT NULL"
    " ORDER BY t.uncertainty DESC, t.id LIMIT 1";
/* The user's own live lock in the project, on a task still to do: handed out again first. */
static const char SQL_TAKE_MINE[] =
    "SELECT t.id FROM task_lock l JOIN task t ON t.id = l.task_id"
    " WHERE l.project_id = ?1 AND l.user_id = ?2 AND l.expire_us > ?3 AND t.is_labeled = 0"
    " AND" NOT_MINE " ORDER BY l.id DESC LIMIT 1";
static const char SQL_LOCK_PURGE[] = "DELETE FROM task_lock WHERE expire_us <= ?";
static const char SQL_LOCK_DROP_MINE[] =
    "DELETE FROM task_lock WHERE project_id = ?1 AND user_id = ?2";
static const char SQL_LOCK_INSERT[] =
    "INSERT INTO task_lock(project_id, task_id, user_id, expire_us, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_LOCK_GET[] =
    "SELECT user_id, expire_us FROM task_lock WHERE task_id = ?1 AND expire_us > ?2"
    " ORDER BY id DESC LIMIT 1";

/* ---- loading a chunk ------------------------------------------------------------------------- */

struct chunk {
    struct base_arena *arena;
    struct store_task *tasks; /* cap entries: CHUNK, or fewer for small queries */
    size_t cap;
    size_t n;
    struct store_annotation *anns;
    size_t nanns, capanns;
    struct store_prediction *preds;
    size_t npreds, cappreds;
};

/* JSON column i as text in the arena, "{}" for SQL NULL (as the parsed form's empty object). */
static const char *object_text(struct store_stmt *s, int i, struct base_arena *a, size_t *len)
{
    const char *text = store_col_json_text(s, i, a, len);
    if (!text)
        *len = 2;
    return text ? text : "{}";
}

#define F(col, how, member) STORE_FIELD(col, how, struct store_task, member)
static const struct store_field TASK_FIELDS[] = {
    F(0, I64, id),
    F(1, I64, project),
    F(4, TIME, created_at),
    F(5, TIME, updated_at),
    F(6, INT, is_labeled),
    F(7, I64, overlap),
    F(8, I64, inner_id),
    F(9, I64, total_annotations),
    F(10, I64, cancelled_annotations),
    F(11, I64, total_predictions),
    F(12, SET, has_prediction_score),
    F(12, REAL, prediction_score),
    F(13, I64, file_upload_id),
    F(15, I64, updated_by),
    F(16, SET, has_uncertainty),
    F(16, REAL, uncertainty),
};
#undef F

static void load_task(struct store_stmt *s, struct store_task *t, struct base_arena *a,
                      int json_text)
{
    memset(t, 0, sizeof *t);
    if (json_text) {
        t->data_text = object_text(s, 2, a, &t->data_len);
        t->meta_text = object_text(s, 3, a, &t->meta_len);
    } else {
        t->data = store_col_json(s, 2);
        t->meta = store_col_json(s, 3);
        if (!t->data)
            t->data = json_object();
        if (!t->meta)
            t->meta = json_object();
    }
    store_load_fields(s, TASK_FIELDS, sizeof TASK_FIELDS / sizeof TASK_FIELDS[0], t);
    const char *file = store_col_text(s, 14, a);
    const char *slash = file ? strrchr(file, '/') : NULL;
    t->file_upload = slash ? slash + 1 : file;
}

static void chunk_clear(struct chunk *ch)
{
    for (size_t i = 0; i < ch->n; i++) {
        json_decref(ch->tasks[i].data);
        json_decref(ch->tasks[i].meta);
    }
    for (size_t i = 0; i < ch->nanns; i++) {
        json_decref(ch->anns[i].result);
        json_decref(ch->anns[i].prediction);
    }
    for (size_t i = 0; i < ch->npreds; i++) {
        json_decref(ch->preds[i].result);
        json_decref(ch->preds[i].neighbors);
    }
    ch->n = ch->nanns = ch->npreds = 0;
    base_arena_reset(ch->arena);
}

static int load_tasks(struct store_conn *c, const struct store_task_query *q, const char *ids,
                      int64_t after, int64_t limit, int64_t offset, struct chunk *ch,
                      struct base_err *err)
{
    struct store_stmt *s = store_prepare(c,
                                         q->task ? SQL_ONE
                                         : ids   ? SQL_CHUNK_IDS
                                                 : SQL_CHUNK,
                                         err);
    if (!s)
        return -1;
    if (q->task) {
        store_bind_i64(s, 1, q->task);
    } else {
        store_bind_i64(s, 1, q->project);
        store_bind_i64(s, 2, after);
        store_bind_int(s, 3, q->only_annotated ? 1 : 0);
        store_bind_text(s, 4, ids);
        store_bind_i64(s, 5, limit);
        store_bind_i64(s, 6, offset);
    }
    int step = STORE_DONE;
    while (ch->n < ch->cap && (step = store_step(s)) == STORE_ROW)
        load_task(s, &ch->tasks[ch->n++], ch->arena, q->json_text);
    if (ch->n < ch->cap && step != STORE_DONE)
        return store_fail(c, step, err);
    store_reset(s);
    return 0;
}

/* Gives each task its slice of the rows (sorted by task id, then id). */
#define ATTACH(CH, ARR, COUNT, FIELD, NFIELD)                                                      \
    do {                                                                                           \
        size_t k_ = 0;                                                                             \
        for (size_t i_ = 0; i_ < (CH)->n; i_++) {                                                  \
            struct store_task *t_ = &(CH)->tasks[i_];                                              \
            while (k_ < (COUNT) && (ARR)[k_].task < t_->id)                                        \
                k_++;                                                                              \
            t_->FIELD = k_ < (COUNT) && (ARR)[k_].task == t_->id ? &(ARR)[k_] : NULL;              \
            while (k_ < (COUNT) && (ARR)[k_].task == t_->id)                                       \
                k_++, t_->NFIELD++;                                                                \
        }                                                                                          \
    } while (0)

/* The statement for a chunk's annotations or predictions: by id list when the query has one,
 * else by the chunk's id range. */
static struct store_stmt *children_stmt(struct store_conn *c, const char *ids, const char *by_ids,
                                        const char *by_range, int64_t project, int64_t lo,
                                        int64_t hi, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, ids ? by_ids : by_range, err);
    if (!s)
        return NULL;
    store_bind_i64(s, 1, project);
    if (ids) {
        store_bind_text(s, 2, ids);
    } else {
        store_bind_i64(s, 2, lo);
        store_bind_i64(s, 3, hi);
    }
    return s;
}

/* The chunk's task ids as a JSON array (in the chunk's arena). */
static const char *chunk_ids(struct chunk *ch)
{
    struct base_buf b;
    base_buf_init(&b, SIZE_MAX / 2);
    for (size_t i = 0; i < ch->n; i++)
        base_buf_printf(&b, NULL, "%s%lld", i ? "," : "[", (long long)ch->tasks[i].id);
    const char *out = base_arena_printf(ch->arena, "%s]", b.data);
    base_buf_release(&b);
    return out;
}

static int load_children(struct store_conn *c, const struct store_task_query *q, struct chunk *ch,
                         struct base_err *err)
{
    const char *ids = q->nids ? chunk_ids(ch) : NULL;
    int64_t project = ch->tasks[0].project, lo = ch->tasks[0].id, hi = ch->tasks[ch->n - 1].id;
    int step = STORE_DONE;
    struct store_stmt *s;
    if (q->with_annotations) {
        if (!(s = children_stmt(c, ids, SQL_ANN_IDS, SQL_ANN_RANGE, project, lo, hi, err)))
            return -1;
        while ((step = store_step(s)) == STORE_ROW) {
            if (ch->nanns == ch->capanns) {
                ch->capanns = ch->capanns ? ch->capanns * 2 : 256;
                ch->anns = base_realloc(ch->anns, ch->capanns * sizeof *ch->anns);
            }
            (q->json_text ? store_annotation_load_text
                          : store_annotation_load)(s, &ch->anns[ch->nanns++], ch->arena);
        }
        if (step != STORE_DONE)
            return store_fail(c, step, err);
        ATTACH(ch, ch->anns, ch->nanns, annotations, nannotations);
    }
    if (q->with_predictions) {
        if (!(s = children_stmt(c, ids, SQL_PRED_IDS, SQL_PRED_RANGE, project, lo, hi, err)))
            return -1;
        while ((step = store_step(s)) == STORE_ROW) {
            if (ch->npreds == ch->cappreds) {
                ch->cappreds = ch->cappreds ? ch->cappreds * 2 : 256;
                ch->preds = base_realloc(ch->preds, ch->cappreds * sizeof *ch->preds);
            }
            (q->json_text ? store_prediction_load_text
                          : store_prediction_load)(s, &ch->preds[ch->npreds++], ch->arena);
        }
        if (step != STORE_DONE)
            return store_fail(c, step, err);
        ATTACH(ch, ch->preds, ch->npreds, predictions, npredictions);
    }
    return 0;
}

static char *ids_json(const struct store_task_query *q)
{
    if (!q->nids || q->task)
        return NULL;
    struct base_buf b;
    base_buf_init(&b, SIZE_MAX / 2);
    base_buf_puts(&b, "[", NULL);
    for (size_t i = 0; i < q->nids; i++)
        base_buf_printf(&b, NULL, "%s%lld", i ? "," : "", (long long)q->ids[i]);
    base_buf_puts(&b, "]", NULL);
    return base_buf_steal(&b, NULL);
}

static int seek(struct store_conn *c, int64_t project, int64_t offset, int64_t *first,
                struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_SPAN, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, project);
    int step = store_step(s);
    if (step != STORE_ROW)
        return store_fail(c, step, err);
    int64_t lo = store_col_i64(s, 0), hi = store_col_i64(s, 1);
    int64_t n = store_col_i64(s, 2);
    store_reset(s);
    if (lo > 0 && hi - lo + 1 == n) {
        *first = offset < n ? lo + offset : 0;
        return 0;
    }
    s = store_prepare(c, SQL_SEEK, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, project);
    store_bind_i64(s, 2, offset);
    step = store_step(s);
    *first = step == STORE_ROW ? store_col_i64(s, 0) : 0;
    store_reset(s);
    return step == STORE_ROW || step == STORE_DONE ? 0 : store_fail(c, step, err);
}

static int iterate(struct store_conn *c, const struct store_task_query *q, const char *ids,
                   struct chunk *ch, store_task_fn fn, void *ctx, struct base_err *err)
{
    int64_t after = 0, offset = q->offset > 0 ? q->offset : 0;
    int64_t remaining = q->limit > 0 ? q->limit : INT64_MAX;
    if (offset > 0 && !q->task && !ids && !q->only_annotated) {
        int64_t first = 0;
        if (seek(c, q->project, offset, &first, err))
            return -1;
        if (first == 0)
            return 0;
        after = first - 1;
        offset = 0;
    }
    while (remaining > 0) {
        int64_t want = remaining < (int64_t)ch->cap ? remaining : (int64_t)ch->cap;
        if (load_tasks(c, q, ids, after, want, offset, ch, err))
            return -1;
        size_t n = ch->n;
        if (n == 0)
            return 0;
        if ((q->with_annotations || q->with_predictions) && load_children(c, q, ch, err))
            return -1;
        for (size_t i = 0; i < n; i++) {
            int rc = fn(ctx, &ch->tasks[i], err);
            if (rc)
                return rc;
        }
        after = ch->tasks[n - 1].id;
        chunk_clear(ch);
        if ((int64_t)n < want || q->task)
            return 0;
        remaining -= (int64_t)n;
        offset = 0;
    }
    return 0;
}

struct each {
    const struct store_task_query *q;
    const char *ids;
    struct chunk *ch;
    store_task_fn fn;
    void *ctx;
};

static int each_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct each *x = ctx;
    int rc = iterate(c, x->q, x->ids, x->ch, x->fn, x->ctx, err);
    chunk_clear(x->ch);
    return rc;
}

int store_task_each(struct store *st, const struct store_task_query *q, store_task_fn fn, void *ctx,
                    struct base_err *err)
{
    struct chunk *ch = base_calloc(1, sizeof *ch);
    ch->cap = q->task ? 1 : q->limit > 0 && q->limit < CHUNK ? (size_t)q->limit : CHUNK;
    ch->tasks = base_alloc(ch->cap * sizeof *ch->tasks);
    ch->arena = base_arena_new(q->task ? 1024 : 64 * 1024);
    char *ids = ids_json(q);
    struct each x = {q, ids, ch, fn, ctx};
    int rc = store_tx(st, STORE_TX_READ, each_body, &x, err);
    base_free(ids);
    base_free(ch->anns);
    base_free(ch->preds);
    base_arena_free(ch->arena);
    base_free(ch->tasks);
    base_free(ch);
    return rc;
}

int store_task_totals(struct store *st, const struct store_task_query *q,
                      struct store_task_totals *t, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    char *ids = ids_json(q);
    int rc = -1, plain = !ids && !q->only_annotated;
    memset(t, 0, sizeof *t);
    struct store_stmt *s = store_prepare(c, plain ? SQL_STATS : SQL_TOTALS, err);
    if (s) {
        store_bind_i64(s, 1, q->project);
        if (!plain) {
            store_bind_i64(s, 2, 0);
            store_bind_int(s, 3, q->only_annotated ? 1 : 0);
            store_bind_text(s, 4, ids);
        }
        int step = store_step(s);
        if (step == STORE_DONE && plain) {
            rc = 0; /* no such project: no tasks */
        } else if (step == STORE_ROW) {
            t->tasks = store_col_i64(s, 0);
            t->total_annotations = store_col_i64(s, 1);
            t->total_predictions = store_col_i64(s, 2);
            rc = 0;
        } else {
            store_fail(c, step, err);
        }
    }
    store_conn_put(st, c);
    base_free(ids);
    return rc;
}

/* ---- single-task operations ------------------------------------------------------------------ */

static void load_id(struct store_stmt *s, void *id)
{
    *(int64_t *)id = store_col_i64(s, 0);
}

int store_task_project(struct store *st, int64_t task, int64_t *project, struct base_err *err)
{
    struct store_one q = {.sql = SQL_PROJECT_OF, .key = task, .load = load_id, .out = project};
    return store_one(st, &q, err);
}

struct task_write {
    int64_t id, user;
    const json_t *data, *meta;
    int64_t *deleted;
};

static void bind_update(struct store_stmt *s, void *arg)
{
    const struct task_write *w = arg;
    store_bind_i64(s, 1, w->id);
    store_bind_json(s, 2, w->data);
    store_bind_json(s, 3, w->meta);
    store_bind_time(s, 4, base_time_us());
    store_bind_id(s, 5, w->user);
}

int store_task_update(struct store *st, int64_t id, const json_t *data, const json_t *meta,
                      int64_t updated_by, struct base_err *err)
{
    struct task_write w = {.id = id, .user = updated_by, .data = data, .meta = meta};
    return store_write_tx(st, SQL_UPDATE, bind_update, &w, "Not found.", err);
}

int store_task_delete(struct store *st, int64_t id, struct base_err *err)
{
    return store_write_tx(st, SQL_DELETE, store_bind_id_arg, &id, "Not found.", err);
}

static int delete_all_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct task_write *w = ctx;
    if (store_write_on(c, SQL_DELETE_ALL, store_bind_id_arg, &w->id, NULL, NULL, err))
        return -1;
    if (w->deleted)
        *w->deleted = store_changes(c);
    return 0;
}

int store_tasks_delete_all(struct store *st, int64_t project, int64_t *deleted,
                           struct base_err *err)
{
    struct task_write w = {.id = project, .deleted = deleted};
    return store_tx(st, STORE_TX_WRITE, delete_all_body, &w, err);
}

int store_task_refresh(struct store_conn *c, int64_t task, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_REFRESH, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, task);
    return store_step_done(c, s, err);
}

/* ---- the labeling queue ---------------------------------------------------------------------- */

/* Runs a query returning one id (or none) with ?1 project, ?2 user, ?3 offset. */
static int query_id(struct store_conn *c, const char *sql, int64_t project, int64_t user,
                    int64_t offset, int64_t *id, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, sql, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, project);
    store_bind_i64(s, 2, user);
    if (sql == SQL_NEXT_NTH)
        store_bind_i64(s, 3, offset);
    int step = store_step(s);
    *id = step == STORE_ROW ? store_col_i64(s, 0) : 0;
    store_reset(s);
    return step == STORE_ROW || step == STORE_DONE ? 0 : store_fail(c, step, err);
}

struct next {
    int64_t project, user, id;
    enum store_order order;
    uint64_t random;
};

static int next_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct next *x = ctx;
    int64_t count = 0;
    int rc = 0;
    if (x->order == STORE_ORDER_UNCERTAINTY)
        rc = query_id(c, SQL_NEXT_UNCERTAIN, x->project, x->user, 0, &x->id, err);
    if (rc == 0 && x->order == STORE_ORDER_RANDOM) {
        rc = query_id(c, SQL_NEXT_COUNT, x->project, x->user, 0, &count, err);
        if (rc == 0 && count > 0)
            rc = query_id(c, SQL_NEXT_NTH, x->project, x->user,
                          (int64_t)(x->random % (uint64_t)count), &x->id, err);
    }
    if (rc == 0 && x->id == 0)
        rc = query_id(c, SQL_NEXT_SEQ, x->project, x->user, 0, &x->id, err);
    return rc;
}

int store_task_next(struct store *st, int64_t project, int64_t user, enum store_order order,
                    uint64_t random, int64_t *task, struct base_err *err)
{
    struct next x = {project, user, 0, order, random};
    if (store_tx(st, STORE_TX_READ, next_body, &x, err))
        return -1;
    int64_t id = x.id;
    if (id == 0)
        return base_err_set(err, BASE_E_NOTFOUND, "no more tasks to label");
    *task = id;
    return 0;
}

/* ---- task locks (store_task_take) ------------------------------------------------------------ */

struct take {
    int64_t project, user, now, ttl, id;
    enum store_order order;
    uint64_t random;
};

/* Runs a take query returning one id (or none): ?1 project, ?2 user, ?3 now, ?4 offset. */
static int take_query(struct store_conn *c, const char *sql, const struct take *x, int64_t offset,
                      int64_t *id, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, sql, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, x->project);
    store_bind_i64(s, 2, x->user);
    store_bind_i64(s, 3, x->now);
    if (sql == SQL_TAKE_NTH)
        store_bind_i64(s, 4, offset);
    int step = store_step(s);
    *id = step == STORE_ROW ? store_col_i64(s, 0) : 0;
    store_reset(s);
    return step == STORE_ROW || step == STORE_DONE ? 0 : store_fail(c, step, err);
}

static int take_pick(struct store_conn *c, struct take *x, struct base_err *err)
{
    int64_t count = 0;
    int rc = x->user > 0 ? take_query(c, SQL_TAKE_MINE, x, 0, &x->id, err) : 0;
    if (rc == 0 && x->id == 0 && x->order == STORE_ORDER_UNCERTAINTY)
        rc = take_query(c, SQL_TAKE_UNCERTAIN, x, 0, &x->id, err);
    if (rc == 0 && x->id == 0 && x->order == STORE_ORDER_RANDOM) {
        rc = take_query(c, SQL_TAKE_COUNT, x, 0, &count, err);
        if (rc == 0 && count > 0)
            rc =
                take_query(c, SQL_TAKE_NTH, x, (int64_t)(x->random % (uint64_t)count), &x->id, err);
    }
    if (rc == 0 && x->id == 0)
        rc = take_query(c, SQL_TAKE_SEQ, x, 0, &x->id, err);
    return rc;
}

static void bind_purge(struct store_stmt *s, void *arg)
{
    store_bind_i64(s, 1, *(const int64_t *)arg);
}

static void bind_drop_mine(struct store_stmt *s, void *arg)
{
    const struct take *x = arg;
    store_bind_i64(s, 1, x->project);
    store_bind_i64(s, 2, x->user);
}

static void bind_lock(struct store_stmt *s, void *arg)
{
    const struct take *x = arg;
    store_bind_i64(s, 1, x->project);
    store_bind_i64(s, 2, x->id);
    store_bind_i64(s, 3, x->user);
    store_bind_i64(s, 4, x->now + x->ttl);
    store_bind_time(s, 5, base_time_us());
}

/* Picks and locks in one write transaction: writers take turns (BEGIN IMMEDIATE on SQLite, one
 * advisory lock on PostgreSQL), across threads and processes, so no two callers see the same
 * task free. A user holds at most one lock per project: the new one replaces the old. */
static int take_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct take *x = ctx;
    if (store_write_on(c, SQL_LOCK_PURGE, bind_purge, &x->now, NULL, NULL, err) ||
        take_pick(c, x, err))
        return -1;
    if (x->id == 0 || x->user <= 0)
        return 0;
    if (store_write_on(c, SQL_LOCK_DROP_MINE, bind_drop_mine, x, NULL, NULL, err))
        return -1;
    return store_write_on(c, SQL_LOCK_INSERT, bind_lock, x, NULL, NULL, err);
}

int store_task_take(struct store *st, int64_t project, int64_t user, enum store_order order,
                    uint64_t random, int64_t now_us, int64_t ttl_us, int64_t *task,
                    struct base_err *err)
{
    struct take x = {.project = project,
                     .user = user,
                     .now = now_us,
                     .ttl = ttl_us,
                     .order = order,
                     .random = random};
    if (store_tx(st, STORE_TX_WRITE, take_body, &x, err))
        return -1;
    if (x.id == 0)
        return base_err_set(err, BASE_E_NOTFOUND, "no more tasks to label");
    *task = x.id;
    return 0;
}

struct lock_read {
    int64_t task, now;
    struct store_task_lock *out;
};

static void bind_lock_get(struct store_stmt *s, void *arg)
{
    const struct lock_read *q = arg;
    store_bind_i64(s, 1, q->task);
    store_bind_i64(s, 2, q->now);
}

static int lock_get_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct lock_read *q = ctx;
    struct store_stmt *s = store_prepare(c, SQL_LOCK_GET, err);
    if (!s)
        return -1;
    bind_lock_get(s, q);
    int step = store_step(s);
    if (step == STORE_ROW) {
        q->out->user = store_col_i64(s, 0);
        q->out->expire_us = store_col_i64(s, 1);
    }
    store_reset(s);
    return step == STORE_ROW || step == STORE_DONE ? 0 : store_fail(c, step, err);
}

int store_task_lock_get(struct store *st, int64_t task, int64_t now_us, struct store_task_lock *out,
                        struct base_err *err)
{
    struct lock_read q = {task, now_us, out};
    *out = (struct store_task_lock){0};
    return store_tx(st, STORE_TX_NONE, lock_get_body, &q, err);
}
