/* Unit tests of the PostgreSQL back end's statement layer (src/store/store_pg.c) on the
 * throw-away server of the `pg` ctest fixture (tests/pg/llpg.py): the placeholder rewrite,
 * binding and reading every type, RETURNING id, the error translation of a unique violation and
 * a syntax error, transactions, run-time statements, a refused connection, and the schema
 * derived from SQLite's migrations. */
#include "store_pg.h"
#include "store/store.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct store_conn *conn;
static char url[512];

static const char SQL_INSERT[] = "INSERT INTO t(name, score, n) VALUES (?1, ?2, ?3) RETURNING id";
static const char SQL_GET[] = "SELECT name, score, n, n IS NULL, length(name) FROM t WHERE id = ?";
static const char SQL_COUNT[] = "SELECT count(*), avg(score) FROM t";

static void test_placeholders(void)
{
    const char *sql = "SELECT ?, ?3, '?', \"a?\", ?, 'it''s ?'";
    int n = 0;
    char *out = store_pg_placeholders(sql, strlen(sql), &n);
    CHECK_EQ_STR(out, "SELECT $1, $3, '?', \"a?\", $4, 'it''s ?'");
    CHECK_EQ_INT(n, 4);
    base_free(out);
    /* SQLite's planner hints go, bound JSON arrays are read by PostgreSQL's function; a word
     * that only ends like one, or text in quotes, stays */
    sql = "SELECT id FROM task t INDEXED BY task_project WHERE id IN (SELECT value FROM"
          " json_each(?2)) AND x_json_each(?1) = 'json_each(' AND y = 'INDEXED BY z'";
    out = store_pg_placeholders(sql, strlen(sql), &n);
    CHECK_EQ_STR(out, "SELECT id FROM task t WHERE id IN (SELECT value FROM"
                      " json_array_elements_text($2)) AND x_json_each($1) = 'json_each(' AND"
                      " y = 'INDEXED BY z'");
    CHECK_EQ_INT(n, 2);
    base_free(out);
}

static int64_t insert(const char *name, double score, int64_t n, int *rc)
{
    struct store_stmt *s = store_prepare(conn, SQL_INSERT, NULL);
    CHECK(s != NULL);
    store_bind_text(s, 1, name);
    store_bind_real(s, 2, score);
    if (n)
        store_bind_i64(s, 3, n);
    else
        store_bind_null(s, 3);
    int64_t id = 0;
    *rc = store_step(s);
    if (*rc == STORE_ROW) {
        id = store_col_i64(s, 0);
        *rc = store_step(s);
    }
    store_reset(s);
    return id;
}

static void test_rows(void)
{
    int rc;
    CHECK_EQ_INT(insert("ada", 1.5, 9000000000LL, &rc), 1);
    CHECK_EQ_INT(rc, STORE_DONE);
    CHECK_EQ_INT(store_changes(conn), 1);
    CHECK_EQ_INT(insert("bob", 3.5, 0, &rc), 2);
    CHECK_EQ_INT(rc, STORE_DONE);

    struct store_stmt *s = store_prepare(conn, SQL_GET, NULL);
    CHECK_EQ_INT(store_bind_count(s), 1);
    store_bind_i64(s, 1, 1);
    CHECK_EQ_INT(store_step(s), STORE_ROW);
    CHECK_EQ_STR(store_col_str(s, 0), "ada");
    CHECK_EQ_INT(store_col_len(s, 0), 3);
    CHECK_NEAR(store_col_real(s, 1), 1.5, 1e-12);
    CHECK(store_col_i64(s, 2) == 9000000000LL);
    CHECK_EQ_INT(store_col_i64(s, 3), 0); /* boolean 'f' */
    CHECK_EQ_INT(store_step(s), STORE_DONE);

    /* The cached statement comes back reset with its bindings cleared. */
    CHECK(store_prepare(conn, SQL_GET, NULL) == s);
    store_bind_i64(s, 1, 2);
    CHECK_EQ_INT(store_step(s), STORE_ROW);
    CHECK(store_col_null(s, 2));
    CHECK(store_col_str(s, 2) == NULL);
    CHECK_EQ_INT(store_col_i64(s, 3), 1); /* boolean 't' */
    store_reset(s);

    s = store_prepare(conn, SQL_COUNT, NULL);
    CHECK_EQ_INT(store_step(s), STORE_ROW);
    CHECK_EQ_INT(store_col_i64(s, 0), 2);
    CHECK_EQ_INT(store_col_i64(s, 1), 2); /* numeric 2.5 read as an integer: 2 */
    CHECK_NEAR(store_col_real(s, 1), 2.5, 1e-12);
    store_reset(s);
}

static void test_errors(void)
{
    int rc;
    CHECK_EQ_INT(insert("ada", 0, 1, &rc), 0);
    CHECK(store_rc_constraint(conn, rc));
    struct base_err err = {0};
    store_fail(conn, rc, &err);
    CHECK_EQ_INT(err.status, BASE_E_CONFLICT);
    CHECK(strstr(err.msg, "constraint failed: ") == err.msg);

    static const char bad[] = "SELEKT 1";
    err = (struct base_err){0};
    CHECK(store_prepare(conn, bad, &err) == NULL);
    CHECK_EQ_INT(err.status, BASE_E_INTERNAL);
    CHECK(strstr(err.msg, "postgresql: ") == err.msg);

    err = (struct base_err){0};
    CHECK(store_pg_ops.open("postgresql://postgres@/none?host=/nonexistent&port=1", &err) == NULL);
    CHECK_EQ_INT(err.status, BASE_E_IO);
}

