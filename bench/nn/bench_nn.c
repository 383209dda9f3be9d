/* bench/nn: times one training step (forward + backward) of a network on our oneDNN backend and
 * exports the identical network (weights, inputs) for the PyTorch side of bench/nn/run.sh.
 * Usage: bench_nn NET ITERS EXPORT_PATH [infer]; NET is conv1, conv3x3, dwsep or detector. Prints
 * `ours_ms=... gflops=... threads=... params=... mem_mb=... faults_per_step=...`. */
#include "nn/nn_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int cbr(struct nn_graph *g, const char *name, int x, int out, int k, int s, int groups)
{
    char bn[80];
    snprintf(bn, sizeof bn, "%s.bn", name);
    x = nn_conv2d(g, name, x, &(struct nn_conv2d_cfg){out, k, s, k / 2, 1, groups, 0, 0, 0});
    return nn_relu(g, nn_batch_norm(g, bn, x, 0, 0));
}

static void net_conv3x3(struct nn_graph *g)
{
    int x = nn_input(g, 8, 64, 80, 80);
    char name[32];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "c%d", i);
        x = cbr(g, name, x, 64, 3, 1, 1);
    }
    nn_output(g, x);
}

/* One 3x3 convolution 64->64 at batch 8, 80x80, behind a learnable scale so that its backward
 * computes data and weight gradients: the machine's oneDNN convolution throughput right now. */
static void net_conv1(struct nn_graph *g)
{
    int x = nn_scale(g, "s", nn_input(g, 8, 64, 80, 80), 1.0f);
    nn_output(g, nn_conv2d(g, "c", x, &(struct nn_conv2d_cfg){64, 3, 1, 1, 1, 1, 0, 0, 0}));
}

static void net_dwsep(struct nn_graph *g)
{
    int x = nn_input(g, 8, 64, 80, 80);
    char name[32];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "dw%d", i);
        x = cbr(g, name, x, 64, 3, 1, 64);
        snprintf(name, sizeof name, "pw%d", i);
        x = cbr(g, name, x, 64, 1, 1, 1);
    }
    nn_output(g, x);
}

/* A compact FCOS at 320x320: depthwise-separable backbone to stride 32, FPN with 64 channels at
 * strides 8/16/32, a shared head of two GN conv towers with per-level scales. */
static void net_detector(struct nn_graph *g, int batch)
{
    static const int blocks[][2] = {{32, 1}, {48, 2},  {48, 1},  {96, 2},
                                    {96, 1}, {160, 2}, {160, 1}, {256, 2}};
    int x = cbr(g, "stem", nn_input(g, batch, 3, 320, 320), 16, 3, 2, 1), ch = 16, c[3], nc = 0;
    char name[64];
    for (int b = 0; b < 8; b++) {
        snprintf(name, sizeof name, "b%d.dw", b);
        x = cbr(g, name, x, ch, 3, blocks[b][1], ch);
        snprintf(name, sizeof name, "b%d.pw", b);
        x = cbr(g, name, x, blocks[b][0], 1, 1, 1);
        ch = blocks[b][0];
        if (b == 4 || b == 6)
            c[nc++] = x;
    }
    c[2] = x;
    int p[3], top = -1;
    for (int l = 2; l >= 0; l--) {
        snprintf(name, sizeof name, "fpn.lat%d", l);
        int lat = nn_conv2d(g, name, c[l], &(struct nn_conv2d_cfg){64, 1, 1, 0, 1, 1, 1, 0, 0});
        top = top < 0 ? lat : nn_add(g, lat, nn_upsample2x(g, top));
        snprintf(name, sizeof name, "fpn.out%d", l);
        p[l] = nn_conv2d(g, name, top, &(struct nn_conv2d_cfg){64, 3, 1, 1, 1, 1, 1, 0, 0});
    }
    for (int l = 0; l < 3; l++) {
        int t[2] = {p[l], p[l]};
        for (int tw = 0; tw < 2; tw++)
            for (int i = 0; i < 2; i++) {
                snprintf(name, sizeof name, "head.%s%d", tw ? "reg" : "cls", i);
                t[tw] =
                    nn_conv2d(g, name, t[tw], &(struct nn_conv2d_cfg){64, 3, 1, 1, 1, 1, 0, 0, 0});
                snprintf(name, sizeof name, "head.%s%d.gn", tw ? "reg" : "cls", i);
                t[tw] = nn_relu(g, nn_group_norm(g, name, t[tw], 16, 0));
            }
        nn_output(
            g, nn_conv2d(g, "head.cls", t[0], &(struct nn_conv2d_cfg){1, 3, 1, 1, 1, 1, 1, 0, 0}));
        int r = nn_conv2d(g, "head.reg", t[1], &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 1, 1, 0, 0});
        snprintf(name, sizeof name, "head.scale%d", l);
        nn_output(g, nn_relu(g, nn_scale(g, name, r, 1.0f)));
        nn_output(
            g, nn_conv2d(g, "head.ctr", t[1], &(struct nn_conv2d_cfg){1, 3, 1, 1, 1, 1, 1, 0, 0}));
    }
}

