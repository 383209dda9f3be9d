/* The FCOS training loss over a batch: gathers the positive locations from the head outputs,
 * applies nn's loss functions with FCOS's normalisations and scatters the gradients back into
 * the output gradient buffers. Scratch space is the caller's, sized once, so a step allocates
 * nothing. */
#include "det_int.h"

#include <string.h>

void det_loss_buf_init(struct det_loss_buf *lb, const struct det_geom *g, int n, int nclasses)
{
    size_t cap = (size_t)n * g->npoints + 1;
    lb->cap = cap;
    lb->pred = base_alloc(cap * 4 * sizeof *lb->pred);
    lb->tgt = base_alloc(cap * 4 * sizeof *lb->tgt);
    lb->gbox = base_alloc(cap * 4 * sizeof *lb->gbox);
    lb->w = base_alloc(cap * sizeof *lb->w);
    lb->logit = base_alloc(cap * sizeof *lb->logit);
    lb->gctr = base_alloc(cap * sizeof *lb->gctr);
    lb->iou = base_alloc(cap * sizeof *lb->iou);
    lb->cls_t = base_alloc(cap * (size_t)nclasses * sizeof *lb->cls_t);
}

void det_loss_buf_release(struct det_loss_buf *lb)
{
    float **all[] = {&lb->pred,  &lb->tgt,  &lb->gbox, &lb->w,
                     &lb->logit, &lb->gctr, &lb->iou,  &lb->cls_t};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        base_free(*all[i]);
    memset(lb, 0, sizeof *lb);
}

/* Offset of channel k of location p of image i in a [n][c][hw] output. */
static size_t at(int i, int c, int k, int hw, int p)
{
    return ((size_t)i * c + k) * hw + p;
}

/* IoU of two ltrb boxes around the same point, as boxes around the origin. */
static float ltrb_iou(const float *a, const float *b)
{
    struct det_box p = {-a[0], -a[1], a[2], a[3], 0, 0}, q = {-b[0], -b[1], b[2], b[3], 0, 0};
    return det_iou(&p, &q);
}

/* Quality targets of level l: the binary targets with each positive's 1 replaced by the IoU
 * of its predicted box (a constant: no gradient flows through it into the boxes). */
static const float *quality_targets(const struct det_batch *b, const struct det_geom *g, int l,
                                    size_t n, struct det_loss_buf *lb)
{
    int hw = g->lv[l].w * g->lv[l].h;
    memcpy(lb->cls_t, b->cls_t[l], n * sizeof *lb->cls_t);
    for (int k = 0; k < b->npos; k++) {
        const struct det_pos *ps = &b->pos[k];
        if (ps->level == l)
            lb->cls_t[at(ps->img, b->nclasses, ps->label, hw, ps->p)] = lb->iou[k];
    }
    return lb->cls_t;
}

static double class_loss(const struct det_batch *b, const struct det_geom *g,
                         struct nn_graph *graph, enum det_cls_loss kind, struct det_loss_buf *lb,
                         float norm)
{
    double sum = 0;
    for (int l = 0; l < g->nlevels; l++) {
        struct nn_shape s;
        const float *x = nn_graph_output(graph, DET_OUT_CLS(l), &s);
        float *gx = nn_graph_output_grad(graph, DET_OUT_CLS(l));
        size_t n = nn_shape_numel(s);
        if (kind == DET_CLS_FOCAL)
            sum += nn_loss_sigmoid_focal(x, b->cls_t[l], n, 0.25f, 2.0f, 1.0f / norm, gx);
        else
            sum +=
                nn_loss_quality_focal(x, quality_targets(b, g, l, n, lb), n, 2.0f, 1.0f / norm, gx);
    }
    return sum;
}

/* Copies the positives' predicted distances, targets and centerness logits into lb. */
static double gather(const struct det_batch *b, const struct det_geom *g, struct nn_graph *graph,
                     struct det_loss_buf *lb)
{
    double wsum = 0;
    for (int k = 0; k < b->npos; k++) {
        const struct det_pos *ps = &b->pos[k];
        int hw = g->lv[ps->level].w * g->lv[ps->level].h;
        const float *reg = nn_graph_output(graph, DET_OUT_REG(ps->level), NULL);
        const float *ctr = nn_graph_output(graph, DET_OUT_CTR(ps->level), NULL);
        for (int q = 0; q < 4; q++) {
            lb->pred[4 * k + q] = reg[at(ps->img, 4, q, hw, ps->p)];
            lb->tgt[4 * k + q] = ps->ltrb[q];
        }
        lb->iou[k] = ltrb_iou(lb->pred + 4 * k, lb->tgt + 4 * k);
        lb->w[k] = ps->ctr;
        wsum += ps->ctr;
        lb->logit[k] = ctr[at(ps->img, 1, 0, hw, ps->p)];
    }
    return wsum;
}

static void scatter(const struct det_batch *b, const struct det_geom *g, struct nn_graph *graph,
                    const struct det_loss_buf *lb)
{
    for (int l = 0; l < g->nlevels; l++) {
        struct nn_shape s;
        nn_graph_output(graph, DET_OUT_REG(l), &s);
        memset(nn_graph_output_grad(graph, DET_OUT_REG(l)), 0, nn_shape_numel(s) * sizeof(float));
        nn_graph_output(graph, DET_OUT_CTR(l), &s);
        memset(nn_graph_output_grad(graph, DET_OUT_CTR(l)), 0, nn_shape_numel(s) * sizeof(float));
    }
    for (int k = 0; k < b->npos; k++) {
        const struct det_pos *ps = &b->pos[k];
        int hw = g->lv[ps->level].w * g->lv[ps->level].h;
        float *greg = nn_graph_output_grad(graph, DET_OUT_REG(ps->level));
        for (int q = 0; q < 4; q++)
            greg[at(ps->img, 4, q, hw, ps->p)] = lb->gbox[4 * k + q];
        nn_graph_output_grad(graph, DET_OUT_CTR(ps->level))[at(ps->img, 1, 0, hw, ps->p)] =
            lb->gctr[k];
    }
}

void det_loss(const struct det_batch *b, const struct det_geom *g, struct nn_graph *graph,
              enum det_cls_loss kind, struct det_loss_buf *lb, struct det_loss_parts *out)
{
    BASE_ASSERT((size_t)b->npos < lb->cap);
    size_t np = (size_t)b->npos;
    float norm = np > 0 ? (float)np : 1.0f;
    memset(out, 0, sizeof *out);
    out->npos = b->npos;
    double wsum = gather(b, g, graph, lb);
    out->cls = class_loss(b, g, graph, kind, lb, norm);
    float bnorm = wsum > 1e-6 ? (float)wsum : 1.0f;
    out->box =
        nn_loss_iou(lb->pred, lb->tgt, lb->w, np, NN_IOU_GIOU, NN_BOX_LTRB, 1.0f / bnorm, lb->gbox);
    out->ctr = nn_loss_bce_logits(lb->logit, lb->w, NULL, np, 1.0f / norm, lb->gctr);
    scatter(b, g, graph, lb);
}
