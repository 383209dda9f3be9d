/* The PostgreSQL (libpq) back end of the statement layer, first part (issue 21): connections,
 * prepared statements with SQLite's `?` / `?N` placeholders rewritten once to `$N`, binding,
 * stepping, reading, transactions and error translation, with the same contracts as the
 * functions of the same name in store_int.h. Not yet selected by store_open: the PostgreSQL
 * migrations and the dialect of the store files' SQL come next (README.md). */
#ifndef LL_STORE_PG_H
#define LL_STORE_PG_H

#include "store_int.h"

struct store_pg_conn;
struct store_pg_stmt;

/* A connection to `url` (a libpq connection string or postgresql:// URL). */
struct store_pg_conn *store_pg_open(const char *url, struct base_err *err);
void store_pg_close(struct store_pg_conn *c);

/* `sql` with SQLite's placeholders as PostgreSQL's: `?N` -> `$N`, a bare `?` -> the next number
 * (SQLite's rule), nothing inside quotes; base_free. *nparams = the highest number. */
char *store_pg_placeholders(const char *sql, size_t len, int *nparams);

struct store_pg_stmt *store_pg_prepare(struct store_pg_conn *c, const char *sql,
                                       struct base_err *err);
struct store_pg_stmt *store_pg_stmt_new(struct store_pg_conn *c, const char *sql, size_t len,
                                        struct base_err *err);
void store_pg_stmt_free(struct store_pg_stmt *s);
int store_pg_exec(struct store_pg_conn *c, const char *sql, struct base_err *err);

int store_pg_step(struct store_pg_stmt *s);
void store_pg_reset(struct store_pg_stmt *s);
int store_pg_fail(struct store_pg_conn *c, int rc, struct base_err *err);
int store_pg_rc_constraint(int rc);
int64_t store_pg_changes(struct store_pg_conn *c);
int store_pg_bind_count(struct store_pg_stmt *s);

void store_pg_bind_i64(struct store_pg_stmt *s, int i, int64_t v);
void store_pg_bind_real(struct store_pg_stmt *s, int i, double v);
void store_pg_bind_null(struct store_pg_stmt *s, int i);
void store_pg_bind_text(struct store_pg_stmt *s, int i, const char *v);

int64_t store_pg_col_i64(struct store_pg_stmt *s, int i);
double store_pg_col_real(struct store_pg_stmt *s, int i);
int store_pg_col_null(struct store_pg_stmt *s, int i);
const char *store_pg_col_str(struct store_pg_stmt *s, int i);
size_t store_pg_col_len(struct store_pg_stmt *s, int i);

int store_pg_begin(struct store_pg_conn *c, int write, struct base_err *err);
int store_pg_commit(struct store_pg_conn *c, struct base_err *err);
void store_pg_rollback(struct store_pg_conn *c);

/* Migration i (store_migration) rewritten into PostgreSQL's dialect (store_pg_schema.c);
 * base_free; NULL past the last. */
char *store_pg_migration(int i);
/* The current schema's columns as sorted "table.column" lines (base_free), to compare with
 * store_columns. */
char *store_pg_columns(struct store_pg_conn *c, struct base_err *err);

#endif
