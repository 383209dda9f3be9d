/* The SQLite back end of the statement layer (store_int.h, store_sqlite_ops): connections, the
 * prepared-statement cache, binding, stepping and reading, transactions, error translation and
 * the regexp() function. The only store file that calls SQLite's API. */
#include "store_int.h"

#include <regex.h>
#include <sqlite3.h>
#include <string.h>

struct lite_stmt {
    struct store_stmt base;
    sqlite3_stmt *sq;
    const char *sql; /* the cache's key: the string literal's address */
};

struct lite_conn {
    struct store_conn base;
    sqlite3 *db;
    size_t nstmts;
    struct lite_stmt stmts[STORE_STMT_CACHE];
};

#define LC(c) ((struct lite_conn *)(c))
#define LS(s) ((struct lite_stmt *)(s))

/* ---- regexp() for the "regex" filter ---------------------------------------------------------
 */

static void regex_free(void *p)
{
    if (p) {
        regfree(p);
        base_free(p);
    }
}

/* regexp(pattern, text): 1 when the POSIX extended expression matches somewhere in text, NULL
 * for a NULL text; an error for a bad pattern. The compiled pattern is kept with the statement. */
static void regexp_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *text = (const char *)sqlite3_value_text(argv[1]);
    regex_t *re = sqlite3_get_auxdata(ctx, 0);
    if (!re) {
        const char *pat = (const char *)sqlite3_value_text(argv[0]);
        if (!pat || strlen(pat) > STORE_REGEX_MAX) {
            sqlite3_result_error(ctx, "bad regular expression", -1);
            return;
        }
        re = base_alloc(sizeof *re);
        if (regcomp(re, pat, REG_EXTENDED | REG_NOSUB)) {
            base_free(re);
            sqlite3_result_error(ctx, "bad regular expression", -1);
            return;
        }
        sqlite3_set_auxdata(ctx, 0, re, regex_free);
        re = sqlite3_get_auxdata(ctx, 0);
        if (!re) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
    }
    if (!text)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int(ctx, regexec(re, text, 0, NULL, 0) == 0);
}

/* ---- connections and the pool -----------------------------------------------------------------
 */

static int exec_db(sqlite3 *db, const char *sql, struct base_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    base_err_set(err, BASE_E_INTERNAL, "sqlite: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

static int lite_exec(struct store_conn *c, const char *sql, struct base_err *err)
{
    return exec_db(LC(c)->db, sql, err);
}

static struct store_conn *lite_open(const char *path, struct base_err *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        base_err_set(err, BASE_E_IO, "cannot open database %s: %s", path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, STORE_BUSY_MS);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_create_function(db, "regexp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, regexp_fn,
                            NULL, NULL);
    if (exec_db(db,
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-4000",
                err)) {
        sqlite3_close(db);
        return NULL;
    }
    struct lite_conn *c = base_calloc(1, sizeof *c);
    c->base.ops = &store_sqlite_ops;
    c->db = db;
    return &c->base;
}

static void lite_close(struct store_conn *base)
{
    struct lite_conn *c = LC(base);
    for (size_t i = 0; i < c->nstmts; i++)
        sqlite3_finalize(c->stmts[i].sq);
    sqlite3_close(c->db);
    base_free(c);
}

static void lite_release(struct store_conn *base)
{
    struct lite_conn *c = LC(base);
    for (size_t i = 0; i < c->nstmts; i++)
        if (sqlite3_stmt_busy(c->stmts[i].sq))
            sqlite3_reset(c->stmts[i].sq);
    if (!sqlite3_get_autocommit(c->db))
        exec_db(c->db, "ROLLBACK", NULL);
}

static char *lite_migration(int i)
{
    const char *sql = store_migration(i);
    return sql ? base_strdup(sql) : NULL;
}

/* ---- statements ------------------------------------------------------------------------------ */

static int lite_fail(struct store_conn *c, int rc, struct base_err *err)
{
    int primary = rc & 0xff;
    const char *msg = sqlite3_errmsg(LC(c)->db);
    switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return base_err_set(err, BASE_E_BUSY, "database is busy, try again");
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            return base_err_set(err, BASE_E_INVALID, "a referenced object does not exist");
        return base_err_set(err, BASE_E_CONFLICT, "constraint failed: %s", msg);
    case SQLITE_NOMEM:
        return base_err_set(err, BASE_E_NOMEM, "database out of memory");
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return base_err_set(err, BASE_E_IO, "database I/O error: %s", msg);
    case SQLITE_TOOBIG:
        return base_err_set(err, BASE_E_TOOBIG, "value too big for the database");
    }
    return base_err_set(err, BASE_E_INTERNAL, "sqlite: %s", msg);
}

static int lite_rc_constraint(int rc)
{
    return (rc & 0xff) == SQLITE_CONSTRAINT;
}

static struct store_stmt *lite_prepare(struct store_conn *base, const char *sql,
                                       struct base_err *err)
{
    struct lite_conn *c = LC(base);
    for (size_t i = 0; i < c->nstmts; i++)
        if (c->stmts[i].sql == sql) {
            sqlite3_stmt *s = c->stmts[i].sq;
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return &c->stmts[i].base;
        }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        lite_fail(base, rc, err);
        return NULL;
    }
    BASE_ASSERT(c->nstmts < STORE_STMT_CACHE);
    struct lite_stmt *st = &c->stmts[c->nstmts++];
    *st = (struct lite_stmt){{base}, s, sql};
    return &st->base;
}

