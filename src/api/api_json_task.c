/* Task serializers: the Data Manager shape of /api/tasks, the export shape of spec 1.2 and the
 * all-fields shape of ML payloads; `$undefined$` data keys renamed on the way out. */
#include "api_int.h"

#include <math.h>
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
    /* Label Studio: the newest annotation's time, only once the task is labeled */
    json_object_set_new(j, "completed_at", api_time_json(t->is_labeled ? completed : 0));
    json_object_set_new(j, "annotations_results", json_string(""));
    json_object_set_new(j, "predictions_results", json_string(""));
    json_object_set_new(j, "predictions_score",
                        t->has_prediction_score ? json_real(t->prediction_score) : json_null());
    json_object_set_new(j, "uncertainty",
                        t->has_uncertainty ? json_real(t->uncertainty) : json_null());
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

static json_t *annotations_json(struct api_users *users, const struct store_task *t)
{
    json_t *list = json_array();
    for (size_t i = 0; i < t->nannotations; i++)
        json_array_append_new(list, api_annotation_json(users, &t->annotations[i]));
    return list;
}

static json_t *predictions_json(const struct store_task *t)
{
    json_t *list = json_array();
    for (size_t i = 0; i < t->npredictions; i++)
        json_array_append_new(list, api_prediction_json(&t->predictions[i]));
    return list;
}

