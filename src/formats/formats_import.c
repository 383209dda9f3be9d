/* Data sets into Label Studio tasks and back: pixel boxes become rectanglelabels results in
 * percent of the real image size (as label-studio-converter's importers write them), and Label
 * Studio task JSON is checked and turned into pixel boxes for training and round trips. */
#include "formats_int.h"

#include <string.h>

/* The control boxes are imported into: the first RectangleLabels. */
static const struct formats_control *box_control(const struct formats_config *c)
{
    for (const struct formats_control *k = c->controls; k; k = k->next)
        if (!strcmp(k->type, "RectangleLabels"))
            return k;
    return NULL;
}

static int has_label(const struct formats_control *k, const char *name)
{
    for (const struct formats_label *l = k->labels; l; l = l->next)
        if (!strcmp(l->key, name))
            return 1;
    return 0;
}

int formats_import_check(const struct formats_dataset *d, const struct formats_import_opts *o,
                         struct base_err *err)
{
    const struct formats_control *k = box_control(o->config);
    if (!k)
        return base_err_set(err, BASE_E_INVALID,
                            "the labeling config has no RectangleLabels control for the boxes");
    if (!formats_config_first_data_key(o->config))
        return base_err_set(err, BASE_E_INVALID, "the labeling config has no image data key");
    for (size_t i = 0; i < d->nsamples; i++)
        for (size_t b = 0; b < d->samples[i].nboxes; b++) {
            const char *name = d->classes[d->samples[i].boxes[b].cls];
            if (!k->dynamic && !has_label(k, name))
                return base_err_set(
                    err, BASE_E_INVALID,
                    "%s: unknown label \"%s\" (not in <RectangleLabels name=\"%s\">)",
                    d->samples[i].file, name, k->name);
        }
    return 0;
}

static json_t *region(const struct formats_control *k, const struct formats_sample *s,
                      const struct formats_box *b, const char *label, const char *id)
{
    double W = s->width, H = s->height;
    json_t *value = json_pack("{s:f, s:f, s:f, s:f, s:i, s:[s]}", "x", b->x0 / W * 100, "y",
                              b->y0 / H * 100, "width", (b->x1 - b->x0) / W * 100, "height",
                              (b->y1 - b->y0) / H * 100, "rotation", 0, "rectanglelabels", label);
    return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:o}", "id", id, "type",
                     "rectanglelabels", "from_name", k->name, "to_name", k->to_names[0],
                     "original_width", s->width, "original_height", s->height, "image_rotation", 0,
                     "value", value);
}

static void region_id(const struct formats_import_opts *o, size_t i, size_t b, char out[32])
{
    static const char hex[] = "0123456789abcdef";
    if (!o->rng) {
        snprintf(out, 32, "%zu_%zu", i, b);
        return;
    }
    for (int c = 0; c < 10; c++)
        out[c] = hex[base_rng_below(o->rng, 16)];
    out[10] = '\0';
}

json_t *formats_import_task(const struct formats_dataset *d, size_t i, const char *url,
                            const struct formats_import_opts *o)
{
    const struct formats_control *k = box_control(o->config);
    const struct formats_sample *s = &d->samples[i];
    json_t *result = json_array();
    char id[32];
    for (size_t b = 0; k && b < s->nboxes; b++) {
        region_id(o, i, b, id);
        json_array_append_new(result, region(k, s, &s->boxes[b], d->classes[s->boxes[b].cls], id));
    }
    const char *key = formats_config_first_data_key(o->config);
    json_t *task = json_pack("{s:{s:s}}", "data", key ? key : "image", url);
    if (o->as_predictions)
        json_object_set_new(task, "predictions",
                            json_pack("[{s:s, s:o}]", "model_version",
                                      o->model_version ? o->model_version : "", "result", result));
    else
        json_object_set_new(task, "annotations",
                            json_pack("[{s:o, s:b}]", "result", result, "ground_truth", 0));
    return task;
}

/* ---- Label Studio task JSON ------------------------------------------------------------------ */

size_t formats_task_drop_ids(json_t *task, const char *key)
{
    json_t *list = json_object_get(task, key);
    size_t dropped = 0;
    for (size_t i = 0; json_is_array(list) && i < json_array_size(list);)
        if (json_is_object(json_array_get(list, i)))
            i++;
        else
            json_array_remove(list, i), dropped++;
    return dropped;
}

static int check_list(const json_t *task, const char *key, size_t t, struct base_err *err)
{
    const json_t *list = json_object_get(task, key), *a;
    size_t i;
    if (!list)
        return 0;
    if (!json_is_array(list))
        return base_err_set(err, BASE_E_INVALID, "tasks[%zu].%s: expected a list", t, key);
    json_array_foreach(list, i, a)
    {
        json_t *r = json_object_get(a, "result");
        if (json_is_string(r)) /* Label Studio also accepts the result as a JSON string */
            continue;
        if (!json_is_array(r))
            return base_err_set(err, BASE_E_INVALID, "tasks[%zu].%s[%zu].result: expected a list",
                                t, key, i);
    }
    return 0;
}

int formats_tasks_parse(const char *text, size_t len, json_t **tasks, size_t *skipped,
                        struct base_err *err)
{
    if (skipped)
        *skipped = 0;
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je), *t;
    if (!doc)
        return base_err_set(err, BASE_E_INVALID, "line %d, column %d: %s", je.line, je.column,
                            je.text);
    if (json_is_object(doc))
        doc = json_pack("[o]", doc);
    if (!json_is_array(doc)) {
        json_decref(doc);
        return base_err_set(err, BASE_E_INVALID, "expected a list of tasks or one task");
    }
    json_t *out = json_array();
    size_t i;
    int rc = 0;
    json_array_foreach(doc, i, t)
    {
        if (!json_is_object(t)) {
            rc = base_err_set(err, BASE_E_INVALID, "tasks[%zu]: expected an object", i);
            break;
        }
        json_t *data = json_object_get(t, "data");
        if (data && !json_is_object(data)) {
            rc = base_err_set(err, BASE_E_INVALID, "tasks[%zu].data: expected an object", i);
            break;
        }
        size_t dropped =
            formats_task_drop_ids(t, "annotations") + formats_task_drop_ids(t, "predictions");
        if (skipped)
            *skipped += dropped;
        if (check_list(t, "annotations", i, err) || check_list(t, "predictions", i, err)) {
            rc = -1;
            break;
        }
        json_array_append_new(out, data ? json_incref(t) : json_pack("{s:O}", "data", t));
    }
    json_decref(doc);
    if (rc)
        json_decref(out);
    else
        *tasks = out;
    return rc;
}
