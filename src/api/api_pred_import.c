/* Predictions in bulk and in short: Label Studio's short forms of a prediction result (one
 * region object, a value payload such as {"choices": ["A"]}, or a bare label for a Choices
 * config, expanded with the project's labeling config as Label Studio's
 * prepare_prediction_result does), POST /api/projects/{id}/import/predictions (the SDK's
 * create_predictions) and GET /api/projects/{id}/model-versions (get_model_versions,
 * get_predictions_coverage). */
#include "api_int.h"

#include <string.h>

#define API_PREDICTIONS_MAX 1000000

/* The one region of a result given as a value payload or a bare label: the first control of the
 * config whose type takes it. */
static json_t *region_for(const json_t *parsed, const json_t *result)
{
    const char *name;
    json_t *ctl;
    json_object_foreach((json_t *)parsed, name, ctl)
    {
        char type[64];
        const char *tag = json_string_value(json_object_get(ctl, "type"));
        snprintf(type, sizeof type, "%s", tag ? tag : "");
        for (char *p = type; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        json_t *value = NULL;
        /* a TextArea's value holds its lines under "text" */
        const char *key = strcmp(type, "textarea") ? type : "text";
        if (json_is_object(result) && json_object_get(result, key))
            value = json_incref((json_t *)result);
        else if (json_is_string(result) && !strcmp(type, "choices"))
            value = json_pack("{s[O]}", "choices", result);
        else if (json_is_string(result) && !strcmp(type, "textarea"))
            value = json_pack("{s[O]}", "text", result);
        else if (json_is_integer(result) && (!strcmp(type, "rating") || !strcmp(type, "number")))
            value = json_pack("{sO}", type, result);
        if (!value)
            continue;
        struct base_buf to;
        base_buf_init(&to, 1 << 16);
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(ctl, "to_name"), i, t)
            base_buf_printf(&to, NULL, "%s%s", i ? "," : "", json_string_value(t));
        json_t *region = json_pack("[{ss ss ss so}]", "from_name", name, "to_name",
                                   to.data ? to.data : "", "type", type, "value", value);
        base_buf_release(&to);
        return region;
    }
    return NULL;
}

int api_prediction_result(struct api_req *r, const struct store_project *row, const json_t *result,
                          const char *field, json_t **out, struct base_err *err)
{
    *out = NULL;
    json_t *parsed = NULL;
    if (json_is_string(result)) { /* a result list sent as JSON text */
        parsed = base_json_parse(json_string_value(result), json_string_length(result), NULL);
        if (json_is_array(parsed) || json_is_object(parsed))
            result = parsed;
    }
    size_t i;
    const json_t *item;
    if (json_is_array(result)) {
        json_array_foreach(result, i, item) if (!json_is_object(item))
        {
            json_decref(parsed);
            return api_invalid(r, err, field, "Each item in prediction result should be dict");
        }
        *out = json_incref((json_t *)result);
    } else if (json_is_object(result) && json_is_object(json_object_get(result, "value"))) {
        *out = json_pack("[O]", result); /* one whole region */
    } else if (result && !json_is_null(result)) {
        *out = region_for(row->parsed_label_config, result);
    }
    json_decref(parsed);
    if (*out)
        return 0;
    if (!result || json_is_null(result))
        return api_invalid(r, err, field, "This field is required.");
    return api_invalid(r, err, field,
                       "cannot read this prediction result: give a list of regions, one region, "
                       "a value such as {\"choices\": [\"A\"]}, or a label of a Choices tag");
}

/* ---- POST /api/projects/{id}/import/predictions ---------------------------------------------- */

static int read_one(struct api_req *r, const struct store_project *row, const json_t *item,
                    size_t i, struct store_prediction *p, struct base_err *err)
{
    const json_t *task = json_object_get(item, "task"), *score = json_object_get(item, "score");
    const json_t *mv = json_object_get(item, "model_version");
    char field[48];
    snprintf(field, sizeof field, "%zu", i);
    if (!json_is_object(item) || !json_is_integer(task))
        return api_invalid(r, err, field, "each prediction needs a \"task\" id");
    if ((score && !json_is_null(score) && !json_is_number(score)) ||
        (mv && !json_is_null(mv) &&
         (!json_is_string(mv) || json_string_length(mv) > STORE_MODEL_VERSION_MAX)))
        return api_invalid(r, err, field, "score must be a number and model_version a string");
    p->task = json_integer_value(task);
    p->has_score = json_is_number(score);
    p->score = json_number_value(score);
    /* Label Studio names the version of an imported prediction "undefined" when none is given */
    snprintf(p->model_version, sizeof p->model_version, "%s",
             json_is_string(mv) ? json_string_value(mv) : "undefined");
    return api_prediction_result(r, row, json_object_get(item, "result"), field, &p->result, err);
}

int api_project_import_predictions(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    json_t *body = NULL;
    struct store_prediction *ps = NULL;
    size_t n = 0;
    int rc = -1;
    if (api_project_row(r, r->m.ids[0], &row, err) || !(body = api_body_json(r, err)))
        goto out;
    if (!json_is_array(body) || json_array_size(body) > API_PREDICTIONS_MAX) {
        api_invalid(r, err, "non_field_errors", "expected a list of at most %d predictions",
                    API_PREDICTIONS_MAX);
        goto out;
    }
    ps = base_calloc(json_array_size(body) + 1, sizeof *ps);
    for (n = 0; n < json_array_size(body); n++)
        if (read_one(r, &row, json_array_get(body, n), n, &ps[n], err))
            goto out;
    if (store_predictions_import(r->api->store, r->m.ids[0], ps, n, err))
        goto out;
    rc = api_reply_json(r, 201, json_pack("{sI}", "created", (json_int_t)n));
out:
    for (size_t i = 0; ps && i < json_array_size(body); i++)
        store_prediction_release(&ps[i]);
    base_free(ps);
    json_decref(body);
    store_project_release(&row);
    return rc;
}

/* ---- GET /api/projects/{id}/model-versions ----------------------------------------------------
 */

static int add_version(void *ctx, const char *model_version, int64_t count, struct base_err *err)
{
    (void)err;
    json_object_set_new(ctx, model_version, json_integer(count));
    return 0;
}

/* {"<model_version>": <predictions>, ...}; the project's own model_version with 0 when it has
 * none (Label Studio 1.6). */
int api_project_model_versions(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    json_t *out = json_object();
    if (api_project_row(r, r->m.ids[0], &row, err) ||
        store_prediction_versions(r->api->store, r->m.ids[0], add_version, out, err)) {
        store_project_release(&row);
        json_decref(out);
        return -1;
    }
    const char *mine = row.model_version;
    if (mine && *mine && !json_object_get(out, mine))
        json_object_set_new(out, mine, json_integer(0));
    store_project_release(&row);
    return api_reply_json(r, 200, out);
}
