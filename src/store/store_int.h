/* Shared between the files of src/store: the statement layer (connections, prepared statements,
 * transactions, binding and reading) over its two back ends, and the helpers every store file
 * uses. */
#ifndef LL_STORE_INT_H
#define LL_STORE_INT_H

#include "store.h"

#include <stddef.h>

#define STORE_STMT_CACHE 128
#define STORE_POOL_IDLE  16
#define STORE_BUSY_MS    10000
#define STORE_REGEX_MAX  1000 /* bytes of a "regex" filter's pattern */
/* A LIMIT that limits nothing, in both dialects (PostgreSQL refuses SQLite's LIMIT -1). */
#define STORE_NO_LIMIT INT64_MAX

/* ---- the statement layer: the one interface between the store files and a database back end
 * (store_sqlite.c, store_pg.c). No store file names a back end's own API; see README.md. ---- */

/* A pooled connection and a prepared statement on it: the first member of each back end's own
 * structs, which say which back end they belong to. */
struct store_ops;
struct store_conn {
    const struct store_ops *ops;
    struct store_conn *next; /* the pool's idle list */
};
struct store_stmt {
    struct store_conn *conn;
};

/* A back end: the statement layer's functions below for one kind of database (store_layer.c
 * dispatches to them). */
struct store_ops {
    struct store_conn *(*open)(const char *where, struct base_err *err);
    void (*close)(struct store_conn *c);
    void (*release)(struct store_conn *c); /* before it idles: runs ended, transaction undone */
    char *(*migration)(int i);             /* store_migration(i) in its dialect; base_free */
    struct store_stmt *(*prepare)(struct store_conn *c, const char *sql, struct base_err *err);
    struct store_stmt *(*stmt_new)(struct store_conn *c, const char *sql, size_t len,
                                   struct base_err *err);
    void (*stmt_free)(struct store_stmt *s);
    int (*exec)(struct store_conn *c, const char *sql, struct base_err *err);
    int (*step)(struct store_stmt *s);
    void (*reset)(struct store_stmt *s);
    int (*fail)(struct store_conn *c, int rc, struct base_err *err);
    int (*rc_constraint)(int rc);
    int64_t (*changes)(struct store_conn *c);
    int (*bind_count)(struct store_stmt *s);
    void (*bind_i64)(struct store_stmt *s, int i, int64_t v);
    void (*bind_real)(struct store_stmt *s, int i, double v);
    void (*bind_null)(struct store_stmt *s, int i);
    void (*bind_text)(struct store_stmt *s, int i, const char *v);
    void (*bind_static)(struct store_stmt *s, int i, const char *v);
    void (*bind_owned)(struct store_stmt *s, int i, char *v, size_t len); /* takes v (base_free) */
    int64_t (*col_i64)(struct store_stmt *s, int i);
    double (*col_real)(struct store_stmt *s, int i);
    int (*col_null)(struct store_stmt *s, int i);
    const char *(*col_str)(struct store_stmt *s, int i);
    size_t (*col_len)(struct store_stmt *s, int i);
    int (*begin)(struct store_conn *c, int write, struct base_err *err);
    int (*commit)(struct store_conn *c, struct base_err *err);
    void (*rollback)(struct store_conn *c);
};
extern const struct store_ops store_sqlite_ops; /* store_sqlite.c: a file path */
extern const struct store_ops store_pg_ops;     /* store_pg.c: a postgresql:// URL */

/* What store_step returns besides a back end's error code (for store_fail / store_rc_unique). */
enum { STORE_ROW = 100, STORE_DONE = 101 };

/* Borrows a connection (opening one if none is idle) / gives it back (statements reset, an open
 * transaction rolled back). */
struct store_conn *store_conn_get(struct store *st, struct base_err *err);
void store_conn_put(struct store *st, struct store_conn *c);
/* Whether c is a PostgreSQL connection: for the SQL built at run time whose fragments differ
 * (the data manager's, store_task_view.c); fixed SQL is written once for both. */
