/* /api/dm/actions: the Data Manager's actions on the selected tasks of a project (GET lists them,
 * POST ?id=<action>&project=<id> runs one). The tasks are chosen as Label Studio chooses them: the
 * saved view named by `view`, else the body's filters, ordering and selectedItems. Unlike Label
 * Studio a body must say what it selects (selectedItems or view): an empty body never means
 * "every task" to delete_tasks. Each action is one transaction over the chosen ids; actions that
 * change annotations tell the training loop. */
#include "api_int.h"

#include <string.h>

struct action_run {
    struct api_req *r;
    int64_t project;
    int64_t *ids; /* the chosen tasks, in the view's order (request arena) */
    size_t n;
    json_t *body; /* the request body (borrowed) */
};

typedef int (*action_fn)(struct action_run *a, struct base_err *err);

static void tell_loop(struct action_run *a, int64_t changed)
{
    if (a->r->api->loop && changed > 0)
        loop_annotations_changed(a->r->api->loop, a->project);
}

/* {"processed_items": n, "detail": "<verb> n <what>"} plus `extra` (stolen, may be NULL). */
static int reply_done(struct api_req *r, int64_t n, const char *verb, const char *what,
                      json_t *extra)
{
    json_t *j = json_pack("{sI}", "processed_items", (json_int_t)n);
    if (extra)
        json_object_update(j, extra);
    json_decref(extra);
    json_object_set_new(
        j, "detail",
        json_string(base_arena_printf(r->arena, "%s %lld %s", verb, (long long)n, what)));
    return api_reply_json(r, 200, j);
}

static int delete_tasks(struct action_run *a, struct base_err *err)
{
    int64_t n;
    struct store_task_totals left;
    struct store_task_query q = {.project = a->project};
    if (store_tasks_delete_ids(a->r->api->store, a->project, a->ids, a->n, &n, err) ||
        store_task_totals(a->r->api->store, &q, &left, err))
        return -1;
    tell_loop(a, n);
    /* the UI reloads when the project has no task left */
    return reply_done(a->r, n, "Deleted", "tasks", json_pack("{sb}", "reload", left.tasks == 0));
}

static int delete_annotations(struct action_run *a, struct base_err *err)
{
    int64_t n;
    if (store_annotations_delete_tasks(a->r->api->store, a->project, a->ids, a->n, a->r->user.id,
                                       &n, err))
        return -1;
    tell_loop(a, n);
    return reply_done(a->r, n, "Deleted", "annotations", NULL);
}

static int delete_predictions(struct action_run *a, struct base_err *err)
{
    int64_t n;
    if (store_predictions_delete_tasks(a->r->api->store, a->project, a->ids, a->n, &n, err))
        return -1;
    return reply_done(a->r, n, "Deleted", "predictions", NULL);
}

/* "model_version": a name, a list of names, or null for every version. */
static int predictions_to_annotations(struct action_run *a, struct base_err *err)
{
    const json_t *mv = json_object_get(a->body, "model_version");
    json_t *versions = NULL;
    int64_t n;
    if (json_is_string(mv))
        versions = json_pack("[O]", mv);
    else if (json_is_array(mv))
        versions = json_incref((json_t *)mv);
    else if (mv && !json_is_null(mv))
        return api_invalid(a->r, err, "model_version", "a model version or a list of them");
    int rc = store_predictions_to_annotations(a->r->api->store, a->project, a->ids, a->n, versions,
                                              a->r->user.id, &n, err);
    json_decref(versions);
    if (rc)
        return -1;
    tell_loop(a, n);
    char detail[64];
    snprintf(detail, sizeof detail, "Created %lld annotations", (long long)n);
    return api_reply_json(a->r, 200, json_pack("{ss}", "detail", detail));
}

/* The current model predicts every chosen task that has no prediction of it yet (runs on the
 * image pool: each prediction decodes an image and runs the detector). */
static int retrieve_predictions(struct action_run *a, struct base_err *err)
{
    struct store_version v = {0};
    int64_t made = 0, failed = 0;
    api_backends_predict(a->r, a->project, a->ids, a->n); /* external backends, in the background */
    if (!a->r->api->loop)
        return base_err_set(err, BASE_E_INVALID,
                            "retrieve_tasks_predictions needs the training loop, and this server "
                            "runs without it");
    if (store_version_current(a->r->api->store, a->project, &v, NULL))
        return reply_done(a->r, 0, "Retrieved", "predictions: the project has no trained model yet",
                          NULL);
    for (size_t i = 0; i < a->n; i++) {
        int one = 0;
        struct base_err e = {0};
        if (loop_predict_task(a->r->api->loop, a->ids[i], &one, &e)) {
            BASE_WARN("api: task %lld not predicted: %s", (long long)a->ids[i], e.msg);
            failed++;
        }
        made += one;
    }
    char what[STORE_MODEL_VERSION_MAX + 128];
    snprintf(what, sizeof what, "predictions of %s for %zu tasks (%lld failed)", v.name, a->n,
             (long long)failed);
    store_version_release(&v);
    return reply_done(a->r, made, "Retrieved", what, NULL);
}

struct action {
    const char *id, *title;
    int order;
    const char *permission, *text;
    action_fn fn;
    int deferred; /* slow: runs on the image pool */
};

