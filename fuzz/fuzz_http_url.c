/* Fuzzes request-target decoding, route matching (including the media path checks' input),
 * Range and Cookie header parsing with arbitrary text. */
#include "http/http.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[] = {"/api/projects/{id}/import", "/data/upload/{*}",
                                       "/api/tasks", "/a/{x}/b/{y}/c/{z}/d/{w}", "/"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = base_alloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct base_arena *a = base_arena_new(4096);
    char *path;
    struct http_query_pair *q;
    size_t n;
    if (!http_url_parse(text, a, &path, &q, &n, 64, NULL)) {
        struct http_route_match m;
        for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
            if (http_route_match(patterns[i], path, &m) && m.tail)
                (void)strlen(m.tail);
        for (size_t i = 0; i < n; i++)
            (void)strlen(q[i].name), (void)strlen(q[i].value);
    }
    uint64_t start, len;
    if (http_range_parse(text, 1000, &start, &len) == 1 && (start + len > 1000 || len == 0))
        __builtin_trap();
    static const char *const headers[] = {"Cookie", NULL, NULL};
    const char *h[] = {headers[0], text, NULL};
    struct http_request *r = http_test_request_new("GET", "/", h, NULL, 0, 16);
    (void)http_request_cookie(r, "sessionid");
    http_test_request_free(r);
    base_arena_free(a);
    base_free(text);
    return 0;
}
