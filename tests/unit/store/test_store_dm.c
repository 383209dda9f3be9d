/* Unit tests of the store's data-manager parts on a temporary database: task views with every
 * kind of filter, selections and orderings; actions on id lists and the counters they keep;
 * saved views; export snapshots; prediction import and versions; annotators of imported
 * annotations mapped or left null. */
#include "store/store.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[64];
static struct store *st;
static int64_t project, first;
static int64_t user;

static json_t *parse(const char *text)
{
    return base_json_parse(text, strlen(text), NULL);
}

/* 10 tasks: data {"n": i, "kind": "cat"|"dog"}, tasks 0-2 annotated by the user (task 0 ground
 * truth), tasks 3-4 predicted by "v1". */
static void setup_project(void)
{
    struct store_user u;
    char token[STORE_TOKEN_LEN + 1];
    store_user_create(st, "dm@example.com", "password-1", 1, &u, token, NULL);
    user = u.id;
    json_t *f = parse("{\"title\": \"dm\"}");
    store_project_create(st, f, user, &project, NULL);
    json_decref(f);
    json_t *tasks = json_array();
    for (int i = 0; i < 10; i++) {
        json_t *t = json_pack("{s{sissss}}", "data", "n", i, "kind", i % 2 ? "cat" : "dog", "image",
                              i == 7 ? "x/Special.JPG" : "x/a.jpg");
        if (i < 3)
            json_object_set_new(
                t, "annotations",
                json_pack("[{s[]sfsb}]", "result", "lead_time", 1.0 + i, "ground_truth", i == 0));
        if (i == 3 || i == 4)
            json_object_set_new(
                t, "predictions",
                json_pack("[{s[]sfss}]", "result", "score", 0.1 * i, "model_version", "v1"));
        json_array_append_new(tasks, t);
    }
    struct store_import_result res;
    CHECK_EQ_INT(store_tasks_import(st, project, tasks, user, &res, NULL), 0);
    first = res.first_task_id;
    json_decref(tasks);
}

/* The ids (as offsets from the first task) a view gives, as a string "0,1,2". */
static const char *view_of(struct store_task_view *v)
{
    static char out[512];
    int64_t *ids = NULL;
    size_t n = 0;
    struct base_err err = {0};
    v->project = project;
    if (store_task_view_ids(st, v, &ids, &n, &err)) {
        snprintf(out, sizeof out, "error: %s", err.msg);
        return out;
    }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%lld", i ? "," : "",
                 (long long)(ids[i] - first));
    base_free(ids);
    return out;
}

static struct store_task_view one(struct store_task_filter f)
{
    struct store_task_view v = {.nfilters = 1};
    v.filters[0] = f;
    return v;
}

