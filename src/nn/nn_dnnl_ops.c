/* Per-op compilation for the oneDNN backend: primitive descriptors with blocked layouts, forward
 * and backward steps, weight re-layout steps, and the bookkeeping that makes a tensor's first
 * gradient contribution overwrite and later ones accumulate. */
#include "nn_dnnl_int.h"

#include <string.h>

static const struct nn_node *node_of(const struct dn_plan *p, int i)
{
    return &p->g->nodes[i];
}

static const dnnl_memory_desc_t *md_of(const struct dn_plan *p, int mem)
{
    return &p->mem[mem].md;
}

static int ext_param(struct dn_plan *p, int param, int grad)
{
    dnnl_memory_desc_t md;
    dn_md_1d(&md, (int64_t)p->g->m->p[param].numel);
    float *ptr = grad ? nn_model_grad(p->g->m, param) : nn_model_data(p->g->m, param);
    return dn_mem_new(p, &md, DN_EXT, ptr);
}

/* Own kernels write the gradient of t directly: overwrite the first time, add afterwards. */
static int own_target(struct dn_plan *p, int t, int *acc)
{
    *acc = p->written[t];
    p->written[t] = 1;
    return p->nd[t].gmem;
}

/* Parameter gradients: same rule, per parameter. */
static int param_written(struct dn_plan *p, int param)
{
    int w = p->written[p->g->n + param];
    p->written[p->g->n + param] = 1;
    return w;
}

static const struct {
    dnnl_alg_kind_t alg;
    int alpha_from_node;
    float alpha, beta;
} act_algs[] = {
    [NN_ACT_NONE] = {dnnl_eltwise_linear, 0, 1.0f, 0.0f},
    [NN_ACT_RELU] = {dnnl_eltwise_relu, 0, 0.0f, 0.0f},
    [NN_ACT_LEAKY_RELU] = {dnnl_eltwise_relu, 1, 0.0f, 0.0f},
    [NN_ACT_SILU] = {dnnl_eltwise_swish, 0, 1.0f, 0.0f},
    [NN_ACT_SIGMOID] = {dnnl_eltwise_logistic, 0, 0.0f, 0.0f},
    [NN_ACT_EXP] = {dnnl_eltwise_exp, 0, 0.0f, 0.0f},
    [NN_ACT_RELU6] = {dnnl_eltwise_clip, 0, 0.0f, 6.0f},
    [NN_ACT_HARDSWISH] = {dnnl_eltwise_hardswish, 0, 0.0f, 0.0f},
    [NN_ACT_HARDSIGMOID] = {dnnl_eltwise_linear, 0, 0.0f, 0.0f}, /* ours: dn_k_hsig_* */
};

int dn_act_native(enum nn_act act)
{
    return act != NN_ACT_HARDSIGMOID;
}

static float act_alpha(const struct nn_node *a)
{
    return act_algs[a->act].alpha_from_node ? a->alpha : act_algs[a->act].alpha;
}

static float act_beta(const struct nn_node *a)
{
    return act_algs[a->act].beta;
}

/* ---- convolution ------------------------------------------------------------------------- */

struct conv_geo {
    dnnl_memory_desc_t w_any, w_plain, b_md;
    dnnl_dims_t strides, dil, pad, pad_r;
    int has_bias;
};

static void conv_geo(const struct dn_plan *p, int i, struct conv_geo *cg)
{
    const struct nn_node *nd = node_of(p, i);
    const struct nn_conv2d_cfg *c = &nd->conv;
    int64_t ic = node_of(p, nd->in[0])->shape.c, oc = nd->shape.c, G = c->groups, k = c->kernel;
    dnnl_dims_t w1 = {oc, ic, k, k}, wg = {G, oc / G, ic / G, k, k};
    if (G > 1) {
        dnnl_memory_desc_init_by_tag(&cg->w_any, 5, wg, dnnl_f32, dnnl_format_tag_any);
        dnnl_memory_desc_init_by_tag(&cg->w_plain, 5, wg, dnnl_f32, dnnl_goihw);
    } else {
        dnnl_memory_desc_init_by_tag(&cg->w_any, 4, w1, dnnl_f32, dnnl_format_tag_any);
        dnnl_memory_desc_init_by_tag(&cg->w_plain, 4, w1, dnnl_f32, dnnl_oihw);
    }
    dn_md_1d(&cg->b_md, oc);
    cg->strides[0] = cg->strides[1] = c->stride;
    cg->dil[0] = cg->dil[1] = c->dilation - 1;
    cg->pad[0] = cg->pad[1] = c->pad;
    cg->pad_r[0] = cg->pad_r[1] = c->pad + c->pad_end;
    cg->has_bias = nd->param[1] >= 0 || p->nd[i].fold_bn >= 0;
}

