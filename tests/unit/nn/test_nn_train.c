/* The training kit: losses against finite differences and known values, optimizer updates against
 * PyTorch's formulas written out by hand, clipping, schedules, EMA, and a small CNN that learns a
 * synthetic dense-prediction task in a few seconds. */
#include "nn_test_util.h"

#include <stdlib.h>

typedef double (*loss_fn)(const float *x, const float *aux, size_t n, float *grad);

/* Central differences of a loss over float inputs (the perturbation actually applied is used). */
static double loss_fd(loss_fn f, float *x, const float *aux, size_t n)
{
    float *g = calloc(n, sizeof *g);
    f(x, aux, n, g);
    double gmax = 1e-6, emax = 0;
    for (size_t i = 0; i < n; i++) {
        float save = x[i];
        x[i] = save + 1e-3f;
        double d = (double)x[i] - save;
        double lp = f(x, aux, n, NULL);
        x[i] = save - 1e-3f;
        d += (double)save - x[i];
        double lm = f(x, aux, n, NULL);
        x[i] = save;
        double num = (lp - lm) / d, e = fabs(num - g[i]);
        emax = e > emax ? e : emax;
        gmax = fabs(g[i]) > gmax ? fabs(g[i]) : gmax;
    }
    free(g);
    return emax / gmax;
}

static double focal(const float *x, const float *t, size_t n, float *g)
{
    return nn_loss_sigmoid_focal(x, t, n, 0.25f, 2.0f, 0.5f, g);
}

static double qfocal(const float *x, const float *t, size_t n, float *g)
{
    return nn_loss_quality_focal(x, t, n, 2.0f, 0.5f, g);
}

static double bce(const float *x, const float *t, size_t n, float *g)
{
    return nn_loss_bce_logits(x, t, t + n, n, 0.5f, g);
}

static double l1(const float *x, const float *t, size_t n, float *g)
{
    return nn_loss_l1(x, t, NULL, n, 2.0f, g);
}

static enum nn_iou_kind iou_kind;
static enum nn_box_fmt iou_fmt;

static double iou(const float *x, const float *t, size_t n, float *g)
{
    return nn_loss_iou(x, t, t + n, n / 4, iou_kind, iou_fmt, 1.0f, g);
}

static void test_loss_grads(void)
{
    struct base_rng rng;
    base_rng_seed(&rng, 2);
    float x[64], t[128];
    fill_uniform_f(&rng, x, 64, -4, 4);
    for (int i = 0; i < 64; i++)
        t[i] = i % 3 == 0 ? 1.0f : i % 3 == 1 ? 0.0f : 0.3f;
    fill_uniform_f(&rng, t + 64, 64, 0, 2);
    CHECK(loss_fd(focal, x, t, 64) < 1e-3);
    CHECK(loss_fd(qfocal, x, t, 64) < 1e-3);
    CHECK(loss_fd(bce, x, t, 64) < 1e-3);
    for (int i = 0; i < 64; i++)
        if (fabs(x[i] - t[i]) < 0.01)
            x[i] += 0.1f;
    CHECK(loss_fd(l1, x, t, 64) < 1e-3);
    /* 16 box pairs: ltrb distances in (0.5, 3), xyxy boxes made valid */
    float p[64], b[80];
    for (int fmt = NN_BOX_XYXY; fmt <= NN_BOX_LTRB; fmt++)
        for (int kind = NN_IOU_LINEAR; kind <= NN_IOU_GIOU; kind++) {
            fill_uniform_f(&rng, p, 64, 0.5, 3);
            fill_uniform_f(&rng, b, 80, 0.5, 3);
            if (fmt == NN_BOX_XYXY)
                for (int i = 0; i < 16; i++) {
                    p[i * 4 + 2] += p[i * 4] + 0.2f;
                    p[i * 4 + 3] += p[i * 4 + 1] + 0.2f;
                    for (int k = 0; k < 4; k++) /* overlapping, away from kinks */
                        b[i * 4 + k] = p[i * 4 + k] + (b[i * 4 + k] < 1.75f ? -0.1f : 0.1f);
                }
            iou_kind = (enum nn_iou_kind)kind;
            iou_fmt = (enum nn_box_fmt)fmt;
            double e = loss_fd(iou, p, b, 64);
            if (e > 2e-3)
                fprintf(stderr, "iou kind %d fmt %d: %g\n", kind, fmt, e);
            CHECK(e < 2e-3);
        }
}

