/* Shared between the files of src/det: the feature-level geometry, FCOS target assignment, box
 * coding, losses, non-maximum suppression and post-processing. Pure C on plain arrays, so each
 * piece is unit-tested by hand-computed cases without the network. */
#ifndef LL_DET_INT_H
#define LL_DET_INT_H

#include "det.h"

#define DET_MAX_LEVELS 5
#define DET_INF        1e8f

/* One FPN level: locations (x, y) = ((j + 0.5) * stride, (i + 0.5) * stride) for a w x h grid,
 * responsible for objects whose largest ltrb distance lies in (lo, hi]. Points of all levels
 * are concatenated level by level, row-major, starting at `offset`. */
struct det_level {
    int stride;
    int w, h;
    int offset;
    float lo, hi;
};

struct det_geom {
    int width, height; /* network input */
    int nlevels;
    struct det_level lv[DET_MAX_LEVELS];
    int npoints;
    float radius; /* centre sampling radius in strides (0: anywhere inside the box) */
};

/* Levels for an input of width x height with the given strides; level i takes objects whose
 * largest distance is in (ranges[i-1], ranges[i]] (ranges[-1] = -1, last = infinity). */
void det_geom_init(struct det_geom *g, int width, int height, int nlevels, const int *strides,
                   const float *ranges, float radius);

/* FCOS targets for one image. gt boxes are in input pixels; zero-size boxes are skipped.
 * Writes per point: labels[p] (-1 background, else class), ltrb[4p..4p+3] (pixels, distances to
 * the assigned box), ctr[p] (centerness target, 0 for background). Ties go to the smallest box.
 * Returns the number of positive points. */
int det_assign(const struct det_geom *g, const struct det_box *gt, int ngt, int *labels,
               float *ltrb, float *ctr);

/* Centerness of a point with distances l, t, r, b (all > 0). */
float det_centerness(float l, float t, float r, float b);

/* Box coding: the network predicts raw values v with distance = stride * exp(v). */
void det_encode(const float ltrb[4], int stride, float raw[4]);
void det_decode_point(float px, float py, const float raw[4], int stride, struct det_box *out);

/* IoU of two corner boxes (0 when either is empty). */
float det_iou(const struct det_box *a, const struct det_box *b);

/* Sorts boxes by score (descending, stable) and removes, class by class, every box overlapping a
 * higher-scored box of the same class by more than iou_thr. Keeps at most max_keep. Returns the
 * number kept, compacted at the front of `boxes`. */
int det_nms(struct det_box *boxes, int n, float iou_thr, int max_keep);

/* Post-processing of one image's raw head outputs (per level: cls [C][h][w] logits, reg
 * [4][h][w] raw distances, ctr [h][w] logits; `cls`, `reg`, `ctr` point at the image's data of
 * each level, laid out as the levels in g). score = sqrt(sigmoid(cls) * sigmoid(ctr)); keeps
 * scores >= score_thr, the best pre_nms per level, then per-class NMS and max_det. Boxes are in
 * input pixels, clipped to the input. Returns the count written to out (capacity max_det). */
struct det_head_out {
    const float *cls[DET_MAX_LEVELS];
    const float *reg[DET_MAX_LEVELS];
    const float *ctr[DET_MAX_LEVELS];
};
int det_postprocess(const struct det_geom *g, int nclasses, const struct det_head_out *o,
                    float score_thr, int pre_nms, float nms_thr, int max_det, struct det_box *out);

/* ---- losses on flat arrays, with gradients -----------------------------------------------------
 */

/* Sigmoid focal loss summed over n logits x with binary targets t; writes d(loss)/dx * scale into
 * grad (may be NULL). Returns the sum (unscaled). */
double det_focal_loss(const float *x, const float *t, size_t n, float alpha, float gamma,
                      float scale, float *grad);
/* Binary cross-entropy with logits, same conventions. */
double det_bce_loss(const float *x, const float *t, size_t n, float scale, float *grad);
/* GIoU loss 1 - GIoU between a predicted box (from distances d = ltrb > 0 around a point) and a
 * target given by distances. Returns the loss and writes d(loss)/d(d) into grad[4]. */
double det_giou_loss(const float d[4], const float t[4], float grad[4]);

#endif
