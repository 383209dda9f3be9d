/* http: the HTTP server of labelloop. libmicrohttpd with a thread pool underneath; above it a
 * request with a bounded, fully buffered body and parsed query, a response that is a buffer, a
 * static blob or a file range, path patterns for routing, multipart bodies, byte ranges, and the
 * browser UI files embedded at build time. Knows nothing about the API it serves. */
#ifndef LL_HTTP_H
#define LL_HTTP_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

/* ---- server ---------------------------------------------------------------------------------- */

struct http_request;  /* one request, valid only during the handler call */
struct http_response; /* what the handler answers, filled through http_response_* */
struct http_server;

/* What the server does with a request whose headers are in, before it reads the body. */
struct http_admission {
    size_t max_body; /* this request's body limit; 0 = the server's max_body (never more) */
    int spool;       /* a body over 1 MiB goes to an unlinked file in spool_dir, not memory */
    int untrusted;   /* unauthenticated: its body counts against the smaller in-flight cap */
};

/* Called on a server thread once per request when its headers have arrived, before any body byte
 * is read (the body is empty then). Returns 0 with `adm` filled to go on, or fills `resp` and
 * returns 1: that answer is sent and the body is never read (a body of at most 64 KiB is read
 * and dropped first, so that clients which send everything before reading see the answer).
 * Whatever it leaves with http_request_set_data is there for the handler. Thread-safe. */
typedef int (*http_admit_fn)(void *ctx, struct http_request *req, struct http_response *resp,
                             struct http_admission *adm);

/* A work pool: handlers hand slow work (password hashing, image decoding) to one with
 * http_request_defer, so that it never blocks the server threads and their other connections. */
struct http_pool_config {
    int threads; /* >= 1 */
    int queue;   /* jobs queued or running at most; more are refused (the caller answers 503) */
    int nice;    /* niceness added to its threads, so that the server threads win the CPU */
};

struct http_server_config {
    const char *host; /* numeric address or name to bind; NULL = "127.0.0.1" */
    int port;         /* 0 = any free port (see http_server_port) */
    int threads;      /* worker threads; 0 = 4 */
    size_t max_body;  /* request bodies longer than this are not read (handler sees TOOBIG) */
    int timeout_s;    /* idle connection timeout once a request's headers are in; 0 = 60 */
    /* Limits against clients that do not play fair (all optional: zero means the default). */
    http_admit_fn admit;           /* NULL: every request is admitted with max_body */
    size_t max_inflight;           /* bytes of bodies held in memory at once; 0 = 256 MiB */
    size_t max_inflight_untrusted; /* ... untrusted ones over 64 KiB; 0 = 16 MiB */
    const char *spool_dir;         /* for http_admission.spool; NULL: bodies stay in memory */
    int max_conns_per_ip;          /* open connections per client address; 0 = no cap */
    int header_timeout_s;          /* idle limit until a request's headers are in; 0 = 10 */
    const struct http_pool_config *pools; /* work pools, by index, for http_request_defer */
    size_t npools;
};

/* Called once per request on a server thread, after the whole body arrived (or at once when the
 * body is over the limit: http_request_status() is then BASE_E_TOOBIG and the body is empty; or
 * BASE_E_BUSY when the in-flight cap was reached). It must fill `resp` or defer to a pool
 * (http_request_defer); a response left untouched is sent as "500". Must be thread-safe. */
typedef void (*http_handler_fn)(void *ctx, struct http_request *req, struct http_response *resp);

/* Binds and starts serving. Errors: BASE_E_IO (cannot bind, cannot start a pool),
 * BASE_E_INVALID (bad host). */
struct http_server *http_server_new(const struct http_server_config *cfg, http_handler_fn fn,
                                    void *ctx, struct base_err *err);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *s);
/* Stops accepting, lets requests being handled finish (waiting up to `grace_s` for open
 * connections to drain; deferred work always finishes), stops the threads and frees s. Accepts
 * NULL. */
