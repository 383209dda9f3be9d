/* The SQLite back end of the statement layer (store_int.h): connections and their pool, the
 * prepared-statement cache, binding, stepping and reading, transactions, error translation and
 * the regexp() function. The only store file that calls SQLite's API. */
#include "store_int.h"

#include <pthread.h>
#include <regex.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>

struct store_stmt {
    sqlite3_stmt *sq;
    struct store_conn *c;
    const char *sql; /* the cache's key: the string literal's address */
};

struct store_conn {
    sqlite3 *db;
    struct store_conn *next;
    size_t nstmts;
    struct store_stmt stmts[STORE_STMT_CACHE];
};

struct store {
    char *path;
    pthread_mutex_t lock;
    struct store_conn *idle;
    size_t nidle;
};

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

int store_exec(struct store_conn *c, const char *sql, struct base_err *err)
{
    return exec_db(c->db, sql, err);
}

static struct store_conn *conn_open(const char *path, struct base_err *err)
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
    struct store_conn *c = base_calloc(1, sizeof *c);
    c->db = db;
    return c;
}

static void conn_close(struct store_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nstmts; i++)
        sqlite3_finalize(c->stmts[i].sq);
    sqlite3_close(c->db);
    base_free(c);
}

struct store *store_open(const char *path, struct base_err *err)
{
    if (sodium_init() < 0) {
        base_err_set(err, BASE_E_INTERNAL, "libsodium failed to initialise");
        return NULL;
    }
    struct store_conn *c = conn_open(path, err);
    if (!c)
        return NULL;
    if (store_migrate(c, err)) {
        conn_close(c);
        return NULL;
    }
    struct store *st = base_calloc(1, sizeof *st);
    st->path = base_strdup(path);
    pthread_mutex_init(&st->lock, NULL);
    st->idle = c;
    st->nidle = 1;
    return st;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    while (st->idle) {
        struct store_conn *c = st->idle;
        st->idle = c->next;
        conn_close(c);
    }
    pthread_mutex_destroy(&st->lock);
    base_free(st->path);
    base_free(st);
}

struct store_conn *store_conn_get(struct store *st, struct base_err *err)
{
    pthread_mutex_lock(&st->lock);
    struct store_conn *c = st->idle;
    if (c) {
        st->idle = c->next;
        st->nidle--;
    }
    pthread_mutex_unlock(&st->lock);
    return c ? c : conn_open(st->path, err);
}

void store_conn_put(struct store *st, struct store_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nstmts; i++)
        if (sqlite3_stmt_busy(c->stmts[i].sq))
            sqlite3_reset(c->stmts[i].sq);
    if (!sqlite3_get_autocommit(c->db))
        exec_db(c->db, "ROLLBACK", NULL);
    pthread_mutex_lock(&st->lock);
    int keep = st->nidle < STORE_POOL_IDLE;
    if (keep) {
        c->next = st->idle;
        st->idle = c;
        st->nidle++;
    }
    pthread_mutex_unlock(&st->lock);
    if (!keep)
        conn_close(c);
}

static const char SQL_COLUMNS[] =
    "SELECT m.name || '.' || c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c"
    " WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1";

char *store_columns(struct store *st, struct base_err *err)
{
    struct store_conn *c = store_conn_get(st, err);
    struct store_stmt *s = c ? store_prepare(c, SQL_COLUMNS, err) : NULL;
    if (!s) {
        store_conn_put(st, c);
        return NULL;
    }
    struct base_buf b;
    base_buf_init(&b, 1 << 20);
    int rc;
    while ((rc = store_step(s)) == STORE_ROW)
        base_buf_printf(&b, NULL, "%s\n", store_col_str(s, 0));
    char *out = rc == STORE_DONE ? base_buf_steal(&b, NULL) : NULL;
    if (!out)
        store_fail(c, rc, err);
    base_buf_release(&b);
    store_conn_put(st, c);
    return out;
}

/* ---- statements ------------------------------------------------------------------------------ */

