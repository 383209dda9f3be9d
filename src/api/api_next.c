/* The labeling queue: which task /api/projects/{id}/next hands out, by the project's sampling
 * setting. Each order is one function in one table so that a smarter policy (uncertainty from
 * the built-in detector) can replace or join them without touching the handler. */
#include "api_int.h"

#include <string.h>

static int next_with(struct api_req *r, const struct store_project *project, enum store_order order,
                     int64_t *task, struct base_err *err)
{
    uint64_t random = 0;
    if (order == STORE_ORDER_RANDOM) {
        pthread_mutex_lock(&r->api->rng_lock);
        random = base_rng_next(&r->api->rng);
        pthread_mutex_unlock(&r->api->rng_lock);
    }
    return store_task_take(r->api->store, project->id, r->user.id, order, random, base_time_us(),
                           r->api->task_lock_ttl_us, task, err);
}

static int next_sequential(struct api_req *r, const struct store_project *project, int64_t *task,
                           struct base_err *err)
{
    return next_with(r, project, STORE_ORDER_SEQUENTIAL, task, err);
}

static int next_uniform(struct api_req *r, const struct store_project *project, int64_t *task,
                        struct base_err *err)
{
    return next_with(r, project, STORE_ORDER_RANDOM, task, err);
}

static int next_uncertainty(struct api_req *r, const struct store_project *project, int64_t *task,
                            struct base_err *err)
{
    return next_with(r, project, STORE_ORDER_UNCERTAINTY, task, err);
}

const struct api_next_policy api_next_policies[] = {
    {"Sequential sampling", next_sequential},
    {"Uniform sampling", next_uniform},
    {"Uncertainty sampling", next_uncertainty},
};
const size_t api_next_npolicies = sizeof api_next_policies / sizeof api_next_policies[0];

static int reply_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct api_req *r = ctx;
    struct store_project row = {0};
    const char *key = NULL;
    if (!store_project_get(r->api->store, t->project, &row, NULL))
        key = store_project_data_key(&row);
    json_t *j = api_task_json(api_users_new(r), t, API_TASK_DM, 1, key, NULL);
    api_storage_rewrite(j);
    api_reply_json(r, 200, j);
    store_project_release(&row);
    return 1;
}

int api_project_next(struct api_req *r, struct base_err *err)
{
    struct store_project row = {0};
    if (api_project_row(r, r->m.ids[0], &row, err))
        return -1;
    const char *sampling = row.sampling;
    api_next_fn fn = api_next_policies[0].fn;
    for (size_t i = 0; sampling && i < api_next_npolicies; i++)
        if (!strcmp(api_next_policies[i].sampling, sampling))
            fn = api_next_policies[i].fn;
    int64_t task = 0;
    int rc = fn(r, &row, &task, err);
    store_project_release(&row);
    if (rc)
        return -1;
    api_predict_on_open(r, task);
    struct store_task_query q = {.task = task, .with_annotations = 1, .with_predictions = 1};
    rc = store_task_each(r->api->store, &q, reply_task, r, err);
    if (rc == 0)
        return base_err_set(err, BASE_E_NOTFOUND, "no more tasks to label");
    return rc == 1 ? 0 : -1;
}
