/* Graph building and the backend-independent half of compiling and running: shape checks, the
 * sticky building error, parameter declaration, use counts, the NCHW buffers at the API, and
 * dispatch to the chosen backend. */
#include "nn_int.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(_OPENMP) || defined(NN_GOMP_API)
#include <omp.h>
#define NN_HAVE_OMP 1
#endif

void nn_set_num_threads(int n)
{
#ifdef NN_HAVE_OMP
    omp_set_num_threads(n > 0 ? n : omp_get_num_procs());
#else
    (void)n;
#endif
}

int nn_num_threads(void)
{
#ifdef NN_HAVE_OMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void *nn_alloc_buffer(size_t bytes)
{
    size_t size = (bytes + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, size ? size : 64))
        base_panic(__FILE__, __LINE__, "out of memory allocating %zu bytes", bytes);
    memset(p, 0, size);
    return p;
}

void nn_free_buffer(void *p)
{
    free(p);
}

struct nn_graph *nn_graph_new(struct nn_model *m)
{
    struct nn_graph *g = base_calloc(1, sizeof *g);
    g->m = m;
    return g;
}

void nn_graph_free(struct nn_graph *g)
{
    if (!g)
        return;
    if (g->ops)
        g->ops->release(g);
    for (int i = 0; i < g->n_inputs && g->in_buf; i++)
        nn_free_buffer(g->in_buf[i]);
    for (int i = 0; i < g->n_outputs && g->out_buf; i++) {
        nn_free_buffer(g->out_buf[i]);
        nn_free_buffer(g->out_grad[i]);
    }
    base_free(g->in_buf);
    base_free(g->out_buf);
    base_free(g->out_grad);
    base_free(g->inputs);
    base_free(g->outputs);
    base_free(g->nodes);
    base_free(g);
}

static int fail(struct nn_graph *g, enum base_status st, const char *fmt, const char *what)
{
    if (!g->failed) {
        g->failed = 1;
        base_err_set(&g->err, st, fmt, what);
    }
    return -1;
}

/* Appends a node reading `n_in` valid tensors; returns it or NULL after recording an error. */
static struct nn_node *add_node(struct nn_graph *g, enum nn_op op, const int *in, int n_in,
                                const char *what)
{
    if (g->failed)
        return NULL;
    if (g->compiled) {
        fail(g, BASE_E_CONFLICT, "%s: graph already compiled", what);
        return NULL;
    }
    for (int i = 0; i < n_in; i++)
        if (in[i] < 0 || in[i] >= g->n) {
            fail(g, BASE_E_INVALID, "%s: invalid input tensor", what);
            return NULL;
        }
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->nodes = base_realloc(g->nodes, (size_t)g->cap * sizeof *g->nodes);
    }
    struct nn_node *nd = &g->nodes[g->n];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->n_in = n_in;
    for (int i = 0; i < n_in; i++) {
        nd->in[i] = in[i];
        g->nodes[in[i]].n_uses++;
        nd->needs_grad |= g->nodes[in[i]].needs_grad;
    }
    for (int i = 0; i < 4; i++)
        nd->param[i] = -1;
    if (n_in)
        nd->shape = g->nodes[in[0]].shape;
    return nd;
}

static int finish(struct nn_graph *g)
{
    return g->n++;
}

static struct nn_shape in_shape(const struct nn_graph *g, int x)
{
    return g->nodes[x].shape;
}

/* Declares parameter "<name><suffix>" for node nd's slot. */
static int declare(struct nn_graph *g, struct nn_node *nd, int slot, const char *name,
                   const char *suffix, int ndim, const int64_t *shape, unsigned flags,
                   enum nn_init_kind init, float val)
{
    char full[NN_NAME_MAX + 32];
    struct base_err e;
    if (!name || !*name)
        return fail(g, BASE_E_INVALID, "%s: layer needs a name", "graph");
    snprintf(full, sizeof full, "%s%s", name, suffix);
    int i = nn_model_declare(g->m, full, ndim, shape, flags, init, val, &e);
    if (i < 0)
        return fail(g, e.status, "%s", e.msg);
    nd->param[slot] = i;
    if (!(flags & NN_PARAM_BUFFER))
        nd->needs_grad = 1;
    return 0;
}

