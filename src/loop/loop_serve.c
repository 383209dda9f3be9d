/* What the server does with the current model on a request: predicting a task when it is opened
 * without a prediction of the current version (a few loaded models are kept, swapped when the
 * project's model_version moves), and recording what an annotation kept of its prediction. */
#include "loop_int.h"

#include <string.h>

/* Borrows a predictor of version v (loading or swapping it in); give it back with unborrow. */
static struct loop_cached *borrow(struct loop *l, const struct store_version *v,
                                  const struct store_project *row, const struct loop_target *t,
                                  struct base_err *err)
{
    pthread_mutex_lock(&l->cache_mu);
    struct loop_cached *c = NULL, *victim = NULL, *empty = NULL, *lru = NULL;
    for (int i = 0; i < LOOP_CACHE; i++) {
        struct loop_cached *e = &l->cache[i];
        if (e->p && e->project == v->project)
            c = e;
        else if (!e->p && !empty)
            empty = e;
        else if (e->p && e->users == 0 && (!lru || e->used < lru->used))
            lru = e;
    }
    victim = empty ? empty : lru;
    int rc = 0;
    char *path = loop_model_path(l->st, l->data_dir, row, t, v);
    if (c && strcmp(c->version, v->name)) {
        rc = det_predictor_swap(c->p, path, err); /* calls in flight finish on the old one */
        if (rc == 0)
            snprintf(c->version, sizeof c->version, "%s", v->name);
    } else if (!c && victim) {
        det_predictor_free(victim->p);
        memset(victim, 0, sizeof *victim);
        if ((victim->p = det_predictor_open(path, err))) {
            victim->project = v->project;
            snprintf(victim->version, sizeof victim->version, "%s", v->name);
            c = victim;
        }
    } else if (!c) {
        rc = base_err_set(err, BASE_E_BUSY, "every loaded model is in use");
    }
    base_free(path);
    if (c && rc == 0) {
        c->users++;
        c->used = ++l->tick;
    } else {
        c = NULL;
    }
    pthread_mutex_unlock(&l->cache_mu);
    return c;
}

static void unborrow(struct loop *l, struct loop_cached *c)
{
    pthread_mutex_lock(&l->cache_mu);
    c->users--;
    pthread_mutex_unlock(&l->cache_mu);
}

void loop_cache_release(struct loop *l)
{
    for (int i = 0; i < LOOP_CACHE; i++)
        det_predictor_free(l->cache[i].p);
    memset(l->cache, 0, sizeof l->cache);
}

struct task_look {
    const char *version;
    int has;
    json_t *data;
};

static int look(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct task_look *x = ctx;
    for (size_t i = 0; i < t->npredictions; i++)
        x->has |= !strcmp(t->predictions[i].model_version, x->version);
    x->data = json_incref(t->data);
    return 0;
}

static int predict_into_store(struct loop *l, const struct store_version *v,
                              const struct store_project *row, const struct loop_target *t,
                              int64_t task, const char *path, int *made, struct base_err *err)
{
    struct loop_cached *c = borrow(l, v, row, t, err);
    if (!c)
        return -1;
    struct loop_shot shot;
    int rc = loop_predict_file(c->p, path, (float)v->score_thr, &shot, err);
    if (rc == 0) {
        struct store_prediction p;
        struct det_model *m = det_predictor_acquire(c->p);
        loop_shot_prediction(&shot, t, det_model_info(m), v->name, (float)v->score_thr, task, &p);
        det_predictor_release(c->p, m);
        int64_t n = 0;
        rc = store_prediction_create_many(l->st, &p, 1, &n, err);
        *made = n > 0;
        store_prediction_release(&p);
        loop_shot_release(&shot);
    }
    unborrow(l, c);
    return rc;
}

int loop_predict_task(struct loop *l, int64_t task, int *made, struct base_err *err)
{
    int64_t project;
    struct store_project row = {0};
    struct store_version v = {0};
    struct loop_target t = {0};
    struct task_look x = {NULL, 0, NULL};
    char *path = NULL;
    int rc = 0;
    *made = 0;
    if (!l || store_task_project(l->st, task, &project, err) ||
        store_project_get(l->st, project, &row, err))
        return -1;
    if (!loop_project_active(&row) || store_version_current(l->st, project, &v, NULL) ||
        loop_target_load(&row, &t, NULL))
        goto out; /* nothing to predict with */
    x.version = v.name;
    struct store_task_query q = {.task = task, .with_predictions = 1};
    if ((rc = store_task_each(l->st, &q, look, &x, err)) < 0 || x.has)
        goto out;
    struct base_err why = {0};
    if (!(path = loop_task_image(l->st, l->data_dir, NULL, project, x.data, t.data_key, &why))) {
        BASE_DEBUG("loop: task %lld not predicted: %s", (long long)task, why.msg);
        goto out;
    }
    rc = predict_into_store(l, &v, &row, &t, task, path, made, err);
out:
    base_free(path);
    json_decref(x.data);
    loop_target_release(&t);
    store_version_release(&v);
    store_project_release(&row);
    return rc < 0 ? -1 : 0;
}

