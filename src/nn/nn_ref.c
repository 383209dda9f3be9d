/* The reference backend: every tensor, gradient and parameter in float64, every op a plain loop
 * (nn_ref_kernels.c). Slow and obvious, it is the oracle the oneDNN backend is tested against. */
#include "nn_int.h"

#include <math.h>
#include <string.h>

struct ref_plan {
    double **val, **grad; /* per node */
    double **mean, **var; /* per normalisation node */
    double *pval, *pgrad; /* every model parameter, at the model's offsets */
};

static double *dalloc(size_t n)
{
    return nn_alloc_buffer((n ? n : 1) * sizeof(double));
}

static void ref_release(struct nn_graph *g)
{
    struct ref_plan *p = g->plan;
    if (!p)
        return;
    for (int i = 0; i < g->n; i++) {
        nn_free_buffer(p->val[i]);
        nn_free_buffer(p->grad[i]);
        nn_free_buffer(p->mean[i]);
        nn_free_buffer(p->var[i]);
    }
    base_free(p->val);
    base_free(p->grad);
    base_free(p->mean);
    base_free(p->var);
    nn_free_buffer(p->pval);
    nn_free_buffer(p->pgrad);
    base_free(p);
    g->plan = NULL;
}

static int ref_compile(struct nn_graph *g, struct base_err *err)
{
    (void)err;
    struct ref_plan *p = base_calloc(1, sizeof *p);
    size_t n = (size_t)g->n;
    p->val = base_calloc(n, sizeof *p->val);
    p->grad = base_calloc(n, sizeof *p->grad);
    p->mean = base_calloc(n, sizeof *p->mean);
    p->var = base_calloc(n, sizeof *p->var);
    for (int i = 0; i < g->n; i++) {
        const struct nn_node *nd = &g->nodes[i];
        size_t numel = nn_shape_numel(nd->shape);
        p->val[i] = dalloc(numel);
        if (g->mode == NN_TRAIN)
            p->grad[i] = dalloc(numel);
        size_t ns = nd->op == NN_OP_BN   ? (size_t)nd->shape.c
                    : nd->op == NN_OP_GN ? (size_t)nd->shape.n * (size_t)nd->groups
                                         : 0;
        if (ns) {
            p->mean[i] = dalloc(ns);
            p->var[i] = dalloc(ns);
        }
        g->memory += numel * sizeof(double) * (g->mode == NN_TRAIN ? 2 : 1);
    }
    p->pval = dalloc(g->m->total);
    p->pgrad = dalloc(g->m->total);
    g->plan = p;
    return 0;
}

static double *pv(struct ref_plan *p, const struct nn_graph *g, int param)
{
    return param < 0 ? NULL : p->pval + g->m->p[param].offset;
}

static double *pg(struct ref_plan *p, const struct nn_graph *g, int param)
{
    return param < 0 ? NULL : p->pgrad + g->m->p[param].offset;
}

/* PyTorch's running statistics: the unbiased batch variance feeds running_var. */
static void update_running(struct nn_graph *g, const struct nn_node *nd, const double *mean,
                           const double *var)
{
    float *rm = nn_model_data(g->m, nd->param[2]), *rv = nn_model_data(g->m, nd->param[3]);
    double cnt = (double)nd->shape.n * nd->shape.h * nd->shape.w;
    double m = nd->momentum, unbias = cnt > 1 ? cnt / (cnt - 1) : 1.0;
    for (int c = 0; c < nd->shape.c; c++) {
        rm[c] = (float)((1 - m) * rm[c] + m * mean[c]);
        rv[c] = (float)((1 - m) * rv[c] + m * var[c] * unbias);
    }
}

static void fwd_concat(struct ref_plan *p, const struct nn_graph *g, int i)
{
    const struct nn_node *nd = &g->nodes[i];
    size_t hw = (size_t)nd->shape.h * (size_t)nd->shape.w, off = 0;
    for (int k = 0; k < nd->n_in; k++) {
        size_t chunk = (size_t)g->nodes[nd->in[k]].shape.c * hw;
        for (int n = 0; n < nd->shape.n; n++)
            memcpy(p->val[i] + (size_t)n * nd->shape.c * hw + off,
                   p->val[nd->in[k]] + (size_t)n * chunk, chunk * sizeof(double));
        off += chunk;
    }
}

