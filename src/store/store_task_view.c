/* Task list views: the data manager's filters, orderings and selections over a project's tasks,
 * as one SQL statement built from fixed fragments (column expressions and operators come from
 * tables, every value is bound), answering a page of ids and the totals of everything that
 * matches. Lists of values (selected ids, "in list" filters) are bound as one JSON array each and
 * read with STORE_JSON_IDS / _TEXTS, so their length never changes the statement's shape. What
 * SQLite and PostgreSQL spell differently (reading task.data's JSON, string aggregation, substring
 * search, regular expressions) is in one table of fragments per dialect, struct dialect. */
#include "store_int.h"

#include <regex.h>
#include <string.h>

enum col_class { CLASS_NUMBER, CLASS_TIME, CLASS_DATA, CLASS_TEXT, CLASS_LIST };

struct col_def {
    enum col_class cls;
    const char *expr; /* over the row `task`; NULL for DATA (built from the key) */
};

#define ANN_OF_TASK  " FROM annotation a WHERE a.task_id = task.id"
#define PRED_OF_TASK " FROM prediction p WHERE p.task_id = task.id"
/* false in both dialects (SQLite has no boolean type, PostgreSQL no integer truth values) */
#define SQL_FALSE "(1 = 0)"
/* A list of numbers bound as a JSON array, as rows (see STORE_JSON_IDS). */
#define JSON_REALS(p) "SELECT CAST(value AS DOUBLE PRECISION) FROM json_each(" p ")"

/* The fragments whose spelling differs between SQLite and PostgreSQL. `dv` is a data value: the
 * JSON value at one key of task.data (SQL NULL when missing or null). */
struct dialect {
    const char *data;      /* dv of the key bound as ? (data_key: how it is bound) */
    const char *data_alt;  /* the same falling back to the key "$undefined$" */
    int data_key_path;     /* bind the key as a SQLite JSON path ($."key") rather than as it is */
    const char *text[2];   /* around dv: its text (strings unquoted) */
    const char *number[2]; /* around dv: a number (true 1, false 0, numeric text read as one) */
    const char *find;      /* FIND(haystack, needle): 1-based position, 0 when absent */
    int regex_infix;       /* the regex filter is "(X ~ ?)" (PostgreSQL), else "regexp(?, X)" */
    const char *num_param; /* a bound number */
    const char *cols[STORE_TASK_NCOLS]; /* column expressions that differ from COLS' */
};

#define GROUP_CONCAT(f, x, of) "(SELECT " f "(" x ", ', ')" of ")"

static const struct dialect SQLITE = {
    .data = "json_extract(task.data, ?)",
    .data_alt = "coalesce(json_extract(task.data, ?), json_extract(task.data,"
                " '$.\"$undefined$\"'))",
    .data_key_path = 1,
    .text = {"CAST(", " AS TEXT)"},
    .number = {"(SELECT CASE typeof(dv) WHEN 'text' THEN CAST(dv AS REAL) ELSE dv END FROM"
               " (SELECT ",
               " AS dv) dvq)"},
    .find = "instr(",
    .num_param = "?",
    .cols = {[STORE_TASK_COL_ANNOTATIONS_RESULTS] =
                 GROUP_CONCAT("group_concat", "a.result", ANN_OF_TASK),
             [STORE_TASK_COL_PREDICTIONS_RESULTS] =
                 GROUP_CONCAT("group_concat", "p.result", PRED_OF_TASK),
             [STORE_TASK_COL_ANNOTATIONS_IDS] =
                 GROUP_CONCAT("group_concat", "CAST(a.id AS TEXT)", ANN_OF_TASK)},
};

