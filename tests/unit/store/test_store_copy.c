/* Unit tests of store_copy (`labelloop db migrate-to`): a SQLite store with users, a project,
 * 5,000 tasks (more than one chunk of the copy's scan), annotations and predictions with
 * fractional numbers and non-ASCII text, copied into a new database on the `pg` fixture's
 * throw-away PostgreSQL; then read back row by row, new ids after the copied ones, a second copy
 * refused, the wrong direction refused, and a copy that fails half-way leaving nothing behind. */
#include "pg_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTASKS 5000

static char url[512], dir[64];

static struct store *new_pg(const char *name)
{
    return pg_fixture_store(url, name);
}

static struct store *new_sqlite(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.sqlite3", dir, name);
    struct store *st = store_open(path, NULL);
    CHECK(st != NULL);
    return st;
}

/* Tasks whose every third has an annotation with a fractional lead time and every fifth a
 * prediction with a score that text at 15 digits would round. */
static void fill(struct store *st)
{
    struct store_user u;
    char token[STORE_TOKEN_LEN + 1];
    CHECK_EQ_INT(store_user_create(st, "Zoë@example.com", "password-1", 1, &u, token, NULL), 0);
    json_t *f = json_pack("{s:s}", "title", "ratons laveurs — ünïcode");
    int64_t p = 0;
    CHECK_EQ_INT(store_project_create(st, f, u.id, &p, NULL), 0);
    json_decref(f);
    json_t *tasks = json_array();
    for (int i = 0; i < NTASKS; i++) {
        json_t *t = json_pack("{s:{s:s+}}", "data", "image", "/data/upload/1/ä", i % 2 ? "b" : "c");
        if (i % 3 == 0)
            json_object_set_new(t, "annotations",
                                json_pack("[{s:[{s:s,s:{s:f}}],s:f}]", "result", "type",
                                          "rectanglelabels", "value", "x", 12.345678901234567 + i,
                                          "lead_time", 1.0 / 3 + i));
        if (i % 5 == 0)
            json_object_set_new(t, "predictions",
                                json_pack("[{s:[],s:f,s:s}]", "result", "score",
                                          0.12345678901234567, "model_version", "v1"));
        json_array_append_new(tasks, t);
    }
    struct store_import_result res;
    CHECK_EQ_INT(store_tasks_import(st, p, tasks, u.id, &res, NULL), 0);
    CHECK_EQ_INT(res.task_count, NTASKS);
    json_decref(tasks);
}

static int64_t progress_done, progress_total;

static void progress(void *ctx, const char *table, int64_t done, int64_t total)
{
    (void)ctx;
    CHECK(table != NULL);
    CHECK(done >= progress_done);
    progress_done = done;
    progress_total = total;
}

static int64_t rows_of(const struct store_copy_report *r, const char *table)
{
    for (int i = 0; i < r->ntables; i++)
        if (!strcmp(r->table[i].name, table))
            return r->table[i].rows;
    return -1;
}

static void same_annotation(struct store *a, struct store *b, int64_t id)
{
    struct store_annotation x, y;
    CHECK_EQ_INT(store_annotation_get(a, id, &x, NULL), 0);
    CHECK_EQ_INT(store_annotation_get(b, id, &y, NULL), 0);
    char *rx = json_dumps(x.result, JSON_SORT_KEYS), *ry = json_dumps(y.result, JSON_SORT_KEYS);
    CHECK_EQ_STR(rx, ry);
    CHECK(x.lead_time == y.lead_time); /* to the last bit */
    CHECK_EQ_INT(x.task, y.task);
    CHECK_EQ_INT(x.completed_by, y.completed_by);
    CHECK(x.created_at == y.created_at);
    free(rx);
    free(ry);
    store_annotation_release(&x);
    store_annotation_release(&y);
}