static int post_op_attr(struct dn_plan *p, int act_node, dnnl_primitive_attr_t *attr)
{
    *attr = dn_attr(p);
    if (!*attr)
        return -1;
    if (act_node < 0)
        return 0;
    const struct nn_node *a = node_of(p, act_node);
    dnnl_post_ops_t po = NULL;
    int rc = DN_TRY(p, dnnl_post_ops_create(&po)) ||
             DN_TRY(p, dnnl_post_ops_append_eltwise(po, 1.0f, act_algs[a->act].alg, act_alpha(a),
                                                    act_beta(a))) ||
             DN_TRY(p, dnnl_primitive_attr_set_post_ops(*attr, po));
    dnnl_post_ops_destroy(po);
    return rc ? -1 : 0;
}

/* The weights the forward conv reads, re-laid-out in the prep list when the model changes. */
static int conv_weights(struct dn_plan *p, int i, const struct conv_geo *cg)
{
    struct dn_node *d = &p->nd[i];
    const struct nn_node *nd = node_of(p, i);
    struct nn_model *m = p->g->m;
    float *w = nn_model_data(m, nd->param[0]);
    float *b = nd->param[1] >= 0 ? nn_model_data(m, nd->param[1]) : NULL;
    if (d->fold_bn >= 0) {
        d->fold_w = nn_alloc_buffer(m->p[nd->param[0]].numel * sizeof(float));
        d->fold_b = nn_alloc_buffer((size_t)nd->shape.c * sizeof(float));
        w = d->fold_w;
        b = d->fold_b;
        if (!dn_fn_step(p, &p->prep, dn_k_fold_bn, i, 0, NULL))
            return -1;
    }
    d->w_plain = dn_mem_new(p, &cg->w_plain, DN_EXT, w);
    if (b)
        d->b_mem = dn_mem_new(p, &cg->b_md, DN_EXT, b);
    const dnnl_memory_desc_t *wf =
        dnnl_primitive_desc_query_md(d->fwd_pd, dnnl_query_weights_md, 0);
    if (dnnl_memory_desc_equal(wf, &cg->w_plain)) {
        d->w_fwd = d->w_plain;
        return 0;
    }
    d->w_fwd = dn_mem_planned(p, wf, 1);
    return dn_reorder(p, &p->prep, d->w_plain, d->w_fwd, i, 0, 0);
}

static int compile_conv(struct dn_plan *p, int i)
{
    struct dn_node *d = &p->nd[i];
    int in = node_of(p, i)->in[0], train = p->g->mode == NN_TRAIN;
    struct conv_geo cg;
    conv_geo(p, i, &cg);
    dnnl_convolution_desc_t cd;
    dnnl_primitive_attr_t attr = NULL;
    if (DN_TRY(p, dnnl_dilated_convolution_forward_desc_init(
                      &cd, train ? dnnl_forward_training : dnnl_forward_inference,
                      dnnl_convolution_direct, md_of(p, p->nd[in].vmem), &cg.w_any,
                      cg.has_bias ? &cg.b_md : NULL, md_of(p, d->vmem), cg.strides, cg.dil, cg.pad,
                      cg.pad_r)) ||
        post_op_attr(p, d->fused_act, &attr))
        return -1;
    int rc = dn_pd(p, &d->fwd_pd, &cd, attr, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (rc || conv_weights(p, i, &cg))
        return -1;
    int args[] = {DNNL_ARG_SRC,
                  p->nd[in].vmem,
                  DNNL_ARG_WEIGHTS,
                  d->w_fwd,
                  DNNL_ARG_DST,
                  d->vmem,
                  d->b_mem >= 0 ? DNNL_ARG_BIAS : 0,
                  d->b_mem,
                  0};
    return dn_prim_step(p, &p->fwd, d->fwd_pd, i, dn_tfwd(p, i), args) ? 0 : -1;
}

static int conv_bwd_weights(struct dn_plan *p, int i, const struct conv_geo *cg, int t)
{
    struct dn_node *d = &p->nd[i];
    const struct nn_node *nd = node_of(p, i);
    int in = nd->in[0];
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd;
    if (DN_TRY(p, dnnl_dilated_convolution_backward_weights_desc_init(
                      &cd, dnnl_convolution_direct, md_of(p, p->nd[in].vmem), &cg->w_any,
                      nd->param[1] >= 0 ? &cg->b_md : NULL, md_of(p, d->gmem), cg->strides, cg->dil,
                      cg->pad, cg->pad_r)) ||
        dn_pd(p, &pd, &cd, NULL, d->fwd_pd))
        return -1;
    const dnnl_memory_desc_t *dwmd =
        dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0);
    int gw = dn_mem_new(p, &cg->w_plain, DN_EXT, nn_model_grad(p->g->m, nd->param[0]));
    int w_acc = param_written(p, nd->param[0]);
    int direct = !w_acc && dnnl_memory_desc_equal(dwmd, &cg->w_plain);
    int dw = direct ? gw : dn_mem_planned(p, dwmd, 0);
    int db = -1, b_acc = 0, gb = -1;
    if (nd->param[1] >= 0) {
        gb = ext_param(p, nd->param[1], 1);
        b_acc = param_written(p, nd->param[1]);
        db = b_acc ? dn_mem_planned(p, &cg->b_md, 0) : gb;
    }
    int args[] = {DNNL_ARG_SRC,
                  p->nd[in].vmem,
                  DNNL_ARG_DIFF_DST,
                  d->gmem,
                  DNNL_ARG_DIFF_WEIGHTS,
                  dw,
                  db >= 0 ? DNNL_ARG_DIFF_BIAS : 0,
                  db,
                  0};
    if (!dn_prim_step(p, &p->bwd, pd, i, t, args))
        return -1;
    if (!direct && dn_reorder(p, &p->bwd, dw, gw, i, t, w_acc))
        return -1;
    if (b_acc) {
        int a2[] = {DNNL_ARG_SRC, db, DNNL_ARG_DST, gb, 0};
        if (!dn_fn_step(p, &p->bwd, dn_k_acc, i, t, a2))
            return -1;
    }
    return 0;
}

