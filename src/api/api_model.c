/* /api/projects/{id}/model...: the built-in detector of a project as the UI's Model panel and
 * scripts see it: the policy and where it stands, the running and queued jobs with progress, the
 * registry of versions with held-out metrics, rollback, Train now, cancel, and the effort the
 * model saved. Label Studio has no such resource; its /api/ml view is in api_ml.c. */
#include "api_int.h"

#include <string.h>

/* Effort model of src/loop/README.md (Papadopoulos et al.): seconds a box costs by hand, and
 * what adjusting and deleting a predicted box cost instead. */
#define DRAW_S   10.0
#define ADJUST_S 4.0
#define DELETE_S 1.0

static json_t *metrics_json(int has, double ap, double ap50, double ap75)
{
    return has ? json_pack("{s:f, s:f, s:f}", "ap", ap, "ap50", ap50, "ap75", ap75) : json_null();
}

json_t *api_version_json(const struct store_version *v)
{
    json_t *j = json_pack(
        "{s:I, s:s, s:I, s:I, s:s, s:i, s:O, s:I, s:I, s:I, s:f, s:o, s:o, s:f,"
        " s:b, s:s, s:b}",
        "id", (json_int_t)v->id, "name", v->name, "seq", (json_int_t)v->seq, "project",
        (json_int_t)v->project, "arch", v->arch, "input_size", v->input_size, "classes", v->classes,
        "train_images", (json_int_t)v->train_images, "heldout_images",
        (json_int_t)v->heldout_images, "epochs", (json_int_t)v->epochs, "duration_s", v->duration_s,
        "metrics", metrics_json(v->has_metrics, v->ap, v->ap50, v->ap75), "current_metrics",
        metrics_json(v->has_base, v->base_ap, v->base_ap50, v->base_ap75), "score_threshold",
        v->score_thr, "promoted", v->promoted, "reason", v->reason, "is_current", v->is_current);
    json_object_set_new(j, "parent", v->parent ? json_integer(v->parent) : json_null());
    json_object_set_new(j, "job", v->job ? json_integer(v->job) : json_null());
    json_object_set_new(j, "created_at", api_time_json(v->created_at));
    json_object_set_new(j, "promoted_at", api_time_json(v->promoted_at));
    return j;
}

json_t *api_job_json(const struct store_job *job)
{
    json_t *j =
        json_pack("{s:I, s:I, s:s, s:s, s:s, s:i, s:s, s:O, s:s, s:b}", "id", (json_int_t)job->id,
                  "project", (json_int_t)job->project, "kind", store_job_kind_name(job->kind),
                  "state", store_job_state_name(job->state), "reason", job->reason, "attempt",
                  job->attempt, "phase", job->phase, "progress", job->progress, "log",
                  job->log ? job->log : "", "cancel_requested", job->cancel_requested);
    json_object_set_new(j, "version", job->version ? json_integer(job->version) : json_null());
    json_object_set(j, "params", job->params);
    json_object_set_new(j, "pid", job->pid ? json_integer(job->pid) : json_null());
    json_object_set_new(j, "owner", json_string(job->owner)); /* server or worker running it */
    json_object_set_new(j, "error", job->error ? json_string(job->error) : json_null());
    json_object_set_new(j, "created_at", api_time_json(job->created_at));
    json_object_set_new(j, "started_at", api_time_json(job->started_at));
    json_object_set_new(j, "ended_at", api_time_json(job->ended_at));
    return j;
}

/* ---- help (effort saved) ---- */

struct help_acc {
    json_t *by_version;
    struct store_help_sum with, without;
    double with_lead, without_lead;
};

static json_t *help_sum_json(const struct store_help_sum *s)
{
    double by_hand = (double)(s->accepted + s->adjusted + s->drawn) * DRAW_S;
    double spent =
        (double)s->adjusted * ADJUST_S + (double)s->deleted * DELETE_S + (double)s->drawn * DRAW_S;
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:f, s:f}", "model_version",
                     s->model_version, "annotations", (json_int_t)s->annotations, "shown",
                     (json_int_t)s->shown, "accepted", (json_int_t)s->accepted, "adjusted",
                     (json_int_t)s->adjusted, "deleted", (json_int_t)s->deleted, "drawn",
                     (json_int_t)s->drawn, "adjust_iou_mean", s->adjust_iou_mean, "lead_time_n",
                     (json_int_t)s->lead_n, "lead_time_mean", s->lead_time_mean,
                     "box_seconds_saved", by_hand - spent);
}

