/* Float64 reference kernels on contiguous NCHW arrays: written for obviousness, not speed. They
 * are the oracle for the oneDNN backend and are themselves checked against finite differences. */
#include "nn_int.h"

#include <math.h>

static size_t idx4(int c, int h, int w, int a, int b, int y, int x)
{
    return (((size_t)a * (size_t)c + (size_t)b) * (size_t)h + (size_t)y) * (size_t)w + (size_t)x;
}

/* Input row/column read by output position o at kernel tap k, or -1 when it falls in padding. */
static int tap(int o, int k, int stride, int pad, int dil, int size)
{
    int i = o * stride - pad + k * dil;
    return i >= 0 && i < size ? i : -1;
}

void nn_ref_conv_fwd(const struct nn_conv_geom *cg, const double *x, const double *w,
                     const double *b, double *y)
{
    int icg = cg->ic / cg->groups, ocg = cg->oc / cg->groups;
    for (int n = 0; n < cg->n; n++)
        for (int o = 0; o < cg->oc; o++)
            for (int oy = 0; oy < cg->oh; oy++)
                for (int ox = 0; ox < cg->ow; ox++) {
                    double acc = b ? b[o] : 0.0;
                    int g = o / ocg;
                    for (int ci = 0; ci < icg; ci++)
                        for (int ky = 0; ky < cg->k; ky++) {
                            int iy = tap(oy, ky, cg->stride, cg->pad, cg->dil, cg->ih);
                            for (int kx = 0; kx < cg->k && iy >= 0; kx++) {
                                int ix = tap(ox, kx, cg->stride, cg->pad, cg->dil, cg->iw);
                                if (ix >= 0)
                                    acc +=
                                        x[idx4(cg->ic, cg->ih, cg->iw, n, g * icg + ci, iy, ix)] *
                                        w[idx4(icg, cg->k, cg->k, o, ci, ky, kx)];
                            }
                        }
                    y[idx4(cg->oc, cg->oh, cg->ow, n, o, oy, ox)] = acc;
                }
}

void nn_ref_conv_bwd(const struct nn_conv_geom *cg, const double *x, const double *w,
                     const double *dy, double *dx, double *dw, double *db)
{
    int icg = cg->ic / cg->groups, ocg = cg->oc / cg->groups;
    for (int n = 0; n < cg->n; n++)
        for (int o = 0; o < cg->oc; o++)
            for (int oy = 0; oy < cg->oh; oy++)
                for (int ox = 0; ox < cg->ow; ox++) {
                    double d = dy[idx4(cg->oc, cg->oh, cg->ow, n, o, oy, ox)];
                    int g = o / ocg;
                    if (db)
                        db[o] += d;
                    for (int ci = 0; ci < icg; ci++)
                        for (int ky = 0; ky < cg->k; ky++) {
                            int iy = tap(oy, ky, cg->stride, cg->pad, cg->dil, cg->ih);
                            for (int kx = 0; kx < cg->k && iy >= 0; kx++) {
                                int ix = tap(ox, kx, cg->stride, cg->pad, cg->dil, cg->iw);
                                if (ix < 0)
                                    continue;
                                size_t xi = idx4(cg->ic, cg->ih, cg->iw, n, g * icg + ci, iy, ix);
                                size_t wi = idx4(icg, cg->k, cg->k, o, ci, ky, kx);
                                if (dx)
                                    dx[xi] += d * w[wi];
                                if (dw)
                                    dw[wi] += d * x[xi];
                            }
                        }
                }
}

/* Statistics over sample range [n0, n1) and channels [c0, c1): mean and biased variance. */
static void stats(struct nn_shape s, const double *x, int n0, int n1, int c0, int c1, double *mean,
                  double *var)
{
    size_t hw = (size_t)s.h * (size_t)s.w;
    double sum = 0.0, sq = 0.0, cnt = (double)(n1 - n0) * (c1 - c0) * (double)hw;
    for (int n = n0; n < n1; n++)
        for (int c = c0; c < c1; c++)
            for (size_t i = 0; i < hw; i++)
                sum += x[((size_t)n * s.c + c) * hw + i];
    *mean = sum / cnt;
    for (int n = n0; n < n1; n++)
        for (int c = c0; c < c1; c++)
            for (size_t i = 0; i < hw; i++) {
                double d = x[((size_t)n * s.c + c) * hw + i] - *mean;
                sq += d * d;
            }
    *var = sq / cnt;
}

