/* GET /api/tasks/{id}/thumbnail: a small JPEG of the task's uploaded image for the task list.
 * Made once with src/image (scaled-DCT decode, orientation, area resize, JPEG encode) and kept
 * under <media>/thumbnails/<project>/<file>.jpg; later requests are a file send. Uploaded media
 * and s3:// objects of the project's S3 storages (read through the loop's object cache, under
 * <media>/thumbnails/s3/<project>/<md5 of the URI>.jpg) have thumbnails: a task pointing
 * elsewhere answers 404. Decoding runs on the image pool
 * (at most two at a time, off the server threads), and an image that cannot be thumbnailed
 * (corrupt, truncated, too large) is remembered as such, so it is decoded once, not on every
 * request. */
#include "api_int.h"

#include "image/image.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define THUMB_SIDE       128
#define THUMB_QUALITY    80
#define THUMB_SOURCE_MAX (256u << 20)
#define UPLOAD_PREFIX    "/data/upload/"

struct source {
    const char *tail; /* "<project>/<file>" in the request arena, or NULL */
    const char *s3;   /* or an s3:// URI */
    int64_t project;
    struct base_arena *arena;
};

/* The upload a task shows: its file_upload record, else a "/data/upload/..." data value (tasks
 * imported as JSON that point at an uploaded file). */
static int find_source(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct source *s = ctx;
    if (t->file_upload) {
        s->tail = base_arena_printf(s->arena, "%lld/%s", (long long)t->project, t->file_upload);
        return 0;
    }
    const char *key;
    json_t *v;
    s->project = t->project;
    json_object_foreach(t->data, key, v)
    {
        const char *url = json_string_value(v);
        if (url && !strncmp(url, UPLOAD_PREFIX, strlen(UPLOAD_PREFIX))) {
            s->tail = base_arena_printf(s->arena, "%s", url + strlen(UPLOAD_PREFIX));
            return 0;
        }
        if (url && !strncmp(url, "s3://", 5) && !s->s3)
            s->s3 = base_arena_strdup(s->arena, url);
    }
    return 0;
}

static int send_cached(struct api_req *r, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
        close(fd);
        return -1;
    }
    http_response_header(r->resp, "Cache-Control", "private, max-age=86400");
    http_response_header(r->resp, "X-Content-Type-Options", "nosniff");
    http_response_file(r->resp, 200, "image/jpeg", fd, 0, (uint64_t)st.st_size);
    return 0;
}

/* "<thumbnail>.failed" holds "<status> <message>" of a thumbnail that could not be made. */
static char *failure_path(struct api_req *r, const char *dst)
{
    return base_arena_printf(r->arena, "%s.failed", dst);
}

/* Returns -1 with the remembered error when making the thumbnail failed before. */
static int failed_before(struct api_req *r, const char *dst, struct base_err *err)
{
    char *text = NULL;
    size_t len;
    int status, at = 0;
    if (base_file_read(failure_path(r, dst), 1024, &text, &len, NULL))
        return 0;
    int known =
        sscanf(text, "%d %n", &status, &at) == 1 && at > 0 &&
        (status == BASE_E_INVALID || status == BASE_E_TOOBIG || status == BASE_E_UNSUPPORTED);
    if (known)
        base_err_set(err, (enum base_status)status, "%s", text + at);
    base_free(text);
    return known ? -1 : 0;
}

/* Only what the image itself is to blame for: an I/O error may pass. */
static void remember_failure(struct api_req *r, const char *dst, const struct base_err *err)
{
    if (err->status != BASE_E_INVALID && err->status != BASE_E_TOOBIG &&
        err->status != BASE_E_UNSUPPORTED)
        return;
    char *text = base_arena_printf(r->arena, "%d %s", (int)err->status, err->msg);
    struct base_err ignored;
    base_file_write_atomic(failure_path(r, dst), text, strlen(text), &ignored);
}

/* Decodes the upload, makes the thumbnail, stores it (atomically: concurrent requests for the
 * same task both write whole files) and answers it. */
