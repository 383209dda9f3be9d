/* Fuzzes what the API decides from a request's headers alone (api_admit): the route, the
 * credentials, the cross-site checks on Origin, Host, Sec-Fetch-Site, cookies and content types,
 * and the client address from X-Forwarded-For. The input's first byte picks the method and path;
 * then one header value per line, in the order of `names` (a missing line is a missing header).
 * Every request must be either answered with a status or admitted with a sane body limit. */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;
static struct api *api;
static char dir[64];

static const char *const names[] = {
    "Origin",       "Host",           "Sec-Fetch-Site",    "Cookie",          "Authorization",
    "Content-Type", "Content-Length", "Transfer-Encoding", "X-Forwarded-For", "X-Forwarded-Host"};
#define NNAMES (sizeof names / sizeof names[0])

static const struct {
    const char *method, *target;
} requests[] = {{"POST", "/api/projects"},
                {"POST", "/api/auth/login"},
                {"GET", "/api/projects/1"},
                {"DELETE", "/api/projects/1"},
                {"POST", "/api/projects/1/import"},
                {"PATCH", "/api/tasks/1"},
                {"GET", "/some/page"},
                {"PUT", "/api/projects"}};

static void cleanup(void)
{
    api_free(api);
    store_close(st);
    base_remove_tree(dir, NULL);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/ll-fuzz-admit-XXXXXX",
             access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
    if (!mkdtemp(dir))
        abort();
    char *db = base_path_join(dir, "db.sqlite3");
    st = store_open(db, NULL);
    base_free(db);
    struct store_user u;
    char token[STORE_TOKEN_LEN + 1], key[STORE_SESSION_KEY_LEN + 1];
    if (!st || store_user_create(st, "fuzz@example.com", "password-1", 1, &u, token, NULL) ||
        store_session_create(st, u.id, 3600 * 1000000LL, key, NULL))
        abort();
    struct api_config cfg = {.data_dir = dir, .version = "fuzz", .limits = {.trust_proxy = 1}};
    api = api_new(st, &cfg, NULL);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!api)
        setup();
    if (size < 1 || size > 4096)
        return 0;
    const char *headers[2 * NNAMES + 1];
    char *copy = base_strndup((const char *)data + 1, size - 1), *line = copy;
    size_t n = 0;
    for (size_t i = 0; i < NNAMES && line; i++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        headers[n++] = names[i];
        headers[n++] = line;
        line = nl ? nl + 1 : NULL;
    }
    headers[n] = NULL;
    size_t pick = data[0] % (sizeof requests / sizeof requests[0]);
    struct http_request *req = http_test_request_new(requests[pick].method, requests[pick].target,
                                                     headers, "", 0, 1 << 16);
    struct http_response *resp = http_test_response_new(req);
    struct http_admission adm = {0};
    int answered = api_admit(api, req, resp, &adm);
    if (answered && (http_response_code(resp) < 400 || http_response_code(resp) > 599))
        __builtin_trap();
    if (!answered && adm.max_body > ((size_t)1 << 30))
        __builtin_trap();
    struct api_req r;
    api_req_init(&r, api, req, resp);
    const char *addr = api_client_address(&r);
    if (!addr)
        __builtin_trap();
    http_test_response_free(resp);
    http_test_request_free(req);
    base_free(copy);
    return 0;
}