static void add_sum(struct store_help_sum *to, double *lead, const struct store_help_sum *s)
{
    to->annotations += s->annotations, to->shown += s->shown, to->accepted += s->accepted;
    to->adjusted += s->adjusted, to->deleted += s->deleted, to->drawn += s->drawn;
    to->adjust_iou_mean += s->adjust_iou_mean * (double)s->adjusted; /* a sum until the end */
    to->lead_n += s->lead_n;
    *lead += s->lead_time_mean * (double)s->lead_n;
}

static int help_row(void *ctx, const struct store_help_sum *s, struct base_err *err)
{
    (void)err;
    struct help_acc *x = ctx;
    json_array_append_new(x->by_version, help_sum_json(s));
    if (s->model_version[0])
        add_sum(&x->with, &x->with_lead, s);
    else
        add_sum(&x->without, &x->without_lead, s);
    return 0;
}

static void finish_sum(struct store_help_sum *s, double lead, const char *name)
{
    s->adjust_iou_mean = s->adjusted ? s->adjust_iou_mean / (double)s->adjusted : 0;
    s->lead_time_mean = s->lead_n ? lead / (double)s->lead_n : 0;
    snprintf(s->model_version, sizeof s->model_version, "%s", name);
}

static int help_json(struct api_req *r, int64_t project, json_t **out, struct base_err *err)
{
    struct help_acc x = {.by_version = json_array()};
    if (store_help_each(r->api->store, project, help_row, &x, err)) {
        json_decref(x.by_version);
        return -1;
    }
    finish_sum(&x.with, x.with_lead, "with a prediction");
    finish_sum(&x.without, x.without_lead, "without a prediction");
    *out = json_pack("{s:o, s:o, s:o, s:{s:f, s:f, s:f}}", "by_version", x.by_version,
                     "with_prediction", help_sum_json(&x.with), "without_prediction",
                     help_sum_json(&x.without), "cost_model", "draw_s", DRAW_S, "adjust_s",
                     ADJUST_S, "delete_s", DELETE_S);
    return 0;
}

/* ---- the panel ---- */

static int add_version(void *ctx, const struct store_version *v, struct base_err *err)
{
    (void)err;
    json_array_append_new(ctx, api_version_json(v));
    return 0;
}

struct jobs_acc {
    json_t *running, *queued, *last;
};

static int sort_job(void *ctx, const struct store_job *j, struct base_err *err)
{
    (void)err;
    struct jobs_acc *x = ctx;
    json_t **slot = j->state == STORE_JOB_RUNNING  ? &x->running
                    : j->state == STORE_JOB_QUEUED ? &x->queued
                                                   : &x->last;
    if (!*slot) /* newest first: keep the first of each */
        *slot = api_job_json(j);
    return 0;
}

static json_t *or_null(json_t *j)
{
    return j ? j : json_null();
}

static json_t *policy_json(const struct store_project *row, const struct store_loop_state *st,
                           const json_t *running)
{
    const char *kind = json_string_value(json_object_get(running, "kind"));
    int64_t k = row->loop_min_labeled, n = row->loop_retrain_every;
    char next[160];
    if (kind && !strcmp(kind, "predict"))
        snprintf(next, sizeof next, "predicting tasks with the current model%s",
                 st->queued_train ? "; a training job is queued" : "");
    else if (st->running || st->queued_train)
        snprintf(next, sizeof next, "a training job is %s", st->running ? "running" : "queued");
    else if (st->train_jobs == 0)
        snprintf(next, sizeof next, "first training when %lld tasks are labeled (%lld now)",
                 (long long)(k > 0 ? k : 1), (long long)st->labeled);
    else if (n > 0)
        snprintf(next, sizeof next, "next training after %lld more new or changed annotations",
                 (long long)(n - st->changes > 0 ? n - st->changes : 0));
    else
        snprintf(next, sizeof next, "retraining only on demand (loop_retrain_every is 0)");
    return json_pack("{s:I, s:I, s:I, s:I, s:s}", "min_labeled", (json_int_t)k, "retrain_every",
                     (json_int_t)n, "labeled", (json_int_t)st->labeled, "changes_since_training",
                     (json_int_t)st->changes, "next", next);
}

static json_t *eligibility(const struct store_project *row)
{
    struct base_err e = {0};
    int ok = loop_project_check(row, &e) == 0;
    return json_pack("{s:b, s:b, s:s}", "eligible", ok, "enabled", row->loop_enabled, "message",
                     ok ? "" : e.msg);
}

