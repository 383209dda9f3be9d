/* The float64 reference kernels against central finite differences: every op's backward is the
 * derivative of its forward, on small odd shapes, strides, dilation, groups and depthwise. */
#include "nn_test_util.h"

#include <stdlib.h>

struct fd_op {
    const void *ctx;
    int n_args;
    double *arg[4];
    size_t len[4];
    size_t out_len;
    void (*fwd)(const void *ctx, double **arg, double *y);
    void (*bwd)(const void *ctx, double **arg, const double *dy, double **grad);
};

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Largest |analytic - numeric| relative to the largest analytic gradient of each argument. */
static double fd_check(const struct fd_op *op, struct base_rng *rng)
{
    double *y = calloc(op->out_len, sizeof *y), *r = calloc(op->out_len, sizeof *r);
    double *grad[4] = {0};
    fill_uniform_d(rng, r, op->out_len, -1, 1);
    for (int a = 0; a < op->n_args; a++)
        grad[a] = calloc(op->len[a] + 1, sizeof(double));
    op->fwd(op->ctx, (double **)op->arg, y);
    op->bwd(op->ctx, (double **)op->arg, r, grad);
    double worst = 0;
    for (int a = 0; a < op->n_args; a++) {
        double gmax = 1e-6, emax = 0;
        for (size_t k = 0; k < op->len[a]; k++) {
            double *x = &op->arg[a][k], save = *x, eps = 1e-5;
            *x = save + eps;
            op->fwd(op->ctx, (double **)op->arg, y);
            double lp = dot(y, r, op->out_len);
            *x = save - eps;
            op->fwd(op->ctx, (double **)op->arg, y);
            double lm = dot(y, r, op->out_len);
            *x = save;
            double num = (lp - lm) / (2 * eps), d = fabs(num - grad[a][k]);
            gmax = fabs(grad[a][k]) > gmax ? fabs(grad[a][k]) : gmax;
            emax = d > emax ? d : emax;
        }
        worst = emax / gmax > worst ? emax / gmax : worst;
        free(grad[a]);
    }
    free(y);
    free(r);
    return worst;
}

/* ---- conv ---- */

static void conv_fwd(const void *ctx, double **a, double *y)
{
    nn_ref_conv_fwd(ctx, a[0], a[1], a[2], y);
}

static void conv_bwd(const void *ctx, double **a, const double *dy, double **g)
{
    nn_ref_conv_bwd(ctx, a[0], a[1], dy, g[0], g[1], g[2]);
}

static void check_conv(int n, int ic, int ih, int iw, int oc, int k, int s, int p, int d,
                       int groups)
{
    struct base_rng rng;
    base_rng_seed(&rng, (uint64_t)(ic * 131 + k * 7 + s));
    struct nn_conv_geom cg = {n, ic, ih, iw, oc, 0, 0, k, s, p, d, groups};
    cg.oh = (ih + 2 * p - d * (k - 1) - 1) / s + 1;
    cg.ow = (iw + 2 * p - d * (k - 1) - 1) / s + 1;
    struct fd_op op = {.ctx = &cg, .n_args = 3, .fwd = conv_fwd, .bwd = conv_bwd};
    op.len[0] = (size_t)n * ic * ih * iw;
    op.len[1] = (size_t)oc * (ic / groups) * k * k;
    op.len[2] = (size_t)oc;
    op.out_len = (size_t)n * oc * cg.oh * cg.ow;
    for (int i = 0; i < 3; i++) {
        op.arg[i] = calloc(op.len[i], sizeof(double));
        fill_uniform_d(&rng, op.arg[i], op.len[i], -1, 1);
    }
    double e = fd_check(&op, &rng);
    if (e > 1e-7)
        fprintf(stderr, "conv ic=%d k=%d s=%d p=%d d=%d g=%d: rel err %g\n", ic, k, s, p, d, groups,
                e);
    CHECK(e < 1e-7);
    for (int i = 0; i < 3; i++)
        free(op.arg[i]);
}

