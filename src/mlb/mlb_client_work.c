/* What the ML backend client does with each piece of queued work, with the bodies Label Studio
 * sends (spec 3.4-3.7): /setup before predicting, /predict in batches with the fallback to one
 * task a call when a backend answers a single result, predictions stored with their score and
 * model version (so they enter the queue order and the help metrics like the built-in model's),
 * annotation webhooks, training on demand, and a periodic refresh of every backend's state. */
#include "mlb_client_int.h"

#include <string.h>

/* ---- Label Studio's JSON shapes ---- */

static json_t *iso(int64_t us)
{
    char buf[32];
    base_time_iso(us, buf);
    return json_string(buf);
}

static void project_uid(const struct store_project *p, char *out, size_t size)
{
    snprintf(out, size, "%lld.%lld", (long long)p->id, (long long)(p->created_at / 1000000));
}

/* task.data with Label Studio's "$undefined$" key renamed to the config's first data key. */
static json_t *task_data(const json_t *data, const struct store_project *p)
{
    json_t *out = json_deep_copy(data);
    json_t *raw = json_object_get(out, "$undefined$");
    const char *key = store_project_data_key(p);
    if (raw && key) {
        json_object_set(out, key, raw);
        json_object_del(out, "$undefined$");
    }
    return out;
}

static json_t *annotation_json(const struct store_annotation *a)
{
    json_t *j = json_pack("{s:I, s:O, s:b, s:b, s:o, s:o, s:I, s:I, s:o}", "id", (json_int_t)a->id,
                          "result", a->result ? a->result : json_null(), "was_cancelled",
                          a->was_cancelled, "ground_truth", a->ground_truth, "created_at",
                          iso(a->created_at), "updated_at", iso(a->updated_at), "task",
                          (json_int_t)a->task, "project", (json_int_t)a->project, "lead_time",
                          a->has_lead_time ? json_real(a->lead_time) : json_null());
    json_object_set_new(j, "completed_by",
                        a->completed_by ? json_integer(a->completed_by) : json_null());
    json_object_set_new(j, "parent_prediction",
                        a->parent_prediction ? json_integer(a->parent_prediction) : json_null());
    return j;
}

struct task_acc {
    const struct store_project *p;
    json_t *out;
    int with_annotations; /* export shape for the seed-era /train */
};

static int add_task(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct task_acc *x = ctx;
    json_t *anns = json_array(), *preds = json_array();
    for (size_t i = 0; x->with_annotations && i < t->nannotations; i++)
        json_array_append_new(anns, annotation_json(&t->annotations[i]));
    for (size_t i = 0; x->with_annotations && i < t->npredictions; i++)
        json_array_append_new(preds, json_integer(t->predictions[i].id));
    json_t *j = json_pack(
        "{s:I, s:o, s:O, s:o, s:o, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "id",
        (json_int_t)t->id, "data", task_data(t->data, x->p), "meta", t->meta, "created_at",
        iso(t->created_at), "updated_at", iso(t->updated_at), "is_labeled", t->is_labeled,
        "overlap", (json_int_t)t->overlap, "inner_id", (json_int_t)t->inner_id, "total_annotations",
        (json_int_t)t->total_annotations, "cancelled_annotations",
        (json_int_t)t->cancelled_annotations, "total_predictions", (json_int_t)t->total_predictions,
        "project", (json_int_t)t->project, "annotations", anns, "predictions", preds);
    json_array_append_new(x->out, j);
    return 0;
}

/* Tasks of the project as Label Studio serializes them (ids NULL: the annotated ones, with
 * their annotations, for /train). */
static json_t *tasks_json(struct mlb_client *c, const struct store_project *p, const int64_t *ids,
                          size_t n, struct base_err *err)
{
    struct task_acc x = {p, json_array(), ids == NULL};
    struct store_task_query q = {.project = p->id,
                                 .ids = ids,
                                 .nids = n,
                                 .only_annotated = ids == NULL,
                                 .with_annotations = ids == NULL,
                                 .with_predictions = ids == NULL};
    if (store_task_each(c->st, &q, add_task, &x, err)) {
        json_decref(x.out);
        return NULL;
    }
    return x.out;
}