/* task.data is TEXT holding JSON (one schema for both), read here as jsonb */
#define PG_DV(key) "nullif(task.data::jsonb -> " key ", 'null')"
static const struct dialect PG = {
    .data = PG_DV("CAST(? AS TEXT)"),
    .data_alt = "coalesce(" PG_DV("CAST(? AS TEXT)") ", " PG_DV("'$undefined$'") ")",
    .text = {"(", " #>> '{}')"},
    /* SQLite's CAST of text to REAL reads the longest numeric prefix, 0 without one */
    .number = {"(SELECT CASE WHEN dv IS NULL THEN NULL"
               " WHEN jsonb_typeof(dv) = 'number' THEN (dv #>> '{}')::float8"
               " WHEN jsonb_typeof(dv) = 'boolean' THEN CASE WHEN dv = 'true' THEN 1.0 ELSE 0.0 END"
               " ELSE coalesce(substring(dv #>> '{}' FROM"
               " '^\\s*([-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?)')::float8, 0) END"
               " FROM (SELECT ",
               " AS dv) dvq)"},
    .find = "strpos(",
    .regex_infix = 1,
    .num_param = "CAST(? AS DOUBLE PRECISION)",
    .cols = {[STORE_TASK_COL_ANNOTATIONS_RESULTS] =
                 GROUP_CONCAT("string_agg", "a.result", ANN_OF_TASK),
             [STORE_TASK_COL_PREDICTIONS_RESULTS] =
                 GROUP_CONCAT("string_agg", "p.result", PRED_OF_TASK),
             [STORE_TASK_COL_ANNOTATIONS_IDS] =
                 GROUP_CONCAT("string_agg", "CAST(a.id AS TEXT)", ANN_OF_TASK)},
};

static const struct col_def COLS[STORE_TASK_NCOLS] = {
    [STORE_TASK_COL_ID] = {CLASS_NUMBER, "task.id"},
    [STORE_TASK_COL_INNER_ID] = {CLASS_NUMBER, "task.inner_id"},
    [STORE_TASK_COL_TOTAL_ANNOTATIONS] = {CLASS_NUMBER, "task.total_annotations"},
    [STORE_TASK_COL_CANCELLED_ANNOTATIONS] = {CLASS_NUMBER, "task.cancelled_annotations"},
    [STORE_TASK_COL_TOTAL_PREDICTIONS] = {CLASS_NUMBER, "task.total_predictions"},
    [STORE_TASK_COL_PREDICTION_SCORE] = {CLASS_NUMBER, "task.prediction_score"},
    [STORE_TASK_COL_IS_LABELED] = {CLASS_NUMBER, "task.is_labeled"},
    [STORE_TASK_COL_UNCERTAINTY] = {CLASS_NUMBER, "task.uncertainty"},
    [STORE_TASK_COL_AVG_LEAD_TIME] = {CLASS_NUMBER, "(SELECT avg(a.lead_time)" ANN_OF_TASK ")"},
    [STORE_TASK_COL_GROUND_TRUTH] = {CLASS_NUMBER, "(CASE WHEN EXISTS (SELECT 1" ANN_OF_TASK
                                                   " AND a.ground_truth = 1) THEN 1 ELSE 0 END)"},
    [STORE_TASK_COL_CREATED_AT] = {CLASS_TIME, "task.created_at"},
    [STORE_TASK_COL_UPDATED_AT] = {CLASS_TIME, "task.updated_at"},
    [STORE_TASK_COL_COMPLETED_AT] = {CLASS_TIME, "(CASE WHEN task.is_labeled <> 0 THEN (SELECT"
                                                 " max(a.created_at)" ANN_OF_TASK ") END)"},
    [STORE_TASK_COL_DATA] = {CLASS_DATA, NULL},
    [STORE_TASK_COL_FILE_UPLOAD] = {CLASS_TEXT, "(SELECT f.file FROM file_upload f"
                                                " WHERE f.id = task.file_upload_id)"},
    [STORE_TASK_COL_ANNOTATIONS_RESULTS] = {CLASS_TEXT, NULL}, /* struct dialect's */
    [STORE_TASK_COL_PREDICTIONS_RESULTS] = {CLASS_TEXT, NULL},
    [STORE_TASK_COL_ANNOTATIONS_IDS] = {CLASS_TEXT, NULL},
    [STORE_TASK_COL_ANNOTATORS] = {CLASS_LIST, NULL},
    [STORE_TASK_COL_MODEL_VERSIONS] = {CLASS_LIST, NULL},
    [STORE_TASK_COL_UPDATED_BY] = {CLASS_LIST, NULL},
};

