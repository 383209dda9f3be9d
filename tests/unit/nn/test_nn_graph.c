/* Graphs: building errors, parameter sharing and reuse across input shapes, the reference
 * backend's gradients against finite differences through a whole small detector-like network,
 * and the oneDNN backend against the reference on every op and on that network. */
#include "nn_test_util.h"

#include <pthread.h>
#include <stdlib.h>

static int n_outputs_of(struct nn_graph *g)
{
    return g->n_outputs;
}

/* Loss = sum over outputs of r . y with r from a fixed seed; also writes r as output gradient. */
static double probe_loss(struct nn_graph *g, int write_grads)
{
    struct base_rng rng;
    base_rng_seed(&rng, 99);
    double L = 0;
    for (int o = 0; o < n_outputs_of(g); o++) {
        struct nn_shape s;
        const float *y = nn_graph_output(g, o, &s);
        float *dy = write_grads ? nn_graph_output_grad(g, o) : NULL;
        for (size_t k = 0; k < nn_shape_numel(s); k++) {
            double r = base_rng_uniform(&rng) * 2 - 1;
            L += r * y[k];
            if (dy)
                dy[k] = (float)r;
        }
    }
    return L;
}

static void test_build_errors(void)
{
    struct nn_model *m = nn_model_new(1);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    int x = nn_input(g, 1, 3, 8, 8);
    CHECK(x >= 0);
    CHECK(nn_conv2d(g, "c", x, &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 2, 0, 0, 0}) < 0); /* 3 % 2 */
    CHECK(nn_relu(g, x) < 0); /* sticky */
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_REF, &err) < 0);
    CHECK(strstr(err.msg, "conv2d 'c'") != NULL);
    nn_graph_free(g);

    g = nn_graph_new(m);
    x = nn_input(g, 1, 3, 8, 8);
    x = nn_conv2d(g, "c", x, &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 1, 0, 0, 0});
    CHECK(nn_conv2d(g, "c", x, &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 1, 0, 0, 0}) <
          0); /* 4 in != 3 */
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_REF, &err) < 0);
    CHECK(strstr(err.msg, "'c.weight'") != NULL);
    nn_graph_free(g);

    g = nn_graph_new(m);
    x = nn_input(g, 1, 3, 4, 4);
    CHECK(nn_add(g, x, nn_max_pool2d(g, x, 2, 2, 0)) < 0);
    nn_graph_free(g);

    g = nn_graph_new(m);
    x = nn_input(g, 1, 3, 8, 8);
    nn_output(g, nn_conv2d(g, "c", x, &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 1, 0, 0, 0}));
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_REF, &err) == 0);
    nn_graph_free(g);

    /* after allocation the parameter set is frozen */
    g = nn_graph_new(m);
    x = nn_input(g, 1, 3, 8, 8);
    CHECK(nn_conv2d(g, "new", x, &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 1, 0, 0, 0}) < 0);
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_REF, &err) < 0);
    CHECK_EQ_INT(err.status, BASE_E_CONFLICT);
    nn_graph_free(g);
    nn_model_free(m);
}

static void test_params_shared_and_reused(void)
{
    struct nn_model *m = nn_model_new(3);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    build_mini_fcos(g, 1, 16, 16, NN_ACT_RELU);
    CHECK(nn_graph_compile(g, NN_INFER, NN_BACKEND_REF, &err) == 0);
    int count = nn_model_param_count(m);
    CHECK(nn_model_find(m, "head.conv.weight") >= 0);
    CHECK(nn_model_find(m, "stem.bn.running_var") >= 0);
    struct nn_param p;
    nn_model_param(m, nn_model_find(m, "head.conv.weight"), &p);
    CHECK_EQ_INT(p.shape[0], 8);
    CHECK_EQ_INT(p.shape[1], 16);
    CHECK(p.flags == 0);
    float *data = p.data;
    nn_model_param(m, nn_model_find(m, "stem.bn.running_var"), &p);
    CHECK(p.grad == NULL && p.data[0] == 1.0f && (p.flags & NN_PARAM_BUFFER));
    nn_graph_free(g);
    /* a new input shape: same parameters, same memory */
    g = nn_graph_new(m);
    build_mini_fcos(g, 2, 24, 32, NN_ACT_RELU);
    CHECK(nn_graph_compile(g, NN_INFER, NN_BACKEND_REF, &err) == 0);
    CHECK_EQ_INT(nn_model_param_count(m), count);
    nn_model_param(m, nn_model_find(m, "head.conv.weight"), &p);
    CHECK(p.data == data);
    struct nn_shape s;
    nn_graph_output(g, 2, &s);
    CHECK(s.n == 2 && s.c == 3 && s.h == 6 && s.w == 8);
    nn_graph_free(g);
    nn_model_free(m);
}