json_t *mlb_client_setup_body(struct mlb_client *c, const struct store_ml_backend *b)
{
    struct store_project p = {0};
    if (store_project_get(c->st, b->project, &p, NULL))
        return NULL;
    char uid[64], token[STORE_TOKEN_LEN + 1] = "";
    project_uid(&p, uid, sizeof uid);
    if (p.created_by)
        store_user_token(c->st, p.created_by, token, NULL);
    pthread_mutex_lock(&c->mu);
    json_t *host = json_string(c->hostname ? c->hostname : "");
    pthread_mutex_unlock(&c->mu);
    json_t *body = json_pack("{s:s, s:s, s:o, s:s, s:s, s:n}", "project", uid, "schema",
                             p.label_config, "hostname", host, "access_token", token,
                             "model_version", b->model_version, "extra_params");
    store_project_release(&p);
    return body;
}

/* ---- predictions ---- */

/* One element of `results` as predictions of task `task` appended to preds: an object with a
 * "result" list, or (current Label Studio) a list of them. */
static int take_result(const struct store_ml_backend *b, const json_t *el, int64_t task,
                       json_t *preds, struct base_err *err)
{
    const json_t *one[1] = {el};
    size_t n = json_is_array(el) ? json_array_size(el) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *p = json_is_array(el) ? json_array_get(el, i) : one[0];
        json_t *result = json_object_get(p, "result");
        if (!json_is_array(result))
            return base_err_set(err, BASE_E_INVALID,
                                "the result for task %lld has no \"result\" list", (long long)task);
        json_t *score = json_object_get(p, "score");
        double s = json_is_number(score) ? json_number_value(score) : -1;
        if (s > 1 && s <= 100)
            s /= 100; /* percent, as some backends (the seed's) send it */
        const char *v = json_string_value(json_object_get(p, "model_version"));
        json_array_append_new(preds,
                              json_pack("{s:I, s:O, s:o, s:s}", "task", (json_int_t)task, "result",
                                        result, "score", s >= 0 ? json_real(s) : json_null(),
                                        "model_version", v ? v : b->model_version));
    }
    return 0;
}

static int store_preds(struct mlb_client *c, const json_t *preds, struct base_err *err)
{
    size_t n = json_array_size(preds);
    if (!n)
        return 0;
    struct store_prediction *in = base_calloc(n, sizeof *in);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(preds, i);
        in[i].task = json_integer_value(json_object_get(p, "task"));
        in[i].result = json_object_get(p, "result");
        in[i].has_score = json_is_number(json_object_get(p, "score"));
        in[i].score = json_number_value(json_object_get(p, "score"));
        snprintf(in[i].model_version, sizeof in[i].model_version, "%s",
                 json_string_value(json_object_get(p, "model_version")));
    }
    int64_t made = 0;
    int rc = store_prediction_create_many(c->st, in, n, &made, err);
    base_free(in);
    return rc;
}

static int predict_batch(struct mlb_client *c, const struct store_ml_backend *b,
                         const struct store_project *p, const int64_t *ids, size_t n,
                         struct base_err *err)
{
    json_t *tasks = tasks_json(c, p, ids, n, err), *out = NULL, *preds = json_array();
    char uid[64];
    project_uid(p, uid, sizeof uid);
    int rc = -1;
    if (!tasks)
        goto done;
    json_t *body = json_pack("{s:O, s:s, s:s, s:s, s:{s:n, s:n, s:n}}", "tasks", tasks,
                             "model_version", b->model_version, "project", uid, "label_config",
                             p->label_config, "params", "login", "password", "context");
    rc = mlb_client_call(c, b, "predict", body, c->cfg.predict_s, c->cfg.retries, &out, err);
    json_decref(body);
    if (rc)
        goto done;
    json_t *results = json_object_get(out, "results");
    size_t got = json_array_size(results), sent = json_array_size(tasks);
    if (!json_is_array(results)) {
        rc = base_err_set(err, BASE_E_INVALID, "/predict: the answer has no \"results\" list");
    } else if (got == 1 && sent > 1) { /* cannot batch: one task a call, as Label Studio does */
        for (size_t i = 0; i < sent && rc == 0; i++) {
            int64_t id = json_integer_value(json_object_get(json_array_get(tasks, i), "id"));
            rc = predict_batch(c, b, p, &id, 1, err);
        }
    } else if (got != sent && got != 0) {
        rc = base_err_set(err, BASE_E_INVALID, "/predict: %zu results for %zu tasks", got, sent);
    } else {
        for (size_t i = 0; i < got && rc == 0; i++)
            rc = take_result(b, json_array_get(results, i),
                             json_integer_value(json_object_get(json_array_get(tasks, i), "id")),
                             preds, err);
        if (rc == 0)
            rc = store_preds(c, preds, err);
    }
done:
    json_decref(out);
    json_decref(tasks);
    json_decref(preds);
    return rc;
}