int api_model_get(struct api_req *r, struct base_err *err)
{
    int64_t project = r->m.ids[0];
    struct store_project row = {0};
    json_t *versions = json_array(), *help = NULL;
    struct store_loop_state st;
    struct jobs_acc jobs = {0};
    int rc = -1;
    if (api_project_row(r, project, &row, err) ||
        store_loop_state(r->api->store, project, &st, err) ||
        store_version_each(r->api->store, project, add_version, versions, err) ||
        store_job_each(r->api->store, project, 50, sort_job, &jobs, err) ||
        help_json(r, project, &help, err))
        goto out;
    json_t *body = eligibility(&row);
    json_object_set_new(body, "project", json_integer(project));
    json_object_set_new(body, "active", json_boolean(loop_project_active(&row)));
    json_object_set_new(body, "model_version", json_string(row.model_version));
    json_object_set_new(body, "policy", policy_json(&row, &st, jobs.running));
    json_t *current = json_null();
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v) if (json_is_true(json_object_get(v, "is_current"))) current =
        json_incref(v);
    json_object_set_new(body, "current", current);
    json_object_set_new(body, "running", or_null(jobs.running));
    json_object_set_new(body, "queued", or_null(jobs.queued));
    json_object_set_new(body, "last_job", or_null(jobs.last));
    jobs = (struct jobs_acc){0};
    json_object_set(body, "versions", versions);
    json_object_set(body, "help", help);
    rc = api_reply_json(r, 200, body);
out:
    json_decref(jobs.running), json_decref(jobs.queued), json_decref(jobs.last);
    json_decref(help);
    json_decref(versions);
    store_project_release(&row);
    return rc;
}

int api_model_versions(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    json_t *versions = json_array();
    if (api_project_row(r, r->m.ids[0], &row, err) ||
        store_version_each(r->api->store, r->m.ids[0], add_version, versions, err)) {
        store_project_release(&row);
        json_decref(versions);
        return -1;
    }
    store_project_release(&row);
    return api_reply_json(r, 200, versions);
}

/* Version ids[1] of project ids[0] (404 when it belongs to another project). */
static int version_of(struct api_req *r, struct store_version *v, struct base_err *err)
{
    if (store_version_get(r->api->store, r->m.ids[1], v, err))
        return -1;
    if (v->project != r->m.ids[0]) {
        store_version_release(v);
        return base_err_set(err, BASE_E_NOTFOUND, "model version not found");
    }
    return 0;
}

int api_model_version_get(struct api_req *r, struct base_err *err)
{
    struct store_version v = {0};
    if (version_of(r, &v, err))
        return -1;
    api_reply_json(r, 200, api_version_json(&v));
    store_version_release(&v);
    return 0;
}

static int need_loop(struct api_req *r, struct base_err *err)
{
    return r->api->loop ? 0
                        : base_err_set(err, BASE_E_CONFLICT, "the training loop is not running");
}

int api_model_version_delete(struct api_req *r, struct base_err *err)
{
    struct store_version v = {0};
    if (need_loop(r, err) || version_of(r, &v, err))
        return -1;
    store_version_release(&v);
    if (loop_version_delete(r->api->loop, r->m.ids[1], err))
        return -1;
    return api_reply_empty(r, 204);
}

int api_model_rollback(struct api_req *r, struct base_err *err)
{
    struct store_version v = {0};
    if (need_loop(r, err) || version_of(r, &v, err))
        return -1;
    store_version_release(&v);
    if (loop_rollback(r->api->loop, r->m.ids[1], err) ||
        store_version_get(r->api->store, r->m.ids[1], &v, err))
        return -1;
    api_reply_json(r, 200, api_version_json(&v));
    store_version_release(&v);
    return 0;
}

/* Answers job `id` (201 after queueing, 200 otherwise). */
static int reply_job(struct api_req *r, int status, int64_t id, struct base_err *err)
{
    struct store_job j = {0};
    if (store_job_get(r->api->store, id, &j, err))
        return -1;
    api_reply_json(r, status, api_job_json(&j));
    store_job_release(&j);
    return 0;
}