static struct store_stmt *lite_stmt_new(struct store_conn *c, const char *sql, size_t len,
                                        struct base_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(LC(c)->db, sql, (int)len, &s, NULL);
    if (rc != SQLITE_OK) {
        lite_fail(c, rc, err);
        return NULL;
    }
    struct lite_stmt *st = base_alloc(sizeof *st);
    *st = (struct lite_stmt){{c}, s, NULL};
    return &st->base;
}

static void lite_stmt_free(struct store_stmt *s)
{
    sqlite3_finalize(LS(s)->sq);
    base_free(s);
}

static int lite_step(struct store_stmt *s)
{
    int rc = sqlite3_step(LS(s)->sq);
    return rc == SQLITE_ROW ? STORE_ROW : rc == SQLITE_DONE ? STORE_DONE : rc;
}

static void lite_reset(struct store_stmt *s)
{
    sqlite3_reset(LS(s)->sq);
}

static int64_t lite_changes(struct store_conn *c)
{
    return sqlite3_changes(LC(c)->db);
}

static int lite_bind_count(struct store_stmt *s)
{
    return sqlite3_bind_parameter_count(LS(s)->sq);
}

/* ---- binding and reading values ---------------------------------------------------------------
 */

static void lite_bind_i64(struct store_stmt *s, int i, int64_t v)
{
    sqlite3_bind_int64(LS(s)->sq, i, v);
}

static void lite_bind_real(struct store_stmt *s, int i, double v)
{
    sqlite3_bind_double(LS(s)->sq, i, v);
}

static void lite_bind_null(struct store_stmt *s, int i)
{
    sqlite3_bind_null(LS(s)->sq, i);
}

static void lite_bind_text(struct store_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(LS(s)->sq, i, v, -1, SQLITE_TRANSIENT); /* NULL binds NULL */
}

static void lite_bind_static(struct store_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(LS(s)->sq, i, v, -1, SQLITE_STATIC);
}

static void lite_bind_owned(struct store_stmt *s, int i, char *v, size_t len)
{
    sqlite3_bind_text64(LS(s)->sq, i, v, len, base_free, SQLITE_UTF8);
}

static int64_t lite_col_i64(struct store_stmt *s, int i)
{
    return sqlite3_column_int64(LS(s)->sq, i);
}

static double lite_col_real(struct store_stmt *s, int i)
{
    return sqlite3_column_double(LS(s)->sq, i);
}

static int lite_col_null(struct store_stmt *s, int i)
{
    return sqlite3_column_type(LS(s)->sq, i) == SQLITE_NULL;
}

static const char *lite_col_str(struct store_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(LS(s)->sq, i);
}

static size_t lite_col_len(struct store_stmt *s, int i)
{
    return (size_t)sqlite3_column_bytes(LS(s)->sq, i);
}

/* ---- transactions -----------------------------------------------------------------------------
 */

/* Transaction control through cached statements: sqlite3_exec would parse the SQL every time,
 * which was a tenth of the cost of a single-task GET. */
static const char SQL_BEGIN_WRITE[] = "BEGIN IMMEDIATE";
static const char SQL_BEGIN_READ[] = "BEGIN";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

static int lite_begin(struct store_conn *c, int write, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, write ? SQL_BEGIN_WRITE : SQL_BEGIN_READ, err);
    return s ? store_step_done(c, s, err) : -1;
}

static void lite_rollback(struct store_conn *c);

static int lite_commit(struct store_conn *c, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_COMMIT, err);
    if (s && store_step_done(c, s, err) == 0)
        return 0;
    lite_rollback(c);
    return -1;
}

static void lite_rollback(struct store_conn *c)
{
    if (sqlite3_get_autocommit(LC(c)->db))
        return;
    struct store_stmt *s = store_prepare(c, SQL_ROLLBACK, NULL);
    if (!s || store_step_done(c, s, NULL))
        sqlite3_exec(LC(c)->db, "ROLLBACK", NULL, NULL, NULL);
}

const struct store_ops store_sqlite_ops = {
    .open = lite_open,
    .close = lite_close,
    .release = lite_release,
    .migration = lite_migration,
    .prepare = lite_prepare,
    .stmt_new = lite_stmt_new,
    .stmt_free = lite_stmt_free,
    .exec = lite_exec,
    .step = lite_step,
    .reset = lite_reset,
    .fail = lite_fail,
    .rc_constraint = lite_rc_constraint,
    .changes = lite_changes,
    .bind_count = lite_bind_count,
    .bind_i64 = lite_bind_i64,
    .bind_real = lite_bind_real,
    .bind_null = lite_bind_null,
    .bind_text = lite_bind_text,
    .bind_static = lite_bind_static,
    .bind_owned = lite_bind_owned,
    .col_i64 = lite_col_i64,
    .col_real = lite_col_real,
    .col_null = lite_col_null,
    .col_str = lite_col_str,
    .col_len = lite_col_len,
    .begin = lite_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
};