struct missing {
    const char *version;
    int64_t *ids;
    size_t n, cap;
};

static int collect_missing(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct missing *m = ctx;
    for (size_t i = 0; i < t->npredictions; i++)
        if (!strcmp(t->predictions[i].model_version, m->version))
            return 0;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->ids = base_realloc(m->ids, m->cap * sizeof *m->ids);
    }
    m->ids[m->n++] = t->id;
    return 0;
}

static void predict_for(struct mlb_client *c, struct store_ml_backend *b,
                        const struct store_project *p, const struct mlb_work *w)
{
    struct base_err err = {0};
    if (mlb_client_connect(c, b, &err))
        return; /* its state says why */
    struct missing m = {b->model_version, NULL, 0, 0};
    struct store_task_query q = {
        .project = b->project, .ids = w->tasks, .nids = w->ntasks, .with_predictions = 1};
    int rc = store_task_each(c->st, &q, collect_missing, &m, &err);
    for (size_t i = 0; rc == 0 && i < m.n; i += (size_t)c->cfg.batch) {
        size_t k = m.n - i < (size_t)c->cfg.batch ? m.n - i : (size_t)c->cfg.batch;
        rc = predict_batch(c, b, p, m.ids + i, k, &err);
    }
    base_free(m.ids);
    if (rc) {
        BASE_WARN("ml backends: backend %lld (%s): %s", (long long)b->id, b->url, err.msg);
        mlb_client_op_result(c, b, err.msg);
    } else if (m.n) {
        mlb_client_op_result(c, b, NULL);
        BASE_INFO("ml backends: backend %lld (%s) asked for %zu task(s)", (long long)b->id,
                  b->model_version, m.n);
    }
}

/* ---- the work ---- */

struct backends {
    struct store_ml_backend *b;
    size_t n;
};

static int keep_external(void *ctx, const struct store_ml_backend *b, struct base_err *err)
{
    (void)err;
    struct backends *x = ctx;
    if (!b->url[0])
        return 0;
    x->b = base_realloc(x->b, (x->n + 1) * sizeof *x->b);
    x->b[x->n++] = *b;
    return 0;
}

static json_t *event_body(struct mlb_client *c, const struct mlb_work *w,
                          const struct store_project *p)
{
    if (strstr(w->action, "DELETED"))
        return json_pack("{s:s, s:[{s:I}], s:o}", "action", "ANNOTATIONS_DELETED", "annotations",
                         "id", (json_int_t)w->annotation, "project", store_project_json(p));
    struct store_annotation a = {0};
    if (store_annotation_get(c->st, w->annotation, &a, NULL))
        return NULL; /* deleted since: its own event follows */
    json_t *tasks = tasks_json(c, p, &a.task, 1, NULL);
    json_t *body =
        json_pack("{s:s, s:o, s:O, s:o}", "action", w->action, "annotation", annotation_json(&a),
                  "task", json_array_get(tasks, 0), "project", store_project_json(p));
    json_decref(tasks);
    store_annotation_release(&a);
    return body;
}

static void train(struct mlb_client *c, struct store_ml_backend *b, const struct store_project *p)
{
    struct base_err err = {0};
    json_t *body = NULL, *out = NULL;
    char uid[64];
    project_uid(p, uid, sizeof uid);
    if (b->legacy_train) {
        json_t *tasks = tasks_json(c, p, NULL, 0, &err);
        body = tasks
                   ? json_pack("{s:o, s:s, s:s, s:{s:n, s:n}}", "annotations", tasks, "project",
                               uid, "label_config", p->label_config, "params", "login", "password")
                   : NULL;
    } else {
        body =
            json_pack("{s:s, s:o}", "action", "START_TRAINING", "project", store_project_json(p));
    }
    int rc = body ? mlb_client_call(c, b, b->legacy_train ? "train" : "webhook", body,
                                    c->cfg.predict_s, c->cfg.retries, &out, &err)
                  : -1;
    mlb_client_op_result(c, b, rc ? err.msg : NULL);
    if (rc == 0)
        mlb_client_set_state(c, b, "TR", NULL);
    json_decref(body);
    json_decref(out);
}

