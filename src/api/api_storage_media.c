/* Media of S3 storages in the browser, as Label Studio serves it: task data handed to the UI has
 * its s3:// URIs rewritten to /tasks/<id>/resolve/?fileuri=<base64url of the URI>, and that route
 * answers a redirect to a presigned URL (the storage's presign = true, valid presign_ttl
 * minutes) or the object's bytes through the server (presign = false; from the local cache the
 * detector also reads). The old /tasks/<id>/presign/ route is the same. */
#include "api_int.h"

#include "s3/s3.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64url(const char *s)
{
    size_t n = strlen(s);
    char *out = base_alloc(4 * ((n + 2) / 3) + 1), *o = out;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = B64URL[v >> 18 & 63];
        *o++ = B64URL[v >> 12 & 63];
        *o++ = i + 1 < n ? B64URL[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? B64URL[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Decodes base64 (URL-safe or standard alphabet, padding optional); NULL when malformed or
 * when it holds a NUL byte. */
static char *b64_decode(const char *s)
{
    size_t n = strlen(s);
    char *out = base_alloc(n / 4 * 3 + 4), *o = out;
    unsigned v = 0;
    int bits = 0;
    for (const char *p = s; *p && *p != '='; p++) {
        const char *d = strchr(B64URL, *p == '+' ? '-' : *p == '/' ? '_' : *p);
        if (!d || !*p) {
            base_free(out);
            return NULL;
        }
        v = v << 6 | (unsigned)(d - B64URL);
        if ((bits += 6) >= 8) {
            bits -= 8;
            if (!(*o++ = (char)(v >> bits & 255))) {
                base_free(out);
                return NULL;
            }
        }
    }
    *o = '\0';
    return out;
}

void api_storage_rewrite(json_t *task)
{
    json_t *data = json_object_get(task, "data");
    int64_t id = json_integer_value(json_object_get(task, "id"));
    const char *k;
    json_t *v, *copy = NULL;
    json_object_foreach(data, k, v)
    {
        const char *s = json_string_value(v);
        if (!s || strncmp(s, "s3://", 5))
            continue;
        if (!copy)
            copy = json_deep_copy(data); /* data may be shared with the stored row */
        char *enc = b64url(s);
        char *url = base_strprintf("/tasks/%lld/resolve/?fileuri=%s", (long long)id, enc);
        json_object_set_new(copy, k, json_string(url));
        base_free(url);
        base_free(enc);
    }
    if (copy)
        json_object_set_new(task, "data", copy);
}

/* The object's bytes through the server (presign = false). */
static int stream(struct api_req *r, int64_t project, const char *uri, struct base_err *err)
{
    char *path = loop_s3_file(r->api->store, r->api->data_dir, project, uri, err);
    if (!path)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    base_free(path);
    if (fd < 0 || fstat(fd, &sb)) {
        if (fd >= 0)
            close(fd);
        return base_err_set(err, BASE_E_IO, "%s: the cached copy cannot be read", uri);
    }
    const char *type = api_media_sniff(fd);
    http_response_header(r->resp, "Cache-Control", "private, max-age=3600");
    http_response_header(r->resp, "X-Content-Type-Options", "nosniff");
    http_response_header(r->resp, "Content-Security-Policy", "sandbox");
    if (!type)
        http_response_header(r->resp, "Content-Disposition", "attachment");
    http_response_file(r->resp, 200, type ? type : "application/octet-stream", fd, 0,
                       (uint64_t)sb.st_size);
    return 0;
}

int api_task_resolve(struct api_req *r, struct base_err *err)
{
    int64_t project;
    if (store_task_project(r->api->store, r->m.ids[0], &project, err))
        return -1;
    const char *q = http_request_query(r->http, "fileuri");
    char *uri = q ? b64_decode(q) : NULL;
    char *bucket = NULL, *key = NULL;
    if (!uri || loop_s3_split(uri, &bucket, &key)) {
        base_free(uri);
        return api_invalid(r, err, "fileuri", "must be the base64 of an s3://bucket/key URI");
    }
    struct store_storage s;
    int rc = loop_s3_storage(r->api->store, project, bucket, &s, err);
    if (rc == 0 && !json_is_false(json_object_get(s.data, "presign"))) {
        struct s3_config c;
        s3_config_from_json(s.data, &c);
        struct s3 *s3 = s3_new(&c, err);
        json_int_t ttl = json_integer_value(json_object_get(s.data, "presign_ttl"));
        ttl = ttl > 0 ? ttl * 60 : 60;
        if (ttl > 604800)
            ttl = 604800; /* S3 refuses presigned URLs valid longer than a week */
        char *url = s3 ? s3_presign(s3, key, ttl, time(NULL)) : NULL;
        if (url) {
            char cache[64];
            snprintf(cache, sizeof cache, "private, max-age=%lld",
                     (long long)(ttl > 60 ? ttl - 30 : 30));
            http_response_header(r->resp, "Location", url);
            http_response_header(r->resp, "Cache-Control", cache);
            api_reply_empty(r, 303);
        } else {
            rc = -1;
        }
        base_free(url);
        s3_free(s3);
    } else if (rc == 0) {
        rc = stream(r, project, uri, err);
    }
    if (s.data)
        store_storage_release(&s);
    base_free(uri);
    base_free(bucket);
    base_free(key);
    return rc;
}
