/* Request limits, applied from the moment the headers are in: the admission callback can answer
 * before a single body byte is read (a wrong token never costs memory), each request gets its
 * own body limit, bodies held in memory count against a global cap (and a smaller one for
 * unauthenticated requests), and large uploads go to an unlinked spool file instead of memory. */
#include "http_int.h"

#include <microhttpd.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

/* Spooling routes keep bodies up to this size in memory. */
#define HTTP_SPOOL_MIN ((size_t)1 << 20)

/* Content-Length: 1 with *n when declared, 0 when absent (chunked or no body), -1 malformed. */
static int declared_length(struct http_request *r, uint64_t *n)
{
    const char *cl = http_request_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t v;
    *n = 0;
    if (!cl)
        return 0;
    if (base_parse_i64(cl, &v) || v < 0)
        return -1;
    *n = (uint64_t)v;
    return 1;
}

static int chunked(struct http_request *r)
{
    const char *te = http_request_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return te && strcasestr(te, "chunked") != NULL;
}

static int reserve(struct http_server *s, struct http_request *r, size_t n)
{
    size_t all = atomic_fetch_add(&s->inflight, n) + n;
    size_t mine = r->untrusted ? atomic_fetch_add(&s->inflight_untrusted, n) + n : 0;
    if (all > s->max_inflight || mine > s->max_inflight_untrusted) {
        atomic_fetch_sub(&s->inflight, n);
        if (r->untrusted)
            atomic_fetch_sub(&s->inflight_untrusted, n);
        return -1;
    }
    r->reserved += n;
    return 0;
}

static int spool_open(const char *dir)
{
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
#endif
    char *tmpl = base_path_join(dir, ".spool-XXXXXX");
    int tfd = mkostemp(tmpl, O_CLOEXEC);
    if (tfd >= 0)
        unlink(tmpl);
    base_free(tmpl);
    return tfd;
}

/* The body's fate once the request is admitted: too big (refused now when reading it would be a
 * waste: over 4x the limit and 64 MiB), spooled, or reserved in memory (refused now when the
 * in-flight cap is reached). Returns 1 to answer now. */
static int plan_body(struct http_server *s, struct http_request *r,
                     const struct http_admission *adm)
{
    uint64_t n;
    int known = declared_length(r, &n);
    size_t limit = r->body.limit;
    uint64_t waste = limit < ((uint64_t)64 << 20) / 4 ? (uint64_t)64 << 20 : (uint64_t)limit * 4;
    if (known < 0 || (known && n > limit)) {
        r->status = BASE_E_TOOBIG;
        return known < 0 || n > waste;
    }
    if (adm->spool && s->spool_dir && (n > HTTP_SPOOL_MIN || (!known && chunked(r)))) {
        r->spool_fd = spool_open(s->spool_dir);
        if (r->spool_fd < 0) {
            BASE_ERROR("http: cannot open a spool file in %s: %s", s->spool_dir, strerror(errno));
            r->status = BASE_E_IO;
            return 1;
        }
        return 0;
    }
    if (known && n <= HTTP_DRAIN_MAX)
        r->untrusted = 0; /* small bodies (a login) count only against the global cap, so that
                             connections holding large ones cannot shut everybody out */
    if (known && n && reserve(s, r, (size_t)n)) {
        r->status = BASE_E_BUSY;
        return 1;
    }
    return 0;
}

int http_limits_admit(struct http_server *s, struct http_request *r, int *drain)
{
    struct http_admission adm = {0};
    *drain = 0;
    if (s->admit) {
        struct http_response *resp = http_response_new(r);
        if (s->admit(s->ctx, r, resp, &adm)) {
            uint64_t n;
            int known = declared_length(r, &n);
            r->early = resp;
            *drain = (known > 0 && n > 0 && n <= HTTP_DRAIN_MAX) || (!known && chunked(r));
            return 1;
        }
    }
    size_t limit = adm.max_body && adm.max_body < s->max_body ? adm.max_body : s->max_body;
    base_buf_init(&r->body, limit);
    r->untrusted = adm.untrusted;
    return plan_body(s, r, &adm);
}

static void spool_write(struct http_request *r, const char *data, size_t n)
{
    if (r->spool_len + n > r->body.limit) {
        r->status = BASE_E_TOOBIG;
        return;
    }
    for (size_t done = 0; done < n;) {
        ssize_t k = write(r->spool_fd, data + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            BASE_ERROR("http: cannot write a spool file: %s", strerror(errno));
            r->status = BASE_E_IO;
            return;
        }
        done += (size_t)k;
    }
    r->spool_len += n;
}

void http_limits_body(struct http_server *s, struct http_request *r, const char *data, size_t n)
{
    if (r->early || r->status != BASE_OK) {
        r->drained += n;
        return;
    }
    if (r->spool_fd >= 0) {
        spool_write(r, data, n);
        return;
    }
    size_t need = r->body.len + n > r->reserved ? r->body.len + n - r->reserved : 0;
    if (r->body.len + n > r->body.limit)
        r->status = BASE_E_TOOBIG;
    else if (need && reserve(s, r, need))
        r->status = BASE_E_BUSY;
    else if (base_buf_append(&r->body, data, n, NULL))
        r->status = BASE_E_TOOBIG;
    if (r->status != BASE_OK)
        base_buf_release(&r->body);
}

void http_limits_body_done(struct http_request *r)
{
    if (r->status != BASE_OK) {
        base_buf_release(&r->body);
        return;
    }
    if (r->spool_fd < 0)
        return;
    /* One NUL past the end, as in-memory bodies have; the handler never reads past it. */
    void *map = MAP_FAILED;
    if (pwrite(r->spool_fd, "", 1, (off_t)r->spool_len) == 1)
        map = mmap(NULL, r->spool_len + 1, PROT_READ, MAP_PRIVATE, r->spool_fd, 0);
    if (map == MAP_FAILED) {
        BASE_ERROR("http: cannot map a spooled body: %s", strerror(errno));
        r->status = BASE_E_IO;
        return;
    }
    madvise(map, r->spool_len + 1, MADV_SEQUENTIAL);
    r->spool_map = map;
}

void http_limits_release(struct http_request *r)
{
    if (r->spool_map)
        munmap(r->spool_map, r->spool_len + 1);
    if (r->spool_fd >= 0)
        close(r->spool_fd);
    r->spool_map = NULL;
    r->spool_fd = -1;
    struct http_server *s = r->server;
    if (s && r->reserved) {
        atomic_fetch_sub(&s->inflight, r->reserved);
        if (r->untrusted)
            atomic_fetch_sub(&s->inflight_untrusted, r->reserved);
    }
    r->reserved = 0;
}
