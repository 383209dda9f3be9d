/* COCO detection json -> data set: images in file order, categories ordered by id become the
 * classes, bbox [x, y, w, h] in pixels checked against the real image size. */
#include "formats_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct coco_cat {
    json_int_t id;
    const char *name;
};

static int cmp_cat(const void *a, const void *b)
{
    const struct coco_cat *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The json file and the folder its image names are relative to. */
static int locate(const char *path, char **json, char **root, struct base_err *err)
{
    static const char *const names[] = {"result.json", "annotations.json", NULL};
    struct stat st;
    if (stat(path, &st))
        return base_err_set(err, BASE_E_NOTFOUND, "%s: no such file or folder", path);
    if (S_ISREG(st.st_mode)) {
        *json = base_strdup(path);
        char *slash = strrchr(path, '/');
        *root = slash ? base_strndup(path, (size_t)(slash - path)) : base_strdup(".");
        const char *last = strrchr(*root, '/');
        if (!strcmp(last ? last + 1 : *root, "annotations")) {
            char *parent = last ? base_strndup(*root, (size_t)(last - *root)) : base_strdup(".");
            base_free(*root);
            *root = parent;
        }
        return 0;
    }
    for (int i = 0; names[i]; i++) {
        char *p = base_path_join(path, names[i]);
        if (!stat(p, &st) && S_ISREG(st.st_mode)) {
            *json = p;
            *root = base_strdup(path);
            return 0;
        }
        base_free(p);
    }
    char *ann = base_path_join(path, "annotations"), **files;
    static const char *const json_ext[] = {".json", NULL};
    long n = formats_list_dir(ann, json_ext, &files);
    int rc = n == 1 ? 0
                    : base_err_set(err, BASE_E_NOTFOUND,
                                   "%s: no result.json, annotations.json or single "
                                   "annotations/*.json",
                                   path);
    if (!rc) {
        *json = base_path_join(ann, files[0]);
        *root = base_strdup(path);
    }
    formats_names_free(files, n);
    base_free(ann);
    return rc;
}

static int read_categories(const json_t *cats, struct formats_dataset *d, struct coco_cat **out,
                           size_t *n, struct base_err *err)
{
    if (!json_is_array(cats))
        return base_err_set(err, BASE_E_INVALID, "categories: expected a list");
    *n = json_array_size(cats);
    *out = base_calloc(*n + 1, sizeof **out);
    size_t i;
    json_t *c;
    json_array_foreach(cats, i, c)
    {
        json_t *id = json_object_get(c, "id");
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!json_is_integer(id) || !name)
            return base_err_set(err, BASE_E_INVALID, "categories[%zu]: needs integer id and name",
                                i);
        (*out)[i] = (struct coco_cat){json_integer_value(id), name};
    }
    qsort(*out, *n, sizeof **out, cmp_cat);
    for (i = 0; i < *n; i++) {
        if (i && (*out)[i].id == (*out)[i - 1].id)
            return base_err_set(err, BASE_E_INVALID, "categories: duplicate id %lld",
                                (long long)(*out)[i].id);
        formats_dataset_add_class(d, (*out)[i].name);
    }
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    json_int_t x = *(const json_int_t *)a, y = *(const json_int_t *)b;
    return x < y ? -1 : x > y;
}

static int read_images(const json_t *images, const char *root, struct formats_dataset *d,
                       json_int_t **ids, struct base_err *err)
{
    if (!json_is_array(images))
        return base_err_set(err, BASE_E_INVALID, "images: expected a list");
    /* (id, index) pairs, sorted by id afterwards for lookups */
    *ids = base_calloc(2 * json_array_size(images) + 2, sizeof **ids);
    size_t i;
    json_t *im;
    char where[64];
    json_array_foreach(images, i, im)
    {
        json_t *id = json_object_get(im, "id");
        const char *file = json_string_value(json_object_get(im, "file_name"));
        snprintf(where, sizeof where, "images[%zu]", i);
        if (!json_is_integer(id) || !file)
            return base_err_set(err, BASE_E_INVALID, "%s: needs integer id and file_name", where);
        (*ids)[2 * i] = json_integer_value(id);
        (*ids)[2 * i + 1] = (json_int_t)i;
        struct formats_sample *s = formats_dataset_add_image(d, root, file, where, err);
        if (!s)
            return -1;
        json_t *w = json_object_get(im, "width"), *h = json_object_get(im, "height");
        if (s->path && json_is_number(w) && json_is_number(h) &&
            (json_number_value(w) != s->width || json_number_value(h) != s->height))
            return base_err_set(
                err, BASE_E_INVALID, "%s: width/height %gx%g differ from the image %s (%dx%d)",
                where, json_number_value(w), json_number_value(h), s->path, s->width, s->height);
    }
    qsort(*ids, d->nsamples, 2 * sizeof **ids, cmp_id);
    for (i = 1; i < d->nsamples; i++)
        if ((*ids)[2 * i] == (*ids)[2 * i - 2])
            return base_err_set(err, BASE_E_INVALID, "images: duplicate id %lld",
                                (long long)(*ids)[2 * i]);
    return 0;
}

