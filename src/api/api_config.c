/* Labeling configs: validation on save through the formats module's parser (spec 4.5 A), the
 * derived project columns, and the check of a new config against the project's existing tasks
 * and annotations (spec 4.5 B). The one place the API touches labeling-config XML. */
#include "api_int.h"

#include "formats/formats.h"

#include <string.h>

int api_label_config_apply(struct api_req *r, const char *xml, const char *field, json_t *fields,
                           struct base_err *err)
{
    struct formats_config *cfg = NULL;
    struct base_err perr = {0};
    if (formats_config_parse(xml, strlen(xml), &cfg, &perr))
        return api_invalid(r, err, field, "%s", perr.msg);
    json_object_set_new(fields, "parsed_label_config", formats_config_parsed(cfg));
    json_object_set_new(fields, "data_types", formats_config_data_types(cfg));
    if (!json_object_get(fields, "control_weights"))
        json_object_set_new(fields, "control_weights", formats_config_control_weights(cfg));
    formats_config_free(cfg);
    return 0;
}

/* What the project holds, gathered in one pass over its tasks (only when a config changes). */
struct usage_ctx {
    struct formats_usage u;
    json_t *common, *created_annotations, *created_labels;
    int first;
};

static int usage_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct usage_ctx *x = ctx;
    if (x->first) {
        const char *k;
        json_t *v;
        json_object_foreach(t->data, k, v) if (strcmp(k, "$undefined$"))
            json_array_append_new(x->common, json_string(k));
        x->first = 0;
    } else {
        for (size_t i = json_array_size(x->common); i-- > 0;)
            if (!json_object_get(t->data, json_string_value(json_array_get(x->common, i))))
                json_array_remove(x->common, i);
    }
    for (size_t i = 0; i < t->nannotations; i++)
        if (t->annotations[i].result)
            formats_summary_update(x->created_annotations, x->created_labels,
                                   t->annotations[i].result, 1);
    x->u.ntasks++;
    x->u.nannotations += (int64_t)t->nannotations;
    return 0;
}

/* Checks `xml` against project `id`'s data: 400 with Label Studio's message under `field`. */
int api_label_config_check_usage(struct api_req *r, int64_t id, const char *xml, int strict,
                                 const char *field, struct base_err *err)
{
    struct formats_config *cfg = NULL;
    struct base_err perr = {0};
    if (formats_config_parse(xml, strlen(xml), &cfg, &perr))
        return api_invalid(r, err, field, "%s", perr.msg);
    struct usage_ctx x = {.common = json_array(),
                          .created_annotations = json_object(),
                          .created_labels = json_object(),
                          .first = 1};
    struct store_task_query q = {.project = id, .with_annotations = 1};
    int rc = store_task_each(r->api->store, &q, usage_task, &x, err);
    char *detail = NULL;
    x.u.common_data_columns = x.common;
    x.u.created_annotations = x.created_annotations;
    x.u.created_labels = x.created_labels;
    if (rc == 0 && formats_config_check_usage(cfg, &x.u, strict, &detail, &perr))
        rc = api_invalid(r, err, field, "%s", detail ? detail : perr.msg);
    base_free(detail);
    json_decref(x.common);
    json_decref(x.created_annotations);
    json_decref(x.created_labels);
    formats_config_free(cfg);
    return rc;
}
