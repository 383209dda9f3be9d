/* Unit tests of the loop's tables in src/store: jobs (coalescing, fair claiming, cancel, ending
 * once, recovery after a restart), the policy's snapshot, the model registry (promotion moves
 * model_version and the queue's uncertainty, rollback, deletion), help records and the built-in
 * ML backend row, model files kept in the database. Run twice by ctest: on SQLite, and on the pg
 * fixture's PostgreSQL (LL_PG_URL_FILE set: each test gets a new database). */
#include "pg_fixture.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

/* A lease no test outlives: jobs claimed with it are never recovered. */
#define LIVE INT64_MAX

static char dir[64], pg_url[512];

static struct store *fresh(void)
{
    static int n;
    char path[128];
    if (pg_url[0]) {
        snprintf(path, sizeof path, "ll_test_loop_%d", n++);
        return pg_fixture_store(pg_url, path);
    }
    snprintf(path, sizeof path, "%s/db%d.sqlite3", dir, n++);
    return store_open(path, NULL);
}

static int64_t project(struct store *st)
{
    json_t *f = json_pack("{s:s}", "title", "loop");
    int64_t id = 0;
    CHECK_EQ_INT(store_project_create(st, f, 0, &id, NULL), 0);
    json_decref(f);
    return id;
}

static void test_enqueue_coalesces(void)
{
    struct store *st = fresh();
    int64_t p = project(st), a, b, c;
    int replaced = -1;
    CHECK_EQ_INT(
        store_job_enqueue(st, p, STORE_JOB_TRAIN, "first", 0, 1, NULL, 1, &a, &replaced, NULL), 0);
    CHECK_EQ_INT(replaced, 0);
    CHECK_EQ_INT(
        store_job_enqueue(st, p, STORE_JOB_TRAIN, "manual", 0, 1, NULL, 1, &b, &replaced, NULL), 0);
    CHECK_EQ_INT(replaced, 1);
    CHECK_EQ_INT(b, a); /* the newer trigger replaced the queued job */
    struct store_job j = {0};
    store_job_get(st, a, &j, NULL);
    CHECK_EQ_STR(j.reason, "manual");
    CHECK_EQ_INT(j.state, STORE_JOB_QUEUED);
    store_job_release(&j);
    /* another kind queues its own job */
    CHECK_EQ_INT(
        store_job_enqueue(st, p, STORE_JOB_PREDICT, "rollback", 0, 1, NULL, 1, &c, NULL, NULL), 0);
    CHECK(c != a);
    struct base_err err = {0};
    CHECK_EQ_INT(store_job_enqueue(st, 999, STORE_JOB_TRAIN, "x", 0, 1, NULL, 1, &c, NULL, &err),
                 -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    store_close(st);
}

static void test_claim_is_fair(void)
{
    struct store *st = fresh();
    int64_t p1 = project(st), p2 = project(st), j1, j2, j3, got;
    store_job_enqueue(st, p1, STORE_JOB_TRAIN, "a", 0, 1, NULL, 0, &j1, NULL, NULL);
    CHECK_EQ_INT(store_job_claim(st, "A", LIVE, &got, NULL), 0);
    CHECK_EQ_INT(got, j1);
    store_job_finish(st, j1, STORE_JOB_DONE, NULL, NULL, NULL);
    /* p1 queues again before p2 does: p2 never ran, so it goes first */
    store_job_enqueue(st, p1, STORE_JOB_TRAIN, "b", 0, 1, NULL, 0, &j2, NULL, NULL);
    store_job_enqueue(st, p2, STORE_JOB_TRAIN, "c", 0, 1, NULL, 0, &j3, NULL, NULL);
    CHECK_EQ_INT(store_job_claim(st, "A", LIVE, &got, NULL), 0);
    CHECK_EQ_INT(got, j3);
    CHECK_EQ_INT(store_job_claim(st, "A", LIVE, &got, NULL), 0);
    CHECK_EQ_INT(got, j2);
    CHECK_EQ_INT(store_job_claim(st, "A", LIVE, &got, NULL), 0);
    CHECK_EQ_INT(got, 0);
    struct store_job j = {0};
    store_job_get(st, j2, &j, NULL);
    CHECK_EQ_INT(j.state, STORE_JOB_RUNNING);
    CHECK(j.started_at > 0);
    store_job_release(&j);
    store_close(st);
}

/* Claimers racing on one database: every queued job is claimed once, none twice. */
#define RACE_JOBS    48
#define RACE_THREADS 8

struct racer {
    struct store *st;
    char owner[16];
    int64_t got[RACE_JOBS];
    int n, errors;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (;;) {
        int64_t id = 0;
        struct base_err err = {0};
        if (store_job_claim(r->st, r->owner, LIVE, &id, &err)) {
            r->errors++;
            fprintf(stderr, "%s: %s\n", r->owner, err.msg);
            break;
        }
        if (!id)
            break;
        r->got[r->n++] = id;
    }
    return NULL;
}

static void test_claim_concurrent(void)
{
    struct store *st = fresh();
    int64_t projects[4], id, seen[RACE_JOBS + 1] = {0};
    for (int i = 0; i < 4; i++)
        projects[i] = project(st);
    for (int i = 0; i < RACE_JOBS; i++)
        CHECK_EQ_INT(store_job_enqueue(st, projects[i % 4], STORE_JOB_TRAIN, "race", 0, 1, NULL, 0,
                                       &id, NULL, NULL),
                     0);
    static struct racer r[RACE_THREADS];
    pthread_t th[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].st = st;
        snprintf(r[i].owner, sizeof r[i].owner, "w%d", i);
        pthread_create(&th[i], NULL, race, &r[i]);
    }
    int total = 0;
    for (int i = 0; i < RACE_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(r[i].errors, 0);
        for (int k = 0; k < r[i].n; k++) {
            int64_t j = r[i].got[k] - (id - RACE_JOBS); /* 1..RACE_JOBS */
            CHECK(j >= 1 && j <= RACE_JOBS);
            CHECK_EQ_INT(seen[j]++, 0);
            struct store_job row = {0};
            store_job_get(st, r[i].got[k], &row, NULL);
            CHECK_EQ_STR(row.owner, r[i].owner);
            store_job_release(&row);
        }
        total += r[i].n;
    }
    CHECK_EQ_INT(total, RACE_JOBS);
    /* a trigger once every job runs queues a new one: it never joins a running job */
    int replaced = 1;
    int64_t again = 0;
    CHECK_EQ_INT(store_job_enqueue(st, projects[0], STORE_JOB_TRAIN, "retrain", 0, 1, NULL, 1,
                                   &again, &replaced, NULL),
                 0);
    CHECK(again > id);
    CHECK_EQ_INT(replaced, 0);
    store_close(st);
}