int store_conn_is_pg(const struct store_conn *c);

/* The connection's cached prepared statement for `sql` (a string literal: its address is the
 * key), reset with bindings cleared. NULL with err on failure. */
struct store_stmt *store_prepare(struct store_conn *c, const char *sql, struct base_err *err);
/* A statement for SQL built at run time (the data manager's filters): not cached, freed by
 * store_stmt_free (which takes NULL). */
struct store_stmt *store_stmt_new(struct store_conn *c, const char *sql, size_t len,
                                  struct base_err *err);
void store_stmt_free(struct store_stmt *s);
/* Runs one or more statements without parameters or results (migrations). */
int store_exec(struct store_conn *c, const char *sql, struct base_err *err);

/* STORE_ROW with a row to read, STORE_DONE, or a back end's error code for store_fail. */
int store_step(struct store_stmt *s);
/* Ends the statement's run (its row is gone); bindings stay. */
void store_reset(struct store_stmt *s);
/* Translates a back end's error code (from store_step) into err; returns -1. */
int store_fail(struct store_conn *c, int rc, struct base_err *err);
/* Whether an error code from store_step is a constraint violation (a unique one, for the
 * INSERTs that ask). */
int store_rc_constraint(struct store_conn *c, int rc);
/* Rows changed by the connection's last INSERT / UPDATE / DELETE (a new row's id: RETURNING id
 * and store_step_id). */
int64_t store_changes(struct store_conn *c);
/* The statement's number of parameters. */
int store_bind_count(struct store_stmt *s);

/* Parameters count from 1, columns from 0. Text is copied, except by store_bind_static (the
 * text outlives the statement's run). NULL text binds SQL NULL. */
void store_bind_i64(struct store_stmt *s, int i, int64_t v);
void store_bind_int(struct store_stmt *s, int i, int v);
void store_bind_real(struct store_stmt *s, int i, double v);
void store_bind_null(struct store_stmt *s, int i);
void store_bind_text(struct store_stmt *s, int i, const char *v);
void store_bind_static(struct store_stmt *s, int i, const char *v);
void store_bind_json(struct store_stmt *s, int i, const json_t *v); /* NULL -> SQL NULL */
void store_bind_time(struct store_stmt *s, int i, int64_t us);
void store_bind_id(struct store_stmt *s, int i, int64_t id); /* 0 -> SQL NULL */

int64_t store_col_i64(struct store_stmt *s, int i);
int store_col_int(struct store_stmt *s, int i);
double store_col_real(struct store_stmt *s, int i);
int store_col_null(struct store_stmt *s, int i);
/* The column's text, valid until the next step or reset; NULL for SQL NULL. */
const char *store_col_str(struct store_stmt *s, int i);
/* Bytes of the column's text (after store_col_str). */
size_t store_col_len(struct store_stmt *s, int i);

/* BEGIN for writing (SQLite: BEGIN IMMEDIATE, one writer at a time) or reading, COMMIT (rolls
 * back when it fails), ROLLBACK (never fails; nothing when no transaction is open). */
int store_begin(struct store_conn *c, int write, struct base_err *err);
int store_commit(struct store_conn *c, struct base_err *err);
void store_rollback(struct store_conn *c);

/* The number of migrations, and migration i's SQL (SQLite's dialect; i = -1: the table
 * schema_migrations that records them; NULL past the last). */
int store_migration_count(void);
const char *store_migration(int i);
/* The same in the dialect of c's back end (base_free). */
char *store_migration_sql(struct store_conn *c, int i);
/* The schema's columns as sorted "table.column" lines (base_free): the test that both back ends
 * build the same schema. */
char *store_columns(struct store *st, struct base_err *err);
/* Brings the schema up to date on a new database's first connection (store_db.c). */
int store_migrate(struct store_conn *c, struct base_err *err);
/* The schema's version: the number of migrations applied. */
int store_current_version(struct store_conn *c, int *version, struct base_err *err);

