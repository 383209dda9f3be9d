/* Files: bounded reads, atomic replacement (temp name, fsync, rename, fsync dir), directories. */
#include "base.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int base_file_read(const char *path, size_t limit, char **data, size_t *len, struct base_err *err)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return base_err_set(err, errno == ENOENT ? BASE_E_NOTFOUND : BASE_E_IO, "%s: %s", path,
                            strerror(errno));
    struct base_buf b;
    base_buf_init(&b, limit);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (base_buf_append(&b, chunk, n, err)) {
            base_err_prefix(err, "%s: ", path);
            rc = -1;
            break;
        }
    }
    if (!rc && ferror(f))
        rc = base_err_set(err, BASE_E_IO, "%s: read error", path);
    fclose(f);
    if (rc) {
        base_buf_release(&b);
        return -1;
    }
    *data = base_buf_steal(&b, len);
    return 0;
}

struct base_afile {
    FILE *f;
    char *path;
    char *tmp;
};

struct base_afile *base_afile_open(const char *path, struct base_err *err)
{
    char suffix[17];
    if (base_random_hex(suffix, 8, err))
        return NULL;
    struct base_afile *af = base_calloc(1, sizeof *af);
    af->path = base_strdup(path);
    size_t n = strlen(path) + 32;
    af->tmp = base_alloc(n);
    snprintf(af->tmp, n, "%s.tmp-%s", path, suffix);
    af->f = fopen(af->tmp, "wbx");
    if (!af->f) {
        base_err_set(err, BASE_E_IO, "%s: %s", af->tmp, strerror(errno));
        base_free(af->tmp);
        base_free(af->path);
        base_free(af);
        return NULL;
    }
    return af;
}

FILE *base_afile_stream(struct base_afile *af)
{
    return af->f;
}

static int fsync_dir_of(const char *path)
{
    char *copy = base_strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    base_free(copy);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static void afile_free(struct base_afile *af)
{
    base_free(af->tmp);
    base_free(af->path);
    base_free(af);
}

int base_afile_commit(struct base_afile *af, struct base_err *err)
{
    int rc = 0;
    if (fflush(af->f) || ferror(af->f) || fsync(fileno(af->f)))
        rc = base_err_set(err, BASE_E_IO, "%s: write failed: %s", af->path, strerror(errno));
    if (fclose(af->f) && !rc)
        rc = base_err_set(err, BASE_E_IO, "%s: close failed: %s", af->path, strerror(errno));
    if (!rc && rename(af->tmp, af->path))
        rc = base_err_set(err, BASE_E_IO, "%s: rename failed: %s", af->path, strerror(errno));
    if (rc)
        unlink(af->tmp);
    else
        fsync_dir_of(af->path);
    afile_free(af);
    return rc;
}

void base_afile_abort(struct base_afile *af)
{
    if (!af)
        return;
    fclose(af->f);
    unlink(af->tmp);
    afile_free(af);
}

int base_file_write_atomic(const char *path, const void *data, size_t len, struct base_err *err)
{
    struct base_afile *af = base_afile_open(path, err);
    if (!af)
        return -1;
    if (len && fwrite(data, 1, len, af->f) != len) {
        base_err_set(err, BASE_E_IO, "%s: write failed: %s", path, strerror(errno));
        base_afile_abort(af);
        return -1;
    }
    return base_afile_commit(af, err);
}

int base_mkdirs(const char *path, struct base_err *err)
{
    char *p = base_strdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0755) && errno != EEXIST) {
            rc = base_err_set(err, BASE_E_IO, "mkdir %s: %s", p, strerror(errno));
            break;
        }
        *s = saved;
        if (!saved)
            break;
    }
    base_free(p);
    return rc;
}

int base_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int base_remove_tree(const char *path, struct base_err *err)
{
    struct stat st;
    if (lstat(path, &st))
        return errno == ENOENT ? 0 : base_err_set(err, BASE_E_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return base_err_set(err, BASE_E_IO, "%s: %s", path, strerror(errno));
        struct dirent *e;
        int rc = 0;
        while (!rc && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *child = base_path_join(path, e->d_name);
            rc = base_remove_tree(child, err);
            base_free(child);
        }
        closedir(d);
        if (rc)
            return -1;
        if (rmdir(path))
            return base_err_set(err, BASE_E_IO, "rmdir %s: %s", path, strerror(errno));
        return 0;
    }
    if (unlink(path) && errno != ENOENT)
        return base_err_set(err, BASE_E_IO, "unlink %s: %s", path, strerror(errno));
    return 0;
}

char *base_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    size_t lb = strlen(b);
    char *out = base_alloc(la + lb + 2);
    memcpy(out, a, la);
    out[la] = '/';
    memcpy(out + la + 1, b, lb + 1);
    return out;
}