/* The list columns: "the task holds one of the items bound as a JSON array" and "holds none". */
static const char *const LIST_HAS[STORE_TASK_NCOLS] = {
    [STORE_TASK_COL_ANNOTATORS] =
        "EXISTS (SELECT 1" ANN_OF_TASK " AND a.completed_by_id IN (" STORE_JSON_IDS("?") "))",
    [STORE_TASK_COL_MODEL_VERSIONS] =
        "EXISTS (SELECT 1" PRED_OF_TASK " AND p.model_version IN (" STORE_JSON_TEXTS("?") "))",
    [STORE_TASK_COL_UPDATED_BY] = "(task.updated_by_id IS NOT NULL AND task.updated_by_id IN"
                                  " (" STORE_JSON_IDS("?") "))",
};
static const char *const LIST_EMPTY[STORE_TASK_NCOLS] = {
    [STORE_TASK_COL_ANNOTATORS] =
        "NOT EXISTS (SELECT 1" ANN_OF_TASK " AND a.completed_by_id IS NOT NULL)",
    [STORE_TASK_COL_MODEL_VERSIONS] = "NOT EXISTS (SELECT 1" PRED_OF_TASK ")",
    [STORE_TASK_COL_UPDATED_BY] = "task.updated_by_id IS NULL",
};

/* Which comparisons each class takes (bit i: enum store_cmp i). */
#define CMP(c) (1u << (c))
#define CMP_ORDER                                                                                  \
    (CMP(STORE_CMP_EQ) | CMP(STORE_CMP_NE) | CMP(STORE_CMP_LT) | CMP(STORE_CMP_LE) |               \
     CMP(STORE_CMP_GT) | CMP(STORE_CMP_GE) | CMP(STORE_CMP_BETWEEN) | CMP(STORE_CMP_NOT_BETWEEN))
#define CMP_EMPTY (CMP(STORE_CMP_NULL) | CMP(STORE_CMP_NOT_NULL))
#define CMP_LIST  (CMP(STORE_CMP_IN_LIST) | CMP(STORE_CMP_NOT_IN_LIST))
#define CMP_TEXT                                                                                   \
    (CMP(STORE_CMP_EQ) | CMP(STORE_CMP_NE) | CMP(STORE_CMP_CONTAINS) |                             \
     CMP(STORE_CMP_NOT_CONTAINS) | CMP(STORE_CMP_REGEX) | CMP_EMPTY)

static unsigned allowed(const struct store_task_filter *f)
{
    switch (COLS[f->col].cls) {
    case CLASS_NUMBER:
        return CMP_ORDER | CMP_EMPTY | CMP_LIST;
    case CLASS_TIME:
        return CMP_ORDER | CMP_EMPTY;
    case CLASS_DATA:
        return f->kind == STORE_VALUE_TEXT ? CMP_TEXT | CMP_LIST : CMP_ORDER | CMP_EMPTY | CMP_LIST;
    case CLASS_TEXT:
        return CMP_TEXT;
    case CLASS_LIST:
        return CMP(STORE_CMP_CONTAINS) | CMP(STORE_CMP_NOT_CONTAINS) | CMP_EMPTY;
    }
    return 0;
}

/* How a filter's column compares (for DATA: as the filter says). */
static enum store_value wanted_kind(const struct store_task_filter *f)
{
    enum col_class c = COLS[f->col].cls;
    if (c == CLASS_TIME)
        return STORE_VALUE_TIME;
    if (c == CLASS_TEXT || c == CLASS_LIST)
        return STORE_VALUE_TEXT;
    return c == CLASS_DATA ? f->kind : STORE_VALUE_NUMBER;
}

/* Whether the value is the JSON array in `text` rather than value/value2 or text. */
static int list_value(const struct store_task_filter *f)
{
    return f->cmp == STORE_CMP_IN_LIST || f->cmp == STORE_CMP_NOT_IN_LIST ||
           COLS[f->col].cls == CLASS_LIST;
}

static int valid_key(const char *key)
{
    if (!key || !*key || strlen(key) > 255)
        return 0;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        if (*p < 0x20 || *p == '"' || *p == '\\')
            return 0;
    return 1;
}

static int valid_filter(const struct store_task_filter *f, struct base_err *err)
{
    if ((unsigned)f->col >= (unsigned)STORE_TASK_NCOLS ||
        (unsigned)f->cmp > (unsigned)STORE_CMP_NOT_IN_LIST)
        return base_err_set(err, BASE_E_INVALID, "unknown filter column or operator");
    if (!(allowed(f) & CMP(f->cmp)))
        return base_err_set(err, BASE_E_INVALID, "this column cannot be filtered that way");
    if (f->cmp != STORE_CMP_NULL && f->cmp != STORE_CMP_NOT_NULL &&
        (wanted_kind(f) != f->kind ||
         ((f->kind == STORE_VALUE_TEXT || list_value(f)) && !f->text) ||
         (f->col == STORE_TASK_COL_DATA && f->kind == STORE_VALUE_TIME)))
        return base_err_set(err, BASE_E_INVALID, "wrong kind of filter value");
    if (f->col == STORE_TASK_COL_DATA && !valid_key(f->key))
        return base_err_set(err, BASE_E_INVALID, "bad data key");
    return 0;
}