/* Gradient of every parameter through the whole graph (reference backend, float API) against
 * central differences of the probe loss. */
static void test_ref_graph_grad(void)
{
    struct nn_model *m = nn_model_new(5);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    build_mini_fcos(g, 2, 16, 16, NN_ACT_SILU);
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_REF, &err) == 0);
    randomize_model(m, 6);
    fill_inputs(g, 7);
    nn_graph_forward(g, &err);
    probe_loss(g, 1);
    CHECK(nn_graph_backward(g, &err) == 0);
    double worst = 0;
    for (int i = 0; i < nn_model_param_count(m); i++) {
        struct nn_param p;
        nn_model_param(m, i, &p);
        if (!p.grad)
            continue;
        double gmax = 1e-3, emax = 0;
        for (size_t k = 0; k < p.numel; k++)
            gmax = fabs(p.grad[k]) > gmax ? fabs(p.grad[k]) : gmax;
        size_t step = p.numel / 12 + 1;
        for (size_t k = 0; k < p.numel; k += step) {
            float save = p.data[k], eps = 3e-3f;
            p.data[k] = save + eps;
            double dp = (double)p.data[k] - save;
            nn_graph_forward(g, &err);
            double lp = probe_loss(g, 0);
            p.data[k] = save - eps;
            double dm = (double)save - p.data[k];
            nn_graph_forward(g, &err);
            double lm = probe_loss(g, 0);
            p.data[k] = save;
            double num = (lp - lm) / (dp + dm);
            emax = fabs(num - p.grad[k]) > emax ? fabs(num - p.grad[k]) : emax;
        }
        if (emax / gmax > 5e-3)
            fprintf(stderr, "%s: grad err %g of %g\n", p.name, emax, gmax);
        worst = emax / gmax > worst ? emax / gmax : worst;
    }
    CHECK(worst < 5e-3);
    nn_graph_free(g);
    nn_model_free(m);
}

static void test_bn_running_stats(void)
{
    struct nn_model *m = nn_model_new(1);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    int x = nn_input(g, 2, 1, 1, 2);
    nn_output(g, nn_batch_norm(g, "bn", x, 1e-5f, 0.5f));
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_REF, &err) == 0);
    float *in = nn_graph_input(g, 0, NULL);
    in[0] = 1, in[1] = 2, in[2] = 3, in[3] = 6; /* mean 3, unbiased var 14/3 */
    nn_graph_forward(g, &err);
    struct nn_param p;
    nn_model_param(m, nn_model_find(m, "bn.running_mean"), &p);
    CHECK_NEAR(p.data[0], 0.5 * 0 + 0.5 * 3, 1e-6);
    nn_model_param(m, nn_model_find(m, "bn.running_var"), &p);
    CHECK_NEAR(p.data[0], 0.5 * 1 + 0.5 * 14.0 / 3, 1e-6);
    const float *y = nn_graph_output(g, 0, NULL);
    CHECK_NEAR(y[3], 3 / sqrt(3.5 + 1e-5), 1e-5);
    nn_graph_free(g);
    nn_model_free(m);
}

/* ---- oneDNN against the reference ---- */

typedef void (*build_fn)(struct nn_graph *g);

