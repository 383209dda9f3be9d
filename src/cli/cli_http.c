/* A small JSON-over-HTTP client on libcurl for commands that drive a labelloop server through its
 * REST API as a user would (the loop simulator): one connection kept alive per client, Label
 * Studio's token header, timing of every call. */
#include "cli_int.h"

#include <curl/curl.h>
#include <string.h>

struct cli_http {
    CURL *curl;
    char *base;
    struct curl_slist *headers;
    struct base_buf body;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct cli_http *h = ctx;
    return base_buf_append(&h->body, p, size * n, NULL) ? 0 : size * n;
}

struct cli_http *cli_http_new(const char *base, const char *token)
{
    static int ready;
    if (!ready) { /* first use, before any other thread makes a client */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        ready = 1;
    }
    struct cli_http *h = base_calloc(1, sizeof *h);
    h->curl = curl_easy_init();
    h->base = base_strdup(base);
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Token %s", token);
    h->headers = curl_slist_append(NULL, auth);
    h->headers = curl_slist_append(h->headers, "Content-Type: application/json");
    base_buf_init(&h->body, (size_t)64 << 20);
    return h;
}

void cli_http_free(struct cli_http *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    base_buf_release(&h->body);
    base_free(h->base);
    base_free(h);
}

int cli_http_json(struct cli_http *h, const char *method, const char *path, const json_t *body,
                  long *status, json_t **out, double *ms, struct base_err *err)
{
    char *url = base_alloc(strlen(h->base) + strlen(path) + 1);
    sprintf(url, "%s%s", h->base, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    base_buf_reset(&h->body);
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    if (text)
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, text);
    double t0 = base_now();
    CURLcode rc = curl_easy_perform(h->curl);
    if (ms)
        *ms = (base_now() - t0) * 1000.0;
    free(text);
    base_free(url);
    if (rc != CURLE_OK)
        return base_err_set(err, BASE_E_IO, "%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
    *out = NULL;
    if (h->body.len) {
        json_error_t je;
        *out = json_loadb(h->body.data, h->body.len, 0, &je);
        if (!*out)
            return base_err_set(err, BASE_E_INVALID, "%s %s: answer is not JSON: %s", method, path,
                                je.text);
    }
    return 0;
}