int loop_predict_image(struct loop *l, int64_t project, const char *path, json_t **prediction,
                       struct base_err *err)
{
    struct store_project row = {0};
    struct store_version v = {0};
    struct loop_target t = {0};
    struct loop_cached *c = NULL;
    int rc = -1;
    *prediction = NULL;
    if (store_project_get(l->st, project, &row, err))
        return -1;
    rc = 0;
    if (!loop_project_active(&row) || store_version_current(l->st, project, &v, NULL) ||
        loop_target_load(&row, &t, NULL))
        goto out; /* no model to predict with */
    rc = -1;
    if (!(c = borrow(l, &v, &row, &t, err)))
        goto out;
    struct loop_shot shot;
    if ((rc = loop_predict_file(c->p, path, (float)v.score_thr, &shot, err)) == 0) {
        struct store_prediction p;
        struct det_model *m = det_predictor_acquire(c->p);
        loop_shot_prediction(&shot, &t, det_model_info(m), v.name, (float)v.score_thr, 0, &p);
        det_predictor_release(c->p, m);
        *prediction = json_pack("{s:O, s:f, s:s}", "result", p.result, "score", p.score,
                                "model_version", p.model_version);
        store_prediction_release(&p);
        loop_shot_release(&shot);
    }
    unborrow(l, c);
out:
    loop_target_release(&t);
    store_version_release(&v);
    store_project_release(&row);
    return rc;
}

/* The prediction an annotation started from, as a JSON prediction object (new reference). */
static json_t *started_from(struct loop *l, const struct store_annotation *a)
{
    if (a->parent_prediction > 0) {
        struct store_prediction p = {0};
        json_t *j = NULL;
        if (!store_prediction_get(l->st, a->parent_prediction, &p, NULL))
            j = json_pack("{s:I, s:s, s:O}", "id", (json_int_t)p.id, "model_version",
                          p.model_version, "result", p.result);
        store_prediction_release(&p);
        return j;
    }
    if (json_is_array(json_object_get(a->prediction, "result")))
        return json_incref(a->prediction);
    return NULL;
}

/* The pre-label threshold the UI starts at for a version of ours; 0 for other predictions. */
static float shown_threshold(struct loop *l, int64_t project, const char *version)
{
    struct store_version v = {0};
    float thr = 0;
    if (!store_version_current(l->st, project, &v, NULL) && !strcmp(v.name, version))
        thr = (float)v.score_thr;
    store_version_release(&v);
    return thr;
}

static void count_help(struct loop *l, const struct store_annotation *a, const json_t *pred,
                       const struct loop_target *t, struct store_help *h)
{
    const char *const *classes = (const char *const *)t->classes;
    int ns = 0, nf = 0, kept = 0;
    struct det_box *shown = NULL, *fin;
    if (pred) {
        const char *version = json_string_value(json_object_get(pred, "model_version"));
        snprintf(h->model_version, sizeof h->model_version, "%s", version ? version : "");
        h->prediction = json_integer_value(json_object_get(pred, "id"));
        shown = loop_result_boxes(json_object_get(pred, "result"), t->from_name, classes,
                                  t->nclasses, &ns);
        float thr = shown_threshold(l, a->project, h->model_version);
        for (int i = 0; i < ns; i++)
            if (shown[i].score >= thr)
                shown[kept++] = shown[i];
    }
    fin = loop_result_boxes(a->result, t->from_name, classes, t->nclasses, &nf);
    struct loop_help_counts c;
    loop_help_compare(shown, kept, fin, nf, &c);
    h->shown = c.shown, h->accepted = c.accepted, h->adjusted = c.adjusted;
    h->deleted = c.deleted, h->drawn = c.drawn, h->adjust_iou = c.adjust_iou;
    base_free(shown);
    base_free(fin);
}

int loop_record_help(struct loop *l, int64_t annotation, struct base_err *err)
{
    struct store_annotation a = {0};
    struct store_project row = {0};
    json_t *pred = NULL;
    struct loop_target t = {0};
    int rc = -1;
    if (store_annotation_get(l->st, annotation, &a, err) ||
        store_project_get(l->st, a.project, &row, err))
        goto out;
    rc = 0;
    if (a.was_cancelled || !a.result || loop_target_load(&row, &t, NULL))
        goto out; /* a skip, or a project without boxes: nothing to count */
    struct store_help h = {.annotation = a.id};
    pred = started_from(l, &a);
    count_help(l, &a, pred, &t, &h);
    h.has_lead_time = a.has_lead_time;
    h.lead_time = a.lead_time;
    rc = store_help_put(l->st, &h, err);
out:
    json_decref(pred);
    loop_target_release(&t);
    store_project_release(&row);
    store_annotation_release(&a);
    return rc;
}