static int valid(const struct store_task_view *v, struct base_err *err)
{
    if (v->nfilters > STORE_TASK_FILTERS_MAX)
        return base_err_set(err, BASE_E_INVALID, "at most %d filters", STORE_TASK_FILTERS_MAX);
    for (size_t i = 0; i < v->nfilters; i++)
        if (valid_filter(&v->filters[i], err))
            return -1;
    if ((unsigned)v->order >= (unsigned)STORE_TASK_NCOLS || COLS[v->order].cls == CLASS_LIST ||
        (v->order == STORE_TASK_COL_DATA && !valid_key(v->order_key)) ||
        (v->undefined_key && !valid_key(v->undefined_key)))
        return base_err_set(err, BASE_E_INVALID, "bad ordering");
    if (v->select != STORE_SELECT_ALL && v->nselected && !v->selected)
        return base_err_set(err, BASE_E_INVALID, "no selected ids");
    return 0;
}

int store_task_view_check(const struct store_task_view *v, struct base_err *err)
{
    return valid(v, err);
}

/* ---- statements with their bound values ------------------------------------------------------ */

#define MAX_BINDS 128

struct bindv {
    enum { BIND_INT, BIND_DOUBLE, BIND_TEXT, BIND_TEXT_OWNED } type;
    int64_t i;
    double d;
    const char *s;
};

struct sql {
    const struct dialect *d;
    struct base_buf b;
    struct bindv binds[MAX_BINDS];
    int nbinds;
    int failed;
};

static void put(struct sql *q, const char *s)
{
    q->failed |= base_buf_puts(&q->b, s, NULL);
}

static void bind_add(struct sql *q, struct bindv v)
{
    if (q->nbinds == MAX_BINDS)
        q->failed = 1;
    else
        q->binds[q->nbinds++] = v;
}

static void bind_int(struct sql *q, int64_t i)
{
    bind_add(q, (struct bindv){.type = BIND_INT, .i = i});
}

static void bind_double(struct sql *q, double d)
{
    bind_add(q, (struct bindv){.type = BIND_DOUBLE, .d = d});
}

static void bind_text(struct sql *q, const char *s)
{
    bind_add(q, (struct bindv){.type = BIND_TEXT, .s = s});
}

/* A string made here (base_alloc'd), freed with the statement. */
static void bind_owned(struct sql *q, char *s)
{
    if (q->nbinds == MAX_BINDS) {
        base_free(s);
        q->failed = 1;
        return;
    }
    bind_add(q, (struct bindv){.type = BIND_TEXT_OWNED, .s = s});
}

static void sql_release(struct sql *q)
{
    for (int i = 0; i < q->nbinds; i++)
        if (q->binds[i].type == BIND_TEXT_OWNED)
            base_free((char *)q->binds[i].s);
    base_buf_release(&q->b);
}

static char *json_path(const char *key)
{
    size_t n = strlen(key) + 5;
    char *p = base_alloc(n);
    snprintf(p, n, "$.\"%s\"", key);
    return p;
}

/* data[key] as stored (or under "$undefined$" when the key is the project's undefined key). */
static void data_value(struct sql *q, const struct store_task_view *v, const char *key)
{
    int alt = v->undefined_key && !strcmp(key, v->undefined_key);
    put(q, alt ? q->d->data_alt : q->d->data);
    bind_owned(q, q->d->data_key_path ? json_path(key) : base_strdup(key));
}

/* A column's expression (its dialect's where it has one). */
static const char *col_sql(const struct sql *q, enum store_task_col col)
{
    return q->d->cols[col] ? q->d->cols[col] : COLS[col].expr;
}

/* The expression of a filter's column, as its value kind compares it. */
static void col_expr(struct sql *q, const struct store_task_view *v,
                     const struct store_task_filter *f)
{
    if (f->col != STORE_TASK_COL_DATA) {
        put(q, col_sql(q, f->col));
        return;
    }
    /* text as text; numbers stay numbers (true is 1), numeric text is read as a number, like a
     * cast to float */
    const char *const *around = f->kind == STORE_VALUE_TEXT ? q->d->text : q->d->number;
    put(q, around[0]);
    data_value(q, v, f->key);
    put(q, around[1]);
}

