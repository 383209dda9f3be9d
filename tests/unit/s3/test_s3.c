/* The S3 client's pieces that need no S3: the SigV4 presigning chain against AWS's published
 * example values, the ListObjectsV2 and <Error> parsers on good and hostile documents, and the
 * bounded retries against a loopback server that fails on purpose. */
#include "s3/s3.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* AWS, "Signature Version 4 signing process", deriving the signing key (IAM example). */
static void test_signing_key(void)
{
    char k[65];
    s3_signing_key_hex("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam",
                       k);
    CHECK_EQ_STR(k, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
    char h[65];
    s3_sha256_hex("", 0, h);
    CHECK_EQ_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* AWS S3 API reference, "Authenticating Requests: Using Query Parameters (AWS Signature Version
 * 4)": the presigned GET of examplebucket/test.txt. */
static void test_presign_example(void)
{
    struct s3_presign_in in = {
        .method = "GET",
        .scheme = "https",
        .host = "examplebucket.s3.amazonaws.com",
        .path = "/test.txt",
        .access_key = "AKIAIOSFODNN7EXAMPLE",
        .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        .region = "us-east-1",
        .service = "s3",
        .amz_date = "20130524T000000Z",
        .expires_s = 86400,
    };
    char *url = s3_presign_url(&in);
    CHECK_EQ_STR(url,
                 "https://examplebucket.s3.amazonaws.com/test.txt"
                 "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                 "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                 "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                 "&X-Amz-Signature="
                 "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    base_free(url);

    /* the client addresses AWS virtual-host style and presigns the same way */
    struct s3_config c = {.bucket = "examplebucket",
                          .access_key = "AKIAIOSFODNN7EXAMPLE",
                          .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
    struct s3 *s = s3_new(&c, NULL);
    url = s3_presign(s, "test.txt", 86400, 1369353600); /* 2013-05-24T00:00:00Z */
    CHECK(url && strstr(url, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"));
    base_free(url);
    s3_free(s);
}

static void test_uri_encode(void)
{
    struct base_buf b;
    base_buf_init(&b, 1024);
    s3_uri_encode(&b, "a b/c+d~é", 1, NULL);
    CHECK_EQ_STR(b.data, "a%20b/c%2Bd~%C3%A9");
    base_buf_reset(&b);
    s3_uri_encode(&b, "a/b", 0, NULL);
    CHECK_EQ_STR(b.data, "a%2Fb");
    base_buf_release(&b);
}

static const char PAGE[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>b</Name><Prefix>img/</Prefix><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>tok/2=</NextContinuationToken>"
    "<Contents><Key>img/a&amp;b.jpg</Key><Size>1234</Size><ETag>&quot;x&quot;</ETag></Contents>"
    "<Contents><Key>img/c.jpg</Key><Size>0</Size></Contents>"
    "<CommonPrefixes><Prefix>img/sub/</Prefix></CommonPrefixes>"
    "</ListBucketResult>";

static void test_page_parse(void)
{
    struct s3_page p;
    struct base_err err = {0};
    CHECK_EQ_INT(s3_page_parse(PAGE, strlen(PAGE), &p, &err), 0);
    CHECK_EQ_INT(p.n, 2);
    if (p.n == 2) {
        CHECK_EQ_STR(p.objects[0].key, "img/a&b.jpg");
        CHECK_EQ_INT(p.objects[0].size, 1234);
        CHECK_EQ_STR(p.objects[1].key, "img/c.jpg");
    }
    CHECK_EQ_INT(p.truncated, 1);
    CHECK_EQ_STR(p.next_token, "tok/2=");
    s3_page_release(&p);

    static const char *const bad[] = {
        "",
        "<Error><Code>x</Code></Error>",
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult>&a;</ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct base_err e = {0};
        CHECK_EQ_INT(s3_page_parse(bad[i], strlen(bad[i]), &p, &e), -1);
        CHECK_EQ_INT(e.status, BASE_E_INVALID);
        CHECK_EQ_INT(p.n, 0);
    }

    char code[64], msg[256];
    static const char ERR[] = "<Error><Code>SignatureDoesNotMatch</Code><Message>The request "
                              "signature\xc3\xa9 we calculated</Message></Error>";
    s3_error_parse(ERR, strlen(ERR), code, msg);
    CHECK_EQ_STR(code, "SignatureDoesNotMatch");
    CHECK_EQ_STR(msg, "The request signature?? we calculated");
    s3_error_parse("junk", 4, code, msg);
    CHECK_EQ_STR(code, "");
}

/* ---- retries against a loopback server ---------------------------------------------------- */

struct flaky {
    int fd, port;
    int fail; /* answer 503 to this many requests first, then a one-object listing */
    int seen;
};

static void *serve(void *arg)
{
    struct flaky *f = arg;
    for (;;) {
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[8192];
        ssize_t n = recv(c, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        /* the request is signed, and S3's payload hash header is there */
        int signed_ok = strstr(buf, "Authorization: AWS4-HMAC-SHA256 Credential=AK/") &&
                        strstr(buf, "x-amz-content-sha256: e3b0c442");
        f->seen++;
        char out[1024];
        if (!signed_ok || f->seen <= f->fail) {
            snprintf(out, sizeof out,
                     "HTTP/1.1 503 Slow Down\r\nContent-Length: 43\r\nConnection: close\r\n\r\n"
                     "<Error><Code>SlowDown</Code></Error>       ");
        } else {
            static const char body[] = "<ListBucketResult><Contents><Key>k</Key><Size>3</Size>"
                                       "</Contents></ListBucketResult>";
            snprintf(out, sizeof out,
                     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     strlen(body), body);
        }
        send(c, out, strlen(out), 0);
        close(c);
    }
}

static int count_key(void *ctx, const struct s3_object *o, struct base_err *err)
{
    (void)err;
    *(int *)ctx += !strcmp(o->key, "k") && o->size == 3;
    return 0;
}

static void test_retries(void)
{
    struct flaky f = {.fail = 2};
    f.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(bind(f.fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(f.fd, 8) == 0);
    getsockname(f.fd, (struct sockaddr *)&a, &len);
    f.port = ntohs(a.sin_port);
    pthread_t th;
    pthread_create(&th, NULL, serve, &f);

    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", f.port);
    struct s3_config c = {.bucket = "b", .endpoint = ep, .access_key = "AK", .secret_key = "SK"};
    struct s3 *s = s3_new(&c, NULL);
    s3_set_retry(s, (struct s3_retry){.tries = 3, .backoff_ms = 10, .timeout_ms = 5000});
    int found = 0;
    struct base_err err = {0};
    CHECK_EQ_INT(s3_list(s, "p/", "/", 0, count_key, &found, &err), 0);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT(s3_requests(s), 3); /* two 503s, then the page */

    /* still failing after the last try: a named error, and the secret is never in it */
    f.seen = 0;
    f.fail = 100;
    found = 0;
    CHECK_EQ_INT(s3_list(s, NULL, NULL, 0, count_key, &found, &err), -1);
    CHECK(strstr(err.msg, "failed after 3 tries") && strstr(err.msg, "SlowDown"));
    CHECK(!strstr(err.msg, "SK"));
    CHECK_EQ_INT(f.seen, 3);
    s3_free(s);
    shutdown(f.fd, SHUT_RDWR);
    close(f.fd);
    pthread_join(th, NULL);
}

static void test_config(void)
{
    struct base_err err = {0};
    struct s3_config c = {.bucket = "bad/name"};
    CHECK(!s3_new(&c, &err));
    c.bucket = "ok";
    c.endpoint = "ftp://x";
    CHECK(!s3_new(&c, &err));
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
}

TEST_MAIN(TEST_CASE(test_signing_key), TEST_CASE(test_presign_example), TEST_CASE(test_uri_encode),
          TEST_CASE(test_page_parse), TEST_CASE(test_retries), TEST_CASE(test_config))
