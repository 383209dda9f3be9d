/* Task list views: the data manager's filters and orderings over a project's tasks, as one SQL
 * statement built from fixed fragments (column names and operators come from tables, values are
 * bound), answering a page of ids and the totals of everything that matches. */
#include "store_int.h"

#include <string.h>

static const char *const COLUMNS[] = {
    [STORE_TASK_COL_ID] = "id",
    [STORE_TASK_COL_INNER_ID] = "inner_id",
    [STORE_TASK_COL_TOTAL_ANNOTATIONS] = "total_annotations",
    [STORE_TASK_COL_CANCELLED_ANNOTATIONS] = "cancelled_annotations",
    [STORE_TASK_COL_TOTAL_PREDICTIONS] = "total_predictions",
    [STORE_TASK_COL_PREDICTION_SCORE] = "prediction_score",
    [STORE_TASK_COL_IS_LABELED] = "is_labeled",
    [STORE_TASK_COL_UNCERTAINTY] = "uncertainty",
    [STORE_TASK_COL_CREATED_AT] = "created_at",
    [STORE_TASK_COL_UPDATED_AT] = "updated_at",
};

static const char *const OPS[] = {
    [STORE_CMP_EQ] = " = ?",
    [STORE_CMP_NE] = " <> ?",
    [STORE_CMP_LT] = " < ?",
    [STORE_CMP_LE] = " <= ?",
    [STORE_CMP_GT] = " > ?",
    [STORE_CMP_GE] = " >= ?",
    [STORE_CMP_BETWEEN] = " BETWEEN ? AND ?",
    [STORE_CMP_NULL] = " IS NULL",
    [STORE_CMP_NOT_NULL] = " IS NOT NULL",
};

static int valid(const struct store_task_view *v, struct base_err *err)
{
    if (v->nfilters > STORE_TASK_FILTERS_MAX)
        return base_err_set(err, BASE_E_INVALID, "at most %d filters", STORE_TASK_FILTERS_MAX);
    for (size_t i = 0; i < v->nfilters; i++) {
        enum store_task_col c = v->filters[i].col;
        if (c >= STORE_TASK_COL_CREATED_AT || (unsigned)v->filters[i].cmp > STORE_CMP_NOT_NULL)
            return base_err_set(err, BASE_E_INVALID, "cannot filter on %s",
                                c <= STORE_TASK_COL_UPDATED_AT ? COLUMNS[c] : "that column");
    }
    if ((unsigned)v->order > STORE_TASK_COL_UPDATED_AT || v->limit <= 0)
        return base_err_set(err, BASE_E_INVALID, "bad ordering or page size");
    return 0;
}

/* " FROM task WHERE project_id = ? AND (f1 AND f2 ...)"; -1 only if the buffer's cap (far above
 * what 16 filters take) is reached. */
static int where(struct base_buf *b, const struct store_task_view *v, struct base_err *err)
{
    int rc = base_buf_puts(b, " FROM task WHERE project_id = ?", err);
    if (!v->nfilters)
        return rc;
    rc |= base_buf_puts(b, " AND (", err);
    for (size_t i = 0; i < v->nfilters; i++) {
        if (i)
            rc |= base_buf_puts(b, v->match_any ? " OR " : " AND ", err);
        rc |= base_buf_puts(b, COLUMNS[v->filters[i].col], err);
        rc |= base_buf_puts(b, OPS[v->filters[i].cmp], err);
    }
    return rc | base_buf_puts(b, ")", err);
}

/* Binds the project and the filter values from parameter 1; returns the next index. */
static int bind_where(sqlite3_stmt *s, const struct store_task_view *v)
{
    int i = 1;
    sqlite3_bind_int64(s, i++, v->project);
    for (size_t k = 0; k < v->nfilters; k++) {
        const struct store_task_filter *f = &v->filters[k];
        if (f->cmp == STORE_CMP_NULL || f->cmp == STORE_CMP_NOT_NULL)
            continue;
        sqlite3_bind_double(s, i++, f->value);
        if (f->cmp == STORE_CMP_BETWEEN)
            sqlite3_bind_double(s, i++, f->value2);
    }
    return i;
}