static void bind_value(struct sql *q, const struct store_task_filter *f, int second)
{
    double d = second ? f->value2 : f->value;
    if (f->kind == STORE_VALUE_TEXT) {
        bind_text(q, f->text);
    } else if (f->kind == STORE_VALUE_TIME) {
        char *stamp = base_alloc(32);
        base_time_sql((int64_t)d, stamp);
        bind_owned(q, stamp);
    } else {
        bind_double(q, d);
    }
}

/* The placeholder of a filter's value (a number's carries its type for PostgreSQL). */
static void put_value(struct sql *q, const struct store_task_filter *f)
{
    put(q, f->kind == STORE_VALUE_NUMBER ? q->d->num_param : "?");
}

static void list_filter(struct sql *q, const struct store_task_filter *f)
{
    if (f->cmp == STORE_CMP_NULL || f->cmp == STORE_CMP_NOT_NULL) {
        put(q, f->cmp == STORE_CMP_NULL ? "(" : "NOT (");
        put(q, LIST_EMPTY[f->col]);
        put(q, ")");
        return;
    }
    put(q, f->cmp == STORE_CMP_CONTAINS ? "(" : "NOT (");
    put(q, LIST_HAS[f->col]);
    put(q, ")");
    bind_text(q, f->text);
}

static void text_filter(struct sql *q, const struct store_task_view *v,
                        const struct store_task_filter *f)
{
    switch (f->cmp) {
    case STORE_CMP_CONTAINS:
    case STORE_CMP_NOT_CONTAINS:
        put(q, f->cmp == STORE_CMP_CONTAINS ? "coalesce(" : "NOT coalesce(");
        put(q, q->d->find);
        put(q, "lower(");
        col_expr(q, v, f);
        put(q, "), lower(?)) > 0, " SQL_FALSE ")");
        bind_text(q, f->text);
        return;
    case STORE_CMP_REGEX:
        if (q->d->regex_infix) {
            put(q, "coalesce((");
            col_expr(q, v, f);
            put(q, ") ~ ?, " SQL_FALSE ")");
            bind_text(q, f->text);
        } else {
            put(q, "coalesce(regexp(?, ");
            bind_text(q, f->text);
            col_expr(q, v, f);
            put(q, "), 0)");
        }
        return;
    case STORE_CMP_NULL:
    case STORE_CMP_NOT_NULL:
        put(q, f->cmp == STORE_CMP_NULL ? "coalesce(" : "NOT coalesce(");
        col_expr(q, v, f);
        put(q, ", '') = ''");
        return;
    default:
        BASE_ASSERT(0);
    }
}

static void one_filter(struct sql *q, const struct store_task_view *v,
                       const struct store_task_filter *f)
{
    static const char *const ops[] = {
        [STORE_CMP_EQ] = " = ", [STORE_CMP_NE] = " IS DISTINCT FROM ",
        [STORE_CMP_LT] = " < ", [STORE_CMP_LE] = " <= ",
        [STORE_CMP_GT] = " > ", [STORE_CMP_GE] = " >= ",
    };
    enum col_class c = COLS[f->col].cls;
    if (c == CLASS_LIST) {
        list_filter(q, f);
        return;
    }
    int textual = c == CLASS_TEXT || (c == CLASS_DATA && f->kind == STORE_VALUE_TEXT);
    if (textual && f->cmp != STORE_CMP_EQ && f->cmp != STORE_CMP_NE &&
        f->cmp != STORE_CMP_IN_LIST && f->cmp != STORE_CMP_NOT_IN_LIST) {
        text_filter(q, v, f);
        return;
    }
    switch (f->cmp) {
    case STORE_CMP_NULL:
    case STORE_CMP_NOT_NULL:
        col_expr(q, v, f);
        put(q, f->cmp == STORE_CMP_NULL ? " IS NULL" : " IS NOT NULL");
        return;
    case STORE_CMP_BETWEEN:
    case STORE_CMP_NOT_BETWEEN:
        put(q, f->cmp == STORE_CMP_BETWEEN ? "(" : "NOT coalesce(");
        col_expr(q, v, f);
        put(q, " BETWEEN ");
        put_value(q, f);
        put(q, " AND ");
        put_value(q, f);
        put(q, f->cmp == STORE_CMP_BETWEEN ? ")" : ", " SQL_FALSE ")");
        bind_value(q, f, 0);
        bind_value(q, f, 1);
        return;
    case STORE_CMP_IN_LIST:
    case STORE_CMP_NOT_IN_LIST:
        put(q, f->cmp == STORE_CMP_IN_LIST ? "coalesce(" : "NOT coalesce(");
        col_expr(q, v, f);
        put(q, f->kind == STORE_VALUE_NUMBER ? " IN (" JSON_REALS("?") "), " SQL_FALSE ")"
                                             : " IN (" STORE_JSON_TEXTS("?") "), " SQL_FALSE ")");
        bind_text(q, f->text);
        return;
    default:
        col_expr(q, v, f);
        put(q, ops[f->cmp]);
        put_value(q, f);
        bind_value(q, f, 0);
    }
}

