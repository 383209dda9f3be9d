/* The PostgreSQL (libpq) back end of the statement layer, first part: see store_pg.h. Values
 * travel as text in both directions (libpq's text format), so a bound int64 is its decimal
 * digits and a column is parsed from its text; PostgreSQL infers the parameters' types from the
 * statement. */
#include "store_pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* store_pg_step's error codes (never STORE_ROW or STORE_DONE). */
enum { PG_E_OTHER = 1, PG_E_UNIQUE, PG_E_FOREIGN, PG_E_CONSTRAINT, PG_E_BUSY, PG_E_IO, PG_E_BIG };

struct store_pg_stmt {
    struct store_pg_conn *c;
    const char *key; /* the SQL literal's address (cached statements) */
    char *sql;       /* the rewritten SQL of a run-time statement (else NULL) */
    char name[24];   /* the server-side prepared statement's name */
    int nparams;
    char **vals; /* owned copies; NULL is SQL NULL */
    PGresult *res;
    int row, nrows;
};

struct store_pg_conn {
    PGconn *pg;
    int64_t changes;
    char msg[256]; /* the last failure's message */
    size_t nstmts;
    struct store_pg_stmt stmts[STORE_STMT_CACHE];
};

/* ---- connections ------------------------------------------------------------------------------
 */

struct store_pg_conn *store_pg_open(const char *url, struct base_err *err)
{
    PGconn *pg = PQconnectdb(url);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        base_err_set(err, BASE_E_IO, "cannot connect to PostgreSQL: %s",
                     pg ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        return NULL;
    }
    struct store_pg_conn *c = base_calloc(1, sizeof *c);
    c->pg = pg;
    if (store_pg_exec(c, "SET client_min_messages = warning", err)) {
        store_pg_close(c);
        return NULL;
    }
    return c;
}

static void stmt_clear(struct store_pg_stmt *s)
{
    store_pg_reset(s);
    for (int i = 0; i < s->nparams; i++)
        base_free(s->vals[i]);
    base_free(s->vals);
    base_free(s->sql);
}

void store_pg_close(struct store_pg_conn *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nstmts; i++)
        stmt_clear(&c->stmts[i]);
    PQfinish(c->pg);
    base_free(c);
}

/* ---- errors -----------------------------------------------------------------------------------
 */

/* The class of an SQLSTATE (NULL: none came, the connection may be gone). */
static int classify(struct store_pg_conn *c, const char *state)
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
static int failed(struct store_pg_conn *c, PGresult *res)
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

int store_pg_fail(struct store_pg_conn *c, int rc, struct base_err *err)
{
    switch (rc) {
    case PG_E_BUSY:
        return base_err_set(err, BASE_E_BUSY, "database is busy, try again");
    case PG_E_FOREIGN:
        return base_err_set(err, BASE_E_INVALID, "a referenced object does not exist");
    case PG_E_UNIQUE:
    case PG_E_CONSTRAINT:
        return base_err_set(err, BASE_E_CONFLICT, "constraint failed: %s", c->msg);
    case PG_E_IO:
        return base_err_set(err, BASE_E_IO, "database I/O error: %s", c->msg);
    case PG_E_BIG:
        return base_err_set(err, BASE_E_TOOBIG, "value too big for the database");
    }
    return base_err_set(err, BASE_E_INTERNAL, "postgresql: %s", c->msg);
}

int store_pg_rc_constraint(int rc)
{
    return rc == PG_E_UNIQUE || rc == PG_E_CONSTRAINT || rc == PG_E_FOREIGN;
}

int store_pg_exec(struct store_pg_conn *c, const char *sql, struct base_err *err)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(res);
        return 0;
    }
    return store_pg_fail(c, failed(c, res), err);
}

/* ---- statements -------------------------------------------------------------------------------
 */

