/* Training-time augmentation rendered in one pass from the cached picture straight into the
 * network's normalised CHW input: scale, placement (crop or pad), flip and colour jitter are one
 * bilinear resampling per output pixel, so no intermediate pictures are made. Mosaic renders four
 * images into the four quadrants around a random centre. */
#include "det_int.h"

#include <math.h>
#include <string.h>

/* Where one picture goes: scaled by r to tw x th at (ox, oy), mirrored or not, drawn only
 * inside the clip rectangle [x0, x1) x [y0, y1). */
struct placement {
    float r;
    int ox, oy, tw, th;
    int flip;
    int x0, y0, x1, y1;
};

struct jitter {
    float bright, contrast, sat;
};

static float uniform(struct base_rng *rng, float lo, float hi)
{
    return lo + (hi - lo) * (float)base_rng_uniform(rng);
}

static int rand_offset(struct base_rng *rng, int lo, int hi)
{
    if (lo > hi) {
        int t = lo;
        lo = hi, hi = t;
    }
    return lo + (int)base_rng_below(rng, (uint64_t)(hi - lo + 1));
}

/* Source coordinate and weight of each output column (or row); -1 marks outside the picture. */
static void axis_map(int n, int off, int tw, float r, int src, int flip, int *i0, float *f)
{
    for (int x = 0; x < n; x++) {
        if (x < off || x >= off + tw) {
            i0[x] = -1;
            continue;
        }
        float u = ((float)(x - off) + 0.5f) / r - 0.5f;
        if (flip)
            u = (float)src - 1.0f - u;
        u = fminf(fmaxf(u, 0.0f), (float)src - 1.0f);
        int k = (int)u;
        if (k > src - 2)
            k = src > 1 ? src - 2 : 0;
        i0[x] = k;
        f[x] = src > 1 ? u - (float)k : 0.0f;
    }
}

static float sample(const struct image *im, int x0, float fx, int y0, float fy, int ch)
{
    int x1 = x0 + (im->width > 1), y1 = y0 + (im->height > 1);
    const uint8_t *p = im->pixels;
    size_t w = (size_t)im->width;
    float a = p[((size_t)y0 * w + x0) * 3 + ch], b = p[((size_t)y0 * w + x1) * 3 + ch];
    float c = p[((size_t)y1 * w + x0) * 3 + ch], d = p[((size_t)y1 * w + x1) * 3 + ch];
    return (a + (b - a) * fx) * (1.0f - fy) + (c + (d - c) * fx) * fy;
}

static void render_pixels(const struct image *im, const struct placement *p, const struct jitter *j,
                          int size, const float mean[3], const float std[3], float *chw, int *xi,
                          float *xf, int *yi, float *yf)
{
    size_t plane = (size_t)size * size;
    axis_map(size, p->ox, p->tw, p->r, im->width, p->flip, xi, xf);
    axis_map(size, p->oy, p->th, p->r, im->height, 0, yi, yf);
    for (int y = p->y0; y < p->y1; y++) {
        if (yi[y] < 0)
            continue;
        for (int x = p->x0; x < p->x1; x++) {
            if (xi[x] < 0)
                continue;
            float v[3];
            for (int c = 0; c < 3; c++)
                v[c] = sample(im, xi[x], xf[x], yi[y], yf[y], c);
            float grey = 0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2];
            for (int c = 0; c < 3; c++) {
                float q = grey + j->sat * (v[c] - grey);
                q = (q - 128.0f) * j->contrast + 128.0f + j->bright;
                q = fminf(fmaxf(q, 0.0f), 255.0f);
                chw[c * plane + (size_t)y * size + x] = (q / 255.0f - mean[c]) / std[c];
            }
        }
    }
}

/* Transforms, clips and filters the boxes of one placed picture; returns the count appended. */
static int place_boxes(const struct det_cached *it, const struct placement *p, float min_visible,
                       struct det_box *out, int cap)
{
    int n = 0;
    for (int k = 0; k < it->nboxes && n < cap; k++) {
        const struct det_box *s = &it->boxes[k];
        float w = (float)it->img.width;
        float x0 = p->flip ? w - s->x1 : s->x0, x1 = p->flip ? w - s->x0 : s->x1;
        struct det_box b = {p->ox + x0 * p->r, p->oy + s->y0 * p->r,
                            p->ox + x1 * p->r, p->oy + s->y1 * p->r,
                            s->label,          1.0f};
        float full = (b.x1 - b.x0) * (b.y1 - b.y0);
        b.x0 = fmaxf(b.x0, (float)p->x0), b.y0 = fmaxf(b.y0, (float)p->y0);
        b.x1 = fminf(b.x1, (float)p->x1), b.y1 = fminf(b.y1, (float)p->y1);
        if (b.x1 - b.x0 < 2.0f || b.y1 - b.y0 < 2.0f)
            continue;
        if ((b.x1 - b.x0) * (b.y1 - b.y0) < min_visible * full)
            continue;
        out[n++] = b;
    }
    return n;
}