static double compare_backends(build_fn build, enum nn_mode mode, uint64_t seed)
{
    struct nn_model *m = nn_model_new(seed);
    struct nn_graph *gr = nn_graph_new(m), *gd = nn_graph_new(m);
    struct base_err err;
    build(gr);
    build(gd);
    int ok = !nn_graph_compile(gr, mode, NN_BACKEND_REF, &err);
    ok = ok && !nn_graph_compile(gd, mode, NN_BACKEND_DNNL, &err);
    if (!ok) {
        fprintf(stderr, "compile: %s\n", err.msg);
        CHECK(ok);
        nn_graph_free(gr);
        nn_graph_free(gd);
        nn_model_free(m);
        return 1;
    }
    randomize_model(m, seed + 1);
    fill_inputs(gr, seed + 2);
    memcpy(nn_graph_input(gd, 0, NULL), nn_graph_input(gr, 0, NULL),
           nn_shape_numel(gr->nodes[gr->inputs[0]].shape) * 4);
    double worst = 0;
    size_t total = m->total;
    float *save = malloc(total * 4 + 4), *gref = malloc(total * 4 + 4);
    memcpy(save, m->data, total * 4);
    nn_graph_forward(gr, &err);
    memcpy(m->data, save, total * 4); /* undo the running statistics update */
    nn_model_touch(m);
    CHECK(nn_graph_forward(gd, &err) == 0);
    for (int o = 0; o < gr->n_outputs; o++) {
        struct nn_shape s;
        const float *a = nn_graph_output(gd, o, &s), *b = nn_graph_output(gr, o, NULL);
        double e = rel_err_f(a, b, nn_shape_numel(s));
        worst = e > worst ? e : worst;
    }
    if (mode == NN_TRAIN) {
        probe_loss(gr, 1);
        probe_loss(gd, 1);
        nn_graph_backward(gr, &err);
        memcpy(gref, m->grad, total * 4);
        memset(m->grad, 0, total * 4);
        if (nn_graph_backward(gd, &err)) {
            fprintf(stderr, "backward: %s\n", err.msg);
            CHECK(0);
        }
        for (int i = 0; i < m->n; i++) {
            if (m->p[i].flags & NN_PARAM_BUFFER)
                continue;
            double e = rel_err_f(nn_model_grad(m, i), gref + m->p[i].offset, m->p[i].numel);
            if (e > 1e-4)
                fprintf(stderr, "  grad %s: rel err %g\n", m->p[i].name, e);
            worst = e > worst ? e : worst;
        }
    }
    free(save);
    free(gref);
    nn_graph_free(gr);
    nn_graph_free(gd);
    nn_model_free(m);
    return worst;
}

static void net_fcos_relu(struct nn_graph *g)
{
    build_mini_fcos(g, 2, 16, 16, NN_ACT_RELU);
}

static void net_fcos_silu(struct nn_graph *g)
{
    build_mini_fcos(g, 2, 24, 16, NN_ACT_SILU);
}

static void net_conv_odd(struct nn_graph *g)
{
    int x = nn_input(g, 3, 5, 13, 11);
    x = nn_conv2d(g, "a", x, &(struct nn_conv2d_cfg){7, 3, 2, 1, 1, 1, 1, 0, 0});
    x = nn_act(g, x, NN_ACT_LEAKY_RELU, 0.1f);
    x = nn_conv2d(g, "b", x, &(struct nn_conv2d_cfg){7, 3, 1, 2, 2, 7, 0, 0, 0});
    x = nn_sigmoid(g, x);
    x = nn_conv2d(g, "c", x, &(struct nn_conv2d_cfg){6, 5, 1, 2, 1, 1, 1, 0, 0});
    x = nn_conv2d(g, "d", x, &(struct nn_conv2d_cfg){4, 1, 1, 0, 1, 2, 1, 0, 0});
    nn_output(g, nn_act(g, x, NN_ACT_EXP, 0));
}

static void net_bn_relu_pool(struct nn_graph *g)
{
    int x = nn_input(g, 4, 3, 15, 15);
    x = nn_conv2d(g, "a", x, &(struct nn_conv2d_cfg){16, 3, 1, 1, 1, 1, 0, 0, 0});
    x = nn_relu(g, nn_batch_norm(g, "a.bn", x, 0, 0));
    x = nn_max_pool2d(g, x, 3, 2, 1);
    int y = nn_conv2d(g, "b", x, &(struct nn_conv2d_cfg){16, 3, 1, 1, 1, 16, 0, 0, 0});
    y = nn_silu(g, nn_batch_norm(g, "b.bn", y, 0, 0));
    y = nn_conv2d(g, "c", y, &(struct nn_conv2d_cfg){16, 1, 1, 0, 1, 1, 0, 0, 0});
    y = nn_batch_norm(g, "c.bn", y, 0, 0);
    x = nn_relu(g, nn_add(g, x, y));
    nn_output(g, x);
    nn_output(g, nn_conv2d(g, "h", x, &(struct nn_conv2d_cfg){5, 3, 1, 1, 1, 1, 1, 0, 0}));
}

