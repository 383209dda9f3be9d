/* Label Studio's /api/ml (spec 2.7) for the built-in detector: every project whose config has
 * RectangleLabels on an Image (and loop_enabled on) lists one ML backend, so scripts that list
 * backends, start training and read model versions work unchanged. Also the hooks that tell the
 * loop about imports and opened tasks. */
#include "api_int.h"

#include <string.h>

struct newest {
    struct store_job job;
    int found;
};

static int keep_newest(void *ctx, const struct store_job *j, struct base_err *err)
{
    (void)err;
    struct newest *x = ctx;
    x->job = *j;
    x->job.progress = json_incref(j->progress);
    x->job.params = json_incref(j->params);
    x->job.log = base_strdup(j->log ? j->log : "");
    x->job.error = j->error ? base_strdup(j->error) : NULL;
    x->found = 1;
    return 1;
}

/* Label Studio's backend object; its state letters say training, predicting, error (the last job
 * failed) or connected. */
static json_t *backend_json(struct api_req *r, const struct store_ml_backend *b,
                            const json_t *project)
{
    struct newest last = {0};
    store_job_each(r->api->store, b->project, 1, keep_newest, &last, NULL);
    const char *state = "CO", *readable = "Connected", *error = "";
    if (last.found && last.job.state == STORE_JOB_RUNNING) {
        int train = last.job.kind == STORE_JOB_TRAIN;
        state = train ? "TR" : "PR";
        readable = train ? "Training" : "Predicting";
    } else if (last.found && last.job.state == STORE_JOB_FAILED) {
        state = "ER", readable = "Error", error = last.job.error ? last.job.error : "";
    }
    const char *url = base_arena_printf(r->arena, "%s/api/projects/%lld/model", api_base_url(r),
                                        (long long)b->project);
    json_t *j = json_pack(
        "{s:I, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:n, s:b, s:s, s:{}, s:O, s:f, s:o, s:o, s:I,"
        " s:b}",
        "id", (json_int_t)b->id, "state", state, "readable_state", readable, "is_interactive",
        b->is_interactive, "url", url, "error_message", error, "title", b->title, "auth_method",
        "NONE", "basic_auth_user", "basic_auth_pass_is_set", 0, "description", b->description,
        "extra_params", "model_version", json_object_get(project, "model_version"), "timeout",
        b->timeout, "created_at", api_time_json(b->created_at), "updated_at",
        api_time_json(b->updated_at), "project", (json_int_t)b->project, "auto_update",
        b->auto_update);
    store_job_release(&last.job);
    return j;
}

/* The project's built-in backend row, when the project uses the built-in detector. */
static int builtin_of(struct api_req *r, int64_t project, json_t **row, struct store_ml_backend *b,
                      struct base_err *err)
{
    if (api_project_row(r, project, row, err))
        return -1;
    if (!loop_project_active(*row) || !r->api->loop) {
        json_decref(*row);
        *row = NULL;
        return 1;
    }
    return store_ml_backend_builtin(r->api->store, project, b, err);
}

struct list_acc {
    struct api_req *r;
    json_t *out;
};

static int list_one(void *ctx, const struct store_ml_backend *b, struct base_err *err)
{
    struct list_acc *x = ctx;
    json_t *row = NULL;
    if (b->url[0] || store_project_get(x->r->api->store, b->project, &row, err))
        return 0;
    if (loop_project_active(row) && x->r->api->loop)
        json_array_append_new(x->out, backend_json(x->r, b, row));
    json_decref(row);
    return 0;
}

int api_ml_list(struct api_req *r, struct base_err *err)
{
    int64_t project;
    if (api_query_int(r, "project", 0, 0, INT64_MAX, &project, err))
        return -1;
    struct list_acc x = {r, json_array()};
    int rc = 0;
    if (project > 0) {
        json_t *row = NULL;
        struct store_ml_backend b;
        rc = builtin_of(r, project, &row, &b, err);
        if (rc == 0)
            json_array_append_new(x.out, backend_json(r, &b, row));
        json_decref(row);
        rc = rc < 0 ? -1 : 0;
    } else {
        rc = store_ml_backend_each(r->api->store, 0, list_one, &x, err);
    }
    if (rc) {
        json_decref(x.out);
        return -1;
    }
    return api_reply_json(r, 200, x.out);
}

