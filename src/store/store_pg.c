/* The PostgreSQL (libpq) back end of the statement layer (store_pg_ops; store_pg.h). Values
 * travel as text in both directions (libpq's text format), so a bound int64 is its decimal
 * digits and a column is parsed from its text; PostgreSQL infers the parameters' types from the
 * statement. */
#include "store_pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pg_step's error codes (never STORE_ROW or STORE_DONE). */
enum { PG_E_OTHER = 1, PG_E_UNIQUE, PG_E_FOREIGN, PG_E_CONSTRAINT, PG_E_BUSY, PG_E_IO, PG_E_BIG };

struct pg_stmt {
    struct store_stmt base;
    Oid *types;      /* parameter types: 0 (inferred), text for those the SQL never names */
    const char *key; /* the SQL literal's address (cached statements) */
    char *sql;       /* the rewritten SQL of a run-time statement (else NULL) */
    char name[24];   /* the server-side prepared statement's name */
    int nparams;
    char **vals; /* owned copies; NULL is SQL NULL */
    PGresult *res;
    int row, nrows;
};

struct pg_conn {
    struct store_conn base;
    PGconn *pg;
    int64_t changes;
    char msg[256]; /* the last failure's message */
    size_t nstmts;
    struct pg_stmt stmts[STORE_STMT_CACHE];
};

#define PC(c) ((struct pg_conn *)(c))
#define PS(s) ((struct pg_stmt *)(s))

/* ---- connections ------------------------------------------------------------------------------
 */

static int pg_exec(struct store_conn *c, const char *sql, struct base_err *err);
static void pg_reset(struct store_stmt *st);

static struct store_conn *pg_open(const char *url, struct base_err *err)
{
    PGconn *pg = PQconnectdb(url);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        base_err_set(err, BASE_E_IO, "cannot connect to PostgreSQL: %s",
                     pg ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        return NULL;
    }
    struct pg_conn *c = base_calloc(1, sizeof *c);
    c->base.ops = &store_pg_ops;
    c->pg = pg;
    /* a writer waits for the write lock as long as SQLite's busy timeout, then "database is
     * busy" (55P03), rather than for ever */
    char set[96];
    snprintf(set, sizeof set, "SET client_min_messages = warning; SET lock_timeout = %d",
             STORE_BUSY_MS);
    if (pg_exec(&c->base, set, err)) {
        store_pg_ops.close(&c->base);
        return NULL;
    }
    return &c->base;
}

static void stmt_clear(struct pg_stmt *s)
{
    pg_reset(&s->base);
    for (int i = 0; i < s->nparams; i++)
        base_free(s->vals[i]);
    base_free(s->vals);
    base_free(s->types);
    base_free(s->sql);
}

static void pg_close(struct store_conn *base)
{
    struct pg_conn *c = PC(base);
    for (size_t i = 0; i < c->nstmts; i++)
        stmt_clear(&c->stmts[i]);
    PQfinish(c->pg);
    base_free(c);
}

static void pg_rollback(struct store_conn *base);

static void pg_release(struct store_conn *base)
{
    struct pg_conn *c = PC(base);
    for (size_t i = 0; i < c->nstmts; i++)
        pg_reset(&c->stmts[i].base);
    pg_rollback(base);
}

/* ---- errors -----------------------------------------------------------------------------------
 */

/* The class of an SQLSTATE (NULL: none came, the connection may be gone). */
static int classify(struct pg_conn *c, const char *state)
{
    if (!state)
        return PQstatus(c->pg) == CONNECTION_OK ? PG_E_OTHER : PG_E_IO;
    if (!strcmp(state, "23505"))
        return PG_E_UNIQUE;
    if (!strcmp(state, "23503"))
        return PG_E_FOREIGN;
    if (!strncmp(state, "23", 2))
        return PG_E_CONSTRAINT;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03"))
        return PG_E_BUSY;
    if (!strncmp(state, "08", 2) || !strncmp(state, "53", 2) || !strncmp(state, "58", 2))
        return PG_E_IO;
    if (!strcmp(state, "54000"))
        return PG_E_BIG;
    return PG_E_OTHER;
}

