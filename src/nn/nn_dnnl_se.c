/* Our kernels for MobileNetV3's squeeze-and-excitation block on the blocked activation layout:
 * global average pooling, the per-channel multiply by the gate, and the hard-sigmoid gate itself
 * (oneDNN 2.6 has no hard-sigmoid). The gate tensors are [N, C, 1, 1], so these are cheap; they
 * are kernels of our own because oneDNN's binary and pooling primitives have no backward for the
 * broadcast operand. Padded lanes stay zero. Also TF's legacy bilinear x2 upsampling of a zoo
 * model's head, which oneDNN's linear resampling (half-pixel centres) does not compute. */
#include "nn_dnnl_int.h"

static void *arg(struct dn_plan *p, const struct dn_step *s, int tag)
{
    for (int k = 0; k < s->n_args; k++)
        if (s->tag[k] == tag)
            return dn_ptr(p, s->mem[k]);
    return NULL;
}

/* Blocks of the channel dimension and the plane size of node i's input 0. */
static void in_geom(const struct dn_plan *p, int node, int *n, int *cb, size_t *hw)
{
    const struct nn_node *nd = &p->g->nodes[node];
    struct nn_shape x = p->g->nodes[nd->in[0]].shape;
    *n = x.n;
    *cb = (x.c + p->block - 1) / p->block;
    *hw = (size_t)x.h * (size_t)x.w;
}

void dn_k_gap_fwd(struct dn_plan *p, const struct dn_step *s)
{
    const float *x = arg(p, s, DNNL_ARG_SRC);
    float *y = arg(p, s, DNNL_ARG_DST);
    int n, cb, B = p->block;
    size_t hw;
    in_geom(p, s->node, &n, &cb, &hw);
    float inv = 1.0f / (float)hw;
    NN_PRAGMA(omp parallel for schedule(static))
    for (int q = 0; q < n * cb; q++) {
        float sum[16] = {0};
        const float *xp = x + (size_t)q * hw * (size_t)B;
        for (size_t i = 0; i < hw; i++)
            for (int l = 0; l < B; l++)
                sum[l] += xp[i * (size_t)B + (size_t)l];
        for (int l = 0; l < B; l++)
            y[(size_t)q * (size_t)B + (size_t)l] = sum[l] * inv;
    }
}

void dn_k_gap_bwd(struct dn_plan *p, const struct dn_step *s)
{
    const float *dy = arg(p, s, DNNL_ARG_DIFF_DST);
    float *dx = arg(p, s, DNNL_ARG_DIFF_SRC);
    int n, cb, B = p->block, acc = s->acc;
    size_t hw;
    in_geom(p, s->node, &n, &cb, &hw);
    float inv = 1.0f / (float)hw;
    NN_PRAGMA(omp parallel for schedule(static))
    for (int q = 0; q < n * cb; q++) {
        float *dp = dx + (size_t)q * hw * (size_t)B;
        const float *g = dy + (size_t)q * (size_t)B;
        for (size_t i = 0; i < hw; i++)
            for (int l = 0; l < B; l++) {
                float v = g[l] * inv;
                dp[i * (size_t)B + (size_t)l] = acc ? dp[i * (size_t)B + (size_t)l] + v : v;
            }
    }
}

void dn_k_mulc_fwd(struct dn_plan *p, const struct dn_step *s)
{
    const float *x = arg(p, s, DNNL_ARG_SRC_0), *sc = arg(p, s, DNNL_ARG_SRC_1);
    float *y = arg(p, s, DNNL_ARG_DST);
    int n, cb, B = p->block;
    size_t hw;
    in_geom(p, s->node, &n, &cb, &hw);
    NN_PRAGMA(omp parallel for schedule(static))
    for (int q = 0; q < n * cb; q++) {
        const float *xp = x + (size_t)q * hw * (size_t)B, *k = sc + (size_t)q * (size_t)B;
        float *yp = y + (size_t)q * hw * (size_t)B;
        for (size_t i = 0; i < hw; i++)
            for (int l = 0; l < B; l++)
                yp[i * (size_t)B + (size_t)l] = xp[i * (size_t)B + (size_t)l] * k[l];
    }
}