/* Backend ids[0], only while its project uses the built-in detector (404 otherwise). */
static int backend_get(struct api_req *r, struct store_ml_backend *b, json_t **row,
                       struct base_err *err)
{
    *row = NULL;
    if (store_ml_backend_get(r->api->store, r->m.ids[0], b, err))
        return -1;
    int rc = builtin_of(r, b->project, row, b, err);
    if (rc == 1)
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    return rc;
}

int api_ml_get(struct api_req *r, struct base_err *err)
{
    struct store_ml_backend b;
    json_t *row;
    if (backend_get(r, &b, &row, err))
        return -1;
    api_reply_json(r, 200, backend_json(r, &b, row));
    json_decref(row);
    return 0;
}

static int patch_fields(struct api_req *r, json_t *body, struct store_ml_backend *b,
                        struct base_err *err)
{
    const char *keys[] = {"title", "description"};
    char *dst[] = {b->title, b->description};
    size_t sizes[] = {sizeof b->title, sizeof b->description};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, keys[i]);
        if (v && (!json_is_string(v) || json_string_length(v) >= sizes[i]))
            return api_invalid(r, err, keys[i], "Not a valid string.");
        if (v)
            snprintf(dst[i], sizes[i], "%s", json_string_value(v));
    }
    int bad = api_field_bool(r, body, "is_interactive", &b->is_interactive, NULL, err);
    bad |= api_field_bool(r, body, "auto_update", &b->auto_update, NULL, err);
    int null = 0;
    bad |= api_field_number(r, body, "timeout", 0, &b->timeout, &null, NULL, err);
    return bad ? -1 : 0;
}

int api_ml_patch(struct api_req *r, struct base_err *err)
{
    struct store_ml_backend b;
    json_t *row = NULL, *body = NULL;
    int rc = -1;
    if (backend_get(r, &b, &row, err) || !(body = api_body_object(r, err)))
        goto out;
    if (patch_fields(r, body, &b, err) || store_ml_backend_update(r->api->store, &b, err) ||
        store_ml_backend_get(r->api->store, b.id, &b, err))
        goto out;
    rc = api_reply_json(r, 200, backend_json(r, &b, row));
out:
    json_decref(body);
    json_decref(row);
    return rc;
}

int api_ml_train(struct api_req *r, struct base_err *err)
{
    struct store_ml_backend b;
    json_t *row;
    int64_t job;
    if (backend_get(r, &b, &row, err))
        return -1;
    json_decref(row);
    if (loop_train(r->api->loop, b.project, "manual", NULL, &job, err))
        return -1;
    return api_reply_empty(r, 200);
}

static int add_name(void *ctx, const struct store_version *v, struct base_err *err)
{
    (void)err;
    json_array_append_new(ctx, json_string(v->name));
    return 0;
}

int api_ml_versions(struct api_req *r, struct base_err *err)
{
    struct store_ml_backend b;
    json_t *row, *names = json_array();
    if (backend_get(r, &b, &row, err) ||
        store_version_each(r->api->store, b.project, add_name, names, err)) {
        json_decref(names);
        return -1;
    }
    json_decref(row);
    return api_reply_json(r, 200, json_pack("{s:o, s:s}", "versions", names, "message", ""));
}

void api_tell_loop_import(struct api_req *r, int64_t project, const struct store_import_result *res)
{
    if (!r->api->loop || res->task_count == 0)
        return;
    loop_tasks_added(r->api->loop, project);
    if (res->annotation_count > 0)
        loop_annotations_changed(r->api->loop, project);
}

void api_predict_on_open(struct api_req *r, int64_t task)
{
    int made = 0;
    struct base_err e = {0};
    if (r->api->loop && loop_predict_task(r->api->loop, task, &made, &e))
        BASE_WARN("api: task %lld: no prediction on open: %s", (long long)task, e.msg);
}
