/* GET /data/upload/<project>/<file>: uploaded media, for authenticated users only, with HTTP
 * Range support (spec 6.2). The path must name an upload record exactly, so nothing outside
 * the upload folder can be reached whatever the URL says. Files are served from the UI's own
 * origin, so they go out as what their bytes are (an image type, never one from the name) with
 * nosniff and a sandbox policy; anything else, such as a file stored by an older version, is
 * only ever a download: a stored page can never run script as the logged-in user. */
#include "api_int.h"

#include <ctype.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "<digits>/<name>": one plain file name, no dot files, no separators, no control bytes. */
int api_media_valid_tail(const char *tail)
{
    const char *slash = strchr(tail, '/');
    if (!slash || slash == tail || tail[0] == '0')
        return 0;
    for (const char *p = tail; p < slash; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    const char *name = slash + 1;
    if (!*name || name[0] == '.' || strchr(name, '/') || strchr(name, '\\'))
        return 0;
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

const char *api_media_sniff(int fd)
{
    unsigned char p[12];
    ssize_t n = pread(fd, p, sizeof p, 0);
    if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return "image/jpeg";
    if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
        return "image/png";
    if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
        return "image/webp";
    return NULL;
}

static int open_file(const char *path, int *fd, uint64_t *size, struct base_err *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (*fd < 0 || fstat(*fd, &st) || !S_ISREG(st.st_mode)) {
        if (*fd >= 0)
            close(*fd);
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

int api_media_upload(struct api_req *r, struct base_err *err)
{
    const char *tail = r->m.tail;
    if (!tail || !api_media_valid_tail(tail))
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    char *rel = base_arena_printf(r->arena, "upload/%s", tail);
    int64_t project;
    if (store_file_upload_project(r->api->store, rel, &project, err))
        return -1;
    char *path = base_path_join(r->api->media_dir, rel);
    int fd;
    uint64_t size = 0, start = 0, len;
    int rc = open_file(path, &fd, &size, err);
    base_free(path);
    if (rc)
        return -1;
    len = size;
    int ranged = http_range_parse(http_request_header(r->http, "Range"), size, &start, &len);
    char range[96];
    http_response_header(r->resp, "Accept-Ranges", "bytes");
    http_response_header(r->resp, "Cache-Control", "private, max-age=3600");
    http_response_header(r->resp, "X-Content-Type-Options", "nosniff");
    http_response_header(r->resp, "Content-Security-Policy", "sandbox");
    const char *type = api_media_sniff(fd);
    if (!type)
        http_response_header(r->resp, "Content-Disposition", "attachment");
    if (ranged < 0) {
        close(fd);
        snprintf(range, sizeof range, "bytes */%llu", (unsigned long long)size);
        http_response_header(r->resp, "Content-Range", range);
        return api_reply_empty(r, 416);
    }
    if (ranged > 0) {
        snprintf(range, sizeof range, "bytes %llu-%llu/%llu", (unsigned long long)start,
                 (unsigned long long)(start + len - 1), (unsigned long long)size);
        http_response_header(r->resp, "Content-Range", range);
    }
    http_response_file(r->resp, ranged > 0 ? 206 : 200, type ? type : "application/octet-stream",
                       fd, start, len);
    return 0;
}
