/* The S3 calls on libcurl: addressing (path-style for a custom endpoint, virtual-host style for
 * AWS), SigV4 request signing by libcurl with the payload hash set here (S3 requires the
 * x-amz-content-sha256 header, which libcurl 7.88 does not add), the bounded retries with
 * backoff, and errors that say what S3 answered without ever quoting a secret. */
#include "s3.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct s3 {
    char *bucket, *region, *access, *secret, *token;
    char *scheme, *host, *base; /* base: the path before the key ("/bucket" or "") */
    char *sigv4;                /* "aws:amz:<region>:s3" */
    struct s3_retry retry;
    int64_t nreq;
};

static int valid_bucket(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    if (n < 1 || n > 255)
        return 0;
    return strspn(b, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

static char *opt(const char *s)
{
    return s && *s ? base_strdup(s) : NULL;
}

/* Splits "http(s)://host[:port][/path]" into scheme, host and base path (no trailing '/'). */
static int split_endpoint(struct s3 *s, const char *ep, struct base_err *err)
{
    const char *rest = !strncmp(ep, "https://", 8)  ? ep + 8
                       : !strncmp(ep, "http://", 7) ? ep + 7
                                                    : NULL;
    if (!rest || !*rest || *rest == '/')
        return base_err_set(err, BASE_E_INVALID, "s3_endpoint must be an http(s):// URL");
    s->scheme = base_strndup(ep, (size_t)(rest - ep - 3));
    size_t hn = strcspn(rest, "/?#");
    s->host = base_strndup(rest, hn);
    const char *path = rest + hn;
    size_t pn = strcspn(path, "?#");
    while (pn && path[pn - 1] == '/')
        pn--;
    char *bucket_path = base_strprintf("%.*s/%s", (int)pn, path, s->bucket);
    s->base = bucket_path;
    return 0;
}

struct s3 *s3_new(const struct s3_config *c, struct base_err *err)
{
    if (!valid_bucket(c->bucket)) {
        base_err_set(err, BASE_E_INVALID,
                     "bucket: a bucket name is 1 to 255 letters, digits, '.', '-' or '_'");
        return NULL;
    }
    struct s3 *s = base_calloc(1, sizeof *s);
    s->bucket = base_strdup(c->bucket);
    s->region = base_strdup(c->region && *c->region ? c->region : "us-east-1");
    s->access = opt(c->access_key);
    s->secret = base_strdup(c->secret_key ? c->secret_key : "");
    s->token = opt(c->session_token);
    s->retry = S3_RETRY_DEFAULT;
    s->sigv4 = base_strprintf("aws:amz:%s:s3", s->region);
    if (c->endpoint && *c->endpoint) {
        if (split_endpoint(s, c->endpoint, err)) {
            s3_free(s);
            return NULL;
        }
    } else if (strchr(s->bucket, '.') || strchr(s->bucket, '_')) {
        /* not a valid host name label (or a TLS wildcard mismatch): path-style */
        s->scheme = base_strdup("https");
        s->host = base_strprintf("s3.%s.amazonaws.com", s->region);
        s->base = base_strprintf("/%s", s->bucket);
    } else {
        s->scheme = base_strdup("https");
        s->host = !strcmp(s->region, "us-east-1")
                      ? base_strprintf("%s.s3.amazonaws.com", s->bucket)
                      : base_strprintf("%s.s3.%s.amazonaws.com", s->bucket, s->region);
        s->base = base_strdup("");
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return s;
}

void s3_free(struct s3 *s)
{
    if (!s)
        return;
    if (s->secret)
        memset(s->secret, 0, strlen(s->secret));
    base_free(s->bucket), base_free(s->region), base_free(s->access), base_free(s->secret);
    base_free(s->token), base_free(s->scheme), base_free(s->host), base_free(s->base);
    base_free(s->sigv4);
    base_free(s);
}

void s3_set_retry(struct s3 *s, struct s3_retry r)
{
    s->retry = r;
    if (s->retry.tries < 1)
        s->retry.tries = 1;
}

int64_t s3_requests(const struct s3 *s)
{
    return s->nreq;
}

void s3_config_from_json(const json_t *o, struct s3_config *c)
{
    c->bucket = json_string_value(json_object_get(o, "bucket"));
    c->region = json_string_value(json_object_get(o, "region_name"));
    c->endpoint = json_string_value(json_object_get(o, "s3_endpoint"));
    c->access_key = json_string_value(json_object_get(o, "aws_access_key_id"));
    c->secret_key = json_string_value(json_object_get(o, "aws_secret_access_key"));
    c->session_token = json_string_value(json_object_get(o, "aws_session_token"));
}

/* ---- one request ------------------------------------------------------------------------------
 */

struct req {
    const char *method;
    const char *what; /* for messages: "GET s3://bucket/key" */
    char *path;       /* URI-encoded path and query */
    const void *body;
    size_t n;
    const char *ctype;
    struct base_buf *out; /* the answer (2xx) */
    FILE *f;              /* or the file it goes to */
    uint64_t max;
    /* per try */
    CURL *h;
    struct base_buf errbody;
    uint64_t got;
    int over;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct req *q = ctx;
    long status = 0;
    curl_easy_getinfo(q->h, CURLINFO_RESPONSE_CODE, &status);
    size_t len = size * n;
    if (status < 200 || status > 299) {
        base_buf_append(&q->errbody, p, len, NULL); /* bounded; the rest is not needed */
        return len;
    }
    if ((q->max && q->got + len > q->max) || (q->out && base_buf_append(q->out, p, len, NULL))) {
        q->over = 1;
        return 0;
    }
    if (q->f && fwrite(p, 1, len, q->f) != len)
        return 0;
    q->got += len;
    return len;
}

static struct curl_slist *headers(const struct s3 *s, const struct req *q)
{
    char hash[65];
    s3_sha256_hex(q->body ? q->body : "", q->body ? q->n : 0, hash);
    char line[128];
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", hash);
    struct curl_slist *h = curl_slist_append(NULL, line);
    h = curl_slist_append(h, "User-Agent: labelloop");
    h = curl_slist_append(h, "Expect:");
    if (q->ctype) {
        char *ct = base_strprintf("Content-Type: %s", q->ctype);
        h = curl_slist_append(h, ct);
        base_free(ct);
    }
    if (s->token) {
        char *t = base_strprintf("x-amz-security-token: %s", s->token);
        h = curl_slist_append(h, t);
        memset(t, 0, strlen(t));
        base_free(t);
    }
    return h;
}

/* One try: the curl code and the HTTP status. */
static CURLcode try_once(struct s3 *s, struct req *q, long *status)
{
    q->h = curl_easy_init();
    if (!q->h)
        return CURLE_FAILED_INIT;
    char *url = base_strprintf("%s://%s%s", s->scheme, s->host, q->path);
    struct curl_slist *hdr = headers(s, q);
    CURL *h = q->h;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)s->retry.timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (s->access) {
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
        curl_easy_setopt(h, CURLOPT_USERNAME, s->access);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->secret);
    }
    if (!strcmp(q->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (q->body) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->n);
    }
    s->nreq++;
    CURLcode rc = curl_easy_perform(h);
    *status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    q->h = NULL;
    base_free(url);
    return rc;
}

static int transient(CURLcode rc, long status)
{
    if (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR ||
        rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE)
        return 1;
    return rc == CURLE_OK && (status == 429 || status >= 500);
}

/* What a failed answer means, as an error (the XML <Error> code and message included). */
static int answer_error(const struct s3 *s, const struct req *q, long status, struct base_err *err)
{
    char code[64], msg[256];
    s3_error_parse(q->errbody.data ? q->errbody.data : "", q->errbody.len, code, msg);
    const char *sep = code[0] ? ": " : "";
    if (status == 404)
        return base_err_set(err, BASE_E_NOTFOUND, "%s: not found (HTTP 404%s%s)", q->what, sep,
                            code);
    if (status == 403 || status == 401)
        return base_err_set(err, BASE_E_FORBIDDEN,
                            "%s: access denied with the given credentials (HTTP %ld%s%s%s%s)",
                            q->what, status, sep, code, msg[0] ? " " : "", msg);
    if (status == 301 || status == 307 ||
        (status == 400 && !strcmp(code, "AuthorizationHeaderMalformed")))
        return base_err_set(err, BASE_E_INVALID,
                            "%s: the bucket is not in region %s (HTTP %ld%s%s): set region_name",
                            q->what, s->region, status, sep, code);
    if (status >= 400 && status < 500)
        return base_err_set(err, BASE_E_INVALID, "%s: HTTP %ld%s%s%s%s", q->what, status, sep, code,
                            msg[0] ? " " : "", msg);
    return base_err_set(err, BASE_E_IO, "%s: HTTP %ld%s%s", q->what, status, sep, code);
}

static int curl_error(const struct req *q, CURLcode rc, struct base_err *err)
{
    if (q->over || rc == CURLE_FILESIZE_EXCEEDED)
        return base_err_set(err, BASE_E_TOOBIG, "%s: larger than the %llu-byte limit", q->what,
                            (unsigned long long)q->max);
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
        rc == CURLE_COULDNT_RESOLVE_HOST)
        return base_err_set(err, BASE_E_INVALID, "%s: %s (check s3_endpoint)", q->what,
                            curl_easy_strerror(rc));
    return base_err_set(err, BASE_E_IO, "%s: %s", q->what, curl_easy_strerror(rc));
}

