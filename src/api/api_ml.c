/* Label Studio's /api/ml (spec 2.7) for the built-in detector: every project whose config has
 * RectangleLabels on an Image (and loop_enabled on) lists one ML backend, so scripts that list
 * backends, start training and read model versions work unchanged; external backends (rows with
 * a url) are listed beside it and handled by api_ml_external.c. Also the hooks that tell the loop
 * and the external backends about imports and opened tasks. */
#include "api_int.h"

#include "mlb/mlb.h"

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
                            const struct store_project *project)
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
        "{s:I, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:n, s:b, s:s, s:{}, s:s, s:f, s:o, s:o, s:I,"
        " s:b}",
        "id", (json_int_t)b->id, "state", state, "readable_state", readable, "is_interactive",
        b->is_interactive, "url", url, "error_message", error, "title", b->title, "auth_method",
        "NONE", "basic_auth_user", "basic_auth_pass_is_set", 0, "description", b->description,
        "extra_params", "model_version", project->model_version, "timeout", b->timeout,
        "created_at", api_time_json(b->created_at), "updated_at", api_time_json(b->updated_at),
        "project", (json_int_t)b->project, "auto_update", b->auto_update);
    store_job_release(&last.job);
    return j;
}

/* The project's built-in backend row, when the project uses the built-in detector. */
static int builtin_of(struct api_req *r, int64_t project, struct store_project *row,
                      struct store_ml_backend *b, struct base_err *err)
{
    if (api_project_row(r, project, row, err))
        return -1;
    if (!loop_project_active(row) || !r->api->loop) {
        store_project_release(row);
        return 1;
    }
    return store_ml_backend_builtin(r->api->store, project, b, err);
}

struct list_acc {
    struct api_req *r;
    json_t *out;
    int builtin_done; /* the project's built-in row is listed already */
};

static int list_one(void *ctx, const struct store_ml_backend *b, struct base_err *err)
{
    struct list_acc *x = ctx;
    struct store_project row = {0};
    if (b->url[0]) {
        api_backends_refresh(x->r, b); /* in the background: the list shows the last state */
        json_array_append_new(x->out, api_ml_external_json(x->r, b));
        return 0;
    }
    if (x->builtin_done || store_project_get(x->r->api->store, b->project, &row, err))
        return 0;
    if (loop_project_active(&row) && x->r->api->loop)
        json_array_append_new(x->out, backend_json(x->r, b, &row));
    store_project_release(&row);
    return 0;
}

int api_ml_list(struct api_req *r, struct base_err *err)
{
    int64_t project;
    if (api_query_int(r, "project", 0, 0, INT64_MAX, &project, err))
        return -1;
    struct list_acc x = {r, json_array(), 0};
    int rc = 0;
    if (project > 0) {
        struct store_project row = {0};
        struct store_ml_backend b;
        rc = builtin_of(r, project, &row, &b, err);
        if (rc == 0)
            json_array_append_new(x.out, backend_json(r, &b, &row));
        store_project_release(&row);
        rc = rc < 0 ? -1 : 0;
        x.builtin_done = 1;
        if (rc == 0)
            rc = store_ml_backend_each(r->api->store, project, list_one, &x, err);
    } else {
        rc = store_ml_backend_each(r->api->store, 0, list_one, &x, err);
    }
    if (rc) {
        json_decref(x.out);
        return -1;
    }
    return api_reply_json(r, 200, x.out);
}

/* Backend ids[0]: an external one (1, with its project checked), or the built-in one only while
 * its project uses the built-in detector (0; 404 otherwise). */
static int backend_get(struct api_req *r, struct store_ml_backend *b, struct store_project *row,
                       struct base_err *err)
{
    if (store_ml_backend_get(r->api->store, r->m.ids[0], b, err))
        return -1;
    if (b->url[0]) {
        if (api_project_row(r, b->project, row, err))
            return -1;
        store_project_release(row);
        return 1;
    }
    int rc = builtin_of(r, b->project, row, b, err);
    if (rc == 1)
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    return rc;
}

int api_ml_get(struct api_req *r, struct base_err *err)
{
    struct store_ml_backend b;
    struct store_project row = {0};
    int rc = backend_get(r, &b, &row, err);
    if (rc == 1) {
        api_backends_refresh(r, &b);
        return api_reply_json(r, 200, api_ml_external_json(r, &b));
    }
    if (rc)
        return -1;
    api_reply_json(r, 200, backend_json(r, &b, &row));
    store_project_release(&row);
    return 0;
}

int api_ml_patch(struct api_req *r, struct base_err *err)
{
    struct store_ml_backend b;
    struct store_project row = {0};
    json_t *body = NULL;
    int rc = backend_get(r, &b, &row, err);
    if (rc == 1)
        return api_ml_external_patch(r, &b, err);
    if (rc || !(body = api_body_object(r, err))) {
        rc = -1;
        goto out;
    }
    rc = -1;
    if (api_ml_fields(r, body, &b, err) || store_ml_backend_update(r->api->store, &b, err) ||
        store_ml_backend_get(r->api->store, b.id, &b, err))
        goto out;
    rc = api_reply_json(r, 200, backend_json(r, &b, &row));
out:
    json_decref(body);
    store_project_release(&row);
    return rc;
}

int api_ml_train(struct api_req *r, struct base_err *err)
{
    struct store_ml_backend b;
    struct store_project row = {0};
    int64_t job;
    int rc = backend_get(r, &b, &row, err);
    if (rc == 1 && r->api->mlb) {
        mlb_client_train(r->api->mlb, b.id); /* answered at once: Label Studio waits 100 s */
        return api_reply_empty(r, 200);
    }
    if (rc)
        return rc < 0 ? -1 : base_err_set(err, BASE_E_CONFLICT, "no ML backend client");
    store_project_release(&row);
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
    struct store_project row = {0};
    json_t *names = json_array();
    int rc = backend_get(r, &b, &row, err);
    if (rc == 1) { /* what the backend said at its last /setup */
        if (b.model_version[0])
            json_array_append_new(names, json_string(b.model_version));
        return api_reply_json(r, 200, json_pack("{s:o, s:s}", "versions", names, "message", ""));
    }
    if (rc || store_version_each(r->api->store, b.project, add_name, names, err)) {
        store_project_release(&row);
        json_decref(names);
        return -1;
    }
    store_project_release(&row);
    return api_reply_json(r, 200, json_pack("{s:o, s:s}", "versions", names, "message", ""));
}

void api_tell_loop_import(struct api_req *r, int64_t project, const struct store_import_result *res)
{
    if (res->task_count > 0)
        api_backends_predict(r, project, NULL, 0);
    if (!r->api->loop || res->task_count == 0)
        return;
    loop_tasks_added(r->api->loop, project);
    if (res->annotation_count > 0)
        loop_annotations_changed(r->api->loop, project);
}

void api_predict_on_open(struct api_req *r, int64_t task)
{
    int made = 0;
    int64_t project;
    struct base_err e = {0};
    if (r->api->mlb && !store_task_project(r->api->store, task, &project, NULL))
        api_backends_predict(r, project, &task, 1);
    if (r->api->loop && loop_predict_task(r->api->loop, task, &made, &e))
        BASE_WARN("api: task %lld: no prediction on open: %s", (long long)task, e.msg);
}
