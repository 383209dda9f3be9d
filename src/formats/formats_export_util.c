/* Pieces several writers share: the converter's category numbering, image names and paths, and
 * adding entries to the output zip. */
#include "formats_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

int formats_export_zip_image(struct formats_export *e, const char *url, const char *path,
                             struct base_err *err)
{
    if (!e->o.download_resources || !url)
        return 0;
    char *base = formats_export_image_name(url), *name = base_path_join("images", base);
    char *found = NULL;
    int rc = 0;
    if (*base && !formats_zip_has(e->zip, name) &&
        (path || (path = found = formats_export_image_path(e, url))))
        rc = formats_zip_add_file(e->zip, name, path, err);
    /* else: the converter logs "Unable to download" and goes on */
    base_free(base), base_free(name), base_free(found);
    return rc;
}

long long formats_trunc_px(double v)
{
    if (!(fabs(v) < 1e15)) /* garbage coordinates (and NaN) saturate instead of overflowing */
        return v < 0 ? -1000000000000000LL : 1000000000000000LL;
    return (long long)(v + (v >= 0 ? 1e-6 : -1e-6));
}