/* y = gamma * (x - mean) / sqrt(var + eps) + beta over the block. */
static void normalize(struct nn_shape s, const double *x, int n0, int n1, int c0, int c1,
                      double mean, double var, double eps, const double *gamma, const double *beta,
                      double *y)
{
    size_t hw = (size_t)s.h * (size_t)s.w;
    double rstd = 1.0 / sqrt(var + eps);
    for (int n = n0; n < n1; n++)
        for (int c = c0; c < c1; c++)
            for (size_t i = 0; i < hw; i++) {
                size_t k = ((size_t)n * s.c + c) * hw + i;
                y[k] = gamma[c] * (x[k] - mean) * rstd + beta[c];
            }
}

/* Gradient through normalisation over a block (see nn_ref_bn_bwd). */
static void normalize_bwd(struct nn_shape s, const double *x, int n0, int n1, int c0, int c1,
                          double mean, double var, double eps, const double *gamma,
                          const double *dy, double *dx)
{
    size_t hw = (size_t)s.h * (size_t)s.w;
    double rstd = 1.0 / sqrt(var + eps), cnt = (double)(n1 - n0) * (c1 - c0) * (double)hw;
    double sum_dxh = 0.0, sum_dxh_xh = 0.0;
    for (int n = n0; n < n1; n++)
        for (int c = c0; c < c1; c++)
            for (size_t i = 0; i < hw; i++) {
                size_t k = ((size_t)n * s.c + c) * hw + i;
                double dxh = dy[k] * gamma[c];
                sum_dxh += dxh;
                sum_dxh_xh += dxh * (x[k] - mean) * rstd;
            }
    for (int n = n0; n < n1; n++)
        for (int c = c0; c < c1; c++)
            for (size_t i = 0; i < hw; i++) {
                size_t k = ((size_t)n * s.c + c) * hw + i;
                double xh = (x[k] - mean) * rstd;
                dx[k] += rstd / cnt * (cnt * dy[k] * gamma[c] - sum_dxh - xh * sum_dxh_xh);
            }
}

static void affine_grads(struct nn_shape s, const double *x, const double *dy, const double *mean,
                         const double *var, double eps, int per_sample_groups, double *dgamma,
                         double *dbeta)
{
    size_t hw = (size_t)s.h * (size_t)s.w;
    int cpg = per_sample_groups ? s.c / per_sample_groups : 1;
    for (int n = 0; n < s.n; n++)
        for (int c = 0; c < s.c; c++) {
            int si = per_sample_groups ? n * per_sample_groups + c / cpg : c;
            double rstd = 1.0 / sqrt(var[si] + eps);
            for (size_t i = 0; i < hw; i++) {
                size_t k = ((size_t)n * s.c + c) * hw + i;
                dgamma[c] += dy[k] * (x[k] - mean[si]) * rstd;
                dbeta[c] += dy[k];
            }
        }
}

void nn_ref_bn_fwd(struct nn_shape s, const double *x, const double *gamma, const double *beta,
                   double eps, double *y, double *mean, double *var)
{
    for (int c = 0; c < s.c; c++) {
        stats(s, x, 0, s.n, c, c + 1, &mean[c], &var[c]);
        normalize(s, x, 0, s.n, c, c + 1, mean[c], var[c], eps, gamma, beta, y);
    }
}

void nn_ref_bn_infer(struct nn_shape s, const double *x, const double *gamma, const double *beta,
                     const double *rmean, const double *rvar, double eps, double *y)
{
    for (int c = 0; c < s.c; c++)
        normalize(s, x, 0, s.n, c, c + 1, rmean[c], rvar[c], eps, gamma, beta, y);
}

void nn_ref_bn_bwd(struct nn_shape s, const double *x, const double *gamma, const double *mean,
                   const double *var, double eps, const double *dy, double *dx, double *dgamma,
                   double *dbeta)
{
    if (dx)
        for (int c = 0; c < s.c; c++)
            normalize_bwd(s, x, 0, s.n, c, c + 1, mean[c], var[c], eps, gamma, dy, dx);
    affine_grads(s, x, dy, mean, var, eps, 0, dgamma, dbeta);
}