static sqlite3_stmt *prepare(struct store_conn *c, struct base_buf *b, struct base_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, b->data, (int)b->len, &s, NULL);
    if (rc != SQLITE_OK)
        store_fail(c, rc, err);
    return s;
}

static int totals(struct store_conn *c, const struct store_task_view *v,
                  struct store_task_totals *tot, struct base_err *err)
{
    struct base_buf b;
    base_buf_init(&b, 4096);
    sqlite3_stmt *s = NULL;
    if (base_buf_puts(&b,
                      "SELECT count(*), coalesce(sum(total_annotations), 0),"
                      " coalesce(sum(total_predictions), 0)",
                      err) == 0 &&
        where(&b, v, err) == 0)
        s = prepare(c, &b, err);
    int rc = -1;
    if (s) {
        bind_where(s, v);
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) {
            tot->tasks = sqlite3_column_int64(s, 0);
            tot->total_annotations = sqlite3_column_int64(s, 1);
            tot->total_predictions = sqlite3_column_int64(s, 2);
            rc = 0;
        } else {
            store_fail(c, step, err);
        }
    }
    sqlite3_finalize(s);
    base_buf_release(&b);
    return rc;
}

/* " ORDER BY ...": NULL scores last in either direction, ties by id. The score and uncertainty
 * orderings are written so that each matches one of the task_view_score / task_view_unc indexes
 * (migrations 2 and 4) scanned one way,
 * which spares sorting every task of the project for each page. */
static int order_by(struct base_buf *b, const struct store_task_view *v, struct base_err *err)
{
    const char *col = COLUMNS[v->order];
    if (v->order != STORE_TASK_COL_PREDICTION_SCORE && v->order != STORE_TASK_COL_UNCERTAINTY)
        return v->descending ? base_buf_printf(b, err, " ORDER BY %s DESC, id DESC", col)
                             : base_buf_printf(b, err, " ORDER BY %s, id", col);
    return v->descending
               ? base_buf_printf(b, err, " ORDER BY (%s IS NOT NULL) DESC, %s DESC, id DESC", col,
                                 col)
               : base_buf_printf(b, err, " ORDER BY (%s IS NULL), %s, id", col, col);
}

static int page(struct store_conn *c, const struct store_task_view *v, int64_t *ids, size_t *n,
                struct base_err *err)
{
    struct base_buf b;
    base_buf_init(&b, 4096);
    sqlite3_stmt *s = NULL;
    if (base_buf_puts(&b, "SELECT id", err) == 0 && where(&b, v, err) == 0 &&
        order_by(&b, v, err) == 0 && base_buf_puts(&b, " LIMIT ? OFFSET ?", err) == 0)
        s = prepare(c, &b, err);
    int rc = -1;
    if (s) {
        int i = bind_where(s, v);
        sqlite3_bind_int64(s, i++, v->limit);
        sqlite3_bind_int64(s, i, v->offset > 0 ? v->offset : 0);
        int step;
        *n = 0;
        while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < (size_t)v->limit)
            ids[(*n)++] = sqlite3_column_int64(s, 0);
        rc = step == SQLITE_DONE || step == SQLITE_ROW ? 0 : store_fail(c, step, err);
    }
    sqlite3_finalize(s);
    base_buf_release(&b);
    return rc;
}

int store_task_view_page(struct store *st, const struct store_task_view *v, int64_t *ids,
                         size_t *nids, struct store_task_totals *tot, struct base_err *err)
{
    *nids = 0;
    if (valid(v, err))
        return -1;
    struct store_conn *c = store_conn_get(st, err);
    if (!c)
        return -1;
    /* One read transaction: the page and the totals see the same snapshot. */
    int rc = store_begin(c, 0, err);
    if (rc == 0) {
        rc = totals(c, v, tot, err);
        if (rc == 0)
            rc = page(c, v, ids, nids, err);
        if (rc == 0)
            rc = store_commit(c, err);
        else
            store_rollback(c);
    }
    store_conn_put(st, c);
    return rc;
}