/* " FROM task WHERE project_id = ? AND (f1 AND f2 ...) AND <selection>" */
static void where(struct sql *q, const struct store_task_view *v)
{
    put(q, " FROM task WHERE task.project_id = ?");
    bind_int(q, v->project);
    if (v->nfilters) {
        put(q, " AND (");
        for (size_t i = 0; i < v->nfilters; i++) {
            if (i)
                put(q, v->match_any ? " OR " : " AND ");
            put(q, "(");
            one_filter(q, v, &v->filters[i]);
            put(q, ")");
        }
        put(q, ")");
    }
    if (v->select != STORE_SELECT_ALL) {
        put(q, v->select == STORE_SELECT_INCLUDED ? " AND" : " AND NOT");
        put(q, " task.id IN (" STORE_JSON_IDS("?") ")");
        bind_owned(q, store_ids_json(v->selected, v->nselected));
    }
}

static void order_expr(struct sql *q, const struct store_task_view *v)
{
    if (v->order == STORE_TASK_COL_DATA)
        data_value(q, v, v->order_key);
    else
        put(q, col_sql(q, v->order));
}

/* " ORDER BY ...": NULLs last in either direction, ties by id. The score and uncertainty
 * orderings are written so that each matches one of the task_view_score / task_view_unc indexes
 * (migrations 2 and 4) scanned one way, which spares sorting every task of the project for each
 * page. */
static void order_by(struct sql *q, const struct store_task_view *v)
{
    const char *dir = v->descending ? " DESC" : "";
    if (v->order == STORE_TASK_COL_PREDICTION_SCORE || v->order == STORE_TASK_COL_UNCERTAINTY) {
        const char *col = COLS[v->order].expr;
        put(q, " ORDER BY (");
        put(q, col);
        put(q, v->descending ? " IS NOT NULL) DESC, " : " IS NULL), ");
        put(q, col);
        put(q, dir);
    } else if (v->order == STORE_TASK_COL_ID) {
        put(q, " ORDER BY task.id");
        put(q, dir);
        return;
    } else {
        put(q, " ORDER BY (");
        order_expr(q, v);
        put(q, ") IS NULL, ");
        order_expr(q, v);
        put(q, dir);
    }
    put(q, ", task.id");
    put(q, dir);
}

static struct store_stmt *prepare(struct store_conn *c, struct sql *q, struct base_err *err)
{
    if (q->failed) {
        base_err_set(err, BASE_E_INVALID, "task view too complex");
        return NULL;
    }
    struct store_stmt *s = store_stmt_new(c, q->b.data, q->b.len, err);
    if (!s)
        return NULL;
    for (int i = 0; i < q->nbinds; i++) {
        const struct bindv *b = &q->binds[i];
        if (b->type == BIND_INT)
            store_bind_i64(s, i + 1, b->i);
        else if (b->type == BIND_DOUBLE)
            store_bind_real(s, i + 1, b->d);
        else
            store_bind_static(s, i + 1, b->s);
    }
    return s;
}

static int totals(struct store_conn *c, const struct store_task_view *v,
                  struct store_task_totals *tot, struct base_err *err)
{
    struct sql q = {.d = store_conn_is_pg(c) ? &PG : &SQLITE};
    base_buf_init(&q.b, 1 << 16);
    put(&q, "SELECT count(*), coalesce(sum(task.total_annotations), 0),"
            " coalesce(sum(task.total_predictions), 0)");
    where(&q, v);
    struct store_stmt *s = prepare(c, &q, err);
    int rc = -1;
    if (s) {
        int step = store_step(s);
        if (step == STORE_ROW) {
            tot->tasks = store_col_i64(s, 0);
            tot->total_annotations = store_col_i64(s, 1);
            tot->total_predictions = store_col_i64(s, 2);
            rc = 0;
        } else {
            store_fail(c, step, err);
        }
    }
    store_stmt_free(s);
    sql_release(&q);
    return rc;
}

