/* Pascal VOC folder -> data set: one XML per image (<filename>, <object><name>, <bndbox>), the
 * images under images/ or JPEGImages/, classes sorted by name so indices do not depend on which
 * file happens to come first. */
#include "formats_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct formats_xml_limits voc_limits = {
    .max_bytes = 16u << 20,
    .max_depth = 32,
    .max_nodes = 200000,
};

/* Leaf text without surrounding white space, in the arena. */
static const char *child_text(struct base_arena *a, const struct formats_xml_node *n,
                              const char *name)
{
    const struct formats_xml_node *c = n ? formats_xml_child(n, name) : NULL;
    if (!c)
        return NULL;
    const char *s = c->text;
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    return base_arena_strndup(a, s, len);
}

static int is_dir(const char *root, const char *name)
{
    char *p = base_path_join(root, name);
    struct stat st;
    int ok = !stat(p, &st) && S_ISDIR(st.st_mode);
    base_free(p);
    return ok;
}

/* "images/<filename>", trying the usual extensions when the name has none. */
static char *image_file(const char *root, const char *imgdir, const char *filename)
{
    char *rel = base_path_join(imgdir, filename);
    if (strchr(filename, '.'))
        return rel;
    for (int i = 0; formats_image_exts[i]; i++) {
        char *cand = base_alloc(strlen(rel) + 8), *full;
        sprintf(cand, "%s%s", rel, formats_image_exts[i]);
        full = base_path_join(root, cand);
        int found = base_file_exists(full);
        base_free(full);
        if (found) {
            base_free(rel);
            return cand;
        }
        base_free(cand);
    }
    return rel;
}

static int read_object(struct base_arena *a, const struct formats_xml_node *obj,
                       struct formats_dataset *d, struct formats_sample *s, const char *xml,
                       struct base_err *err)
{
    static const char *const keys[] = {"xmin", "ymin", "xmax", "ymax"};
    char where[1200];
    snprintf(where, sizeof where, "%s:%u", xml, obj->line);
    const char *name = child_text(a, obj, "name");
    const struct formats_xml_node *bb = formats_xml_child(obj, "bndbox");
    if (!name || !*name)
        return base_err_set(err, BASE_E_INVALID, "%s: <object> without <name>", where);
    double v[4];
    for (int k = 0; k < 4; k++) {
        const char *t = child_text(a, bb, keys[k]);
        if (!t || base_parse_double(t, &v[k]))
            return base_err_set(err, BASE_E_INVALID, "%s: <bndbox><%s> missing or not a number",
                                where, keys[k]);
    }
    int cls = formats_dataset_add_class(d, name);
    return formats_sample_add_box(s, v[0], v[1], v[2], v[3], cls, where, err);
}

int formats_dataset_add_voc(struct formats_dataset *d, const char *text, size_t len,
                            const char *root, const char *where, struct base_err *err)
{
    struct base_arena *a = base_arena_new(65536);
    struct formats_xml_node *doc;
    char *file = NULL;
    int rc = -1;
    if (formats_xml_parse(text, len, &voc_limits, a, &doc, err)) {
        base_err_prefix(err, "%s: ", where);
        goto out;
    }
    const char *filename = child_text(a, doc, "filename");
    if (strcmp(doc->name, "annotation") || !filename || !*filename) {
        base_err_set(err, BASE_E_INVALID, "%s: expected <annotation> with <filename>", where);
        goto out;
    }
    const char *imgdir =
        is_dir(root, "images") || !is_dir(root, "JPEGImages") ? "images" : "JPEGImages";
    file = image_file(root, imgdir, filename);
    struct formats_sample *s = formats_dataset_add_image(d, root, file, where, err);
    if (!s)
        goto out;
    rc = 0;
    for (const struct formats_xml_node *o = doc->first_child; o && !rc; o = o->next)
        if (!strcmp(o->name, "object"))
            rc = read_object(a, o, d, s, where, err);
out:
    base_free(file);
    base_arena_free(a);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Classes were added in first-seen order; renumber them alphabetically. */
static void sort_classes(struct formats_dataset *d)
{
    char **sorted = base_calloc(d->nclasses + 1, sizeof *sorted);
    int *map = base_calloc(d->nclasses + 1, sizeof *map);
    memcpy(sorted, d->classes, d->nclasses * sizeof *sorted);
    qsort(sorted, d->nclasses, sizeof *sorted, cmp_str);
    for (size_t i = 0; i < d->nclasses; i++)
        for (size_t j = 0; j < d->nclasses; j++)
            if (d->classes[i] == sorted[j])
                map[i] = (int)j;
    for (size_t i = 0; i < d->nsamples; i++)
        for (size_t b = 0; b < d->samples[i].nboxes; b++)
            d->samples[i].boxes[b].cls = map[d->samples[i].boxes[b].cls];
    base_free(d->classes);
    d->classes = sorted;
    base_free(map);
}

int formats_read_voc(const char *root, struct formats_dataset *d, struct base_err *err)
{
    static const char *const xml_ext[] = {".xml", NULL};
    const char *anndir = is_dir(root, "Annotations") ? "Annotations" : "annotations";
    char *dir = base_path_join(root, anndir), **files;
    long n = formats_list_dir(dir, xml_ext, &files);
    int rc = 0;
    if (n < 0)
        rc = base_err_set(err, BASE_E_NOTFOUND, "%s: no Annotations/ or annotations/ folder", root);
    for (long i = 0; i < n && !rc; i++) {
        char *xml = base_path_join(dir, files[i]), *text = NULL;
        size_t len;
        rc = base_file_read(xml, voc_limits.max_bytes, &text, &len, err) ||
                     formats_dataset_add_voc(d, text, len, root, xml, err)
                 ? -1
                 : 0;
        base_free(xml), base_free(text);
    }
    if (!rc)
        sort_classes(d);
    formats_names_free(files, n);
    base_free(dir);
    return rc;
}
