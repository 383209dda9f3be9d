/* Batches: augmented inputs plus FCOS targets laid out like the head's outputs, and the loader
 * thread that prepares batch k+1 while batch k trains. */
#include "det_int.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

void det_batch_init(struct det_batch *b, const struct det_geom *g, int n, int nclasses)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    b->size = g->width;
    b->nclasses = nclasses;
    b->input = base_alloc((size_t)n * 3 * g->width * g->height * sizeof *b->input);
    for (int l = 0; l < g->nlevels; l++)
        b->cls_t[l] = base_alloc((size_t)n * nclasses * g->lv[l].w * g->lv[l].h * sizeof(float));
    b->pos = base_alloc((size_t)n * g->npoints * sizeof *b->pos);
}

void det_batch_release(struct det_batch *b)
{
    if (!b)
        return;
    base_free(b->input);
    for (int l = 0; l < DET_MAX_LEVELS; l++)
        base_free(b->cls_t[l]);
    base_free(b->pos);
    memset(b, 0, sizeof *b);
}

/* Writes one image's targets from the per-point assignment. */
static void add_targets(struct det_batch *b, const struct det_geom *g, int img, const int *labels,
                        const float *ltrb, const float *ctr)
{
    for (int l = 0; l < g->nlevels; l++) {
        const struct det_level *lv = &g->lv[l];
        int hw = lv->w * lv->h;
        float *t = b->cls_t[l] + (size_t)img * b->nclasses * hw;
        memset(t, 0, (size_t)b->nclasses * hw * sizeof *t);
        for (int p = 0; p < hw; p++) {
            int q = lv->offset + p;
            if (labels[q] < 0)
                continue;
            t[(size_t)labels[q] * hw + p] = 1.0f;
            struct det_pos *ps = &b->pos[b->npos++];
            ps->img = img, ps->level = l, ps->p = p, ps->label = labels[q], ps->ctr = ctr[q];
            det_encode(ltrb + 4 * (size_t)q, lv->stride, ps->ltrb);
        }
    }
}

void det_batch_fill(struct det_batch *b, const struct det_geom *g, const struct det_cache *c,
                    const int *idx, const uint64_t *seeds, const struct det_aug *a,
                    const float mean[3], const float std[3])
{
    int cap = 4 * (c->max_boxes + 1);
    struct det_box *boxes = base_alloc((size_t)cap * sizeof *boxes);
    int *labels = base_alloc((size_t)g->npoints * sizeof *labels);
    float *ltrb = base_alloc((size_t)g->npoints * 4 * sizeof *ltrb);
    float *ctr = base_alloc((size_t)g->npoints * sizeof *ctr);
    size_t chw = (size_t)3 * g->width * g->height;
    b->npos = 0;
    b->nboxes = 0;
    for (int i = 0; i < b->n; i++) {
        struct base_rng rng;
        base_rng_seed(&rng, seeds[i]);
        int nb =
            det_render(c, idx[i], &rng, a, g->width, mean, std, b->input + i * chw, boxes, cap);
        det_assign(g, boxes, nb, labels, ltrb, ctr);
        add_targets(b, g, i, labels, ltrb, ctr);
        b->nboxes += nb;
    }
    base_free(boxes);
    base_free(labels);
    base_free(ltrb);
    base_free(ctr);
}

/* ---- the loader thread ------------------------------------------------------------------------
 */

#define SLOTS 2

struct det_loader {
    const struct det_cache *c;
    struct det_geom g;
    struct det_aug aug;
    int has_aug;
    float mean[3], std[3];
    int batch;
    uint64_t seed;
    struct det_batch slots[SLOTS];
    long produced, consumed; /* batches written; batches handed out */
    long mosaic_end;         /* batches from this one on render without mosaic */
    int stop;
    int *order;     /* current epoch's permutation */
    long order_for; /* the epoch it belongs to */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
};

static uint64_t mix(uint64_t a, uint64_t b)
{
    struct base_rng r;
    base_rng_seed(&r, a * 0x9E3779B97F4A7C15ull ^ b);
    return base_rng_next(&r);
}

/* Stream item -> cache index: the shuffle of epoch item / n. Called by the loader thread only. */
static int stream_index(struct det_loader *l, long item)
{
    long n = l->c->n, e = item / n;
    if (l->order_for != e) {
        struct base_rng r;
        base_rng_seed(&r, mix(l->seed, (uint64_t)e));
        for (int i = 0; i < n; i++)
            l->order[i] = i;
        base_rng_shuffle(&r, l->order, (size_t)n, sizeof *l->order);
        l->order_for = e;
    }
    return l->order[item % n];
}

static void produce(struct det_loader *l, long k, long mosaic_end, struct det_batch *b)
{
    int *idx = base_alloc((size_t)l->batch * sizeof *idx);
    uint64_t *seeds = base_alloc((size_t)l->batch * sizeof *seeds);
    for (int i = 0; i < l->batch; i++) {
        long item = k * l->batch + i;
        idx[i] = stream_index(l, item);
        seeds[i] = mix(l->seed ^ 0xA5A5A5A5ull, (uint64_t)item);
    }
    struct det_aug a = l->aug;
    if (k >= mosaic_end)
        a.mosaic = 0.0f;
    det_batch_fill(b, &l->g, l->c, idx, seeds, l->has_aug ? &a : NULL, l->mean, l->std);
    base_free(seeds);
    base_free(idx);
}

static void *loader_main(void *arg)
{
    struct det_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        /* The consumer holds batch consumed - 1; batch k reuses the slot of batch k - SLOTS,
         * free once k - SLOTS < consumed - 1. */
        while (!l->stop && l->produced > l->consumed + SLOTS - 2)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop)
            break;
        long k = l->produced, mosaic_end = l->mosaic_end;
        pthread_mutex_unlock(&l->mu);
        produce(l, k, mosaic_end, &l->slots[k % SLOTS]);
        pthread_mutex_lock(&l->mu);
        l->produced++;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

struct det_loader *det_loader_new(const struct det_cache *c, const struct det_geom *g, int nclasses,
                                  int batch, uint64_t seed, const struct det_aug *a,
                                  const float mean[3], const float std[3])
{
    struct det_loader *l = base_calloc(1, sizeof *l);
    l->c = c;
    l->g = *g;
    l->has_aug = a != NULL;
    if (a)
        l->aug = *a;
    memcpy(l->mean, mean, sizeof l->mean);
    memcpy(l->std, std, sizeof l->std);
    l->batch = batch;
    l->seed = seed;
    l->mosaic_end = a && a->mosaic_batches > 0 ? a->mosaic_batches : LONG_MAX;
    l->order = base_alloc((size_t)c->n * sizeof *l->order);
    l->order_for = -1;
    for (int i = 0; i < SLOTS; i++)
        det_batch_init(&l->slots[i], g, batch, nclasses);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pthread_create(&l->thread, NULL, loader_main, l))
        base_panic(__FILE__, __LINE__, "cannot start the loader thread");
    return l;
}

const struct det_batch *det_loader_next(struct det_loader *l)
{
    pthread_mutex_lock(&l->mu);
    long k = l->consumed++; /* releases batch k - 1 */
    pthread_cond_broadcast(&l->cv);
    while (l->produced <= k)
        pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    return &l->slots[k % SLOTS];
}

void det_loader_end_mosaic(struct det_loader *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->mosaic_end > l->produced)
        l->mosaic_end = l->produced;
    pthread_mutex_unlock(&l->mu);
}

void det_loader_free(struct det_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    for (int i = 0; i < SLOTS; i++)
        det_batch_release(&l->slots[i]);
    base_free(l->order);
    base_free(l);
}
