/* Our own kernels inside the oneDNN backend, on the blocked activation layout (channel blocks of
 * p->block lanes, padded lanes kept at zero): group norm (oneDNN 2.6 has none), add, gradient
 * accumulation, concat, learnable scale, BN running statistics and BN folding. Parallel with
 * OpenMP where the build has it (the same runtime oneDNN uses). */
#include "nn_dnnl_int.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#define NN_PRAGMA(x) _Pragma(#x)
#else
#define NN_PRAGMA(x)
#endif

static void *arg(struct dn_plan *p, const struct dn_step *s, int tag)
{
    for (int k = 0; k < s->n_args; k++)
        if (s->tag[k] == tag)
            return dn_ptr(p, s->mem[k]);
    return NULL;
}

static size_t arg_floats(struct dn_plan *p, const struct dn_step *s, int tag)
{
    for (int k = 0; k < s->n_args; k++)
        if (s->tag[k] == tag)
            return dn_mem_floats(p, s->mem[k]);
    return 0;
}

void dn_k_add(struct dn_plan *p, const struct dn_step *s)
{
    const float *a = arg(p, s, DNNL_ARG_SRC_0), *b = arg(p, s, DNNL_ARG_SRC_1);
    float *y = arg(p, s, DNNL_ARG_DST);
    long n = (long)arg_floats(p, s, DNNL_ARG_DST);
    NN_PRAGMA(omp parallel for simd schedule(static))
    for (long i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void dn_k_acc(struct dn_plan *p, const struct dn_step *s)
{
    const float *x = arg(p, s, DNNL_ARG_SRC);
    float *y = arg(p, s, DNNL_ARG_DST);
    long n = (long)arg_floats(p, s, DNNL_ARG_DST);
    NN_PRAGMA(omp parallel for simd schedule(static))
    for (long i = 0; i < n; i++)
        y[i] += x[i];
}

void dn_k_copy(struct dn_plan *p, const struct dn_step *s)
{
    memcpy(arg(p, s, DNNL_ARG_DST), arg(p, s, DNNL_ARG_SRC),
           arg_floats(p, s, DNNL_ARG_DST) * sizeof(float));
}

void dn_k_scale_fwd(struct dn_plan *p, const struct dn_step *s)
{
    const float *x = arg(p, s, DNNL_ARG_SRC);
    float k = *(const float *)arg(p, s, DNNL_ARG_WEIGHTS), *y = arg(p, s, DNNL_ARG_DST);
    long n = (long)arg_floats(p, s, DNNL_ARG_DST);
    NN_PRAGMA(omp parallel for simd schedule(static))
    for (long i = 0; i < n; i++)
        y[i] = k * x[i];
}

void dn_k_scale_bwd(struct dn_plan *p, const struct dn_step *s)
{
    const float *x = arg(p, s, DNNL_ARG_SRC), *dy = arg(p, s, DNNL_ARG_DIFF_DST);
    float k = *(const float *)arg(p, s, DNNL_ARG_SCALE), *dx = arg(p, s, DNNL_ARG_DIFF_SRC);
    float *dk = arg(p, s, DNNL_ARG_DIFF_SCALE);
    long n = (long)arg_floats(p, s, DNNL_ARG_DIFF_DST);
    double sum = 0.0;
    NN_PRAGMA(omp parallel for simd reduction(+ : sum) schedule(static))
    for (long i = 0; i < n; i++)
        sum += (double)x[i] * dy[i];
    *dk = (float)(s->aux ? *dk + sum : sum);
    if (!dx)
        return;
    int acc = s->acc;
    NN_PRAGMA(omp parallel for simd schedule(static))
    for (long i = 0; i < n; i++)
        dx[i] = acc ? dx[i] + k * dy[i] : k * dy[i];
}

/* Offset of (n, channel block cb) in a blocked tensor of cb_count blocks. */
static size_t blk(int n, int cb, int cb_count, size_t hw, int B)
{
    return ((size_t)n * (size_t)cb_count + (size_t)cb) * hw * (size_t)B;
}

/* Copies channels [0, c) of src (c channels) to channels [off, off + c) of dst (dc channels), or
 * back when `back`; acc adds. Lanes past dc in dst's last block are zeroed on the way forward. */
static void concat_part(const struct dn_plan *p, float *dst, int dc, float *src, int c, int off,
                        int n_count, size_t hw, int back, int acc)
{
    int B = p->block, scb = (c + B - 1) / B, dcb = (dc + B - 1) / B;
    NN_PRAGMA(omp parallel for collapse(2) schedule(static))
    for (int n = 0; n < n_count; n++)
        for (int cb = 0; cb < scb; cb++) {
            int lanes = c - cb * B < B ? c - cb * B : B;
            float *sp = src + blk(n, cb, scb, hw, B);
            for (int l = 0; l < lanes; l++) {
                int dch = off + cb * B + l;
                float *dp = dst + blk(n, dch / B, dcb, hw, B) + dch % B;
                for (size_t i = 0; i < hw; i++) {
                    if (!back)
                        dp[i * B] = sp[i * B + l];
                    else
                        sp[i * B + l] = acc ? sp[i * B + l] + dp[i * B] : dp[i * B];
                }
            }
        }
}

void dn_k_concat_fwd(struct dn_plan *p, const struct dn_step *s)
{
    const struct nn_node *nd = &p->g->nodes[s->node];
    float *y = arg(p, s, DNNL_ARG_DST);
    size_t hw = (size_t)nd->shape.h * nd->shape.w;
    int off = 0, B = p->block, cp = (nd->shape.c + B - 1) / B * B;
    for (int k = 0; k < nd->n_in; k++) {
        int c = p->g->nodes[nd->in[k]].shape.c;
        concat_part(p, y, nd->shape.c, arg(p, s, DNNL_ARG_MULTIPLE_SRC + k), c, off, nd->shape.n,
                    hw, 0, 0);
        off += c;
    }
    for (int n = 0; n < nd->shape.n && cp > nd->shape.c; n++) /* padded lanes */
        for (int ch = nd->shape.c; ch < cp; ch++) {
            float *dp = y + blk(n, ch / B, cp / B, hw, B) + ch % B;
            for (size_t i = 0; i < hw; i++)
                dp[i * B] = 0.0f;
        }
}

void dn_k_concat_bwd(struct dn_plan *p, const struct dn_step *s)
{
    const struct nn_node *nd = &p->g->nodes[s->node];
    size_t hw = (size_t)nd->shape.h * nd->shape.w;
    int off = 0;
    for (int k = 0; k < s->aux; k++)
        off += p->g->nodes[nd->in[k]].shape.c;
    concat_part(p, arg(p, s, DNNL_ARG_SRC), nd->shape.c, arg(p, s, DNNL_ARG_DST),
                p->g->nodes[nd->in[s->aux]].shape.c, off, nd->shape.n, hw, 1, s->acc);
}

/* ---- group norm ---------------------------------------------------------------------------- */

/* Per (n, channel) sums of a and of a * b over H*W (b NULL: a * a), in double. */
static void channel_sums(const struct dn_plan *p, const struct nn_node *nd, const float *a,
                         const float *b, double *sums)
{
    int B = p->block, cb_count = (nd->shape.c + B - 1) / B;
    size_t hw = (size_t)nd->shape.h * nd->shape.w;
    NN_PRAGMA(omp parallel for schedule(static))
    for (int nb = 0; nb < nd->shape.n * cb_count; nb++) {
        const float *x = a + (size_t)nb * hw * B, *y = b ? b + (size_t)nb * hw * B : x;
        double s1[16] = {0}, s2[16] = {0};
        for (size_t i = 0; i < hw; i++)
            for (int l = 0; l < B; l++) {
                s1[l] += x[i * B + l];
                s2[l] += (double)x[i * B + l] * y[i * B + l];
            }
        for (int l = 0; l < B; l++) {
            sums[((size_t)nb * B + l) * 2] = s1[l];
            sums[((size_t)nb * B + l) * 2 + 1] = s2[l];
        }
    }
}

/* out[c] = A[c] * x + Bc[c] * y + C[c] per (n, channel), lanes past C get zero; y may be NULL. */
static void apply_affine(const struct dn_plan *p, const struct nn_node *nd, const float *x,
                         const float *y, const float *coef, float *out, int acc)
{
    int B = p->block, cb_count = (nd->shape.c + B - 1) / B;
    size_t hw = (size_t)nd->shape.h * nd->shape.w;
    NN_PRAGMA(omp parallel for schedule(static))
    for (int nb = 0; nb < nd->shape.n * cb_count; nb++) {
        const float *c = coef + (size_t)nb * B * 3;
        const float *xp = x + (size_t)nb * hw * B, *yp = y ? y + (size_t)nb * hw * B : NULL;
        float *op = out + (size_t)nb * hw * B;
        for (size_t i = 0; i < hw; i++)
            for (int l = 0; l < B; l++) {
                float v = c[l] * xp[i * B + l] + c[2 * B + l];
                if (yp)
                    v += c[B + l] * yp[i * B + l];
                op[i * B + l] = acc ? op[i * B + l] + v : v;
            }
    }
}

/* Coefficients live after the sums in gn_sums: per (n, block) 3 * B floats. */
static float *gn_coef(const struct dn_plan *p, const struct dn_node *d, const struct nn_node *nd)
{
    int cp = (nd->shape.c + p->block - 1) / p->block * p->block;
    return (float *)(void *)(d->gn_sums + (size_t)nd->shape.n * cp * 2);
}

void dn_k_gn_fwd(struct dn_plan *p, const struct dn_step *s)
{
    const struct nn_node *nd = &p->g->nodes[s->node];
    struct dn_node *d = &p->nd[s->node];
    const float *x = arg(p, s, DNNL_ARG_SRC), *gamma = arg(p, s, DNNL_ARG_SCALE);
    const float *beta = arg(p, s, DNNL_ARG_SHIFT);
    int C = nd->shape.c, G = nd->groups, cpg = C / G, B = p->block, cp = (C + B - 1) / B * B;
    double cnt = (double)cpg * nd->shape.h * nd->shape.w;
    channel_sums(p, nd, x, NULL, d->gn_sums);
    float *coef = gn_coef(p, d, nd);
    for (int n = 0; n < nd->shape.n; n++) {
        for (int g = 0; g < G; g++) {
            double s1 = 0, s2 = 0;
            for (int c = g * cpg; c < (g + 1) * cpg; c++) {
                s1 += d->gn_sums[((size_t)n * cp + c) * 2];
                s2 += d->gn_sums[((size_t)n * cp + c) * 2 + 1];
            }
            double mean = s1 / cnt, var = s2 / cnt - mean * mean;
            d->gn_stats[(n * G + g) * 2] = mean;
            d->gn_stats[(n * G + g) * 2 + 1] = 1.0 / sqrt((var > 0 ? var : 0) + nd->eps);
        }
        for (int c = 0; c < cp; c++) {
            float *k = coef + ((size_t)n * cp / B + c / B) * B * 3 + c % B;
            double mean = c < C ? d->gn_stats[(n * G + c / cpg) * 2] : 0;
            double rstd = c < C ? d->gn_stats[(n * G + c / cpg) * 2 + 1] : 0;
            k[0] = c < C ? (float)(gamma[c] * rstd) : 0.0f;
            k[B] = 0.0f;
            k[2 * B] = c < C ? (float)(beta[c] - mean * gamma[c] * rstd) : 0.0f;
        }
    }
    apply_affine(p, nd, x, NULL, coef, arg(p, s, DNNL_ARG_DST), 0);
}

void dn_k_gn_bwd(struct dn_plan *p, const struct dn_step *s)
{
    const struct nn_node *nd = &p->g->nodes[s->node];
    struct dn_node *d = &p->nd[s->node];
    const float *x = arg(p, s, DNNL_ARG_SRC), *dy = arg(p, s, DNNL_ARG_DIFF_DST);
    const float *gamma = arg(p, s, DNNL_ARG_SCALE);
    float *dgamma = arg(p, s, DNNL_ARG_DIFF_SCALE), *dbeta = arg(p, s, DNNL_ARG_DIFF_SHIFT);
    float *dx = arg(p, s, DNNL_ARG_DIFF_SRC);
    int C = nd->shape.c, G = nd->groups, cpg = C / G, B = p->block, cp = (C + B - 1) / B * B;
    double cnt = (double)cpg * nd->shape.h * nd->shape.w;
    channel_sums(p, nd, dy, x, d->gn_sums); /* sum dy, sum dy * x */
    float *coef = gn_coef(p, d, nd);
    for (int c = 0; c < C && !s->aux; c++)
        dgamma[c] = dbeta[c] = 0.0f;
    for (int n = 0; n < nd->shape.n; n++)
        for (int g = 0; g < G; g++) {
            double mean = d->gn_stats[(n * G + g) * 2], rstd = d->gn_stats[(n * G + g) * 2 + 1];
            double k1 = 0, k2 = 0;
            for (int c = g * cpg; c < (g + 1) * cpg; c++) {
                double sdy = d->gn_sums[((size_t)n * cp + c) * 2];
                double sdyx = d->gn_sums[((size_t)n * cp + c) * 2 + 1];
                double dg = rstd * (sdyx - mean * sdy);
                dgamma[c] += (float)dg;
                dbeta[c] += (float)sdy;
                k1 += gamma[c] * sdy / cnt;
                k2 += gamma[c] * dg / cnt;
            }
            for (int c = g * cpg; c < (g + 1) * cpg; c++) {
                float *k = coef + ((size_t)n * cp / B + c / B) * B * 3 + c % B;
                k[0] = (float)(rstd * gamma[c]);
                k[B] = (float)(-rstd * rstd * k2);
                k[2 * B] = (float)(rstd * rstd * k2 * mean - rstd * k1);
            }
        }
    if (!dx)
        return;
    for (int n = 0; n < nd->shape.n; n++)
        for (int c = C; c < cp; c++) {
            float *k = coef + ((size_t)n * cp / B + c / B) * B * 3 + c % B;
            k[0] = k[B] = k[2 * B] = 0.0f;
        }
    apply_affine(p, nd, dy, x, coef, dx, s->acc);
}

/* ---- batch norm helpers -------------------------------------------------------------------- */

/* PyTorch's running statistics: the unbiased batch variance feeds running_var. */
void dn_k_bn_running(struct dn_plan *p, const struct dn_step *s)
{
    const struct nn_node *nd = &p->g->nodes[s->node];
    const float *mean = arg(p, s, DNNL_ARG_MEAN), *var = arg(p, s, DNNL_ARG_VARIANCE);
    float *rm = arg(p, s, DNNL_ARG_DST), *rv = arg(p, s, DNNL_ARG_DST_1);
    double cnt = (double)nd->shape.n * nd->shape.h * nd->shape.w;
    double m = nd->momentum, unbias = cnt > 1 ? cnt / (cnt - 1) : 1.0;
    for (int c = 0; c < nd->shape.c; c++) {
        rm[c] = (float)((1 - m) * rm[c] + m * mean[c]);
        rv[c] = (float)((1 - m) * rv[c] + m * var[c] * unbias);
    }
}

/* Inference: w' = w * gamma / sqrt(var + eps) per output channel, b' = (b - mean) * that + beta. */
void dn_k_fold_bn(struct dn_plan *p, const struct dn_step *s)
{
    const struct nn_graph *g = p->g;
    const struct nn_node *conv = &g->nodes[s->node], *bn = &g->nodes[p->nd[s->node].fold_bn];
    struct dn_node *d = &p->nd[s->node];
    const float *w = nn_model_data(g->m, conv->param[0]);
    const float *b = conv->param[1] >= 0 ? nn_model_data(g->m, conv->param[1]) : NULL;
    const float *gamma = nn_model_data(g->m, bn->param[0]),
                *beta = nn_model_data(g->m, bn->param[1]);
    const float *rm = nn_model_data(g->m, bn->param[2]), *rv = nn_model_data(g->m, bn->param[3]);
    int oc = conv->shape.c;
    size_t per = g->m->p[conv->param[0]].numel / (size_t)oc;
    for (int o = 0; o < oc; o++) {
        double k = gamma[o] / sqrt((double)rv[o] + bn->eps);
        for (size_t j = 0; j < per; j++)
            d->fold_w[(size_t)o * per + j] = (float)(w[(size_t)o * per + j] * k);
        d->fold_b[o] = (float)(((b ? b[o] : 0.0) - rm[o]) * k + beta[o]);
    }
}
