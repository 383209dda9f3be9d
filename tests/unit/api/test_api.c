/* Unit tests of src/api without a socket: the route table, the dispatcher (auth, errors,
 * trailing slashes) and a few handlers through in-process requests on a temporary store. */
#include "api/api_int.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char dir[64];
static struct store *st;
static struct api *api;
static char auth[80];

struct reply {
    int status;
    json_t *body;
};

static struct reply call(const char *method, const char *target, const char *body, int authed)
{
    const char *headers[] = {"Authorization", auth, NULL};
    struct http_request *req = http_test_request_new(method, target, authed ? headers : NULL, body,
                                                     body ? strlen(body) : 0, 1 << 20);
    struct http_response *resp = http_test_response_new(req);
    api_handle(api, req, resp);
    size_t len;
    const char *text = http_response_body(resp, &len);
    struct reply r = {http_response_code(resp), len ? base_json_parse(text, len, NULL) : NULL};
    http_test_response_free(resp);
    http_test_request_free(req);
    return r;
}

static void test_route_table(void)
{
    for (size_t i = 0; i < api_nroutes; i++) {
        CHECK(api_routes[i].fn != NULL);
        CHECK(api_routes[i].pattern[0] == '/');
        for (size_t k = i + 1; k < api_nroutes; k++)
            CHECK(strcmp(api_routes[i].method, api_routes[k].method) ||
                  strcmp(api_routes[i].pattern, api_routes[k].pattern));
    }
    CHECK(api_next_npolicies >= 3);
}

static void test_errors_and_auth(void)
{
    struct reply r = call("GET", "/api/projects", NULL, 0);
    CHECK_EQ_INT(r.status, 401);
    CHECK_EQ_INT(json_integer_value(json_object_get(r.body, "status_code")), 401);
    CHECK(json_is_string(json_object_get(r.body, "id")));
    CHECK(json_is_null(json_object_get(r.body, "exc_info")));
    json_decref(r.body);
    r = call("GET", "/api/projects/", NULL, 1);
    CHECK_EQ_INT(r.status, 200);
    json_decref(r.body);
    r = call("DELETE", "/api/health", NULL, 1);
    CHECK_EQ_INT(r.status, 405);
    json_decref(r.body);
    r = call("POST", "/api/projects", "{\"title\": ", 1);
    CHECK_EQ_INT(r.status, 400);
    CHECK(strstr(json_string_value(json_object_get(r.body, "detail")), "JSON parse error"));
    json_decref(r.body);
    r = call("GET", "/some/page", NULL, 0);
    CHECK_EQ_INT(r.status, 200); /* the UI's index.html */
    json_decref(r.body);
    CHECK_EQ_INT(api_http_status(BASE_E_BUSY), 503);
    CHECK_EQ_INT(api_http_status(BASE_E_TOOBIG), 413);
}

static void test_project_flow(void)
{
    struct reply r =
        call("POST", "/api/projects",
             "{\"title\": \"unit\", \"label_config\": \"<View><Image name=\\\"image\\\" "
             "value=\\\"$image\\\"/></View>\"}",
             1);
    CHECK_EQ_INT(r.status, 201);
    int64_t id = json_integer_value(json_object_get(r.body, "id"));
    json_decref(r.body);
    char path[128];
    snprintf(path, sizeof path, "/api/projects/%lld/import", (long long)id);
    r = call("POST", path, "[{\"$undefined$\": \"a.jpg\"}, {\"image\": \"b.jpg\"}]", 1);
    CHECK_EQ_INT(r.status, 201);
    CHECK_EQ_INT(json_integer_value(json_object_get(r.body, "task_count")), 2);
    json_decref(r.body);
    snprintf(path, sizeof path, "/api/tasks?project=%lld", (long long)id);
    r = call("GET", path, NULL, 1);
    CHECK_EQ_INT(r.status, 200);
    json_t *t0 = json_array_get(json_object_get(r.body, "tasks"), 0);
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(t0, "data"), "image")), "a.jpg");
    json_decref(r.body);
}

static void test_created_ago(void)
{
    char out[64];
    int64_t now = base_time_us();
    api_created_ago(now, out);
    CHECK_EQ_STR(out, "0\xc2\xa0minutes");
    api_created_ago(now - (int64_t)3720 * 1000000, out);
    CHECK_EQ_STR(out, "1\xc2\xa0hour, 2\xc2\xa0minutes");
    api_created_ago(now - (int64_t)2 * 86400 * 1000000, out);
    CHECK_EQ_STR(out, "2\xc2\xa0"
                      "days");
}

