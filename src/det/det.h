/* det: the built-in object detector. An FCOS model (per-location classes, box distances and
 * centerness over FPN levels at strides 8/16/32) trained from scratch on the CPU by the nn engine,
 * with its data pipeline, inference and COCO-style evaluation. Boxes are in pixels of the picture
 * as displayed (EXIF orientation applied); classes are indexes into a list of names. */
#ifndef LL_DET_H
#define LL_DET_H

#include "base/base.h"
#include "image/image.h"

#include <stddef.h>
#include <stdint.h>

/* ---- boxes ----------------------------------------------------------------------------------- */

/* A corner box in pixels (x0 <= x1, y0 <= y1) with a class index and, for predictions, a score
 * in [0, 1] (ground truth uses 1). */
struct det_box {
    float x0, y0, x1, y1;
    int label;
    float score;
};

/* ---- evaluation ------------------------------------------------------------------------------ */

/* One image's ground truth and detections for the evaluator. */
struct det_eval_image {
    const struct det_box *gt;
    int ngt;
    const struct det_box *dt;
    int ndt;
};

/* COCO's twelve summary numbers plus per-class AP. -1 marks "undefined" (no ground truth in that
 * class or area range), as pycocotools prints it. */
struct det_metrics {
    double ap, ap50, ap75; /* AP@[.5:.95], AP@.5, AP@.75; all areas, 100 detections */
    double ap_small, ap_medium, ap_large;
    double ar1, ar10, ar100; /* recall averaged over IoU thresholds, 1/10/100 dets */
    double ar_small, ar_medium, ar_large;
    int nclasses;
    double *class_ap;   /* [nclasses] AP@[.5:.95] per class, -1 without ground truth */
    double *class_ap50; /* [nclasses] AP@.5 per class */
};

/* COCO-style box evaluation with pycocotools' semantics: IoU thresholds .50:.05:.95, 101-point
 * interpolated precision, area ranges small < 32^2 <= medium < 96^2 <= large (by box area),
 * at most 100 detections per image and class (by score), greedy matching in score order.
 * Labels outside [0, nclasses) are an error (BASE_E_INVALID). *out is released with
 * det_metrics_release. Thread-safe. */
int det_evaluate(const struct det_eval_image *images, int nimages, int nclasses,
                 struct det_metrics *out, struct base_err *err);
void det_metrics_release(struct det_metrics *m);

#endif
