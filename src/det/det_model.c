/* The FCOS network on the nn engine and the model around it: the architecture table, building
 * the graph, initialisation (FCOS's: Kaiming convolutions, small normal heads, a focal-loss prior
 * on the class bias), and the model's facts. */
#include "det_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const int det_strides[DET_NLEVELS] = {8, 16, 32};
const float det_ranges[DET_NLEVELS - 1] = {64, 128};

static const struct det_arch archs[] = {
    /* name    stem  widths (s4..s32)   blocks     fpn head gn  lr */
    {"fcos-s", 16, {32, 64, 128, 256}, {0, 1, 1, 1}, 48, 1, 8, 0.02f, 0, 0, 0},
    {"fcos-m", 24, {32, 64, 128, 256}, {1, 1, 1, 1}, 64, 2, 16, 0.02f, 0, 0, 0},
    /* a few MFLOPs: for tests that must train in seconds */
    {"fcos-t", 8, {16, 16, 32, 32}, {0, 1, 1, 1}, 32, 1, 8, 0.02f, 0, 0, 0},
    /* COCO-pretrained MobileNetV3 (det_mv3.c), kept frozen, under fcos-s's FPN and head */
    {"fcos-mv3", 0, {0}, {0}, 48, 1, 8, 0.02f, 1, 1, 0},
    /* the same backbone fine-tuned with the rest */
    {"fcos-mv3-ft", 0, {0}, {0}, 48, 1, 8, 0.02f, 1, 0, 0},
};
#define NARCHS (sizeof archs / sizeof archs[0])

const char *const *det_arch_names(void)
{
    static const char *names[NARCHS + 1];
    for (size_t i = 0; i < NARCHS; i++)
        names[i] = archs[i].name;
    return names;
}

int det_arch_known(const char *name)
{
    return det_find_arch(name) != NULL;
}

const struct det_arch *det_find_arch(const char *name)
{
    for (size_t i = 0; i < NARCHS; i++)
        if (!strcmp(archs[i].name, name))
            return &archs[i];
    return NULL;
}

/* Parameter names are short and built from fixed parts; a too long one is a bug. */
static const char *pname(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *pname(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, NN_NAME_MAX, fmt, ap);
    va_end(ap);
    BASE_ASSERT(n > 0 && n < NN_NAME_MAX);
    return out;
}

/* ---- layers -----------------------------------------------------------------------------------
 */

static int conv(struct nn_graph *g, const char *name, int x, int out, int k, int stride, int bias)
{
    struct nn_conv2d_cfg c = {
        .out_ch = out, .kernel = k, .stride = stride, .pad = k / 2, .bias = bias};
    return nn_conv2d(g, name, x, &c);
}

/* conv (no bias) + batch norm [+ ReLU] */
static int cbr(struct nn_graph *g, const char *name, int x, int out, int k, int stride, int relu)
{
    char n[NN_NAME_MAX];
    pname(n, "%s.conv", name);
    x = conv(g, n, x, out, k, stride, 0);
    pname(n, "%s.bn", name);
    x = nn_batch_norm(g, n, x, 0, 0);
    return relu ? nn_relu(g, x) : x;
}

static int basic_block(struct nn_graph *g, const char *name, int x, int ch)
{
    char n[NN_NAME_MAX];
    pname(n, "%s.a", name);
    int y = cbr(g, n, x, ch, 3, 1, 1);
    pname(n, "%s.b", name);
    y = cbr(g, n, y, ch, 3, 1, 0);
    return nn_relu(g, nn_add(g, y, x));
}

