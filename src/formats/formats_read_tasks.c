/* Label Studio tasks -> data set: the rectangles of each task's newest non-cancelled annotation (or
 * first prediction) in pixels, for training from a JSON export and for round-trip checks. A rotated
 * rectangle becomes its axis-aligned bounds. */
#include "formats_int.h"

#include <string.h>

static const json_t *pick(const json_t *task, int use_predictions, const char **where)
{
    if (use_predictions) {
        *where = "predictions[0]";
        return json_array_get(json_object_get(task, "predictions"), 0);
    }
    const json_t *anns = json_object_get(task, "annotations"), *a, *best = NULL;
    size_t i;
    json_array_foreach(anns, i, a)
    {
        if (json_is_true(json_object_get(a, "was_cancelled")))
            continue;
        const char *at = json_string_value(json_object_get(a, "created_at"));
        const char *bt = best ? json_string_value(json_object_get(best, "created_at")) : NULL;
        if (!best || strcmp(at ? at : "", bt ? bt : "") > 0)
            best = a;
    }
    *where = "annotations";
    return best;
}

static const char *task_image(const json_t *task)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(task, "data"), k,
                        v) if (json_is_string(v)) return json_string_value(v);
    return NULL;
}

static struct formats_sample *add_sample(struct formats_dataset *d, const char *url, char *path,
                                         int w, int h)
{
    d->samples = base_realloc(d->samples, (d->nsamples + 1) * sizeof *d->samples);
    struct formats_sample *s = &d->samples[d->nsamples++];
    *s = (struct formats_sample){.file = base_strdup(url),
                                 .path = path ? path : base_strdup(""),
                                 .width = w,
                                 .height = h,
                                 .channels = 3};
    return s;
}

static int add_box(struct formats_dataset *d, struct formats_sample *s, const json_t *r,
                   const char *where, struct base_err *err)
{
    const json_t *v = json_object_get(r, "value");
    const json_t *labels = json_object_get(v, "rectanglelabels");
    if (!labels)
        labels = json_object_get(v, "labels");
    const char *name = json_string_value(json_array_get(labels, 0));
    if (!name || !json_is_number(json_object_get(v, "width")))
        return 0; /* not a labelled rectangle */
    double W = s->width, H = s->height, b[4];
    double x = formats_json_num(json_object_get(v, "x")) / 100 * W;
    double y = formats_json_num(json_object_get(v, "y")) / 100 * H;
    double w = formats_json_num(json_object_get(v, "width")) / 100 * W;
    double h = formats_json_num(json_object_get(v, "height")) / 100 * H;
    formats_rotated_bounds(x, y, w, h, formats_json_num(json_object_get(v, "rotation")), b);
    return formats_sample_add_box(s, b[0], b[1], b[2], b[3], formats_dataset_add_class(d, name),
                                  where, err);
}

static int add_task(struct formats_dataset *d, const json_t *task, size_t t, int use_predictions,
                    formats_resolve_fn resolve, void *ctx, struct base_err *err)
{
    const char *url = task_image(task), *what;
    const json_t *ann = pick(task, use_predictions, &what);
    const json_t *result = json_object_get(ann, "result"), *first = json_array_get(result, 0);
    if (!url)
        return base_err_set(err, BASE_E_INVALID, "tasks[%zu].data: no image", t);
    char *path = resolve ? resolve(ctx, url) : base_file_exists(url) ? base_strdup(url) : NULL;
    struct formats_image_info info;
    struct base_err ignored;
    int w, h;
    if (path && !formats_image_probe(path, &info, &ignored)) {
        w = info.width, h = info.height;
    } else if (json_is_integer(json_object_get(first, "original_width"))) {
        w = (int)json_integer_value(json_object_get(first, "original_width"));
        h = (int)json_integer_value(json_object_get(first, "original_height"));
    } else {
        base_free(path);
        if (!json_array_size(result))
            return 0; /* nothing to place, nothing lost */
        return base_err_set(err, BASE_E_NOTFOUND,
                            "tasks[%zu]: image \"%s\" not found and no original_width/height", t,
                            url);
    }
    struct formats_sample *s = add_sample(d, url, path, w, h);
    size_t i;
    json_t *r;
    char where[96];
    json_array_foreach(result, i, r)
    {
        snprintf(where, sizeof where, "tasks[%zu].%s.result[%zu]", t, what, i);
        if (add_box(d, s, r, where, err))
            return -1;
    }
    return 0;
}

int formats_dataset_add_tasks(struct formats_dataset *d, const json_t *tasks, int use_predictions,
                              formats_resolve_fn resolve, void *ctx, struct base_err *err)
{
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i,
                       t) if (add_task(d, t, i, use_predictions, resolve, ctx, err)) return -1;
    return 0;
}