/* Odd channel counts through concat (padded lanes), a tensor read by three nodes, an output that
 * is also consumed, a shared conv at two resolutions, GN whose groups split a channel block. */
static void net_odd_concat(struct nn_graph *g)
{
    int x = nn_input(g, 2, 5, 12, 10);
    int a = nn_conv2d(g, "a", x, &(struct nn_conv2d_cfg){3, 3, 1, 1, 1, 1, 1, 0, 0});
    int b = nn_silu(g, nn_conv2d(g, "b", x, &(struct nn_conv2d_cfg){5, 1, 1, 0, 1, 1, 0, 0, 0}));
    int c = nn_relu(g, nn_conv2d(g, "c", x, &(struct nn_conv2d_cfg){7, 3, 1, 1, 1, 1, 0, 0, 0}));
    int cat = nn_concat(g, (int[]){a, b, c}, 3);
    nn_output(g, cat);
    int t = nn_group_norm(g, "gn", cat, 5, 0);
    int u = nn_add(g, nn_scale(g, "s", t, 0.5f), nn_act(g, t, NN_ACT_LEAKY_RELU, 0.2f));
    int v = nn_max_pool2d(g, u, 3, 2, 1);
    v = nn_relu(g, nn_batch_norm(g, "bn_after_pool", v, 0, 0)); /* not foldable into a conv */
    nn_output(g, nn_conv2d(g, "shared", u, &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 1, 1, 0, 0}));
    nn_output(g, nn_conv2d(g, "shared", v, &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 1, 1, 0, 0}));
    nn_output(g, nn_concat(g, (int[]){nn_upsample2x(g, v), t}, 2));
}

/* Residual blocks as the detector's backbone has them: relu(bn(conv(relu(bn(conv(x))))) + x),
 * where the add's first input is used once (its gradient shares the add's buffer) and the ReLU
 * after the add is fused into it. */
static void net_residual(struct nn_graph *g)
{
    int x = nn_input(g, 2, 3, 16, 16);
    x = nn_relu(g, nn_batch_norm(
                       g, "stem.bn",
                       nn_conv2d(g, "stem", x, &(struct nn_conv2d_cfg){8, 3, 2, 1, 1, 1, 0, 0, 0}),
                       0, 0));
    char name[32];
    for (int b = 0; b < 2; b++) {
        snprintf(name, sizeof name, "b%d.a", b);
        int y = nn_conv2d(g, name, x, &(struct nn_conv2d_cfg){8, 3, 1, 1, 1, 1, 0, 0, 0});
        snprintf(name, sizeof name, "b%d.a.bn", b);
        y = nn_relu(g, nn_batch_norm(g, name, y, 0, 0));
        snprintf(name, sizeof name, "b%d.b", b);
        y = nn_conv2d(g, name, y, &(struct nn_conv2d_cfg){8, 3, 1, 1, 1, 1, 0, 0, 0});
        snprintf(name, sizeof name, "b%d.b.bn", b);
        y = nn_batch_norm(g, name, y, 0, 0);
        x = nn_relu(g, nn_add(g, y, x));
    }
    nn_output(g, nn_conv2d(g, "out", x, &(struct nn_conv2d_cfg){3, 1, 1, 0, 1, 1, 1, 0, 0}));
}

/* MobileNetV3's pieces: TensorFlow's SAME padding at stride 2 (pad_end), hard-swish, ReLU6,
 * depthwise convolutions, squeeze-and-excitation (global average pool, 1x1 convs, hard-sigmoid
 * gate, per-channel multiply) with odd channel counts, a frozen stem whose activation fuses in
 * training, and a frozen conv in the middle (input gradients flow through it, weights stay). */