/* An integer option in [lo, hi], a multiple of `step`, copied into params when present. */
static int int_param(struct api_req *r, json_t *body, const char *key, int64_t lo, int64_t hi,
                     int64_t step, json_t *params, struct base_err *err)
{
    int64_t v;
    int present = 0;
    if (api_field_int(r, body, key, 0, &v, &present, err))
        return -1;
    if (!present)
        return 0;
    if (v < lo || v > hi || v % step)
        return api_invalid(r, err, key, "Ensure this value is in [%lld, %lld]%s.", (long long)lo,
                           (long long)hi, step > 1 ? " and a multiple of 32" : "");
    json_object_set_new(params, key, json_integer(v));
    return 0;
}

/* The options of a training run in a Train now body (any other key is ignored). */
static int train_params(struct api_req *r, json_t **params, struct base_err *err)
{
    size_t len = 0;
    http_request_body(r->http, &len);
    *params = json_object();
    if (len == 0)
        return 0;
    json_t *body = api_body_object(r, err);
    if (!body)
        return -1;
    int scratch = 0, present = 0, null = 0, bad;
    double max_s = 0;
    bad = api_field_bool(r, body, LOOP_PARAM_FROM_SCRATCH, &scratch, &present, err);
    if (!bad && present)
        json_object_set_new(*params, LOOP_PARAM_FROM_SCRATCH, json_boolean(scratch));
    bad |= api_field_number(r, body, LOOP_PARAM_MAX_TRAIN_S, 0, &max_s, &null, &present, err);
    if (!bad && present && !(max_s > 0 && max_s <= 3600))
        bad = api_invalid(r, err, LOOP_PARAM_MAX_TRAIN_S, "Ensure this value is in (0, 3600].");
    else if (!bad && present)
        json_object_set_new(*params, LOOP_PARAM_MAX_TRAIN_S, json_real(max_s));
    bad |= int_param(r, body, LOOP_PARAM_EPOCHS, 1, 10000, 1, *params, err);
    bad |= int_param(r, body, LOOP_PARAM_INPUT_SIZE, DET_MIN_SIZE, DET_MAX_SIZE, 32, *params, err);
    json_decref(body);
    return bad ? -1 : 0;
}

int api_model_train(struct api_req *r, struct base_err *err)
{
    int64_t job;
    struct store_project row = {0};
    json_t *params = NULL;
    if (need_loop(r, err) || api_project_row(r, r->m.ids[0], &row, err))
        return -1;
    store_project_release(&row);
    int rc = train_params(r, &params, err) ||
                     loop_train(r->api->loop, r->m.ids[0], "manual", params, &job, err)
                 ? -1
                 : reply_job(r, 201, job, err);
    json_decref(params);
    return rc;
}

static int add_job(void *ctx, const struct store_job *j, struct base_err *err)
{
    (void)err;
    json_array_append_new(ctx, api_job_json(j));
    return 0;
}

int api_model_jobs(struct api_req *r, struct base_err *err)
{
    int64_t limit;
    struct store_project row = {0};
    json_t *out = json_array();
    if (api_query_int(r, "limit", 50, 1, 1000, &limit, err) ||
        api_project_row(r, r->m.ids[0], &row, err) ||
        store_job_each(r->api->store, r->m.ids[0], limit, add_job, out, err)) {
        store_project_release(&row);
        json_decref(out);
        return -1;
    }
    store_project_release(&row);
    return api_reply_json(r, 200, out);
}

/* Job ids[1] of project ids[0]. */
static int job_of(struct api_req *r, struct store_job *j, struct base_err *err)
{
    if (store_job_get(r->api->store, r->m.ids[1], j, err))
        return -1;
    if (j->project != r->m.ids[0]) {
        store_job_release(j);
        return base_err_set(err, BASE_E_NOTFOUND, "job %lld not found", (long long)r->m.ids[1]);
    }
    return 0;
}

int api_model_job_get(struct api_req *r, struct base_err *err)
{
    struct store_job j = {0};
    if (job_of(r, &j, err))
        return -1;
    api_reply_json(r, 200, api_job_json(&j));
    store_job_release(&j);
    return 0;
}

int api_model_job_cancel(struct api_req *r, struct base_err *err)
{
    struct store_job j = {0};
    if (need_loop(r, err) || job_of(r, &j, err))
        return -1;
    store_job_release(&j);
    if (loop_cancel(r->api->loop, r->m.ids[1], err))
        return -1;
    return reply_job(r, 200, r->m.ids[1], err);
}

int api_model_help(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    json_t *help = NULL;
    if (api_project_row(r, r->m.ids[0], &row, err) || help_json(r, r->m.ids[0], &help, err)) {
        store_project_release(&row);
        return -1;
    }
    store_project_release(&row);
    return api_reply_json(r, 200, help);
}
