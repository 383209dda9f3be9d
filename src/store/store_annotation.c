/* Annotations: create, read, update, delete, list. Every write recomputes the task's counters
 * and is_labeled in the same transaction, so the queue and the counters never disagree. */
#include "store_int.h"

#include <stddef.h>
#include <string.h>

static const char SQL_INSERT[] =
    "INSERT INTO annotation(task_id, project_id, completed_by_id, result, was_cancelled,"
    " ground_truth, lead_time, prediction, result_count, parent_prediction_id,"
    " parent_annotation_id, last_action, created_at, updated_at)"
    " SELECT ?1, project_id, ?2, ?3, ?4, ?5, ?6, coalesce(?11, '{}'), ?12, ?7, ?8, ?9, ?10, ?10"
    " FROM task WHERE id = ?1 RETURNING id";
static const char SQL_GET[] = "SELECT " STORE_ANNOTATION_COLS " FROM annotation WHERE id = ?";
static const char SQL_UPDATE[] =
    "UPDATE annotation SET completed_by_id = ?2, result = ?3, was_cancelled = ?4,"
    " ground_truth = ?5, lead_time = ?6, parent_prediction_id = ?7, parent_annotation_id = ?8,"
    " last_action = ?9, updated_at = ?10 WHERE id = ?1";
static const char SQL_DELETE[] = "DELETE FROM annotation WHERE id = ?";
static const char SQL_EACH[] = "SELECT " STORE_ANNOTATION_COLS " FROM annotation"
                               " WHERE task_id = ? ORDER BY id";
static const char SQL_EACH_DONE[] = "SELECT " STORE_ANNOTATION_COLS " FROM annotation"
                                    " WHERE task_id = ? AND was_cancelled = 0 ORDER BY id";

#define F(col, how, member) STORE_FIELD(col, how, struct store_annotation, member)
static const struct store_field FIELDS[] = {
    F(0, I64, id),
    F(1, I64, task),
    F(2, I64, project),
    F(3, I64, completed_by),
    F(5, INT, was_cancelled),
    F(6, INT, ground_truth),
    F(7, SET, has_lead_time),
    F(7, REAL, lead_time),
    F(9, I64, result_count),
    F(10, I64, parent_prediction),
    F(11, I64, parent_annotation),
    F(12, TEXT, last_action),
    F(13, TIME, created_at),
    F(14, TIME, updated_at),
};
#undef F

static void load_scalars(struct store_stmt *s, struct store_annotation *a)
{
    memset(a, 0, sizeof *a);
    store_load_fields(s, FIELDS, sizeof FIELDS / sizeof FIELDS[0], a);
}

void store_annotation_load(struct store_stmt *s, struct store_annotation *a, struct base_arena *ar)
{
    (void)ar;
    load_scalars(s, a);
    a->result = store_col_json(s, 4);
    a->prediction = store_col_json(s, 8);
}

void store_annotation_load_text(struct store_stmt *s, struct store_annotation *a,
                                struct base_arena *ar)
{
    load_scalars(s, a);
    a->result_text = store_col_json_text(s, 4, ar, &a->result_len);
    a->prediction_text = store_col_json_text(s, 8, ar, &a->prediction_len);
}

void store_annotation_release(struct store_annotation *a)
{
    if (!a)
        return;
    json_decref(a->result);
    json_decref(a->prediction);
    a->result = a->prediction = NULL;
}

/* Binds ?1 = key (the task or the annotation) and ?2..?10, the columns both statements write. */
static void bind_fields(struct store_stmt *s, int64_t key, const struct store_annotation *a,
                        int64_t now)
{
    store_bind_i64(s, 1, key);
    store_bind_id(s, 2, a->completed_by);
    store_bind_json(s, 3, a->result);
    store_bind_int(s, 4, a->was_cancelled ? 1 : 0);
    store_bind_int(s, 5, a->ground_truth ? 1 : 0);
    if (a->has_lead_time)
        store_bind_real(s, 6, a->lead_time);
    else
        store_bind_null(s, 6);
    store_bind_id(s, 7, a->parent_prediction);
    store_bind_id(s, 8, a->parent_annotation);
    store_bind_text(s, 9, a->last_action[0] ? a->last_action : NULL);
    store_bind_time(s, 10, now);
}

static void bind_insert(struct store_stmt *s, int64_t task, const void *row, int64_t now)
{
    const struct store_annotation *in = row;
    bind_fields(s, task, in, now);
    store_bind_json(s, 11, in->prediction);
    store_bind_i64(s, 12, in->result_count);
}

static void bind_update(struct store_stmt *s, int64_t id, const void *row, int64_t now)
{
    bind_fields(s, id, row, now);
}

static void apply(void *row, unsigned set, const void *value)
{
    struct store_annotation *a = row;
    const struct store_annotation *v = value;
    if (set & STORE_SET_RESULT) {
        json_decref(a->result);
        a->result = v->result ? json_incref(v->result) : NULL;
    }
    if (set & STORE_SET_WAS_CANCELLED)
        a->was_cancelled = v->was_cancelled;
    if (set & STORE_SET_GROUND_TRUTH)
        a->ground_truth = v->ground_truth;
    if (set & STORE_SET_LEAD_TIME)
        a->has_lead_time = v->has_lead_time, a->lead_time = v->lead_time;
    if (set & STORE_SET_COMPLETED_BY)
        a->completed_by = v->completed_by;
    if (set & STORE_SET_PARENT_PREDICTION)
        a->parent_prediction = v->parent_prediction;
    if (set & STORE_SET_PARENT_ANNOTATION)
        a->parent_annotation = v->parent_annotation;
    if (set & STORE_SET_LAST_ACTION)
        memcpy(a->last_action, v->last_action, sizeof a->last_action);
}

static void load(struct store_stmt *s, void *row)
{
    store_annotation_load(s, row, NULL);
}

static void release(void *row)
{
    store_annotation_release(row);
}

static const struct store_kind KIND = {
    .sql_insert = SQL_INSERT,
    .sql_get = SQL_GET,
    .sql_update = SQL_UPDATE,
    .sql_delete = SQL_DELETE,
    .task_offset = offsetof(struct store_annotation, task),
    .load = load,
    .release = release,
    .apply = apply,
    .bind_insert = bind_insert,
    .bind_update = bind_update,
};

int store_annotation_create(struct store *st, int64_t task, const struct store_annotation *in,
                            int64_t *id, struct base_err *err)
{
    return store_kind_create(st, &KIND, task, in, id, err);
}

int store_annotation_get(struct store *st, int64_t id, struct store_annotation *out,
                         struct base_err *err)
{
    return store_kind_get(st, &KIND, id, out, err);
}

int store_annotation_update(struct store *st, int64_t id, unsigned set,
                            const struct store_annotation *v, struct base_err *err)
{
    struct store_annotation a = {0};
    return store_kind_update(st, &KIND, id, set, v, &a, err);
}

int store_annotation_delete(struct store *st, int64_t id, struct base_err *err)
{
    struct store_annotation a = {0};
    return store_kind_delete(st, &KIND, id, &a, err);
}

STORE_EACH_ROW(each_row, struct store_annotation, store_annotation_fn, load,
               store_annotation_release)

int store_annotation_each(struct store *st, int64_t task, int include_cancelled,
                          store_annotation_fn fn, void *ctx, struct base_err *err)
{
    struct store_cb x = STORE_CB(fn, ctx);
    return store_read(st, include_cancelled ? SQL_EACH : SQL_EACH_DONE, store_bind_id_arg, &task, 0,
                      each_row, &x, err);
}