static void test_filters(void)
{
    struct store_task_view v;
    v = one((struct store_task_filter){
        .col = STORE_TASK_COL_DATA, .key = "n", .cmp = STORE_CMP_GE, .value = 8});
    CHECK_EQ_STR(view_of(&v), "8,9");
    v = one((struct store_task_filter){.col = STORE_TASK_COL_DATA,
                                       .key = "kind",
                                       .kind = STORE_VALUE_TEXT,
                                       .cmp = STORE_CMP_EQ,
                                       .text = "cat"});
    CHECK_EQ_STR(view_of(&v), "1,3,5,7,9");
    v = one((struct store_task_filter){.col = STORE_TASK_COL_DATA,
                                       .key = "image",
                                       .kind = STORE_VALUE_TEXT,
                                       .cmp = STORE_CMP_CONTAINS,
                                       .text = "special"});
    CHECK_EQ_STR(view_of(&v), "7");
    v = one((struct store_task_filter){.col = STORE_TASK_COL_DATA,
                                       .key = "image",
                                       .kind = STORE_VALUE_TEXT,
                                       .cmp = STORE_CMP_REGEX,
                                       .text = "^x/[A-Z]"});
    CHECK_EQ_STR(view_of(&v), "7");
    v = one((struct store_task_filter){
        .col = STORE_TASK_COL_DATA, .key = "n", .cmp = STORE_CMP_IN_LIST, .text = "[2, 4, 99]"});
    CHECK_EQ_STR(view_of(&v), "2,4");
    v = one(
        (struct store_task_filter){.col = STORE_TASK_COL_COMPLETED_AT, .cmp = STORE_CMP_NOT_NULL});
    CHECK_EQ_STR(view_of(&v), "0,1,2");
    v = one((struct store_task_filter){.col = STORE_TASK_COL_CREATED_AT,
                                       .kind = STORE_VALUE_TIME,
                                       .cmp = STORE_CMP_LT,
                                       .value = 1.6e15});
    CHECK_EQ_STR(view_of(&v), "");
    v = one((struct store_task_filter){
        .col = STORE_TASK_COL_GROUND_TRUTH, .cmp = STORE_CMP_EQ, .value = 1});
    CHECK_EQ_STR(view_of(&v), "0");
    v = one((struct store_task_filter){
        .col = STORE_TASK_COL_AVG_LEAD_TIME, .cmp = STORE_CMP_BETWEEN, .value = 1.5, .value2 = 3});
    CHECK_EQ_STR(view_of(&v), "1,2");
    char who[32];
    snprintf(who, sizeof who, "[%lld]", (long long)user);
    v = one((struct store_task_filter){.col = STORE_TASK_COL_ANNOTATORS,
                                       .kind = STORE_VALUE_TEXT,
                                       .cmp = STORE_CMP_NOT_CONTAINS,
                                       .text = who});
    CHECK_EQ_STR(view_of(&v), "3,4,5,6,7,8,9");
    v = one(
        (struct store_task_filter){.col = STORE_TASK_COL_MODEL_VERSIONS, .cmp = STORE_CMP_NULL});
    CHECK_EQ_STR(view_of(&v), "0,1,2,5,6,7,8,9");
    v = one((struct store_task_filter){
        .col = STORE_TASK_COL_PREDICTION_SCORE, .cmp = STORE_CMP_NE, .value = 0.4});
    CHECK_EQ_STR(view_of(&v), "0,1,2,3,5,6,7,8,9"); /* NULLs are "not equal" */
    /* what a column does not take */
    struct store_task_filter bad[] = {
        {.col = STORE_TASK_COL_ANNOTATORS,
         .cmp = STORE_CMP_EQ,
         .kind = STORE_VALUE_TEXT,
         .text = "[1]"},
        {.col = STORE_TASK_COL_CREATED_AT, .cmp = STORE_CMP_EQ, .kind = STORE_VALUE_NUMBER},
        {.col = STORE_TASK_COL_ID,
         .cmp = STORE_CMP_CONTAINS,
         .kind = STORE_VALUE_TEXT,
         .text = "1"},
        {.col = STORE_TASK_COL_DATA, .key = "a\"b", .cmp = STORE_CMP_EQ},
        {.col = STORE_TASK_COL_DATA, .key = "n", .cmp = STORE_CMP_IN_LIST},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = one(bad[i]);
        CHECK(strncmp(view_of(&v), "error:", 6) == 0);
    }
}

static void test_orders_and_selection(void)
{
    struct store_task_view v = {.order = STORE_TASK_COL_DATA, .order_key = "kind", .descending = 1};
    CHECK_EQ_STR(view_of(&v), "8,6,4,2,0,9,7,5,3,1");
    int64_t sel[] = {first + 5, first + 1, first + 99};
    v = (struct store_task_view){.select = STORE_SELECT_INCLUDED, .selected = sel, .nselected = 3};
    CHECK_EQ_STR(view_of(&v), "1,5");
    v = (struct store_task_view){.select = STORE_SELECT_EXCLUDED,
                                 .selected = sel,
                                 .nselected = 2,
                                 .order = STORE_TASK_COL_AVG_LEAD_TIME,
                                 .descending = 1};
    CHECK_EQ_STR(view_of(&v), "2,0,9,8,7,6,4,3"); /* NULLs last, ties by id (descending) */
    v = (struct store_task_view){.select = STORE_SELECT_INCLUDED, .selected = sel, .nselected = 0};
    CHECK_EQ_STR(view_of(&v), "");
    /* a page and its totals */
    int64_t ids[3];
    size_t n;
    struct store_task_totals tot;
    v = (struct store_task_view){
        .project = project, .offset = 1, .limit = 3, .order = STORE_TASK_COL_ID, .descending = 1};
    CHECK_EQ_INT(store_task_view_page(st, &v, ids, &n, &tot, NULL), 0);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(ids[0] - first, 8);
    CHECK_EQ_INT(tot.tasks, 10);
    CHECK_EQ_INT(tot.total_annotations, 3);
}