static struct store_version version_of(int64_t p, double ap);

static void test_model_file(void)
{
    struct store *st = fresh();
    int64_t p = project(st);
    unsigned char bytes[3001];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 7919 >> 3); /* every byte value, NULs included */
    struct store_version v1 = version_of(p, 0.3), v2 = version_of(p, 0.2);
    CHECK_EQ_INT(store_version_create_file(st, &v1, "fcos-s", 1, 0, bytes, sizeof bytes, NULL), 0);
    CHECK_EQ_INT(store_version_create(st, &v2, "fcos-s", 0, 0, NULL), 0);
    struct base_buf b;
    base_buf_init(&b, 1 << 20);
    struct base_err err = {0};
    CHECK_EQ_INT(store_model_file_get(st, v1.id, &b, &err), 0);
    CHECK_EQ_INT(b.len, sizeof bytes);
    CHECK(memcmp(b.data, bytes, sizeof bytes) == 0);
    base_buf_reset(&b);
    CHECK_EQ_INT(store_model_file_get(st, v2.id, &b, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    /* deleting the version deletes its file: a later version with the same id could not find it */
    CHECK_EQ_INT(store_version_promote(st, v2.id, NULL), 0);
    char *file = NULL;
    CHECK_EQ_INT(store_version_delete(st, v1.id, &file, NULL), 0);
    base_free(file);
    err = (struct base_err){0};
    CHECK_EQ_INT(store_model_file_get(st, v1.id, &b, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    base_buf_release(&b);
    store_version_release(&v1), store_version_release(&v2);
    store_close(st);
}

/* The project's kept totals (project_stats: the triggers, or on PostgreSQL the import's own
 * count) after two imports of tasks with annotations and predictions. */
static void test_import_totals(void)
{
    struct store *st = fresh();
    int64_t p = project(st);
    for (int round = 0; round < 2; round++) {
        json_t *tasks = json_array();
        for (int i = 0; i < 300; i++) {
            json_t *t = json_pack("{s:{s:i}}", "data", "i", i);
            if (i % 3 == 0)
                json_object_set_new(t, "annotations",
                                    json_pack("[{s:[]}, {s:[]}]", "result", "result"));
            if (i % 5 == 0)
                json_object_set_new(t, "predictions",
                                    json_pack("[{s:[], s:f}]", "result", "score", 0.5));
            json_array_append_new(tasks, t);
        }
        struct store_import_result res;
        CHECK_EQ_INT(store_tasks_import(st, p, tasks, 0, &res, NULL), 0);
        json_decref(tasks);
    }
    struct store_task_totals kept;
    struct store_task_query plain = {.project = p};
    CHECK_EQ_INT(store_task_totals(st, &plain, &kept, NULL), 0);
    CHECK_EQ_INT(kept.tasks, 600);
    CHECK_EQ_INT(kept.total_annotations, 400);
    CHECK_EQ_INT(kept.total_predictions, 120);
    store_close(st);
}

static void test_cancel_and_finish(void)
{
    struct store *st = fresh();
    int64_t p = project(st), q, r, got, pid;
    enum store_job_state was;
    store_job_enqueue(st, p, STORE_JOB_TRAIN, "a", 0, 1, NULL, 0, &r, NULL, NULL);
    store_job_claim(st, "A", LIVE, &got, NULL);
    store_job_set_pid(st, r, 4242, NULL);
    store_job_enqueue(st, p, STORE_JOB_TRAIN, "b", 0, 1, NULL, 0, &q, NULL, NULL);
    CHECK_EQ_INT(store_job_cancel(st, q, &was, &pid, NULL), 0);
    CHECK_EQ_INT(was, STORE_JOB_QUEUED);
    CHECK_EQ_INT(store_job_cancel(st, r, &was, &pid, NULL), 0);
    CHECK_EQ_INT(was, STORE_JOB_RUNNING);
    CHECK_EQ_INT(pid, 4242);
    struct store_job j = {0};
    store_job_get(st, q, &j, NULL);
    CHECK_EQ_INT(j.state, STORE_JOB_CANCELLED);
    store_job_release(&j);
    store_job_get(st, r, &j, NULL);
    CHECK_EQ_INT(j.state, STORE_JOB_RUNNING); /* its worker ends it */
    CHECK_EQ_INT(j.cancel_requested, 1);
    store_job_release(&j);
    int changed = -1;
    CHECK_EQ_INT(store_job_finish(st, r, STORE_JOB_CANCELLED, "stopped", &changed, NULL), 0);
    CHECK_EQ_INT(changed, 1);
    CHECK_EQ_INT(store_job_finish(st, r, STORE_JOB_FAILED, "late", &changed, NULL), 0);
    CHECK_EQ_INT(changed, 0); /* ended once */
    json_t *prog = json_pack("{s:i}", "epoch", 3);
    CHECK_EQ_INT(store_job_progress(st, r, "training", prog, NULL), 0);
    json_decref(prog);
    store_job_get(st, r, &j, NULL);
    CHECK_EQ_STR(j.error, "stopped");
    CHECK_EQ_STR(j.phase, ""); /* progress of an ended job is not written */
    store_job_release(&j);
    store_close(st);
}

/* Leases on a fake clock: a live lease is untouched by another server's recovery (its start), an
 * expired one is queued again with attempt + 1 (same job) and taken by another server, whose
 * renewals the first server's can no longer make; a cancel asked anywhere reaches the owner's
 * renewal; attempts are capped with a message naming the job. */
static void test_recover(void)
{
    struct store *st = fresh();
    int64_t p = project(st), a, got, failed, requeued;
    int owned, cancel;
    store_job_enqueue(st, p, STORE_JOB_TRAIN, "first", 0, 1, NULL, 0, &a, NULL, NULL);
    CHECK_EQ_INT(store_job_claim(st, "A", 1000, &got, NULL), 0);
    CHECK_EQ_INT(got, a);
    CHECK_EQ_INT(store_jobs_recover(st, 999, 3, &failed, &requeued, NULL), 0);
    CHECK_EQ_INT(failed + requeued, 0);
    CHECK_EQ_INT(store_job_renew(st, a, "A", 2000, &owned, &cancel, NULL), 0);
    CHECK_EQ_INT(owned, 1);
    CHECK_EQ_INT(store_jobs_recover(st, 1999, 3, &failed, &requeued, NULL), 0);
    CHECK_EQ_INT(failed + requeued, 0);
    struct store_job j = {0};
    store_job_get(st, a, &j, NULL);
    CHECK_EQ_INT(j.state, STORE_JOB_RUNNING);
    CHECK_EQ_STR(j.owner, "A");
    CHECK_EQ_INT(j.lease_until, 2000);
    store_job_release(&j);
    CHECK_EQ_INT(store_jobs_recover(st, 2000, 3, &failed, &requeued, NULL), 0);
    CHECK_EQ_INT(requeued, 1);
    CHECK_EQ_INT(failed, 0);
    store_job_get(st, a, &j, NULL);
    CHECK_EQ_INT(j.state, STORE_JOB_QUEUED);
    CHECK_EQ_INT(j.attempt, 2);
    CHECK(strstr(j.error, "job ") && strstr(j.error, "attempt 2"));
    store_job_release(&j);
    CHECK_EQ_INT(store_job_claim(st, "B", 3000, &got, NULL), 0);
    CHECK_EQ_INT(got, a); /* the same job, now B's */
    CHECK_EQ_INT(store_job_renew(st, a, "A", 9000, &owned, &cancel, NULL), 0);
    CHECK_EQ_INT(owned, 0);
    enum store_job_state was;
    int64_t pid;
    CHECK_EQ_INT(store_job_cancel(st, a, &was, &pid, NULL), 0);
    CHECK_EQ_INT(store_job_renew(st, a, "B", 4000, &owned, &cancel, NULL), 0);
    CHECK_EQ_INT(owned, 1);
    CHECK_EQ_INT(cancel, 1);
    /* a job tried too often is not queued again */
    CHECK_EQ_INT(store_jobs_recover(st, 4000, 2, &failed, &requeued, NULL), 0);
    CHECK_EQ_INT(failed, 1);
    CHECK_EQ_INT(requeued, 0);
    store_job_get(st, a, &j, NULL);
    CHECK_EQ_INT(j.state, STORE_JOB_FAILED);
    char want[64];
    snprintf(want, sizeof want, "job %lld: ", (long long)a);
    CHECK(!strncmp(j.error, want, strlen(want)));
    store_job_release(&j);
    CHECK_EQ_INT(store_job_claim(st, "B", 5000, &got, NULL), 0);
    CHECK_EQ_INT(got, 0);
    store_close(st);
}

static void annotate(struct store *st, int64_t task)
{
    struct store_annotation a = {.result = json_array()};
    int64_t id;
    CHECK_EQ_INT(store_annotation_create(st, task, &a, &id, NULL), 0);
    json_decref(a.result);
}

static void test_loop_state(void)
{
    struct store *st = fresh();
    int64_t p = project(st), job, got;
    json_t *tasks = json_pack("[{s:{}}, {s:{}}, {s:{}}]", "data", "data", "data");
    struct store_import_result res;
    store_tasks_import(st, p, tasks, 0, &res, NULL);
    json_decref(tasks);
    annotate(st, res.first_task_id);
    annotate(st, res.first_task_id + 1);
    struct store_loop_state s;
    CHECK_EQ_INT(store_loop_state(st, p, &s, NULL), 0);
    CHECK_EQ_INT(s.labeled, 2);
    CHECK_EQ_INT(s.train_jobs, 0);
    CHECK_EQ_INT(s.changes, 2);
    store_job_enqueue(st, p, STORE_JOB_TRAIN, "first", 0, 1, NULL, 1, &job, NULL, NULL);
    usleep(2000);
    annotate(st, res.first_task_id + 2);
    store_loop_state(st, p, &s, NULL);
    CHECK_EQ_INT(s.train_jobs, 1);
    CHECK_EQ_INT(s.changes, 1); /* only what came after the newest trigger */
    CHECK_EQ_INT(s.queued_train, 1);
    store_job_claim(st, "A", LIVE, &got, NULL);
    store_loop_state(st, p, &s, NULL);
    CHECK_EQ_INT(s.running, 1);
    CHECK_EQ_INT(s.queued, 0);
    store_close(st);
}

static struct store_version version_of(int64_t p, double ap)
{
    struct store_version v = {.project = p, .input_size = 320, .has_metrics = 1, .ap = ap};
    snprintf(v.file, sizeof v.file, "models/%lld/x.safetensors", (long long)p);
    snprintf(v.arch, sizeof v.arch, "fcos-s");
    v.classes = json_pack("[s]", "cat");
    return v;
}

static void test_registry(void)
{
    struct store *st = fresh();
    int64_t p = project(st), job, got;
    json_t *tasks =
        json_pack("[{s:{}, s:[{s:[], s:f, s:s}, {s:[], s:f, s:s}]}, {s:{}, s:[{s:[], s:f, s:s}]}]",
                  "data", "predictions", "result", "score", 0.9, "model_version", "fcos-s-v1",
                  "result", "score", 0.2, "model_version", "fcos-s-v2", "data", "predictions",
                  "result", "score", 0.6, "model_version", "fcos-s-v1");
    struct store_import_result res;
    store_tasks_import(st, p, tasks, 0, &res, NULL);
    json_decref(tasks);
    store_job_enqueue(st, p, STORE_JOB_TRAIN, "first", 0, 1, NULL, 0, &job, NULL, NULL);
    store_job_claim(st, "A", LIVE, &got, NULL);
    struct store_version v1 = version_of(p, 0.3), v2 = version_of(p, 0.2);
    CHECK_EQ_INT(store_version_create(st, &v1, "fcos-s", 1, job, NULL), 0);
    CHECK_EQ_STR(v1.name, "fcos-s-v1");
    CHECK_EQ_INT(store_version_create(st, &v2, "fcos-s", 0, 0, NULL), 0);
    CHECK_EQ_STR(v2.name, "fcos-s-v2");
    struct store_project proj = {0};
    store_project_get(st, p, &proj, NULL);
    CHECK_EQ_STR(proj.model_version, "fcos-s-v1");
    store_project_release(&proj);
    /* the queue orders by the current version's scores: task 2 (0.6) before task 1 (0.9) */
    int64_t next;
    store_task_next(st, p, 0, STORE_ORDER_UNCERTAINTY, 0, &next, NULL);
    CHECK_EQ_INT(next, res.first_task_id + 1);
    struct store_version cur = {0};
    CHECK_EQ_INT(store_version_current(st, p, &cur, NULL), 0);
    CHECK_EQ_INT(cur.id, v1.id);
    CHECK(cur.is_current && cur.promoted && cur.promoted_at > 0);
    store_version_release(&cur);
    /* rollback (here: roll forward) to v2 re-ranks: only task 1 has a v2 prediction */
    CHECK_EQ_INT(store_version_promote(st, v2.id, NULL), 0);
    store_task_next(st, p, 0, STORE_ORDER_UNCERTAINTY, 0, &next, NULL);
    CHECK_EQ_INT(next, res.first_task_id);
    struct store_job j = {0};
    store_job_get(st, job, &j, NULL);
    CHECK_EQ_INT(j.version, v1.id);
    CHECK_EQ_INT(j.state, STORE_JOB_RUNNING); /* the worker ends it after predicting */
    store_job_release(&j);
    char *file = NULL;
    struct base_err err = {0};
    CHECK_EQ_INT(store_version_delete(st, v2.id, &file, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_CONFLICT);
    CHECK_EQ_INT(store_version_delete(st, v1.id, &file, NULL), 0);
    CHECK_EQ_STR(file, v1.file);
    base_free(file);
    /* a version for a job that is no longer running is refused */
    store_job_finish(st, job, STORE_JOB_CANCELLED, NULL, NULL, NULL);
    struct store_version v3 = version_of(p, 0.5);
    CHECK_EQ_INT(store_version_create(st, &v3, "fcos-s", 1, job, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_CONFLICT);
    store_version_release(&v1), store_version_release(&v2), store_version_release(&v3);
    store_close(st);
}

static int sum_help(void *ctx, const struct store_help_sum *s, struct base_err *err)
{
    (void)err;
    struct store_help_sum *out = ctx;
    out[s->model_version[0] ? 1 : 0] = *s;
    return 0;
}

static void test_help_and_backend(void)
{
    struct store *st = fresh();
    int64_t p = project(st), a1, a2;
    json_t *tasks = json_pack("[{s:{}}, {s:{}}]", "data", "data");
    struct store_import_result res;
    store_tasks_import(st, p, tasks, 0, &res, NULL);
    json_decref(tasks);
    struct store_annotation a = {.result = json_array()};
    store_annotation_create(st, res.first_task_id, &a, &a1, NULL);
    store_annotation_create(st, res.first_task_id + 1, &a, &a2, NULL);
    json_decref(a.result);
    struct store_help h1 = {.annotation = a1,
                            .shown = 3,
                            .accepted = 1,
                            .adjusted = 1,
                            .deleted = 1,
                            .drawn = 1,
                            .adjust_iou = 0.5,
                            .has_lead_time = 1,
                            .lead_time = 4};
    snprintf(h1.model_version, sizeof h1.model_version, "fcos-s-v1");
    struct store_help h2 = {.annotation = a2, .drawn = 2, .has_lead_time = 1, .lead_time = 20};
    CHECK_EQ_INT(store_help_put(st, &h1, NULL), 0);
    CHECK_EQ_INT(store_help_put(st, &h1, NULL), 0); /* replaced, not added */
    CHECK_EQ_INT(store_help_put(st, &h2, NULL), 0);
    struct store_help_sum sums[2];
    memset(sums, 0, sizeof sums);
    CHECK_EQ_INT(store_help_each(st, p, sum_help, sums, NULL), 0);
    CHECK_EQ_INT(sums[1].annotations, 1);
    CHECK_EQ_INT(sums[1].accepted, 1);
    CHECK_NEAR(sums[1].adjust_iou_mean, 0.5, 1e-9);
    CHECK_NEAR(sums[0].lead_time_mean, 20, 1e-9);
    CHECK_EQ_INT(sums[0].drawn, 2);
    struct store_ml_backend b1, b2;
    CHECK_EQ_INT(store_ml_backend_builtin(st, p, &b1, NULL), 0);
    CHECK_EQ_INT(store_ml_backend_builtin(st, p, &b2, NULL), 0);
    CHECK_EQ_INT(b1.id, b2.id);
    CHECK_EQ_STR(b1.url, "");
    snprintf(b1.title, sizeof b1.title, "renamed");
    CHECK_EQ_INT(store_ml_backend_update(st, &b1, NULL), 0);
    store_ml_backend_get(st, b1.id, &b2, NULL);
    CHECK_EQ_STR(b2.title, "renamed");
    struct base_err err = {0};
    CHECK_EQ_INT(store_ml_backend_builtin(st, 999, &b2, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    /* deleting the project takes its rows along */
    CHECK_EQ_INT(store_project_delete(st, p, NULL), 0);
    CHECK_EQ_INT(store_ml_backend_get(st, b1.id, &b2, NULL), -1);
    store_close(st);
}

static void test_predictions_many(void)
{
    struct store *st = fresh();
    int64_t p = project(st), made;
    json_t *tasks = json_pack("[{s:{}}, {s:{}}]", "data", "data");
    struct store_import_result res;
    store_tasks_import(st, p, tasks, 0, &res, NULL);
    json_decref(tasks);
    struct store_prediction in[3] = {{.task = res.first_task_id, .has_score = 1, .score = 0.5},
                                     {.task = res.first_task_id + 1, .has_score = 1, .score = 0.7},
                                     {.task = 12345}};
    for (int i = 0; i < 3; i++)
        snprintf(in[i].model_version, sizeof in[i].model_version, "m1");
    CHECK_EQ_INT(store_prediction_create_many(st, in, 3, &made, NULL), 0);
    CHECK_EQ_INT(made, 2); /* the missing task is skipped */
    CHECK_EQ_INT(store_prediction_create_many(st, in, 2, &made, NULL), 0);
    CHECK_EQ_INT(made, 0); /* already predicted by that version */
    store_close(st);
}

static void setup(void) __attribute__((constructor));
static void setup(void)
{
    if (!pg_fixture_url(pg_url, sizeof pg_url))
        pg_url[0] = 0;
    snprintf(dir, sizeof dir, "/tmp/ll-test-store-loop-XXXXXX");
    if (!mkdtemp(dir))
        abort();
}

static void teardown(void) __attribute__((destructor));
static void teardown(void)
{
    base_remove_tree(dir, NULL);
}

TEST_MAIN(TEST_CASE(test_enqueue_coalesces), TEST_CASE(test_claim_is_fair),
          TEST_CASE(test_claim_concurrent), TEST_CASE(test_model_file),
          TEST_CASE(test_import_totals), TEST_CASE(test_cancel_and_finish), TEST_CASE(test_recover),
          TEST_CASE(test_loop_state), TEST_CASE(test_registry), TEST_CASE(test_help_and_backend),
          TEST_CASE(test_predictions_many))