static int conv_bwd_data(struct dn_plan *p, int i, const struct conv_geo *cg, int t)
{
    struct dn_node *d = &p->nd[i];
    int in = node_of(p, i)->in[0];
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd;
    if (DN_TRY(p, dnnl_dilated_convolution_backward_data_desc_init(
                      &cd, dnnl_convolution_direct, md_of(p, p->nd[in].gmem), &cg->w_any,
                      md_of(p, d->gmem), cg->strides, cg->dil, cg->pad, cg->pad_r)) ||
        dn_pd(p, &pd, &cd, NULL, d->fwd_pd))
        return -1;
    const dnnl_memory_desc_t *wb = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    int w = dnnl_memory_desc_equal(wb, md_of(p, d->w_fwd))     ? d->w_fwd
            : dnnl_memory_desc_equal(wb, md_of(p, d->w_plain)) ? d->w_plain
                                                               : -1;
    if (w < 0) {
        w = d->w_bwd = dn_mem_planned(p, wb, 1);
        if (dn_reorder(p, &p->prep, d->w_plain, w, i, 0, 0))
            return -1;
    }
    int acc, target = dn_grad_target(p, in, &acc);
    int args[] = {DNNL_ARG_DIFF_DST, d->gmem, DNNL_ARG_WEIGHTS, w, DNNL_ARG_DIFF_SRC, target, 0};
    if (!dn_prim_step(p, &p->bwd, pd, i, t, args))
        return -1;
    return acc ? dn_acc_step(p, in, i, t) : 0;
}

static int backward_conv(struct dn_plan *p, int i)
{
    struct conv_geo cg;
    conv_geo(p, i, &cg);
    int t = dn_tbwd(p, i), in = node_of(p, i)->in[0];
    int frozen = p->g->m->p[node_of(p, i)->param[0]].flags & NN_PARAM_BUFFER;
    if (!frozen && conv_bwd_weights(p, i, &cg, t))
        return -1;
    return node_of(p, in)->needs_grad && node_of(p, in)->op != NN_OP_INPUT
               ? conv_bwd_data(p, i, &cg, t)
               : 0;
}

/* ---- batch norm -------------------------------------------------------------------------- */

/* Our kernels (nn_dnnl_kern.c): per channel statistics kept in gn_stats between passes. */
static int compile_bn(struct dn_plan *p, int i)
{
    struct dn_node *d = &p->nd[i];
    const struct nn_node *nd = node_of(p, i);
    if (d->rep != i) /* folded into its conv */
        return 0;
    int cp = (nd->shape.c + p->block - 1) / p->block * p->block;
    d->gn_stats = nn_alloc_buffer((size_t)cp * 2 * sizeof(double));
    d->gn_sums =
        nn_alloc_buffer((size_t)nd->shape.n * cp * (2 * sizeof(double) + 3 * sizeof(float)));
    int args[16] = {DNNL_ARG_SRC,
                    p->nd[nd->in[0]].vmem,
                    DNNL_ARG_DST,
                    d->vmem,
                    DNNL_ARG_SCALE,
                    ext_param(p, nd->param[0], 0),
                    DNNL_ARG_SHIFT,
                    ext_param(p, nd->param[1], 0),
                    0};
    int k = 8;
    int rs[2] = {ext_param(p, nd->param[2], 0), ext_param(p, nd->param[3], 0)};
    int tags[2][2] = {{DNNL_ARG_MEAN, DNNL_ARG_VARIANCE}, {DNNL_ARG_DST_1, DNNL_ARG_DST_2}};
    int train = p->g->mode == NN_TRAIN;
    for (int j = 0; j < 2; j++) { /* read running stats, or update them in training */
        args[k++] = tags[train][j];
        args[k++] = rs[j];
    }
    args[k] = 0;
    struct dn_step *s = dn_fn_step(p, &p->fwd, dn_k_bn_fwd, i, dn_tfwd(p, i), args);
    if (!s)
        return -1;
    s->aux = d->fused_act >= 0;
    return 0;
}

