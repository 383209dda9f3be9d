/* Annotations and predictions are both rows of a task whose every write recomputes the task's
 * counters in the same transaction. Their create, get, update and delete are this one code,
 * told the differences (SQL, columns, which fields a write sets) by a struct store_kind. */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

static const char SQL_TASK_EXISTS[] = "SELECT 1 FROM task WHERE id = ?";

static int64_t task_of(const struct store_kind *k, const void *row)
{
    int64_t task;
    memcpy(&task, (const char *)row + k->task_offset, sizeof task);
    return task;
}

struct target {
    const struct store_kind *k;
    void *row;
};

static void load_row(struct store_stmt *s, void *out)
{
    struct target *t = out;
    t->k->load(s, t->row);
}

/* Loads row `id` of kind k into `row` on connection c. */
static int get_on(struct store_conn *c, const struct store_kind *k, int64_t id, void *row,
                  struct base_err *err)
{
    struct target t = {k, row};
    struct store_one q = {.sql = k->sql_get, .key = id, .load = load_row, .out = &t};
    return store_one_on(c, &q, err);
}

struct kind_op {
    const struct store_kind *k;
    int64_t id;
    unsigned set;
    const void *in;
    void *row;
    int64_t *new_id;
};

static int create_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct kind_op *o = ctx;
    struct store_stmt *s = store_prepare(c, o->k->sql_insert, err);
    if (!s)
        return -1;
    o->k->bind_insert(s, o->id, o->in, base_time_us());
    if (store_step_id(c, s, o->new_id, err))
        return -1;
    if (*o->new_id == 0)
        return o->k->names_task
                   ? base_err_set(err, BASE_E_NOTFOUND, "task %lld not found", (long long)o->id)
                   : base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    return store_task_refresh(c, o->id, err);
}

int store_kind_create(struct store *st, const struct store_kind *k, int64_t task, const void *in,
                      int64_t *id, struct base_err *err)
{
    struct kind_op o = {.k = k, .id = task, .in = in, .new_id = id};
    return store_tx(st, STORE_TX_WRITE, create_body, &o, err);
}

static int get_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct kind_op *o = ctx;
    return get_on(c, o->k, o->id, o->row, err);
}

int store_kind_get(struct store *st, const struct store_kind *k, int64_t id, void *out,
                   struct base_err *err)
{
    struct kind_op o = {.k = k, .id = id, .row = out};
    return store_tx(st, STORE_TX_NONE, get_body, &o, err);
}

static int task_exists(struct store_conn *c, int64_t task, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_TASK_EXISTS, err);
    if (!s)
        return -1;
    store_bind_i64(s, 1, task);
    int rc = store_step_row(c, s, err, BASE_E_INVALID, "task %lld does not exist", (long long)task);
    store_reset(s);
    return rc;
}

/* Reads the row, applies the fields of `set`, writes it back and refreshes its task (and the
 * task it left, when the write moved it). */
static int update_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct kind_op *o = ctx;
    if (get_on(c, o->k, o->id, o->row, err))
        return -1;
    int64_t old_task = task_of(o->k, o->row);
    o->k->apply(o->row, o->set, o->in);
    int64_t task = task_of(o->k, o->row);
    if (task != old_task && task_exists(c, task, err))
        return -1;
    struct store_stmt *s = store_prepare(c, o->k->sql_update, err);
    if (!s)
        return -1;
    o->k->bind_update(s, o->id, o->row, base_time_us());
    if (store_step_done(c, s, err) || store_task_refresh(c, task, err))
        return -1;
    return task != old_task ? store_task_refresh(c, old_task, err) : 0;
}

int store_kind_update(struct store *st, const struct store_kind *k, int64_t id, unsigned set,
                      const void *v, void *scratch, struct base_err *err)
{
    struct kind_op o = {.k = k, .id = id, .set = set, .in = v, .row = scratch};
    int rc = store_tx(st, STORE_TX_WRITE, update_body, &o, err);
    k->release(scratch);
    return rc;
}

static int delete_body(struct store_conn *c, void *ctx, struct base_err *err)
{
    struct kind_op *o = ctx;
    if (get_on(c, o->k, o->id, o->row, err) ||
        store_write_on(c, o->k->sql_delete, store_bind_id_arg, &o->id, NULL, NULL, err))
        return -1;
    return store_task_refresh(c, task_of(o->k, o->row), err);
}

int store_kind_delete(struct store *st, const struct store_kind *k, int64_t id, void *scratch,
                      struct base_err *err)
{
    struct kind_op o = {.k = k, .id = id, .row = scratch};
    int rc = store_tx(st, STORE_TX_WRITE, delete_body, &o, err);
    k->release(scratch);
    return rc;
}