void http_server_free(struct http_server *s, double grace_s);

/* ---- request --------------------------------------------------------------------------------- */

const char *http_request_method(const struct http_request *r);
/* Percent-decoded path without the query, e.g. "/api/tasks/3". Never contains NUL bytes: a path
 * with %00 is refused (status BASE_E_INVALID) before the handler sees it. */
const char *http_request_path(const struct http_request *r);
/* First value of a query parameter (decoded, '+' as space) or NULL. */
const char *http_request_query(const struct http_request *r, const char *name);
/* The i-th value of a repeated query parameter (ids=1&ids=2) or NULL past the end. */
const char *http_request_query_nth(const struct http_request *r, const char *name, size_t i);
/* Header value (case-insensitive name) or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);
/* Cookie value or NULL. */
const char *http_request_cookie(const struct http_request *r, const char *name);
/* The whole body (NUL-terminated for convenience; may contain NULs). */
const char *http_request_body(const struct http_request *r, size_t *len);
/* BASE_OK, BASE_E_TOOBIG (body over the limit), BASE_E_BUSY (the server holds too many bodies
 * in memory), BASE_E_IO (a spooled body could not be kept) or BASE_E_INVALID (undecodable URL). */
enum base_status http_request_status(const struct http_request *r);
/* Per-request arena, freed when the response is done: for the handler's scratch memory. */
struct base_arena *http_request_arena(struct http_request *r);
/* The client's address as text ("127.0.0.1", "::1"; "" when unknown), in the request arena. */
const char *http_request_peer(struct http_request *r);
/* A pointer left by the admission callback for the handler (NULL when none). */
void http_request_set_data(struct http_request *r, void *data);
void *http_request_data(const struct http_request *r);

/* Fills the response later, on a pool thread. */
typedef void (*http_deferred_fn)(void *arg, struct http_request *req, struct http_response *resp);
/* From a handler: runs fn(arg, req, resp) on work pool `pool` (an index into the server's
 * pools) after the handler returns; the handler must then leave its response alone. The request
 * and its arena stay valid until fn has answered. Returns 0, or -1 when the pool is full or does
 * not exist (the handler answers 503 itself). In-process test requests run fn at once. */
int http_request_defer(struct http_request *r, size_t pool, http_deferred_fn fn, void *arg);

/* ---- response -------------------------------------------------------------------------------- */

/* Adds a header (copied). Multiple Set-Cookie headers are allowed. */
void http_response_header(struct http_response *resp, const char *name, const char *value);
/* Body from a base_alloc'd buffer, owned by the response from now on. */
void http_response_take(struct http_response *resp, int status, const char *content_type,
                        char *data, size_t len);
/* Body copied from `data`. */
void http_response_copy(struct http_response *resp, int status, const char *content_type,
                        const void *data, size_t len);
/* Body that lives as long as the program (embedded files): not copied. */
void http_response_static(struct http_response *resp, int status, const char *content_type,
                          const void *data, size_t len);
/* Body = `len` bytes of open file `fd` from `offset`; the response owns and closes fd. */
void http_response_file(struct http_response *resp, int status, const char *content_type, int fd,
                        uint64_t offset, uint64_t len);
/* Status already set by one of the above, or 0. */
int http_response_code(const struct http_response *resp);

/* ---- URLs, routing ----------------------------------------------------------------------------
 */

/* Splits a raw request target "/a%20b/c?x=1&y" into a decoded path and query pairs. The path
 * must start with '/', and may not decode to a NUL byte. Query names and values are decoded
 * ('+' is a space); a name without '=' has the value "". At most `max_pairs` pairs are kept
 * (more is BASE_E_INVALID). Strings are allocated in `a`. Errors: BASE_E_INVALID. */
struct http_query_pair {
    const char *name;
    const char *value;
};
int http_url_parse(const char *target, struct base_arena *a, char **path,
                   struct http_query_pair **pairs, size_t *npairs, size_t max_pairs,
                   struct base_err *err);