static int backward_bn(struct dn_plan *p, int i)
{
    struct dn_node *d = &p->nd[i];
    const struct nn_node *nd = node_of(p, i);
    int in = nd->in[0], acc = 0, target;
    if (node_of(p, in)->needs_grad && node_of(p, in)->op != NN_OP_INPUT)
        target = own_target(p, in, &acc);
    else
        target = dn_mem_new(p, md_of(p, d->gmem), DN_TMP, NULL);
    int pacc = param_written(p, nd->param[0]);
    param_written(p, nd->param[1]);
    int args[16] = {DNNL_ARG_SRC,
                    p->nd[in].vmem,
                    DNNL_ARG_DIFF_DST,
                    d->gmem,
                    DNNL_ARG_SCALE,
                    ext_param(p, nd->param[0], 0),
                    DNNL_ARG_DIFF_SCALE,
                    ext_param(p, nd->param[0], 1),
                    DNNL_ARG_DIFF_SHIFT,
                    ext_param(p, nd->param[1], 1),
                    DNNL_ARG_DIFF_SRC,
                    target,
                    0};
    if (d->fused_act >= 0) { /* the output masks the gradient */
        args[12] = DNNL_ARG_DST;
        args[13] = d->vmem;
        args[14] = 0;
    }
    struct dn_step *s = dn_fn_step(p, &p->bwd, dn_k_bn_bwd, i, dn_tbwd(p, i), args);
    if (!s)
        return -1;
    s->acc = acc;
    s->aux = pacc ? 2 : 0;
    return 0;
}

/* ---- activations --------------------------------------------------------------------------- */

static int compile_act(struct dn_plan *p, int i)
{
    struct dn_node *d = &p->nd[i];
    const struct nn_node *nd = node_of(p, i);
    if (d->rep != i) /* computed by its producer */
        return 0;
    if (!dn_act_native(nd->act)) {
        int args[] = {DNNL_ARG_SRC, p->nd[nd->in[0]].vmem, DNNL_ARG_DST, d->vmem, 0};
        return dn_fn_step(p, &p->fwd, dn_k_hsig_fwd, i, dn_tfwd(p, i), args) ? 0 : -1;
    }
    dnnl_eltwise_desc_t ed;
    if (DN_TRY(p, dnnl_eltwise_forward_desc_init(
                      &ed, p->g->mode == NN_TRAIN ? dnnl_forward_training : dnnl_forward_inference,
                      act_algs[nd->act].alg, md_of(p, p->nd[nd->in[0]].vmem), act_alpha(nd),
                      act_beta(nd))) ||
        dn_pd(p, &d->fwd_pd, &ed, NULL, NULL))
        return -1;
    int args[] = {DNNL_ARG_SRC, p->nd[nd->in[0]].vmem, DNNL_ARG_DST, d->vmem, 0};
    return dn_prim_step(p, &p->fwd, d->fwd_pd, i, dn_tfwd(p, i), args) ? 0 : -1;
}

/* ReLU fused into a conv or an add: backward from the output, in place on the shared gradient. */
static int backward_fused_relu(struct dn_plan *p, int i, int producer)
{
    const struct nn_node *nd = node_of(p, i);
    const dnnl_memory_desc_t *md = md_of(p, p->nd[i].gmem);
    dnnl_eltwise_desc_t fd, bd;
    dnnl_primitive_desc_t hint, pd;
    if (DN_TRY(p, dnnl_eltwise_forward_desc_init(&fd, dnnl_forward_training,
                                                 dnnl_eltwise_relu_use_dst_for_bwd, md,
                                                 act_alpha(nd), 0.0f)) ||
        dn_pd(p, &hint, &fd, NULL, NULL) ||
        DN_TRY(p, dnnl_eltwise_backward_desc_init(&bd, dnnl_eltwise_relu_use_dst_for_bwd, md, md,
                                                  act_alpha(nd), 0.0f)) ||
        dn_pd(p, &pd, &bd, NULL, hint))
        return -1;
    int g = p->nd[i].gmem;
    int args[] = {DNNL_ARG_DST, p->nd[i].vmem, DNNL_ARG_DIFF_DST, g, DNNL_ARG_DIFF_SRC, g, 0};
    p->written[producer] = 1;
    return dn_prim_step(p, &p->bwd, pd, i, dn_tbwd(p, i), args) ? 0 : -1;
}