static int build(struct nn_graph *g, const char *net, int infer)
{
    if (!strcmp(net, "conv3x3"))
        net_conv3x3(g);
    else if (!strcmp(net, "conv1"))
        net_conv1(g);
    else if (!strcmp(net, "dwsep"))
        net_dwsep(g);
    else if (!strcmp(net, "detector"))
        net_detector(g, infer ? 1 : 8);
    else
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_nn conv1|conv3x3|dwsep|detector ITERS EXPORT_PATH [infer]\n");
        return 2;
    }
    int iters = atoi(argv[2]), infer = argc > 4 && !strcmp(argv[4], "infer");
    struct nn_model *m = nn_model_new(1);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    if (build(g, argv[1], infer) ||
        nn_graph_compile(g, infer ? NN_INFER : NN_TRAIN, NN_BACKEND_DNNL, &err)) {
        fprintf(stderr, "bench_nn: %s\n", err.msg);
        return 1;
    }
    struct base_rng rng;
    base_rng_seed(&rng, 2);
    struct nn_shape s;
    float *in = nn_graph_input(g, 0, &s);
    for (size_t i = 0; i < nn_shape_numel(s); i++)
        in[i] = (float)base_rng_normal(&rng);
    for (int o = 0; !infer && o < g->n_outputs; o++) {
        nn_graph_output(g, o, &s);
        float *d = nn_graph_output_grad(g, o);
        for (size_t i = 0; i < nn_shape_numel(s); i++)
            d[i] = 1.0f;
    }
    struct nn_model *before = nn_model_clone(m);
    double *t = calloc((size_t)iters + 2, sizeof *t);
    struct rusage ru0, ru1;
    for (int it = 0; it < iters + 2; it++) {
        if (it == 2) /* page faults in the timed steps: planned memory means none */
            getrusage(RUSAGE_SELF, &ru0);
        double t0 = base_now();
        if (nn_graph_forward(g, &err) || (!infer && nn_graph_backward(g, &err))) {
            fprintf(stderr, "bench_nn: %s\n", err.msg);
            return 1;
        }
        t[it] = base_now() - t0;
    }
    getrusage(RUSAGE_SELF, &ru1);
    /* median of the timed iterations (the first two warm up) */
    for (int i = 2; i < iters + 2; i++)
        for (int j = i + 1; j < iters + 2; j++)
            if (t[j] < t[i]) {
                double x = t[i];
                t[i] = t[j];
                t[j] = x;
            }
    double ms = 1000 * t[2 + iters / 2], flops = nn_graph_flops(g) * (infer ? 1 : 3);
    if (nn_debug_export(g, argv[3], before, 0, &err)) {
        fprintf(stderr, "bench_nn: %s\n", err.msg);
        return 1;
    }
    printf("ours_ms=%.2f gflops=%.1f threads=%d params=%zu mem_mb=%.0f faults_per_step=%.0f\n", ms,
           flops / ms / 1e6, nn_num_threads(), nn_model_numel(m), (double)nn_graph_memory(g) / 1e6,
           (double)(ru1.ru_minflt - ru0.ru_minflt) / iters);
    free(t);
    nn_model_free(before);
    nn_graph_free(g);
    nn_model_free(m);
    return 0;
}
