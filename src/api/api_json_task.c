/* Task serializers: the Data Manager shape of /api/tasks, the export shape of spec 1.2 and the
 * all-fields shape of ML payloads; `$undefined$` data keys renamed on the way out. */
#include "api_int.h"

#include <string.h>

static json_t *task_data(const struct store_task *t, const char *undefined_key)
{
    json_t *raw = json_object_get(t->data, "$undefined$");
    if (!raw || !undefined_key || json_object_get(t->data, undefined_key))
        return json_incref(t->data);
    json_t *d = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(t->data, k, v)
        json_object_set(d, strcmp(k, "$undefined$") ? k : undefined_key, v);
    return d;
}

static json_t *id_or_null(int64_t id)
{
    return id > 0 ? json_integer(id) : json_null();
}

/* annotators, completed_at, annotations_ids, avg_lead_time and friends of the DM shape. */
static void dm_aggregates(json_t *j, const struct store_task *t)
{
    json_t *annotators = json_array();
    struct base_buf ids, versions;
    base_buf_init(&ids, 1 << 20);
    base_buf_init(&versions, 1 << 20);
    int64_t completed = 0;
    double lead = 0;
    int nlead = 0;
    for (size_t i = 0; i < t->nannotations; i++) {
        const struct store_annotation *a = &t->annotations[i];
        int seen = 0;
        for (size_t k = 0; k < json_array_size(annotators); k++)
            seen |= json_integer_value(json_array_get(annotators, k)) == a->completed_by;
        if (!seen && a->completed_by)
            json_array_append_new(annotators, json_integer(a->completed_by));
        completed = a->created_at > completed ? a->created_at : completed;
        if (a->has_lead_time)
            lead += a->lead_time, nlead++;
        base_buf_printf(&ids, NULL, "%s%lld", i ? ", " : "", (long long)a->id);
    }
    for (size_t i = 0, nv = 0; i < t->npredictions; i++) {
        const char *mv = t->predictions[i].model_version;
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |= !strcmp(t->predictions[k].model_version, mv);
        if (!seen)
            base_buf_printf(&versions, NULL, "%s%s", nv++ ? ", " : "", mv);
    }
    json_object_set_new(j, "annotators", annotators);
    json_object_set_new(j, "inner_id", json_integer(t->inner_id));
    json_object_set_new(j, "cancelled_annotations", json_integer(t->cancelled_annotations));
    json_object_set_new(j, "total_annotations", json_integer(t->total_annotations));
    json_object_set_new(j, "total_predictions", json_integer(t->total_predictions));
    json_object_set_new(j, "completed_at", api_time_json(completed));
    json_object_set_new(j, "annotations_results", json_string(""));
    json_object_set_new(j, "predictions_results", json_string(""));
    json_object_set_new(j, "predictions_score",
                        t->has_prediction_score ? json_real(t->prediction_score) : json_null());
    json_object_set_new(j, "file_upload",
                        t->file_upload ? json_string(t->file_upload) : json_null());
    json_object_set_new(j, "storage_filename", json_null());
    json_object_set_new(j, "annotations_ids", json_string(ids.data ? ids.data : ""));
    json_object_set_new(j, "predictions_model_versions",
                        json_string(versions.data ? versions.data : ""));
    json_object_set_new(j, "avg_lead_time", nlead ? json_real(lead / nlead) : json_null());
    json_object_set_new(j, "draft_exists", json_false());
    base_buf_release(&ids);
    base_buf_release(&versions);
}

static void model_fields(json_t *j, const struct store_task *t, const char *undefined_key)
{
    json_object_set_new(j, "data", task_data(t, undefined_key));
    json_object_set_new(j, "meta", json_incref(t->meta));
    json_object_set_new(j, "created_at", api_time_json(t->created_at));
    json_object_set_new(j, "updated_at", api_time_json(t->updated_at));
}

static void counter_fields(json_t *j, const struct store_task *t)
{
    json_object_set_new(j, "inner_id", json_integer(t->inner_id));
    json_object_set_new(j, "total_annotations", json_integer(t->total_annotations));
    json_object_set_new(j, "cancelled_annotations", json_integer(t->cancelled_annotations));
    json_object_set_new(j, "total_predictions", json_integer(t->total_predictions));
    json_object_set_new(j, "comment_count", json_integer(0));
    json_object_set_new(j, "unresolved_comment_count", json_integer(0));
    json_object_set_new(j, "last_comment_updated_at", json_null());
    json_object_set_new(j, "project", json_integer(t->project));
    json_object_set_new(j, "updated_by", id_or_null(t->updated_by));
}

static json_t *annotations_json(struct api_users *users, const struct store_task *t, int export)
{
    json_t *list = json_array();
    for (size_t i = 0; i < t->nannotations; i++)
        json_array_append_new(list, export ? api_annotation_export_json(&t->annotations[i])
                                           : api_annotation_json(users, &t->annotations[i]));
    return list;
}

static json_t *predictions_json(const struct store_task *t, int ids_only)
{
    json_t *list = json_array();
    for (size_t i = 0; i < t->npredictions; i++)
        json_array_append_new(list, ids_only ? json_integer(t->predictions[i].id)
                                             : api_prediction_json(&t->predictions[i]));
    return list;
}

static json_t *task_dm(struct api_users *users, const struct store_task *t, int full,
                       const char *key)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(t->id));
    if (full) {
        json_object_set_new(j, "annotations", annotations_json(users, t, 0));
        json_object_set_new(j, "predictions", predictions_json(t, 0));
    }
    json_object_set_new(j, "drafts", json_array());
    dm_aggregates(j, t);
    json_t *updated_by = json_array();
    if (t->updated_by)
        json_array_append_new(updated_by, json_pack("{sI}", "user_id", (json_int_t)t->updated_by));
    json_object_set_new(j, "updated_by", updated_by);
    model_fields(j, t, key);
    json_object_set_new(j, "is_labeled", json_boolean(t->is_labeled));
    json_object_set_new(j, "overlap", json_integer(t->overlap));
    json_object_set_new(j, "comment_count", json_integer(0));
    json_object_set_new(j, "unresolved_comment_count", json_integer(0));
    json_object_set_new(j, "last_comment_updated_at", json_null());
    json_object_set_new(j, "project", json_integer(t->project));
    json_object_set_new(j, "comment_authors", json_array());
    return j;
}

static json_t *task_export(struct api_users *users, const struct store_task *t, int simple,
                           const char *key)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(t->id));
    json_object_set_new(j, "annotations", annotations_json(users, t, 1));
    json_object_set_new(j, "file_upload",
                        simple           ? id_or_null(t->file_upload_id)
                        : t->file_upload ? json_string(t->file_upload)
                                         : json_null());
    json_object_set_new(j, "drafts", json_array());
    json_object_set_new(j, "predictions", predictions_json(t, !simple));
    model_fields(j, t, key);
    if (simple) {
        json_object_set_new(j, "is_labeled", json_boolean(t->is_labeled));
        json_object_set_new(j, "overlap", json_integer(t->overlap));
    }
    counter_fields(j, t);
    json_object_set_new(j, "comment_authors", json_array());
    return j;
}

json_t *api_task_json(struct api_users *users, const struct store_task *t,
                      enum api_task_shape shape, int full, const char *undefined_key)
{
    switch (shape) {
    case API_TASK_DM:
        return task_dm(users, t, full, undefined_key);
    case API_TASK_EXPORT:
        return task_export(users, t, 0, undefined_key);
    case API_TASK_SIMPLE:
        return task_export(users, t, 1, undefined_key);
    }
    return json_null();
}
