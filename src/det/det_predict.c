/* Inference: letterbox, normalise, run, decode, map boxes back to the picture. The predictor
 * shares one immutable model between threads, each call borrowing an inference graph of its
 * batch size from a pool, and swaps models by generation: a call holds a reference to the
 * generation it started on, so a swap never frees a model under a running call. */
#include "det_int.h"

#include <pthread.h>
#include <string.h>

#define MAX_BATCH 8

void det_predict_defaults(const struct det_predict_opts *in, struct det_predict_opts *out)
{
    static const struct det_predict_opts zero;
    *out = in ? *in : zero;
    if (out->score_thr <= 0)
        out->score_thr = 0.05f;
    if (out->nms_thr <= 0)
        out->nms_thr = 0.6f;
    if (out->max_det <= 0)
        out->max_det = 100;
}

int det_prepare(const struct det_model *m, const struct image *img, int size, float *chw,
                struct image_letterbox *map, struct base_err *err)
{
    struct image lb;
    if (image_letterbox(img, size, size, DET_PAD, &lb, map, err))
        return -1;
    size_t plane = (size_t)size * size;
    const float *mean = m->info.mean, *std = m->info.std;
    for (int c = 0; c < 3; c++) {
        float a = 1.0f / (255.0f * std[c]), b = -mean[c] / std[c];
        for (size_t i = 0; i < plane; i++)
            chw[c * plane + i] = (float)lb.pixels[3 * i + c] * a + b;
    }
    image_release(&lb);
    return 0;
}

int det_decode_outputs(const struct det_model *m, struct nn_graph *graph, int i, int size,
                       const struct det_predict_opts *o, struct det_box *out)
{
    if (m->arch->zoo)
        return det_zoo_decode(m, graph, i, size, o, out);
    struct det_geom g;
    struct det_head_out h;
    det_model_geom(m, size, &g);
    int nc = m->info.nclasses;
    for (int l = 0; l < g.nlevels; l++) {
        size_t hw = (size_t)g.lv[l].w * g.lv[l].h;
        h.cls[l] = nn_graph_output(graph, DET_OUT_CLS(l), NULL) + (size_t)i * nc * hw;
        h.reg[l] = nn_graph_output(graph, DET_OUT_REG(l), NULL) + (size_t)i * 4 * hw;
        h.ctr[l] = nn_graph_output(graph, DET_OUT_CTR(l), NULL) + (size_t)i * hw;
    }
    return det_postprocess(&g, nc, &h, o->score_thr, 1000, o->nms_thr, o->max_det, out);
}

void det_unletterbox(const struct image_letterbox *map, struct det_box *b, int n)
{
    float w = (float)map->src_width, h = (float)map->src_height;
    for (int k = 0; k < n; k++) {
        image_letterbox_to_src(map, &b[k].x0, &b[k].y0);
        image_letterbox_to_src(map, &b[k].x1, &b[k].y1);
        b[k].x0 = b[k].x0 < 0 ? 0 : b[k].x0 > w ? w : b[k].x0;
        b[k].x1 = b[k].x1 < 0 ? 0 : b[k].x1 > w ? w : b[k].x1;
        b[k].y0 = b[k].y0 < 0 ? 0 : b[k].y0 > h ? h : b[k].y0;
        b[k].y1 = b[k].y1 < 0 ? 0 : b[k].y1 > h ? h : b[k].y1;
    }
}

/* ---- the predictor ----------------------------------------------------------------------------
 */

struct pooled {
    int batch;
    struct nn_graph *graph;
    struct pooled *next;
};

/* One model and its idle graphs; refs counts the predictor (while current) and running calls. */
struct gen {
    struct det_model *m;
    int refs;
    struct pooled *idle;
    struct gen *next;
};

struct det_predictor {
    pthread_mutex_t mu;
    struct gen *cur;
    struct gen *all; /* every live generation, for det_predictor_release */
};

static void gen_free(struct gen *g)
{
    while (g->idle) {
        struct pooled *p = g->idle;
        g->idle = p->next;
        nn_graph_free(p->graph);
        base_free(p);
    }
    det_model_free(g->m);
    base_free(g);
}

/* With p->mu held: drops a reference and frees the generation when it was the last. */
static void gen_unref(struct det_predictor *p, struct gen *g)
{
    if (--g->refs > 0)
        return;
    for (struct gen **q = &p->all; *q; q = &(*q)->next)
        if (*q == g) {
            *q = g->next;
            break;
        }
    gen_free(g);
}

struct det_predictor *det_predictor_new(struct det_model *m)
{
    struct det_predictor *p = base_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->cur = base_calloc(1, sizeof *p->cur);
    p->cur->m = m;
    p->cur->refs = 1;
    p->all = p->cur;
    return p;
}

/* A model file, or a zoo model by name ("zoo:centernet-coco"). */
static struct det_model *open_model(const char *path, struct base_err *err)
{
    size_t n = strlen(DET_ZOO_PREFIX);
    return strncmp(path, DET_ZOO_PREFIX, n) ? det_model_load(path, err)
                                            : det_zoo_open(path + n, err);
}

