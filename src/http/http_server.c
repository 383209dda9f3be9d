/* The server proper: libmicrohttpd with an epoll thread pool. Each request is collected (raw
 * target, headers, body up to the limit) and handed to one handler function; the handler's
 * response is translated into an MHD response here, so nothing above this file sees MHD. A
 * handler may defer to a work pool: the connection is suspended until the pool has answered. */
#include "http.h"
#include "http_int.h"

#include <microhttpd.h>

#include <netdb.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_MAX_QUERY_PAIRS 256
/* Per-connection buffer for headers and reads. MHD zeroes it before every request, so its size
 * is a cost per request (64 KiB was 8% of a GET); 32 KiB still holds the header block of a
 * browser carrying many localhost cookies. Larger headers get 431. */
#define HTTP_CONN_MEMORY (32 * 1024)

/* MHD calls this with the raw request target before it decodes anything; its return value
 * becomes the connection's per-request pointer, so the request state starts here. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_server *s = cls;
    struct http_request *r = base_calloc(1, sizeof *r);
    r->arena = base_arena_new(8192);
    r->conn = conn;
    r->server = s;
    r->spool_fd = -1;
    base_buf_init(&r->body, s->max_body);
    struct base_err err = {0};
    if (http_url_parse(uri, r->arena, &r->path, &r->query, &r->nquery, HTTP_MAX_QUERY_PAIRS,
                       &err)) {
        r->status = BASE_E_INVALID;
        r->path = "/";
    }
    return r;
}

static void request_free(struct http_request *r)
{
    if (!r)
        return;
    if (r->early)
        http_response_release(r->early);
    if (r->resp)
        http_response_release(r->resp);
    http_limits_release(r);
    base_buf_release(&r->body);
    base_arena_free(r->arena);
    base_free(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    request_free(*con_cls);
    *con_cls = NULL;
}

static void free_owned(void *p)
{
    base_free(p);
}

static struct MHD_Response *make_mhd_response(struct http_response *resp)
{
    switch (resp->kind) {
    case HTTP_BODY_OWNED: {
        struct MHD_Response *m =
            MHD_create_response_from_buffer_with_free_callback(resp->len, resp->data, free_owned);
        if (m)
            resp->data = NULL;
        return m;
    }
    case HTTP_BODY_STATIC:
        return MHD_create_response_from_buffer(resp->len, (void *)resp->sdata,
                                               MHD_RESPMEM_PERSISTENT);
    case HTTP_BODY_FILE: {
        struct MHD_Response *m =
            MHD_create_response_from_fd_at_offset64(resp->flen, resp->fd, resp->off);
        if (m)
            resp->fd = -1;
        return m;
    }
    case HTTP_BODY_NONE:
        break;
    }
    return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct http_response *resp)
{
    if (!resp->status) {
        static const char msg[] = "{\"status_code\": 500, \"detail\": \"no response\"}";
        http_response_static(resp, 500, "application/json", msg, sizeof msg - 1);
    }
    struct MHD_Response *m = make_mhd_response(resp);
    if (!m)
        return MHD_NO;
    if (resp->ctype)
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, resp->ctype);
    for (struct http_header *h = resp->headers; h; h = h->next)
        MHD_add_response_header(m, h->name, h->value);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)resp->status, m);
    MHD_destroy_response(m);
    return rc;
}

static void run_deferred(void *arg)
{
    struct http_request *r = arg;
    r->deferred(r->deferred_arg, r, r->resp);
    r->phase = HTTP_PHASE_READY;
    MHD_resume_connection(r->conn);
}

/* Runs the handler; a handler that deferred to a pool is answered when the connection resumes
 * (suspended first, so that the pool cannot resume it before). */
static enum MHD_Result run_handler(struct http_server *s, struct http_request *r)
{
    r->resp = http_response_new(r);
    s->fn(s->ctx, r, r->resp);
    if (r->deferred) {
        r->phase = HTTP_PHASE_DEFERRED;
        MHD_suspend_connection(r->conn);
        http_pool_submit(s->pools[r->deferred_pool], run_deferred, r);
        return MHD_YES;
    }
    return send_response(r->conn, r->resp);
}

