/* One HTTP call on libcurl with the limits both directions of the ML backend protocol need: a
 * connect and a total timeout, a cap on the answer's size, and an error text that names the URL
 * and says in words what went wrong (the first thing anyone debugging a backend needs). */
#include "mlb_int.h"

#include <curl/curl.h>
#include <string.h>

struct sink {
    struct base_buf *out;
    int over;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    if (base_buf_append(s->out, p, size * n, NULL)) {
        s->over = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    return size * n;
}

static int curl_failure(const struct mlb_call *c, CURLcode rc, const struct sink *s, double total,
                        size_t max, struct base_err *err)
{
    const char *m = c->method ? c->method : "GET";
    if (s->over || rc == CURLE_FILESIZE_EXCEEDED)
        return base_err_set(err, BASE_E_TOOBIG,
                            "%s %s: the answer is larger than the %zu MiB limit", m, c->url,
                            max >> 20);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return base_err_set(err, BASE_E_BUSY, "%s %s: no answer within %.0f s (timed out)", m,
                            c->url, total);
    if (rc == CURLE_COULDNT_CONNECT)
        return base_err_set(err, BASE_E_IO,
                            "%s %s: cannot connect (nothing listens there, or a"
                            " firewall is in the way)",
                            m, c->url);
    if (rc == CURLE_COULDNT_RESOLVE_HOST)
        return base_err_set(err, BASE_E_IO, "%s %s: unknown host name", m, c->url);
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
        return base_err_set(err, BASE_E_INVALID, "%s %s: not a valid http(s) URL", m, c->url);
    return base_err_set(err, BASE_E_IO, "%s %s: %s", m, c->url, curl_easy_strerror(rc));
}

int mlb_http(const struct mlb_call *c, long *status, struct base_buf *out, struct base_err *err)
{
    double connect = c->connect_s > 0 ? c->connect_s : 5, total = c->total_s > 0 ? c->total_s : 30;
    size_t max = c->max_bytes ? c->max_bytes : MLB_MAX_MEDIA;
    if (strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8))
        return base_err_set(err, BASE_E_INVALID, "%s: not an http(s) URL", c->url);
    CURL *h = curl_easy_init();
    if (!h)
        return base_err_set(err, BASE_E_INTERNAL, "%s: cannot start libcurl", c->url);
    struct curl_slist *hdr = curl_slist_append(NULL, "User-Agent: labelloop");
    char *auth = NULL;
    if (c->auth) {
        auth = base_alloc(strlen(c->auth) + 16);
        sprintf(auth, "Authorization: %s", c->auth);
        hdr = curl_slist_append(hdr, auth);
    }
    if (c->body)
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
    struct sink s = {out, 0};
    base_buf_reset(out);
    out->limit = max;
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method ? c->method : "GET");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(connect * 1000));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(total * 1000));
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (c->body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
    CURLcode rc = curl_easy_perform(h);
    int ret = 0;
    if (rc != CURLE_OK)
        ret = curl_failure(c, rc, &s, total, max, err);
    else
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    base_free(auth);
    return ret;
}