#define HTTP_ROUTE_MAX_IDS 4

/* What a path pattern captured: integer segments in order, and the rest of the path. */
struct http_route_match {
    int64_t ids[HTTP_ROUTE_MAX_IDS];
    size_t nids;
    const char *tail; /* "{*}" capture, points into the path; NULL without one */
};

/* Matches `path` against `pattern`: literal segments, "{id}" (any name) = a decimal integer
 * 1..2^63-1 without leading zeros or sign, and a final "{*}" = one or more remaining segments.
 * One trailing slash on the path is ignored ("/api/tasks/" matches "/api/tasks"). Returns 1 on a
 * match (filling m), 0 otherwise. Pure; thread-safe. */
int http_route_match(const char *pattern, const char *path, struct http_route_match *m);

/* ---- multipart/form-data ----------------------------------------------------------------------
 */

struct http_part {
    const char *name;         /* form field name ("" if absent) */
    const char *filename;     /* NULL for plain fields */
    const char *content_type; /* NULL if absent */
    const char *data;         /* points into the body */
    size_t len;
};

/* Parses a multipart/form-data body given the request's Content-Type (which carries the
 * boundary). Parts point into `body`, which must outlive them; the part array is allocated in
 * `a`. At most `max_parts` parts. Errors: BASE_E_INVALID with what is wrong (no boundary,
 * missing closing delimiter, bad part header), BASE_E_TOOBIG over max_parts. */
int http_multipart_parse(const char *content_type, const char *body, size_t len,
                         struct base_arena *a, struct http_part **parts, size_t *nparts,
                         size_t max_parts, struct base_err *err);

/* ---- byte ranges ------------------------------------------------------------------------------
 */

/* Parses a Range header ("bytes=0-99", "bytes=100-", "bytes=-100"; one range only) against a
 * file of `size` bytes. Returns 1 with [*start, *start + *len) when satisfiable, 0 when the
 * header should be ignored (absent, other unit, several ranges, syntax error: serve the whole
 * file), -1 when unsatisfiable (answer 416). */
int http_range_parse(const char *header, uint64_t size, uint64_t *start, uint64_t *len);

/* ---- content types, static files --------------------------------------------------------------
 */

/* Content type from a file name's extension ("a.jpg" -> "image/jpeg"), or
 * "application/octet-stream". */
const char *http_content_type(const char *filename);

/* A file of the browser UI, embedded into the binary at build time from web/dist. */
struct http_asset {
    const char *path; /* "/index.html", "/assets/index-3f2a1b.js" */
    const unsigned char *data;
    size_t len;
};

/* The asset at `path` ("/" means "/index.html"), or NULL. */
const struct http_asset *http_asset_find(const char *path);
/* 1 when the UI was built (web/dist existed at build time), 0 for the placeholder page. */
int http_assets_built(void);
/* Cache-Control value: long-lived and immutable for content-hashed files under /assets/,
 * "no-cache" for the rest (index.html must be revalidated to pick up a new build). */
const char *http_asset_cache_control(const char *path);

/* ---- in-process requests, for unit tests of handlers --------------------------------------------
 */

/* A request built as the server would build it (target parsed, body copied, same limits) but
 * without a socket. `headers` is a NULL-terminated array of name, value pairs that must outlive
 * the request ("Cookie" is parsed for http_request_cookie). */
struct http_request *http_test_request_new(const char *method, const char *target,
                                           const char *const *headers, const char *body, size_t len,
                                           size_t max_body);
void http_test_request_free(struct http_request *r);
/* An empty response for `r` (shares its arena; free before the request). */
struct http_response *http_test_response_new(struct http_request *r);
void http_test_response_free(struct http_response *resp);
/* The body of a buffer or static response (NULL for files), and a header's value or NULL. */
const char *http_response_body(const struct http_response *resp, size_t *len);
const char *http_response_header_get(const struct http_response *resp, const char *name);
const char *http_response_content_type(const struct http_response *resp);

#endif