static int backward_act(struct dn_plan *p, int i)
{
    struct dn_node *d = &p->nd[i];
    const struct nn_node *nd = node_of(p, i);
    int in = nd->in[0];
    if (d->rep != i) {
        if (node_of(p, d->rep)->op == NN_OP_CONV || node_of(p, d->rep)->op == NN_OP_ADD)
            return backward_fused_relu(p, i, d->rep);
        p->written[d->rep] = 1; /* BN applies the ReLU mask itself */
        return 0;
    }
    if (!node_of(p, in)->needs_grad || node_of(p, in)->op == NN_OP_INPUT)
        return 0;
    if (!dn_act_native(nd->act)) {
        int acc, target = own_target(p, in, &acc);
        int args[] = {
            DNNL_ARG_SRC, p->nd[in].vmem, DNNL_ARG_DIFF_DST, d->gmem, DNNL_ARG_DIFF_SRC, target, 0};
        struct dn_step *s = dn_fn_step(p, &p->bwd, dn_k_hsig_bwd, i, dn_tbwd(p, i), args);
        if (s)
            s->acc = acc;
        return s ? 0 : -1;
    }
    dnnl_eltwise_desc_t ed;
    dnnl_primitive_desc_t pd;
    if (DN_TRY(p, dnnl_eltwise_backward_desc_init(&ed, act_algs[nd->act].alg, md_of(p, d->gmem),
                                                  md_of(p, p->nd[in].vmem), act_alpha(nd),
                                                  act_beta(nd))) ||
        dn_pd(p, &pd, &ed, NULL, d->fwd_pd))
        return -1;
    int acc, target = dn_grad_target(p, in, &acc), t = dn_tbwd(p, i);
    int args[] = {
        DNNL_ARG_SRC, p->nd[in].vmem, DNNL_ARG_DIFF_DST, d->gmem, DNNL_ARG_DIFF_SRC, target, 0};
    if (!dn_prim_step(p, &p->bwd, pd, i, t, args))
        return -1;
    return acc ? dn_acc_step(p, in, i, t) : 0;
}

/* ---- pooling and upsampling ---------------------------------------------------------------- */

/* pad_r: TF's SAME pads one more at the bottom and right (nd->pad_end) */
static void pool_geo(const struct nn_node *nd, dnnl_dims_t st, dnnl_dims_t k, dnnl_dims_t dil,
                     dnnl_dims_t pad, dnnl_dims_t pad_r)
{
    st[0] = st[1] = nd->stride;
    k[0] = k[1] = nd->kernel;
    dil[0] = dil[1] = 0;
    pad[0] = pad[1] = nd->pad;
    pad_r[0] = pad_r[1] = nd->pad + nd->pad_end;
}

static int compile_pool(struct dn_plan *p, int i)
{
    struct dn_node *d = &p->nd[i];
    const struct nn_node *nd = node_of(p, i);
    dnnl_dims_t st, k, dil, pad, pad_r;
    pool_geo(nd, st, k, dil, pad, pad_r);
    dnnl_pooling_v2_desc_t pdsc;
    int train = p->g->mode == NN_TRAIN;
    if (DN_TRY(p,
               dnnl_pooling_v2_forward_desc_init(
                   &pdsc, train ? dnnl_forward_training : dnnl_forward_inference, dnnl_pooling_max,
                   md_of(p, p->nd[nd->in[0]].vmem), md_of(p, d->vmem), st, k, dil, pad, pad_r)) ||
        dn_pd(p, &d->fwd_pd, &pdsc, NULL, NULL))
        return -1;
    const dnnl_memory_desc_t *ws =
        dnnl_primitive_desc_query_md(d->fwd_pd, dnnl_query_workspace_md, 0);
    if (train && ws && dnnl_memory_desc_get_size(ws))
        d->ws_mem = dn_mem_planned(p, ws, 0);
    int args[] = {DNNL_ARG_SRC,
                  p->nd[nd->in[0]].vmem,
                  DNNL_ARG_DST,
                  d->vmem,
                  d->ws_mem >= 0 ? DNNL_ARG_WORKSPACE : 0,
                  d->ws_mem,
                  0};
    return dn_prim_step(p, &p->fwd, d->fwd_pd, i, dn_tfwd(p, i), args) ? 0 : -1;
}

