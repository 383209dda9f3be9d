/* Box arithmetic of the detector: distance coding, IoU, per-class non-maximum suppression and the
 * post-processing that turns head outputs into scored boxes. */
#include "det_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void det_encode(const float ltrb[4], int stride, float d[4])
{
    for (int k = 0; k < 4; k++)
        d[k] = ltrb[k] / (float)stride;
}

/* A wild distance (the head's exp overflowing early in training) is capped to stay finite. */
void det_decode_point(float px, float py, const float d[4], int stride, struct det_box *out)
{
    float s = (float)stride, v[4];
    for (int k = 0; k < 4; k++)
        v[k] = s * fminf(isfinite(d[k]) ? d[k] : 1e4f, 1e4f);
    out->x0 = px - v[0];
    out->y0 = py - v[1];
    out->x1 = px + v[2];
    out->y1 = py + v[3];
}

float det_iou(const struct det_box *a, const struct det_box *b)
{
    float iw = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
    float ih = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
    if (iw <= 0.0f || ih <= 0.0f)
        return 0.0f;
    float inter = iw * ih;
    float u = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
    return u > 0.0f ? inter / u : 0.0f;
}

/* qsort is not stable; ties keep their input order through the index. */
struct ranked {
    float score;
    int index;
};

static int by_score_desc(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Stable sort of boxes by descending score. */
static void sort_boxes(struct det_box *boxes, int n)
{
    struct ranked *r = base_alloc((size_t)n * sizeof *r);
    for (int i = 0; i < n; i++)
        r[i] = (struct ranked){boxes[i].score, i};
    qsort(r, (size_t)n, sizeof *r, by_score_desc);
    struct det_box *tmp = base_alloc((size_t)n * sizeof *tmp);
    for (int i = 0; i < n; i++)
        tmp[i] = boxes[r[i].index];
    memcpy(boxes, tmp, (size_t)n * sizeof *tmp);
    base_free(tmp);
    base_free(r);
}

int det_nms(struct det_box *boxes, int n, float iou_thr, int max_keep)
{
    if (n <= 0)
        return 0;
    sort_boxes(boxes, n);
    int kept = 0;
    for (int i = 0; i < n && kept < max_keep; i++) {
        int keep = 1;
        for (int k = 0; k < kept && keep; k++)
            keep = boxes[k].label != boxes[i].label || det_iou(&boxes[k], &boxes[i]) <= iou_thr;
        if (keep)
            boxes[kept++] = boxes[i];
    }
    return kept;
}

static float sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* Candidates of one level: the pre_nms locations with the best class score, each with every
 * class scoring at least score_thr. Returns the count appended to cand (<= pre_nms * nclasses). */
static int level_candidates(const struct det_geom *g, int li, int nclasses,
                            const struct det_head_out *o, float score_thr, int pre_nms,
                            struct det_box *cand)
{
    const struct det_level *lv = &g->lv[li];
    int hw = lv->w * lv->h, n = 0;
    struct ranked *best = base_alloc((size_t)hw * sizeof *best);
    for (int p = 0; p < hw; p++) {
        float m = o->cls[li][p];
        for (int k = 1; k < nclasses; k++)
            m = fmaxf(m, o->cls[li][(size_t)k * hw + p]);
        best[p] = (struct ranked){sqrtf(sigmoidf(m) * sigmoidf(o->ctr[li][p])), p};
    }
    int npts = hw;
    if (npts > pre_nms) {
        qsort(best, (size_t)hw, sizeof *best, by_score_desc);
        npts = pre_nms;
    }
    for (int i = 0; i < npts; i++) {
        int p = best[i].index;
        float c = sigmoidf(o->ctr[li][p]), d[4];
        for (int q = 0; q < 4; q++)
            d[q] = o->reg[li][(size_t)q * hw + p];
        for (int k = 0; k < nclasses; k++) {
            float s = sqrtf(sigmoidf(o->cls[li][(size_t)k * hw + p]) * c);
            if (s < score_thr)
                continue;
            struct det_box *b = &cand[n++];
            det_decode_point(((float)(p % lv->w) + 0.5f) * lv->stride,
                             ((float)(p / lv->w) + 0.5f) * lv->stride, d, lv->stride, b);
            b->score = s;
            b->label = k;
        }
    }
    base_free(best);
    return n;
}

static void clip_box(struct det_box *b, float w, float h)
{
    b->x0 = fminf(fmaxf(b->x0, 0.0f), w);
    b->x1 = fminf(fmaxf(b->x1, 0.0f), w);
    b->y0 = fminf(fmaxf(b->y0, 0.0f), h);
    b->y1 = fminf(fmaxf(b->y1, 0.0f), h);
}

int det_postprocess(const struct det_geom *g, int nclasses, const struct det_head_out *o,
                    float score_thr, int pre_nms, float nms_thr, int max_det, struct det_box *out)
{
    size_t cap = 0;
    for (int li = 0; li < g->nlevels; li++) {
        size_t hw = (size_t)g->lv[li].w * g->lv[li].h;
        cap += (hw < (size_t)pre_nms ? hw : (size_t)pre_nms) * (size_t)nclasses;
    }
    struct det_box *cand = base_alloc((cap ? cap : 1) * sizeof *cand);
    int n = 0;
    for (int li = 0; li < g->nlevels; li++)
        n += level_candidates(g, li, nclasses, o, score_thr, pre_nms, cand + n);
    for (int i = 0; i < n; i++)
        clip_box(&cand[i], (float)g->width, (float)g->height);
    int kept = det_nms(cand, n, nms_thr, max_det);
    memcpy(out, cand, (size_t)kept * sizeof *out);
    base_free(cand);
    return kept;
}
