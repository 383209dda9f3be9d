/* YOLO detection folder -> data set: classes.txt, images/, labels/<stem>.txt with one
 * "<class> <cx> <cy> <w> <h>" line per box, normalised to the real image size. */
#include "formats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int formats_dataset_add_yolo_classes(struct formats_dataset *d, char *text, size_t len,
                                     const char *where, struct base_err *err)
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    int line = 1;
    for (char *p = text; len && p; line++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r')
            p[--n] = '\0';
        if (!n || formats_dataset_class(d, p) >= 0)
            return base_err_set(err, BASE_E_INVALID, "%s:%d: %s class name", where, line,
                                n ? "duplicate" : "empty");
        formats_dataset_add_class(d, p);
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

static int read_classes(const char *root, struct formats_dataset *d, struct base_err *err)
{
    char *path = base_path_join(root, "classes.txt"), *text = NULL;
    size_t len;
    int rc = base_file_read(path, 16u << 20, &text, &len, err) ||
                     formats_dataset_add_yolo_classes(d, text, len, path, err)
                 ? -1
                 : 0;
    base_free(text), base_free(path);
    return rc;
}

static int parse_line(char *line, double v[5])
{
    char *p = line, *end;
    for (int i = 0; i < 5; i++) {
        v[i] = strtod(p, &end);
        if (end == p)
            return -1;
        p = end;
    }
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    return *p ? -1 : 0;
}

int formats_dataset_add_yolo_labels(struct formats_dataset *d, struct formats_sample *s, char *text,
                                    const char *where, struct base_err *err)
{
    int line = 1;
    for (char *p = text; p; line++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *q = p + strspn(p, " \t\r");
        double v[5];
        if (!*q) {
            p = nl ? nl + 1 : NULL;
            continue;
        }
        if (parse_line(q, v))
            return base_err_set(err, BASE_E_INVALID, "%s:%d: expected \"class cx cy w h\"", where,
                                line);
        if (!(v[0] >= 0 && v[0] < (double)d->nclasses) || v[0] != floor(v[0]))
            return base_err_set(err, BASE_E_INVALID,
                                "%s:%d: class %g not in classes.txt (%zu "
                                "classes)",
                                where, line, v[0], d->nclasses);
        char at[600];
        snprintf(at, sizeof at, "%s:%d", where, line);
        double W = s->width, H = s->height;
        if (formats_sample_add_box(s, (v[1] - v[3] / 2) * W, (v[2] - v[4] / 2) * H,
                                   (v[1] + v[3] / 2) * W, (v[2] + v[4] / 2) * H, (int)v[0], at,
                                   err))
            return -1;
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

static char *stem_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    return base_strndup(name, dot ? (size_t)(dot - name) : strlen(name));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every label file must belong to an image: a stray one is a sign of a broken data set. */
static int check_stray_labels(const char *root, char **images, long nimages, struct base_err *err)
{
    static const char *const txt[] = {".txt", NULL};
    char *dir = base_path_join(root, "labels"), **labels;
    long n = formats_list_dir(dir, txt, &labels);
    char **stems = base_calloc((size_t)nimages + 1, sizeof *stems);
    for (long i = 0; i < nimages; i++)
        stems[i] = stem_of(images[i]);
    qsort(stems, (size_t)nimages, sizeof *stems, cmp_str);
    int rc = 0;
    for (long i = 0; i < n && !rc; i++) {
        char *stem = stem_of(labels[i]);
        if (!bsearch(&stem, stems, (size_t)nimages, sizeof *stems, cmp_str))
            rc = base_err_set(err, BASE_E_NOTFOUND, "%s/labels/%s: no image images/%s.*", root,
                              labels[i], stem);
        base_free(stem);
    }
    formats_names_free(stems, nimages);
    formats_names_free(labels, n);
    base_free(dir);
    return rc;
}

static int read_sample(const char *root, const char *image, struct formats_dataset *d,
                       struct base_err *err)
{
    char *file = base_path_join("images", image), *stem = stem_of(image);
    char *rel = base_alloc(strlen(stem) + 12);
    sprintf(rel, "labels/%s.txt", stem);
    char *lpath = base_path_join(root, rel), *text = NULL, *where = base_path_join(root, rel);
    size_t len;
    int rc = -1;
    struct formats_sample *s = formats_dataset_add_image(d, root, file, where, err);
    if (!s)
        goto out;
    struct base_err e;
    if (base_file_read(lpath, FORMATS_ANN_MAX_BYTES, &text, &len, &e)) {
        if (e.status == BASE_E_NOTFOUND)
            rc = 0; /* no label file: no boxes */
        else
            base_err_set(err, e.status, "%s", e.msg);
        goto out;
    }
    rc = formats_dataset_add_yolo_labels(d, s, text, where, err);
out:
    base_free(file), base_free(stem), base_free(rel), base_free(lpath), base_free(text);
    base_free(where);
    return rc;
}

int formats_read_yolo(const char *root, struct formats_dataset *d, struct base_err *err)
{
    if (read_classes(root, d, err))
        return -1;
    char *dir = base_path_join(root, "images"), **images;
    long n = formats_list_dir(dir, formats_image_exts, &images);
    int rc = 0;
    if (n < 0)
        rc = base_err_set(err, BASE_E_NOTFOUND, "%s: cannot read folder", dir);
    for (long i = 0; i < n && !rc; i++)
        rc = read_sample(root, images[i], d, err);
    if (!rc)
        rc = check_stray_labels(root, images, n < 0 ? 0 : n, err);
    formats_names_free(images, n);
    base_free(dir);
    return rc;
}
