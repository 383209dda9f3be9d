/* Fuzzes whole API requests in-process: the input's first line is "METHOD TARGET" (and an
 * optional content type after a tab), the rest the body. Requests run authenticated against a
 * scratch database (on /dev/shm when it exists) holding one project with a task. Every
 * request must get a response with a status and, for JSON, a body that parses. */
#include "api/api.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;
static struct api *api;
static char dir[64], auth[64];

static void cleanup(void)
{
    api_free(api);
    store_close(st);
    base_remove_tree(dir, NULL);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/ll-fuzz-api-XXXXXX",
             access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
    if (!mkdtemp(dir))
        abort();
    char *db = base_path_join(dir, "db.sqlite3");
    st = store_open(db, NULL);
    base_free(db);
    struct store_user u;
    char token[STORE_TOKEN_LEN + 1];
    if (!st || store_user_create(st, "fuzz@example.com", "password-1", 1, &u, token, NULL))
        abort();
    snprintf(auth, sizeof auth, "Token %s", token);
    struct api_config cfg = {.data_dir = dir, .version = "fuzz"};
    api = api_new(st, &cfg, NULL);
    json_t *fields = json_pack("{ss}", "title", "fuzz");
    int64_t project;
    struct store_import_result res;
    json_t *tasks = json_pack("[{s{ss}}]", "data", "image", "a.jpg");
    store_project_create(st, fields, u.id, &project, NULL);
    store_tasks_import(st, project, tasks, u.id, &res, NULL);
    json_decref(fields);
    json_decref(tasks);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!api)
        setup();
    const uint8_t *nl = memchr(data, '\n', size);
    size_t llen = nl ? (size_t)(nl - data) : size;
    if (llen > 1024)
        return 0;
    char line[1025], method[16] = "GET";
    memcpy(line, data, llen);
    line[llen] = '\0';
    char *target = strchr(line, ' '), *ctype = strchr(line, '\t');
    if (ctype)
        *ctype++ = '\0';
    if (target) {
        *target++ = '\0';
        snprintf(method, sizeof method, "%.15s", line);
    } else {
        target = line;
    }
    const char *headers[] = {"Authorization", auth, "Content-Type",
                             ctype ? ctype : "application/json", NULL};
    const char *body = nl ? (const char *)nl + 1 : "";
    size_t blen = nl ? size - llen - 1 : 0;
    struct http_request *req = http_test_request_new(method, target, headers, body, blen, 1 << 16);
    struct http_response *resp = http_test_response_new(req);
    api_handle(api, req, resp);
    int status = http_response_code(resp);
    if (status < 200 || status > 599)
        __builtin_trap();
    size_t len;
    const char *out = http_response_body(resp, &len);
    const char *rtype = http_response_content_type(resp);
    if (out && len && rtype && !strcmp(rtype, "application/json")) {
        json_t *v = base_json_parse(out, len, NULL);
        if (!v)
            __builtin_trap();
        json_decref(v);
    }
    http_test_response_free(resp);
    http_test_request_free(req);
    return 0;
}
