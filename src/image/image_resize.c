/* Resizing and letterboxing. A separable resampler with per-axis tap tables: exact area averaging
 * when shrinking (no aliasing from scaled-down photos), bilinear when enlarging. The letterbox map
 * is kept so detector boxes can be carried back to the original picture's pixels. */
#include "image_int.h"

#include <math.h>
#include <string.h>

/* For each output coordinate: the first source index and `max` weights (unused ones are 0). */
struct taps {
    int max;
    int *first;
    float *w;
};

static void taps_area(int src, int dst, struct taps *t)
{
    double scale = (double)src / dst;
    for (int i = 0; i < dst; i++) {
        double lo = i * scale, hi = (i + 1) * scale;
        int j0 = (int)floor(lo);
        t->first[i] = j0;
        for (int k = 0; k < t->max; k++) {
            int j = j0 + k;
            double a = fmax(lo, j), b = fmin(hi, j + 1.0);
            t->w[i * t->max + k] = j < src && b > a ? (float)((b - a) / scale) : 0.0f;
        }
    }
}

static void taps_bilinear(int src, int dst, struct taps *t)
{
    double scale = (double)src / dst;
    for (int i = 0; i < dst; i++) {
        double c = fmin(fmax((i + 0.5) * scale - 0.5, 0.0), src - 1.0);
        int j0 = (int)floor(c);
        if (j0 > src - 2)
            j0 = src > 1 ? src - 2 : 0;
        float f = src > 1 ? (float)(c - j0) : 0.0f;
        t->first[i] = j0;
        t->w[i * t->max] = 1.0f - f;
        t->w[i * t->max + 1] = f;
    }
}

static void taps_init(struct taps *t, int src, int dst, enum image_filter f)
{
    int area = f == IMAGE_FILTER_AREA && src > dst;
    t->max = area ? (int)ceil((double)src / dst) + 1 : 2;
    t->first = base_alloc((size_t)dst * sizeof *t->first);
    t->w = base_calloc((size_t)dst * (size_t)t->max, sizeof *t->w);
    if (area)
        taps_area(src, dst, t);
    else
        taps_bilinear(src, dst, t);
}

static void taps_release(struct taps *t)
{
    base_free(t->first);
    base_free(t->w);
}

/* A tap may point one past the last source pixel with weight 0; clamp the read index. */
static inline int clampi(int v, int hi)
{
    return v > hi ? hi : v;
}

static void pass_rows(const struct image *src, const struct taps *tx, int dw, float *tmp)
{
    for (int y = 0; y < src->height; y++) {
        const uint8_t *row = src->pixels + (size_t)y * src->width * 3;
        float *out = tmp + (size_t)y * dw * 3;
        for (int x = 0; x < dw; x++) {
            float acc[3] = {0, 0, 0};
            const float *w = tx->w + (size_t)x * tx->max;
            for (int k = 0; k < tx->max; k++) {
                const uint8_t *p = row + (size_t)clampi(tx->first[x] + k, src->width - 1) * 3;
                acc[0] += w[k] * p[0], acc[1] += w[k] * p[1], acc[2] += w[k] * p[2];
            }
            memcpy(out + (size_t)x * 3, acc, sizeof acc);
        }
    }
}

static void pass_cols(const float *tmp, int sh, const struct taps *ty, struct image *dst)
{
    size_t n = (size_t)dst->width * 3;
    float *acc = base_alloc(n * sizeof *acc);
    for (int y = 0; y < dst->height; y++) {
        memset(acc, 0, n * sizeof *acc);
        for (int k = 0; k < ty->max; k++) {
            float w = ty->w[(size_t)y * ty->max + k];
            const float *row = tmp + (size_t)clampi(ty->first[y] + k, sh - 1) * n;
            for (size_t i = 0; w != 0.0f && i < n; i++)
                acc[i] += w * row[i];
        }
        uint8_t *out = dst->pixels + (size_t)y * n;
        for (size_t i = 0; i < n; i++) {
            float v = acc[i] + 0.5f;
            out[i] = (uint8_t)(v < 0.0f ? 0 : v > 255.0f ? 255 : (int)v);
        }
    }
    base_free(acc);
}

int image_resize(const struct image *src, int width, int height, enum image_filter filter,
                 struct image *dst, struct base_err *err)
{
    memset(dst, 0, sizeof *dst);
    if (!src || !src->pixels || src->width < 1 || src->height < 1)
        return base_err_set(err, BASE_E_INVALID, "resize: empty source image");
    if (image_alloc(dst, width, height, err))
        return -1;
    struct taps tx, ty;
    taps_init(&tx, src->width, width, filter);
    taps_init(&ty, src->height, height, filter);
    float *tmp = base_alloc((size_t)src->height * (size_t)width * 3 * sizeof *tmp);
    pass_rows(src, &tx, width, tmp);
    pass_cols(tmp, src->height, &ty, dst);
    base_free(tmp);
    taps_release(&tx);
    taps_release(&ty);
    return 0;
}

void image_letterbox_plan(int src_width, int src_height, int width, int height,
                          struct image_letterbox *m)
{
    memset(m, 0, sizeof *m);
    if (src_width < 1 || src_height < 1 || width < 1 || height < 1)
        return;
    double s = fmin((double)width / src_width, (double)height / src_height);
    long cw = lround(src_width * s), ch = lround(src_height * s);
    m->content_width = (int)(cw < 1 ? 1 : cw > width ? width : cw);
    m->content_height = (int)(ch < 1 ? 1 : ch > height ? height : ch);
    m->scale_x = (float)m->content_width / (float)src_width;
    m->scale_y = (float)m->content_height / (float)src_height;
    m->src_width = src_width;
    m->src_height = src_height;
    m->width = width;
    m->height = height;
}

static void blit(const struct image *src, struct image *dst, int x0, int y0)
{
    for (int y = 0; y < src->height; y++)
        memcpy(dst->pixels + ((size_t)(y0 + y) * dst->width + x0) * 3,
               src->pixels + (size_t)y * src->width * 3, (size_t)src->width * 3);
}

int image_letterbox(const struct image *src, int width, int height, uint8_t fill, struct image *dst,
                    struct image_letterbox *map, struct base_err *err)
{
    memset(dst, 0, sizeof *dst);
    if (!src || !src->pixels || src->width < 1 || src->height < 1)
        return base_err_set(err, BASE_E_INVALID, "letterbox: empty source image");
    image_letterbox_plan(src->width, src->height, width, height, map);
    if (image_alloc(dst, width, height, err))
        return -1;
    memset(dst->pixels, fill, (size_t)width * (size_t)height * 3);
    if (map->content_width == src->width && map->content_height == src->height) {
        blit(src, dst, (int)map->pad_x, (int)map->pad_y);
        return 0;
    }
    struct image scaled;
    if (image_resize(src, map->content_width, map->content_height, IMAGE_FILTER_AREA, &scaled,
                     err)) {
        image_release(dst);
        return -1;
    }
    blit(&scaled, dst, (int)map->pad_x, (int)map->pad_y);
    image_release(&scaled);
    return 0;
}

void image_letterbox_to_src(const struct image_letterbox *m, float *x, float *y)
{
    *x = (*x - m->pad_x) / m->scale_x;
    *y = (*y - m->pad_y) / m->scale_y;
}

void image_letterbox_from_src(const struct image_letterbox *m, float *x, float *y)
{
    *x = *x * m->scale_x + m->pad_x;
    *y = *y * m->scale_y + m->pad_y;
}
