/* The server proper: libmicrohttpd with an epoll thread pool. Each request is collected (raw
 * target, headers, body up to the limit) and handed to one handler function; the handler's
 * response is translated into an MHD response here, so nothing above this file sees MHD. */
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

struct http_server {
    struct MHD_Daemon *daemon;
    http_handler_fn fn;
    void *ctx;
    size_t max_body;
    int port;
};

/* MHD calls this with the raw request target before it decodes anything; its return value
 * becomes the connection's per-request pointer, so the request state starts here. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct http_server *s = cls;
    struct http_request *r = base_calloc(1, sizeof *r);
    r->arena = base_arena_new(8192);
    r->conn = conn;
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

static enum MHD_Result run_handler(struct http_server *s, struct http_request *r)
{
    struct http_response resp = {.fd = -1};
    resp.arena = r->arena;
    s->fn(s->ctx, r, &resp);
    enum MHD_Result rc = send_response(r->conn, &resp);
    http_response_release(&resp);
    return rc;
}

/* A body over the limit is read and thrown away, then answered with 413, because most clients
 * only read the response after sending the whole body. A declared length so large that reading
 * it would be a waste (4x the limit and 64 MiB) is refused at once, closing the connection. */
static int declared_too_big(struct http_request *r, size_t limit, int *absurd)
{
    const char *cl = http_request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;
    if (!cl || base_parse_i64(cl, &n))
        return 0;
    uint64_t waste = limit < ((uint64_t)64 << 20) / 4 ? (uint64_t)64 << 20 : (uint64_t)limit * 4;
    *absurd = n < 0 || (uint64_t)n > waste;
    return n < 0 || (uint64_t)n > limit;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)url, (void)version, (void)conn;
    struct http_server *s = cls;
    struct http_request *r = *con_cls;
    if (!r)
        return MHD_NO;
    if (!r->started) {
        r->started = 1;
        r->method = base_arena_strdup(r->arena, method);
        int absurd = 0;
        if (r->status == BASE_OK && declared_too_big(r, s->max_body, &absurd))
            r->status = BASE_E_TOOBIG;
        if (r->status == BASE_E_INVALID || absurd)
            return run_handler(s, r);
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->status == BASE_OK && base_buf_append(&r->body, upload, *upload_size, NULL)) {
            r->status = BASE_E_TOOBIG;
            base_buf_release(&r->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->status != BASE_OK)
        base_buf_release(&r->body);
    return run_handler(s, r);
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
    s->max_body = cfg->max_body;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : 4;
    unsigned timeout = cfg->timeout_s > 0 ? (unsigned)cfg->timeout_s : 60;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0, MHD_OPTION_CONNECTION_TIMEOUT,
        timeout, MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_CONN_MEMORY, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_END);
    if (!s->daemon) {
        base_free(s);
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

void http_server_free(struct http_server *s, double grace_s)
{
    if (!s)
        return;
    MHD_socket lsock = MHD_quiesce_daemon(s->daemon);
    double until = base_now() + grace_s;
    while (open_connections(s->daemon) > 0 && base_now() < until) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->daemon);
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock);
    base_free(s);
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
