/* Pieces several writers share: the converter's category numbering, image names and paths, and
 * adding entries to the output zip. */
#include "formats_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int id_taken(const json_t *ids, json_int_t id)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ids, k, v) if (json_integer_value(v) == id) return 1;
    return 0;
}

static void add_category(struct formats_export *e, json_int_t id, const char *name)
{
    json_array_append_new(e->categories, json_pack("{s:I, s:s}", "id", id, "name", name));
    json_object_set_new(e->cat_ids, name, json_integer(id));
}

/* _get_labels of the converter: labels with an integer `category` keep it, the others are sorted
 * and numbered from 0 skipping taken ids. (0.0.44 used the attribute's raw string as the id; we
 * cast it to an integer as the current converter does.) */
void formats_export_categories(struct formats_export *e)
{
    e->categories = json_array();
    e->cat_ids = json_object();
    size_t n = 0, cap = 16;
    char **rest = base_alloc(cap * sizeof *rest);
    for (const struct formats_control *k = e->o.config->controls; k; k = k->next)
        for (const struct formats_label *l = k->labels; l; l = l->next) {
            int64_t id;
            if (json_object_get(e->cat_ids, l->key))
                continue;
            if (l->category && !base_parse_i64(l->category, &id)) {
                add_category(e, (json_int_t)id, l->key);
                continue;
            }
            if (n == cap)
                rest = base_realloc(rest, (cap *= 2) * sizeof *rest);
            rest[n++] = (char *)l->key;
        }
    if (n)
        qsort(rest, n, sizeof *rest, cmp_str);
    e->next_cat = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(rest[i], rest[i - 1]))
            continue;
        formats_export_category(e, rest[i]);
    }
    base_free(rest);
}

