/* Our own kernels inside the oneDNN backend, on the blocked activation layout (channel blocks of
 * p->block lanes, padded lanes kept at zero): group norm (oneDNN 2.6 has none), add, gradient
 * accumulation, concat, learnable scale, BN running statistics and BN folding. Parallel with
 * OpenMP where the build has it (the same runtime oneDNN uses). */
#include "nn_dnnl_int.h"

#include <math.h>
#include <string.h>

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
    int relu = s->aux;
    NN_PRAGMA(omp parallel for simd schedule(static))
    for (long i = 0; i < n; i++) {
        float v = a[i] + b[i];
        y[i] = relu && v < 0 ? 0.0f : v;
    }
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

/* Eight float lanes (one AVX register; GCC/clang vector extension): the blocked layout keeps
 * eight (or sixteen) channels of a pixel together, so every loop below is lane-parallel. */
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

static inline v8f ld8(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st8(float *p, v8f v)
{
    memcpy(p, &v, sizeof v);
}

/* Lanes of a where m > 0, zero elsewhere. */
static inline v8f mask8(v8f a, v8f m)
{
    const v8f zero = {0};
    return (v8f)((v8i)a & (m > zero));
}

/* Sums of one (n, channel block) over H*W: float partials over runs of 64 pixels (vectorised,
 * exact enough) flushed into double totals. */
static void block_sums(const float *x, const float *y, const float *mk, size_t hw, int B,
                       double *sums)
{
    for (int v = 0; v < B / 8; v++) {
        double t1[8] = {0}, t2[8] = {0};
        for (size_t i0 = 0; i0 < hw; i0 += 64) {
            v8f p1 = {0}, p2 = {0};
            size_t i1 = i0 + 64 < hw ? i0 + 64 : hw;
            for (size_t i = i0; i < i1; i++) {
                size_t k = i * (size_t)B + (size_t)v * 8;
                v8f a = mk ? mask8(ld8(x + k), ld8(mk + k)) : ld8(x + k);
                p1 += a;
                p2 += a * ld8(y + k);
            }
            for (int l = 0; l < 8; l++) {
                t1[l] += p1[l];
                t2[l] += p2[l];
            }
        }
        for (int l = 0; l < 8; l++) {
            sums[2 * (v * 8 + l)] = t1[l];
            sums[2 * (v * 8 + l) + 1] = t2[l];
        }
    }
}

/* Per (n, channel) sums of a and of a * b over H*W (b NULL: a * a). Where mask is given,
 * elements whose mask is not positive count as a = 0 (the ReLU fused after a norm). */
static void channel_sums(const struct dn_plan *p, const struct nn_node *nd, const float *a,
                         const float *b, const float *mask, double *sums)
{
    int B = p->block, cb_count = (nd->shape.c + B - 1) / B;
    size_t hw = (size_t)nd->shape.h * nd->shape.w;
    NN_PRAGMA(omp parallel for schedule(static))
    for (int nb = 0; nb < nd->shape.n * cb_count; nb++) {
        size_t base = (size_t)nb * hw * B;
        const float *x = a + base, *y = b ? b + base : x, *mk = mask ? mask + base : NULL;
        block_sums(x, y, mk, hw, B, sums + (size_t)nb * B * 2);
    }
}

static void block_affine(const float *x, const float *y, const float *mk, const float *c, float *op,
                         size_t hw, int B, int acc, int relu)
{
    for (int v = 0; v < B / 8; v++) {
        v8f ca = ld8(c + v * 8), cb = ld8(c + B + v * 8), cc = ld8(c + 2 * B + v * 8);
        for (size_t i = 0; i < hw; i++) {
            size_t k = i * (size_t)B + (size_t)v * 8;
            v8f xv = mk ? mask8(ld8(x + k), ld8(mk + k)) : ld8(x + k);
            v8f r = ca * xv + cc;
            if (y)
                r += cb * ld8(y + k);
            if (relu)
                r = mask8(r, r);
            if (acc)
                r += ld8(op + k);
            st8(op + k, r);
        }
    }
}

/* out = A * x' + Bc * y + C per (n, channel) with coefficients from coef (lanes past C hold
 * zeros), x' = x masked like channel_sums; relu clamps the result at 0; y may be NULL. */
static void apply_affine(const struct dn_plan *p, const struct nn_node *nd, const float *x,
                         const float *y, const float *mask, const float *coef, float *out, int acc,
                         int relu)
{
    int B = p->block, cb_count = (nd->shape.c + B - 1) / B;
    size_t hw = (size_t)nd->shape.h * nd->shape.w;
    NN_PRAGMA(omp parallel for schedule(static))
    for (int nb = 0; nb < nd->shape.n * cb_count; nb++) {
        const float *c = coef + (size_t)nb * B * 3;
        size_t base = (size_t)nb * hw * B;
        const float *xp = x + base, *yp = y ? y + base : NULL, *mk = mask ? mask + base : NULL;
        block_affine(xp, yp, mk, c, out + base, hw, B, acc, relu);
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
    channel_sums(p, nd, x, NULL, NULL, d->gn_sums);
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
    apply_affine(p, nd, x, NULL, NULL, coef, arg(p, s, DNNL_ARG_DST), 0, s->aux);
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
    const float *y = arg(p, s, DNNL_ARG_DST);  /* a fused ReLU's output masks dy */
    channel_sums(p, nd, dy, x, y, d->gn_sums); /* sum dy, sum dy * x */
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
    apply_affine(p, nd, dy, x, y, coef, dx, s->acc, 0);
}

/* ---- batch norm helpers -------------------------------------------------------------------- */

/* Batch norm on the blocked layout, our own: oneDNN's jit BN synchronises its threads several
 * times per call, which costs tens of milliseconds whenever a thread of a busy machine is
 * descheduled. gn_stats holds per channel mean and rstd; coefficients are replicated per sample
 * so that apply_affine serves both norms. */
static void bn_coef(const struct dn_plan *p, const struct nn_node *nd, float *coef, int c, float a,
                    float b, float k)
{
    int B = p->block, cp = (nd->shape.c + B - 1) / B * B;
    for (int n = 0; n < nd->shape.n; n++) {
        float *q = coef + ((size_t)n * cp / B + c / B) * B * 3 + c % B;
        q[0] = a;
        q[B] = k;
        q[2 * B] = b;
    }
}

/* Per channel sums over the batch, from per (n, channel) sums. */
static void batch_sums(const struct dn_plan *p, const struct nn_node *nd, const double *sums, int c,
                       double *s1, double *s2)
{
    int cp = (nd->shape.c + p->block - 1) / p->block * p->block;
    *s1 = *s2 = 0;
    for (int n = 0; n < nd->shape.n; n++) {
        *s1 += sums[((size_t)n * cp + c) * 2];
        *s2 += sums[((size_t)n * cp + c) * 2 + 1];
    }
}

void dn_k_bn_fwd(struct dn_plan *p, const struct dn_step *s)
{
    const struct nn_node *nd = &p->g->nodes[s->node];
    struct dn_node *d = &p->nd[s->node];
    const float *x = arg(p, s, DNNL_ARG_SRC), *gamma = arg(p, s, DNNL_ARG_SCALE);
    const float *beta = arg(p, s, DNNL_ARG_SHIFT), *rmean = arg(p, s, DNNL_ARG_MEAN);
    const float *rvar = arg(p, s, DNNL_ARG_VARIANCE);
    float *rm_out = arg(p, s, DNNL_ARG_DST_1), *rv_out = arg(p, s, DNNL_ARG_DST_2);
    int C = nd->shape.c, B = p->block, cp = (C + B - 1) / B * B, train = rm_out != NULL;
    double cnt = (double)nd->shape.n * nd->shape.h * nd->shape.w, m = nd->momentum;
    float *coef = gn_coef(p, d, nd);
    if (train)
        channel_sums(p, nd, x, NULL, NULL, d->gn_sums);
    for (int c = 0; c < cp; c++) {
        double mean = 0, var = 1, s1, s2;
        if (c < C && train) {
            batch_sums(p, nd, d->gn_sums, c, &s1, &s2);
            mean = s1 / cnt;
            var = s2 / cnt - mean * mean;
            var = var > 0 ? var : 0;
            rm_out[c] = (float)((1 - m) * rm_out[c] + m * mean);
            rv_out[c] = (float)((1 - m) * rv_out[c] + m * var * (cnt > 1 ? cnt / (cnt - 1) : 1));
        } else if (c < C) {
            mean = rmean[c];
            var = rvar[c];
        }
        double rstd = 1.0 / sqrt(var + nd->eps);
        d->gn_stats[2 * c] = mean;
        d->gn_stats[2 * c + 1] = rstd;
        double a = c < C ? gamma[c] * rstd : 0, b = c < C ? beta[c] - mean * a : 0;
        bn_coef(p, nd, coef, c, (float)a, (float)b, 0.0f);
    }
    apply_affine(p, nd, x, NULL, NULL, coef, arg(p, s, DNNL_ARG_DST), 0, s->aux);
}

void dn_k_bn_bwd(struct dn_plan *p, const struct dn_step *s)
{
    const struct nn_node *nd = &p->g->nodes[s->node];
    struct dn_node *d = &p->nd[s->node];
    const float *x = arg(p, s, DNNL_ARG_SRC), *dy = arg(p, s, DNNL_ARG_DIFF_DST);
    const float *gamma = arg(p, s, DNNL_ARG_SCALE), *y = arg(p, s, DNNL_ARG_DST);
    float *dgamma = arg(p, s, DNNL_ARG_DIFF_SCALE), *dbeta = arg(p, s, DNNL_ARG_DIFF_SHIFT);
    float *dx = arg(p, s, DNNL_ARG_DIFF_SRC);
    int C = nd->shape.c, B = p->block, cp = (C + B - 1) / B * B, pacc = s->aux & 2;
    double cnt = (double)nd->shape.n * nd->shape.h * nd->shape.w;
    channel_sums(p, nd, dy, x, y, d->gn_sums); /* y masks dy when a ReLU is fused */
    float *coef = gn_coef(p, d, nd);
    for (int c = 0; c < cp; c++) {
        if (c >= C) {
            bn_coef(p, nd, coef, c, 0, 0, 0);
            continue;
        }
        double s1, s2, mean = d->gn_stats[2 * c], rstd = d->gn_stats[2 * c + 1];
        batch_sums(p, nd, d->gn_sums, c, &s1, &s2);
        double dg = rstd * (s2 - mean * s1), k1 = gamma[c] * s1 / cnt, k2 = gamma[c] * dg / cnt;
        dgamma[c] = (float)(pacc ? dgamma[c] + dg : dg);
        dbeta[c] = (float)(pacc ? dbeta[c] + s1 : s1);
        bn_coef(p, nd, coef, c, (float)(rstd * gamma[c]),
                (float)(rstd * rstd * k2 * mean - rstd * k1), (float)(-rstd * rstd * k2));
    }
    apply_affine(p, nd, dy, x, y, coef, dx, s->acc, 0);
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