static void net_mobilenet(struct nn_graph *g)
{
    int x = nn_input(g, 2, 3, 16, 16);
    x = nn_act(g, nn_conv2d(g, "stem", x, &(struct nn_conv2d_cfg){12, 3, 2, 0, 1, 1, 1, 1, 1}),
               NN_ACT_HARDSWISH, 0);
    int e = nn_act(g, nn_conv2d(g, "exp", x, &(struct nn_conv2d_cfg){20, 1, 1, 0, 1, 1, 1, 0, 0}),
                   NN_ACT_RELU6, 0);
    int d = nn_conv2d(g, "dw", e, &(struct nn_conv2d_cfg){20, 5, 2, 1, 1, 20, 1, 1, 0});
    d = nn_act(g, d, NN_ACT_HARDSWISH, 0);
    int s = nn_global_avg_pool(g, d);
    s = nn_relu(g, nn_conv2d(g, "se.a", s, &(struct nn_conv2d_cfg){6, 1, 1, 0, 1, 1, 1, 0, 0}));
    s = nn_conv2d(g, "se.b", s, &(struct nn_conv2d_cfg){20, 1, 1, 0, 1, 1, 1, 0, 0});
    s = nn_act(g, s, NN_ACT_HARDSIGMOID, 0);
    d = nn_mul_channel(g, d, s);
    int y = nn_conv2d(g, "proj", d, &(struct nn_conv2d_cfg){11, 1, 1, 0, 1, 1, 1, 0, 1});
    y = nn_act(g, y, NN_ACT_RELU6, 0);
    nn_output(g, nn_conv2d(g, "out", y, &(struct nn_conv2d_cfg){5, 3, 1, 1, 1, 1, 1, 0, 0}));
}

/* A few-channel picture the graph makes itself (the zoo's BlazeFace: a frozen depthwise 2x2 / 2
 * rescaling the input) read by two convolutions, one of them TF's asymmetric SAME padding: such a
 * tensor stays plain NCHW in oneDNN, as the input does. */
static void net_few_channels(struct nn_graph *g)
{
    int x = nn_input(g, 2, 3, 12, 12);
    int p = nn_conv2d(g, "in", x, &(struct nn_conv2d_cfg){3, 2, 2, 0, 1, 3, 1, 0, .frozen = 1});
    int a = nn_conv2d(g, "a", p, &(struct nn_conv2d_cfg){8, 5, 2, 1, 1, 1, 1, 1, 0});
    int b = nn_conv2d(g, "b", p, &(struct nn_conv2d_cfg){4, 1, 2, 0, 1, 1, 1, 0, 0});
    nn_output(g, nn_relu(g, a));
    nn_output(g, b);
}

/* FaceBoxes' pools: TF's SAME max pool at stride 2 on even sizes (none before, one after), at
 * stride 1 (one each side) and at stride 2 on an odd size (one each side), between convs. */
static void net_same_pool(struct nn_graph *g)
{
    int x = nn_input(g, 2, 3, 16, 16);
    x = nn_conv2d(g, "a", x, &(struct nn_conv2d_cfg){10, 3, 1, 1, 1, 1, 1, 0, 0});
    x = nn_max_pool2d_same(g, x, 3, 2);
    int y = nn_max_pool2d_same(g, nn_relu(g, x), 3, 1);
    y = nn_conv2d(g, "b", y, &(struct nn_conv2d_cfg){6, 2, 1, 0, 1, 1, 1, 0, 0}); /* 8 -> 7 */
    nn_output(g, nn_max_pool2d_same(g, y, 3, 2));
    nn_output(g, nn_conv2d(g, "c", x, &(struct nn_conv2d_cfg){4, 1, 1, 0, 1, 1, 1, 0, 0}));
}

/* The SAME max pool by hand on the reference backend: on a 4x4 of negative values the windows
 * start at rows and columns 0 and 2 and the padded cells never win (zeros would).
 * Sizes whose SAME paddings differ are refused. Then oneDNN
 * against the reference, forward and backward. */