static void test_loss_values(void)
{
    float x = 0.0f, t1 = 1.0f, t0 = 0.0f, g;
    /* BCE at logit 0 is log 2 whatever the target; gradient sigmoid(0) - t */
    CHECK_NEAR(nn_loss_bce_logits(&x, &t1, NULL, 1, 1.0f, &g), log(2.0), 1e-7);
    CHECK_NEAR(g, -0.5, 1e-7);
    /* focal at p = 0.5, target 1, alpha .25, gamma 2: .25 * .25 * log 2 */
    CHECK_NEAR(nn_loss_sigmoid_focal(&x, &t1, 1, 0.25f, 2.0f, 1.0f, NULL), 0.0625 * log(2.0), 1e-7);
    CHECK_NEAR(nn_loss_sigmoid_focal(&x, &t0, 1, 0.25f, 2.0f, 1.0f, NULL), 0.1875 * log(2.0), 1e-7);
    /* quality focal: binary targets give the focal loss without alpha; soft target 0.3 at
     * p = 0.5: 0.2^2 * BCE(0, 0.3) = 0.04 log 2 */
    float xs[3] = {-1.5f, 0.7f, 2.5f}, ts[3] = {1.0f, 0.0f, 1.0f}, t3 = 0.3f;
    CHECK_NEAR(nn_loss_quality_focal(xs, ts, 3, 2.0f, 1.0f, NULL),
               nn_loss_sigmoid_focal(xs, ts, 3, -1.0f, 2.0f, 1.0f, NULL), 1e-7);
    CHECK_NEAR(nn_loss_quality_focal(&x, &t3, 1, 2.0f, 1.0f, NULL), 0.04 * log(2.0), 1e-7);
    /* extreme logits stay finite */
    float big[2] = {200.0f, -200.0f}, tt[2] = {0.0f, 1.0f}, gg[2];
    double L = nn_loss_bce_logits(big, tt, NULL, 2, 1.0f, gg);
    CHECK(isfinite(L) && fabs(L - 400.0) < 1e-3 && gg[0] == 1.0f && gg[1] == -1.0f);
    CHECK(isfinite(nn_loss_sigmoid_focal(big, tt, 2, 0.25f, 2.0f, 1.0f, gg)));
    /* identical boxes: IoU 1, GIoU 1; disjoint: GIoU negative */
    float a[4] = {0, 0, 2, 2}, b[4] = {0, 0, 2, 2}, c[4] = {3, 0, 5, 2};
    CHECK_NEAR(nn_loss_iou(a, b, NULL, 1, NN_IOU_GIOU, NN_BOX_XYXY, 1.0f, NULL), 0.0, 1e-5);
    CHECK_NEAR(nn_loss_iou(a, c, NULL, 1, NN_IOU_GIOU, NN_BOX_XYXY, 1.0f, NULL), 1.0 + 1.0 / 5,
               1e-5);
    CHECK_NEAR(nn_loss_iou(a, c, NULL, 1, NN_IOU_LINEAR, NN_BOX_XYXY, 1.0f, NULL), 1.0, 1e-6);
    /* ltrb (1,1,1,1) vs (1,1,3,1): boxes 2x2 and 4x2 sharing the left part: IoU 0.5 */
    float l1b[4] = {1, 1, 1, 1}, l2b[4] = {1, 1, 3, 1};
    CHECK_NEAR(nn_loss_iou(l1b, l2b, NULL, 1, NN_IOU_LINEAR, NN_BOX_LTRB, 1.0f, NULL), 0.5, 1e-6);
}

/* A model with one weight [2] and one bias [2] (no decay) built through a conv graph. */
static struct nn_model *tiny_model(void)
{
    struct nn_model *m = nn_model_new(1);
    struct nn_graph *g = nn_graph_new(m);
    int x = nn_input(g, 1, 1, 1, 1);
    nn_output(g, nn_conv2d(g, "c", x, &(struct nn_conv2d_cfg){2, 1, 1, 0, 1, 1, 1, 0, 0}));
    nn_graph_compile(g, NN_TRAIN, NN_BACKEND_REF, NULL);
    nn_graph_free(g);
    return m;
}

static void set_wg(struct nn_model *m, float w, float gw, float b, float gb)
{
    struct nn_param p;
    nn_model_param(m, 0, &p);
    p.data[0] = p.data[1] = w;
    p.grad[0] = p.grad[1] = gw;
    nn_model_param(m, 1, &p);
    p.data[0] = p.data[1] = b;
    p.grad[0] = p.grad[1] = gb;
}