char *store_pg_placeholders(const char *sql, size_t len, int *nparams)
{
    struct base_buf b;
    base_buf_init(&b, len * 2 + 64);
    int max = 0;
    char quote = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = sql[i];
        if (quote) {
            quote = ch == quote ? 0 : quote; /* a doubled quote closes and reopens: same text */
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
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

static int stmt_init(struct store_pg_conn *c, struct store_pg_stmt *s, const char *key,
                     const char *sql, size_t len, struct base_err *err)
{
    *s = (struct store_pg_stmt){.c = c, .key = key};
    char *text = store_pg_placeholders(sql, len, &s->nparams);
    s->vals = base_calloc((size_t)s->nparams + 1, sizeof *s->vals);
    if (key) {
        snprintf(s->name, sizeof s->name, "ll%zu", c->nstmts);
        PGresult *res = PQprepare(c->pg, s->name, text, 0, NULL);
        base_free(text);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            base_free(s->vals);
            return store_pg_fail(c, failed(c, res), err);
        }
        PQclear(res);
    } else {
        s->sql = text;
    }
    return 0;
}

struct store_pg_stmt *store_pg_prepare(struct store_pg_conn *c, const char *sql,
                                       struct base_err *err)
{
    for (size_t i = 0; i < c->nstmts; i++)
        if (c->stmts[i].key == sql) {
            struct store_pg_stmt *s = &c->stmts[i];
            store_pg_reset(s);
            for (int k = 0; k < s->nparams; k++) {
                base_free(s->vals[k]);
                s->vals[k] = NULL;
            }
            return s;
        }
    BASE_ASSERT(c->nstmts < STORE_STMT_CACHE);
    struct store_pg_stmt *s = &c->stmts[c->nstmts];
    if (stmt_init(c, s, sql, sql, strlen(sql), err))
        return NULL;
    c->nstmts++;
    return s;
}

struct store_pg_stmt *store_pg_stmt_new(struct store_pg_conn *c, const char *sql, size_t len,
                                        struct base_err *err)
{
    struct store_pg_stmt *s = base_alloc(sizeof *s);
    stmt_init(c, s, NULL, sql, len, err);
    return s;
}

void store_pg_stmt_free(struct store_pg_stmt *s)
{
    if (!s)
        return;
    stmt_clear(s);
    base_free(s);
}

int store_pg_step(struct store_pg_stmt *s)
{
    if (!s->res) {
        const char *const *vals = (const char *const *)s->vals;
        s->res = s->sql ? PQexecParams(s->c->pg, s->sql, s->nparams, NULL, vals, NULL, NULL, 0)
                        : PQexecPrepared(s->c->pg, s->name, s->nparams, vals, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(s->res);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            int rc = failed(s->c, s->res);
            s->res = NULL;
            return rc;
        }
        const char *n = PQcmdTuples(s->res);
        s->c->changes = n && *n ? strtoll(n, NULL, 10) : 0;
        s->nrows = st == PGRES_TUPLES_OK ? PQntuples(s->res) : 0;
        s->row = -1;
    }
    return ++s->row < s->nrows ? STORE_ROW : STORE_DONE;
}

void store_pg_reset(struct store_pg_stmt *s)
{
    PQclear(s->res);
    s->res = NULL;
}

int64_t store_pg_changes(struct store_pg_conn *c)
{
    return c->changes;
}

int store_pg_bind_count(struct store_pg_stmt *s)
{
    return s->nparams;
}

/* ---- binding and reading values ---------------------------------------------------------------
 */

void store_pg_bind_text(struct store_pg_stmt *s, int i, const char *v)
{
    if (i < 1 || i > s->nparams)
        return; /* SQLite ignores an index out of range too (SQLITE_RANGE) */
    base_free(s->vals[i - 1]);
    s->vals[i - 1] = v ? base_strdup(v) : NULL;
}

void store_pg_bind_i64(struct store_pg_stmt *s, int i, int64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)v);
    store_pg_bind_text(s, i, text);
}

void store_pg_bind_real(struct store_pg_stmt *s, int i, double v)
{
    char text[40];
    snprintf(text, sizeof text, "%.17g", v);
    store_pg_bind_text(s, i, text);
}

void store_pg_bind_null(struct store_pg_stmt *s, int i)
{
    store_pg_bind_text(s, i, NULL);
}

int store_pg_col_null(struct store_pg_stmt *s, int i)
{
    return !s->res || s->row >= s->nrows || i >= PQnfields(s->res) ||
           PQgetisnull(s->res, s->row, i);
}

const char *store_pg_col_str(struct store_pg_stmt *s, int i)
{
    return store_pg_col_null(s, i) ? NULL : PQgetvalue(s->res, s->row, i);
}

size_t store_pg_col_len(struct store_pg_stmt *s, int i)
{
    return store_pg_col_null(s, i) ? 0 : (size_t)PQgetlength(s->res, s->row, i);
}

/* A column as a number the way SQLite reads one: an integer's digits, a real's integer part,
 * 0 for text that is no number; PostgreSQL's booleans are 't' / 'f'. */
int64_t store_pg_col_i64(struct store_pg_stmt *s, int i)
{
    const char *t = store_pg_col_str(s, i);
    if (!t)
        return 0;
    if (t[0] == 't' && !t[1])
        return 1;
    return strpbrk(t, ".eE") ? (int64_t)strtod(t, NULL) : strtoll(t, NULL, 10);
}

double store_pg_col_real(struct store_pg_stmt *s, int i)
{
    const char *t = store_pg_col_str(s, i);
    return t ? strtod(t, NULL) : 0;
}

/* ---- transactions -----------------------------------------------------------------------------
 */

int store_pg_begin(struct store_pg_conn *c, int write, struct base_err *err)
{
    (void)write; /* the writers' lock is the SQL's business (README.md) */
    return store_pg_exec(c, "BEGIN", err);
}

int store_pg_commit(struct store_pg_conn *c, struct base_err *err)
{
    /* PostgreSQL answers COMMIT of a transaction that a failed statement aborted with a
     * successful ROLLBACK: say that it failed. */
    if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
        store_pg_rollback(c);
        return base_err_set(err, BASE_E_INTERNAL, "postgresql: %s", c->msg);
    }
    if (store_pg_exec(c, "COMMIT", err) == 0)
        return 0;
    store_pg_rollback(c);
    return -1;
}

void store_pg_rollback(struct store_pg_conn *c)
{
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        store_pg_exec(c, "ROLLBACK", NULL);
}