/* ---- helpers built on the statement layer (store_db.c) ---------------------------------------
 */

/* Steps a statement that returns no rows, then resets it. */
int store_step_done(struct store_conn *c, struct store_stmt *s, struct base_err *err);
/* Steps a statement that should return a row: 0 with the row ready to read, or -1 with err set
 * to `missing` and the formatted message when there is none, or to the database failure. */
int store_step_row(struct store_conn *c, struct store_stmt *s, struct base_err *err,
                   enum base_status missing, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Steps an INSERT ... RETURNING id (the one way to learn a new row's id, in both dialects) and
 * resets it: *id is the new row's id, 0 when it inserted nothing (an INSERT ... SELECT whose
 * parent row is gone) or returns no rows; -1 with err on a database failure. */
int store_step_id(struct store_conn *c, struct store_stmt *s, int64_t *id, struct base_err *err);
/* The same returning store_step's code (STORE_DONE on success) for a caller that maps an error
 * itself. */
int store_step_returning(struct store_stmt *s, int64_t *id);

/* Fills a statement's parameters from `arg`. */
typedef void (*store_bind_fn)(struct store_stmt *s, void *arg);

/* Runs the one-statement write `sql` with `bind` (may be NULL) filling its parameters:
 * BASE_E_NOTFOUND with the message `missing` when it changed no row (unless `missing` is NULL);
 * *rowid (may be NULL) receives the new row's id (`sql` ends in RETURNING id). store_write_on runs
 * it on connection c (in the caller's transaction, if any), store_write_one on a borrowed
 * connection. */
int store_write_on(struct store_conn *c, const char *sql, store_bind_fn bind, void *arg,
                   const char *missing, int64_t *rowid, struct base_err *err);
int store_write_one(struct store *st, const char *sql, store_bind_fn bind, void *arg,
                    const char *missing, int64_t *rowid, struct base_err *err);
/* The same in a write transaction (a write whose triggers and cascades touch other tables). */
int store_write_tx(struct store *st, const char *sql, store_bind_fn bind, void *arg,
                   const char *missing, struct base_err *err);

/* A query for one row: ?1 = `text` when set, else `key`; load(s, out) reads the row. Without a
 * row, err is `missing` (BASE_E_NOTFOUND when 0) with `msg` ("Not found." when NULL). */
struct store_one {
    const char *sql;
    int64_t key;
    const char *text;
    void (*load)(struct store_stmt *s, void *out);
    void *out;
    enum base_status missing;
    const char *msg;
};
/* Runs q on connection c (in the caller's transaction, if any) / on a borrowed connection. */
int store_one_on(struct store_conn *c, const struct store_one *q, struct base_err *err);
int store_one(struct store *st, const struct store_one *q, struct base_err *err);

/* How store_tx holds its connection: autocommit, a read (BEGIN) or write (BEGIN IMMEDIATE)
 * transaction. */
enum store_tx_mode { STORE_TX_NONE, STORE_TX_READ, STORE_TX_WRITE };
/* Work on a borrowed connection; a non-zero return abandons the transaction. */
typedef int (*store_tx_fn)(struct store_conn *c, void *ctx, struct base_err *err);
/* The one home of the borrow / begin / commit / rollback / give-back dance: runs fn(c, ctx, err)
 * in a transaction of `mode` on a borrowed connection, commits when it returned 0 and rolls back
 * otherwise. Returns fn's result (or -1 when the connection, BEGIN or COMMIT failed). */
int store_tx(struct store *st, enum store_tx_mode mode, store_tx_fn fn, void *ctx,
             struct base_err *err);

/* Runs the query `sql` (bind fills its parameters; may be NULL) and calls row(ctx, s, err) for
 * each result row until one returns non-zero, which is returned; 0 after the last row, -1 on a
 * database error. With `one`, a query without a row is BASE_E_NOTFOUND "Not found.". */
typedef int (*store_row_fn)(void *ctx, struct store_stmt *s, struct base_err *err);
/* A `bind` for store_read / store_write_one: ?1 = *(const int64_t *)id. */
void store_bind_id_arg(struct store_stmt *s, void *id);
/* ?1 and ?2 = the two int64_t of ids[2]. */
void store_bind_ids_arg(struct store_stmt *s, void *ids);
int store_read(struct store *st, const char *sql, store_bind_fn bind, void *arg, int one,
               store_row_fn row, void *ctx, struct base_err *err);

/* A caller's typed row callback (store_annotation_fn, store_job_fn, ...) and its context. */
struct store_cb {
    void (*fn)(void); /* converted back to its own type for the call */
    void *ctx;
};
#define STORE_CB(fn, ctx) ((struct store_cb){(void (*)(void))(fn), (ctx)})
/* Defines NAME, the store_read row function of the `each` readers: loads a TYPE with
 * LOAD(s, &row), passes it to the FN_TYPE callback of its struct store_cb, then RELEASE(&row). */
#define STORE_EACH_ROW(name, type, fn_type, load, release)                                         \
    static int name(void *cb, struct store_stmt *s, struct base_err *err)                          \
    {                                                                                              \
        const struct store_cb *cb_ = cb;                                                           \
        type row_;                                                                                 \
        load(s, &row_);                                                                            \
        int rc_ = ((fn_type)cb_->fn)(cb_->ctx, &row_, err);                                        \
        release(&row_);                                                                            \
        return rc_;                                                                                \
    }
/* The RELEASE of rows that own nothing. */
#define STORE_NO_RELEASE(row) ((void)(row))

/* A column read into a struct member: column `col` by `how` into the member at `offset` (`size`
 * bytes: a char array for TEXT). SET stores whether the column is not NULL (an int has_*). */
enum store_read {
    STORE_RD_I64,
    STORE_RD_INT,
    STORE_RD_REAL,
    STORE_RD_TIME,
    STORE_RD_TEXT,
    STORE_RD_SET
};
struct store_field {
    int col;
    enum store_read how;
    size_t offset, size;
};
#define STORE_FIELD(col, how, type, member)                                                        \
    {                                                                                              \
        (col), STORE_RD_##how, offsetof(type, member), sizeof(((type *)0)->member)                 \
    }
/* Reads the n fields of a row into `out`: the one home of the column-to-member copies of the
 * loaders (the columns a loader reads otherwise, JSON and derived ones, it reads itself). */
void store_load_fields(struct store_stmt *s, const struct store_field *f, size_t n, void *out);

int64_t store_col_time(struct store_stmt *s, int i);
json_t *store_col_json(struct store_stmt *s, int i); /* new reference; NULL for SQL NULL */
/* Copy of a text column into `a` (NULL for SQL NULL). */
const char *store_col_text(struct store_stmt *s, int i, struct base_arena *a);
/* The column's text copied into the arena with its length; NULL for SQL NULL. */
const char *store_col_json_text(struct store_stmt *s, int i, struct base_arena *a, size_t *len);
void store_col_copy(struct store_stmt *s, int i, char *out, size_t size);

/* The uncertainty of task `task` (SQL expression text) in project `project`: 1 - score of its
 * newest prediction by the project's model_version, or when the project names no version
 * (predictions imported from elsewhere) 1 - the mean score of all its predictions; NULL without. */
#define STORE_UNCERTAINTY(task, project)                                                           \
    "(SELECT CASE WHEN pm.model_version = '' THEN (SELECT 1.0 - avg(p.score) FROM prediction p"    \
    " WHERE p.task_id = " task                                                                     \
    ") ELSE (SELECT 1.0 - p.score FROM prediction p WHERE p.task_id = " task                       \
    " AND p.model_version = pm.model_version ORDER BY p.id DESC LIMIT 1) END"                      \
    " FROM project pm WHERE pm.id = " project ")"
/* Recomputes every task's uncertainty in a project (its model_version changed). */
int store_project_refresh_uncertainty(struct store_conn *c, int64_t project, struct base_err *err);
/* Recomputes a task's annotation and prediction counters, is_labeled and prediction_score. */
int store_task_refresh(struct store_conn *c, int64_t task, struct base_err *err);

/* A kind of task row (annotation, prediction): what store_task_row.c needs to create, read,
 * update and delete one. Rows are the kind's struct, passed as void *. */
struct store_kind {
    /* INSERT ... SELECT ... FROM task WHERE id = ?1 (nothing when the task is gone); SELECT of
     * one row by ?1 = id; UPDATE and DELETE of the row ?1 = id. */
    const char *sql_insert, *sql_get, *sql_update, *sql_delete;
    size_t task_offset; /* offsetof the row's task id */
    int names_task;     /* a missing task is "task N not found" (else "Not found.") */
    void (*load)(struct store_stmt *s, void *row);
    void (*release)(void *row);
    void (*apply)(void *row, unsigned set, const void *v); /* the STORE_SET_* fields of v */
    void (*bind_insert)(struct store_stmt *s, int64_t task, const void *row, int64_t now);
    void (*bind_update)(struct store_stmt *s, int64_t id, const void *row, int64_t now);
};
/* Each writes in one transaction and refreshes the counters of the row's task (update: also of
 * the task the row left). `scratch` is a zeroed row the function fills and releases. */
int store_kind_create(struct store *st, const struct store_kind *k, int64_t task, const void *in,
                      int64_t *id, struct base_err *err);
int store_kind_get(struct store *st, const struct store_kind *k, int64_t id, void *out,
                   struct base_err *err);
int store_kind_update(struct store *st, const struct store_kind *k, int64_t id, unsigned set,
                      const void *v, void *scratch, struct base_err *err);
int store_kind_delete(struct store *st, const struct store_kind *k, int64_t id, void *scratch,
                      struct base_err *err);

/* A list of ids as JSON array text (base_free), bound for "IN (" STORE_JSON_IDS("?") ")". */
char *store_ids_json(const int64_t *ids, size_t n);
/* The elements of a JSON array bound as parameter p ("?2") as a subquery's rows: integers (ids)
 * or text. The one way the store's SQL reads a bound list: SQLite's json_each, which
 * PostgreSQL's statement layer turns into json_array_elements_text (text values, cast back to
 * integers by the CAST, a no-op on SQLite). */
#define STORE_JSON_IDS(p)   "SELECT CAST(value AS BIGINT) FROM json_each(" p ")"
#define STORE_JSON_TEXTS(p) "SELECT value FROM json_each(" p ")"

/* Loads one row of the annotation / prediction SELECT column lists below. */
#define STORE_ANNOTATION_COLS                                                                      \
    "id, task_id, project_id, completed_by_id, result, was_cancelled, ground_truth, lead_time, "   \
    "prediction, result_count, parent_prediction_id, parent_annotation_id, last_action, "          \
    "created_at, updated_at"
#define STORE_PREDICTION_COLS                                                                      \
    "id, task_id, project_id, result, score, model_version, cluster, neighbors, mislabeling, "     \
    "created_at, updated_at"
void store_annotation_load(struct store_stmt *s, struct store_annotation *a, struct base_arena *ar);
void store_prediction_load(struct store_stmt *s, struct store_prediction *p, struct base_arena *ar);
/* The same with the JSON columns as text in `ar` (store_task_query.json_text). */
void store_annotation_load_text(struct store_stmt *s, struct store_annotation *a,
                                struct base_arena *ar);
void store_prediction_load_text(struct store_stmt *s, struct store_prediction *p,
                                struct base_arena *ar);

#endif