static void setup(void) __attribute__((constructor));
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/ll-test-api-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char *db = base_path_join(dir, "db.sqlite3");
    st = store_open(db, NULL);
    base_free(db);
    struct store_user u;
    char token[STORE_TOKEN_LEN + 1];
    if (!st || store_user_create(st, "unit@example.com", "password-1", 1, &u, token, NULL))
        abort();
    snprintf(auth, sizeof auth, "Token %s", token);
    struct api_config cfg = {.data_dir = dir, .version = "test"};
    api = api_new(st, &cfg, NULL);
}

static char *export_text(const struct store_task *t, enum api_task_shape shape, const char *key)
{
    struct base_buf b;
    base_buf_init(&b, 1 << 20);
    CHECK(api_task_export_text(t, shape, key, &b, NULL) == 0);
    return base_buf_steal(&b, NULL);
}

/* Members of object o in order, against a NULL-terminated list. */
static void check_keys(const json_t *o, const char *const *keys)
{
    size_t i = 0;
    for (void *it = json_object_iter((json_t *)o); it; it = json_object_iter_next((json_t *)o, it))
        CHECK_EQ_STR(json_object_iter_key(it), keys[i] ? keys[i++] : "(no more keys)");
    CHECK(keys[i] == NULL);
}

/* The one writer of the export shape: a task loaded as stored text and the same task loaded as
 * values give the same bytes, and the shape parsed back holds what spec 1.2 says. */
static void check_export_text(const struct store_task *t, const char *key)
{
    static const char *const task_keys[] = {"id",
                                            "annotations",
                                            "file_upload",
                                            "drafts",
                                            "predictions",
                                            "data",
                                            "meta",
                                            "created_at",
                                            "updated_at",
                                            "inner_id",
                                            "total_annotations",
                                            "cancelled_annotations",
                                            "total_predictions",
                                            "comment_count",
                                            "unresolved_comment_count",
                                            "last_comment_updated_at",
                                            "project",
                                            "updated_by",
                                            "comment_authors",
                                            NULL};
    struct store_annotation text_anns[3], value_anns[3];
    struct store_task as_text = *t, as_values = *t;
    for (size_t i = 0; i < t->nannotations; i++) {
        text_anns[i] = value_anns[i] = t->annotations[i];
        text_anns[i].result = text_anns[i].prediction = NULL;
        value_anns[i].result_text = value_anns[i].prediction_text = NULL;
    }
    as_text.annotations = text_anns, as_values.annotations = value_anns;
    as_text.data = as_text.meta = NULL;
    as_values.data_text = as_values.meta_text = NULL;
    char *a = export_text(&as_text, API_TASK_EXPORT, key);
    char *b = export_text(&as_values, API_TASK_EXPORT, key);
    CHECK_EQ_STR(a, b);
    json_t *j = api_task_json(NULL, &as_text, API_TASK_EXPORT, 1, key, NULL);
    CHECK(j != NULL);
    check_keys(j, task_keys);
    const json_t *fu = json_object_get(j, "file_upload");
    CHECK(t->file_upload ? !strcmp(json_string_value(fu), t->file_upload) : json_is_null(fu));
    json_t *data = json_object_get(j, "data");
    int renamed = key && json_object_get(t->data, "$undefined$") && !json_object_get(t->data, key);
    CHECK(!renamed || (json_object_get(data, key) && !json_object_get(data, "$undefined$")));
    CHECK(renamed || json_equal(data, t->data));
    CHECK_EQ_INT((long long)json_array_size(json_object_get(j, "predictions")),
                 (long long)t->npredictions);
    json_t *anns = json_object_get(j, "annotations");
    CHECK_EQ_INT((long long)json_array_size(anns), (long long)t->nannotations);
    for (size_t i = 0; i < t->nannotations; i++) {
        const struct store_annotation *sa = &t->annotations[i];
        json_t *ja = json_array_get(anns, i), *lead = json_object_get(ja, "lead_time");
        CHECK_EQ_INT(json_integer_value(json_object_get(ja, "id")), sa->id);
        CHECK(sa->completed_by
                  ? json_integer_value(json_object_get(ja, "completed_by")) == sa->completed_by
                  : json_is_null(json_object_get(ja, "completed_by")));
        CHECK(isfinite(sa->lead_time) ? json_real_value(lead) == sa->lead_time : lead == NULL);
        CHECK(sa->result ? json_equal(json_object_get(ja, "result"), sa->result)
                         : json_is_null(json_object_get(ja, "result")));
        CHECK(json_is_string(json_object_get(ja, "created_at")) == (sa->created_at != 0));
    }
    json_decref(j);
    base_free(a), base_free(b);
}

/* The ML-payload shape: predictions expanded, file_upload as an id, is_labeled and overlap. */
static void check_simple(const struct store_task *t)
{
    json_t *j = api_task_json(NULL, t, API_TASK_SIMPLE, 1, NULL, NULL);
    CHECK(j != NULL);
    json_t *preds = json_object_get(j, "predictions");
    for (size_t i = 0; i < t->npredictions; i++)
        CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(preds, i), "id")),
                     t->predictions[i].id);
    CHECK(json_is_null(json_object_get(j, "file_upload")));
    CHECK(json_is_boolean(json_object_get(j, "is_labeled")));
    CHECK_EQ_INT(json_integer_value(json_object_get(j, "overlap")), t->overlap);
    json_decref(j);
}

