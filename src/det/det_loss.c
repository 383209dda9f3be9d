/* The FCOS training loss over a batch: gathers the positive locations from the head outputs,
 * applies nn's loss functions with FCOS's normalisations and scatters the gradients back into
 * the output gradient buffers. */
#include "det_int.h"

#include <string.h>

static double class_loss(const struct det_batch *b, const struct det_geom *g,
                         struct nn_graph *graph, float norm)
{
    double sum = 0;
    for (int l = 0; l < g->nlevels; l++) {
        struct nn_shape s;
        const float *x = nn_graph_output(graph, DET_OUT_CLS(l), &s);
        float *gx = nn_graph_output_grad(graph, DET_OUT_CLS(l));
        sum +=
            nn_loss_sigmoid_focal(x, b->cls_t[l], nn_shape_numel(s), 0.25f, 2.0f, 1.0f / norm, gx);
    }
    return sum;
}

/* Offset of channel k of location p of image i in a [n][c][hw] output. */
static size_t at(int i, int c, int k, int hw, int p)
{
    return ((size_t)i * c + k) * hw + p;
}

void det_loss(const struct det_batch *b, const struct det_geom *g, struct nn_graph *graph,
              struct det_loss_parts *out)
{
    int np = b->npos;
    float norm = np > 0 ? (float)np : 1.0f;
    memset(out, 0, sizeof *out);
    out->npos = np;
    out->cls = class_loss(b, g, graph, norm);
    float *pred = base_alloc(((size_t)np + 1) * 4 * sizeof *pred);
    float *tgt = base_alloc(((size_t)np + 1) * 4 * sizeof *tgt);
    float *w = base_alloc(((size_t)np + 1) * sizeof *w), *logit = base_alloc((np + 1) * 4);
    float *gbox = base_alloc(((size_t)np + 1) * 4 * sizeof *gbox), *gctr = base_alloc((np + 1) * 4);
    double wsum = 0;
    for (int k = 0; k < np; k++) {
        const struct det_pos *ps = &b->pos[k];
        int hw = g->lv[ps->level].w * g->lv[ps->level].h;
        const float *reg = nn_graph_output(graph, DET_OUT_REG(ps->level), NULL);
        const float *ctr = nn_graph_output(graph, DET_OUT_CTR(ps->level), NULL);
        for (int q = 0; q < 4; q++) {
            pred[4 * k + q] = reg[at(ps->img, 4, q, hw, ps->p)];
            tgt[4 * k + q] = ps->ltrb[q];
        }
        w[k] = ps->ctr;
        wsum += ps->ctr;
        logit[k] = ctr[at(ps->img, 1, 0, hw, ps->p)];
    }
    float bnorm = wsum > 1e-6 ? (float)wsum : 1.0f;
    out->box = nn_loss_iou(pred, tgt, w, (size_t)np, NN_IOU_GIOU, NN_BOX_LTRB, 1.0f / bnorm, gbox);
    out->ctr = nn_loss_bce_logits(logit, w, NULL, (size_t)np, 1.0f / norm, gctr);
    for (int l = 0; l < g->nlevels; l++) {
        struct nn_shape s;
        nn_graph_output(graph, DET_OUT_REG(l), &s);
        memset(nn_graph_output_grad(graph, DET_OUT_REG(l)), 0, nn_shape_numel(s) * sizeof(float));
        nn_graph_output(graph, DET_OUT_CTR(l), &s);
        memset(nn_graph_output_grad(graph, DET_OUT_CTR(l)), 0, nn_shape_numel(s) * sizeof(float));
    }
    for (int k = 0; k < np; k++) {
        const struct det_pos *ps = &b->pos[k];
        int hw = g->lv[ps->level].w * g->lv[ps->level].h;
        float *greg = nn_graph_output_grad(graph, DET_OUT_REG(ps->level));
        for (int q = 0; q < 4; q++)
            greg[at(ps->img, 4, q, hw, ps->p)] = gbox[4 * k + q];
        nn_graph_output_grad(graph, DET_OUT_CTR(ps->level))[at(ps->img, 1, 0, hw, ps->p)] = gctr[k];
    }
    base_free(pred);
    base_free(tgt);
    base_free(w);
    base_free(logit);
    base_free(gbox);
    base_free(gctr);
}