static void test_max_pool_same(void)
{
    struct nn_model *m = nn_model_new(5);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    int x = nn_input(g, 1, 1, 4, 4);
    nn_output(g, nn_max_pool2d_same(g, x, 3, 2));
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_REF, &err) == 0);
    float *in = nn_graph_input(g, 0, NULL);
    for (int k = 0; k < 16; k++)
        in[k] = -(float)(k + 1);
    in[5] = 7; /* the maximum of the first window only */
    CHECK(nn_graph_forward(g, &err) == 0);
    struct nn_shape s;
    const float *out = nn_graph_output(g, 0, &s);
    CHECK(s.h == 2 && s.w == 2);
    const float want[4] = {7, -3, -9, -11};
    for (int k = 0; k < 4; k++)
        CHECK(out[k] == want[k]);
    nn_graph_free(g);
    g = nn_graph_new(m); /* SAME keeps the size at stride 1, halves it (rounding up) at 2 */
    x = nn_input(g, 1, 1, 6, 6);
    CHECK(nn_max_pool2d_same(g, x, 3, 1) >= 0 && g->nodes[g->n - 1].shape.h == 6);
    CHECK(nn_max_pool2d_same(g, x, 5, 1) >= 0 && g->nodes[g->n - 1].shape.w == 6);
    CHECK(nn_max_pool2d_same(g, nn_input(g, 1, 1, 7, 7), 3, 2) >= 0 &&
          g->nodes[g->n - 1].shape.h == 4);
    nn_graph_free(g);
    g = nn_graph_new(m);
    CHECK(nn_max_pool2d_same(g, nn_input(g, 1, 1, 5, 4), 3, 2) < 0);
    CHECK(nn_graph_compile(g, NN_INFER, NN_BACKEND_REF, &err) < 0 && strstr(err.msg, "SAME"));
    nn_graph_free(g);
    nn_model_free(m);
    if (!nn_dnnl_backend())
        return;
    for (int mode = NN_TRAIN; mode <= NN_INFER; mode++) {
        double e = compare_backends(net_same_pool, (enum nn_mode)mode, 50 + mode);
        if (e > 1e-4)
            fprintf(stderr, "same pool net, mode %d: rel err %g\n", mode, e);
        CHECK(e < 1e-4);
    }
}

/* A zoo model's head: convolutions, TF's bilinear x2 upsampling (odd channels: padded lanes),
 * concat, sigmoid. Inference only. */
static void net_bilinear(struct nn_graph *g)
{
    int x = nn_input(g, 2, 3, 5, 7);
    int a = nn_conv2d(g, "a", x, &(struct nn_conv2d_cfg){11, 3, 1, 1, 1, 1, 1, 0, 0});
    int u = nn_upsample2x_bilinear(g, nn_relu(g, a));
    int b =
        nn_conv2d(g, "b", nn_upsample2x(g, x), &(struct nn_conv2d_cfg){5, 1, 1, 0, 1, 1, 1, 0, 0});
    nn_output(g, nn_sigmoid(g, nn_concat(g, (int[]){u, b}, 2)));
}

/* The bilinear upsampling by hand on the reference backend (TF's values), against oneDNN, and
 * refused in a training graph whose gradient would cross it. */
static void test_upsample_bilinear(void)
{
    struct nn_model *m = nn_model_new(5);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    nn_output(g, nn_upsample2x_bilinear(g, nn_input(g, 1, 1, 2, 2)));
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_REF, &err) == 0); /* no parameter: fine */
    float *in = nn_graph_input(g, 0, NULL);
    in[0] = 1, in[1] = 3, in[2] = 5, in[3] = 11;
    CHECK(nn_graph_forward(g, &err) == 0);
    const float *y = nn_graph_output(g, 0, NULL);
    /* rows: 1 2 3 3 / 3 5 7 7 / 5 8 11 11 / 5 8 11 11 */
    const float want[16] = {1, 2, 3, 3, 3, 5, 7, 7, 5, 8, 11, 11, 5, 8, 11, 11};
    for (int k = 0; k < 16; k++)
        CHECK(fabsf(y[k] - want[k]) < 1e-6f);
    nn_graph_free(g);
    nn_model_free(m);
    m = nn_model_new(6);
    g = nn_graph_new(m);
    net_bilinear(g);
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_REF, &err) < 0 && strstr(err.msg, "bilinear"));
    nn_graph_free(g);
    nn_model_free(m);
    if (!nn_dnnl_backend())
        return;
    double e = compare_backends(net_bilinear, NN_INFER, 40);
    if (e > 1e-4)
        fprintf(stderr, "bilinear net: rel err %g\n", e);
    CHECK(e < 1e-4);
}