static enum MHD_Result answer(struct http_server *s, struct http_request *r)
{
    return r->early ? send_response(r->conn, r->early) : run_handler(s, r);
}

/* Headers are in: the connection gets the longer idle timeout of a request under way, and the
 * limits decide how (and whether) the body is read. */
static enum MHD_Result on_headers(struct http_server *s, struct MHD_Connection *conn,
                                  struct http_request *r, const char *method)
{
    r->phase = HTTP_PHASE_BODY;
    r->method = base_arena_strdup(r->arena, method);
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, s->idle_timeout);
    if (r->status == BASE_E_INVALID)
        return run_handler(s, r);
    int drain;
    if (http_limits_admit(s, r, &drain) && !drain)
        return answer(s, r);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)url, (void)version;
    struct http_server *s = cls;
    struct http_request *r = *con_cls;
    if (!r)
        return MHD_NO;
    if (r->phase == HTTP_PHASE_NEW)
        return on_headers(s, conn, r, method);
    if (r->phase == HTTP_PHASE_READY)
        return send_response(conn, r->resp);
    if (*upload_size) {
        http_limits_body(s, r, upload, *upload_size);
        *upload_size = 0;
        return r->early && r->drained > HTTP_DRAIN_MAX ? answer(s, r) : MHD_YES;
    }
    http_limits_body_done(r);
    return answer(s, r);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    BASE_DEBUG("http: %s", msg);
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss, struct base_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc || !res)
        return base_err_set(err, BASE_E_INVALID, "cannot resolve host '%s': %s", host,
                            gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static void free_pools(struct http_server *s)
{
    for (size_t i = 0; i < s->npools; i++)
        http_pool_free(s->pools[i]);
    base_free(s->pools);
    s->pools = NULL;
    s->npools = 0;
}

static void server_release(struct http_server *s)
{
    free_pools(s);
    base_free(s->spool_dir);
    base_free(s);
}

/* The limits of cfg, with their defaults; pools started and the spool folder made. */
static int server_limits(struct http_server *s, const struct http_server_config *cfg,
                         struct base_err *err)
{
    s->max_body = cfg->max_body;
    s->idle_timeout = cfg->timeout_s > 0 ? (unsigned)cfg->timeout_s : 60;
    s->admit = cfg->admit;
    s->max_inflight = cfg->max_inflight ? cfg->max_inflight : (size_t)256 << 20;
    s->max_inflight_untrusted =
        cfg->max_inflight_untrusted ? cfg->max_inflight_untrusted : (size_t)16 << 20;
    atomic_init(&s->inflight, 0);
    atomic_init(&s->inflight_untrusted, 0);
    if (cfg->spool_dir) {
        s->spool_dir = base_strdup(cfg->spool_dir);
        if (base_mkdirs(s->spool_dir, err))
            return -1;
    }
    s->pools = base_calloc(cfg->npools ? cfg->npools : 1, sizeof *s->pools);
    for (; s->npools < cfg->npools; s->npools++)
        if (!(s->pools[s->npools] = http_pool_new(&cfg->pools[s->npools], err)))
            return -1;
    return 0;
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)addr;
    (void)len;
    const struct http_server *s = cls;
    return atomic_load(&s->stopping) ? MHD_NO : MHD_YES;
}

static struct MHD_Daemon *start_daemon(struct http_server *s, const struct http_server_config *cfg,
                                       const struct sockaddr_storage *ss)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : 4;
    unsigned header_timeout = cfg->header_timeout_s > 0 ? (unsigned)cfg->header_timeout_s : 10;
    unsigned per_ip = cfg->max_conns_per_ip > 0 ? (unsigned)cfg->max_conns_per_ip : 0;
    return MHD_start_daemon(
        flags, 0, on_accept, s, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0, MHD_OPTION_CONNECTION_TIMEOUT,
        header_timeout, MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        per_ip, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss, MHD_OPTION_END);
}