static int backward_pool(struct dn_plan *p, int i)
{
    struct dn_node *d = &p->nd[i];
    const struct nn_node *nd = node_of(p, i);
    int in = nd->in[0], t = dn_tbwd(p, i);
    if (!node_of(p, in)->needs_grad || node_of(p, in)->op == NN_OP_INPUT)
        return 0;
    dnnl_dims_t st, k, dil, pad, pad_r;
    pool_geo(nd, st, k, dil, pad, pad_r);
    dnnl_pooling_v2_desc_t pdsc;
    dnnl_primitive_desc_t pd;
    if (DN_TRY(p,
               dnnl_pooling_v2_backward_desc_init(&pdsc, dnnl_pooling_max, md_of(p, p->nd[in].gmem),
                                                  md_of(p, d->gmem), st, k, dil, pad, pad_r)) ||
        dn_pd(p, &pd, &pdsc, NULL, d->fwd_pd))
        return -1;
    int acc, target = dn_grad_target(p, in, &acc);
    int args[] = {DNNL_ARG_DIFF_DST,
                  d->gmem,
                  DNNL_ARG_DIFF_SRC,
                  target,
                  d->ws_mem >= 0 ? DNNL_ARG_WORKSPACE : 0,
                  d->ws_mem,
                  0};
    if (!dn_prim_step(p, &p->bwd, pd, i, t, args))
        return -1;
    return acc ? dn_acc_step(p, in, i, t) : 0;
}

static const float up_factors[2] = {2.0f, 2.0f};

static int compile_upsample(struct dn_plan *p, int i)
{
    struct dn_node *d = &p->nd[i];
    const struct nn_node *nd = node_of(p, i);
    if (nd->bilinear) {
        int args[] = {DNNL_ARG_SRC, p->nd[nd->in[0]].vmem, DNNL_ARG_DST, d->vmem, 0};
        return dn_fn_step(p, &p->fwd, dn_k_up_bilinear_fwd, i, dn_tfwd(p, i), args) ? 0 : -1;
    }
    dnnl_resampling_desc_t rd;
    if (DN_TRY(p, dnnl_resampling_forward_desc_init(
                      &rd, p->g->mode == NN_TRAIN ? dnnl_forward_training : dnnl_forward_inference,
                      dnnl_resampling_nearest, up_factors, md_of(p, p->nd[nd->in[0]].vmem),
                      md_of(p, d->vmem))) ||
        dn_pd(p, &d->fwd_pd, &rd, NULL, NULL))
        return -1;
    int args[] = {DNNL_ARG_SRC, p->nd[nd->in[0]].vmem, DNNL_ARG_DST, d->vmem, 0};
    return dn_prim_step(p, &p->fwd, d->fwd_pd, i, dn_tfwd(p, i), args) ? 0 : -1;
}

static int backward_upsample(struct dn_plan *p, int i)
{
    struct dn_node *d = &p->nd[i];
    int in = node_of(p, i)->in[0], t = dn_tbwd(p, i);
    if (!node_of(p, in)->needs_grad || node_of(p, in)->op == NN_OP_INPUT)
        return 0;
    dnnl_resampling_desc_t rd;
    dnnl_primitive_desc_t pd;
    if (DN_TRY(p,
               dnnl_resampling_backward_desc_init(&rd, dnnl_resampling_nearest, up_factors,
                                                  md_of(p, p->nd[in].gmem), md_of(p, d->gmem))) ||
        dn_pd(p, &pd, &rd, NULL, d->fwd_pd))
        return -1;
    int acc, target = dn_grad_target(p, in, &acc);
    int args[] = {DNNL_ARG_DIFF_DST, d->gmem, DNNL_ARG_DIFF_SRC, target, 0};
    if (!dn_prim_step(p, &p->bwd, pd, i, t, args))
        return -1;
    return acc ? dn_acc_step(p, in, i, t) : 0;
}

/* ---- our kernels: add, concat, scale, group norm ------------------------------------------- */