static int make(struct api_req *r, const char *src, const char *dst, struct base_err *err)
{
    char *data = NULL, *cached = NULL;
    uint8_t *jpeg = NULL;
    size_t len = 0, jlen = 0;
    int rc = -1;
    if (!strncmp(src, "s3://", 5)) { /* an object: fetched into the cache first */
        int64_t project;
        if (store_task_project(r->api->store, r->m.ids[0], &project, err) ||
            !(src = cached = loop_s3_file(r->api->store, r->api->data_dir, project, src, err)))
            goto out;
    }
    if (base_file_read(src, THUMB_SOURCE_MAX, &data, &len, err))
        goto out;
    if (image_thumbnail(data, len, THUMB_SIDE, THUMB_QUALITY, &jpeg, &jlen, err)) {
        remember_failure(r, dst, err);
        goto out;
    }
    if (base_file_write_atomic(dst, jpeg, jlen, err))
        goto out;
    http_response_header(r->resp, "Cache-Control", "private, max-age=86400");
    http_response_header(r->resp, "X-Content-Type-Options", "nosniff");
    http_response_take(r->resp, 200, "image/jpeg", (char *)jpeg, jlen);
    jpeg = NULL;
    rc = 0;
out:
    base_free(cached);
    base_free(data);
    base_free(jpeg);
    return rc;
}

/* The upload task r->m.ids[0] shows and where its thumbnail goes, with the thumbnail's folder
 * made (paths in the request arena); 404 when the task shows no uploaded file. */
static int thumb_paths(struct api_req *r, char **src, char **dst, struct base_err *err)
{
    struct source s = {.arena = r->arena};
    struct store_task_query q = {.task = r->m.ids[0]};
    if (store_task_each(r->api->store, &q, find_source, &s, err))
        return -1;
    if (!s.tail && s.s3) {
        struct base_md5 m;
        char hex[33];
        base_md5_init(&m);
        base_md5_update(&m, s.s3, strlen(s.s3));
        base_md5_final(&m, hex);
        *src = (char *)s.s3;
        *dst = base_arena_printf(r->arena, "%s/thumbnails/s3/%lld/%s.jpg", r->api->media_dir,
                                 (long long)s.project, hex);
    } else {
        if (!s.tail || !api_media_valid_tail(s.tail))
            return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
        int64_t project;
        const char *rel = base_arena_printf(r->arena, "upload/%s", s.tail);
        if (store_file_upload_project(r->api->store, rel, &project, err))
            return -1;
        *src = base_arena_printf(r->arena, "%s/%s", r->api->media_dir, rel);
        *dst = base_arena_printf(r->arena, "%s/thumbnails/%s.jpg", r->api->media_dir, s.tail);
    }
    char *dir = base_arena_strdup(r->arena, *dst);
    *strrchr(dir, '/') = '\0';
    return base_mkdirs(dir, err);
}

/* On the image pool: another request may have made it while this one waited. */
/* The part both sides run: the paths, then the cached or failed-before answer. 1 when the
 * thumbnail still has to be made (src, dst set), else what the request returns. */
static int thumb_lookup(struct api_req *r, char **src, char **dst, struct base_err *err)
{
    if (thumb_paths(r, src, dst, err))
        return -1;
    if (send_cached(r, *dst) == 0)
        return 0;
    return failed_before(r, *dst, err) ? -1 : 1;
}

static int thumbnail_deferred(struct api_req *r, struct base_err *err)
{
    char *src, *dst;
    int rc = thumb_lookup(r, &src, &dst, err);
    return rc == 1 ? make(r, src, dst, err) : rc;
}

int api_task_thumbnail(struct api_req *r, struct base_err *err)
{
    char *src, *dst;
    int rc = thumb_lookup(r, &src, &dst, err);
    return rc == 1 ? api_defer(r, API_POOL_IMAGE, thumbnail_deferred, err) : rc;
}