/* Predictions become annotations, then annotations and predictions go, then tasks. */
static void test_actions(void)
{
    int64_t ids[10], n = -1;
    for (int i = 0; i < 10; i++)
        ids[i] = first + i;
    json_t *mv = parse("[\"v1\"]");
    CHECK_EQ_INT(store_predictions_to_annotations(st, project, ids, 10, mv, user, &n, NULL), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(store_predictions_to_annotations(st, project, ids, 10, NULL, user, &n, NULL), 0);
    CHECK_EQ_INT(n, 0); /* made already */
    json_decref(mv);
    struct store_project_counts c;
    store_project_counts(st, project, &c, NULL);
    CHECK_EQ_INT(c.total_annotations_number, 5);
    CHECK_EQ_INT(c.finished_task_number, 5);
    CHECK_EQ_INT(store_annotations_delete_tasks(st, project, ids, 4, user, &n, NULL), 0);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(store_predictions_delete_tasks(st, project, ids + 3, 2, &n, NULL), 0);
    CHECK_EQ_INT(n, 2);
    store_project_counts(st, project, &c, NULL);
    CHECK_EQ_INT(c.total_annotations_number, 1);
    CHECK_EQ_INT(c.total_predictions_number, 0);
    CHECK_EQ_INT(c.finished_task_number, 1);
    /* ids of another project are ignored */
    int64_t other = 0;
    json_t *f = parse("{\"title\": \"other\"}");
    store_project_create(st, f, user, &other, NULL);
    json_decref(f);
    CHECK_EQ_INT(store_tasks_delete_ids(st, other, ids, 10, &n, NULL), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(store_tasks_delete_ids(st, project, ids + 8, 2, &n, NULL), 0);
    CHECK_EQ_INT(n, 2);
    store_project_counts(st, project, &c, NULL);
    CHECK_EQ_INT(c.task_number, 8);
}

static int count_view(void *ctx, const struct store_view *v, struct base_err *err)
{
    (void)err;
    (*(int *)ctx)++;
    CHECK(json_is_object(v->data));
    return 0;
}

static int count_snapshot(void *ctx, const struct store_snapshot *s, struct base_err *err)
{
    (void)err;
    *(int64_t *)ctx = s->id; /* newest first: the last one seen is the oldest */
    return 0;
}

static void test_views_and_snapshots(void)
{
    json_t *data =
        parse("{\"title\": \"t\", \"filters\": {\"conjunction\": \"and\", \"items\": []}}");
    int64_t id, sid, sid2, oldest = 0;
    struct store_view v;
    struct base_err err;
    CHECK_EQ_INT(store_view_create(st, project, user, data, &id, NULL), 0);
    CHECK_EQ_INT(store_view_create(st, 999999, user, data, &id, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    CHECK_EQ_INT(store_view_create(st, project, 0, data, &id, NULL), 0);
    CHECK_EQ_INT(store_view_get(st, id, &v, NULL), 0);
    CHECK_EQ_INT(v.user, 0);
    CHECK(json_equal(v.data, data));
    store_view_release(&v);
    json_t *next = parse("{\"title\": \"u\"}");
    CHECK_EQ_INT(store_view_update(st, id, 0, next, NULL), 0);
    store_view_get(st, id, &v, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(v.data, "title")), "u");
    store_view_release(&v);
    int count = 0;
    store_view_each(st, project, count_view, &count, NULL);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_INT(store_view_delete(st, id, NULL), 0);
    CHECK_EQ_INT(store_view_delete(st, id, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    int64_t n = 0;
    store_views_delete_project(st, project, &n, NULL);
    CHECK_EQ_INT(n, 1);
    json_decref(next);
    json_decref(data);

    json_t *opts = parse("{\"task_filter_options\": {}}"),
           *counters = parse("{\"task_number\": 8}");
    CHECK_EQ_INT(store_snapshot_create(st, project, user, "first", opts, &sid, NULL), 0);
    CHECK_EQ_INT(store_snapshot_create(st, project, user, "second", opts, &sid2, NULL), 0);
    CHECK_EQ_INT(
        store_snapshot_finish(st, sid, "completed", "export/a.json", "0123", counters, NULL), 0);
    struct store_snapshot s;
    CHECK_EQ_INT(store_snapshot_get(st, sid, &s, NULL), 0);
    CHECK_EQ_STR(s.status, "completed");
    CHECK_EQ_STR(s.title, "first");
    CHECK_EQ_STR(s.file, "export/a.json");
    CHECK(s.finished_at > 0 && json_equal(s.counters, counters) && json_equal(s.options, opts));
    store_snapshot_release(&s);
    store_snapshot_each(st, project, 10, count_snapshot, &oldest, NULL);
    CHECK_EQ_INT(oldest, sid);
    char *file = NULL;
    CHECK_EQ_INT(store_snapshot_delete(st, sid, &file, NULL), 0);
    CHECK_EQ_STR(file, "export/a.json");
    base_free(file);
    CHECK_EQ_INT(store_snapshot_get(st, sid, &s, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_NOTFOUND);
    json_decref(opts);
    json_decref(counters);
}

static int add_version(void *ctx, const char *mv, int64_t count, struct base_err *err)
{
    (void)err;
    char *out = ctx;
    snprintf(out + strlen(out), 128 - strlen(out), "%s=%lld;", mv, (long long)count);
    return 0;
}

static void test_prediction_import_and_annotators(void)
{
    struct store_prediction in[2] = {{.task = first, .model_version = "a"},
                                     {.task = first + 1, .model_version = "b"}};
    struct base_err err;
    CHECK_EQ_INT(store_predictions_import(st, project, in, 2, NULL), 0);
    in[1].task = 999999;
    CHECK_EQ_INT(store_predictions_import(st, project, in, 2, &err), -1);
    CHECK(strstr(err.msg, "task 999999 is not a task of project") != NULL);
    char versions[128] = "";
    CHECK_EQ_INT(store_prediction_versions(st, project, add_version, versions, NULL), 0);
    CHECK_EQ_STR(versions, "a=1;b=1;"); /* the failed import left nothing */
    /* completed_by of an import: a user here by id or email, else null and counted */
    char text[256];
    snprintf(text, sizeof text,
             "[{\"data\": {}, \"annotations\": [{\"result\": [], \"completed_by\": %lld},"
             " {\"result\": [], \"completed_by\": {\"email\": \"DM@example.com\"}},"
             " {\"result\": [], \"completed_by\": 4242}, {\"result\": []}]}]",
             (long long)user);
    json_t *tasks = parse(text);
    struct store_import_result res;
    CHECK_EQ_INT(store_tasks_import(st, project, tasks, 0, &res, NULL), 0);
    CHECK_EQ_INT(res.unknown_annotators, 1);
    json_decref(tasks);
}

static void setup(void) __attribute__((constructor));
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ll-test-store-dm-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char path[128];
    snprintf(path, sizeof path, "%s/db.sqlite3", dir);
    st = store_open(path, NULL);
    if (!st)
        abort();
    setup_project();
}

static void teardown(void) __attribute__((destructor));
static void teardown(void)
{
    store_close(st);
    base_remove_tree(dir, NULL);
}

/* The order matters: the later tests change the fixture. */
TEST_MAIN(TEST_CASE(test_filters), TEST_CASE(test_orders_and_selection),
          TEST_CASE(test_views_and_snapshots), TEST_CASE(test_actions),
          TEST_CASE(test_prediction_import_and_annotators))