static void test_conv_grad(void)
{
    check_conv(2, 3, 7, 5, 4, 3, 1, 1, 1, 1);
    check_conv(1, 4, 9, 8, 6, 3, 2, 1, 1, 1);  /* stride 2, even/odd sizes */
    check_conv(2, 4, 7, 7, 4, 3, 1, 2, 2, 1);  /* dilation 2 */
    check_conv(1, 4, 6, 5, 6, 3, 1, 1, 1, 2);  /* groups */
    check_conv(2, 5, 7, 6, 5, 3, 2, 1, 1, 5);  /* depthwise, stride 2 */
    check_conv(1, 6, 5, 5, 3, 1, 1, 0, 1, 1);  /* 1x1 */
    check_conv(1, 2, 11, 9, 3, 5, 2, 2, 1, 1); /* 5x5 stride 2 */
}

static void test_conv_known_values(void)
{
    /* 1x1 input 3x3 ones, 3x3 kernel of ones, pad 1: corner sums 4, edge 6, centre 9 */
    struct nn_conv_geom cg = {1, 1, 3, 3, 1, 3, 3, 3, 1, 1, 1, 1};
    double x[9], w[9], b[1] = {0.5}, y[9];
    for (int i = 0; i < 9; i++)
        x[i] = w[i] = 1.0;
    nn_ref_conv_fwd(&cg, x, w, b, y);
    CHECK_NEAR(y[0], 4.5, 1e-12);
    CHECK_NEAR(y[1], 6.5, 1e-12);
    CHECK_NEAR(y[4], 9.5, 1e-12);
}

/* ---- normalisation ---- */

struct norm_ctx {
    struct nn_shape s;
    int groups; /* 0: batch norm */
    double mean[64], var[64];
};

static void norm_fwd(const void *c, double **a, double *y)
{
    struct norm_ctx *ctx = (struct norm_ctx *)c;
    if (ctx->groups)
        nn_ref_gn_fwd(ctx->s, ctx->groups, a[0], a[1], a[2], 1e-5, y, ctx->mean, ctx->var);
    else
        nn_ref_bn_fwd(ctx->s, a[0], a[1], a[2], 1e-5, y, ctx->mean, ctx->var);
}

static void norm_bwd(const void *c, double **a, const double *dy, double **g)
{
    struct norm_ctx *ctx = (struct norm_ctx *)c;
    double *y = calloc(nn_shape_numel(ctx->s), sizeof *y);
    norm_fwd(c, a, y); /* refresh the statistics for these arguments */
    free(y);
    if (ctx->groups)
        nn_ref_gn_bwd(ctx->s, ctx->groups, a[0], a[1], ctx->mean, ctx->var, 1e-5, dy, g[0], g[1],
                      g[2]);
    else
        nn_ref_bn_bwd(ctx->s, a[0], a[1], ctx->mean, ctx->var, 1e-5, dy, g[0], g[1], g[2]);
}

static double check_norm(struct nn_shape s, int groups)
{
    struct base_rng rng;
    base_rng_seed(&rng, 7);
    struct norm_ctx ctx = {.s = s, .groups = groups};
    struct fd_op op = {.ctx = &ctx, .n_args = 3, .fwd = norm_fwd, .bwd = norm_bwd};
    op.len[0] = op.out_len = nn_shape_numel(s);
    op.len[1] = op.len[2] = (size_t)s.c;
    for (int i = 0; i < 3; i++) {
        op.arg[i] = calloc(op.len[i], sizeof(double));
        fill_uniform_d(&rng, op.arg[i], op.len[i], -1, 2);
    }
    double e = fd_check(&op, &rng);
    for (int i = 0; i < 3; i++)
        free(op.arg[i]);
    return e;
}

static void test_norm_grad(void)
{
    CHECK(check_norm((struct nn_shape){3, 4, 3, 5}, 0) < 1e-6);
    CHECK(check_norm((struct nn_shape){2, 6, 3, 3}, 3) < 1e-6);
    CHECK(check_norm((struct nn_shape){2, 4, 5, 3}, 4) < 1e-6);
    CHECK(check_norm((struct nn_shape){1, 4, 3, 3}, 1) < 1e-6);
}