static int compile_own(struct dn_plan *p, int i)
{
    struct dn_node *d = &p->nd[i];
    const struct nn_node *nd = node_of(p, i);
    int x = p->nd[nd->in[0]].vmem, t = dn_tfwd(p, i);
    if (nd->op == NN_OP_ADD) {
        int args[] = {DNNL_ARG_SRC_0, x, DNNL_ARG_SRC_1, p->nd[nd->in[1]].vmem, DNNL_ARG_DST,
                      d->vmem,        0};
        struct dn_step *s = dn_fn_step(p, &p->fwd, dn_k_add, i, t, args);
        if (s)
            s->aux = d->fused_act >= 0; /* a ReLU after the sum (residual blocks) */
        return s ? 0 : -1;
    }
    if (nd->op == NN_OP_SCALE) {
        int args[] = {
            DNNL_ARG_SRC, x, DNNL_ARG_WEIGHTS, ext_param(p, nd->param[0], 0), DNNL_ARG_DST,
            d->vmem,      0};
        return dn_fn_step(p, &p->fwd, dn_k_scale_fwd, i, t, args) ? 0 : -1;
    }
    if (nd->op == NN_OP_GAP) {
        int args[] = {DNNL_ARG_SRC, x, DNNL_ARG_DST, d->vmem, 0};
        return dn_fn_step(p, &p->fwd, dn_k_gap_fwd, i, t, args) ? 0 : -1;
    }
    if (nd->op == NN_OP_MULC) {
        int args[] = {DNNL_ARG_SRC_0, x, DNNL_ARG_SRC_1, p->nd[nd->in[1]].vmem, DNNL_ARG_DST,
                      d->vmem,        0};
        return dn_fn_step(p, &p->fwd, dn_k_mulc_fwd, i, t, args) ? 0 : -1;
    }
    if (nd->op == NN_OP_CONCAT) {
        int args[2 * NN_MAX_IN + 3], k = 0;
        for (int j = 0; j < nd->n_in; j++) {
            args[k++] = DNNL_ARG_MULTIPLE_SRC + j;
            args[k++] = p->nd[nd->in[j]].vmem;
        }
        args[k++] = DNNL_ARG_DST;
        args[k++] = d->vmem;
        args[k] = 0;
        return dn_fn_step(p, &p->fwd, dn_k_concat_fwd, i, t, args) ? 0 : -1;
    }
    /* group norm */
    int cp = (nd->shape.c + p->block - 1) / p->block * p->block;
    d->gn_stats = nn_alloc_buffer((size_t)nd->shape.n * nd->groups * 2 * sizeof(double));
    /* per (n, channel): two double sums, then three float coefficients (nn_dnnl_kern.c) */
    d->gn_sums =
        nn_alloc_buffer((size_t)nd->shape.n * cp * (2 * sizeof(double) + 3 * sizeof(float)));
    int args[] = {DNNL_ARG_SRC,
                  x,
                  DNNL_ARG_SCALE,
                  ext_param(p, nd->param[0], 0),
                  DNNL_ARG_SHIFT,
                  ext_param(p, nd->param[1], 0),
                  DNNL_ARG_DST,
                  d->vmem,
                  0};
    struct dn_step *s = dn_fn_step(p, &p->fwd, dn_k_gn_fwd, i, t, args);
    if (s)
        s->aux = d->fused_act >= 0; /* ReLU applied on the way out */
    return s ? 0 : -1;
}

static int grad_in(const struct dn_plan *p, int in)
{
    return node_of(p, in)->needs_grad && node_of(p, in)->op != NN_OP_INPUT;
}

static int backward_add(struct dn_plan *p, int i)
{
    const struct nn_node *nd = node_of(p, i);
    int t = dn_tbwd(p, i);
    /* the copy for input 1 runs before anything can modify the buffer input 0 shares */
    for (int k = 1; k >= 0; k--) {
        int in = nd->in[k];
        if (!grad_in(p, in))
            continue;
        if (k == 0 && p->nd[i].grad_alias == in) {
            p->written[in] = 1;
            continue;
        }
        int acc, target = own_target(p, in, &acc);
        int args[] = {DNNL_ARG_SRC, p->nd[i].gmem, DNNL_ARG_DST, target, 0};
        if (!dn_fn_step(p, &p->bwd, acc ? dn_k_acc : dn_k_copy, i, t, args))
            return -1;
    }
    return 0;
}

static int backward_concat(struct dn_plan *p, int i)
{
    const struct nn_node *nd = node_of(p, i);
    for (int k = 0; k < nd->n_in; k++) {
        if (!grad_in(p, nd->in[k]))
            continue;
        int acc, target = own_target(p, nd->in[k], &acc);
        int args[] = {DNNL_ARG_SRC, p->nd[i].gmem, DNNL_ARG_DST, target, 0};
        struct dn_step *s = dn_fn_step(p, &p->bwd, dn_k_concat_bwd, i, dn_tbwd(p, i), args);
        if (!s)
            return -1;
        s->acc = acc;
        s->aux = k;
    }
    return 0;
}

static int backward_gap(struct dn_plan *p, int i)
{
    int in = node_of(p, i)->in[0];
    if (!grad_in(p, in))
        return 0;
    int acc, target = own_target(p, in, &acc);
    int args[] = {DNNL_ARG_DIFF_DST, p->nd[i].gmem, DNNL_ARG_DIFF_SRC, target, 0};
    struct dn_step *s = dn_fn_step(p, &p->bwd, dn_k_gap_bwd, i, dn_tbwd(p, i), args);
    if (s)
        s->acc = acc;
    return s ? 0 : -1;
}

