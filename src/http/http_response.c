/* Responses as the handlers build them (a buffer, a static blob or a file range plus headers),
 * and in-process requests so that handlers can be unit-tested without a socket. */
#include "http.h"
#include "http_int.h"

#include <string.h>
#include <strings.h>
#include <unistd.h>

static void set_body(struct http_response *resp, int status, const char *ctype,
                     enum http_body_kind kind)
{
    http_response_release(resp);
    resp->status = status;
    resp->ctype = ctype ? base_arena_strdup(resp->arena, ctype) : NULL;
    resp->kind = kind;
}

void http_response_header(struct http_response *resp, const char *name, const char *value)
{
    struct http_header *h = base_arena_alloc(resp->arena, sizeof *h);
    h->name = base_arena_strdup(resp->arena, name);
    h->value = base_arena_strdup(resp->arena, value);
    h->next = NULL;
    struct http_header **tail = &resp->headers;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
}

void http_response_take(struct http_response *resp, int status, const char *content_type,
                        char *data, size_t len)
{
    set_body(resp, status, content_type, HTTP_BODY_OWNED);
    resp->data = data;
    resp->len = len;
}

void http_response_copy(struct http_response *resp, int status, const char *content_type,
                        const void *data, size_t len)
{
    char *copy = base_alloc(len + 1);
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';
    http_response_take(resp, status, content_type, copy, len);
}

void http_response_static(struct http_response *resp, int status, const char *content_type,
                          const void *data, size_t len)
{
    set_body(resp, status, content_type, HTTP_BODY_STATIC);
    resp->sdata = data;
    resp->len = len;
}

void http_response_file(struct http_response *resp, int status, const char *content_type, int fd,
                        uint64_t offset, uint64_t len)
{
    set_body(resp, status, content_type, HTTP_BODY_FILE);
    resp->fd = fd;
    resp->off = offset;
    resp->flen = len;
}

struct http_response *http_response_new(struct http_request *r)
{
    struct http_response *resp = base_arena_calloc(r->arena, 1, sizeof *resp);
    resp->arena = r->arena;
    resp->fd = -1;
    return resp;
}

int http_response_code(const struct http_response *resp)
{
    return resp->status;
}

void http_response_release(struct http_response *resp)
{
    if (resp->kind == HTTP_BODY_OWNED)
        base_free(resp->data);
    if (resp->kind == HTTP_BODY_FILE && resp->fd >= 0)
        close(resp->fd);
    resp->data = NULL;
    resp->fd = -1;
    resp->kind = HTTP_BODY_NONE;
}

const char *http_response_body(const struct http_response *resp, size_t *len)
{
    const char *p = resp->kind == HTTP_BODY_OWNED    ? resp->data
                    : resp->kind == HTTP_BODY_STATIC ? resp->sdata
                                                     : NULL;
    if (len)
        *len = p ? resp->len : 0;
    return p;
}

const char *http_response_header_get(const struct http_response *resp, const char *name)
{
    for (const struct http_header *h = resp->headers; h; h = h->next)
        if (!strcasecmp(h->name, name))
            return h->value;
    return NULL;
}

const char *http_response_content_type(const struct http_response *resp)
{
    return resp->ctype;
}

/* ---- in-process requests --------------------------------------------------------------------- */

struct http_request *http_test_request_new(const char *method, const char *target,
                                           const char *const *headers, const char *body, size_t len,
                                           size_t max_body)
{
    static const char *const no_headers[] = {NULL};
    struct http_request *r = base_calloc(1, sizeof *r);
    r->arena = base_arena_new(8192);
    r->method = base_arena_strdup(r->arena, method);
    r->test_headers = headers ? headers : no_headers;
    r->spool_fd = -1;
    base_buf_init(&r->body, max_body);
    if (http_url_parse(target, r->arena, &r->path, &r->query, &r->nquery, 256, NULL)) {
        r->status = BASE_E_INVALID;
        r->path = "/";
    } else if (len > max_body) {
        r->status = BASE_E_TOOBIG;
    } else if (len) {
        base_buf_append(&r->body, body, len, NULL);
    }
    return r;
}

void http_test_request_free(struct http_request *r)
{
    if (!r)
        return;
    base_buf_release(&r->body);
    base_arena_free(r->arena);
    base_free(r);
}

struct http_response *http_test_response_new(struct http_request *r)
{
    struct http_response *resp = base_calloc(1, sizeof *resp);
    resp->arena = r->arena;
    resp->fd = -1;
    r->resp = resp; /* what a deferred handler of a test request fills */
    return resp;
}

void http_test_response_free(struct http_response *resp)
{
    if (!resp)
        return;
    http_response_release(resp);
    base_free(resp);
}

const char *http_test_header(const struct http_request *r, const char *name)
{
    for (const char *const *h = r->test_headers; h[0] && h[1]; h += 2)
        if (!strcasecmp(h[0], name))
            return h[1];
    return NULL;
}
