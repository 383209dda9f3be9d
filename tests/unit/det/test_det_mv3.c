/* The pretrained backbone of fcos-mv3 against its oracle, TensorFlow.js itself: two raccoon
 * pictures letterboxed to 320 go through the TF.js graph model (tests/oracle/tfjs_run.mjs, the
 * pure-JS CPU backend in node) and through our rebuild on the nn engine, and the three feature
 * maps the FPN reads (strides 8, 16, 32) must agree to 1e-3 of each map's largest value, in
 * inference and in a training graph (where the frozen backbone is computed the same way). Also:
 * the model is normalised as the backbone was trained (raw 0..255), its backbone is frozen, and a
 * saved model loads back without the pretrained file. */
#include "det/det_int.h"
#include "test.h"
#include "tfjs_oracle.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE 320
#define NPIC 2

static const char *const taps[3] = {
    "tower_0/MobilenetV3/expanded_conv_5/expand/Relu",
    "tower_0/MobilenetV3/expanded_conv_11/add",
    "tower_0/extern1/hard_swish/mul_1",
};

/* Letterboxes a picture at the top left of a SIZE x SIZE canvas of DET_PAD grey, raw 0..255,
 * as NCHW (ours) and NHWC (TF.js). */
static int letterbox(const char *path, int k, float *nchw, float *nhwc)
{
    struct image img;
    struct image_info info;
    struct base_err err;
    if (det_read_image(path, SIZE, 0, &img, &info, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    for (int y = 0; y < SIZE; y++)
        for (int x = 0; x < SIZE; x++)
            for (int c = 0; c < 3; c++) {
                float v = y < img.height && x < img.width
                              ? img.pixels[((size_t)y * img.width + x) * 3 + c]
                              : DET_PAD;
                nchw[(((size_t)k * 3 + c) * SIZE + y) * SIZE + x] = v;
                nhwc[(((size_t)k * SIZE + y) * SIZE + x) * 3 + c] = v;
            }
    image_release(&img);
    return 0;
}

/* Largest |ours - tf| over the largest |tf| of one tap (ours NCHW, tf NHWC). */
static double tap_error(const float *ours, struct nn_shape s, const float *tf)
{
    double emax = 0, vmax = 1e-12;
    for (int n = 0; n < s.n; n++)
        for (int c = 0; c < s.c; c++)
            for (int y = 0; y < s.h; y++)
                for (int x = 0; x < s.w; x++) {
                    double a = ours[(((size_t)n * s.c + c) * s.h + y) * s.w + x];
                    double b = tf[(((size_t)n * s.h + y) * s.w + x) * s.c + c];
                    emax = fabs(a - b) > emax ? fabs(a - b) : emax;
                    vmax = fabs(b) > vmax ? fabs(b) : vmax;
                }
    return emax / vmax;
}

static int run_ours(struct det_model *m, enum nn_mode mode, const float *nchw, float *out[3],
                    struct nn_shape shp[3])
{
    struct nn_graph *g = nn_graph_new(m->nn);
    struct base_err err;
    int x = nn_input(g, NPIC, 3, SIZE, SIZE), c[3];
    det_mv3_backbone(g, m->arch, x, c);
    for (int l = 0; l < 3; l++)
        nn_output(g, c[l]);
    int rc = nn_graph_compile(g, mode, NN_BACKEND_DEFAULT, &err);
    if (!rc) {
        memcpy(nn_graph_input(g, 0, NULL), nchw, sizeof(float) * NPIC * 3 * SIZE * SIZE);
        rc = nn_graph_forward(g, &err);
    }
    for (int l = 0; l < 3 && !rc; l++) {
        const float *y = nn_graph_output(g, l, &shp[l]);
        out[l] = malloc(nn_shape_numel(shp[l]) * sizeof(float));
        memcpy(out[l], y, nn_shape_numel(shp[l]) * sizeof(float));
    }
    if (rc)
        fprintf(stderr, "ours: %s\n", err.msg);
    nn_graph_free(g);
    return rc;
}

static void test_backbone_matches_tfjs(void)
{
    const char *names[NPIC] = {"raccoon-1.jpg", "raccoon-100.jpg"};
    float *nchw = malloc(sizeof(float) * NPIC * 3 * SIZE * SIZE);
    float *nhwc = malloc(sizeof(float) * NPIC * 3 * SIZE * SIZE);
    char path[1024];
    for (int k = 0; k < NPIC; k++) {
        snprintf(path, sizeof path, "%s/datasets/raccoon/images/%s", test_shared_dir(), names[k]);
        CHECK(letterbox(path, k, nchw, nhwc) == 0);
    }
    struct base_err err;
    const char *cls[] = {"raccoon"};
    struct det_model *m = det_model_new("fcos-mv3", cls, 1, SIZE, 1, &err);
    if (!m)
        fprintf(stderr, "fcos-mv3: %s\n", err.msg);
    CHECK(m != NULL);
    size_t count = 0;
    float *tf = tfjs_oracle_run("centernet", nhwc, NPIC, SIZE, taps, 3, &count);
    CHECK(tf != NULL);
    for (int mode = NN_TRAIN; m && tf && mode <= NN_INFER; mode++) {
        float *ours[3] = {0};
        struct nn_shape shp[3];
        CHECK(run_ours(m, (enum nn_mode)mode, nchw, ours, shp) == 0);
        size_t off = 0;
        int expect_c[3] = {96, 88, 480}, expect_hw[3] = {40, 20, 10};
        for (int l = 0; l < 3 && ours[l]; l++) {
            CHECK(shp[l].c == expect_c[l] && shp[l].h == expect_hw[l] && shp[l].w == expect_hw[l]);
            CHECK(off + nn_shape_numel(shp[l]) <= count);
            double e =
                off + nn_shape_numel(shp[l]) <= count ? tap_error(ours[l], shp[l], tf + off) : 1;
            fprintf(stderr, "mode %s, stride %d: max error %.2e of the map's largest value\n",
                    mode == NN_TRAIN ? "train" : "infer", 8 << l, e);
            CHECK(e < 1e-3);
            off += nn_shape_numel(shp[l]);
            free(ours[l]);
        }
    }
    free(tf);
    det_model_free(m);
    free(nchw);
    free(nhwc);
}

/* Raw RGB in, frozen backbone, a round trip through a file that needs no pretrained file. */
static void test_model_facts(void)
{
    struct base_err err;
    const char *cls[] = {"a", "b"};
    struct det_model *m = det_model_new("fcos-mv3", cls, 2, SIZE, 3, &err);
    CHECK(m != NULL);
    if (!m)
        return;
    const struct det_model_info *in = det_model_info(m);
    CHECK(in->mean[0] == 0 && fabsf(in->std[1] * 255 - 1) < 1e-6f);
    struct nn_param p;
    nn_model_param(m->nn, nn_model_find(m->nn, "backbone.b5.expand.weight"), &p);
    CHECK(p.flags & NN_PARAM_BUFFER);
    float w = p.data[7];
    char path[] = "/tmp/ll-test-mv3-model.XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(det_model_save(m, path, &err) == 0);
    char *saved = getenv("LL_MODEL_DIR") ? base_strdup(getenv("LL_MODEL_DIR")) : NULL;
    setenv("LL_MODEL_DIR", "/nonexistent", 1);
    struct det_model *back = det_model_load(path, &err);
    CHECK(back != NULL);
    if (back) {
        nn_model_param(back->nn, nn_model_find(back->nn, "backbone.b5.expand.weight"), &p);
        CHECK(p.data[7] == w);
        CHECK(!strcmp(det_model_info(back)->arch, "fcos-mv3"));
    }
    /* a new model does need it, and says where it looked */
    struct det_model *none = det_model_new("fcos-mv3", cls, 2, SIZE, 3, &err);
    CHECK(none == NULL && err.status == BASE_E_NOTFOUND && strstr(err.msg, "install"));
    if (saved)
        setenv("LL_MODEL_DIR", saved, 1);
    base_free(saved);
    det_model_free(back);
    det_model_free(m);
    unlink(path);
}

/* The default architecture trains from its pretrained start when the warm-start model is of
 * another architecture (a project of the loop trained before the default changed); asked for
 * explicitly, the mismatch stays an error. */
static void test_default_drops_foreign_init(void)
{
    struct base_err err;
    const char *cls[] = {"raccoon"};
    struct det_model *old = det_model_new("fcos-t", cls, 1, 64, 1, &err);
    char path[] = "/tmp/ll-test-mv3-init.XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(old && det_model_save(old, path, &err) == 0);
    struct det_dataset *d = det_dataset_new(cls, 1, &err);
    char img[1024];
    for (int i = 1; i <= 2; i++) {
        snprintf(img, sizeof img, "%s/datasets/raccoon/images/raccoon-%d.jpg", test_shared_dir(),
                 i);
        struct det_box b = {20, 20, 200, 200, 0, 1};
        det_dataset_add(d, img, 0, 0, &b, 1, &err);
    }
    struct det_model *m = NULL;
    struct det_train_opts o = {.input_size = 64, .epochs = 1, .init_path = path};
    CHECK(det_train(d, NULL, &o, &m, &err) == 0);
    CHECK(m && !strcmp(det_model_info(m)->arch, DET_DEFAULT_ARCH));
    det_model_free(m);
    m = NULL;
    o.arch = DET_DEFAULT_ARCH;
    CHECK(det_train(d, NULL, &o, &m, &err) < 0 && strstr(err.msg, "cannot seed"));
    det_dataset_free(d);
    det_model_free(old);
    unlink(path);
}

TEST_MAIN(TEST_CASE(test_backbone_matches_tfjs), TEST_CASE(test_model_facts),
          TEST_CASE(test_default_drops_foreign_init))