void nn_ref_gn_fwd(struct nn_shape s, int groups, const double *x, const double *gamma,
                   const double *beta, double eps, double *y, double *mean, double *var)
{
    int cpg = s.c / groups;
    for (int n = 0; n < s.n; n++)
        for (int gi = 0; gi < groups; gi++) {
            int k = n * groups + gi;
            stats(s, x, n, n + 1, gi * cpg, (gi + 1) * cpg, &mean[k], &var[k]);
            normalize(s, x, n, n + 1, gi * cpg, (gi + 1) * cpg, mean[k], var[k], eps, gamma, beta,
                      y);
        }
}

void nn_ref_gn_bwd(struct nn_shape s, int groups, const double *x, const double *gamma,
                   const double *mean, const double *var, double eps, const double *dy, double *dx,
                   double *dgamma, double *dbeta)
{
    int cpg = s.c / groups;
    if (dx)
        for (int n = 0; n < s.n; n++)
            for (int gi = 0; gi < groups; gi++) {
                int k = n * groups + gi;
                normalize_bwd(s, x, n, n + 1, gi * cpg, (gi + 1) * cpg, mean[k], var[k], eps, gamma,
                              dy, dx);
            }
    affine_grads(s, x, dy, mean, var, eps, groups, dgamma, dbeta);
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static double act_f(enum nn_act act, double a, double x)
{
    switch (act) {
    case NN_ACT_NONE:
        return x;
    case NN_ACT_RELU:
        return x > 0 ? x : 0.0;
    case NN_ACT_LEAKY_RELU:
        return x > 0 ? x : a * x;
    case NN_ACT_SILU:
        return x * sigmoid(x);
    case NN_ACT_SIGMOID:
        return sigmoid(x);
    case NN_ACT_EXP:
        return exp(x);
    case NN_ACT_RELU6:
        return x < 0 ? 0.0 : x > 6 ? 6.0 : x;
    case NN_ACT_HARDSWISH:
        return x * act_f(NN_ACT_RELU6, a, x + 3) / 6;
    case NN_ACT_HARDSIGMOID:
        return act_f(NN_ACT_RELU6, a, x + 3) / 6;
    }
    return x;
}

static double act_df(enum nn_act act, double a, double x)
{
    switch (act) {
    case NN_ACT_NONE:
        return 1.0;
    case NN_ACT_RELU:
        return x > 0 ? 1.0 : 0.0;
    case NN_ACT_LEAKY_RELU:
        return x > 0 ? 1.0 : a;
    case NN_ACT_SILU:
        return sigmoid(x) * (1.0 + x * (1.0 - sigmoid(x)));
    case NN_ACT_SIGMOID:
        return sigmoid(x) * (1.0 - sigmoid(x));
    case NN_ACT_EXP:
        return exp(x);
    case NN_ACT_RELU6: /* oneDNN's clip: the upper bound itself passes the gradient */
        return x > 0 && x <= 6 ? 1.0 : 0.0;
    case NN_ACT_HARDSWISH:
        return x <= -3 ? 0.0 : x >= 3 ? 1.0 : (2 * x + 3) / 6;
    case NN_ACT_HARDSIGMOID:
        return x > -3 && x < 3 ? 1.0 / 6 : 0.0;
    }
    return 1.0;
}

void nn_ref_act_fwd(enum nn_act act, double alpha, size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = act_f(act, alpha, x[i]);
}

void nn_ref_act_bwd(enum nn_act act, double alpha, size_t n, const double *x, const double *dy,
                    double *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * act_df(act, alpha, x[i]);
}

/* Index (in x) of the maximum of the window of output (n, c, oy, ox); first maximum wins. */
static size_t argmax(struct nn_shape in, int k, int stride, int pad, const double *x, int n, int c,
                     int oy, int ox)
{
    size_t best = (size_t)-1;
    for (int ky = 0; ky < k; ky++) {
        int iy = tap(oy, ky, stride, pad, 1, in.h);
        for (int kx = 0; kx < k && iy >= 0; kx++) {
            int ix = tap(ox, kx, stride, pad, 1, in.w);
            if (ix < 0)
                continue;
            size_t i = idx4(in.c, in.h, in.w, n, c, iy, ix);
            if (best == (size_t)-1 || x[i] > x[best])
                best = i;
        }
    }
    return best;
}

void nn_ref_maxpool_fwd(struct nn_shape in, struct nn_shape out, int k, int stride, int pad,
                        const double *x, double *y)
{
    for (int n = 0; n < out.n; n++)
        for (int c = 0; c < out.c; c++)
            for (int oy = 0; oy < out.h; oy++)
                for (int ox = 0; ox < out.w; ox++)
                    y[idx4(out.c, out.h, out.w, n, c, oy, ox)] =
                        x[argmax(in, k, stride, pad, x, n, c, oy, ox)];
}

void nn_ref_maxpool_bwd(struct nn_shape in, struct nn_shape out, int k, int stride, int pad,
                        const double *x, const double *dy, double *dx)
{
    for (int n = 0; n < out.n; n++)
        for (int c = 0; c < out.c; c++)
            for (int oy = 0; oy < out.h; oy++)
                for (int ox = 0; ox < out.w; ox++)
                    dx[argmax(in, k, stride, pad, x, n, c, oy, ox)] +=
                        dy[idx4(out.c, out.h, out.w, n, c, oy, ox)];
}

void nn_ref_gap_fwd(struct nn_shape in, const double *x, double *y)
{
    size_t hw = (size_t)in.h * (size_t)in.w;
    for (size_t nc = 0; nc < (size_t)in.n * (size_t)in.c; nc++) {
        double sum = 0.0;
        for (size_t k = 0; k < hw; k++)
            sum += x[nc * hw + k];
        y[nc] = sum / (double)hw;
    }
}

void nn_ref_gap_bwd(struct nn_shape in, const double *dy, double *dx)
{
    size_t hw = (size_t)in.h * (size_t)in.w;
    for (size_t nc = 0; nc < (size_t)in.n * (size_t)in.c; nc++)
        for (size_t k = 0; k < hw; k++)
            dx[nc * hw + k] += dy[nc] / (double)hw;
}

void nn_ref_mulc_fwd(struct nn_shape s, const double *x, const double *sc, double *y)
{
    size_t hw = (size_t)s.h * (size_t)s.w;
    for (size_t nc = 0; nc < (size_t)s.n * (size_t)s.c; nc++)
        for (size_t k = 0; k < hw; k++)
            y[nc * hw + k] = x[nc * hw + k] * sc[nc];
}

void nn_ref_mulc_bwd(struct nn_shape s, const double *x, const double *sc, const double *dy,
                     double *dx, double *ds)
{
    size_t hw = (size_t)s.h * (size_t)s.w;
    for (size_t nc = 0; nc < (size_t)s.n * (size_t)s.c; nc++)
        for (size_t k = 0; k < hw; k++) {
            if (dx)
                dx[nc * hw + k] += dy[nc * hw + k] * sc[nc];
            if (ds)
                ds[nc] += dy[nc * hw + k] * x[nc * hw + k];
        }
}

void nn_ref_upsample_fwd(struct nn_shape in, const double *x, double *y)
{
    int ow = in.w * 2, oh = in.h * 2;
    for (int n = 0; n < in.n; n++)
        for (int c = 0; c < in.c; c++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    y[idx4(in.c, oh, ow, n, c, oy, ox)] =
                        x[idx4(in.c, in.h, in.w, n, c, oy / 2, ox / 2)];
}

/* TF's legacy bilinear x2: source coordinate j / 2, neighbours clamped at the last row. */
void nn_ref_upsample_bilinear_fwd(struct nn_shape in, const double *x, double *y)
{
    int ow = in.w * 2, oh = in.h * 2;
    for (int n = 0; n < in.n; n++)
        for (int c = 0; c < in.c; c++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    int y0 = oy / 2, x0 = ox / 2;
                    int y1 = (oy & 1) && y0 + 1 < in.h ? y0 + 1 : y0;
                    int x1 = (ox & 1) && x0 + 1 < in.w ? x0 + 1 : x0;
                    double a = x[idx4(in.c, in.h, in.w, n, c, y0, x0)];
                    double b = x[idx4(in.c, in.h, in.w, n, c, y0, x1)];
                    double d = x[idx4(in.c, in.h, in.w, n, c, y1, x0)];
                    double e = x[idx4(in.c, in.h, in.w, n, c, y1, x1)];
                    y[idx4(in.c, oh, ow, n, c, oy, ox)] = 0.25 * (a + b + d + e);
                }
}

void nn_ref_upsample_bwd(struct nn_shape in, const double *dy, double *dx)
{
    int ow = in.w * 2, oh = in.h * 2;
    for (int n = 0; n < in.n; n++)
        for (int c = 0; c < in.c; c++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    dx[idx4(in.c, in.h, in.w, n, c, oy / 2, ox / 2)] +=
                        dy[idx4(in.c, oh, ow, n, c, oy, ox)];
}
