/* /api/predictions: list (filters ?task=, ?task__project=, ?project=), create, read, update,
 * delete. Each prediction keeps the model version that made it and its score. */
#include "api_int.h"

#include <string.h>

static int parse_prediction(struct api_req *r, json_t *body, struct store_prediction *p,
                            unsigned *set, struct base_err *err)
{
    int pr[7] = {0}, bad = 0, score_null = 1, mis_null = 1;
    bad |= api_field_int(r, body, "task", 0, &p->task, &pr[0], err);
    pr[1] = json_object_get(body, "result") != NULL; /* expanded once the project is known */
    bad |= api_field_number(r, body, "score", 1, &p->score, &score_null, &pr[2], err);
    json_t *mv = json_object_get(body, "model_version");
    pr[3] = mv != NULL;
    if (mv && !json_is_null(mv) &&
        (!json_is_string(mv) || json_string_length(mv) > STORE_MODEL_VERSION_MAX))
        bad |= api_invalid(r, err, "model_version", "Not a valid string (at most %d characters).",
                           STORE_MODEL_VERSION_MAX);
    else if (json_is_string(mv))
        snprintf(p->model_version, sizeof p->model_version, "%s", json_string_value(mv));
    bad |= api_field_int(r, body, "cluster", 1, &p->cluster, &pr[4], err);
    p->has_cluster = pr[4] && !json_is_null(json_object_get(body, "cluster"));
    json_t *nb = json_object_get(body, "neighbors");
    pr[5] = nb != NULL;
    p->neighbors = nb && !json_is_null(nb) ? json_incref(nb) : NULL;
    bad |= api_field_number(r, body, "mislabeling", 0, &p->mislabeling, &mis_null, &pr[6], err);
    p->has_score = !score_null;
    static const unsigned bits[] = {STORE_SET_TASK,          STORE_SET_RESULT,  STORE_SET_SCORE,
                                    STORE_SET_MODEL_VERSION, STORE_SET_CLUSTER, STORE_SET_NEIGHBORS,
                                    STORE_SET_MISLABELING};
    *set = 0;
    for (int i = 0; i < 7; i++)
        *set |= pr[i] ? bits[i] : 0;
    return bad ? -1 : 0;
}

static int reply_prediction(struct api_req *r, int status, int64_t id, struct base_err *err)
{
    struct store_prediction p = {0};
    if (store_prediction_get(r->api->store, id, &p, err))
        return -1;
    api_reply_json(r, status, api_prediction_json(&p));
    store_prediction_release(&p);
    return 0;
}

static int check_task(struct api_req *r, int64_t task, int64_t *project, struct base_err *err)
{
    struct base_err e = {0};
    if (!store_task_project(r->api->store, task, project, &e))
        return 0;
    if (e.status != BASE_E_NOTFOUND) {
        *err = e;
        return -1;
    }
    return api_invalid(r, err, "task", "Invalid pk \"%lld\" - object does not exist.",
                       (long long)task);
}

/* The body's result in full form (Label Studio's short forms expanded for the task's project). */
static int expand_result(struct api_req *r, json_t *body, int64_t project,
                         struct store_prediction *p, struct base_err *err)
{
    struct store_project row = {0};
    if (store_project_get(r->api->store, project, &row, err))
        return -1;
    int rc =
        api_prediction_result(r, &row, json_object_get(body, "result"), "result", &p->result, err);
    store_project_release(&row);
    return rc;
}

int api_predictions_create(struct api_req *r, struct base_err *err)
{
    struct store_prediction p = {0};
    unsigned set;
    int64_t id, project;
    int rc = -1;
    json_t *body = api_body_object(r, err);
    if (!body || parse_prediction(r, body, &p, &set, err))
        goto out;
    if (!(set & STORE_SET_TASK))
        api_invalid(r, err, "task", "This field is required.");
    if (!(set & STORE_SET_RESULT))
        api_invalid(r, err, "result", "This field is required.");
    if (!(set & STORE_SET_TASK) || !(set & STORE_SET_RESULT) ||
        check_task(r, p.task, &project, err) || expand_result(r, body, project, &p, err) ||
        store_prediction_create(r->api->store, p.task, &p, &id, err))
        goto out;
    rc = reply_prediction(r, 201, id, err);
out:
    store_prediction_release(&p);
    json_decref(body);
    return rc;
}

struct list_ctx {
    json_t *out;
};

static int append(void *ctx, const struct store_prediction *p, struct base_err *err)
{
    (void)err;
    json_array_append_new(((struct list_ctx *)ctx)->out, api_prediction_json(p));
    return 0;
}

int api_predictions_list(struct api_req *r, struct base_err *err)
{
    int64_t task, project;
    if (api_query_int(r, "task", 0, 1, INT64_MAX, &task, err) ||
        api_query_int(r, "task__project", 0, 1, INT64_MAX, &project, err))
        return -1;
    if (!project && api_query_int(r, "project", 0, 1, INT64_MAX, &project, err))
        return -1;
    struct list_ctx x = {json_array()};
    if (store_prediction_each(r->api->store, task, task ? 0 : project, append, &x, err)) {
        json_decref(x.out);
        return -1;
    }
    return api_reply_json(r, 200, x.out);
}

int api_prediction_get(struct api_req *r, struct base_err *err)
{
    return reply_prediction(r, 200, r->m.ids[0], err);
}

/* PATCH and PUT: the given fields replace the stored ones. */
int api_prediction_patch(struct api_req *r, struct base_err *err)
{
    struct store_prediction p = {0}, old = {0};
    unsigned set;
    int64_t project = 0;
    int rc = -1;
    json_t *body = api_body_object(r, err);
    if (!body || parse_prediction(r, body, &p, &set, err) ||
        store_prediction_get(r->api->store, r->m.ids[0], &old, err) ||
        ((set & STORE_SET_TASK) && check_task(r, p.task, &project, err)) ||
        ((set & STORE_SET_RESULT) &&
         expand_result(r, body, project ? project : old.project, &p, err)) ||
        store_prediction_update(r->api->store, r->m.ids[0], set, &p, err))
        goto out;
    rc = reply_prediction(r, 200, r->m.ids[0], err);
out:
    store_prediction_release(&old);
    store_prediction_release(&p);
    json_decref(body);
    return rc;
}

int api_prediction_delete(struct api_req *r, struct base_err *err)
{
    if (store_prediction_delete(r->api->store, r->m.ids[0], err))
        return -1;
    return api_reply_empty(r, 204);
}