/* Runs q with the client's retries. */
static int request(struct s3 *s, struct req *q, struct base_err *err)
{
    int rc = -1;
    for (int t = 1; t <= s->retry.tries; t++) {
        base_buf_init(&q->errbody, 16384);
        q->got = 0;
        q->over = 0;
        if (q->out)
            base_buf_reset(q->out);
        if (q->f && (fflush(q->f) || ftruncate(fileno(q->f), 0) || fseek(q->f, 0, SEEK_SET))) {
            base_buf_release(&q->errbody);
            return base_err_set(err, BASE_E_IO, "%s: cannot rewrite the local file", q->what);
        }
        long status = 0;
        CURLcode c = try_once(s, q, &status);
        if (c == CURLE_OK && status >= 200 && status <= 299) {
            base_buf_release(&q->errbody);
            return 0;
        }
        rc = c == CURLE_OK ? answer_error(s, q, status, err) : curl_error(q, c, err);
        base_buf_release(&q->errbody);
        if (!transient(c, status) || q->over)
            return rc;
        if (t < s->retry.tries) {
            BASE_DEBUG("s3: %s: try %d of %d failed (%s), retrying", q->what, t, s->retry.tries,
                       err ? err->msg : "");
            usleep((useconds_t)s->retry.backoff_ms * 1000u << (t - 1));
        }
    }
    return base_err_prefix(err, "failed after %d tries: ", s->retry.tries);
}