int store_fail(struct store_conn *c, int rc, struct base_err *err)
{
    int primary = rc & 0xff;
    const char *msg = sqlite3_errmsg(c->db);
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

int store_rc_constraint(int rc)
{
    return (rc & 0xff) == SQLITE_CONSTRAINT;
}

struct store_stmt *store_prepare(struct store_conn *c, const char *sql, struct base_err *err)
{
    for (size_t i = 0; i < c->nstmts; i++)
        if (c->stmts[i].sql == sql) {
            sqlite3_stmt *s = c->stmts[i].sq;
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return &c->stmts[i];
        }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        store_fail(c, rc, err);
        return NULL;
    }
    BASE_ASSERT(c->nstmts < STORE_STMT_CACHE);
    struct store_stmt *st = &c->stmts[c->nstmts++];
    *st = (struct store_stmt){s, c, sql};
    return st;
}

struct store_stmt *store_stmt_new(struct store_conn *c, const char *sql, size_t len,
                                  struct base_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, (int)len, &s, NULL);
    if (rc != SQLITE_OK) {
        store_fail(c, rc, err);
        return NULL;
    }
    struct store_stmt *st = base_alloc(sizeof *st);
    *st = (struct store_stmt){s, c, NULL};
    return st;
}

void store_stmt_free(struct store_stmt *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->sq);
    base_free(s);
}

int store_step(struct store_stmt *s)
{
    int rc = sqlite3_step(s->sq);
    return rc == SQLITE_ROW ? STORE_ROW : rc == SQLITE_DONE ? STORE_DONE : rc;
}

void store_reset(struct store_stmt *s)
{
    sqlite3_reset(s->sq);
}

int64_t store_changes(struct store_conn *c)
{
    return sqlite3_changes(c->db);
}

int store_bind_count(struct store_stmt *s)
{
    return sqlite3_bind_parameter_count(s->sq);
}

/* ---- binding and reading values ---------------------------------------------------------------
 */

void store_bind_i64(struct store_stmt *s, int i, int64_t v)
{
    sqlite3_bind_int64(s->sq, i, v);
}

void store_bind_int(struct store_stmt *s, int i, int v)
{
    sqlite3_bind_int(s->sq, i, v);
}

void store_bind_real(struct store_stmt *s, int i, double v)
{
    sqlite3_bind_double(s->sq, i, v);
}

void store_bind_null(struct store_stmt *s, int i)
{
    sqlite3_bind_null(s->sq, i);
}

void store_bind_text(struct store_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s->sq, i, v, -1, SQLITE_TRANSIENT); /* NULL binds NULL */
}

void store_bind_static(struct store_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s->sq, i, v, -1, SQLITE_STATIC);
}

void store_bind_json(struct store_stmt *s, int i, const json_t *v)
{
    if (!v) {
        sqlite3_bind_null(s->sq, i);
        return;
    }
    size_t len;
    char *text = base_json_dumps(v, BASE_JSON_COMPACT, &len);
    sqlite3_bind_text64(s->sq, i, text, len, base_free, SQLITE_UTF8);
}

int64_t store_col_i64(struct store_stmt *s, int i)
{
    return sqlite3_column_int64(s->sq, i);
}

int store_col_int(struct store_stmt *s, int i)
{
    return sqlite3_column_int(s->sq, i);
}

double store_col_real(struct store_stmt *s, int i)
{
    return sqlite3_column_double(s->sq, i);
}

int store_col_null(struct store_stmt *s, int i)
{
    return sqlite3_column_type(s->sq, i) == SQLITE_NULL;
}

const char *store_col_str(struct store_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s->sq, i);
}

size_t store_col_len(struct store_stmt *s, int i)
{
    return (size_t)sqlite3_column_bytes(s->sq, i);
}

/* ---- transactions -----------------------------------------------------------------------------
 */

/* Transaction control through cached statements: sqlite3_exec would parse the SQL every time,
 * which was a tenth of the cost of a single-task GET. */
static const char SQL_BEGIN_WRITE[] = "BEGIN IMMEDIATE";
static const char SQL_BEGIN_READ[] = "BEGIN";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

int store_begin(struct store_conn *c, int write, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, write ? SQL_BEGIN_WRITE : SQL_BEGIN_READ, err);
    return s ? store_step_done(c, s, err) : -1;
}

int store_commit(struct store_conn *c, struct base_err *err)
{
    struct store_stmt *s = store_prepare(c, SQL_COMMIT, err);
    if (s && store_step_done(c, s, err) == 0)
        return 0;
    store_rollback(c);
    return -1;
}

void store_rollback(struct store_conn *c)
{
    if (sqlite3_get_autocommit(c->db))
        return;
    struct store_stmt *s = store_prepare(c, SQL_ROLLBACK, NULL);
    if (!s || store_step_done(c, s, NULL))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}