json_int_t formats_export_category(struct formats_export *e, const char *name)
{
    json_t *v = json_object_get(e->cat_ids, name);
    if (v)
        return json_integer_value(v);
    while (id_taken(e->cat_ids, e->next_cat))
        e->next_cat++;
    add_category(e, e->next_cat, name);
    return e->next_cat++;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

char *formats_export_image_name(const char *url)
{
    const char *d = strstr(url, "?d=");
    char *path;
    if (d) { /* /data/local-files/?d=dir/a.jpg, possibly percent-encoded */
        path = base_strdup(d + 3);
        char *w = path;
        for (const char *r = path; *r; r++) {
            if (*r == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
                *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
                r += 2;
            } else {
                *w++ = *r;
            }
        }
        *w = '\0';
    } else {
        path = base_strndup(url, strcspn(url, "?#"));
    }
    const char *slash = strrchr(path, '/');
    char *name = base_strdup(slash ? slash + 1 : path);
    base_free(path);
    return name;
}

char *formats_export_image_path(struct formats_export *e, const char *url)
{
    if (!url)
        return NULL;
    if (e->o.resolve)
        return e->o.resolve(e->o.resolve_ctx, url);
    return base_file_exists(url) ? base_strdup(url) : NULL;
}

int formats_export_zip_image(struct formats_export *e, const char *url, struct base_err *err)
{
    if (!e->o.download_resources || !url)
        return 0;
    char *base = formats_export_image_name(url), *name = base_path_join("images", base);
    char *path = NULL;
    int rc = 0;
    if (!*base || zip_name_locate(e->zip, name, 0) >= 0)
        goto out;
    path = formats_export_image_path(e, url);
    if (!path)
        goto out; /* the converter logs "Unable to download" and goes on */
    zip_source_t *src = zip_source_file(e->zip, path, 0, -1);
    zip_int64_t idx = src ? zip_file_add(e->zip, name, src, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
        if (src)
            zip_source_free(src);
        rc = base_err_set(err, BASE_E_IO, "%s: %s", path, zip_strerror(e->zip));
        goto out;
    }
    zip_set_file_compression(e->zip, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
out:
    base_free(base), base_free(name), base_free(path);
    return rc;
}

/* Entries below this size are stored: zlib sets up ~300 KB of state per deflated entry, which for
 * 100,000 small label files costs far more than the bytes it saves. */
#define FORMATS_ZIP_STORE_BELOW 16384

static int add_source(struct formats_export *e, const char *name, zip_source_t *src, size_t len,
                      struct base_err *err)
{
    zip_int64_t idx =
        src ? zip_file_add(e->zip, name, src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
        if (src)
            zip_source_free(src);
        return base_err_set(err, BASE_E_IO, "%s: %s", name, zip_strerror(e->zip));
    }
    if (len < FORMATS_ZIP_STORE_BELOW)
        zip_set_file_compression(e->zip, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
    else
        zip_set_file_compression(e->zip, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 1);
    return 0;
}

int formats_zip_add_buf(struct formats_export *e, const char *name, char *data, size_t len,
                        struct base_err *err)
{
    zip_source_t *src = zip_source_buffer(e->zip, data, len, 1);
    if (!src)
        base_free(data);
    return add_source(e, name, src, len, err);
}

int formats_zip_add_file(struct formats_export *e, const char *name, FILE *f, struct base_err *err)
{
    fflush(f);
    fseeko(f, 0, SEEK_END);
    off_t len = ftello(f);
    rewind(f);
    zip_source_t *src = len < 0 ? NULL : zip_source_filep(e->zip, f, 0, (zip_int64_t)len);
    if (!src)
        fclose(f);
    return add_source(e, name, src, len < 0 ? 0 : (size_t)len, err);
}

long long formats_trunc_px(double v)
{
    if (!(fabs(v) < 1e15)) /* garbage coordinates (and NaN) saturate instead of overflowing */
        return v < 0 ? -1000000000000000LL : 1000000000000000LL;
    return (long long)(v + (v >= 0 ? 1e-6 : -1e-6));
}

static int spool_open(struct formats_export *e, struct base_err *err)
{
    const char *dir = getenv("TMPDIR");
    char *path = base_path_join(dir && *dir ? dir : "/tmp", "ll-export-spool-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || !(e->spool = fdopen(fd, "w+b"))) {
        if (fd >= 0)
            close(fd);
        base_free(path);
        return base_err_set(err, BASE_E_IO, "cannot create a temporary file");
    }
    e->spool_path = path;
    return 0;
}

int formats_zip_add_spooled(struct formats_export *e, const char *name, const void *data,
                            size_t len, struct base_err *err)
{
    if (!len)
        return add_source(e, name, zip_source_buffer(e->zip, NULL, 0, 0), 0, err);
    if (!e->spool && spool_open(e, err))
        return -1;
    if (fwrite(data, 1, len, e->spool) != len)
        return base_err_set(err, BASE_E_IO, "%s: write failed", e->spool_path);
    /* the zip source is made at commit: libzip checks the range against the file's size */
    if (e->nspooled == e->capspooled) {
        e->capspooled = e->capspooled ? 2 * e->capspooled : 1024;
        e->spooled = base_realloc(e->spooled, e->capspooled * sizeof *e->spooled);
    }
    e->spooled[e->nspooled++] =
        (struct formats_spooled){.name = base_strdup(name), .at = e->spool_len, .len = len};
    e->spool_len += (off_t)len;
    return 0;
}

/* A zip source reading one spooled entry with pread on the spool's descriptor: libzip's file
 * source would open, stat and close the spool once per entry (100,000 times for YOLO/VOC). */
struct spool_src {
    int fd;
    off_t at;
    size_t len, done;
    time_t mtime;
    zip_error_t error;
};

static zip_int64_t spool_src_read(struct spool_src *s, void *data, zip_uint64_t len)
{
    size_t n = s->len - s->done < len ? s->len - s->done : (size_t)len;
    for (size_t got = 0; got < n;) {
        ssize_t r = pread(s->fd, (char *)data + got, n - got, s->at + (off_t)(s->done + got));
        if (r <= 0) {
            zip_error_set(&s->error, ZIP_ER_READ, r < 0 ? errno : EIO);
            return -1;
        }
        got += (size_t)r;
    }
    s->done += n;
    return (zip_int64_t)n;
}

static zip_int64_t spool_src_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    struct spool_src *s = ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        s->done = 0;
        return 0;
    case ZIP_SOURCE_READ:
        return spool_src_read(s, data, len);
    case ZIP_SOURCE_CLOSE:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = s->len;
        st->mtime = s->mtime;
        st->valid |= ZIP_STAT_SIZE | ZIP_STAT_MTIME;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&s->error, data, len);
    case ZIP_SOURCE_FREE:
        zip_error_fini(&s->error);
        base_free(s);
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              ZIP_SOURCE_SUPPORTS, -1);
    default:
        zip_error_set(&s->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

int formats_zip_spool_flush(struct formats_export *e, struct base_err *err)
{
    struct stat st = {0};
    if (e->spool && (fflush(e->spool) || fstat(fileno(e->spool), &st)))
        return base_err_set(err, BASE_E_IO, "%s: write failed", e->spool_path);
    for (size_t i = 0; i < e->nspooled; i++) {
        const struct formats_spooled *sp = &e->spooled[i];
        struct spool_src *s = base_calloc(1, sizeof *s);
        *s = (struct spool_src){
            .fd = fileno(e->spool), .at = sp->at, .len = sp->len, .mtime = st.st_mtime};
        zip_error_init(&s->error);
        zip_source_t *src = zip_source_function(e->zip, spool_src_cb, s);
        if (!src)
            base_free(s);
        if (add_source(e, sp->name, src, sp->len, err))
            return -1;
    }
    return 0;
}

void formats_zip_spool_remove(struct formats_export *e)
{
    for (size_t i = 0; i < e->nspooled; i++)
        base_free(e->spooled[i].name);
    base_free(e->spooled);
    e->spooled = NULL;
    e->nspooled = e->capspooled = 0;
    if (e->spool)
        fclose(e->spool);
    if (e->spool_path)
        unlink(e->spool_path);
    base_free(e->spool_path);
    e->spool = NULL;
    e->spool_path = NULL;
}