static char *key_path(const struct s3 *s, const char *key)
{
    struct base_buf b;
    base_buf_init(&b, (size_t)1 << 16);
    base_buf_puts(&b, s->base, NULL);
    base_buf_puts(&b, "/", NULL);
    s3_uri_encode(&b, key, 1, NULL);
    return base_buf_steal(&b, NULL);
}

/* ---- the calls --------------------------------------------------------------------------------
 */

int s3_head_bucket(struct s3 *s, struct base_err *err)
{
    char *what = base_strprintf("HEAD s3://%s", s->bucket);
    struct req q = {.method = "HEAD", .what = what, .path = base_strdup(*s->base ? s->base : "/")};
    int rc = request(s, &q, err);
    base_free(q.path);
    base_free(what);
    return rc;
}

/* The query of one ListObjectsV2 page, its parameters in canonical (sorted) order. */
static char *list_path(const struct s3 *s, const char *prefix, const char *delimiter,
                       const char *token)
{
    struct base_buf b;
    base_buf_init(&b, (size_t)1 << 16);
    base_buf_printf(&b, NULL, "%s?", *s->base ? s->base : "/");
    if (token) {
        base_buf_puts(&b, "continuation-token=", NULL);
        s3_uri_encode(&b, token, 0, NULL);
        base_buf_puts(&b, "&", NULL);
    }
    if (delimiter && *delimiter) {
        base_buf_puts(&b, "delimiter=", NULL);
        s3_uri_encode(&b, delimiter, 0, NULL);
        base_buf_puts(&b, "&", NULL);
    }
    base_buf_puts(&b, "list-type=2", NULL);
    if (prefix && *prefix) {
        base_buf_puts(&b, "&prefix=", NULL);
        s3_uri_encode(&b, prefix, 0, NULL);
    }
    return base_buf_steal(&b, NULL);
}