static long find_id(const json_int_t *ids, size_t n, json_int_t id)
{
    const json_int_t *p = bsearch(&id, ids, n, 2 * sizeof *ids, cmp_id);
    return p ? (long)p[1] : -1;
}

static int read_annotations(const json_t *anns, struct formats_dataset *d, const json_int_t *ids,
                            const struct coco_cat *cats, size_t ncats, struct base_err *err)
{
    if (!json_is_array(anns))
        return base_err_set(err, BASE_E_INVALID, "annotations: expected a list");
    size_t i;
    json_t *a;
    char where[64];
    json_array_foreach(anns, i, a)
    {
        snprintf(where, sizeof where, "annotations[%zu]", i);
        json_t *img = json_object_get(a, "image_id"), *cat = json_object_get(a, "category_id");
        json_t *bbox = json_object_get(a, "bbox");
        if (!json_is_integer(img) || !json_is_integer(cat))
            return base_err_set(err, BASE_E_INVALID, "%s: needs integer image_id and category_id",
                                where);
        long s = find_id(ids, d->nsamples, json_integer_value(img));
        if (s < 0)
            return base_err_set(err, BASE_E_INVALID, "%s.image_id: unknown image %lld", where,
                                (long long)json_integer_value(img));
        struct coco_cat key = {json_integer_value(cat), NULL};
        struct coco_cat *c = bsearch(&key, cats, ncats, sizeof *cats, cmp_cat);
        if (!c)
            return base_err_set(err, BASE_E_INVALID, "%s.category_id: unknown category %lld", where,
                                (long long)key.id);
        if (json_array_size(bbox) != 4)
            return base_err_set(err, BASE_E_INVALID, "%s.bbox: expected [x, y, w, h]", where);
        double v[4];
        for (int k = 0; k < 4; k++) {
            if (!json_is_number(json_array_get(bbox, (size_t)k)))
                return base_err_set(err, BASE_E_INVALID, "%s.bbox: not a number", where);
            v[k] = json_number_value(json_array_get(bbox, (size_t)k));
        }
        if (formats_sample_add_box(&d->samples[s], v[0], v[1], v[0] + v[2], v[1] + v[3],
                                   (int)(c - cats), where, err))
            return -1;
    }
    return 0;
}

int formats_dataset_add_coco(struct formats_dataset *d, const char *text, size_t len,
                             const char *root, struct base_err *err)
{
    struct coco_cat *cats = NULL;
    json_int_t *ids = NULL;
    size_t ncats = 0;
    json_error_t je;
    int rc = -1;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return base_err_set(err, BASE_E_INVALID, "line %d, column %d: %s", je.line, je.column,
                            je.text);
    if (!json_is_object(doc))
        base_err_set(err, BASE_E_INVALID, "expected a COCO object");
    else if (!read_categories(json_object_get(doc, "categories"), d, &cats, &ncats, err) &&
             !read_images(json_object_get(doc, "images"), root, d, &ids, err) &&
             !read_annotations(json_object_get(doc, "annotations"), d, ids, cats, ncats, err))
        rc = 0;
    json_decref(doc);
    base_free(cats), base_free(ids);
    return rc;
}

int formats_read_coco(const char *path, struct formats_dataset *d, struct base_err *err)
{
    char *json_path = NULL, *root = NULL, *text = NULL;
    size_t len;
    int rc = -1;
    if (locate(path, &json_path, &root, err) ||
        base_file_read(json_path, FORMATS_ANN_MAX_BYTES, &text, &len, err))
        goto out;
    rc = formats_dataset_add_coco(d, text, len, root, err);
    if (rc)
        base_err_prefix(err, "%s: ", json_path);
out:
    base_free(text), base_free(json_path), base_free(root);
    return rc;
}
