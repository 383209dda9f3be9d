/* The PostgreSQL (libpq) back end of the statement layer (issue 21): store_pg_ops, chosen by
 * store_open for a postgresql:// URL. Connections, statements prepared on the server with
 * SQLite's `?` / `?N` placeholders rewritten once to `$N`, values as text, SQLSTATEs translated
 * to the same errors as SQLite's codes, and the schema derived from SQLite's migrations
 * (store_pg_schema.c). */
#ifndef LL_STORE_PG_H
#define LL_STORE_PG_H

#include "store_int.h"

/* `sql` in PostgreSQL's dialect, rewritten once when a statement is prepared (base_free;
 * nothing inside quotes): SQLite's placeholders `?N` -> `$N`, a bare `?` -> the next number
 * (SQLite's rule; *nparams = the highest number); SQLite's planner hint `INDEXED BY name`
 * dropped; `json_each(` -> `json_array_elements_text(` (the store reads bound JSON arrays
 * only through STORE_JSON_IDS / STORE_JSON_TEXTS). */
char *store_pg_placeholders(const char *sql, size_t len, int *nparams);

/* Migration i (store_migration) rewritten into PostgreSQL's dialect (store_pg_schema.c);
 * base_free; NULL past the last. */
char *store_pg_migration(int i);

#endif