/* A frozen conv's parameters are buffers: no gradient, and the optimizer leaves them alone. */
static void test_frozen_conv(void)
{
    struct nn_model *m = nn_model_new(3);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    net_mobilenet(g);
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_DEFAULT, &err) == 0);
    struct nn_param p;
    nn_model_param(m, nn_model_find(m, "proj.weight"), &p);
    CHECK((p.flags & NN_PARAM_BUFFER) && p.grad == NULL);
    float before = p.data[0];
    struct nn_optim *o = nn_optim_new(m, &(struct nn_optim_cfg){.kind = NN_OPTIM_ADAMW}, &err);
    fill_inputs(g, 1);
    CHECK(nn_graph_forward(g, &err) == 0);
    probe_loss(g, 1);
    CHECK(nn_graph_backward(g, &err) == 0);
    nn_optim_step(o, 0.1f);
    CHECK(p.data[0] == before);
    nn_model_param(m, nn_model_find(m, "exp.weight"), &p);
    CHECK(p.grad != NULL && !(p.flags & NN_PARAM_BUFFER));
    nn_optim_free(o);
    nn_graph_free(g);
    nn_model_free(m);
}

static void test_dnnl_vs_ref(void)
{
    if (!nn_dnnl_backend()) {
        fprintf(stderr, "oneDNN backend not built: skipped\n");
        return;
    }
    build_fn nets[] = {net_fcos_relu,  net_fcos_silu, net_conv_odd,  net_bn_relu_pool,
                       net_odd_concat, net_residual,  net_mobilenet, net_few_channels};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        for (int mode = NN_TRAIN; mode <= NN_INFER; mode++) {
            /* one thread keeps tiny nets fast on a loaded machine; net 0 also runs on two */
            for (int threads = 1; threads <= (i == 0 ? 2 : 1); threads++) {
                nn_set_num_threads(threads);
                double e = compare_backends(nets[i], (enum nn_mode)mode, 10 + i);
                if (e > 1e-4)
                    fprintf(stderr, "net %zu mode %d threads %d: rel err %g\n", i, mode, threads,
                            e);
                CHECK(e < 1e-4);
            }
        }
}

/* Several threads, each with its own inference graph on one shared model, agree with a run on a
 * single thread (the documented way to predict concurrently). */
struct infer_job {
    struct nn_model *m;
    const float *expect;
    size_t n;
    int ok;
};

static void *infer_thread(void *arg)
{
    struct infer_job *j = arg;
    struct nn_graph *g = nn_graph_new(j->m);
    build_mini_fcos(g, 1, 32, 32, NN_ACT_SILU);
    j->ok = !nn_graph_compile(g, NN_INFER, NN_BACKEND_DEFAULT, NULL);
    for (int it = 0; it < 20 && j->ok; it++) {
        fill_inputs(g, 31);
        j->ok = !nn_graph_forward(g, NULL) &&
                rel_err_f(nn_graph_output(g, 2, NULL), j->expect, j->n) < 1e-6;
    }
    nn_graph_free(g);
    return NULL;
}

static void test_threads_share_model(void)
{
    struct nn_model *m = nn_model_new(4);
    struct nn_graph *g = nn_graph_new(m);
    build_mini_fcos(g, 1, 32, 32, NN_ACT_SILU);
    CHECK(nn_graph_compile(g, NN_INFER, NN_BACKEND_DEFAULT, NULL) == 0);
    randomize_model(m, 5);
    fill_inputs(g, 31);
    nn_graph_forward(g, NULL);
    struct nn_shape s;
    const float *ref = nn_graph_output(g, 2, &s);
    struct infer_job jobs[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (struct infer_job){m, ref, nn_shape_numel(s), 0};
        pthread_create(&th[i], NULL, infer_thread, &jobs[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].ok);
    }
    nn_graph_free(g);
    nn_model_free(m);
}

TEST_MAIN(TEST_CASE(test_build_errors), TEST_CASE(test_params_shared_and_reused),
          TEST_CASE(test_ref_graph_grad), TEST_CASE(test_bn_running_stats),
          TEST_CASE(test_frozen_conv), TEST_CASE(test_dnnl_vs_ref),
          TEST_CASE(test_threads_share_model), TEST_CASE(test_upsample_bilinear),
          TEST_CASE(test_max_pool_same))
