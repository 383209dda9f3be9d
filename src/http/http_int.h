/* Shared between the files of src/http: the server, request and response structs behind the
 * opaque types of http.h, and the limits and work pools the server applies to requests. */
#ifndef LL_HTTP_INT_H
#define LL_HTTP_INT_H

#include "http.h"

#include <stdatomic.h>

struct MHD_Connection;
struct MHD_Daemon;
struct http_pool;

struct http_server {
    struct MHD_Daemon *daemon;
    http_handler_fn fn;
    http_admit_fn admit;
    void *ctx;
    size_t max_body;
    int port;
    unsigned idle_timeout; /* seconds, once a request's headers are in */
    char *spool_dir;       /* NULL: bodies stay in memory */
    /* Bytes of request bodies held in memory now, all and untrusted, and their caps. */
    atomic_size_t inflight, inflight_untrusted;
    /* Set at shutdown: new connections are refused (instead of MHD_quiesce_daemon, whose
     * epoll removal races the pool threads' own and aborts in MHD 0.9.75). */
    atomic_int stopping;
    size_t max_inflight, max_inflight_untrusted;
    struct http_pool **pools;
    size_t npools;
};

/* Where a request is: headers being read, body being read (kept, spooled or drained), handler
 * deferred to a pool, or its answer ready to send once the connection resumes. */
enum http_phase { HTTP_PHASE_NEW, HTTP_PHASE_BODY, HTTP_PHASE_DEFERRED, HTTP_PHASE_READY };

struct http_request {
    struct base_arena *arena;
    struct MHD_Connection *conn; /* NULL for requests made by http_test_request_new */
    struct http_server *server;  /* NULL for test requests */
    const char *method;
    char *path;
    struct http_query_pair *query;
    size_t nquery;
    struct base_buf body;
    enum base_status status;
    enum http_phase phase;
    void *data; /* http_request_set_data */
    const char *peer;
    /* limits: bytes reserved against the in-flight caps, a spool file, an early answer whose
     * body is being drained (read and dropped) before it is sent */
    size_t reserved;
    int untrusted;
    int spool_fd;
    size_t spool_len;
    void *spool_map;
    struct http_response *early;
    size_t drained;
    /* a handler deferred to a pool: the function, its argument and the response it fills */
    http_deferred_fn deferred;
    void *deferred_arg;
    size_t deferred_pool;
    struct http_response *resp;
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

/* A response for `r`, allocated in its arena (with fd = -1). */
struct http_response *http_response_new(struct http_request *r);
/* Frees what the response still owns (a buffer or fd not handed to MHD). */
void http_response_release(struct http_response *resp);
const char *http_test_header(const struct http_request *r, const char *name);
/* Value of cookie `name` in a Cookie header ("a=1; b=2"), copied into `a`, or NULL. */
const char *http_cookie_get(struct base_arena *a, const char *header, const char *name);

/* ---- limits (http_limits.c) ----------------------------------------------------------------- */

/* An early answer waits for a body this short (read and dropped), so that clients that send
 * everything before reading get it; a longer one is refused at once and the connection closed. */
#define HTTP_DRAIN_MAX ((size_t)64 << 10)

/* Decides, when the headers are in, how the body of `r` is read: the admission callback may
 * answer at once (*early set: answer without the body), the declared length is checked against
 * the request's limit, and memory for it is reserved against the in-flight caps or a spool file
 * opened. Returns 0 to go on reading, or 1 when *early must be answered now (the body is not
 * read; a short one is drained first when `drain` comes back nonzero). */
int http_limits_admit(struct http_server *s, struct http_request *r, int *drain);
/* Takes one piece of body: kept in memory within the reservation, written to the spool file,
 * or dropped when draining. Over a limit the request's status becomes BASE_E_TOOBIG (or
 * BASE_E_BUSY when the in-flight cap is reached) and the rest of the body is dropped. */
void http_limits_body(struct http_server *s, struct http_request *r, const char *data, size_t n);
/* Maps a spooled body for the handler; BASE_E_IO status on failure. */
void http_limits_body_done(struct http_request *r);
/* Gives back the reservation and closes the spool of a finished request. */
void http_limits_release(struct http_request *r);

/* ---- work pools (http_pool.c) ------------------------------------------------------------------
 */

typedef void (*http_pool_job_fn)(void *arg);
/* Threads that run queued jobs; at most `queue` jobs are reserved, queued or running at once. */
struct http_pool *http_pool_new(const struct http_pool_config *cfg, struct base_err *err);
/* Refuses new places and waits until every reserved, queued or running job has finished. */
void http_pool_drain(struct http_pool *p);
/* Runs every job still queued, then stops the threads. Accepts NULL. */
void http_pool_free(struct http_pool *p);
/* Reserves a place for one job: 0, or -1 when the pool is full. */
int http_pool_reserve(struct http_pool *p);
/* Queues a job on a place reserved before. */
void http_pool_submit(struct http_pool *p, http_pool_job_fn fn, void *arg);

#endif
