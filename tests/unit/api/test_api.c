/* Unit tests of src/api without a socket: the route table, the dispatcher (auth, errors,
 * trailing slashes) and a few handlers through in-process requests on a temporary store. */
#include "api/api_int.h"
#include "test.h"

#include <stdlib.h>

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

static void teardown(void) __attribute__((destructor));
static void teardown(void)
{
    api_free(api);
    store_close(st);
    base_remove_tree(dir, NULL);
}

TEST_MAIN(TEST_CASE(test_route_table), TEST_CASE(test_errors_and_auth),
          TEST_CASE(test_project_flow), TEST_CASE(test_created_ago))