static void fwd_node(struct ref_plan *p, struct nn_graph *g, int i)
{
    const struct nn_node *nd = &g->nodes[i];
    const double *x = nd->n_in ? p->val[nd->in[0]] : NULL;
    double *y = p->val[i];
    struct nn_shape in = nd->n_in ? g->nodes[nd->in[0]].shape : nd->shape;
    size_t numel = nn_shape_numel(nd->shape);
    struct nn_conv_geom cg;
    switch (nd->op) {
    case NN_OP_INPUT:
        for (size_t k = 0; k < numel; k++)
            y[k] = g->in_buf[nd->input_index][k];
        break;
    case NN_OP_CONV:
        nn_conv_geom_from(&cg, g, nd);
        nn_ref_conv_fwd(&cg, x, pv(p, g, nd->param[0]), pv(p, g, nd->param[1]), y);
        break;
    case NN_OP_BN:
        if (g->mode == NN_TRAIN) {
            nn_ref_bn_fwd(nd->shape, x, pv(p, g, nd->param[0]), pv(p, g, nd->param[1]), nd->eps, y,
                          p->mean[i], p->var[i]);
            update_running(g, nd, p->mean[i], p->var[i]);
        } else {
            nn_ref_bn_infer(nd->shape, x, pv(p, g, nd->param[0]), pv(p, g, nd->param[1]),
                            pv(p, g, nd->param[2]), pv(p, g, nd->param[3]), nd->eps, y);
        }
        break;
    case NN_OP_GN:
        nn_ref_gn_fwd(nd->shape, nd->groups, x, pv(p, g, nd->param[0]), pv(p, g, nd->param[1]),
                      nd->eps, y, p->mean[i], p->var[i]);
        break;
    case NN_OP_ACT:
        nn_ref_act_fwd(nd->act, nd->alpha, numel, x, y);
        break;
    case NN_OP_MAXPOOL:
        nn_ref_maxpool_fwd(in, nd->shape, nd->kernel, nd->stride, nd->pad, x, y);
        break;
    case NN_OP_UPSAMPLE:
        if (nd->bilinear)
            nn_ref_upsample_bilinear_fwd(in, x, y);
        else
            nn_ref_upsample_fwd(in, x, y);
        break;
    case NN_OP_ADD:
        for (size_t k = 0; k < numel; k++)
            y[k] = x[k] + p->val[nd->in[1]][k];
        break;
    case NN_OP_CONCAT:
        fwd_concat(p, g, i);
        break;
    case NN_OP_SCALE:
        for (size_t k = 0; k < numel; k++)
            y[k] = x[k] * pv(p, g, nd->param[0])[0];
        break;
    case NN_OP_GAP:
        nn_ref_gap_fwd(in, x, y);
        break;
    case NN_OP_MULC:
        nn_ref_mulc_fwd(nd->shape, x, p->val[nd->in[1]], y);
        break;
    }
}

static int ref_forward(struct nn_graph *g, struct base_err *err)
{
    (void)err;
    struct ref_plan *p = g->plan;
    for (size_t k = 0; k < g->m->total; k++)
        p->pval[k] = g->m->data[k];
    for (int i = 0; i < g->n; i++)
        fwd_node(p, g, i);
    for (int o = 0; o < g->n_outputs; o++) {
        const double *v = p->val[g->outputs[o]];
        size_t numel = nn_shape_numel(g->nodes[g->outputs[o]].shape);
        for (size_t k = 0; k < numel; k++)
            g->out_buf[o][k] = (float)v[k];
    }
    return 0;
}

static void bwd_concat(struct ref_plan *p, const struct nn_graph *g, int i)
{
    const struct nn_node *nd = &g->nodes[i];
    size_t hw = (size_t)nd->shape.h * (size_t)nd->shape.w, off = 0;
    for (int k = 0; k < nd->n_in; k++) {
        size_t chunk = (size_t)g->nodes[nd->in[k]].shape.c * hw;
        double *dx = p->grad[nd->in[k]];
        for (int n = 0; n < nd->shape.n; n++)
            for (size_t j = 0; j < chunk; j++)
                dx[(size_t)n * chunk + j] += p->grad[i][(size_t)n * nd->shape.c * hw + off + j];
        off += chunk;
    }
}

