/* The start-up sweep of the media folder. Uploads are written (temp name, fsync, rename) before
 * the transaction that records them commits, so a crash in between leaves a file no record
 * points to; so does one killed while writing (its temp file). `serve` removes both, and the
 * folders of data-set imports that were cut off, before it serves anything. */
#include "api_int.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Regular files of upload/<project>/ without an upload record; links and folders are not ours to
 * judge and stay. */
static int sweep_project(struct api *api, const char *project, size_t *removed,
                         struct base_err *err)
{
    char *rel = base_path_join("upload", project), *dir = base_path_join(api->media_dir, rel);
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0;
    while (d && rc == 0 && (e = readdir(d))) {
        char *file = base_path_join(rel, e->d_name), *path = base_path_join(dir, e->d_name);
        struct stat st;
        int64_t owner;
        struct base_err miss = {0};
        if (!lstat(path, &st) && S_ISREG(st.st_mode) &&
            store_file_upload_project(api->store, file, &owner, &miss)) {
            if (miss.status != BASE_E_NOTFOUND)
                rc = base_err_set(err, miss.status, "sweeping %s: %s", dir, miss.msg);
            else if (unlink(path) == 0)
                ++*removed;
        }
        base_free(file);
        base_free(path);
    }
    if (d)
        closedir(d);
    base_free(rel);
    base_free(dir);
    return rc;
}

/* tmp-import-* folders of POST /import/dataset, and spool files where O_TMPFILE is missing. */
static void sweep_temporaries(struct api *api)
{
    DIR *d = opendir(api->data_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, "tmp-import-", 11))
            continue;
        char *path = base_path_join(api->data_dir, e->d_name);
        struct base_err ignored;
        base_remove_tree(path, &ignored);
        base_free(path);
    }
    if (d)
        closedir(d);
    char *spool = base_path_join(api->data_dir, "tmp");
    d = opendir(spool);
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, ".spool-", 7))
            continue;
        char *path = base_path_join(spool, e->d_name);
        unlink(path);
        base_free(path);
    }
    if (d)
        closedir(d);
    base_free(spool);
}

int api_sweep_uploads(struct api *api, size_t *removed, struct base_err *err)
{
    size_t n = 0;
    sweep_temporaries(api);
    char *uploads = base_path_join(api->media_dir, "upload");
    DIR *d = opendir(uploads);
    struct dirent *e;
    int rc = 0;
    while (d && rc == 0 && (e = readdir(d)))
        if (is_digits(e->d_name))
            rc = sweep_project(api, e->d_name, &n, err);
    if (d)
        closedir(d);
    base_free(uploads);
    if (removed)
        *removed = n;
    return rc;
}
