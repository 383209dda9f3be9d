/* GET /api/tasks/{id}/thumbnail: a small JPEG of the task's uploaded image for the task list.
 * Made once with src/image (scaled-DCT decode, orientation, area resize, JPEG encode) and kept
 * under <media>/thumbnails/<project>/<file>.jpg; later requests are a file send. Only uploaded
 * media have thumbnails: a task pointing elsewhere answers 404. */
#include "api_int.h"

#include "image/image.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define THUMB_SIDE       128
#define THUMB_QUALITY    80
#define THUMB_SOURCE_MAX (256u << 20)
#define UPLOAD_PREFIX    "/data/upload/"

struct source {
    const char *tail; /* "<project>/<file>" in the request arena, or NULL */
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
    json_object_foreach(t->data, key, v)
    {
        const char *url = json_string_value(v);
        if (url && !strncmp(url, UPLOAD_PREFIX, strlen(UPLOAD_PREFIX))) {
            s->tail = base_arena_printf(s->arena, "%s", url + strlen(UPLOAD_PREFIX));
            return 0;
        }
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
    http_response_file(r->resp, 200, "image/jpeg", fd, 0, (uint64_t)st.st_size);
    return 0;
}

/* Decodes the upload, makes the thumbnail, stores it (atomically: concurrent requests for the
 * same task both write whole files) and answers it. */
static int make(struct api_req *r, const char *src, const char *dst, struct base_err *err)
{
    char *data = NULL, *dir = NULL;
    uint8_t *jpeg = NULL;
    size_t len = 0, jlen = 0;
    int rc = -1;
    if (base_file_read(src, THUMB_SOURCE_MAX, &data, &len, err))
        goto out;
    if (image_thumbnail(data, len, THUMB_SIDE, THUMB_QUALITY, &jpeg, &jlen, err))
        goto out;
    dir = base_arena_printf(r->arena, "%s", dst);
    *strrchr(dir, '/') = '\0';
    if (base_mkdirs(dir, err) || base_file_write_atomic(dst, jpeg, jlen, err))
        goto out;
    http_response_header(r->resp, "Cache-Control", "private, max-age=86400");
    http_response_take(r->resp, 200, "image/jpeg", (char *)jpeg, jlen);
    jpeg = NULL;
    rc = 0;
out:
    base_free(data);
    base_free(jpeg);
    return rc;
}

int api_task_thumbnail(struct api_req *r, struct base_err *err)
{
    struct source s = {NULL, r->arena};
    struct store_task_query q = {.task = r->m.ids[0]};
    if (store_task_each(r->api->store, &q, find_source, &s, err))
        return -1;
    if (!s.tail || !api_media_valid_tail(s.tail))
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    int64_t project;
    const char *rel = base_arena_printf(r->arena, "upload/%s", s.tail);
    if (store_file_upload_project(r->api->store, rel, &project, err))
        return -1;
    char *src = base_path_join(r->api->media_dir, rel);
    char *dst =
        base_path_join(r->api->media_dir, base_arena_printf(r->arena, "thumbnails/%s.jpg", s.tail));
    int rc = send_cached(r, dst) == 0 ? 0 : make(r, src, dst, err);
    base_free(src);
    base_free(dst);
    return rc;
}