static void bwd_node(struct ref_plan *p, struct nn_graph *g, int i)
{
    const struct nn_node *nd = &g->nodes[i];
    if (nd->op == NN_OP_INPUT || !nd->needs_grad)
        return;
    const double *x = p->val[nd->in[0]], *dy = p->grad[i];
    double *dx = g->nodes[nd->in[0]].needs_grad ? p->grad[nd->in[0]] : NULL;
    struct nn_shape in = g->nodes[nd->in[0]].shape;
    size_t numel = nn_shape_numel(nd->shape);
    struct nn_conv_geom cg;
    switch (nd->op) {
    case NN_OP_INPUT:
        break;
    case NN_OP_CONV:
        nn_conv_geom_from(&cg, g, nd);
        nn_ref_conv_bwd(&cg, x, pv(p, g, nd->param[0]), dy, dx, pg(p, g, nd->param[0]),
                        pg(p, g, nd->param[1]));
        break;
    case NN_OP_BN:
        nn_ref_bn_bwd(nd->shape, x, pv(p, g, nd->param[0]), p->mean[i], p->var[i], nd->eps, dy, dx,
                      pg(p, g, nd->param[0]), pg(p, g, nd->param[1]));
        break;
    case NN_OP_GN:
        nn_ref_gn_bwd(nd->shape, nd->groups, x, pv(p, g, nd->param[0]), p->mean[i], p->var[i],
                      nd->eps, dy, dx, pg(p, g, nd->param[0]), pg(p, g, nd->param[1]));
        break;
    case NN_OP_ACT:
        if (dx)
            nn_ref_act_bwd(nd->act, nd->alpha, numel, x, dy, dx);
        break;
    case NN_OP_MAXPOOL:
        if (dx)
            nn_ref_maxpool_bwd(in, nd->shape, nd->kernel, nd->stride, nd->pad, x, dy, dx);
        break;
    case NN_OP_UPSAMPLE:
        if (dx)
            nn_ref_upsample_bwd(in, dy, dx);
        break;
    case NN_OP_ADD:
        for (int k = 0; k < 2; k++)
            if (g->nodes[nd->in[k]].needs_grad)
                for (size_t j = 0; j < numel; j++)
                    p->grad[nd->in[k]][j] += dy[j];
        break;
    case NN_OP_CONCAT:
        bwd_concat(p, g, i);
        break;
    case NN_OP_SCALE: {
        double s = pv(p, g, nd->param[0])[0], ds = 0.0;
        for (size_t j = 0; j < numel; j++) {
            ds += x[j] * dy[j];
            if (dx)
                dx[j] += s * dy[j];
        }
        pg(p, g, nd->param[0])[0] += ds;
        break;
    }
    case NN_OP_GAP:
        if (dx)
            nn_ref_gap_bwd(in, dy, dx);
        break;
    case NN_OP_MULC: {
        int sn = nd->in[1];
        nn_ref_mulc_bwd(nd->shape, x, p->val[sn], dy, dx,
                        g->nodes[sn].needs_grad ? p->grad[sn] : NULL);
        break;
    }
    }
}

static int ref_backward(struct nn_graph *g, struct base_err *err)
{
    (void)err;
    struct ref_plan *p = g->plan;
    memset(p->pgrad, 0, g->m->total * sizeof(double));
    for (int i = 0; i < g->n; i++)
        memset(p->grad[i], 0, nn_shape_numel(g->nodes[i].shape) * sizeof(double));
    for (int o = 0; o < g->n_outputs; o++) {
        double *d = p->grad[g->outputs[o]];
        size_t numel = nn_shape_numel(g->nodes[g->outputs[o]].shape);
        for (size_t k = 0; k < numel; k++)
            d[k] += g->out_grad[o][k];
    }
    for (int i = g->n - 1; i >= 0; i--)
        bwd_node(p, g, i);
    /* only the parameters this graph uses: others keep their gradients */
    for (int i = 0; i < g->n; i++)
        for (int s = 0; s < 2; s++) {
            int pi = g->nodes[i].param[s];
            if (pi < 0 || g->m->p[pi].flags & NN_PARAM_BUFFER)
                continue;
            float *gr = nn_model_grad(g->m, pi);
            const double *src = pg(p, g, pi);
            for (size_t k = 0; k < g->m->p[pi].numel; k++)
                gr[k] = (float)src[k];
        }
    return 0;
}

const struct nn_backend_ops nn_ref_backend = {
    .name = "reference",
    .compile = ref_compile,
    .forward = ref_forward,
    .backward = ref_backward,
    .release = ref_release,
};