/* A task beyond the buffer's limit is an error that reaches the caller, naming the task. */
static void check_too_big(const struct store_task *t)
{
    struct base_buf b;
    struct base_err err = {0};
    base_buf_init(&b, 40);
    CHECK_EQ_INT(api_task_export_text(t, API_TASK_EXPORT, NULL, &b, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_TOOBIG);
    CHECK(strstr(err.msg, "task 3: ") == err.msg);
    base_buf_release(&b);
}

static void test_export_text(void)
{
    /* stored text as the store writes it (compact, raw UTF-8) */
    static const char *const result = "[{\"value\":{\"x\":1.5,\"t\":\"a\xc3\xa9\\n\"}}]";
    static const char *const datas[] = {"{\"image\":\"/data/upload/1/a.jpg\"}",
                                        "{\"$undefined$\":\"x\",\"b\":[1,2.0]}", "{}"};
    struct store_annotation anns[3] = {
        {.id = 7,
         .task = 3,
         .completed_by = 1,
         .has_lead_time = 1,
         .lead_time = 12.5,
         .result_count = 2,
         .parent_prediction = 4,
         .created_at = 1700000000123456,
         .updated_at = 1700000001000000},
        {.id = 8,
         .task = 3,
         .was_cancelled = 1,
         .ground_truth = 1,
         .has_lead_time = 1,
         .lead_time = NAN},
        {.id = 9, .task = 3, .parent_annotation = 7, .has_lead_time = 1, .lead_time = 3.0}};
    anns[0].result_text = result, anns[0].result_len = strlen(result);
    anns[0].result = base_json_parse(result, strlen(result), NULL);
    anns[2].prediction_text = "{\"id\":1}", anns[2].prediction_len = 8;
    anns[2].prediction = json_pack("{si}", "id", 1);
    struct store_prediction preds[2] = {{.id = 11}, {.id = 12}};
    for (int i = 0; i < 3; i++) {
        struct store_task t = {.id = 3,
                               .project = 1,
                               .inner_id = 3,
                               .total_annotations = 2,
                               .cancelled_annotations = 1,
                               .total_predictions = 2,
                               .created_at = 1700000000000000,
                               .updated_by = i,
                               .file_upload = i == 1 ? "a\"b\\c.jpg" : NULL,
                               .annotations = i ? anns : NULL,
                               .nannotations = i ? 3 : 0,
                               .predictions = i == 2 ? preds : NULL,
                               .npredictions = i == 2 ? 2 : 0};
        t.data_text = datas[i], t.data_len = strlen(datas[i]);
        t.meta_text = "{\"m\":true}", t.meta_len = 10;
        t.data = base_json_parse(t.data_text, t.data_len, NULL);
        t.meta = base_json_parse(t.meta_text, t.meta_len, NULL);
        check_export_text(&t, "image");
        check_export_text(&t, NULL);
        check_export_text(&t, "b");
        check_simple(&t);
        check_too_big(&t);
        json_decref(t.data);
        json_decref(t.meta);
    }
    json_decref(anns[0].result);
    json_decref(anns[2].prediction);
}

/* The wait before the attempt at `t` seconds (fake clock), which counts it when there is none. */
static double attempt(struct api *a, const char *address, const char *email, double t)
{
    double wait = -1;
    struct base_err err = {0};
    CHECK_EQ_INT(api_throttle_login(a, address, email, (int64_t)(t * 1e6), &wait, &err), 0);
    return wait;
}

static void test_throttle(void)
{
    /* a second API on the same store: another server sharing the database */
    struct api_config cfg = {.data_dir = dir, .version = "test"};
    struct api *b = api_new(st, &cfg, NULL);
    /* an account: five free failures, then 1 s, 2 s, 4 s ..., whichever server counted them */
    for (int i = 0; i < 5; i++)
        CHECK(attempt(i % 2 ? b : api, "10.0.0.1", "a@x", 100.0 + i) == 0);
    CHECK(attempt(api, "10.0.0.2", "A@X", 105.0) == 0); /* sixth: counted, waits 1 s */
    CHECK_NEAR(attempt(b, "10.0.0.3", "a@x", 105.5), 0.5, 1e-6);
    CHECK_NEAR(attempt(api, "10.0.0.3", "a@x", 105.8), 0.2, 1e-6); /* a refusal is not counted */
    CHECK(attempt(b, "10.0.0.3", "a@x", 106.0) == 0);
    CHECK_NEAR(attempt(api, "10.0.0.3", "a@x", 106.0), 2.0, 1e-6);
    api_throttle_login_ok(b, "10.0.0.3", "a@x"); /* a success forgets the account */
    CHECK(attempt(api, "10.0.0.3", "a@x", 106.1) == 0);
    /* an address: ten free failures over any accounts */
    for (int i = 0; i < 10; i++) {
        char email[32];
        snprintf(email, sizeof email, "u%d@x", i);
        CHECK(attempt(i % 2 ? b : api, "10.9.9.9", email, 200.0) == 0);
    }
    CHECK(attempt(b, "10.9.9.9", "other@x", 200.0) == 0);
    CHECK_NEAR(attempt(api, "10.9.9.9", "more@x", 200.0), 1.0, 1e-6);
    CHECK(attempt(b, "10.9.9.9", "more@x", 200.0 + 3601) == 0); /* an hour forgets */
    /* the cap: an account waits at most five minutes (attempts 400 s apart, each let through) */
    for (int i = 0; i < 16; i++) {
        char address[32];
        snprintf(address, sizeof address, "10.7.7.%d", i);
        double t = 1000.0 + i * 400.0;
        CHECK(attempt(i % 2 ? b : api, address, "cap@x", t) == 0);
        if (i + 1 > 5)
            CHECK_NEAR(attempt(b, "10.7.8.1", "cap@x", t), i - 5 < 9 ? 1 << (i - 5) : 300, 1e-6);
    }
    api_free(b);
}

static int call_with(const char *method, const char *target, const char *const *headers,
                     const char *body)
{
    struct http_request *req =
        http_test_request_new(method, target, headers, body, body ? strlen(body) : 0, 1 << 20);
    struct http_response *resp = http_test_response_new(req);
    api_handle(api, req, resp);
    int status = http_response_code(resp);
    http_test_response_free(resp);
    http_test_request_free(req);
    return status;
}

static void test_forgery(void)
{
    char key[STORE_SESSION_KEY_LEN + 1], cookie[96];
    CHECK(store_session_create(st, 1, 60 * 1000000LL, key, NULL) == 0);
    snprintf(cookie, sizeof cookie, "sessionid=%s", key);
    const char *body = "{\"title\": \"forged?\"}";
    const char *cross[] = {"Cookie",
                           cookie,
                           "Host",
                           "127.0.0.1:8080",
                           "Origin",
                           "http://127.0.0.1:9999",
                           "Content-Type",
                           "application/json",
                           NULL};
    const char *plain[] = {"Cookie",
                           cookie,
                           "Host",
                           "127.0.0.1:8080",
                           "Origin",
                           "http://127.0.0.1:8080",
                           "Content-Type",
                           "text/plain",
                           "Content-Length",
                           "20",
                           NULL};
    const char *bare[] = {"Cookie", cookie, "Content-Type", "application/json", NULL};
    const char *site[] = {"Cookie",           cookie, "Sec-Fetch-Site", "same-site", "Content-Type",
                          "application/json", NULL};
    const char *good[] = {"Cookie",
                          cookie,
                          "Host",
                          "127.0.0.1:8080",
                          "Origin",
                          "http://127.0.0.1:8080",
                          "Content-Type",
                          "application/json",
                          NULL};
    const char *fetch[] = {"Cookie",      cookie,         "Sec-Fetch-Site",
                           "same-origin", "Content-Type", "application/json",
                           NULL};
    const char *token[] = {"Authorization", auth, "Origin", "http://evil.example", NULL};
    CHECK_EQ_INT(call_with("POST", "/api/projects", cross, body), 403);
    CHECK_EQ_INT(call_with("POST", "/api/projects", plain, body), 415);
    CHECK_EQ_INT(call_with("POST", "/api/projects", bare, body), 403);
    CHECK_EQ_INT(call_with("POST", "/api/projects", site, body), 403);
    CHECK_EQ_INT(call_with("POST", "/api/auth/login", cross, "{}"), 403); /* login CSRF */
    CHECK_EQ_INT(call_with("GET", "/api/projects", cross, NULL), 200);    /* reads are not */
    CHECK_EQ_INT(call_with("POST", "/api/projects", good, body), 201);
    CHECK_EQ_INT(call_with("POST", "/api/projects", fetch, body), 201);
    CHECK_EQ_INT(call_with("POST", "/api/projects", token, body), 201);
}

static void teardown(void) __attribute__((destructor));
static void teardown(void)
{
    api_free(api);
    store_close(st);
    base_remove_tree(dir, NULL);
}

TEST_MAIN(TEST_CASE(test_route_table), TEST_CASE(test_errors_and_auth),
          TEST_CASE(test_project_flow), TEST_CASE(test_created_ago), TEST_CASE(test_export_text),
          TEST_CASE(test_throttle), TEST_CASE(test_forgery))
