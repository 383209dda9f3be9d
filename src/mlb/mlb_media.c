/* Task media for the ML backend: the URL forms Label Studio puts into task data (spec 3.9) turned
 * into a local file, each failure a message that names the URL and the reason ("the backend can't
 * read the images" is the most common support thread; it must never need guessing). Local files
 * are confined to LOCAL_FILES_DOCUMENT_ROOT; downloads are cached, capped and time-limited, and
 * the token only ever goes to the Label Studio host. */
#include "mlb_int.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mlb_media {
    char *cache_dir, *local_root;
    size_t max_bytes;
    double timeout_s;
    pthread_mutex_t mu; /* guards last_error */
    char last_error[BASE_ERR_MSG];
};

struct mlb_media *mlb_media_new(const struct mlb_media_config *cfg, struct base_err *err)
{
    if (base_mkdirs(cfg->cache_dir, err))
        return NULL;
    struct mlb_media *m = base_calloc(1, sizeof *m);
    m->cache_dir = base_strdup(cfg->cache_dir);
    m->local_root = cfg->local_root && cfg->local_root[0] ? base_strdup(cfg->local_root) : NULL;
    m->max_bytes = cfg->max_bytes ? cfg->max_bytes : MLB_MAX_MEDIA;
    m->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 30;
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void mlb_media_free(struct mlb_media *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    base_free(m->cache_dir);
    base_free(m->local_root);
    base_free(m);
}

void mlb_media_last_error(struct mlb_media *m, char *out, size_t size)
{
    pthread_mutex_lock(&m->mu);
    snprintf(out, size, "%s", m->last_error);
    pthread_mutex_unlock(&m->mu);
}

char *mlb_local_path(const char *root, const char *d, struct base_err *err)
{
    while (*d == '/')
        d++; /* Label Studio strips the leading slash: "d=/x" is <root>/x */
    if (!*d)
        return base_err_set(err, BASE_E_INVALID, "empty local-files path"), NULL;
    char real_root[PATH_MAX], real[PATH_MAX];
    if (!realpath(root, real_root))
        return base_err_set(err, BASE_E_NOTFOUND, "LOCAL_FILES_DOCUMENT_ROOT=%s: %s", root,
                            strerror(errno)),
               NULL;
    char *joined = base_path_join(real_root, d);
    char *ok = realpath(joined, real);
    int e = errno;
    base_free(joined);
    size_t n = strlen(real_root);
    int inside =
        ok && (!strcmp(real_root, "/") || (!strncmp(real, real_root, n) && real[n] == '/'));
    if (ok && !inside)
        return base_err_set(err, BASE_E_FORBIDDEN,
                            "%s is outside LOCAL_FILES_DOCUMENT_ROOT=%s (refused)", d, root),
               NULL;
    if (!ok)
        return base_err_set(err, BASE_E_NOTFOUND,
                            "no file %s under LOCAL_FILES_DOCUMENT_ROOT=%s"
                            " (%s)",
                            d, root, strerror(e)),
               NULL;
    return base_strdup(real);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *mlb_url_query(const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    size_t n = strlen(name);
    while (q) {
        q++;
        if (!strncmp(q, name, n) && q[n] == '=') {
            const char *v = q + n + 1, *end = strchr(v, '&');
            size_t len = end ? (size_t)(end - v) : strlen(v);
            char *out = base_alloc(len + 1), *o = out;
            for (size_t i = 0; i < len; i++) {
                int hi, lo;
                if (v[i] == '%' && i + 2 < len && (hi = hexval(v[i + 1])) >= 0 &&
                    (lo = hexval(v[i + 2])) >= 0) {
                    *o++ = (char)(hi * 16 + lo);
                    i += 2;
                } else {
                    *o++ = v[i];
                }
            }
            *o = '\0';
            if ((size_t)(o - out) != strlen(out)) { /* a decoded NUL byte */
                base_free(out);
                return NULL;
            }
            return out;
        }
        q = strchr(q, '&');
    }
    return NULL;
}

/* "<md5(url)[:8]>__<last path segment, made safe>" inside the cache. */
static char *cache_path(const struct mlb_media *m, const char *url)
{
    struct base_md5 md;
    char hex[33], name[96];
    base_md5_init(&md);
    base_md5_update(&md, url, strlen(url));
    base_md5_final(&md, hex);
    size_t end = strcspn(url, "?#"), start = end;
    while (start > 0 && url[start - 1] != '/')
        start--;
    size_t k = 0;
    for (size_t i = start; i < end && k < sizeof name - 1; i++) {
        char c = url[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        name[k++] = ok ? c : '_';
    }
    name[k] = '\0';
    char *path = base_alloc(strlen(m->cache_dir) + k + 16);
    sprintf(path, "%s/%.8s__%s", m->cache_dir, hex, k && name[0] != '.' ? name : "file");
    return path;
}

/* Whether `url` points at the Label Studio host (scheme, host and port equal). */
static int same_origin(const char *url, const char *host)
{
    size_t n = strlen(host);
    while (n > 0 && host[n - 1] == '/')
        n--;
    return n > 0 && !strncmp(url, host, n) && (url[n] == '/' || url[n] == '?' || !url[n]);
}

static int http_failure(const char *url, long status, const struct mlb_source *src,
                        struct base_err *err)
{
    if (status == 401 || status == 403)
        return base_err_set(err, BASE_E_AUTH,
                            "GET %s: HTTP %ld: Label Studio refused the token%s (it comes from"
                            " /setup's access_token, else LABEL_STUDIO_API_KEY)",
                            url, status, src->token && src->token[0] ? "" : " (none was sent)");
    if (status == 404)
        return base_err_set(err, BASE_E_NOTFOUND, "GET %s: HTTP 404: no such file there", url);
    return base_err_set(err, BASE_E_IO, "GET %s: HTTP %ld", url, status);
}

static char *download(struct mlb_media *m, const struct mlb_source *src, const char *url,
                      struct base_err *err)
{
    char *path = cache_path(m, url);
    if (base_file_exists(path))
        return path;
    int to_ls = src->host && src->host[0] && same_origin(url, src->host);
    char auth[MLB_TOKEN_MAX + 16];
    snprintf(auth, sizeof auth, "Token %s", src->token ? src->token : "");
    struct mlb_call c = {.url = url,
                         .auth = to_ls && src->token && src->token[0] ? auth : NULL,
                         .total_s = m->timeout_s,
                         .max_bytes = m->max_bytes};
    struct base_buf body;
    base_buf_init(&body, m->max_bytes);
    long status = 0;
    int rc = mlb_http(&c, &status, &body, err);
    if (rc == 0 && (status < 200 || status > 299))
        rc = http_failure(url, status, src, err);
    if (rc == 0 && body.len == 0)
        rc = base_err_set(err, BASE_E_IO, "GET %s: the answer is empty", url);
    if (rc == 0)
        rc = base_file_write_atomic(path, body.data, body.len, err);
    base_buf_release(&body);
    if (rc) {
        base_free(path);
        return NULL;
    }
    return path;
}

/* An absolute URL on the Label Studio host for a relative media URL. */
static char *on_host(const struct mlb_source *src, const char *rel, const char *what,
                     struct base_err *err)
{
    if (!src->host || !src->host[0])
        return base_err_set(err, BASE_E_NOTFOUND,
                            "%s: a Label Studio %s, but no Label Studio host is known (/setup sent"
                            " no hostname and LABEL_STUDIO_URL is not set)",
                            rel, what),
               NULL;
    if (strncmp(src->host, "http://", 7) && strncmp(src->host, "https://", 8))
        return base_err_set(err, BASE_E_INVALID,
                            "%s: the Label Studio host '%s' must start with http:// or https://",
                            rel, src->host),
               NULL;
    size_t n = strlen(src->host);
    while (n > 0 && src->host[n - 1] == '/')
        n--;
    char *url = base_alloc(n + strlen(rel) + 8);
    sprintf(url, "%.*s%s%s", (int)n, src->host, rel[0] == '/' ? "" : "/", rel);
    return url;
}

static char *resolve(struct mlb_media *m, const struct mlb_source *src, const char *url,
                     struct base_err *err)
{
    if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))
        return download(m, src, url, err);
    if (!strncmp(url, "/data/", 6) && strstr(url, "?d=")) {
        char *d = mlb_url_query(url, "d");
        if (!d)
            return base_err_set(err, BASE_E_INVALID, "%s: bad local-files path", url), NULL;
        char *path = NULL;
        if (m->local_root) {
            path = mlb_local_path(m->local_root, d, err);
            if (!path)
                base_err_prefix(err, "%s: ", url);
        } else {
            char *abs = on_host(src, url, "local file", err);
            path = abs ? download(m, src, abs, err) : NULL;
            base_free(abs);
        }
        base_free(d);
        return path;
    }
    const char *rel = url;
    char *fixed = NULL;
    if (!strncmp(url, "upload/", 7) || !strncmp(url, "/upload/", 8)) {
        fixed = base_alloc(strlen(url) + 8);
        sprintf(fixed, "/data/%s", url[0] == '/' ? url + 1 : url);
        rel = fixed;
    }
    char *path = NULL;
    if (!strncmp(rel, "/data/upload/", 13)) {
        if (!src->token || !src->token[0])
            base_err_set(err, BASE_E_AUTH,
                         "%s: a Label Studio upload, but no API token is known (/setup sent no"
                         " access_token and LABEL_STUDIO_API_KEY is not set)",
                         url);
        else {
            char *abs = on_host(src, rel, "upload", err);
            path = abs ? download(m, src, abs, err) : NULL;
            base_free(abs);
        }
    } else {
        base_err_set(err, BASE_E_UNSUPPORTED,
                     "%s: not a URL labelloop can read (http(s)://, /data/upload/... or"
                     " /data/local-files/?d=...; cloud storage URLs are not supported)",
                     url);
    }
    base_free(fixed);
    return path;
}

char *mlb_media_get(struct mlb_media *m, const struct mlb_source *src, const char *url,
                    struct base_err *err)
{
    struct base_err e = {0};
    char *path = resolve(m, src, url, &e);
    if (!path) {
        pthread_mutex_lock(&m->mu);
        snprintf(m->last_error, sizeof m->last_error, "%s", e.msg);
        pthread_mutex_unlock(&m->mu);
        BASE_WARN("ml-backend: %s", e.msg);
        if (err)
            *err = e;
    }
    return path;
}
