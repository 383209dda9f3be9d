/* Unit tests of src/store on a temporary database: migrations, users and sessions, projects,
 * bulk import (all or nothing), the streaming task iterator, counters, the queue orders and
 * concurrent writers. */
#include "store/store.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

static struct store *fresh(void)
{
    static int n;
    char path[128];
    snprintf(path, sizeof path, "%s/db%d.sqlite3", dir, n++);
    struct base_err err = {0};
    struct store *st = store_open(path, &err);
    if (!st)
        fprintf(stderr, "store_open: %s\n", err.msg);
    return st;
}

static json_t *parse(const char *text)
{
    return base_json_parse(text, strlen(text), NULL);
}

static int64_t make_project(struct store *st, const char *fields)
{
    json_t *f = parse(fields);
    int64_t id = 0;
    CHECK_EQ_INT(store_project_create(st, f, 0, &id, NULL), 0);
    json_decref(f);
    return id;
}

static void test_migrations(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/m.sqlite3", dir);
    struct store *st = store_open(path, NULL);
    int v = 0;
    CHECK_EQ_INT(store_schema_version(st, &v, NULL), 0);
    CHECK(v >= 1);
    store_close(st);
    st = store_open(path, NULL); /* reopening applies nothing and keeps data */
    int v2 = 0;
    store_schema_version(st, &v2, NULL);
    CHECK_EQ_INT(v2, v);
    store_close(st);
    store_close(NULL);
}