static void test_norm_stats(void)
{
    /* normalised output has zero mean and unit (biased) variance per channel */
    struct nn_shape s = {4, 2, 3, 3};
    double x[72], y[72], g[2] = {1, 1}, b[2] = {0, 0}, mean[2], var[2];
    struct base_rng rng;
    base_rng_seed(&rng, 3);
    fill_uniform_d(&rng, x, 72, -3, 5);
    nn_ref_bn_fwd(s, x, g, b, 0.0, y, mean, var);
    double sum = 0, sq = 0;
    for (int n = 0; n < 4; n++)
        for (int i = 0; i < 9; i++) {
            double v = y[(n * 2 + 1) * 9 + i];
            sum += v;
            sq += v * v;
        }
    CHECK_NEAR(sum / 36, 0.0, 1e-12);
    CHECK_NEAR(sq / 36, 1.0, 1e-9);
}

/* ---- activations, pooling, upsampling ---- */

struct act_ctx {
    enum nn_act act;
    double alpha;
    size_t n;
};

static void act_fwd(const void *c, double **a, double *y)
{
    const struct act_ctx *ctx = c;
    nn_ref_act_fwd(ctx->act, ctx->alpha, ctx->n, a[0], y);
}

static void act_bwd(const void *c, double **a, const double *dy, double **g)
{
    const struct act_ctx *ctx = c;
    nn_ref_act_bwd(ctx->act, ctx->alpha, ctx->n, a[0], dy, g[0]);
}

static void test_act_grad(void)
{
    struct base_rng rng;
    base_rng_seed(&rng, 11);
    for (int act = NN_ACT_NONE; act <= NN_ACT_HARDSIGMOID; act++) {
        struct act_ctx ctx = {(enum nn_act)act, 0.1, 40};
        double x[40];
        /* the hard activations bend at -3, 0, 3 and 6: cover all pieces, away from the kinks */
        fill_uniform_d(&rng, x, 40, act >= NN_ACT_RELU6 ? -8 : -3, act >= NN_ACT_RELU6 ? 8 : 3);
        for (int i = 0; i < 40; i++)
            for (int kink = -3; kink <= 6; kink += 3)
                if (fabs(x[i] - kink) < 1e-3)
                    x[i] = kink + 0.5;
        struct fd_op op = {.ctx = &ctx, .n_args = 1, .fwd = act_fwd, .bwd = act_bwd};
        op.arg[0] = x;
        op.len[0] = op.out_len = 40;
        double e = fd_check(&op, &rng);
        if (e > 1e-7)
            fprintf(stderr, "act %d: rel err %g\n", act, e);
        CHECK(e < 1e-7);
    }
}

struct pool_ctx {
    struct nn_shape in, out;
    int k, s, p;
};

static void pool_fwd(const void *c, double **a, double *y)
{
    const struct pool_ctx *ctx = c;
    nn_ref_maxpool_fwd(ctx->in, ctx->out, ctx->k, ctx->s, ctx->p, a[0], y);
}

static void pool_bwd(const void *c, double **a, const double *dy, double **g)
{
    const struct pool_ctx *ctx = c;
    nn_ref_maxpool_bwd(ctx->in, ctx->out, ctx->k, ctx->s, ctx->p, a[0], dy, g[0]);
}

static void up_fwd(const void *c, double **a, double *y)
{
    nn_ref_upsample_fwd(*(const struct nn_shape *)c, a[0], y);
}

static void up_bwd(const void *c, double **a, const double *dy, double **g)
{
    (void)a;
    nn_ref_upsample_bwd(*(const struct nn_shape *)c, dy, g[0]);
}

static void test_pool_upsample_grad(void)
{
    struct base_rng rng;
    base_rng_seed(&rng, 5);
    double x[2 * 3 * 7 * 6];
    fill_uniform_d(&rng, x, 252, -1, 1);
    int cfg[3][3] = {{2, 2, 0}, {3, 2, 1}, {3, 1, 1}};
    for (int i = 0; i < 3; i++) {
        struct pool_ctx ctx = {{2, 3, 7, 6}, {2, 3, 0, 0}, cfg[i][0], cfg[i][1], cfg[i][2]};
        ctx.out.h = (7 + 2 * ctx.p - ctx.k) / ctx.s + 1;
        ctx.out.w = (6 + 2 * ctx.p - ctx.k) / ctx.s + 1;
        struct fd_op op = {.ctx = &ctx, .n_args = 1, .fwd = pool_fwd, .bwd = pool_bwd};
        op.arg[0] = x;
        op.len[0] = 252;
        op.out_len = nn_shape_numel(ctx.out);
        CHECK(fd_check(&op, &rng) < 1e-7);
    }
    struct nn_shape s = {2, 3, 7, 6};
    struct fd_op op = {.ctx = &s, .n_args = 1, .fwd = up_fwd, .bwd = up_bwd};
    op.arg[0] = x;
    op.len[0] = 252;
    op.out_len = 252 * 4;
    CHECK(fd_check(&op, &rng) < 1e-7);
}