static void test_copy(void)
{
    struct store *src = new_sqlite("src"), *dst = new_pg("ll_copy");
    fill(src);
    struct store_copy_report r;
    struct base_err err = {0};
    int rc = store_copy(src, dst, progress, NULL, &r, &err);
    if (rc)
        fprintf(stderr, "store_copy: %s\n", err.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(rows_of(&r, "task"), NTASKS);
    CHECK_EQ_INT(rows_of(&r, "annotation"), (NTASKS + 2) / 3);
    CHECK_EQ_INT(rows_of(&r, "prediction"), NTASKS / 5);
    CHECK_EQ_INT(rows_of(&r, "user"), 1);
    CHECK_EQ_INT(rows_of(&r, "project_stats"), 1);
    CHECK(progress_total == r.rows && progress_done == r.rows);

    for (int64_t id = 1; id <= (NTASKS + 2) / 3; id += 97)
        same_annotation(src, dst, id);
    struct store_prediction p;
    CHECK_EQ_INT(store_prediction_get(dst, 7, &p, NULL), 0);
    CHECK(p.score == 0.12345678901234567);
    store_prediction_release(&p);
    struct store_task_query q = {.project = 1};
    struct store_task_totals ts, td;
    CHECK_EQ_INT(store_task_totals(src, &q, &ts, NULL), 0);
    CHECK_EQ_INT(store_task_totals(dst, &q, &td, NULL), 0);
    CHECK_EQ_INT(td.tasks, ts.tasks);
    CHECK_EQ_INT(td.total_annotations, ts.total_annotations);
    CHECK_EQ_INT(td.total_predictions, ts.total_predictions);
    struct store_user u;
    CHECK_EQ_INT(store_user_login(dst, "Zoë@example.com", "password-1", &u, NULL), 0);
    CHECK_EQ_INT(u.id, 1);

    /* New rows get ids after the copied ones. */
    char token[STORE_TOKEN_LEN + 1];
    CHECK_EQ_INT(store_user_create(dst, "new@example.com", "password-2", 0, &u, token, NULL), 0);
    CHECK_EQ_INT(u.id, 2);

    /* Only into an empty database, only from SQLite into PostgreSQL. */
    err = (struct base_err){0};
    CHECK_EQ_INT(store_copy(src, dst, NULL, NULL, NULL, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_CONFLICT);
    CHECK(strstr(err.msg, "not empty") != NULL);
    CHECK_EQ_INT(store_copy(dst, src, NULL, NULL, NULL, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    store_close(dst);
    store_close(src);
}

/* A row PostgreSQL refuses (an annotation by a user that does not exist, written with SQLite's
 * foreign keys off) fails the copy after thousands of rows went in: none of them stay. */
static void test_all_or_nothing(void)
{
    struct store *src = new_sqlite("bad"), *dst = new_pg("ll_copy_bad");
    fill(src);
    struct store_conn *c = store_conn_get(src, NULL);
    CHECK_EQ_INT(store_exec(c,
                            "PRAGMA foreign_keys = OFF; UPDATE annotation SET completed_by_id = 42 "
                            "WHERE id = 1000; PRAGMA foreign_keys = ON;",
                            NULL),
                 0);
    store_conn_put(src, c);
    struct base_err err = {0};
    CHECK_EQ_INT(store_copy(src, dst, NULL, NULL, NULL, &err), -1);
    CHECK(err.msg[0] != 0);
    struct store_user u;
    CHECK_EQ_INT(store_user_by_email(dst, "Zoë@example.com", &u, &err), -1);
    struct store_task_query q = {.project = 1};
    struct store_task_totals t;
    CHECK_EQ_INT(store_task_totals(dst, &q, &t, NULL), 0);
    CHECK_EQ_INT(t.tasks, 0);
    store_close(dst);
    store_close(src);
}

int main(int argc, char **argv)
{
    if (!pg_fixture_url(url, sizeof url)) {
        fprintf(stderr, "test_store_copy: no PostgreSQL (LL_PG_URL_FILE): run under ctest\n");
        return 1;
    }
    snprintf(dir, sizeof dir, "/tmp/ll_test_copy_XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    static const struct test_case cases[] = {TEST_CASE(test_copy), TEST_CASE(test_all_or_nothing)};
    int rc = test_run(argc, argv, cases, 2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd))
        rc = 1;
    return rc;
}