static json_t *task_dm(struct api_users *users, const struct store_task *t, int full,
                       const char *key)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(t->id));
    if (full) {
        json_object_set_new(j, "annotations", annotations_json(users, t));
        json_object_set_new(j, "predictions", predictions_json(t));
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

/* ---- the export shapes, written once, as text ---------------------------------------------------
 * Exports stream the stored JSON of data and results into the file without parsing it (the
 * formats module re-emits the text in its canonical form), so the export shape is written here as
 * compact text around the stored text; a task loaded as jansson values has its values dumped in
 * their place. api_task_json's export and ML-payload shapes are this text parsed back: one
 * writer of the shape, so the two paths cannot drift apart. */

/* ,"key": */
static void key(struct base_jw *w, const char *k)
{
    BASE_JW_LIT(w, ",");
    base_jw_key(w, k, strlen(k));
}

static void key_int(struct base_jw *w, const char *k, int64_t v, int null_if_zero)
{
    key(w, k);
    if (null_if_zero && v <= 0)
        BASE_JW_LIT(w, "null");
    else
        base_jw_int(w, v);
}

static void key_bool(struct base_jw *w, const char *k, int v)
{
    key(w, k);
    base_jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

static void key_time(struct base_jw *w, const char *k, int64_t us)
{
    char iso[32];
    key(w, k);
    if (!us) {
        BASE_JW_LIT(w, "null");
        return;
    }
    base_time_iso(us, iso);
    base_jw_string(w, iso, strlen(iso));
}

/* A JSON column: its stored text when the task was loaded as text, else its value, else
 * `fallback`. */
static void key_json(struct base_jw *w, const char *k, const char *text, size_t len,
                     const json_t *v, const char *fallback)
{
    key(w, k);
    if (text)
        base_jw_put(w, text, len);
    else if (v)
        base_jw_value(w, v, 0);
    else
        base_jw_put(w, fallback, strlen(fallback));
}

static void annotation_text(struct base_jw *w, const struct store_annotation *a)
{
    BASE_JW_LIT(w, "{\"id\":");
    base_jw_int(w, a->id);
    key_int(w, "completed_by", a->completed_by, 1);
    key_json(w, "result", a->result_text, a->result_len, a->result, "null");
    key_bool(w, "was_cancelled", a->was_cancelled);
    key_bool(w, "ground_truth", a->ground_truth);
    key_time(w, "created_at", a->created_at);
    key_time(w, "updated_at", a->updated_at);
    if (!a->has_lead_time) {
        key(w, "lead_time");
        BASE_JW_LIT(w, "null");
    } else if (isfinite(a->lead_time)) { /* json_real refuses the others: no key at all */
        key(w, "lead_time");
        base_jw_real(w, a->lead_time);
    }
    key_json(w, "prediction", a->prediction_text, a->prediction_len, a->prediction, "{}");
    key_int(w, "result_count", a->result_count, 0);
    key_int(w, "task", a->task, 0);
    key_int(w, "parent_prediction", a->parent_prediction, 1);
    key_int(w, "parent_annotation", a->parent_annotation, 1);
    BASE_JW_LIT(w, "}");
}

/* The data, with $undefined$ renamed as task_data does (stored text is parsed only when the
 * rename may apply). */
static int data_text(struct base_jw *w, const struct store_task *t, const char *ukey,
                     struct base_err *err)
{
    key(w, "data");
    const char *d = t->data_text;
    size_t n = t->data_len;
    if (d && (!ukey || (!memchr(d, '\\', n) && !memmem(d, n, "undefined", 9)))) {
        base_jw_put(w, d, n);
        return 0;
    }
    struct store_task copy = *t;
    if (d && !(copy.data = base_json_parse(d, n, err)))
        return -1;
    json_t *renamed = task_data(&copy, ukey);
    base_jw_value(w, renamed, 0);
    json_decref(renamed);
    if (d)
        json_decref(copy.data);
    return 0;
}

static void predictions_text(struct base_jw *w, const struct store_task *t, int full)
{
    BASE_JW_LIT(w, ",\"predictions\":[");
    for (size_t i = 0; i < t->npredictions; i++) {
        if (i)
            BASE_JW_LIT(w, ",");
        if (!full) {
            base_jw_int(w, t->predictions[i].id);
            continue;
        }
        json_t *p = api_prediction_json(&t->predictions[i]);
        base_jw_value(w, p, 0);
        json_decref(p);
    }
    BASE_JW_LIT(w, "]");
}

static void task_text(struct base_jw *w, const struct store_task *t, int simple)
{
    BASE_JW_LIT(w, "{\"id\":");
    base_jw_int(w, t->id);
    BASE_JW_LIT(w, ",\"annotations\":[");
    for (size_t i = 0; i < t->nannotations; i++) {
        if (i)
            BASE_JW_LIT(w, ",");
        annotation_text(w, &t->annotations[i]);
    }
    BASE_JW_LIT(w, "]");
    if (simple) {
        key_int(w, "file_upload", t->file_upload_id, 1);
    } else {
        key(w, "file_upload");
        if (t->file_upload)
            base_jw_string(w, t->file_upload, strlen(t->file_upload));
        else
            BASE_JW_LIT(w, "null");
    }
    BASE_JW_LIT(w, ",\"drafts\":[]");
    predictions_text(w, t, simple);
}

static void task_text_tail(struct base_jw *w, const struct store_task *t, int simple)
{
    key_json(w, "meta", t->meta_text, t->meta_len, t->meta, "{}");
    key_time(w, "created_at", t->created_at);
    key_time(w, "updated_at", t->updated_at);
    if (simple) {
        key_bool(w, "is_labeled", t->is_labeled);
        key_int(w, "overlap", t->overlap, 0);
    }
    key_int(w, "inner_id", t->inner_id, 0);
    key_int(w, "total_annotations", t->total_annotations, 0);
    key_int(w, "cancelled_annotations", t->cancelled_annotations, 0);
    key_int(w, "total_predictions", t->total_predictions, 0);
    BASE_JW_LIT(w, ",\"comment_count\":0,\"unresolved_comment_count\":0");
    BASE_JW_LIT(w, ",\"last_comment_updated_at\":null");
    key_int(w, "project", t->project, 0);
    key_int(w, "updated_by", t->updated_by, 1);
    BASE_JW_LIT(w, ",\"comment_authors\":[]}");
}

int api_task_export_text(const struct store_task *t, enum api_task_shape shape,
                         const char *undefined_key, struct base_buf *b, struct base_err *err)
{
    struct base_jw w;
    int simple = shape == API_TASK_SIMPLE;
    base_jw_init_buf(&w, b, BASE_JSON_COMPACT, -1);
    task_text(&w, t, simple);
    if (data_text(&w, t, undefined_key, err))
        return base_err_prefix(err, "task %lld: ", (long long)t->id);
    task_text_tail(&w, t, simple);
    if (base_jw_end(&w, err))
        return base_err_prefix(err, "task %lld: ", (long long)t->id);
    return 0;
}

json_t *api_task_json(struct api_users *users, const struct store_task *t,
                      enum api_task_shape shape, int full, const char *undefined_key,
                      struct base_err *err)
{
    if (shape == API_TASK_DM)
        return task_dm(users, t, full, undefined_key);
    struct base_buf b;
    base_buf_init(&b, API_TASK_TEXT_MAX);
    json_t *j = api_task_export_text(t, shape, undefined_key, &b, err)
                    ? NULL
                    : base_json_parse(b.data, b.len, err);
    base_buf_release(&b);
    return j;
}