/* dx = dy * s (aux 0) or ds = sum over the plane of dy * x (aux 1); acc adds. */
void dn_k_mulc_bwd(struct dn_plan *p, const struct dn_step *s)
{
    const float *x = arg(p, s, DNNL_ARG_SRC_0), *sc = arg(p, s, DNNL_ARG_SRC_1);
    const float *dy = arg(p, s, DNNL_ARG_DIFF_DST);
    float *d = arg(p, s, DNNL_ARG_DIFF_SRC);
    int n, cb, B = p->block, acc = s->acc, of_scale = s->aux;
    size_t hw;
    in_geom(p, s->node, &n, &cb, &hw);
    NN_PRAGMA(omp parallel for schedule(static))
    for (int q = 0; q < n * cb; q++) {
        size_t base = (size_t)q * hw * (size_t)B;
        const float *k = sc + (size_t)q * (size_t)B;
        if (of_scale) {
            float sum[16] = {0};
            for (size_t i = 0; i < hw; i++)
                for (int l = 0; l < B; l++)
                    sum[l] +=
                        dy[base + i * (size_t)B + (size_t)l] * x[base + i * (size_t)B + (size_t)l];
            float *dp = d + (size_t)q * (size_t)B;
            for (int l = 0; l < B; l++)
                dp[l] = acc ? dp[l] + sum[l] : sum[l];
            continue;
        }
        for (size_t i = 0; i < hw; i++)
            for (int l = 0; l < B; l++) {
                size_t j = base + i * (size_t)B + (size_t)l;
                float v = dy[j] * k[l];
                d[j] = acc ? d[j] + v : v;
            }
    }
}

/* Hard sigmoid relu6(x + 3) / 6 on the real lanes; padded lanes stay zero. */
void dn_k_hsig_fwd(struct dn_plan *p, const struct dn_step *s)
{
    const struct nn_node *nd = &p->g->nodes[s->node];
    const float *x = arg(p, s, DNNL_ARG_SRC);
    float *y = arg(p, s, DNNL_ARG_DST);
    int n, cb, B = p->block, c = nd->shape.c;
    size_t hw;
    in_geom(p, s->node, &n, &cb, &hw);
    NN_PRAGMA(omp parallel for schedule(static))
    for (int q = 0; q < n * cb; q++) {
        int lanes = c - (q % cb) * B < B ? c - (q % cb) * B : B;
        size_t base = (size_t)q * hw * (size_t)B;
        for (size_t i = 0; i < hw; i++)
            for (int l = 0; l < B; l++) {
                size_t j = base + i * (size_t)B + (size_t)l;
                float v = x[j] / 6.0f + 0.5f;
                y[j] = l >= lanes ? 0.0f : v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
            }
    }
}

void dn_k_hsig_bwd(struct dn_plan *p, const struct dn_step *s)
{
    const float *x = arg(p, s, DNNL_ARG_SRC), *dy = arg(p, s, DNNL_ARG_DIFF_DST);
    float *dx = arg(p, s, DNNL_ARG_DIFF_SRC);
    int n, cb, B = p->block, acc = s->acc;
    size_t hw;
    in_geom(p, s->node, &n, &cb, &hw);
    size_t total = (size_t)n * (size_t)cb * hw * (size_t)B;
    NN_PRAGMA(omp parallel for schedule(static))
    for (size_t j = 0; j < total; j++) {
        float v = x[j] > -3.0f && x[j] < 3.0f ? dy[j] / 6.0f : 0.0f;
        dx[j] = acc ? dx[j] + v : v;
    }
}

/* TF's ResizeBilinear x2 without align_corners or half-pixel centres: output j reads input j / 2
 * (odd j averages two neighbours, the last repeating), rows and columns alike. */
void dn_k_up_bilinear_fwd(struct dn_plan *p, const struct dn_step *s)
{
    const float *x = arg(p, s, DNNL_ARG_SRC);
    float *y = arg(p, s, DNNL_ARG_DST);
    const struct nn_node *nd = &p->g->nodes[s->node];
    struct nn_shape in = p->g->nodes[nd->in[0]].shape;
    int cb = (in.c + p->block - 1) / p->block, B = p->block, H = in.h, W = in.w;
    NN_PRAGMA(omp parallel for schedule(static))
    for (int q = 0; q < in.n * cb; q++) {
        const float *xp = x + (size_t)q * (size_t)H * (size_t)W * (size_t)B;
        float *yp = y + (size_t)q * (size_t)(4 * H * W) * (size_t)B;
        for (int oy = 0; oy < 2 * H; oy++) {
            int y0 = oy / 2, y1 = (oy & 1) && y0 + 1 < H ? y0 + 1 : y0;
            for (int ox = 0; ox < 2 * W; ox++) {
                int x0 = ox / 2, x1 = (ox & 1) && x0 + 1 < W ? x0 + 1 : x0;
                const float *a = xp + ((size_t)y0 * W + x0) * B,
                            *b = xp + ((size_t)y0 * W + x1) * B;
                const float *c = xp + ((size_t)y1 * W + x0) * B,
                            *d = xp + ((size_t)y1 * W + x1) * B;
                float *o = yp + ((size_t)oy * 2 * W + ox) * B;
                for (int l = 0; l < B; l++)
                    o[l] = 0.25f * ((a[l] + b[l]) + (c[l] + d[l]));
            }
        }
    }
}