static void run(struct mlb_client *c, const struct mlb_work *w)
{
    struct backends x = {NULL, 0};
    struct store_project p = {0};
    struct store_ml_backend one;
    if (w->kind == MLB_WORK_REFRESH || w->kind == MLB_WORK_TRAIN) {
        if (store_ml_backend_get(c->st, w->backend, &one, NULL) || !one.url[0])
            return;
        keep_external(&x, &one, NULL);
    } else {
        store_ml_backend_each(c->st, w->project, keep_external, &x, NULL);
    }
    if (x.n == 0 || store_project_get(c->st, x.b[0].project, &p, NULL)) {
        base_free(x.b);
        return;
    }
    for (size_t i = 0; i < x.n; i++) {
        struct store_ml_backend *b = &x.b[i];
        struct base_err err = {0};
        char before[sizeof b->model_version];
        snprintf(before, sizeof before, "%s", b->model_version);
        if (w->kind == MLB_WORK_REFRESH && !mlb_client_connect(c, b, &err) &&
            strcmp(before, b->model_version))
            mlb_client_predict(c, b->project, NULL, 0); /* a new model version */
        if (w->kind == MLB_WORK_PREDICT)
            predict_for(c, b, &p, w);
        if (w->kind == MLB_WORK_TRAIN)
            train(c, b, &p);
        json_t *body = w->kind == MLB_WORK_EVENT ? event_body(c, w, &p) : NULL, *out = NULL;
        if (body &&
            mlb_client_call(c, b, "webhook", body, c->cfg.webhook_s, c->cfg.retries, &out, &err)) {
            BASE_WARN("ml backends: backend %lld: webhook %s: %s", (long long)b->id, w->action,
                      err.msg);
            mlb_client_set_state(c, b, "ER", err.msg);
        }
        json_decref(body);
        json_decref(out);
    }
    store_project_release(&p);
    base_free(x.b);
}

static int queue_refresh(void *ctx, const struct store_ml_backend *b, struct base_err *err)
{
    (void)err;
    if (b->url[0])
        mlb_client_refresh(ctx, b->id);
    return 0;
}

void *mlb_client_main(void *arg)
{
    struct mlb_client *c = arg;
    double next_poll = base_now() + c->cfg.poll_s;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct mlb_work *w = mlb_queue_pop(&c->queue);
        if (!w) {
            pthread_mutex_unlock(&c->mu);
            int stop = base_now() < next_poll ? mlb_client_sleep(c, 0.2) : 0;
            if (!stop && base_now() >= next_poll) {
                store_ml_backend_each(c->st, 0, queue_refresh, c, NULL);
                next_poll = base_now() + c->cfg.poll_s;
            }
            pthread_mutex_lock(&c->mu);
            continue;
        }
        pthread_mutex_unlock(&c->mu);
        run(c, w);
        mlb_work_free(w);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static struct mlb_work *work(enum mlb_work_kind kind)
{
    struct mlb_work *w = base_calloc(1, sizeof *w);
    w->kind = kind;
    return w;
}

void mlb_client_refresh(struct mlb_client *c, int64_t backend)
{
    struct mlb_work *w = work(MLB_WORK_REFRESH);
    w->backend = backend;
    mlb_client_push(c, w);
}

void mlb_client_train(struct mlb_client *c, int64_t backend)
{
    struct mlb_work *w = work(MLB_WORK_TRAIN);
    w->backend = backend;
    mlb_client_push(c, w);
}

void mlb_client_predict(struct mlb_client *c, int64_t project, const int64_t *tasks, size_t n)
{
    struct mlb_work *w = work(MLB_WORK_PREDICT);
    w->project = project;
    if (n) {
        w->tasks = base_alloc(n * sizeof *tasks);
        memcpy(w->tasks, tasks, n * sizeof *tasks);
        w->ntasks = n;
    }
    mlb_client_push(c, w);
}

void mlb_client_event(struct mlb_client *c, int64_t project, const char *action, int64_t annotation,
                      int64_t task)
{
    struct mlb_work *w = work(MLB_WORK_EVENT);
    w->project = project;
    snprintf(w->action, sizeof w->action, "%s", action);
    w->annotation = annotation;
    w->task = task;
    mlb_client_push(c, w);
}
