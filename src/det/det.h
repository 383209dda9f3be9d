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

/* ---- data sets ------------------------------------------------------------------------------- */

/* One training image: its file, its size as displayed and its boxes (pixels of that size). */
struct det_sample {
    char *path;
    int width, height;
    struct det_box *boxes;
    int nboxes;
};

/* Images with boxes and the class names the boxes' labels index. Built by the caller (the CLI
 * from the formats module's readers, the loop from the store); owned by the data set. */
struct det_dataset {
    char **classes;
    int nclasses;
    struct det_sample *samples;
    int nsamples;
};

/* An empty data set with these class names (copied; names must be unique and non-empty).
 * Errors: BASE_E_INVALID. */
struct det_dataset *det_dataset_new(const char *const *classes, int nclasses,
                                    struct base_err *err);
void det_dataset_free(struct det_dataset *d);
/* Appends an image. Boxes are copied, clamped to the image and their labels checked against the
 * classes; boxes with no area after clamping are dropped. width/height <= 0 means "read from
 * the image header when loaded". Errors: BASE_E_INVALID (bad label, NULL path). */
int det_dataset_add(struct det_dataset *d, const char *path, int width, int height,
                    const struct det_box *boxes, int nboxes, struct base_err *err);
/* Splits by image: samples sorted by path, shuffled by a base_rng seeded with `seed`; the first
 * round(val_fraction * n) become *val, the rest *train (both new data sets with the same
 * classes; *val is empty for val_fraction 0). Errors: BASE_E_INVALID for a fraction outside
 * [0, 1) or a split that leaves training empty. */
int det_dataset_split(const struct det_dataset *d, double val_fraction, uint64_t seed,
                      struct det_dataset **train, struct det_dataset **val, struct base_err *err);
/* A 16-hex-digit fingerprint of classes, image paths and boxes (FNV-1a 64), recorded in model
 * files so a model can say what it was trained on. */
void det_dataset_fingerprint(const struct det_dataset *d, char out[17]);

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