int nn_input(struct nn_graph *g, int n, int c, int h, int w)
{
    struct nn_node *nd = add_node(g, NN_OP_INPUT, NULL, 0, "input");
    if (!nd)
        return -1;
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || (double)n * c * h * w > 1e9)
        return fail(g, BASE_E_INVALID, "%s: bad shape", "input");
    nd->shape = (struct nn_shape){n, c, h, w};
    nd->input_index = g->n_inputs;
    g->inputs = base_realloc(g->inputs, (size_t)(g->n_inputs + 1) * sizeof *g->inputs);
    g->inputs[g->n_inputs++] = g->n;
    return finish(g);
}

static int conv_out(int in, int k, int s, int p, int d)
{
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

int nn_conv2d(struct nn_graph *g, const char *name, int x, const struct nn_conv2d_cfg *cfg)
{
    struct nn_node *nd = add_node(g, NN_OP_CONV, &x, 1, "conv2d");
    if (!nd)
        return -1;
    struct nn_conv2d_cfg c = *cfg;
    c.stride = c.stride ? c.stride : 1;
    c.dilation = c.dilation ? c.dilation : 1;
    c.groups = c.groups ? c.groups : 1;
    struct nn_shape s = in_shape(g, x);
    if (c.out_ch <= 0 || c.kernel <= 0 || c.stride < 0 || c.pad < 0 || c.dilation < 0 ||
        c.groups < 0 || c.pad_end < 0 || s.c % c.groups || c.out_ch % c.groups)
        return fail(g, BASE_E_INVALID, "conv2d '%s': bad configuration", name);
    int span = (c.kernel - 1) * c.dilation + 1;
    int oh = conv_out(s.h + c.pad_end, c.kernel, c.stride, c.pad, c.dilation);
    int ow = conv_out(s.w + c.pad_end, c.kernel, c.stride, c.pad, c.dilation);
    if (oh <= 0 || ow <= 0 || c.pad >= span || c.pad + c.pad_end >= span)
        return fail(g, BASE_E_INVALID, "conv2d '%s': input too small or padding too large", name);
    nd->conv = c;
    nd->shape = (struct nn_shape){s.n, c.out_ch, oh, ow};
    int64_t wshape[4] = {c.out_ch, s.c / c.groups, c.kernel, c.kernel};
    float bound = 1.0f / sqrtf((float)(wshape[1] * c.kernel * c.kernel));
    unsigned frozen = c.frozen ? NN_PARAM_BUFFER : 0;
    if (declare(g, nd, 0, name, ".weight", 4, wshape, frozen, NN_INIT_UNIFORM, bound))
        return -1;
    if (c.bias && declare(g, nd, 1, name, ".bias", 1, wshape, NN_PARAM_NO_DECAY | frozen,
                          NN_INIT_UNIFORM, bound))
        return -1;
    g->flops += 2.0 * (double)nn_shape_numel(nd->shape) * (double)(wshape[1] * c.kernel * c.kernel);
    return finish(g);
}

static int declare_affine(struct nn_graph *g, struct nn_node *nd, const char *name, int c)
{
    int64_t shape[1] = {c};
    if (declare(g, nd, 0, name, ".weight", 1, shape, NN_PARAM_NO_DECAY, NN_INIT_CONST, 1.0f) ||
        declare(g, nd, 1, name, ".bias", 1, shape, NN_PARAM_NO_DECAY, NN_INIT_CONST, 0.0f))
        return -1;
    return 0;
}

int nn_batch_norm(struct nn_graph *g, const char *name, int x, float eps, float momentum)
{
    struct nn_node *nd = add_node(g, NN_OP_BN, &x, 1, "batch_norm");
    if (!nd)
        return -1;
    int64_t shape[1] = {nd->shape.c};
    nd->eps = eps > 0 ? eps : 1e-5f;
    nd->momentum = momentum > 0 ? momentum : 0.1f;
    if (declare_affine(g, nd, name, nd->shape.c) ||
        declare(g, nd, 2, name, ".running_mean", 1, shape, NN_PARAM_BUFFER, NN_INIT_CONST, 0.0f) ||
        declare(g, nd, 3, name, ".running_var", 1, shape, NN_PARAM_BUFFER, NN_INIT_CONST, 1.0f))
        return -1;
    return finish(g);
}

int nn_group_norm(struct nn_graph *g, const char *name, int x, int groups, float eps)
{
    struct nn_node *nd = add_node(g, NN_OP_GN, &x, 1, "group_norm");
    if (!nd)
        return -1;
    if (groups <= 0 || nd->shape.c % groups)
        return fail(g, BASE_E_INVALID, "group_norm '%s': groups must divide the channels", name);
    nd->groups = groups;
    nd->eps = eps > 0 ? eps : 1e-5f;
    if (declare_affine(g, nd, name, nd->shape.c))
        return -1;
    return finish(g);
}

int nn_act(struct nn_graph *g, int x, enum nn_act act, float alpha)
{
    struct nn_node *nd = add_node(g, NN_OP_ACT, &x, 1, "activation");
    if (!nd)
        return -1;
    if (act < NN_ACT_NONE || act > NN_ACT_HARDSIGMOID)
        return fail(g, BASE_E_INVALID, "%s: unknown activation", "activation");
    nd->act = act;
    nd->alpha = alpha;
    return finish(g);
}

int nn_relu(struct nn_graph *g, int x)
{
    return nn_act(g, x, NN_ACT_RELU, 0.0f);
}

int nn_silu(struct nn_graph *g, int x)
{
    return nn_act(g, x, NN_ACT_SILU, 0.0f);
}

int nn_sigmoid(struct nn_graph *g, int x)
{
    return nn_act(g, x, NN_ACT_SIGMOID, 0.0f);
}

/* A max pool padded by `pad` on every side and `pad_end` more at the bottom and right; every
 * window keeps at least one real cell (padded cells never win). */
static int max_pool(struct nn_graph *g, int x, int kernel, int stride, int pad, int pad_end)
{
    struct nn_node *nd = add_node(g, NN_OP_MAXPOOL, &x, 1, "max_pool2d");
    if (!nd)
        return -1;
    if (kernel <= 0 || stride <= 0 || pad < 0 || pad_end < 0 || 2 * pad > kernel ||
        pad + pad_end >= kernel)
        return fail(g, BASE_E_INVALID, "%s: bad configuration", "max_pool2d");
    nd->kernel = kernel;
    nd->stride = stride;
    nd->pad = pad;
    nd->pad_end = pad_end;
    nd->shape.h = conv_out(nd->shape.h + pad_end, kernel, stride, pad, 1);
    nd->shape.w = conv_out(nd->shape.w + pad_end, kernel, stride, pad, 1);
    if (nd->shape.h <= 0 || nd->shape.w <= 0)
        return fail(g, BASE_E_INVALID, "%s: input too small", "max_pool2d");
    return finish(g);
}

int nn_max_pool2d(struct nn_graph *g, int x, int kernel, int stride, int pad)
{
    return max_pool(g, x, kernel, stride, pad, 0);
}

/* TF's SAME total padding of one side of `size`: the output has ceil(size / stride) cells. */
static int same_pad(int size, int kernel, int stride)
{
    int out = (size + stride - 1) / stride, total = (out - 1) * stride + kernel - size;
    return total > 0 ? total : 0;
}

int nn_max_pool2d_same(struct nn_graph *g, int x, int kernel, int stride)
{
    if (g->failed || x < 0 || x >= g->n || kernel <= 0 || stride <= 0)
        return max_pool(g, x, kernel, stride, -1, 0); /* records the error */
    struct nn_shape s = g->nodes[x].shape;
    int th = same_pad(s.h, kernel, stride), tw = same_pad(s.w, kernel, stride);
    if (th != tw)
        return fail(g, BASE_E_INVALID, "%s: SAME padding differs in height and width",
                    "max_pool2d");
    return max_pool(g, x, kernel, stride, th / 2, th % 2); /* th = 2 * pad + pad_end */
}

int nn_global_avg_pool(struct nn_graph *g, int x)
{
    struct nn_node *nd = add_node(g, NN_OP_GAP, &x, 1, "global_avg_pool");
    if (!nd)
        return -1;
    nd->shape.h = nd->shape.w = 1;
    return finish(g);
}

int nn_mul_channel(struct nn_graph *g, int x, int s)
{
    int in[2] = {x, s};
    struct nn_node *nd = add_node(g, NN_OP_MULC, in, 2, "mul_channel");
    if (!nd)
        return -1;
    struct nn_shape a = in_shape(g, x), b = in_shape(g, s);
    if (a.n != b.n || a.c != b.c || b.h != 1 || b.w != 1)
        return fail(g, BASE_E_INVALID, "%s: the scale must be [N, C, 1, 1] of x's N and C",
                    "mul_channel");
    return finish(g);
}

int nn_upsample2x(struct nn_graph *g, int x)
{
    struct nn_node *nd = add_node(g, NN_OP_UPSAMPLE, &x, 1, "upsample2x");
    if (!nd)
        return -1;
    nd->shape.h *= 2;
    nd->shape.w *= 2;
    return finish(g);
}

int nn_upsample2x_bilinear(struct nn_graph *g, int x)
{
    int y = nn_upsample2x(g, x);
    if (y >= 0)
        g->nodes[y].bilinear = 1;
    return y;
}

static int same_shape(struct nn_shape a, struct nn_shape b)
{
    return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w;
}

int nn_add(struct nn_graph *g, int a, int b)
{
    int in[2] = {a, b};
    struct nn_node *nd = add_node(g, NN_OP_ADD, in, 2, "add");
    if (!nd)
        return -1;
    if (!same_shape(in_shape(g, a), in_shape(g, b)))
        return fail(g, BASE_E_INVALID, "%s: shapes differ", "add");
    return finish(g);
}

int nn_concat(struct nn_graph *g, const int *xs, int n)
{
    if (n < 2 || n > NN_MAX_IN)
        return fail(g, BASE_E_INVALID, "%s: needs 2 to 8 inputs", "concat");
    struct nn_node *nd = add_node(g, NN_OP_CONCAT, xs, n, "concat");
    if (!nd)
        return -1;
    nd->shape.c = 0;
    for (int i = 0; i < n; i++) {
        struct nn_shape s = in_shape(g, xs[i]);
        if (s.n != nd->shape.n || s.h != nd->shape.h || s.w != nd->shape.w)
            return fail(g, BASE_E_INVALID, "%s: N, H, W differ", "concat");
        nd->shape.c += s.c;
    }
    return finish(g);
}

int nn_scale(struct nn_graph *g, const char *name, int x, float init_value)
{
    struct nn_node *nd = add_node(g, NN_OP_SCALE, &x, 1, "scale");
    if (!nd)
        return -1;
    int64_t shape[1] = {1};
    if (declare(g, nd, 0, name, ".scale", 1, shape, NN_PARAM_NO_DECAY, NN_INIT_CONST, init_value))
        return -1;
    return finish(g);
}

int nn_output(struct nn_graph *g, int x)
{
    if (g->failed)
        return -1;
    if (g->compiled || x < 0 || x >= g->n)
        return fail(g, BASE_E_INVALID, "%s: invalid tensor or graph compiled", "output");
    g->nodes[x].n_uses++;
    g->outputs = base_realloc(g->outputs, (size_t)(g->n_outputs + 1) * sizeof *g->outputs);
    g->outputs[g->n_outputs] = x;
    return g->n_outputs++;
}

static const struct nn_backend_ops *pick_backend(enum nn_backend b)
{
    const struct nn_backend_ops *dnnl = nn_dnnl_backend();
    switch (b) {
    case NN_BACKEND_REF:
        return &nn_ref_backend;
    case NN_BACKEND_DNNL:
        return dnnl;
    case NN_BACKEND_DEFAULT:
        return dnnl ? dnnl : &nn_ref_backend;
    }
    return NULL;
}

static void alloc_api_buffers(struct nn_graph *g)
{
    g->in_buf = base_calloc((size_t)g->n_inputs + 1, sizeof *g->in_buf);
    g->out_buf = base_calloc((size_t)g->n_outputs + 1, sizeof *g->out_buf);
    g->out_grad = base_calloc((size_t)g->n_outputs + 1, sizeof *g->out_grad);
    for (int i = 0; i < g->n_inputs; i++)
        g->in_buf[i] = nn_alloc_buffer(nn_shape_numel(g->nodes[g->inputs[i]].shape) * 4);
    for (int i = 0; i < g->n_outputs; i++) {
        size_t bytes = nn_shape_numel(g->nodes[g->outputs[i]].shape) * 4;
        g->out_buf[i] = nn_alloc_buffer(bytes);
        if (g->mode == NN_TRAIN)
            g->out_grad[i] = nn_alloc_buffer(bytes);
    }
}

int nn_graph_compile(struct nn_graph *g, enum nn_mode mode, enum nn_backend backend,
                     struct base_err *err)
{
    if (g->failed) {
        if (err)
            *err = g->err;
        return -1;
    }
    if (g->compiled)
        return base_err_set(err, BASE_E_CONFLICT, "graph already compiled");
    if (!g->n_inputs || !g->n_outputs)
        return base_err_set(err, BASE_E_INVALID, "graph needs at least one input and output");
    for (int i = 0; i < g->n && mode == NN_TRAIN; i++)
        if (!g->nodes[i].n_uses && g->nodes[i].needs_grad)
            return base_err_set(err, BASE_E_INVALID,
                                "node %d: trained layer whose output is neither used nor an output",
                                i);
    for (int i = 0; i < g->n && mode == NN_TRAIN; i++)
        if (g->nodes[i].bilinear && g->nodes[i].needs_grad)
            return base_err_set(err, BASE_E_UNSUPPORTED,
                                "node %d: bilinear upsampling has no backward (inference only)", i);
    const struct nn_backend_ops *ops = pick_backend(backend);
    if (!ops)
        return base_err_set(err, BASE_E_UNSUPPORTED, "backend not available in this build");
    if (nn_model_alloc(g->m, err))
        return -1;
    g->mode = mode;
    g->backend = ops == &nn_ref_backend ? NN_BACKEND_REF : NN_BACKEND_DNNL;
    alloc_api_buffers(g);
    if (ops->compile(g, err))
        return base_err_prefix(err, "%s backend: ", ops->name);
    g->ops = ops;
    g->compiled = 1;
    return 0;
}

float *nn_graph_input(struct nn_graph *g, int i, struct nn_shape *shape)
{
    BASE_ASSERT(g->compiled && i >= 0 && i < g->n_inputs);
    if (shape)
        *shape = g->nodes[g->inputs[i]].shape;
    return g->in_buf[i];
}

int nn_graph_forward(struct nn_graph *g, struct base_err *err)
{
    if (!g->compiled)
        return base_err_set(err, BASE_E_INVALID, "graph not compiled");
    int rc = g->ops->forward(g, err);
    if (g->mode == NN_TRAIN) /* BN running statistics changed: inference graphs must re-read */
        nn_model_touch(g->m);
    return rc;
}

const float *nn_graph_output(struct nn_graph *g, int i, struct nn_shape *shape)
{
    BASE_ASSERT(g->compiled && i >= 0 && i < g->n_outputs);
    if (shape)
        *shape = g->nodes[g->outputs[i]].shape;
    return g->out_buf[i];
}

float *nn_graph_output_grad(struct nn_graph *g, int i)
{
    BASE_ASSERT(g->compiled && g->mode == NN_TRAIN && i >= 0 && i < g->n_outputs);
    return g->out_grad[i];
}

int nn_graph_backward(struct nn_graph *g, struct base_err *err)
{
    if (!g->compiled || g->mode != NN_TRAIN)
        return base_err_set(err, BASE_E_INVALID, "backward needs a graph compiled for training");
    return g->ops->backward(g, err);
}

double nn_graph_flops(const struct nn_graph *g)
{
    return g->flops;
}

size_t nn_graph_memory(const struct nn_graph *g)
{
    return g->memory;
}

enum nn_backend nn_graph_backend(const struct nn_graph *g)
{
    return g->backend;
}

void nn_conv_geom_from(struct nn_conv_geom *cg, const struct nn_graph *g, const struct nn_node *nd)
{
    struct nn_shape in = g->nodes[nd->in[0]].shape;
    *cg = (struct nn_conv_geom){in.n,
                                in.c,
                                in.h,
                                in.w,
                                nd->shape.c,
                                nd->shape.h,
                                nd->shape.w,
                                nd->conv.kernel,
                                nd->conv.stride,
                                nd->conv.pad,
                                nd->conv.dilation,
                                nd->conv.groups};
}

/* ---- description for cross-checks ------------------------------------------------------------ */

static const char *const op_names[] = {
    [NN_OP_INPUT] = "input",   [NN_OP_CONV] = "conv", [NN_OP_BN] = "bn",
    [NN_OP_GN] = "gn",         [NN_OP_ACT] = "act",   [NN_OP_MAXPOOL] = "maxpool",
    [NN_OP_UPSAMPLE] = "up2x", [NN_OP_ADD] = "add",   [NN_OP_CONCAT] = "concat",
    [NN_OP_SCALE] = "scale",   [NN_OP_GAP] = "gap",   [NN_OP_MULC] = "mulc",
};
static const char *const act_names[] = {"none", "relu",  "leaky_relu", "silu",       "sigmoid",
                                        "exp",  "relu6", "hardswish",  "hardsigmoid"};

static json_t *describe_node(const struct nn_graph *g, const struct nn_node *nd)
{
    json_t *o = json_object(), *in = json_array(), *params = json_array();
    json_object_set_new(o, "op", json_string(op_names[nd->op]));
    for (int k = 0; k < nd->n_in; k++)
        json_array_append_new(in, json_integer(nd->in[k]));
    json_object_set_new(o, "in", in);
    for (int k = 0; k < 4; k++)
        json_array_append_new(params, nd->param[k] >= 0 ? json_string(g->m->p[nd->param[k]].name)
                                                        : json_null());
    json_object_set_new(o, "params", params);
    json_object_set_new(o, "shape",
                        json_pack("[iiii]", nd->shape.n, nd->shape.c, nd->shape.h, nd->shape.w));
    json_object_set_new(o, "conv",
                        json_pack("{si si si si si si}", "kernel", nd->conv.kernel, "stride",
                                  nd->conv.stride, "pad", nd->conv.pad, "dilation",
                                  nd->conv.dilation, "groups", nd->conv.groups, "pad_end",
                                  nd->conv.pad_end));
    json_object_set_new(o, "act", json_string(act_names[nd->act]));
    json_object_set_new(o, "alpha", json_real(nd->alpha));
    json_object_set_new(o, "eps", json_real(nd->eps));
    json_object_set_new(o, "momentum", json_real(nd->momentum));
    json_object_set_new(o, "groups", json_integer(nd->groups));
    json_object_set_new(o, "pool", json_pack("[iii]", nd->kernel, nd->stride, nd->pad));
    json_object_set_new(o, "pool_end", json_integer(nd->pad_end));
    return o;
}

char *nn_graph_describe(const struct nn_graph *g)
{
    json_t *root = json_object(), *nodes = json_array(), *outs = json_array();
    for (int i = 0; i < g->n; i++)
        json_array_append_new(nodes, describe_node(g, &g->nodes[i]));
    for (int o = 0; o < g->n_outputs; o++)
        json_array_append_new(outs, json_integer(g->outputs[o]));
    json_object_set_new(root, "nodes", nodes);
    json_object_set_new(root, "outputs", outs);
    json_object_set_new(root, "train", json_boolean(g->mode == NN_TRAIN));
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    char *copy = base_strdup(s);
    free(s);
    return copy;
}