static void test_sgd(void)
{
    struct nn_model *m = tiny_model();
    struct nn_optim *o =
        nn_optim_new(m, &(struct nn_optim_cfg){NN_OPTIM_SGD, 0.9f, 1, 0.1f, 0, 0, 0}, NULL);
    set_wg(m, 1.0f, 0.5f, 1.0f, 0.5f);
    nn_optim_step(o, 0.1f);
    /* weight: d = .5 + .1 * 1 = .6, buf = .6, nesterov d + .9 buf = 1.14 -> 1 - .114 */
    struct nn_param w, b;
    nn_model_param(m, 0, &w);
    nn_model_param(m, 1, &b);
    CHECK_NEAR(w.data[0], 0.886, 1e-6);
    CHECK_NEAR(b.data[0], 1.0 - 0.1 * (0.5 + 0.45), 1e-6); /* no decay on bias */
    /* second step, grad .5: weight d = .5 + .1 * .886 = .5886; buf = .9 * .6 + .5886 */
    nn_optim_step(o, 0.1f);
    double d = 0.5 + 0.1 * 0.886, buf = 0.9 * 0.6 + d;
    CHECK_NEAR(w.data[0], 0.886 - 0.1 * (d + 0.9 * buf), 1e-6);
    nn_optim_free(o);
    nn_model_free(m);
}

static void test_adamw(void)
{
    struct nn_model *m = tiny_model();
    struct nn_optim *o = nn_optim_new(
        m, &(struct nn_optim_cfg){NN_OPTIM_ADAMW, 0, 0, 0.05f, 0.9f, 0.999f, 1e-8f}, NULL);
    set_wg(m, 1.0f, 0.5f, 1.0f, -0.25f);
    struct nn_param w, b;
    nn_model_param(m, 0, &w);
    nn_model_param(m, 1, &b);
    double pw = 1.0, m1 = 0, m2 = 0;
    for (int t = 1; t <= 3; t++) {
        nn_optim_step(o, 0.01f);
        pw *= 1 - 0.01 * 0.05;
        m1 = 0.9 * m1 + 0.1 * 0.5;
        m2 = 0.999 * m2 + 0.001 * 0.25;
        pw -= 0.01 * (m1 / (1 - pow(0.9, t))) / (sqrt(m2 / (1 - pow(0.999, t))) + 1e-8);
    }
    CHECK_NEAR(w.data[1], pw, 1e-6);
    CHECK_NEAR(b.data[0], 1.0 + 3 * 0.01, 1e-5); /* |step| = lr early on, no decay */
    nn_optim_free(o);
    nn_model_free(m);
}

static void test_clip_sched_ema(void)
{
    struct nn_model *m = tiny_model();
    set_wg(m, 1.0f, 3.0f, 1.0f, 4.0f); /* norm sqrt(9+9+16+16) */
    double n = nn_clip_grad_norm(m, 1.0);
    CHECK_NEAR(n, sqrt(50.0), 1e-6);
    CHECK_NEAR(nn_clip_grad_norm(m, 0), 1.0, 1e-5);
    struct nn_sched s = {NN_SCHED_COSINE, 0.1f, 10, 0.1f, 110, 0.001f, {0}, 0};
    CHECK_NEAR(nn_sched_lr(&s, 0), 0.1 * 0.1, 1e-7); /* warm-up starts at base * factor */
    CHECK_NEAR(nn_sched_lr(&s, 55), 0.001 + 0.099 * 0.5, 1e-6);
    CHECK_NEAR(nn_sched_lr(&s, 110), 0.001, 1e-7);
    CHECK(nn_sched_lr(&s, 5) < nn_sched_lr(&s, 9));
    struct nn_sched st = {NN_SCHED_STEP, 1.0f, 0, 0, 0, 0, {10, 20}, 0.1f};
    CHECK_NEAR(nn_sched_lr(&st, 9), 1.0, 0);
    CHECK_NEAR(nn_sched_lr(&st, 10), 0.1, 1e-7);
    CHECK_NEAR(nn_sched_lr(&st, 25), 0.01, 1e-8);

    struct nn_ema *e = nn_ema_new(m, 0.9f, 0);
    set_wg(m, 2.0f, 0, 0.0f, 0);
    nn_ema_update(e, m);
    struct nn_param p;
    nn_model_param(nn_ema_model(e), 0, &p);
    CHECK_NEAR(p.data[0], 0.9 * 1 + 0.1 * 2, 1e-6);
    nn_model_param(nn_ema_model(e), 1, &p);
    CHECK_NEAR(p.data[1], 0.9, 1e-6);
    nn_ema_free(e);
    e = nn_ema_new(m, 0.9f, 1.0f); /* ramp: d = .9 (1 - e^-1) */
    set_wg(m, 0.0f, 0, 0.0f, 0);
    nn_ema_update(e, m);
    nn_model_param(nn_ema_model(e), 0, &p);
    CHECK_NEAR(p.data[0], 2.0 * 0.9 * (1 - exp(-1.0)), 1e-6);
    nn_ema_free(e);
    nn_model_free(m);
}