int s3_list(struct s3 *s, const char *prefix, const char *delimiter, int64_t max, s3_list_fn fn,
            void *ctx, struct base_err *err)
{
    char *what = base_strprintf("LIST s3://%s/%s", s->bucket, prefix ? prefix : "");
    struct base_buf body;
    base_buf_init(&body, (size_t)16 << 20);
    char *token = NULL;
    int64_t seen = 0;
    int rc = 0;
    for (int pages = 0; rc == 0; pages++) {
        struct req q = {.method = "GET", .what = what, .out = &body};
        q.path = list_path(s, prefix, delimiter, token);
        rc = request(s, &q, err);
        base_free(q.path);
        struct s3_page p;
        if (rc || (rc = s3_page_parse(body.data, body.len, &p, err)))
            break;
        for (size_t i = 0; i < p.n && rc == 0 && (max <= 0 || seen < max); i++, seen++)
            rc = fn(ctx, &p.objects[i], err);
        base_free(token);
        token = p.truncated && (max <= 0 || seen < max) ? base_strdup(p.next_token) : NULL;
        s3_page_release(&p);
        if (!token)
            break;
    }
    base_free(token);
    base_buf_release(&body);
    base_free(what);
    return rc;
}

int s3_get(struct s3 *s, const char *key, struct base_buf *out, struct base_err *err)
{
    char *what = base_strprintf("GET s3://%s/%s", s->bucket, key);
    struct req q = {
        .method = "GET", .what = what, .path = key_path(s, key), .out = out, .max = out->limit};
    int rc = request(s, &q, err);
    base_free(q.path);
    base_free(what);
    return rc;
}

int s3_get_file(struct s3 *s, const char *key, const char *path, uint64_t max, struct base_err *err)
{
    char *tmp = base_strprintf("%s.part%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        base_free(tmp);
        return base_err_set(err, BASE_E_IO, "cannot write %s", path);
    }
    char *what = base_strprintf("GET s3://%s/%s", s->bucket, key);
    struct req q = {.method = "GET", .what = what, .path = key_path(s, key), .f = f, .max = max};
    int rc = request(s, &q, err);
    if (fclose(f) && !rc)
        rc = base_err_set(err, BASE_E_IO, "cannot write %s", path);
    if (!rc && rename(tmp, path))
        rc = base_err_set(err, BASE_E_IO, "cannot rename %s", tmp);
    if (rc)
        unlink(tmp);
    base_free(q.path);
    base_free(what);
    base_free(tmp);
    return rc;
}

int s3_put(struct s3 *s, const char *key, const void *body, size_t n, const char *content_type,
           struct base_err *err)
{
    char *what = base_strprintf("PUT s3://%s/%s", s->bucket, key);
    int rc;
    if (n > S3_PUT_MAX) {
        rc = base_err_set(err, BASE_E_TOOBIG, "%s: %zu bytes is over the %zu-byte limit of one PUT",
                          what, n, S3_PUT_MAX);
    } else {
        struct req q = {.method = "PUT",
                        .what = what,
                        .path = key_path(s, key),
                        .body = body ? body : "",
                        .n = n,
                        .ctype = content_type};
        rc = request(s, &q, err);
        base_free(q.path);
    }
    base_free(what);
    return rc;
}

char *s3_presign(struct s3 *s, const char *key, int64_t ttl_s, time_t now)
{
    struct tm tm;
    gmtime_r(&now, &tm);
    char date[17];
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    char *path = key_path(s, key);
    struct s3_presign_in in = {
        .method = "GET",
        .scheme = s->scheme,
        .host = s->host,
        .path = path,
        .access_key = s->access ? s->access : "",
        .secret_key = s->secret,
        .session_token = s->token,
        .region = s->region,
        .service = "s3",
        .amz_date = date,
        .expires_s = ttl_s,
    };
    char *url =
        s->access ? s3_presign_url(&in) : base_strprintf("%s://%s%s", s->scheme, s->host, path);
    base_free(path);
    return url;
}