/* One step per input that needs a gradient: k 0 is x (dy * s), k 1 the gate (sum of dy * x). */
static int backward_mulc(struct dn_plan *p, int i)
{
    const struct nn_node *nd = node_of(p, i);
    for (int k = 0; k < 2; k++) {
        if (!grad_in(p, nd->in[k]))
            continue;
        int acc, target = own_target(p, nd->in[k], &acc);
        int args[] = {DNNL_ARG_SRC_0,
                      p->nd[nd->in[0]].vmem,
                      DNNL_ARG_SRC_1,
                      p->nd[nd->in[1]].vmem,
                      DNNL_ARG_DIFF_DST,
                      p->nd[i].gmem,
                      DNNL_ARG_DIFF_SRC,
                      target,
                      0};
        struct dn_step *s = dn_fn_step(p, &p->bwd, dn_k_mulc_bwd, i, dn_tbwd(p, i), args);
        if (!s)
            return -1;
        s->acc = acc;
        s->aux = k;
    }
    return 0;
}

/* Scale and group norm backward: dx (if needed), then parameter gradients. */
static int backward_own_param(struct dn_plan *p, int i, dn_fn fn)
{
    const struct nn_node *nd = node_of(p, i);
    int in = nd->in[0], acc = 0, dx = -1;
    if (grad_in(p, in))
        dx = own_target(p, in, &acc);
    int pw = param_written(p, nd->param[0]);
    if (nd->param[1] >= 0)
        param_written(p, nd->param[1]);
    int args[16], k = 0;
    int fixed[] = {DNNL_ARG_SRC,        p->nd[in].vmem,
                   DNNL_ARG_DIFF_DST,   p->nd[i].gmem,
                   DNNL_ARG_SCALE,      ext_param(p, nd->param[0], 0),
                   DNNL_ARG_DIFF_SCALE, ext_param(p, nd->param[0], 1)};
    for (; k < 8; k++)
        args[k] = fixed[k];
    if (nd->param[1] >= 0) {
        args[k++] = DNNL_ARG_DIFF_SHIFT;
        args[k++] = ext_param(p, nd->param[1], 1);
    }
    if (dx >= 0) {
        args[k++] = DNNL_ARG_DIFF_SRC;
        args[k++] = dx;
    }
    if (p->nd[i].fused_act >= 0) { /* the ReLU's output masks the gradient */
        args[k++] = DNNL_ARG_DST;
        args[k++] = p->nd[i].vmem;
    }
    args[k] = 0;
    struct dn_step *s = dn_fn_step(p, &p->bwd, fn, i, dn_tbwd(p, i), args);
    if (!s)
        return -1;
    s->acc = acc;
    s->aux = pw;
    return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

int dn_compile_node(struct dn_plan *p, int i)
{
    switch (node_of(p, i)->op) {
    case NN_OP_INPUT:
        return 0;
    case NN_OP_CONV:
        return compile_conv(p, i);
    case NN_OP_BN:
        return compile_bn(p, i);
    case NN_OP_ACT:
        return compile_act(p, i);
    case NN_OP_MAXPOOL:
        return compile_pool(p, i);
    case NN_OP_UPSAMPLE:
        return compile_upsample(p, i);
    case NN_OP_ADD:
    case NN_OP_CONCAT:
    case NN_OP_SCALE:
    case NN_OP_GN:
    case NN_OP_GAP:
    case NN_OP_MULC:
        return compile_own(p, i);
    }
    return -1;
}

int dn_backward_node(struct dn_plan *p, int i)
{
    switch (node_of(p, i)->op) {
    case NN_OP_INPUT:
        return 0;
    case NN_OP_CONV:
        return backward_conv(p, i);
    case NN_OP_BN:
        return backward_bn(p, i);
    case NN_OP_ACT:
        return backward_act(p, i);
    case NN_OP_MAXPOOL:
        return backward_pool(p, i);
    case NN_OP_UPSAMPLE:
        return backward_upsample(p, i);
    case NN_OP_ADD:
        return backward_add(p, i);
    case NN_OP_CONCAT:
        return backward_concat(p, i);
    case NN_OP_SCALE:
        return backward_own_param(p, i, dn_k_scale_bwd);
    case NN_OP_GN:
        return backward_own_param(p, i, dn_k_gn_bwd);
    case NN_OP_GAP:
        return backward_gap(p, i);
    case NN_OP_MULC:
        return backward_mulc(p, i);
    }
    return -1;
}