/* Dense task: each 16x16 image holds a bright 4x4 square at a random place on noise; the network
 * predicts, at stride 2, whether a cell lies inside the square. */
static void make_batch(struct base_rng *rng, float *img, float *target, int n)
{
    for (int b = 0; b < n; b++) {
        int y0 = (int)base_rng_below(rng, 12), x0 = (int)base_rng_below(rng, 12);
        for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++) {
                int in = y >= y0 && y < y0 + 4 && x >= x0 && x < x0 + 4;
                img[(b * 16 + y) * 16 + x] = (float)(in + 0.3 * base_rng_normal(rng));
            }
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                target[(b * 8 + y) * 8 + x] =
                    2 * y + 1 >= y0 && 2 * y < y0 + 4 && 2 * x + 1 >= x0 && 2 * x < x0 + 4;
    }
}

static void test_small_cnn_learns(void)
{
    /* a net this small only pays thread start-up: one thread (fast under a loaded ctest -j) */
    nn_set_num_threads(1);
    struct nn_model *m = nn_model_new(42);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    int x = nn_input(g, 8, 1, 16, 16);
    x = nn_relu(
        g, nn_batch_norm(g, "c1.bn",
                         nn_conv2d(g, "c1", x, &(struct nn_conv2d_cfg){8, 3, 1, 1, 1, 1, 0, 0, 0}),
                         0, 0));
    x = nn_conv2d(g, "c2", x, &(struct nn_conv2d_cfg){16, 3, 2, 1, 1, 1, 1, 0, 0});
    x = nn_relu(g, nn_group_norm(g, "c2.gn", x, 4, 0));
    x = nn_relu(g, nn_conv2d(g, "c3", x, &(struct nn_conv2d_cfg){16, 3, 1, 1, 1, 1, 1, 0, 0}));
    nn_output(g, nn_conv2d(g, "out", x, &(struct nn_conv2d_cfg){1, 1, 1, 0, 1, 1, 1, 0, 0}));
    CHECK(nn_graph_compile(g, NN_TRAIN, NN_BACKEND_DEFAULT, &err) == 0);
    struct nn_optim *o =
        nn_optim_new(m, &(struct nn_optim_cfg){NN_OPTIM_ADAMW, 0, 0, 1e-4f, 0, 0, 0}, NULL);
    struct nn_sched s = {NN_SCHED_COSINE, 0.01f, 20, 0.1f, 300, 0.0005f, {0}, 0};
    struct base_rng rng;
    base_rng_seed(&rng, 1);
    float target[8 * 64];
    double first = 0, last = 0;
    for (int step = 0; step < 300; step++) {
        make_batch(&rng, nn_graph_input(g, 0, NULL), target, 8);
        nn_graph_forward(g, &err);
        const float *y = nn_graph_output(g, 0, NULL);
        double L = nn_loss_bce_logits(y, target, NULL, 512, 1.0f / 512, nn_graph_output_grad(g, 0));
        nn_graph_backward(g, &err);
        nn_optim_step(o, nn_sched_lr(&s, step));
        if (step < 20)
            first += L / 20;
        if (step >= 280)
            last += L / 20;
    }
    fprintf(stderr, "small cnn: loss %.4f -> %.4f\n", first, last);
    CHECK(first > 0.3);
    CHECK(last < 0.08);
    nn_optim_free(o);
    nn_graph_free(g);
    nn_model_free(m);
}

TEST_MAIN(TEST_CASE(test_loss_grads), TEST_CASE(test_loss_values), TEST_CASE(test_sgd),
          TEST_CASE(test_adamw), TEST_CASE(test_clip_sched_ema), TEST_CASE(test_small_cnn_learns))