static int64_t count(void)
{
    struct store_stmt *s = store_prepare(conn, SQL_COUNT, NULL);
    CHECK_EQ_INT(store_step(s), STORE_ROW);
    int64_t n = store_col_i64(s, 0);
    store_reset(s);
    return n;
}

static void test_transactions(void)
{
    int rc;
    int64_t before = count();
    CHECK_EQ_INT(store_begin(conn, 1, NULL), 0);
    insert("cy", 0, 1, &rc);
    CHECK_EQ_INT(count(), before + 1);
    store_rollback(conn);
    CHECK_EQ_INT(count(), before);

    CHECK_EQ_INT(store_begin(conn, 1, NULL), 0);
    insert("cy", 0, 1, &rc);
    CHECK_EQ_INT(store_commit(conn, NULL), 0);
    CHECK_EQ_INT(count(), before + 1);
    store_rollback(conn); /* none open: nothing */

    /* A failed statement aborts the transaction; COMMIT then fails and rolls back. */
    CHECK_EQ_INT(store_begin(conn, 1, NULL), 0);
    insert("dee", 0, 1, &rc);
    insert("dee", 0, 1, &rc);
    CHECK(store_rc_constraint(conn, rc));
    CHECK_EQ_INT(store_commit(conn, NULL), -1);
    CHECK_EQ_INT(count(), before + 1);
}

static void test_runtime_statement(void)
{
    const char sql[] = "SELECT name FROM t WHERE name IN (?, ?) ORDER BY name DESC";
    struct store_stmt *s = store_stmt_new(conn, sql, strlen(sql), NULL);
    CHECK_EQ_INT(store_bind_count(s), 2);
    store_bind_text(s, 1, "ada");
    store_bind_text(s, 2, "bob");
    CHECK_EQ_INT(store_step(s), STORE_ROW);
    CHECK_EQ_STR(store_col_str(s, 0), "bob");
    CHECK_EQ_INT(store_step(s), STORE_ROW);
    CHECK_EQ_STR(store_col_str(s, 0), "ada");
    CHECK_EQ_INT(store_step(s), STORE_DONE);
    store_stmt_free(s);
    /* ?2 bound but never named (statements sharing one binding function): PostgreSQL cannot
     * infer its type, the statement layer gives it one */
    const char ids[] = "SELECT count(*) FROM t WHERE id IN (" STORE_JSON_IDS("?1") ") AND ?3 = 1";
    s = store_stmt_new(conn, ids, strlen(ids), NULL);
    store_bind_text(s, 1, "[1, 2, 99]");
    store_bind_i64(s, 2, 7);
    store_bind_i64(s, 3, 1);
    CHECK_EQ_INT(store_step(s), STORE_ROW);
    CHECK_EQ_INT(store_col_i64(s, 0), 2);
    store_stmt_free(s);
}

/* The columns of a new store on `where`; its schema version is the last migration's. */
static char *columns_of(const char *where)
{
    struct base_err err = {0};
    struct store *st = store_open(where, &err);
    if (!st)
        fprintf(stderr, "store_open %s: %s\n", where, err.msg);
    CHECK(st != NULL);
    int version = 0;
    CHECK_EQ_INT(store_schema_version(st, &version, NULL), 0);
    CHECK_EQ_INT(version, store_migration_count());
    char *cols = store_columns(st, &err);
    CHECK(cols != NULL);
    store_close(st);
    return cols;
}

/* store_open on a PostgreSQL URL applies the migrations rewritten by store_pg_migration, once,
 * and builds the same tables and columns as on a SQLite file. */
static void test_schema(void)
{
    char dir[] = "/tmp/ll-test-store-pg-XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/db.sqlite3", dir);
    char *lite = columns_of(path);
    base_remove_tree(dir, NULL);

    CHECK_EQ_INT(store_exec(conn, "CREATE DATABASE ll_store", NULL), 0);
    char db[600];
    const char *q = strstr(url, "/postgres?");
    CHECK(q != NULL);
    snprintf(db, sizeof db, "%.*s/ll_store%s", (int)(q - url), url, q + strlen("/postgres"));
    char *pg = columns_of(db);
    char *again = columns_of(db); /* nothing left to apply */
    CHECK(strstr(lite, "user.email\n") != NULL);
    CHECK_EQ_STR(pg, lite);
    CHECK_EQ_STR(again, lite);
    CHECK(store_pg_migration(store_migration_count()) == NULL);
    base_free(again);
    base_free(pg);
    base_free(lite);
}

static void setup(void) __attribute__((constructor));
static void setup(void)
{
    const char *file = getenv("LL_PG_URL_FILE");
    FILE *f = file ? fopen(file, "r") : NULL;
    if (!f || !fgets(url, sizeof url, f)) {
        fprintf(stderr, "test_store_pg: no PostgreSQL (LL_PG_URL_FILE; the ctest fixture pg)\n");
        abort();
    }
    fclose(f);
    url[strcspn(url, "\n")] = 0;
    struct base_err err = {0};
    conn = store_pg_ops.open(url, &err);
    if (!conn || store_exec(conn,
                            "CREATE TEMP TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY"
                            " PRIMARY KEY, name text NOT NULL UNIQUE, score double precision,"
                            " n bigint)",
                            &err)) {
        fprintf(stderr, "test_store_pg: %s\n", err.msg);
        abort();
    }
}

static void teardown(void) __attribute__((destructor));
static void teardown(void)
{
    store_pg_ops.close(conn);
}

/* The order matters: the later tests see the earlier rows. */
TEST_MAIN(TEST_CASE(test_placeholders), TEST_CASE(test_rows), TEST_CASE(test_errors),
          TEST_CASE(test_transactions), TEST_CASE(test_runtime_statement), TEST_CASE(test_schema))
