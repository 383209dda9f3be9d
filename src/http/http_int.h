/* Shared between the files of src/http: the request and response structs behind the opaque
 * types of http.h. */
#ifndef LL_HTTP_INT_H
#define LL_HTTP_INT_H

#include "http.h"

struct MHD_Connection;

struct http_request {
    struct base_arena *arena;
    struct MHD_Connection *conn; /* NULL for requests made by http_test_request_new */
    const char *method;
    char *path;
    struct http_query_pair *query;
    size_t nquery;
    struct base_buf body;
    enum base_status status;
    int started;
    /* test requests: headers as name, value pairs */
    const char *const *test_headers;
};

enum http_body_kind { HTTP_BODY_NONE, HTTP_BODY_OWNED, HTTP_BODY_STATIC, HTTP_BODY_FILE };

struct http_header {
    struct http_header *next;
    const char *name;
    const char *value;
};

struct http_response {
    struct base_arena *arena; /* the request's: headers live there */
    int status;
    const char *ctype;
    enum http_body_kind kind;
    char *data;        /* HTTP_BODY_OWNED */
    const void *sdata; /* HTTP_BODY_STATIC */
    size_t len;
    int fd; /* HTTP_BODY_FILE */
    uint64_t off, flen;
    struct http_header *headers;
};

/* Frees what the response still owns (a buffer or fd not handed to MHD). */
void http_response_release(struct http_response *resp);
const char *http_test_header(const struct http_request *r, const char *name);
/* Value of cookie `name` in a Cookie header ("a=1; b=2"), copied into `a`, or NULL. */
const char *http_cookie_get(struct base_arena *a, const char *header, const char *name);

#endif