/* Returns the outputs at strides 8, 16, 32 in c[0..2]. */
static void backbone(struct nn_graph *g, const struct det_arch *a, int x, int c[3])
{
    char n[NN_NAME_MAX];
    x = cbr(g, "backbone.stem", x, a->stem, 3, 2, 1);
    for (int s = 0; s < 4; s++) {
        pname(n, "backbone.s%d.down", s);
        x = cbr(g, n, x, a->width[s], 3, 2, 1);
        for (int b = 0; b < a->blocks[s]; b++) {
            pname(n, "backbone.s%d.block%d", s, b);
            x = basic_block(g, n, x, a->width[s]);
        }
        if (s >= 1)
            c[s - 1] = x;
    }
}

/* FPN: 1x1 laterals, top-down nearest upsampling and sums, 3x3 smoothing. */
static void neck(struct nn_graph *g, const struct det_arch *a, const int c[3], int p[3])
{
    char n[NN_NAME_MAX];
    int lat[3];
    for (int l = 2; l >= 0; l--) {
        pname(n, "neck.lateral%d", l);
        lat[l] = conv(g, n, c[l], a->fpn, 1, 1, 1);
        if (l < 2)
            lat[l] = nn_add(g, lat[l], nn_upsample2x(g, lat[l + 1]));
    }
    for (int l = 0; l < 3; l++) {
        pname(n, "neck.out%d", l);
        p[l] = conv(g, n, lat[l], a->fpn, 3, 1, 1);
    }
}

static int tower(struct nn_graph *g, const struct det_arch *a, const char *name, int x)
{
    char n[NN_NAME_MAX];
    for (int i = 0; i < a->head_convs; i++) {
        pname(n, "head.%s%d.conv", name, i);
        x = conv(g, n, x, a->fpn, 3, 1, 1);
        pname(n, "head.%s%d.gn", name, i);
        x = nn_relu(g, nn_group_norm(g, n, x, a->gn_groups, 0));
    }
    return x;
}

static void head(struct nn_graph *g, const struct det_model *m, int l, int p)
{
    const struct det_arch *a = m->arch;
    char n[NN_NAME_MAX];
    int tc = tower(g, a, "cls", p), tr = tower(g, a, "reg", p);
    nn_output(g, conv(g, "head.cls_out", tc, m->info.nclasses, 3, 1, 1));
    pname(n, "head.scale%d", l);
    int reg = nn_scale(g, n, conv(g, "head.reg_out", tr, 4, 3, 1, 1), 1.0f);
    nn_output(g, nn_act(g, reg, NN_ACT_EXP, 0));
    nn_output(g, conv(g, "head.ctr_out", tr, 1, 3, 1, 1));
}

int det_build(const struct det_model *m, struct nn_graph *g, int n, int size)
{
    if (m->arch->zoo)
        return det_zoo_build(m, g, n, size);
    int x = nn_input(g, n, 3, size, size), c[3], p[3];
    if (m->arch->mv3)
        det_mv3_backbone(g, m->arch, x, c);
    else
        backbone(g, m->arch, x, c);
    neck(g, m->arch, c, p);
    for (int l = 0; l < DET_NLEVELS; l++)
        head(g, m, l, p[l]);
    return x < 0 ? -1 : 0;
}

void det_model_geom(const struct det_model *m, int size, struct det_geom *g)
{
    (void)m;
    det_geom_init(g, size, size, DET_NLEVELS, det_strides, det_ranges, DET_RADIUS);
}

/* ---- initialisation ---------------------------------------------------------------------------
 */

static int is_head_out(const char *name)
{
    return !strncmp(name, "head.", 5) && strstr(name, ".weight") &&
           (strstr(name, "_out") || strstr(name, ".conv"));
}

static int init_weights(struct det_model *dm, uint64_t seed, struct base_err *err)
{
    struct nn_model *m = dm->nn;
    struct base_rng rng;
    base_rng_seed(&rng, seed ^ 0x5EEDull);
    int rc = 0;
    for (int i = 0; i < nn_model_param_count(m) && !rc; i++) {
        struct nn_param p;
        nn_model_param(m, i, &p);
        if (p.ndim != 4 || !strstr(p.name, ".weight"))
            continue;
        if (is_head_out(p.name))
            rc = nn_param_init_normal(m, p.name, 0.0f, 0.01f, &rng, err);
        else
            rc = nn_param_init_kaiming(m, p.name, 1, &rng, err);
    }
    if (!rc)
        rc = nn_param_fill(m, "head.cls_out.bias", nn_prior_bias(0.01f), err);
    return rc;
}