static void draw_jitter(struct base_rng *rng, const struct det_aug *a, struct jitter *j)
{
    j->bright = a ? uniform(rng, -a->jitter, a->jitter) * 64.0f : 0.0f;
    j->contrast = a ? uniform(rng, 1.0f - a->jitter, 1.0f + a->jitter) : 1.0f;
    j->sat = a ? uniform(rng, 1.0f - a->jitter, 1.0f + a->jitter) : 1.0f;
}

/* Scale relative to fitting the whole picture into `fit` pixels. */
static void size_placement(const struct image *im, float rel, int fit, struct placement *p)
{
    int longer = im->width > im->height ? im->width : im->height;
    p->r = rel * (float)fit / (float)longer;
    p->tw = (int)lroundf((float)im->width * p->r);
    p->th = (int)lroundf((float)im->height * p->r);
    p->tw = p->tw < 1 ? 1 : p->tw;
    p->th = p->th < 1 ? 1 : p->th;
}

struct canvas {
    int size;
    const float *mean, *std;
    float *chw;
    int *xi, *yi;
    float *xf, *yf;
};

static int draw(const struct canvas *cv, const struct det_cached *it, const struct placement *p,
                struct base_rng *rng, const struct det_aug *a, struct det_box *boxes, int cap)
{
    struct jitter j;
    draw_jitter(rng, a, &j);
    render_pixels(&it->img, p, &j, cv->size, cv->mean, cv->std, cv->chw, cv->xi, cv->xf, cv->yi,
                  cv->yf);
    return place_boxes(it, p, a ? a->min_visible : 0.0f, boxes, cap);
}

static int render_single(const struct canvas *cv, const struct det_cached *it, struct base_rng *rng,
                         const struct det_aug *a, struct det_box *boxes, int cap)
{
    int s = cv->size;
    struct placement p = {.x1 = s, .y1 = s};
    size_placement(&it->img, a ? uniform(rng, a->scale_lo, a->scale_hi) : 1.0f, s, &p);
    if (a) {
        p.ox = rand_offset(rng, 0, s - p.tw);
        p.oy = rand_offset(rng, 0, s - p.th);
        p.flip = base_rng_uniform(rng) < a->flip;
    }
    return draw(cv, it, &p, rng, a, boxes, cap);
}

static int render_mosaic(const struct canvas *cv, const struct det_cache *c, int idx,
                         struct base_rng *rng, const struct det_aug *a, struct det_box *boxes,
                         int cap)
{
    int s = cv->size, n = 0;
    int cx = (int)uniform(rng, 0.25f * s, 0.75f * s), cy = (int)uniform(rng, 0.25f * s, 0.75f * s);
    for (int q = 0; q < 4; q++) {
        const struct det_cached *it = &c->items[q ? (int)base_rng_below(rng, c->n) : idx];
        struct placement p;
        memset(&p, 0, sizeof p);
        size_placement(&it->img, 0.6f * uniform(rng, a->scale_lo, a->scale_hi), s, &p);
        int right = q & 1, bottom = q >> 1;
        p.ox = right ? cx : cx - p.tw;
        p.oy = bottom ? cy : cy - p.th;
        p.x0 = right ? cx : 0, p.x1 = right ? s : cx;
        p.y0 = bottom ? cy : 0, p.y1 = bottom ? s : cy;
        p.flip = base_rng_uniform(rng) < a->flip;
        n += draw(cv, it, &p, rng, a, boxes + n, cap - n);
    }
    return n;
}

int det_render(const struct det_cache *c, int idx, struct base_rng *rng, const struct det_aug *a,
               int size, const float mean[3], const float std[3], float *chw, struct det_box *boxes,
               int cap)
{
    size_t plane = (size_t)size * size;
    for (int ch = 0; ch < 3; ch++) {
        float pad = ((float)DET_PAD / 255.0f - mean[ch]) / std[ch];
        for (size_t i = 0; i < plane; i++)
            chw[ch * plane + i] = pad;
    }
    struct canvas cv = {size,
                        mean,
                        std,
                        chw,
                        base_alloc((size_t)size * sizeof(int)),
                        base_alloc((size_t)size * sizeof(int)),
                        base_alloc((size_t)size * sizeof(float)),
                        base_alloc((size_t)size * sizeof(float))};
    int n = a && c->n > 1 && base_rng_uniform(rng) < a->mosaic
                ? render_mosaic(&cv, c, idx, rng, a, boxes, cap)
                : render_single(&cv, &c->items[idx], rng, a, boxes, cap);
    base_free(cv.xi);
    base_free(cv.yi);
    base_free(cv.xf);
    base_free(cv.yf);
    return n;
}