struct http_server *http_server_new(const struct http_server_config *cfg, http_handler_fn fn,
                                    void *ctx, struct base_err *err)
{
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    if (cfg->port < 0 || cfg->port > 65535) {
        base_err_set(err, BASE_E_INVALID, "port %d out of range", cfg->port);
        return NULL;
    }
    struct sockaddr_storage ss;
    if (resolve(host, cfg->port, &ss, err))
        return NULL;
    struct http_server *s = base_calloc(1, sizeof *s);
    s->fn = fn;
    s->ctx = ctx;
    if (server_limits(s, cfg, err)) {
        server_release(s);
        return NULL;
    }
    s->daemon = start_daemon(s, cfg, &ss);
    if (!s->daemon) {
        server_release(s);
        base_err_set(err, BASE_E_IO, "cannot listen on %s:%d (port in use?)", host, cfg->port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : cfg->port;
    return s;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

static unsigned open_connections(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

/* Deferred work finishes before the daemon stops (MHD must not stop with connections suspended),
 * and the pools stay until then: a request still arriving is refused a place, not handed a freed
 * pool. */
void http_server_free(struct http_server *s, double grace_s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    double until = base_now() + grace_s;
    while (open_connections(s->daemon) > 0 && base_now() < until) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < s->npools; i++)
        http_pool_drain(s->pools[i]);
    MHD_stop_daemon(s->daemon);
    server_release(s);
}

/* ---- request accessors ----------------------------------------------------------------------- */

const char *http_request_method(const struct http_request *r)
{
    return r->method ? r->method : "GET";
}

const char *http_request_path(const struct http_request *r)
{
    return r->path;
}

const char *http_request_query_nth(const struct http_request *r, const char *name, size_t i)
{
    for (size_t k = 0; k < r->nquery; k++)
        if (!strcmp(r->query[k].name, name) && i-- == 0)
            return r->query[k].value;
    return NULL;
}

const char *http_request_query(const struct http_request *r, const char *name)
{
    return http_request_query_nth(r, name, 0);
}

const char *http_request_header(const struct http_request *r, const char *name)
{
    if (r->test_headers)
        return http_test_header(r, name);
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_request_cookie(const struct http_request *r, const char *name)
{
    const char *header = http_request_header(r, "Cookie");
    return header ? http_cookie_get(r->arena, header, name) : NULL;
}

const char *http_request_body(const struct http_request *r, size_t *len)
{
    if (r->spool_map) {
        if (len)
            *len = r->spool_len;
        return r->spool_map;
    }
    if (len)
        *len = r->body.len;
    return r->body.data ? r->body.data : "";
}

enum base_status http_request_status(const struct http_request *r)
{
    return r->status;
}

struct base_arena *http_request_arena(struct http_request *r)
{
    return r->arena;
}

const char *http_request_peer(struct http_request *r)
{
    if (r->peer)
        return r->peer;
    const union MHD_ConnectionInfo *info =
        r->conn ? MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    char host[NI_MAXHOST] = "";
    const struct sockaddr *sa = info ? info->client_addr : NULL;
    socklen_t len = !sa                         ? 0
                    : sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                : sizeof(struct sockaddr_in);
    if (sa && getnameinfo(sa, len, host, sizeof host, NULL, 0, NI_NUMERICHOST))
        host[0] = '\0';
    r->peer = base_arena_strdup(r->arena, r->conn ? host : "127.0.0.1");
    return r->peer;
}

void http_request_set_data(struct http_request *r, void *data)
{
    r->data = data;
}

void *http_request_data(const struct http_request *r)
{
    return r->data;
}

int http_request_defer(struct http_request *r, size_t pool, http_deferred_fn fn, void *arg)
{
    struct http_server *s = r->server;
    if (!r->conn) { /* in-process test request: no threads to hand over to */
        fn(arg, r, r->resp);
        return 0;
    }
    if (r->deferred || pool >= s->npools || http_pool_reserve(s->pools[pool]))
        return -1;
    r->deferred = fn;
    r->deferred_arg = arg;
    r->deferred_pool = pool;
    return 0;
}