static const struct action ACTIONS[] = {
    {"retrieve_tasks_predictions", "Retrieve Predictions", 90, "predictions.any",
     "The project's current model predicts the selected tasks that have no prediction of it yet.",
     retrieve_predictions, 1},
    {"predictions_to_annotations", "Create Annotations From Predictions", 91, "tasks.change",
     "Each prediction of the selected tasks (of the chosen model versions) becomes an annotation "
     "by you, unless one was already made from it.",
     predictions_to_annotations, 0},
    {"delete_tasks", "Delete Tasks", 100, "tasks.delete",
     "The selected tasks are deleted with their annotations and predictions.", delete_tasks, 0},
    {"delete_tasks_annotations", "Delete Annotations", 101, "tasks.delete",
     "Every annotation of the selected tasks is deleted.", delete_annotations, 0},
    {"delete_tasks_predictions", "Delete Predictions", 102, "predictions.any",
     "Every prediction of the selected tasks is deleted.", delete_predictions, 0},
};
#define NACTIONS (sizeof ACTIONS / sizeof ACTIONS[0])

static json_t *action_json(const struct action *x)
{
    json_t *j =
        json_pack("{ss ss si ss s{ss ss}}", "id", x->id, "title", x->title, "order", x->order,
                  "permission", x->permission, "dialog", "text", x->text, "type", "confirm");
    if (!strcmp(x->id, "delete_tasks"))
        json_object_set_new(j, "reload", json_true());
    return j;
}

/* The project of ?project= (404 as Label Studio when absent) into *row. */
static int query_project(struct api_req *r, struct store_project *row, struct base_err *err)
{
    int64_t project;
    if (api_query_int(r, "project", 0, 1, INT64_MAX, &project, err))
        return -1;
    if (project == 0)
        return base_err_set(err, BASE_E_NOTFOUND, "Not found.");
    return api_project_row(r, project, row, err);
}

/* GET /api/dm/actions?project= */
int api_dm_actions_list(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    if (query_project(r, &row, err))
        return -1;
    store_project_release(&row);
    json_t *out = json_array();
    for (size_t i = 0; i < NACTIONS; i++)
        json_array_append_new(out, action_json(&ACTIONS[i]));
    return api_reply_json(r, 200, out);
}

static const struct action *find_action(struct api_req *r, struct base_err *err)
{
    const char *id = http_request_query(r->http, "id");
    if (!id || !*id) {
        r->status_override = 422;
        base_err_set(err, BASE_E_INVALID, "No action id \"None\", use ?id=<action-id>");
        return NULL;
    }
    for (size_t i = 0; i < NACTIONS; i++)
        if (!strcmp(ACTIONS[i].id, id))
            return &ACTIONS[i];
    base_err_set(err, BASE_E_INVALID, "Can't find '%.100s' in registered actions", id);
    return NULL;
}

/* The tasks the request chooses: its view (?view= or "view" in the body), else the body's
 * filters, ordering and selectedItems. */
static int choose(struct api_req *r, const struct store_project *row, struct action_run *a,
                  struct base_err *err)
{
    struct store_task_view v;
    int64_t view = 0;
    const json_t *bview = json_object_get(a->body, "view");
    if (api_query_int(r, "view", 0, 0, INT64_MAX, &view, err))
        return -1;
    if (!view && json_is_integer(bview))
        view = json_integer_value(bview);
    if (view ? api_dm_view_query(r, row, view, &v, err) : api_dm_query(r, row, a->body, &v, err))
        return -1;
    if (!view && !json_object_get(a->body, "selectedItems"))
        return api_invalid(r, err, "selectedItems",
                           "say which tasks: {\"all\": true, \"excluded\": [...]} or "
                           "{\"all\": false, \"included\": [...]}");
    int64_t *ids = NULL;
    if (store_task_view_ids(r->api->store, &v, &ids, &a->n, err))
        return -1;
    a->ids = base_arena_alloc(r->arena, (a->n ? a->n : 1) * sizeof *a->ids);
    if (a->n)
        memcpy(a->ids, ids, a->n * sizeof *ids);
    base_free(ids);
    return 0;
}

/* Parses the request and runs the action (on the request thread or, deferred, on a pool). */
static int run(struct api_req *r, const struct action *x, struct base_err *err)
{
    struct store_project row = {0};
    size_t len;
    http_request_body(r->http, &len);
    struct action_run a = {.r = r};
    a.body = len ? api_body_object(r, err) : json_object();
    int rc = -1;
    if (a.body && !query_project(r, &row, err) && !choose(r, &row, &a, err)) {
        a.project = row.id;
        rc = x->fn(&a, err);
    }
    store_project_release(&row);
    json_decref(a.body);
    return rc;
}

static int run_deferred(struct api_req *r, struct base_err *err)
{
    const struct action *x = find_action(r, err);
    return x ? run(r, x, err) : -1;
}

/* POST /api/dm/actions?id=<action>&project=<id> */
int api_dm_actions_run(struct api_req *r, struct base_err *err)
{
    const struct action *x = find_action(r, err);
    if (!x)
        return -1;
    if (x->deferred)
        return api_defer(r, API_POOL_IMAGE, run_deferred, err);
    return run(r, x, err);
}