/* Global average pooling and the squeeze-excite multiply, both inputs of the latter. */
static void gap_fwd(const void *c, double **a, double *y)
{
    nn_ref_gap_fwd(*(const struct nn_shape *)c, a[0], y);
}

static void gap_bwd(const void *c, double **a, const double *dy, double **g)
{
    (void)a;
    nn_ref_gap_bwd(*(const struct nn_shape *)c, dy, g[0]);
}

static void mulc_fwd(const void *c, double **a, double *y)
{
    nn_ref_mulc_fwd(*(const struct nn_shape *)c, a[0], a[1], y);
}

static void mulc_bwd(const void *c, double **a, const double *dy, double **g)
{
    nn_ref_mulc_bwd(*(const struct nn_shape *)c, a[0], a[1], dy, g[0], g[1]);
}

static void test_se_grad(void)
{
    struct base_rng rng;
    base_rng_seed(&rng, 8);
    struct nn_shape s = {2, 3, 5, 4};
    double x[120], sc[6], y[6];
    fill_uniform_d(&rng, x, 120, -1, 1);
    fill_uniform_d(&rng, sc, 6, -1, 1);
    struct fd_op op = {.ctx = &s, .n_args = 1, .fwd = gap_fwd, .bwd = gap_bwd};
    op.arg[0] = x;
    op.len[0] = 120;
    op.out_len = 6;
    CHECK(fd_check(&op, &rng) < 1e-7);
    struct fd_op op2 = {.ctx = &s, .n_args = 2, .fwd = mulc_fwd, .bwd = mulc_bwd};
    op2.arg[0] = x;
    op2.arg[1] = sc;
    op2.len[0] = op2.out_len = 120;
    op2.len[1] = 6;
    CHECK(fd_check(&op2, &rng) < 1e-7);
    nn_ref_gap_fwd(s, x, y);
    double mean = 0;
    for (int k = 20; k < 40; k++)
        mean += x[k] / 20;
    CHECK_NEAR(y[1], mean, 1e-12);
}

static void test_hard_act_values(void)
{
    double x[6] = {-4, -3, 0, 1.5, 3, 7}, y[6];
    nn_ref_act_fwd(NN_ACT_HARDSWISH, 0, 6, x, y);
    CHECK_NEAR(y[0], 0, 0);
    CHECK_NEAR(y[3], 1.5 * 4.5 / 6, 1e-12);
    CHECK_NEAR(y[5], 7, 1e-12);
    nn_ref_act_fwd(NN_ACT_HARDSIGMOID, 0, 6, x, y);
    CHECK_NEAR(y[2], 0.5, 1e-12);
    CHECK_NEAR(y[4], 1, 1e-12);
    nn_ref_act_fwd(NN_ACT_RELU6, 0, 6, x, y);
    CHECK_NEAR(y[0], 0, 0);
    CHECK_NEAR(y[5], 6, 0);
}

static void test_pool_known_values(void)
{
    /* 3x3 max pool stride 2 pad 1 on a 4x4 ramp: padding never wins, even with negatives */
    struct nn_shape in = {1, 1, 4, 4}, out = {1, 1, 2, 2};
    double x[16], y[4];
    for (int i = 0; i < 16; i++)
        x[i] = -100.0 + i;
    nn_ref_maxpool_fwd(in, out, 3, 2, 1, x, y);
    CHECK_NEAR(y[0], -100.0 + 5, 0);
    CHECK_NEAR(y[1], -100.0 + 7, 0);
    CHECK_NEAR(y[3], -100.0 + 15, 0);
}

TEST_MAIN(TEST_CASE(test_conv_grad), TEST_CASE(test_conv_known_values), TEST_CASE(test_norm_grad),
          TEST_CASE(test_norm_stats), TEST_CASE(test_act_grad), TEST_CASE(test_pool_upsample_grad),
          TEST_CASE(test_se_grad), TEST_CASE(test_hard_act_values),
          TEST_CASE(test_pool_known_values))