/* ---- the model --------------------------------------------------------------------------------
 */

static void set_classes(struct det_model *m, const char *const *classes, int n)
{
    m->classes = base_calloc((size_t)n + 1, sizeof *m->classes);
    for (int i = 0; i < n; i++)
        m->classes[i] = base_strdup(classes[i]);
    m->info.classes = (const char *const *)m->classes;
    m->info.nclasses = n;
}

struct det_model *det_model_create(const struct det_arch *a, const char *const *classes,
                                   int nclasses, int size, uint64_t seed, struct base_err *err)
{
    if (size < DET_MIN_SIZE || size > DET_MAX_SIZE || size % 32) {
        base_err_set(err, BASE_E_INVALID, "input size %d is not a multiple of 32 in [%d, %d]", size,
                     DET_MIN_SIZE, DET_MAX_SIZE);
        return NULL;
    }
    if (det_check_classes(classes, nclasses, err))
        return NULL;
    struct det_model *m = base_calloc(1, sizeof *m);
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    /* the pretrained backbone reads raw RGB 0..255: (pixel / 255 - 0) / (1 / 255) */
    static const float raw_mean[3] = {0, 0, 0}, raw_std[3] = {1 / 255.0f, 1 / 255.0f, 1 / 255.0f};
    m->arch = a;
    m->nn = nn_model_new(seed);
    set_classes(m, classes, nclasses);
    m->info.arch = a->name;
    m->info.input_size = size;
    memcpy(m->info.mean, a->mv3 || a->zoo ? raw_mean : mean, sizeof mean);
    memcpy(m->info.std, a->mv3 || a->zoo ? raw_std : std, sizeof std);
    m->info.data_fingerprint = m->fingerprint;
    m->info.val_ap = m->info.val_ap50 = -1;
    /* building declares the parameters; no kernels are needed to allocate them */
    struct nn_graph *g = nn_graph_new(m->nn);
    int rc = det_build(m, g, 1, size);
    if (rc)
        nn_graph_compile(g, NN_INFER, NN_BACKEND_REF, err); /* reports the building error */
    else
        rc = nn_model_alloc(m->nn, err);
    m->info.gflops = nn_graph_flops(g) / 1e9;
    nn_graph_free(g);
    if (!rc && !a->zoo) /* a zoo model's weights are all loaded */
        rc = init_weights(m, seed, err);
    m->info.params = nn_model_numel(m->nn);
    if (rc) {
        det_model_free(m);
        return NULL;
    }
    return m;
}

struct det_model *det_model_new(const char *arch, const char *const *classes, int nclasses,
                                int input_size, uint64_t seed, struct base_err *err)
{
    const struct det_arch *a = det_find_arch(arch ? arch : DET_DEFAULT_ARCH);
    if (!a) {
        base_err_set(err, BASE_E_INVALID, "unknown architecture '%s'", arch);
        return NULL;
    }
    struct det_model *m = det_model_create(a, classes, nclasses, input_size, seed, err);
    char path[4096];
    if (m && a->mv3 &&
        (det_zoo_path(DET_MV3_FILE, path, sizeof path, err) || det_mv3_load(m, path, err))) {
        det_model_free(m);
        return NULL;
    }
    return m;
}

void det_model_free(struct det_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->info.nclasses; i++)
        base_free(m->classes[i]);
    base_free(m->classes);
    base_free(m->zoo_map);
    nn_model_free(m->nn);
    base_free(m);
}

const struct det_model_info *det_model_info(const struct det_model *m)
{
    return &m->info;
}