/* Keeps a failed result's message and classifies its SQLSTATE; clears the result. */
static int failed(struct pg_conn *c, PGresult *res)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);
    snprintf(c->msg, sizeof c->msg, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(c->msg);
    while (n && (c->msg[n - 1] == '\n' || c->msg[n - 1] == ' '))
        c->msg[--n] = 0;
    int rc = classify(c, res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL);
    PQclear(res);
    return rc;
}

static int pg_fail(struct store_conn *base, int rc, struct base_err *err)
{
    const char *msg = PC(base)->msg;
    switch (rc) {
    case PG_E_BUSY:
        return base_err_set(err, BASE_E_BUSY, "database is busy, try again");
    case PG_E_FOREIGN:
        return base_err_set(err, BASE_E_INVALID, "a referenced object does not exist");
    case PG_E_UNIQUE:
    case PG_E_CONSTRAINT:
        return base_err_set(err, BASE_E_CONFLICT, "constraint failed: %s", msg);
    case PG_E_IO:
        return base_err_set(err, BASE_E_IO, "database I/O error: %s", msg);
    case PG_E_BIG:
        return base_err_set(err, BASE_E_TOOBIG, "value too big for the database");
    }
    return base_err_set(err, BASE_E_INTERNAL, "postgresql: %s", msg);
}

static int pg_rc_constraint(int rc)
{
    return rc == PG_E_UNIQUE || rc == PG_E_CONSTRAINT || rc == PG_E_FOREIGN;
}

static int pg_exec(struct store_conn *base, const char *sql, struct base_err *err)
{
    struct pg_conn *c = PC(base);
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(res);
        return 0;
    }
    return pg_fail(base, failed(c, res), err);
}

/* ---- statements -------------------------------------------------------------------------------
 */

static int word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* At sql[i] (a word's start), the length of SQLite's planner hint "INDEXED BY name " (which
 * PostgreSQL neither has nor needs), else 0. */
static size_t indexed_by(const char *sql, size_t len, size_t i)
{
    static const char hint[] = "INDEXED BY ";
    size_t n = sizeof hint - 1;
    if (len - i <= n || strncmp(sql + i, hint, n))
        return 0;
    while (i + n < len && word_char(sql[i + n]))
        n++;
    while (i + n < len && sql[i + n] == ' ')
        n++;
    return n;
}

char *store_pg_placeholders(const char *sql, size_t len, int *nparams)
{
    static const char each[] = "json_each(";
    struct base_buf b;
    base_buf_init(&b, len * 2 + 64);
    int max = 0;
    char quote = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = sql[i];
        int word = !i || !word_char(sql[i - 1]);
        size_t skip;
        if (quote) {
            quote = ch == quote ? 0 : quote; /* a doubled quote closes and reopens: same text */
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
        } else if (word && (skip = indexed_by(sql, len, i))) {
            i += skip - 1;
            continue;
        } else if (word && len - i > sizeof each - 1 && !strncmp(sql + i, each, sizeof each - 1)) {
            /* a JSON array's elements (the store binds lists as one array): its values as text,
             * which the SQL casts where it wants numbers (STORE_JSON_IDS) */
            base_buf_printf(&b, NULL, "json_array_elements_text(");
            i += sizeof each - 2;
            continue;
        } else if (ch == '?') {
            int n = 0;
            while (i + 1 < len && sql[i + 1] >= '0' && sql[i + 1] <= '9')
                n = n * 10 + (sql[++i] - '0');
            if (!n)
                n = max + 1; /* SQLite: a bare ? is one more than the largest so far */
            max = n > max ? n : max;
            base_buf_printf(&b, NULL, "$%d", n);
            continue;
        }
        base_buf_append(&b, &ch, 1, NULL);
    }
    *nparams = max;
    return base_buf_steal(&b, NULL);
}

/* The types of $1..$n in `text`: a parameter the SQL never names (a statement that shares its
 * binding code with another, SQLite's ?3 left out) is text, which PostgreSQL cannot infer. */
