/* Task lists on their way into the store (spec 2.4): flat dicts become {"data": ...}, the
 * `$undefined$` key gets the config's data key, every object-tag key must be present; entries of
 * annotations/predictions that are not objects are skipped as Label Studio skips them (its own
 * JSON export lists predictions as ids) and prediction results in Label Studio's short forms are
 * expanded. Tasks read from a body or a file also lose what only made sense on the instance that
 * exported them (file_upload) and get preannotated_from_fields applied. What an import skipped
 * is said in its report (api_import_warnings). */
#include "api_int.h"

#include <string.h>

#define API_IMPORT_MAX_TASKS 1000000

static int check_annotations(struct api_req *r, json_t *list, size_t i, struct base_err *err)
{
    size_t k;
    json_t *v;
    json_array_foreach(list, k, v)
    {
        json_t *res = json_object_get(v, "result");
        if (json_is_string(res)) { /* a result list sent as JSON text, as Label Studio accepts */
            json_t *parsed = base_json_parse(json_string_value(res), json_string_length(res), NULL);
            if (json_is_array(parsed))
                json_object_set(v, "result", parsed);
            json_decref(parsed);
            res = json_object_get(v, "result");
        }
        if (!json_is_array(res))
            return api_invalid(r, err, "non_field_errors",
                               "Task #%zu: each annotation must have a \"result\" list", i);
    }
    return 0;
}

static int expand_predictions(struct api_req *r, const struct store_project *row, json_t *list,
                              size_t i, struct base_err *err)
{
    size_t k;
    json_t *v;
    json_array_foreach(list, k, v)
    {
        char field[64];
        json_t *full = NULL;
        snprintf(field, sizeof field, "Task #%zu prediction %zu", i, k);
        if (api_prediction_result(r, row, json_object_get(v, "result"), field, &full, err))
            return -1;
        json_object_set_new(v, "result", full);
    }
    return 0;
}

/* Annotations and predictions: lists whose non-object entries are dropped and counted. */
static int check_lists(struct api_req *r, const struct store_project *row, json_t *t, size_t i,
                       struct api_import_notes *notes, struct base_err *err)
{
    static const char *const keys[] = {"annotations", "predictions"};
    for (int k = 0; k < 2; k++) {
        json_t *list = json_object_get(t, keys[k]);
        if (json_is_null(list))
            json_object_del(t, keys[k]);
        else if (list && !json_is_array(list))
            return api_invalid(r, err, "non_field_errors", "Task #%zu: %s must be a list", i,
                               keys[k]);
        size_t dropped = formats_task_drop_ids(t, keys[k]);
        if (notes)
            notes->ids_skipped += (int64_t)dropped;
    }
    return check_annotations(r, json_object_get(t, "annotations"), i, err) ||
           expand_predictions(r, row, json_object_get(t, "predictions"), i, err);
}

static int normalize_one(struct api_req *r, const struct store_project *row, json_t *tasks,
                         size_t k, size_t i, struct api_import_notes *notes, struct base_err *err)
{
    json_t *t = json_array_get(tasks, k);
    if (!json_is_object(t))
        return api_invalid(r, err, "non_field_errors", "Task #%zu: must be a JSON object", i);
    if (!json_is_object(json_object_get(t, "data"))) { /* a flat dict is the task's data */
        json_array_set_new(tasks, k, json_pack("{sO}", "data", t));
        t = json_array_get(tasks, k);
    }
    json_t *data = json_object_get(t, "data"), *meta = json_object_get(t, "meta");
    json_t *raw = json_object_get(data, "$undefined$");
    const char *ukey = store_project_data_key(row);
    if (raw && ukey && !json_object_get(data, ukey)) {
        json_object_set(data, ukey, raw);
        json_object_del(data, "$undefined$");
    }
    const char *key;
    json_t *tag;
    json_object_foreach(row->data_types, key, tag)
    {
        json_t *v = json_object_get(data, key);
        if (!v)
            return api_invalid(r, err, "non_field_errors",
                               "Task #%zu: \"%s\" key is expected in task data", i, key);
        if (!strcmp(json_string_value(tag) ? json_string_value(tag) : "", "Image") &&
            !json_is_string(v) && !json_is_array(v))
            return api_invalid(r, err, "non_field_errors",
                               "Task #%zu: data[\"%s\"] must be a URL string", i, key);
    }
    if (meta && !json_is_object(meta) && !json_is_null(meta))
        return api_invalid(r, err, "non_field_errors", "Task #%zu: meta must be an object", i);
    return check_lists(r, row, t, i, notes, err);
}

