/* FCOS target assignment: which feature-map location learns which box. A location is positive
 * for a box when it lies inside the box's central region (centre sampling: radius * stride around
 * the box centre, clipped to the box) and the box's largest distance from it falls in the level's
 * size range; among several such boxes the smallest wins, as in FCOS. */
#include "det_int.h"

#include <math.h>
#include <string.h>

void det_geom_init(struct det_geom *g, int width, int height, int nlevels, const int *strides,
                   const float *ranges, float radius)
{
    BASE_ASSERT(nlevels >= 1 && nlevels <= DET_MAX_LEVELS);
    memset(g, 0, sizeof *g);
    g->width = width;
    g->height = height;
    g->nlevels = nlevels;
    g->radius = radius;
    for (int i = 0; i < nlevels; i++) {
        struct det_level *l = &g->lv[i];
        l->stride = strides[i];
        l->w = (width + strides[i] - 1) / strides[i];
        l->h = (height + strides[i] - 1) / strides[i];
        l->offset = g->npoints;
        l->lo = i == 0 ? -1.0f : ranges[i - 1];
        l->hi = i == nlevels - 1 ? DET_INF : ranges[i];
        g->npoints += l->w * l->h;
    }
}

float det_centerness(float l, float t, float r, float b)
{
    float lr = fminf(l, r) / fmaxf(l, r), tb = fminf(t, b) / fmaxf(t, b);
    return sqrtf(lr * tb);
}

/* Whether point (x, y) of a level of stride s may learn box b: returns its distances in d. */
static int point_fits(const struct det_geom *g, const struct det_level *lv, float x, float y,
                      const struct det_box *b, float d[4])
{
    d[0] = x - b->x0, d[1] = y - b->y0, d[2] = b->x1 - x, d[3] = b->y1 - y;
    if (fminf(fminf(d[0], d[1]), fminf(d[2], d[3])) <= 0.0f)
        return 0;
    float m = fmaxf(fmaxf(d[0], d[1]), fmaxf(d[2], d[3]));
    if (m <= lv->lo || m > lv->hi)
        return 0;
    if (g->radius <= 0.0f)
        return 1;
    float cx = 0.5f * (b->x0 + b->x1), cy = 0.5f * (b->y0 + b->y1), r = g->radius * lv->stride;
    float cx0 = fmaxf(cx - r, b->x0), cy0 = fmaxf(cy - r, b->y0);
    float cx1 = fminf(cx + r, b->x1), cy1 = fminf(cy + r, b->y1);
    return x > cx0 && y > cy0 && x < cx1 && y < cy1;
}

static void assign_point(const struct det_geom *g, const struct det_level *lv, int p, float x,
                         float y, const struct det_box *gt, int ngt, int *labels, float *ltrb,
                         float *ctr)
{
    float best = DET_INF, d[4];
    labels[p] = -1;
    ctr[p] = 0.0f;
    memset(ltrb + 4 * (size_t)p, 0, 4 * sizeof *ltrb);
    for (int k = 0; k < ngt; k++) {
        const struct det_box *b = &gt[k];
        float area = (b->x1 - b->x0) * (b->y1 - b->y0);
        if (!(b->x1 - b->x0 > 0.0f && b->y1 - b->y0 > 0.0f) || area >= best)
            continue;
        if (!point_fits(g, lv, x, y, b, d))
            continue;
        best = area;
        labels[p] = b->label;
        memcpy(ltrb + 4 * (size_t)p, d, sizeof d);
        ctr[p] = det_centerness(d[0], d[1], d[2], d[3]);
    }
}

int det_assign(const struct det_geom *g, const struct det_box *gt, int ngt, int *labels,
               float *ltrb, float *ctr)
{
    int npos = 0;
    for (int li = 0; li < g->nlevels; li++) {
        const struct det_level *lv = &g->lv[li];
        for (int i = 0; i < lv->h; i++) {
            for (int j = 0; j < lv->w; j++) {
                int p = lv->offset + i * lv->w + j;
                float x = (j + 0.5f) * lv->stride, y = (i + 0.5f) * lv->stride;
                assign_point(g, lv, p, x, y, gt, ngt, labels, ltrb, ctr);
                npos += labels[p] >= 0;
            }
        }
    }
    return npos;
}
