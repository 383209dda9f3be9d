/* Unit tests of src/http: URL decoding, route patterns, multipart bodies, byte ranges, cookies,
 * content types, and a real server on a loopback port (body limit, keep-alive, shutdown; answers
 * before the body, per-request limits, in-flight cap, spooling and work pools). */
#include "http/http.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_url_parse(void)
{
    struct base_arena *a = base_arena_new(4096);
    char *path;
    struct http_query_pair *q;
    size_t n;
    CHECK_EQ_INT(
        http_url_parse("/a%20b/c+d?x=1&y=a+b%26c&flag&x=2#frag", a, &path, &q, &n, 16, NULL), 0);
    CHECK_EQ_STR(path, "/a b/c+d");
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_STR(q[0].name, "x");
    CHECK_EQ_STR(q[0].value, "1");
    CHECK_EQ_STR(q[1].value, "a b&c");
    CHECK_EQ_STR(q[2].name, "flag");
    CHECK_EQ_STR(q[2].value, "");
    CHECK_EQ_STR(q[3].value, "2");
    struct base_err err = {0};
    CHECK_EQ_INT(http_url_parse("/a%00b", a, &path, &q, &n, 16, &err), -1);
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    CHECK_EQ_INT(http_url_parse("/a%2", a, &path, &q, &n, 16, NULL), -1);
    CHECK_EQ_INT(http_url_parse("/a%zz", a, &path, &q, &n, 16, NULL), -1);
    CHECK_EQ_INT(http_url_parse("/a?b=%", a, &path, &q, &n, 16, NULL), -1);
    CHECK_EQ_INT(http_url_parse("relative", a, &path, &q, &n, 16, NULL), -1);
    CHECK_EQ_INT(http_url_parse("/x?a&b&c", a, &path, &q, &n, 2, NULL), -1);
    CHECK_EQ_INT(http_url_parse("/x?&&a=1&", a, &path, &q, &n, 8, NULL), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(http_url_parse("/%2e%2e/%2F", a, &path, &q, &n, 8, NULL), 0);
    CHECK_EQ_STR(path, "/..//");
    base_arena_free(a);
}

static void test_route_match(void)
{
    struct http_route_match m;
    CHECK(http_route_match("/api/projects", "/api/projects", &m));
    CHECK(http_route_match("/api/projects", "/api/projects/", &m));
    CHECK(!http_route_match("/api/projects", "/api/projects//", &m));
    CHECK(!http_route_match("/api/projects", "/api/project", &m));
    CHECK(!http_route_match("/api/projects", "/api/projectsx", &m));
    CHECK(http_route_match("/api/projects/{id}/import", "/api/projects/42/import/", &m));
    CHECK_EQ_INT(m.nids, 1);
    CHECK_EQ_INT(m.ids[0], 42);
    CHECK(!http_route_match("/api/projects/{id}", "/api/projects/042", &m));
    CHECK(!http_route_match("/api/projects/{id}", "/api/projects/0", &m));
    CHECK(!http_route_match("/api/projects/{id}", "/api/projects/-1", &m));
    CHECK(!http_route_match("/api/projects/{id}", "/api/projects/1x", &m));
    CHECK(!http_route_match("/api/projects/{id}", "/api/projects/99999999999999999999", &m));
    CHECK(http_route_match("/api/projects/{id}", "/api/projects/9223372036854775807", &m));
    CHECK(!http_route_match("/api/projects/{id}", "/api/projects/9223372036854775808", &m));
    CHECK(http_route_match("/a/{x}/b/{y}", "/a/1/b/2", &m));
    CHECK_EQ_INT(m.ids[1], 2);
    CHECK(http_route_match("/data/upload/{*}", "/data/upload/3/x.jpg", &m));
    CHECK_EQ_STR(m.tail, "3/x.jpg");
    CHECK(!http_route_match("/data/upload/{*}", "/data/upload/", &m));
    CHECK(!http_route_match("/data/upload/{*}", "/data/upload//x", &m));
    CHECK(http_route_match("/", "/", &m));
    CHECK(!http_route_match("/", "/x", &m));
}

static const char MP_BODY[] =
    "preamble\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "hello\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".jpg\"\r\n"
    "Content-Type: image/jpeg\r\n"
    "\r\n"
    "\xff\xd8\xff\r\n--Xy\r\n"
    "--XyZ--\r\n"
    "epilogue";

static void test_multipart(void)
{
    struct base_arena *a = base_arena_new(4096);
    struct http_part *p;
    size_t n;
    struct base_err err = {0};
    CHECK_EQ_INT(http_multipart_parse("multipart/form-data; boundary=XyZ", MP_BODY,
                                      sizeof MP_BODY - 1, a, &p, &n, 8, &err),
                 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(p[0].name, "title");
    CHECK(p[0].filename == NULL);
    CHECK_EQ_INT(p[0].len, 5);
    CHECK_EQ_STR(p[1].filename, "a \"b\".jpg");
    CHECK_EQ_STR(p[1].content_type, "image/jpeg");
    CHECK_EQ_INT(p[1].len, 9);
    CHECK(!memcmp(p[1].data, "\xff\xd8\xff\r\n--Xy", 9));
    CHECK_EQ_INT(http_multipart_parse("multipart/form-data; boundary=\"XyZ\"", MP_BODY,
                                      sizeof MP_BODY - 1, a, &p, &n, 8, NULL),
                 0);
    CHECK_EQ_INT(http_multipart_parse("multipart/form-data", MP_BODY, sizeof MP_BODY - 1, a, &p, &n,
                                      8, NULL),
                 -1);
    CHECK_EQ_INT(http_multipart_parse("text/plain; boundary=XyZ", MP_BODY, sizeof MP_BODY - 1, a,
                                      &p, &n, 8, NULL),
                 -1);
    CHECK_EQ_INT(
        http_multipart_parse("multipart/form-data; boundary=XyZ", MP_BODY, 120, a, &p, &n, 8, NULL),
        -1);
    CHECK_EQ_INT(http_multipart_parse("multipart/form-data; boundary=XyZ", MP_BODY,
                                      sizeof MP_BODY - 1, a, &p, &n, 1, &err),
                 -1);
    CHECK_EQ_INT(err.status, BASE_E_TOOBIG);
    const char nohdr[] = "--b\r\n\r\ndata\r\n--b--";
    CHECK_EQ_INT(http_multipart_parse("multipart/form-data; boundary=b", nohdr, sizeof nohdr - 1, a,
                                      &p, &n, 8, NULL),
                 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(p[0].len, 4);
    const char badhdr[] = "--b\r\nno colon here\r\n\r\ndata\r\n--b--";
    CHECK_EQ_INT(http_multipart_parse("multipart/form-data; boundary=b", badhdr, sizeof badhdr - 1,
                                      a, &p, &n, 8, NULL),
                 -1);
    base_arena_free(a);
}

static void test_range(void)
{
    uint64_t s, l;
    CHECK_EQ_INT(http_range_parse("bytes=0-99", 1000, &s, &l), 1);
    CHECK_EQ_INT(s, 0);
    CHECK_EQ_INT(l, 100);
    CHECK_EQ_INT(http_range_parse("bytes=900-", 1000, &s, &l), 1);
    CHECK_EQ_INT(l, 100);
    CHECK_EQ_INT(http_range_parse("bytes=-10", 1000, &s, &l), 1);
    CHECK_EQ_INT(s, 990);
    CHECK_EQ_INT(http_range_parse("bytes=-5000", 1000, &s, &l), 1);
    CHECK_EQ_INT(s, 0);
    CHECK_EQ_INT(l, 1000);
    CHECK_EQ_INT(http_range_parse("bytes=10-5000", 1000, &s, &l), 1);
    CHECK_EQ_INT(l, 990);
    CHECK_EQ_INT(http_range_parse("bytes=1000-", 1000, &s, &l), -1);
    CHECK_EQ_INT(http_range_parse("bytes=-0", 1000, &s, &l), -1);
    CHECK_EQ_INT(http_range_parse("bytes=5-1", 1000, &s, &l), 0);
    CHECK_EQ_INT(http_range_parse("bytes=0-1,5-6", 1000, &s, &l), 0);
    CHECK_EQ_INT(http_range_parse("items=0-1", 1000, &s, &l), 0);
    CHECK_EQ_INT(http_range_parse("bytes=-", 1000, &s, &l), 0);
    CHECK_EQ_INT(http_range_parse("bytes=x-1", 1000, &s, &l), 0);
    CHECK_EQ_INT(http_range_parse(NULL, 1000, &s, &l), 0);
    CHECK_EQ_INT(http_range_parse("bytes=99999999999999999999-", 1000, &s, &l), 0);
}

static void test_misc(void)
{
    CHECK_EQ_STR(http_content_type("a/b.JPG"), "image/jpeg");
    CHECK_EQ_STR(http_content_type("x.webp"), "image/webp");
    CHECK_EQ_STR(http_content_type("noext"), "application/octet-stream");
    CHECK_EQ_STR(http_content_type("dir.d/file"), "application/octet-stream");
    CHECK(http_asset_find("/") != NULL);
    CHECK(http_asset_find("/nope") == NULL);
    CHECK_EQ_STR(http_asset_cache_control("/index.html"), "no-cache");
    CHECK(strstr(http_asset_cache_control("/assets/a-1.js"), "immutable") != NULL);
    static const char *const headers[] = {"Cookie", "a=1; sessionid=\"abc\"; b=2", NULL};
    struct http_request *r =
        http_test_request_new("POST", "/x/y?q=1&q=2", headers, "body", 4, 1024);
    CHECK_EQ_STR(http_request_cookie(r, "sessionid"), "abc");
    CHECK_EQ_STR(http_request_cookie(r, "b"), "2");
    CHECK(http_request_cookie(r, "c") == NULL);
    CHECK_EQ_STR(http_request_query_nth(r, "q", 1), "2");
    CHECK(http_request_query_nth(r, "q", 2) == NULL);
    size_t len;
    CHECK_EQ_STR(http_request_body(r, &len), "body");
    struct http_response *resp = http_test_response_new(r);
    http_response_copy(resp, 201, "text/plain", "hi", 2);
    http_response_header(resp, "X-A", "1");
    CHECK_EQ_INT(http_response_code(resp), 201);
    CHECK_EQ_STR(http_response_header_get(resp, "x-a"), "1");
    CHECK_EQ_STR(http_response_body(resp, &len), "hi");
    http_test_response_free(resp);
    http_test_request_free(r);
    r = http_test_request_new("POST", "/x", NULL, "toolong", 7, 3);
    CHECK_EQ_INT(http_request_status(r), BASE_E_TOOBIG);
    http_test_request_free(r);
}

/* ---- a real server ------------------------------------------------------------------------ */

static void echo(void *ctx, struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    size_t len;
    const char *body = http_request_body(req, &len);
    if (http_request_status(req) == BASE_E_TOOBIG) {
        http_response_copy(resp, 413, "text/plain", "too big", 7);
        return;
    }
    char *out = base_alloc(len + 64);
    int n = snprintf(out, 64, "%s %s ", http_request_method(req), http_request_path(req));
    memcpy(out + n, body, len);
    http_response_take(resp, 200, "text/plain", out, (size_t)n + len);
}

static int exchange(int port, const char *req, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        close(fd);
        return -1;
    }
    size_t sent = 0, len = strlen(req), got = 0;
    while (sent < len) {
        ssize_t k = write(fd, req + sent, len - sent);
        if (k <= 0)
            break;
        sent += (size_t)k;
    }
    ssize_t k;
    while (got + 1 < cap && (k = read(fd, out + got, cap - 1 - got)) > 0)
        got += (size_t)k;
    out[got] = '\0';
    close(fd);
    return (int)got;
}

static void test_server(void)
{
    struct http_server_config cfg = {
        .host = "127.0.0.1", .port = 0, .threads = 2, .max_body = 16, .timeout_s = 5};
    struct base_err err = {0};
    struct http_server *s = http_server_new(&cfg, echo, NULL, &err);
    CHECK(s != NULL);
    if (!s)
        return;
    int port = http_server_port(s);
    CHECK(port > 0);
    char buf[4096];
    exchange(port,
             "POST /a%20b?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             "Connection: close\r\n\r\nhello",
             buf, sizeof buf);
    CHECK(strstr(buf, "HTTP/1.1 200") == buf);
    CHECK(strstr(buf, "POST /a b hello") != NULL);
    exchange(port,
             "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\nConnection: close\r\n\r\n"
             "01234567890123456789",
             buf, sizeof buf);
    CHECK(strstr(buf, "HTTP/1.1 413") == buf);
    struct http_server_config busy = {
        .host = "127.0.0.1", .port = port, .threads = 1, .max_body = 16, .timeout_s = 5};
    CHECK(http_server_new(&busy, echo, NULL, &err) == NULL);
    CHECK_EQ_INT(err.status, BASE_E_IO);
    http_server_free(s, 1.0);
    http_server_free(NULL, 0);
}

/* ---- limits and work pools ---------------------------------------------------------------- */

static void answer_late(void *arg, struct http_request *req, struct http_response *resp)
{
    (void)req;
    http_response_copy(resp, 200, "text/plain", arg, strlen(arg));
}

/* /deny is answered before its body, /small takes 8 bytes, /untrusted counts against the small
 * cap, /spool is spooled, /slow is deferred to pool 0. */
static int admit(void *ctx, struct http_request *req, struct http_response *resp,
                 struct http_admission *adm)
{
    (void)ctx;
    const char *path = http_request_path(req);
    if (!strcmp(path, "/deny")) {
        http_response_copy(resp, 401, "text/plain", "denied", 6);
        return 1;
    }
    adm->max_body = !strcmp(path, "/small") ? 8 : 0;
    adm->untrusted = !strcmp(path, "/untrusted");
    adm->spool = !strcmp(path, "/spool");
    return 0;
}

static void limited(void *ctx, struct http_request *req, struct http_response *resp)
{
    if (!strcmp(http_request_path(req), "/slow") &&
        http_request_defer(req, 0, answer_late, "deferred") == 0)
        return;
    if (http_request_status(req) == BASE_E_BUSY) {
        http_response_copy(resp, 503, "text/plain", "busy", 4);
        return;
    }
    echo(ctx, req, resp);
}

static int open_conn(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_limits(void)
{
    char spool[64] = "/tmp/ll-http-spool-XXXXXX";
    CHECK(mkdtemp(spool) != NULL);
    struct http_pool_config pools[] = {{.threads = 1, .queue = 2}};
    struct http_server_config cfg = {.host = "127.0.0.1",
                                     .threads = 2,
                                     .max_body = 1 << 20,
                                     .admit = admit,
                                     .max_inflight_untrusted = 200000,
                                     .spool_dir = spool,
                                     .pools = pools,
                                     .npools = 1};
    struct base_err err = {0};
    struct http_server *s = http_server_new(&cfg, limited, NULL, &err);
    CHECK(s != NULL);
    if (!s)
        return;
    int port = http_server_port(s);
    char buf[4096];
    /* answered without the body: none of the declared megabyte is ever sent */
    exchange(port, "POST /deny HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", buf,
             sizeof buf);
    CHECK(strstr(buf, "HTTP/1.1 401") == buf);
    exchange(port,
             "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\nConnection: close\r\n\r\n"
             "123456789",
             buf, sizeof buf);
    CHECK(strstr(buf, "HTTP/1.1 413") == buf);
    /* the untrusted cap is 200 kB: a connection holding 100 kB leaves no room for 120 kB more;
     * small bodies do not count against it */
    int holder = open_conn(port);
    const char *hold = "POST /untrusted HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
    CHECK(write(holder, hold, strlen(hold)) == (ssize_t)strlen(hold));
    usleep(200 * 1000);
    exchange(port, "POST /untrusted HTTP/1.1\r\nHost: x\r\nContent-Length: 120000\r\n\r\n", buf,
             sizeof buf);
    CHECK(strstr(buf, "HTTP/1.1 503") == buf);
    exchange(port,
             "POST /untrusted HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             "Connection: close\r\n\r\nsmall",
             buf, sizeof buf);
    CHECK(strstr(buf, "HTTP/1.1 200") == buf);
    close(holder);
    exchange(port,
             "POST /spool HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
             "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
             buf, sizeof buf);
    CHECK(strstr(buf, "HTTP/1.1 200") == buf);
    CHECK(strstr(buf, "POST /spool hello world") != NULL);
    exchange(port, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf, sizeof buf);
    CHECK(strstr(buf, "HTTP/1.1 200") == buf);
    CHECK(strstr(buf, "\r\n\r\ndeferred") != NULL);
    http_server_free(s, 1.0);
    CHECK(rmdir(spool) == 0); /* spool files are unlinked from the start */
}

TEST_MAIN(TEST_CASE(test_url_parse), TEST_CASE(test_route_match), TEST_CASE(test_multipart),
          TEST_CASE(test_range), TEST_CASE(test_misc), TEST_CASE(test_server),
          TEST_CASE(test_limits))
