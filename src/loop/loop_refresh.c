/* Predictions for every task after a promotion (or a rollback, or an import): the tasks without a
 * prediction of the version, unlabeled ones first (they are what people will open next and what
 * the queue orders), predicted in batches that are each one transaction. A picture that cannot
 * be read is skipped with a warning; the batch goes on. */
#include "loop_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_BATCH 32
#define MAX_WARNINGS  10

struct todo {
    int64_t id;
    int labeled;
    char *data; /* the task's data object as stored JSON text */
};

struct todo_list {
    const char *version;
    struct todo *items;
    size_t n, cap;
};

static int collect(void *ctx, const struct store_task *t, struct base_err *err)
{
    (void)err;
    struct todo_list *x = ctx;
    for (size_t i = 0; i < t->npredictions; i++)
        if (!strcmp(t->predictions[i].model_version, x->version))
            return 0;
    if (x->n == x->cap)
        x->items = base_realloc(x->items, (x->cap = x->cap * 2 + 64) * sizeof *x->items);
    x->items[x->n++] = (struct todo){t->id, t->is_labeled, base_strndup(t->data_text, t->data_len)};
    return 0;
}

static int unlabeled_first(const void *a, const void *b)
{
    const struct todo *p = a, *q = b;
    if (p->labeled != q->labeled)
        return p->labeled - q->labeled;
    return p->id < q->id ? -1 : p->id > q->id;
}

static void todo_release(struct todo_list *x)
{
    for (size_t i = 0; i < x->n; i++)
        base_free(x->items[i].data);
    base_free(x->items);
}

/* Predicts one task into *p; 1 when it was skipped (reported, up to MAX_WARNINGS times). */
static int predict_one(const struct loop_refresh *r, const struct todo *t, int *warned,
                       struct store_prediction *p)
{
    struct base_err e = {0};
    json_t *data = json_loads(t->data, 0, NULL);
    char *path =
        loop_task_image(r->st, r->data_dir, r->media, r->project, data, r->target->data_key, &e);
    struct loop_shot shot;
    int rc = path ? loop_predict_file(r->predictor, path, r->thr, &shot, &e) : -1;
    if (rc && path)
        loop_name_s3(data, r->target->data_key, &e);
    json_decref(data);
    base_free(path);
    if (rc) {
        if ((*warned)++ < MAX_WARNINGS)
            BASE_WARN("loop: task %lld not predicted: %s", (long long)t->id, e.msg);
        return 1;
    }
    struct det_model *m = det_predictor_acquire(r->predictor);
    loop_shot_prediction(&shot, r->target, det_model_info(m), r->version, r->thr, t->id, p);
    det_predictor_release(r->predictor, m);
    loop_shot_release(&shot);
    return 0;
}

static int store_batch(const struct loop_refresh *r, struct store_prediction *batch, size_t n,
                       int64_t *made, struct base_err *err)
{
    int64_t k = 0;
    int rc = store_prediction_create_many(r->st, batch, n, &k, err);
    for (size_t i = 0; i < n; i++)
        store_prediction_release(&batch[i]);
    *made += k;
    return rc;
}

int loop_refresh_run(const struct loop_refresh *r, struct loop_refresh_stats *stats,
                     struct base_err *err)
{
    memset(stats, 0, sizeof *stats);
    struct todo_list x = {r->version, NULL, 0, 0};
    struct store_task_query q = {.project = r->project, .with_predictions = 1, .json_text = 1};
    if (store_task_each(r->st, &q, collect, &x, err)) {
        todo_release(&x);
        return -1;
    }
    if (x.n)
        qsort(x.items, x.n, sizeof *x.items, unlabeled_first);
    struct store_prediction batch[REFRESH_BATCH];
    size_t nb = 0;
    int rc = 0, warned = 0;
    double t0 = base_now();
    stats->total = (int64_t)x.n;
    for (size_t i = 0; i < x.n && rc == 0; i++) {
        if (r->cancel && *r->cancel) {
            rc = base_err_set(err, BASE_E_CANCELLED, "cancelled while predicting");
            break;
        }
        if (predict_one(r, &x.items[i], &warned, &batch[nb]) == 0)
            nb++;
        else
            stats->skipped++;
        stats->done = (int64_t)i + 1;
        if (nb == REFRESH_BATCH || i + 1 == x.n) {
            rc = store_batch(r, batch, nb, &stats->made, err);
            nb = 0;
        }
        if (r->progress)
            r->progress(r->user, stats, base_now() - t0);
    }
    for (size_t i = 0; i < nb; i++)
        store_prediction_release(&batch[i]);
    if (warned > MAX_WARNINGS)
        BASE_WARN("loop: %d more tasks not predicted (only the first %d are named)",
                  warned - MAX_WARNINGS, MAX_WARNINGS);
    todo_release(&x);
    return rc;
}