static void test_users(void)
{
    struct store *st = fresh();
    struct store_user u, v;
    char token[STORE_TOKEN_LEN + 1], token2[STORE_TOKEN_LEN + 1];
    struct base_err err = {0};
    CHECK_EQ_INT(store_user_create(st, "Ann@Example.com", "password-1", 1, &u, token, &err), 0);
    CHECK_EQ_INT(strlen(token), 40);
    CHECK(strspn(token, "0123456789abcdef") == 40);
    CHECK_EQ_INT(store_user_create(st, "ann@example.com", "password-2", 0, &v, token2, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_CONFLICT);
    CHECK_EQ_INT(store_user_create(st, "bob@example.com", "short", 0, &v, token2, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    CHECK_EQ_INT(store_user_create(st, "not-an-email", "password-1", 0, &v, token2, &err), -1);
    CHECK_EQ_INT(store_user_by_token(st, token, &v, NULL), 0);
    CHECK_EQ_INT(v.id, u.id);
    CHECK_EQ_INT(store_user_by_token(st, "0000", &v, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_AUTH);
    CHECK_EQ_INT(store_user_login(st, "ann@example.com", "password-1", &v, NULL), 0);
    CHECK_EQ_INT(store_user_login(st, "ann@example.com", "password-2", &v, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_AUTH);
    CHECK_EQ_INT(store_user_login(st, "nobody@example.com", "password-1", &v, &err), -1);
    CHECK_EQ_INT(store_user_reset_token(st, u.id, token2, NULL), 0);
    CHECK(strcmp(token, token2) != 0);
    CHECK_EQ_INT(store_user_by_token(st, token, &v, NULL), -1);
    char got[STORE_TOKEN_LEN + 1];
    CHECK_EQ_INT(store_user_token(st, u.id, got, NULL), 0);
    CHECK_EQ_STR(got, token2);
    CHECK_EQ_INT(store_user_set_password(st, u.id, "password-9", NULL), 0);
    CHECK_EQ_INT(store_user_login(st, "ANN@example.com", "password-9", &v, NULL), 0);
    char key[STORE_SESSION_KEY_LEN + 1], old[STORE_SESSION_KEY_LEN + 1];
    CHECK_EQ_INT(store_session_create(st, u.id, 60000000, key, NULL), 0);
    CHECK_EQ_INT(store_session_user(st, key, &v, NULL), 0);
    CHECK_EQ_INT(v.id, u.id);
    CHECK_EQ_INT(store_session_delete(st, key, NULL), 0);
    CHECK_EQ_INT(store_session_user(st, key, &v, &err), -1);
    CHECK_EQ_INT(store_session_create(st, u.id, 1, old, NULL), 0);
    usleep(2000);
    CHECK_EQ_INT(store_session_user(st, old, &v, &err), -1);
    CHECK_EQ_STR(err.msg, "Session expired.");
    int64_t n;
    CHECK_EQ_INT(store_user_count(st, &n, NULL), 0);
    CHECK_EQ_INT(n, 1);
    store_close(st);
}

static void test_projects(void)
{
    struct store *st = fresh();
    int64_t id = make_project(st, "{\"title\": \"abc\", \"maximum_annotations\": 2,"
                                  " \"control_weights\": {\"a\": 1.5}, \"bogus\": 1}");
    struct store_project p = {0};
    CHECK_EQ_INT(store_project_get(st, id, &p, NULL), 0);
    CHECK_EQ_STR(p.title, "abc");
    CHECK_EQ_INT(p.maximum_annotations, 2);
    CHECK(p.show_skip_button);
    CHECK(p.task_data_login == NULL);
    CHECK_NEAR(json_real_value(json_object_get(p.control_weights, "a")), 1.5, 0);
    json_t *row = store_project_json(&p);
    CHECK_EQ_STR(json_string_value(json_object_get(row, "title")), "abc");
    CHECK_EQ_INT(json_integer_value(json_object_get(row, "maximum_annotations")), 2);
    CHECK(json_is_true(json_object_get(row, "show_skip_button")));
    CHECK(json_is_null(json_object_get(row, "task_data_login")));
    CHECK_NEAR(json_real_value(json_object_get(json_object_get(row, "control_weights"), "a")), 1.5,
               0);
    CHECK(json_object_get(row, "bogus") == NULL);
    CHECK(json_is_null(json_object_get(row, "created_by")));
    CHECK_EQ_INT(json_integer_value(json_object_get(row, "organization")), 1);
    json_decref(row);
    store_project_release(&p);
    json_t *bad = parse("{\"title\": 5}");
    struct base_err err = {0};
    CHECK_EQ_INT(store_project_update(st, id, bad, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    json_decref(bad);
    json_t *empty = parse("{}");
    CHECK_EQ_INT(store_project_update(st, 999, empty, &err), -1);
    json_decref(empty);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    make_project(st, "{}");
    json_t *rows = NULL;
    int64_t total;
    CHECK_EQ_INT(store_project_list(st, 0, 1, &rows, &total, NULL), 0);
    CHECK_EQ_INT(total, 2);
    CHECK_EQ_INT(json_array_size(rows), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), id + 1);
    json_decref(rows);
    CHECK_EQ_INT(store_project_delete(st, id, NULL), 0);
    CHECK_EQ_INT(store_project_delete(st, id, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    store_close(st);
}

/* Builds n tasks; task i gets i % 3 annotations and i % 2 predictions. */
static json_t *make_tasks(int n)
{
    json_t *tasks = json_array();
    for (int i = 0; i < n; i++) {
        json_t *anns = json_array(), *preds = json_array();
        for (int k = 0; k < i % 3; k++)
            json_array_append_new(
                anns, json_pack("{s[{si}]sb}", "result", "n", i, "was_cancelled", k == 1));
        for (int k = 0; k < i % 2; k++)
            json_array_append_new(
                preds, json_pack("{s[]sfss}", "result", "score", i / 100.0, "model_version", "v1"));
        json_array_append_new(tasks, json_pack("{s{si}soso}", "data", "n", i, "annotations", anns,
                                               "predictions", preds));
    }
    return tasks;
}

struct visit {
    int64_t count, last_id, anns, preds, bad;
};

static int visit_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct visit *v = ctx;
    int64_t n = json_integer_value(json_object_get(t->data, "n"));
    v->bad += t->id <= v->last_id;
    v->bad += (int64_t)t->nannotations != n % 3 || (int64_t)t->npredictions != n % 2;
    for (size_t k = 0; k < t->nannotations; k++) {
        json_t *item = json_array_get(t->annotations[k].result, 0);
        v->bad +=
            t->annotations[k].task != t->id || json_integer_value(json_object_get(item, "n")) != n;
    }
    v->bad += t->inner_id != n + 1;
    v->last_id = t->id;
    v->count++;
    v->anns += (int64_t)t->nannotations;
    v->preds += (int64_t)t->npredictions;
    return 0;
}

static void test_import_and_iterate(void)
{
    struct store *st = fresh();
    int64_t p = make_project(st, "{}"), other = make_project(st, "{}");
    json_t *tasks = make_tasks(1000);
    struct store_import_result res;
    CHECK_EQ_INT(store_tasks_import(st, p, tasks, 0, &res, NULL), 0);
    CHECK_EQ_INT(res.task_count, 1000);
    CHECK_EQ_INT(res.annotation_count, 999);
    CHECK_EQ_INT(res.prediction_count, 500);
    json_t *few = make_tasks(3);
    CHECK_EQ_INT(store_tasks_import(st, other, few, 0, &res, NULL), 0); /* interleaved project */
    json_decref(few);
    struct store_task_query q = {.project = p, .with_annotations = 1, .with_predictions = 1};
    struct visit v = {0};
    CHECK_EQ_INT(store_task_each(st, &q, visit_task, &v, NULL), 0);
    CHECK_EQ_INT(v.count, 1000);
    CHECK_EQ_INT(v.anns, 999);
    CHECK_EQ_INT(v.preds, 500);
    CHECK_EQ_INT(v.bad, 0);
    struct store_task_totals tot;
    CHECK_EQ_INT(store_task_totals(st, &q, &tot, NULL), 0);
    CHECK_EQ_INT(tot.tasks, 1000);
    CHECK_EQ_INT(tot.total_annotations, 666); /* cancelled ones excluded */
    CHECK_EQ_INT(tot.total_predictions, 500);
    q.only_annotated = 1;
    CHECK_EQ_INT(store_task_totals(st, &q, &tot, NULL), 0);
    CHECK_EQ_INT(tot.tasks, 666);
    q.only_annotated = 0;
    q.offset = 995;
    q.limit = 10;
    memset(&v, 0, sizeof v);
    store_task_each(st, &q, visit_task, &v, NULL);
    CHECK_EQ_INT(v.count, 5);
    int64_t ids[] = {res.first_task_id - 1000 + 7, res.first_task_id - 1000 + 3, 999999};
    struct store_task_query qi = {.project = p, .ids = ids, .nids = 3, .with_annotations = 1};
    memset(&v, 0, sizeof v);
    store_task_each(st, &qi, visit_task, &v, NULL);
    CHECK_EQ_INT(v.count, 2);
    json_decref(tasks);
    /* a bad item in the middle leaves nothing behind */
    json_t *bad = parse("[{\"data\": {}}, {\"data\": 5}, {\"data\": {}}]");
    struct base_err err = {0};
    CHECK_EQ_INT(store_tasks_import(st, p, bad, 0, &res, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    CHECK(strstr(err.msg, "task 1") != NULL);
    json_decref(bad);
    q = (struct store_task_query){.project = p};
    store_task_totals(st, &q, &tot, NULL);
    CHECK_EQ_INT(tot.tasks, 1000);
    json_t *none = make_tasks(0);
    CHECK_EQ_INT(store_tasks_import(st, 999, none, 0, &res, &err), -1);
    json_decref(none);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    store_close(st);
}

static int count_cb(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)t, (void)err;
    ++*(int *)ctx;
    return *(int *)ctx == 3 ? 42 : 0;
}

static void test_iterator_stop(void)
{
    struct store *st = fresh();
    int64_t p = make_project(st, "{}");
    json_t *tasks = make_tasks(600);
    struct store_import_result res;
    store_tasks_import(st, p, tasks, 0, &res, NULL);
    json_decref(tasks);
    int n = 0;
    struct store_task_query q = {.project = p, .with_annotations = 1};
    CHECK_EQ_INT(store_task_each(st, &q, count_cb, &n, NULL), 42);
    CHECK_EQ_INT(n, 3);
    store_close(st);
}

static void test_annotations_and_counters(void)
{
    struct store *st = fresh();
    int64_t p = make_project(st, "{}");
    json_t *tasks = parse("[{\"data\": {}}, {\"data\": {}}]");
    struct store_import_result res;
    store_tasks_import(st, p, tasks, 0, &res, NULL);
    json_decref(tasks);
    int64_t t = res.first_task_id, a1, a2, pr;
    struct store_annotation in = {.result = json_array()};
    CHECK_EQ_INT(store_annotation_create(st, t, &in, &a1, NULL), 0);
    in.was_cancelled = 1;
    CHECK_EQ_INT(store_annotation_create(st, t, &in, &a2, NULL), 0);
    struct base_err err = {0};
    CHECK_EQ_INT(store_annotation_create(st, 99999, &in, &a2, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    in.was_cancelled = 0;
    in.parent_prediction = 12345;
    CHECK_EQ_INT(store_annotation_create(st, t, &in, &a2, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    json_decref(in.result);
    struct store_project_counts c;
    store_project_counts(st, p, &c, NULL);
    CHECK_EQ_INT(c.task_number, 2);
    CHECK_EQ_INT(c.total_annotations_number, 1);
    CHECK_EQ_INT(c.skipped_annotations_number, 1);
    CHECK_EQ_INT(c.finished_task_number, 1);
    struct store_annotation v = {.was_cancelled = 1};
    CHECK_EQ_INT(store_annotation_update(st, a1, STORE_SET_WAS_CANCELLED, &v, NULL), 0);
    store_project_counts(st, p, &c, NULL);
    CHECK_EQ_INT(c.finished_task_number, 0);
    struct store_annotation got = {0};
    CHECK_EQ_INT(store_annotation_get(st, a1, &got, NULL), 0);
    CHECK(got.was_cancelled);
    CHECK(json_is_array(got.result));
    store_annotation_release(&got);
    struct store_prediction pin = {.result = json_array(), .has_score = 1, .score = 0.25};
    snprintf(pin.model_version, sizeof pin.model_version, "v7");
    CHECK_EQ_INT(store_prediction_create(st, t, &pin, &pr, NULL), 0);
    struct store_prediction move = {.task = t + 1};
    CHECK_EQ_INT(store_prediction_update(st, pr, STORE_SET_TASK, &move, NULL), 0);
    move.task = 99999;
    CHECK_EQ_INT(store_prediction_update(st, pr, STORE_SET_TASK, &move, &err), -1);
    json_decref(pin.result);
    int64_t next = 0;
    CHECK_EQ_INT(store_task_next(st, p, 0, STORE_ORDER_UNCERTAINTY, 0, &next, NULL), 0);
    CHECK_EQ_INT(next, t + 1); /* the only task with a score */
    CHECK_EQ_INT(store_annotation_delete(st, a1, NULL), 0);
    CHECK_EQ_INT(store_prediction_delete(st, pr, NULL), 0);
    CHECK_EQ_INT(store_prediction_delete(st, pr, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    store_close(st);
}

static void test_next_orders(void)
{
    struct store *st = fresh();
    struct store_user u;
    char tok[STORE_TOKEN_LEN + 1];
    store_user_create(st, "q@example.com", "password-1", 0, &u, tok, NULL);
    int64_t p = make_project(st, "{}");
    json_t *tasks = parse("[{\"data\": {}, \"predictions\": [{\"result\": [], \"score\": 0.9}]},"
                          " {\"data\": {}, \"predictions\": [{\"result\": [], \"score\": 0.1}]},"
                          " {\"data\": {}}]");
    struct store_import_result res;
    store_tasks_import(st, p, tasks, 0, &res, NULL);
    json_decref(tasks);
    int64_t t0 = res.first_task_id, next;
    store_task_next(st, p, u.id, STORE_ORDER_SEQUENTIAL, 0, &next, NULL);
    CHECK_EQ_INT(next, t0);
    store_task_next(st, p, u.id, STORE_ORDER_UNCERTAINTY, 0, &next, NULL);
    CHECK_EQ_INT(next, t0 + 1);
    store_task_next(st, p, u.id, STORE_ORDER_RANDOM, 5, &next, NULL);
    CHECK_EQ_INT(next, t0 + 2);
    struct store_annotation skip = {.was_cancelled = 1, .completed_by = u.id};
    int64_t a;
    for (int i = 0; i < 3; i++)
        store_annotation_create(st, t0 + i, &skip, &a, NULL);
    struct base_err err = {0};
    CHECK_EQ_INT(store_task_next(st, p, u.id, STORE_ORDER_SEQUENTIAL, 0, &next, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    CHECK_EQ_INT(store_task_next(st, p, 0, STORE_ORDER_SEQUENTIAL, 0, &next, NULL), 0);
    store_close(st);
}

struct ids_ctx {
    int64_t ids[16];
    int n;
};

static int collect_id(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct ids_ctx *x = ctx;
    if (x->n < 16)
        x->ids[x->n++] = t->id;
    return 0;
}

/* Pages through contiguous ids (computed positions) and through gaps (index walk). */
static void test_paging(void)
{
    struct store *st = fresh();
    int64_t a = make_project(st, "{}"), b = make_project(st, "{}");
    json_t *tasks = make_tasks(10);
    struct store_import_result ra, rb, rc;
    store_tasks_import(st, a, tasks, 0, &ra, NULL);
    store_tasks_import(st, b, tasks, 0, &rb, NULL);
    store_tasks_import(st, a, tasks, 0, &rc, NULL); /* a: ids with a gap */
    struct store_task_query q = {.project = b, .offset = 7, .limit = 5};
    struct ids_ctx x = {{0}, 0};
    CHECK_EQ_INT(store_task_each(st, &q, collect_id, &x, NULL), 0);
    CHECK_EQ_INT(x.n, 3);
    CHECK_EQ_INT(x.ids[0], rb.first_task_id + 7);
    q = (struct store_task_query){.project = a, .offset = 8, .limit = 4};
    x.n = 0;
    store_task_each(st, &q, collect_id, &x, NULL);
    CHECK_EQ_INT(x.n, 4);
    CHECK_EQ_INT(x.ids[0], ra.first_task_id + 8);
    CHECK_EQ_INT(x.ids[2], rc.first_task_id);
    CHECK_EQ_INT(store_task_delete(st, rb.first_task_id + 2, NULL), 0);
    q = (struct store_task_query){.project = b, .offset = 2, .limit = 2};
    x.n = 0;
    store_task_each(st, &q, collect_id, &x, NULL);
    CHECK_EQ_INT(x.n, 2);
    CHECK_EQ_INT(x.ids[0], rb.first_task_id + 3);
    q.offset = 9;
    x.n = 0;
    store_task_each(st, &q, collect_id, &x, NULL);
    CHECK_EQ_INT(x.n, 0);
    struct store_task_totals tot;
    q = (struct store_task_query){.project = b};
    store_task_totals(st, &q, &tot, NULL);
    CHECK_EQ_INT(tot.tasks, 9);
    q.only_annotated = 1; /* the scanned totals agree with the trigger-kept ones */
    struct store_task_totals scanned;
    store_task_totals(st, &q, &scanned, NULL);
    CHECK_EQ_INT(scanned.total_annotations, tot.total_annotations);
    json_decref(tasks);
    store_close(st);
}

struct writer {
    struct store *st;
    int64_t task;
    int failures;
};

static void *write_many(void *arg)
{
    struct writer *w = arg;
    struct store_annotation in = {.result = json_array()};
    for (int i = 0; i < 50; i++) {
        int64_t id;
        if (store_annotation_create(w->st, w->task, &in, &id, NULL))
            w->failures++;
    }
    json_decref(in.result);
    return NULL;
}

static void test_concurrent_writers(void)
{
    struct store *st = fresh();
    int64_t p = make_project(st, "{}");
    json_t *tasks = parse("[{\"data\": {}}, {\"data\": {}}]");
    struct store_import_result res;
    store_tasks_import(st, p, tasks, 0, &res, NULL);
    json_decref(tasks);
    pthread_t th[4];
    struct writer w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){st, res.first_task_id + i % 2, 0};
        pthread_create(&th[i], NULL, write_many, &w[i]);
    }
    int failures = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        failures += w[i].failures;
    }
    CHECK_EQ_INT(failures, 0);
    struct store_project_counts c;
    store_project_counts(st, p, &c, NULL);
    CHECK_EQ_INT(c.total_annotations_number, 200);
    struct store_task_totals tot;
    struct store_task_query q = {.project = p};
    store_task_totals(st, &q, &tot, NULL);
    CHECK_EQ_INT(tot.total_annotations, 200);
    store_close(st);
}

static int64_t make_user(struct store *st, const char *email)
{
    struct store_user u = {0};
    char tok[STORE_TOKEN_LEN + 1];
    CHECK_EQ_INT(store_user_create(st, email, "password-1", 0, &u, tok, NULL), 0);
    return u.id;
}

static int64_t take(struct store *st, int64_t p, int64_t user, int64_t now)
{
    int64_t id = 0;
    struct base_err err = {0};
    if (store_task_take(st, p, user, STORE_ORDER_SEQUENTIAL, 0, now, 1000, &id, &err))
        CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    return id;
}

static int64_t lock_owner(struct store *st, int64_t task, int64_t now)
{
    struct store_task_lock l;
    CHECK_EQ_INT(store_task_lock_get(st, task, now, &l, NULL), 0);
    return l.user;
}

/* Label Studio's task locks on a fake clock (now 1,000,000 us, TTL 1,000 us): a locked task is
 * skipped for others, its owner gets it again, an annotation or a skip releases it, and an
 * expired lock is gone. */
static void test_task_locks(void)
{
    struct store *st = fresh();
    int64_t a = make_user(st, "a@example.com"), b = make_user(st, "b@example.com");
    int64_t c = make_user(st, "c@example.com"), d = make_user(st, "d@example.com");
    int64_t p = make_project(st, "{}");
    json_t *tasks = parse("[{\"data\": {}}, {\"data\": {}}, {\"data\": {}}]");
    struct store_import_result res;
    CHECK_EQ_INT(store_tasks_import(st, p, tasks, 0, &res, NULL), 0);
    json_decref(tasks);
    int64_t t0 = res.first_task_id, now = 1000000, peek = 0;
    CHECK_EQ_INT(take(st, p, a, now), t0);
    CHECK_EQ_INT(take(st, p, a, now + 1), t0); /* the owner's own lock first */
    CHECK_EQ_INT(lock_owner(st, t0, now), a);
    CHECK_EQ_INT(take(st, p, b, now), t0 + 1);
    CHECK_EQ_INT(store_task_next(st, p, b, STORE_ORDER_SEQUENTIAL, 0, &peek, NULL), 0);
    CHECK_EQ_INT(peek, t0); /* store_task_next only looks: no locks */
    struct store_annotation skip = {.was_cancelled = 1, .completed_by = b};
    int64_t ann;
    CHECK_EQ_INT(store_annotation_create(st, t0 + 1, &skip, &ann, NULL), 0);
    CHECK_EQ_INT(lock_owner(st, t0 + 1, now), 0); /* the skip released it */
    CHECK_EQ_INT(take(st, p, b, now), t0 + 2);
    struct store_annotation done = {.result = json_array(), .completed_by = a};
    CHECK_EQ_INT(store_annotation_create(st, t0, &done, &ann, NULL), 0);
    json_decref(done.result);
    CHECK_EQ_INT(lock_owner(st, t0, now), 0);
    CHECK_EQ_INT(take(st, p, c, now), t0 + 1); /* t0 labeled, t0 + 2 locked by b */
    CHECK_EQ_INT(take(st, p, d, now), 0);      /* everything left is locked */
    CHECK_EQ_INT(lock_owner(st, t0 + 2, now + 1000), 0);
    CHECK_EQ_INT(take(st, p, d, now + 1000), t0 + 1); /* c's and b's locks expired */
    CHECK_EQ_INT(take(st, p, d, now + 1001), t0 + 1);
    CHECK_EQ_INT(take(st, p, a, now + 1001), t0 + 2);
    store_close(st);
}

struct taker {
    struct store *st;
    int64_t project, user, task;
};

static void *take_one(void *arg)
{
    struct taker *t = arg;
    t->task = take(t->st, t->project, t->user, 1000000); /* one instant: no lock expires */
    return NULL;
}

/* 16 users take at once, half through a second store on the same file (as a second server
 * process would): 16 different tasks. */
static void test_task_locks_concurrent(void)
{
    enum { N = 16 };
    char path[128];
    snprintf(path, sizeof path, "%s/locks.sqlite3", dir);
    struct store *st[2] = {store_open(path, NULL), store_open(path, NULL)};
    CHECK(st[0] && st[1]);
    int64_t p = make_project(st[0], "{}");
    json_t *tasks = json_array();
    for (int i = 0; i < N + 4; i++)
        json_array_append_new(tasks, parse("{\"data\": {}}"));
    struct store_import_result res;
    CHECK_EQ_INT(store_tasks_import(st[0], p, tasks, 0, &res, NULL), 0);
    json_decref(tasks);
    pthread_t th[N];
    struct taker t[N];
    for (int i = 0; i < N; i++) {
        char email[64];
        snprintf(email, sizeof email, "u%d@example.com", i);
        t[i] = (struct taker){st[i % 2], p, make_user(st[0], email), 0};
    }
    for (int i = 0; i < N; i++)
        pthread_create(&th[i], NULL, take_one, &t[i]);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    int dup = 0;
    for (int i = 0; i < N; i++) {
        CHECK(t[i].task >= res.first_task_id && t[i].task < res.first_task_id + N + 4);
        for (int j = 0; j < i; j++)
            dup += t[i].task == t[j].task;
    }
    CHECK_EQ_INT(dup, 0);
    store_close(st[0]);
    store_close(st[1]);
}

/* The password of a database URL never reaches the console or the log. */
static void test_where_shown(void)
{
    static const char *const cases[][2] = {
        {"/data/labelloop.sqlite3", "/data/labelloop.sqlite3"},
        {"postgresql://ll:s3cret@db.local:5432/labelloop",
         "postgresql://ll:***@db.local:5432/labelloop"},
        {"postgres://ll@db/x?password=s3cret&sslmode=require",
         "postgres://ll@db/x?password=***&sslmode=require"},
        {"postgresql://a:b@c@h/d?sslpassword=x&password=y", "postgresql://a:***@h/d?sslpassword=x"
                                                            "&password=***"},
        {"postgresql:///labelloop?host=/run/pg", "postgresql:///labelloop?host=/run/pg"},
    };
    char out[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_EQ_STR(store_where_shown(cases[i][0], out, sizeof out), cases[i][1]);
    CHECK_EQ_STR(store_where_shown("postgresql://u:pw@h/d", out, 12), "postgresql:");
}

static void setup(void) __attribute__((constructor));
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ll-test-store-XXXXXX");
    if (!mkdtemp(dir))
        abort();
}

static void teardown(void) __attribute__((destructor));
static void teardown(void)
{
    base_remove_tree(dir, NULL);
}

TEST_MAIN(TEST_CASE(test_migrations), TEST_CASE(test_users), TEST_CASE(test_projects),
          TEST_CASE(test_import_and_iterate), TEST_CASE(test_iterator_stop),
          TEST_CASE(test_annotations_and_counters), TEST_CASE(test_next_orders),
          TEST_CASE(test_paging), TEST_CASE(test_concurrent_writers), TEST_CASE(test_task_locks),
          TEST_CASE(test_task_locks_concurrent), TEST_CASE(test_where_shown))