static Oid *param_types(const char *text, int n)
{
    Oid *types = base_calloc((size_t)n + 1, sizeof *types);
    for (int i = 1; i <= n; i++) {
        char name[16];
        int len = snprintf(name, sizeof name, "$%d", i);
        const char *p = text;
        while ((p = strstr(p, name)) && p[len] >= '0' && p[len] <= '9')
            p += len;
        if (!p)
            types[i - 1] = 25; /* TEXTOID */
    }
    return types;
}

static int stmt_init(struct pg_conn *c, struct pg_stmt *s, const char *key, const char *sql,
                     size_t len, struct base_err *err)
{
    *s = (struct pg_stmt){.base = {&c->base}, .key = key};
    char *text = store_pg_placeholders(sql, len, &s->nparams);
    s->vals = base_calloc((size_t)s->nparams + 1, sizeof *s->vals);
    s->types = param_types(text, s->nparams);
    if (key) {
        snprintf(s->name, sizeof s->name, "ll%zu", c->nstmts);
        PGresult *res = PQprepare(c->pg, s->name, text, s->nparams, s->types);
        base_free(text);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            base_free(s->vals);
            base_free(s->types);
            return pg_fail(&c->base, failed(c, res), err);
        }
        PQclear(res);
    } else {
        s->sql = text;
    }
    return 0;
}

static struct store_stmt *pg_prepare(struct store_conn *base, const char *sql, struct base_err *err)
{
    struct pg_conn *c = PC(base);
    for (size_t i = 0; i < c->nstmts; i++)
        if (c->stmts[i].key == sql) {
            struct pg_stmt *s = &c->stmts[i];
            pg_reset(&s->base);
            for (int k = 0; k < s->nparams; k++) {
                base_free(s->vals[k]);
                s->vals[k] = NULL;
            }
            return &s->base;
        }
    BASE_ASSERT(c->nstmts < STORE_STMT_CACHE);
    struct pg_stmt *s = &c->stmts[c->nstmts];
    if (stmt_init(c, s, sql, sql, strlen(sql), err))
        return NULL;
    c->nstmts++;
    return &s->base;
}

static struct store_stmt *pg_stmt_new(struct store_conn *c, const char *sql, size_t len,
                                      struct base_err *err)
{
    struct pg_stmt *s = base_alloc(sizeof *s);
    stmt_init(PC(c), s, NULL, sql, len, err);
    return &s->base;
}

static void pg_stmt_free(struct store_stmt *s)
{
    stmt_clear(PS(s));
    base_free(s);
}

static int pg_step(struct store_stmt *st)
{
    struct pg_stmt *s = PS(st);
    struct pg_conn *c = PC(st->conn);
    if (!s->res) {
        const char *const *vals = (const char *const *)s->vals;
        s->res = s->sql ? PQexecParams(c->pg, s->sql, s->nparams, s->types, vals, NULL, NULL, 0)
                        : PQexecPrepared(c->pg, s->name, s->nparams, vals, NULL, NULL, 0);
        ExecStatusType rs = PQresultStatus(s->res);
        if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
            int rc = failed(c, s->res);
            s->res = NULL;
            return rc;
        }
        const char *n = PQcmdTuples(s->res);
        c->changes = n && *n ? strtoll(n, NULL, 10) : 0;
        s->nrows = rs == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
        s->row = -1;
    }
    return ++s->row < s->nrows ? STORE_ROW : STORE_DONE;
}

static void pg_reset(struct store_stmt *st)
{
    struct pg_stmt *s = PS(st);
    PQclear(s->res);
    s->res = NULL;
}

static int64_t pg_changes(struct store_conn *c)
{
    return PC(c)->changes;
}

static int pg_bind_count(struct store_stmt *s)
{
    return PS(s)->nparams;
}

/* ---- binding and reading values ---------------------------------------------------------------
 */

static void pg_bind_owned(struct store_stmt *st, int i, char *v, size_t len)
{
    (void)len;
    struct pg_stmt *s = PS(st);
    if (i < 1 || i > s->nparams) { /* SQLite ignores an index out of range too (SQLITE_RANGE) */
        base_free(v);
        return;
    }
    base_free(s->vals[i - 1]);
    s->vals[i - 1] = v;
}

