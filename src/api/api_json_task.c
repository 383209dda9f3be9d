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

/* ---- the export shape as text ---------------------------------------------------------------
 * Exports stream the stored JSON of data and results into the file without parsing it (the
 * formats module re-emits the text in its canonical form), so the export shape of task_export is
 * written here as compact text around the stored text. test_api_export_text holds it equal to
 * api_task_json(API_TASK_EXPORT) for every field. */

static void put(struct base_buf *b, const char *s, size_t n)
{
    base_buf_append(b, s, n, NULL);
}

#define PUT_LIT(b, s) put(b, s, sizeof s - 1)

static void put_str(struct base_buf *b, const char *s)
{
    PUT_LIT(b, "\"");
    for (; *s; s++) {
        char esc[8];
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\' || c < 0x20)
            put(b, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
        else
            put(b, s, 1);
    }
    PUT_LIT(b, "\"");
}

/* ,"key": (no printf: a few of these per annotation are a visible part of an export) */
static void put_key(struct base_buf *b, const char *key)
{
    PUT_LIT(b, ",\"");
    put(b, key, strlen(key));
    PUT_LIT(b, "\":");
}

static void put_int(struct base_buf *b, int64_t v)
{
    char num[24];
    put(b, num, (size_t)base_fmt_int(v, num));
}

static void put_key_int(struct base_buf *b, const char *key, int64_t v, int null_if_zero)
{
    put_key(b, key);
    if (null_if_zero && v <= 0)
        PUT_LIT(b, "null");
    else
        put_int(b, v);
}

static void put_key_time(struct base_buf *b, const char *key, int64_t us)
{
    char iso[32];
    put_key(b, key);
    if (!us) {
        PUT_LIT(b, "null");
        return;
    }
    base_time_iso(us, iso);
    put_str(b, iso);
}

static void put_key_text(struct base_buf *b, const char *key, const char *text, size_t len,
                         const char *fallback)
{
    put_key(b, key);
    if (text)
        put(b, text, len);
    else
        put(b, fallback, strlen(fallback));
}

static void annotation_text(struct base_buf *b, const struct store_annotation *a)
{
    PUT_LIT(b, "{\"id\":");
    put_int(b, a->id);
    put_key_int(b, "completed_by", a->completed_by, 1);
    put_key_text(b, "result", a->result_text, a->result_len, "null");
    put_key(b, "was_cancelled");
    put(b, a->was_cancelled ? "true" : "false", a->was_cancelled ? 4 : 5);
    put_key(b, "ground_truth");
    put(b, a->ground_truth ? "true" : "false", a->ground_truth ? 4 : 5);
    put_key_time(b, "created_at", a->created_at);
    put_key_time(b, "updated_at", a->updated_at);
    if (!a->has_lead_time) {
        PUT_LIT(b, ",\"lead_time\":null");
    } else if (isfinite(a->lead_time)) { /* json_real refuses the others: no key at all */
        char num[32];
        put_key(b, "lead_time");
        put(b, num, (size_t)base_fmt_double(a->lead_time, num));
    }
    put_key_text(b, "prediction", a->prediction_text, a->prediction_len, "{}");
    put_key_int(b, "result_count", a->result_count, 0);
    put_key_int(b, "task", a->task, 0);
    put_key_int(b, "parent_prediction", a->parent_prediction, 1);
    put_key_int(b, "parent_annotation", a->parent_annotation, 1);
    PUT_LIT(b, "}");
}

/* The data text, with $undefined$ renamed as task_data does (parsed only when it may apply). */
static int data_text(struct base_buf *b, const struct store_task *t, const char *key,
                     struct base_err *err)
{
    PUT_LIT(b, ",\"data\":");
    const char *d = t->data_text;
    size_t n = t->data_len;
    if (!key || (!memchr(d, '\\', n) && !memmem(d, n, "undefined", 9))) {
        put(b, d, n);
        return 0;
    }
    struct store_task copy = *t;
    if (!(copy.data = base_json_parse(d, n, err)))
        return -1;
    json_t *renamed = task_data(&copy, key);
    int rc = base_json_dump(renamed, BASE_JSON_COMPACT, b, err);
    json_decref(renamed);
    json_decref(copy.data);
    return rc;
}

int api_task_export_text(const struct store_task *t, const char *undefined_key, struct base_buf *b,
                         struct base_err *err)
{
    PUT_LIT(b, "{\"id\":");
    put_int(b, t->id);
    PUT_LIT(b, ",\"annotations\":[");
    for (size_t i = 0; i < t->nannotations; i++) {
        if (i)
            PUT_LIT(b, ",");
        annotation_text(b, &t->annotations[i]);
    }
    PUT_LIT(b, "],\"file_upload\":");
    if (t->file_upload)
        put_str(b, t->file_upload);
    else
        PUT_LIT(b, "null");
    PUT_LIT(b, ",\"drafts\":[],\"predictions\":[");
    for (size_t i = 0; i < t->npredictions; i++) {
        if (i)
            PUT_LIT(b, ",");
        put_int(b, t->predictions[i].id);
    }
    PUT_LIT(b, "]");
    if (data_text(b, t, undefined_key, err))
        return -1;
    put_key_text(b, "meta", t->meta_text, t->meta_len, "{}");
    put_key_time(b, "created_at", t->created_at);
    put_key_time(b, "updated_at", t->updated_at);
    put_key_int(b, "inner_id", t->inner_id, 0);
    put_key_int(b, "total_annotations", t->total_annotations, 0);
    put_key_int(b, "cancelled_annotations", t->cancelled_annotations, 0);
    put_key_int(b, "total_predictions", t->total_predictions, 0);
    PUT_LIT(b, ",\"comment_count\":0,\"unresolved_comment_count\":0");
    PUT_LIT(b, ",\"last_comment_updated_at\":null");
    put_key_int(b, "project", t->project, 0);
    put_key_int(b, "updated_by", t->updated_by, 1);
    PUT_LIT(b, ",\"comment_authors\":[]}");
    return 0;
}
