/* The in-memory detection data set every reader fills: samples with the real image size from the
 * image header and pixel boxes checked against it; plus the dispatch to the per-format readers. */
#include "formats_int.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int formats_read_coco(const char *path, struct formats_dataset *d, struct base_err *err);
int formats_read_yolo(const char *path, struct formats_dataset *d, struct base_err *err);
int formats_read_voc(const char *path, struct formats_dataset *d, struct base_err *err);

const char *const formats_image_exts[] = {".jpg", ".jpeg", ".png", ".webp", NULL};

struct formats_dataset *formats_dataset_new(void)
{
    return base_calloc(1, sizeof(struct formats_dataset));
}

void formats_dataset_free(struct formats_dataset *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nclasses; i++)
        base_free(d->classes[i]);
    for (size_t i = 0; i < d->nsamples; i++) {
        base_free(d->samples[i].file);
        base_free(d->samples[i].path);
        base_free(d->samples[i].boxes);
    }
    base_free(d->classes);
    base_free(d->samples);
    base_free(d);
}

int formats_dataset_class(const struct formats_dataset *d, const char *name)
{
    for (size_t i = 0; i < d->nclasses; i++)
        if (!strcmp(d->classes[i], name))
            return (int)i;
    return -1;
}

int formats_dataset_add_class(struct formats_dataset *d, const char *name)
{
    int i = formats_dataset_class(d, name);
    if (i >= 0)
        return i;
    d->classes = base_realloc(d->classes, (d->nclasses + 1) * sizeof *d->classes);
    d->classes[d->nclasses] = base_strdup(name);
    return (int)d->nclasses++;
}

static char *find_image(const char *root, const char *file)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char *cands[3] = {base_path_join(root, file), NULL, NULL};
    char *images = base_path_join(root, "images");
    cands[1] = base_path_join(images, file);
    cands[2] = base_path_join(images, base);
    base_free(images);
    char *found = NULL;
    struct stat st;
    for (int i = 0; i < 3; i++) {
        if (!found && !stat(cands[i], &st) && S_ISREG(st.st_mode))
            found = cands[i];
        else
            base_free(cands[i]);
    }
    return found;
}

struct formats_sample *formats_dataset_add_image(struct formats_dataset *d, const char *root,
                                                 const char *file, const char *where,
                                                 struct base_err *err)
{
    if (!*file || file[0] == '/' || strstr(file, "../") || !strcmp(file, "..")) {
        base_err_set(err, BASE_E_INVALID, "%s: bad image file name \"%s\"", where, file);
        return NULL;
    }
    char *path = find_image(root, file);
    struct formats_image_info info;
    struct base_err e = {0};
    if (!path) {
        base_err_set(&e, BASE_E_NOTFOUND, "%s: image \"%s\" not found under %s", where, file, root);
    } else if (formats_image_probe(path, &info, &e)) {
        base_err_prefix(&e, "%s: ", where);
        base_free(path);
        path = NULL;
    }
    if (!path && !d->lenient) {
        if (err)
            *err = e;
        return NULL;
    }
    if (!path) { /* a placeholder that takes its boxes and is dropped after reading */
        BASE_WARN("skipping image %s: %s", file, e.msg);
        d->skipped++;
        info = (struct formats_image_info){0};
    }
    d->samples = base_realloc(d->samples, (d->nsamples + 1) * sizeof *d->samples);
    struct formats_sample *s = &d->samples[d->nsamples++];
    *s = (struct formats_sample){.file = base_strdup(file),
                                 .path = path,
                                 .width = info.width,
                                 .height = info.height,
                                 .channels = info.channels};
    return s;
}

int formats_sample_add_box(struct formats_sample *s, double x0, double y0, double x1, double y1,
                           int cls, const char *where, struct base_err *err)
{
    if (!s->path)
        return 0; /* an image a lenient read left out */
    const double slack = 1.0;
    if (!(x0 <= x1 && y0 <= y1) || x0 < -slack || y0 < -slack || x1 > s->width + slack ||
        y1 > s->height + slack)
        return base_err_set(err, BASE_E_INVALID,
                            "%s: box [%g, %g, %g, %g] is outside image %s (%dx%d)", where, x0, y0,
                            x1, y1, s->file, s->width, s->height);
    s->boxes = base_realloc(s->boxes, (s->nboxes + 1) * sizeof *s->boxes);
    s->boxes[s->nboxes++] = (struct formats_box){
        .x0 = x0 < 0 ? 0 : x0,
        .y0 = y0 < 0 ? 0 : y0,
        .x1 = x1 > s->width ? s->width : x1,
        .y1 = y1 > s->height ? s->height : y1,
        .cls = cls,
    };
    return 0;
}

static int has_ext(const char *name, const char *const *exts)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; exts && exts[i]; i++)
        if (dot && !strcasecmp(dot, exts[i]))
            return 1;
    return !exts;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

long formats_list_dir(const char *dir, const char *const *exts, char ***names)
{
    DIR *dh = opendir(dir);
    *names = NULL;
    if (!dh)
        return -1;
    long n = 0;
    struct dirent *e;
    struct stat st;
    while ((e = readdir(dh))) {
        char *full = base_path_join(dir, e->d_name);
        int ok = e->d_name[0] != '.' && has_ext(e->d_name, exts) && !stat(full, &st) &&
                 S_ISREG(st.st_mode);
        base_free(full);
        if (!ok)
            continue;
        *names = base_realloc(*names, (size_t)(n + 1) * sizeof **names);
        (*names)[n++] = base_strdup(e->d_name);
    }
    closedir(dh);
    if (n)
        qsort(*names, (size_t)n, sizeof **names, cmp_names);
    return n;
}

void formats_names_free(char **names, long n)
{
    for (long i = 0; i < n; i++)
        base_free(names[i]);
    base_free(names);
}

static int read_kind(const char *path, enum formats_kind kind, struct formats_dataset *d,
                     struct base_err *err)
{
    switch (kind) {
    case FORMATS_COCO:
        return formats_read_coco(path, d, err);
    case FORMATS_YOLO:
        return formats_read_yolo(path, d, err);
    case FORMATS_VOC:
        return formats_read_voc(path, d, err);
    default:
        return base_err_set(err, BASE_E_UNSUPPORTED, "%s is not a detection data set format",
                            formats_kind_name(kind));
    }
}

int formats_dataset_read(const char *path, enum formats_kind kind, struct formats_dataset **out,
                         struct base_err *err)
{
    struct formats_dataset *d = formats_dataset_new();
    if (read_kind(path, kind, d, err)) {
        formats_dataset_free(d);
        return -1;
    }
    *out = d;
    return 0;
}

int formats_dataset_read_lenient(const char *path, enum formats_kind kind,
                                 struct formats_dataset **out, struct base_err *err)
{
    struct formats_dataset *d = formats_dataset_new();
    d->lenient = 1;
    int rc = read_kind(path, kind, d, err);
    size_t k = 0;
    for (size_t i = 0; i < d->nsamples; i++) {
        if (d->samples[i].path) {
            d->samples[k++] = d->samples[i];
            continue;
        }
        base_free(d->samples[i].file);
        base_free(d->samples[i].boxes);
    }
    d->nsamples = k;
    if (rc) {
        formats_dataset_free(d);
        return -1;
    }
    *out = d;
    return 0;
}