int api_tasks_normalize(struct api_req *r, const struct store_project *project_row, json_t *tasks,
                        struct base_err *err)
{
    return api_tasks_normalize_at(r, project_row, tasks, 0, NULL, err);
}

int api_tasks_normalize_at(struct api_req *r, const struct store_project *project_row,
                           json_t *tasks, size_t first, struct api_import_notes *notes,
                           struct base_err *err)
{
    if (!json_is_array(tasks))
        return api_invalid(r, err, "non_field_errors", "expected a list of tasks");
    if (first + json_array_size(tasks) > API_IMPORT_MAX_TASKS)
        return api_invalid(r, err, "non_field_errors", "more than %d tasks in one import",
                           API_IMPORT_MAX_TASKS);
    for (size_t k = 0; k < json_array_size(tasks); k++)
        if (normalize_one(r, project_row, tasks, k, first + k, notes, err))
            return -1;
    return 0;
}

/* ---- tasks from bodies and files ------------------------------------------------------------- */

json_t *api_import_pre_fields(struct api_req *r)
{
    const char *q = http_request_query(r->http, "preannotated_from_fields");
    if (!q || !*q)
        return NULL;
    json_t *list = json_array();
    while (*q) {
        size_t n = strcspn(q, ",");
        json_t *name = n ? json_stringn(q, n) : NULL;
        if (name)
            json_array_append_new(list, name);
        q += n + (q[n] == ',');
    }
    return list;
}

/* preannotated_from_fields: the named columns of a flat task become its predictions
 * ({"result": <column>}), the rest its data (Label Studio's reformat_predictions). */
static int preannotate(struct api_req *r, json_t *tasks, size_t k, size_t i, const json_t *fields,
                       struct base_err *err)
{
    json_t *t = json_array_get(tasks, k), *data = json_object_get(t, "data");
    data = json_deep_copy(json_is_object(data) ? data : t);
    json_t *preds = json_array();
    size_t f;
    json_t *name;
    json_array_foreach(fields, f, name)
    {
        json_t *v = json_object_get(data, json_string_value(name));
        if (!v) {
            json_decref(data);
            json_decref(preds);
            return api_invalid(r, err, "preannotated_from_fields", "Task #%zu has no field \"%s\"",
                               i, json_string_value(name));
        }
        json_array_append_new(preds, json_pack("{sO}", "result", v));
        json_object_del(data, json_string_value(name));
    }
    json_array_set_new(tasks, k, json_pack("{soso}", "data", data, "predictions", preds));
    return 0;
}

int api_task_from_outside(struct api_req *r, json_t *tasks, size_t k, size_t i,
                          const json_t *pre_fields, struct base_err *err)
{
    json_t *t = json_array_get(tasks, k);
    /* an export names the upload record of the instance it came from: not one of ours */
    if (json_is_object(t) && json_is_object(json_object_get(t, "data")))
        json_object_del(t, "file_upload");
    if (pre_fields && json_is_object(t))
        return preannotate(r, tasks, k, i, pre_fields, err);
    return 0;
}

json_t *api_import_warnings(const struct api_import_notes *n, const struct store_import_result *res)
{
    json_t *w = json_array();
    char msg[256];
    if (n->ids_skipped) {
        snprintf(msg, sizeof msg,
                 "%lld annotations or predictions were not objects and were skipped (Label "
                 "Studio's JSON export lists predictions as ids)",
                 (long long)n->ids_skipped);
        json_array_append_new(w, json_string(msg));
    }
    if (res && res->unknown_annotators) {
        snprintf(msg, sizeof msg,
                 "%lld annotations name an annotator who is no user here: their completed_by "
                 "is null",
                 (long long)res->unknown_annotators);
        json_array_append_new(w, json_string(msg));
    }
    return w;
}