/* Steps the id query: into ids[0..cap) when ids is given, else into a growing *grow array. */
static int page(struct store_conn *c, const struct store_task_view *v, int64_t limit,
                int64_t offset, int64_t **ids, size_t *n, struct base_err *err)
{
    struct sql q = {.d = store_conn_is_pg(c) ? &PG : &SQLITE};
    base_buf_init(&q.b, 1 << 16);
    put(&q, "SELECT task.id");
    where(&q, v);
    order_by(&q, v);
    put(&q, " LIMIT ? OFFSET ?");
    bind_int(&q, limit > 0 ? limit : STORE_NO_LIMIT);
    bind_int(&q, offset > 0 ? offset : 0);
    struct store_stmt *s = prepare(c, &q, err);
    int rc = -1, step = STORE_DONE;
    size_t cap = limit > 0 ? (size_t)limit : 0;
    *n = 0;
    while (s && (step = store_step(s)) == STORE_ROW) {
        if (*n == cap) { /* only when growing (limit -1) */
            cap = cap ? cap * 2 : 1024;
            *ids = base_realloc(*ids, cap * sizeof **ids);
        }
        (*ids)[(*n)++] = store_col_i64(s, 0);
    }
    if (s)
        rc = step == STORE_DONE ? 0 : store_fail(c, step, err);
    store_stmt_free(s);
    sql_release(&q);
    return rc;
}

struct page_args {
    const struct store_task_view *v;
    int64_t *ids;
    size_t n;
    struct store_task_totals *tot;
};

static int page_fn(struct store_conn *c, void *arg, struct base_err *err)
{
    struct page_args *a = arg;
    if (a->tot && totals(c, a->v, a->tot, err))
        return -1;
    return a->tot ? page(c, a->v, a->v->limit, a->v->offset, &a->ids, &a->n, err)
                  : page(c, a->v, -1, 0, &a->ids, &a->n, err);
}

int store_task_view_page(struct store *st, const struct store_task_view *v, int64_t *ids,
                         size_t *nids, struct store_task_totals *tot, struct base_err *err)
{
    *nids = 0;
    if (valid(v, err))
        return -1;
    if (v->limit <= 0)
        return base_err_set(err, BASE_E_INVALID, "bad page size");
    struct page_args a = {v, ids, 0, tot};
    int rc = store_tx(st, STORE_TX_READ, page_fn, &a, err);
    *nids = rc ? 0 : a.n;
    return rc;
}

int store_task_view_ids(struct store *st, const struct store_task_view *v, int64_t **ids, size_t *n,
                        struct base_err *err)
{
    *ids = NULL;
    *n = 0;
    if (valid(v, err))
        return -1;
    struct page_args a = {v, NULL, 0, NULL};
    int rc = store_tx(st, STORE_TX_READ, page_fn, &a, err);
    if (rc) {
        base_free(a.ids);
        return -1;
    }
    *ids = a.ids;
    *n = a.n;
    return 0;
}

char *store_ids_json(const int64_t *ids, size_t n)
{
    struct base_buf b;
    base_buf_init(&b, SIZE_MAX / 2);
    base_buf_puts(&b, "[", NULL);
    for (size_t i = 0; i < n; i++)
        base_buf_printf(&b, NULL, "%s%lld", i ? "," : "", (long long)ids[i]);
    base_buf_puts(&b, "]", NULL);
    return base_buf_steal(&b, NULL);
}

/* ---- the "regex" filter's check ----------------------------------------------------------------
 */

int store_regex_check(const char *pattern, struct base_err *err)
{
    regex_t re;
    if (!pattern || strlen(pattern) > STORE_REGEX_MAX)
        return base_err_set(err, BASE_E_INVALID, "a regular expression of at most %d characters",
                            STORE_REGEX_MAX);
    int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char msg[128];
        regerror(rc, &re, msg, sizeof msg);
        return base_err_set(err, BASE_E_INVALID, "bad regular expression: %s", msg);
    }
    regfree(&re);
    return 0;
}