struct det_predictor *det_predictor_open(const char *model_path, struct base_err *err)
{
    struct det_model *m = open_model(model_path, err);
    return m ? det_predictor_new(m) : NULL;
}

void det_predictor_free(struct det_predictor *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    gen_unref(p, p->cur);
    BASE_ASSERT(p->all == NULL); /* no call may still be running */
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
    base_free(p);
}

int det_predictor_swap(struct det_predictor *p, const char *model_path, struct base_err *err)
{
    struct det_model *m = open_model(model_path, err);
    if (!m)
        return -1;
    struct gen *g = base_calloc(1, sizeof *g);
    g->m = m;
    g->refs = 1;
    pthread_mutex_lock(&p->mu);
    struct gen *old = p->cur;
    g->next = p->all;
    p->all = g;
    p->cur = g;
    gen_unref(p, old);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static struct gen *acquire_gen(struct det_predictor *p)
{
    pthread_mutex_lock(&p->mu);
    struct gen *g = p->cur;
    g->refs++;
    pthread_mutex_unlock(&p->mu);
    return g;
}

struct det_model *det_predictor_acquire(struct det_predictor *p)
{
    return acquire_gen(p)->m;
}

void det_predictor_release(struct det_predictor *p, struct det_model *m)
{
    pthread_mutex_lock(&p->mu);
    for (struct gen *g = p->all; g; g = g->next)
        if (g->m == m) {
            gen_unref(p, g);
            break;
        }
    pthread_mutex_unlock(&p->mu);
}

/* An idle graph of this batch size from the generation's pool, or a new one. */
static struct pooled *borrow_graph(struct det_predictor *p, struct gen *g, int batch,
                                   struct base_err *err)
{
    pthread_mutex_lock(&p->mu);
    struct pooled **q = &g->idle, *found = NULL;
    for (; *q; q = &(*q)->next)
        if ((*q)->batch == batch) {
            found = *q;
            *q = found->next;
            break;
        }
    pthread_mutex_unlock(&p->mu);
    if (found)
        return found;
    found = base_calloc(1, sizeof *found);
    found->batch = batch;
    found->graph = nn_graph_new(g->m->nn);
    det_build(g->m, found->graph, batch, g->m->info.input_size);
    if (nn_graph_compile(found->graph, NN_INFER, NN_BACKEND_DEFAULT, err)) {
        nn_graph_free(found->graph);
        base_free(found);
        return NULL;
    }
    return found;
}

static void return_graph(struct det_predictor *p, struct gen *g, struct pooled *pg)
{
    pthread_mutex_lock(&p->mu);
    pg->next = g->idle;
    g->idle = pg;
    pthread_mutex_unlock(&p->mu);
}

/* Up to MAX_BATCH pictures through one graph. */
static int run_chunk(struct det_predictor *p, struct gen *g, const struct image *const *images,
                     int n, const struct det_predict_opts *o, struct det_box **out, int *counts,
                     struct base_err *err)
{
    struct pooled *pg = borrow_graph(p, g, n, err);
    if (!pg)
        return -1;
    int size = g->m->info.input_size, rc = 0;
    float *in = nn_graph_input(pg->graph, 0, NULL);
    struct image_letterbox map[MAX_BATCH];
    for (int i = 0; i < n && !rc; i++)
        rc = det_prepare(g->m, images[i], size, in + (size_t)i * 3 * size * size, &map[i], err);
    if (!rc)
        rc = nn_graph_forward(pg->graph, err);
    for (int i = 0; i < n && !rc; i++) {
        out[i] = base_alloc(((size_t)o->max_det + 1) * sizeof **out);
        counts[i] = det_decode_outputs(g->m, pg->graph, i, size, o, out[i]);
        det_unletterbox(&map[i], out[i], counts[i]);
    }
    return_graph(p, g, pg);
    return rc;
}

int det_predict(struct det_predictor *p, const struct image *const *images, int n,
                const struct det_predict_opts *opts, struct det_box **out, int *counts,
                struct base_err *err)
{
    struct det_predict_opts o;
    det_predict_defaults(opts, &o);
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        counts[i] = 0;
        if (!images[i] || !images[i]->pixels || images[i]->width < 1 || images[i]->height < 1)
            return base_err_set(err, BASE_E_INVALID, "predict: picture %d is empty", i);
    }
    struct gen *g = acquire_gen(p);
    int rc = 0;
    for (int i = 0; i < n && !rc; i += MAX_BATCH) {
        int k = n - i < MAX_BATCH ? n - i : MAX_BATCH;
        rc = run_chunk(p, g, images + i, k, &o, out + i, counts + i, err);
    }
    pthread_mutex_lock(&p->mu);
    gen_unref(p, g);
    pthread_mutex_unlock(&p->mu);
    if (rc)
        for (int i = 0; i < n; i++) {
            base_free(out[i]);
            out[i] = NULL;
            counts[i] = 0;
        }
    return rc;
}
