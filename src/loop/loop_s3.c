/* Media kept in object storage: the detector reads files, so an s3:// image of a task is fetched
 * once through the project's S3 import storage (its credentials, endpoint and region) into a
 * cache under the data dir, and training and predictions read the cached copy. The cache is keyed
 * by storage and object key: an object rewritten under the same key keeps its old copy until the
 * cache folder is removed (docs/scale.md). */
#include "loop_int.h"

#include "s3/s3.h"

#include <string.h>
#include <sys/stat.h>

int loop_s3_split(const char *uri, char **bucket, char **key)
{
    if (strncmp(uri, "s3://", 5))
        return -1;
    const char *b = uri + 5, *slash = strchr(b, '/');
    if (!slash || slash == b || !slash[1])
        return -1;
    *bucket = base_strndup(b, (size_t)(slash - b));
    *key = base_strdup(slash + 1);
    return 0;
}

struct find {
    const char *bucket;
    struct store_storage *out;
    int found;
};

static int match(void *ctx, const struct store_storage *s, struct base_err *err)
{
    (void)err;
    struct find *f = ctx;
    const char *b = json_string_value(json_object_get(s->data, "bucket"));
    if (!b || strcmp(b, f->bucket))
        return 0;
    *f->out = *s;
    f->out->data = json_incref(s->data);
    f->found = 1;
    return 1;
}

int loop_s3_storage(struct store *st, int64_t project, const char *bucket,
                    struct store_storage *out, struct base_err *err)
{
    memset(out, 0, sizeof *out);
    struct find f = {bucket, out, 0};
    if (store_storage_each(st, project, "s3", "import", match, &f, err) < 0)
        return -1;
    if (!f.found)
        return base_err_set(err, BASE_E_NOTFOUND,
                            "project %lld has no S3 import storage of bucket %s",
                            (long long)project, bucket);
    return 0;
}

static char *cache_path(const char *data_dir, int64_t storage, const char *key)
{
    struct base_md5 m;
    char hex[33];
    base_md5_init(&m);
    base_md5_update(&m, key, strlen(key));
    base_md5_final(&m, hex);
    const char *dot = strrchr(key, '.');
    char ext[12] = "";
    if (dot && strlen(dot) < sizeof ext && !strchr(dot, '/'))
        snprintf(ext, sizeof ext, "%s", dot);
    char *rel = base_strprintf("media/s3cache/%lld/%s%s", (long long)storage, hex, ext);
    char *path = base_path_join(data_dir, rel);
    base_free(rel);
    return path;
}

char *loop_s3_file(struct store *st, const char *data_dir, int64_t project, const char *uri,
                   struct base_err *err)
{
    char *bucket = NULL, *key = NULL, *path = NULL;
    struct store_storage s = {0};
    if (loop_s3_split(uri, &bucket, &key)) {
        base_err_set(err, BASE_E_INVALID, "%s: not an s3://bucket/key URI", uri);
        return NULL;
    }
    if (loop_s3_storage(st, project, bucket, &s, err))
        goto fail;
    path = cache_path(data_dir, s.id, key);
    struct stat sb;
    if (!stat(path, &sb) && S_ISREG(sb.st_mode))
        goto out;
    char *dir = base_strdup(path);
    *strrchr(dir, '/') = '\0';
    struct s3_config c;
    s3_config_from_json(s.data, &c);
    struct s3 *s3 = NULL;
    int rc = base_mkdirs(dir, err) || !(s3 = s3_new(&c, err)) ||
             s3_get_file(s3, key, path, LOOP_S3_MAX_OBJECT, err);
    s3_free(s3);
    base_free(dir);
    if (!rc)
        goto out;
fail:
    base_err_prefix(err, "%s: ", uri);
    base_free(path);
    path = NULL;
out:
    store_storage_release(&s);
    base_free(bucket);
    base_free(key);
    return path;
}