static void pg_bind_text(struct store_stmt *s, int i, const char *v)
{
    pg_bind_owned(s, i, v ? base_strdup(v) : NULL, 0);
}

static void pg_bind_i64(struct store_stmt *s, int i, int64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)v);
    pg_bind_text(s, i, text);
}

static void pg_bind_real(struct store_stmt *s, int i, double v)
{
    char text[40];
    snprintf(text, sizeof text, "%.17g", v);
    pg_bind_text(s, i, text);
}

static void pg_bind_null(struct store_stmt *s, int i)
{
    pg_bind_owned(s, i, NULL, 0);
}

static int pg_col_null(struct store_stmt *st, int i)
{
    struct pg_stmt *s = PS(st);
    return !s->res || s->row >= s->nrows || i >= PQnfields(s->res) ||
           PQgetisnull(s->res, s->row, i);
}

static const char *pg_col_str(struct store_stmt *s, int i)
{
    return pg_col_null(s, i) ? NULL : PQgetvalue(PS(s)->res, PS(s)->row, i);
}

static size_t pg_col_len(struct store_stmt *s, int i)
{
    return pg_col_null(s, i) ? 0 : (size_t)PQgetlength(PS(s)->res, PS(s)->row, i);
}

/* A column as a number the way SQLite reads one: an integer's digits, a real's integer part,
 * 0 for text that is no number; PostgreSQL's booleans are 't' / 'f'. */
static int64_t pg_col_i64(struct store_stmt *s, int i)
{
    const char *t = pg_col_str(s, i);
    if (!t)
        return 0;
    if (t[0] == 't' && !t[1])
        return 1;
    return strpbrk(t, ".eE") ? (int64_t)strtod(t, NULL) : strtoll(t, NULL, 10);
}

static double pg_col_real(struct store_stmt *s, int i)
{
    const char *t = pg_col_str(s, i);
    return t ? strtod(t, NULL) : 0;
}

/* ---- transactions -----------------------------------------------------------------------------
 */

/* A write transaction holds one advisory lock for its whole length: writers take turns as with
 * SQLite's BEGIN IMMEDIATE, which the counters, /next and the job claims rely on. */
static int pg_begin(struct store_conn *c, int write, struct base_err *err)
{
    return pg_exec(c, write ? "BEGIN; SELECT pg_advisory_xact_lock(7140)" : "BEGIN", err);
}

static int pg_commit(struct store_conn *base, struct base_err *err)
{
    struct pg_conn *c = PC(base);
    /* PostgreSQL answers COMMIT of a transaction that a failed statement aborted with a
     * successful ROLLBACK: say that it failed. */
    if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
        pg_rollback(base);
        return base_err_set(err, BASE_E_INTERNAL, "postgresql: %s", c->msg);
    }
    if (pg_exec(base, "COMMIT", err) == 0)
        return 0;
    pg_rollback(base);
    return -1;
}

static void pg_rollback(struct store_conn *c)
{
    if (PQtransactionStatus(PC(c)->pg) != PQTRANS_IDLE)
        pg_exec(c, "ROLLBACK", NULL);
}

static char *pg_migration(int i)
{
    return store_pg_migration(i);
}

const struct store_ops store_pg_ops = {
    .open = pg_open,
    .close = pg_close,
    .release = pg_release,
    .migration = pg_migration,
    .prepare = pg_prepare,
    .stmt_new = pg_stmt_new,
    .stmt_free = pg_stmt_free,
    .exec = pg_exec,
    .step = pg_step,
    .reset = pg_reset,
    .fail = pg_fail,
    .rc_constraint = pg_rc_constraint,
    .changes = pg_changes,
    .bind_count = pg_bind_count,
    .bind_i64 = pg_bind_i64,
    .bind_real = pg_bind_real,
    .bind_null = pg_bind_null,
    .bind_text = pg_bind_text,
    .bind_static = pg_bind_text,
    .bind_owned = pg_bind_owned,
    .col_i64 = pg_col_i64,
    .col_real = pg_col_real,
    .col_null = pg_col_null,
    .col_str = pg_col_str,
    .col_len = pg_col_len,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
};
