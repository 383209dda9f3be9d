/* Shared between the files of src/det: the feature-level geometry, FCOS target assignment, box
 * coding, losses, non-maximum suppression and post-processing. Pure C on plain arrays, so each
 * piece is unit-tested by hand-computed cases without the network. */
#ifndef LL_DET_INT_H
#define LL_DET_INT_H

#include "det.h"

#define DET_MAX_LEVELS  5
#define DET_MAX_CLASSES 10000

/* Class names must be 1..DET_MAX_CLASSES non-empty, unique strings. */
int det_check_classes(const char *const *classes, int n, struct base_err *err);
#define DET_INF 1e8f

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

/* Box coding: the head predicts the distances from a location to the box sides in units of the
 * level's stride (as exp of its raw output, so always positive). */
void det_encode(const float ltrb[4], int stride, float d[4]);
void det_decode_point(float px, float py, const float d[4], int stride, struct det_box *out);

/* IoU of two corner boxes (0 when either is empty). */
float det_iou(const struct det_box *a, const struct det_box *b);

/* Sorts boxes by score (descending, stable) and removes, class by class, every box overlapping a
 * higher-scored box of the same class by more than iou_thr. Keeps at most max_keep. Returns the
 * number kept, compacted at the front of `boxes`. */
int det_nms(struct det_box *boxes, int n, float iou_thr, int max_keep);

/* Post-processing of one image's head outputs (per level: cls [C][h][w] logits, reg
 * [4][h][w] distances in strides, ctr [h][w] logits; `cls`, `reg`, `ctr` point at the image's data
 * of each level, laid out as the levels in g). score = sqrt(sigmoid(cls) * sigmoid(ctr)); keeps
 * scores >= score_thr, the best pre_nms per level, then per-class NMS and max_det. Boxes are in
 * input pixels, clipped to the input. Returns the count written to out (capacity max_det). */
struct det_head_out {
    const float *cls[DET_MAX_LEVELS];
    const float *reg[DET_MAX_LEVELS];
    const float *ctr[DET_MAX_LEVELS];
};
int det_postprocess(const struct det_geom *g, int nclasses, const struct det_head_out *o,
                    float score_thr, int pre_nms, float nms_thr, int max_det, struct det_box *out);

/* ---- the network ------------------------------------------------------------------------------
 */

#include "nn/nn.h"

/* An architecture: a residual backbone with stages at strides 4, 8, 16, 32 (batch norm, ReLU),
 * an FPN of `fpn` channels on strides 8/16/32, and a head shared by the levels (group norm)
 * with towers of head_convs convolutions for classes and for boxes + centerness. */
struct det_arch {
    const char *name;
    int stem;
    int width[4];
    int blocks[4];
    int fpn;
    int head_convs;
    int gn_groups;
    float lr;   /* peak SGD learning rate at batch 16 */
    int mv3;    /* the pretrained MobileNetV3 backbone (det_mv3.c) instead of stem/width/blocks */
    int frozen; /* mv3: its weights stay as pretrained (not trained) */
    int zoo;    /* a zero-shot model of the zoo (det_zoo.c), not FCOS: inference only; its networks
                 (DET_ZOO_CN, DET_ZOO_FACE, DET_ZOO_FB) */
};

struct det_model {
    const struct det_arch *arch;
    struct nn_model *nn;
    struct det_model_info info;
    char **classes;
    char fingerprint[17];
    int *zoo_map; /* a zoo model opened for a project's labels: zoo class -> class, or -1 */
};

#define DET_NLEVELS 3
extern const int det_strides[DET_NLEVELS];
extern const float det_ranges[DET_NLEVELS - 1];
#define DET_RADIUS 1.5f

/* Graph output indexes of level l: classes 3l, distances 3l+1, centerness 3l+2. */
#define DET_OUT_CLS(l) (3 * (l))
#define DET_OUT_REG(l) (3 * (l) + 1)
#define DET_OUT_CTR(l) (3 * (l) + 2)

/* Declares the network on g for n pictures of size x size (input 0). Distances come out as
 * exp(scale_l * v) in stride units. Returns -1 with the graph's first error. */
int det_build(const struct det_model *m, struct nn_graph *g, int n, int size);
void det_model_geom(const struct det_model *m, int size, struct det_geom *g);
/* The architecture of this name, or NULL. */
const struct det_arch *det_find_arch(const char *name);
/* The pretrained MobileNetV3 backbone (det_mv3.c): declares it on g reading x (raw RGB 0..255)
 * and returns the taps at strides 8, 16, 32 in c[0..2]; det_mv3_load copies the weights that
 * `labelloop model import-tfjs` converted from the TF.js centernet model into dm. */
#define DET_MV3_FILE "centernet.safetensors"
void det_mv3_backbone(struct nn_graph *g, const struct det_arch *a, int x, int c[3]);
/* The same with the stride-4 tap (expanded_conv_3/expand/Relu, 72 channels) first: c[0..3]. */
void det_mv3_backbone4(struct nn_graph *g, const struct det_arch *a, int x, int c[4]);
int det_mv3_load(struct det_model *dm, const char *path, struct base_err *err);
/* Copies one converted TF convolution (HWIO, depthwise HW C 1) into ours ("<ours>.weight",
 * ".bias"; tf_b NULL for a convolution without bias), weights and bias times `scale`. */
int det_tf_load_conv(struct nn_model *m, const struct nn_ckpt *c, const char *path,
                     const char *ours, const char *tf_w, const char *tf_b, int depthwise,
                     float scale, struct base_err *err);
/* A scalar constant of the converted graph. */
int det_tf_scalar(const struct nn_ckpt *c, const char *path, const char *name, float *out,
                  struct base_err *err);
/* A convolution followed by TF's CReLU (concat(x, -x)): ours has twice the TF convolution's
 * outputs, the second half with its weights and bias negated, so that the concatenation is one
 * convolution. */
int det_tf_load_crelu(struct nn_model *m, const struct nn_ckpt *c, const char *path,
                      const char *ours, const char *tf_w, const char *tf_b, struct base_err *err);

/* ---- the zoo (det_zoo.c): zero-shot models from the TF.js graphs, inference only ---------- */

#define DET_ZOO_PREFIX    "zoo:"
#define DET_ZOO_CN        1 /* the COCO CenterNet */
#define DET_ZOO_FACE      2 /* BlazeFace */
#define DET_ZOO_FB        4 /* FaceBoxes */
#define DET_ZOO_FACES_ANY (DET_ZOO_FACE | DET_ZOO_FB)
#define DET_ZOO_TOPK      100
/* A zoo model by its spec without the "zoo:" prefix (det.h: a name, then optional label lines),
 * loaded. Errors: BASE_E_NOTFOUND for an unknown name or a missing converted file,
 * BASE_E_INVALID for a bad label line. */
struct det_model *det_zoo_open(const char *spec, struct base_err *err);
int det_zoo_build(const struct det_model *m, struct nn_graph *g, int n, int size);
/* The graph's own `detections` of picture i: DET_ZOO_TOPK rows of x0, y0, x1, y1 (input
 * pixels), score, class, best first, as TF's peak picking (3x3 max pool), top-K and offsets. */
void det_zoo_detections(const struct det_model *m, struct nn_graph *graph, int i, int size,
                        float *rows);
/* The predictor's decoding: those rows above the score threshold, per-class NMS, max_det. */
int det_zoo_decode(const struct det_model *m, struct nn_graph *graph, int i, int size,
                   const struct det_predict_opts *o, struct det_box *out);
/* The zoo's face detector (det_zoo_face.c, BlazeFace): declared on g reading x (raw RGB 0..255
 * at `size`, 256 or 512: at 512 it sees a 2x2 average), four outputs after those already
 * declared (scores and regressors at strides 16 and 32); det_zoo_face_load copies its weights
 * from the converted file for that size; det_zoo_face_rows decodes picture i's DET_FACE_ANCHORS
 * rows of x0, y0, x1, y1 (pixels at `size`), score from the outputs starting at out0. */
#define DET_FACE_FILE    "blazeface-back.safetensors"
#define DET_FACE_SIZE    256
#define DET_FACE_ANCHORS 896
void det_zoo_face_build(struct nn_graph *g, int x, int size);
int det_zoo_face_load(struct det_model *dm, const char *path, int size, struct base_err *err);
void det_zoo_face_rows(struct nn_graph *graph, int out0, int i, int size, float *rows);
/* The zoo's other face detector (det_zoo_faceboxes.c, FaceBoxes): declared on g reading x (raw
 * RGB 0..255, a size that is a multiple of 128), its six outputs (scores and box offsets at
 * strides 32, 64, 128); det_zoo_faceboxes_load copies its weights from the converted file;
 * det_zoo_faceboxes_rows decodes picture i's det_zoo_faceboxes_anchors(size) anchors as the
 * graph does into rows of x0, y0, x1, y1 (input pixels) and the face's probability. */
#define DET_FB_FILE "faceboxes.safetensors"
#define DET_FB_SIZE 512
void det_zoo_faceboxes_build(struct nn_graph *g, int x);
int det_zoo_faceboxes_load(struct det_model *dm, const char *path, struct base_err *err);
int det_zoo_faceboxes_anchors(int size);
void det_zoo_faceboxes_rows(struct nn_graph *graph, int out0, int i, int size, float *rows);
/* Path of a pretrained file: $LL_MODEL_DIR/FILE, else models/FILE next to the program or one
 * folder up. Errors: BASE_E_NOTFOUND saying where it looked and how to get it. */
int det_zoo_path(const char *file, char *out, size_t cap, struct base_err *err);

/* A new model around an nn model of the architecture (allocated and initialised). */
struct det_model *det_model_create(const struct det_arch *a, const char *const *classes,
                                   int nclasses, int size, uint64_t seed, struct base_err *err);

/* ---- training data -----------------------------------------------------------------------------
 */

/* Pad grey of letterboxes and augmented canvases (close to the normalisation mean). */
#define DET_PAD 114

/* A training image decoded once, shrunk so its longer side is the training size, with its boxes
 * in those pixels. */
struct det_cached {
    struct image img;
    struct det_box *boxes;
    int nboxes;
    int src_width, src_height; /* the displayed size the data set's boxes refer to */
    int sample;                /* its index in the data set */
};

struct det_cache {
    int size;
    int n;
    int max_boxes;
    int skipped; /* samples left out: their file could not be read or decoded */
    struct det_cached *items;
};

/* Decodes every sample of d (JPEG scaled DCT, EXIF orientation) at `size`. A sample whose file
 * cannot be read or decoded is left out with a warning (counted in c->skipped); a truncated one
 * is kept with a warning. `cancel` (may be NULL) is polled between images. Errors:
 * BASE_E_CANCELLED when cancelled, or what det_image_skippable does not skip. */
int det_cache_load(struct det_cache *c, const struct det_dataset *d, int size,
                   const volatile int *cancel, struct base_err *err);

/* Reads and decodes one image file fitted to size x size (image_load_fit), warning when the file
 * is truncated. Error messages start with the path. */
int det_read_image(const char *path, int size, int enlarge, struct image *img,
                   struct image_info *info, struct base_err *err);
/* Whether an error of det_read_image is the file's fault (unreadable, corrupt, unsupported, too
 * big), so that the image is skipped and the batch goes on, rather than a failure of the whole
 * call (memory, cancellation, a library fault). */
int det_image_skippable(const struct base_err *err);
/* Logs that the image of this det_read_image error is skipped. */
void det_warn_skipped(const struct base_err *err);
void det_cache_release(struct det_cache *c);

/* Augmentation: random scale in [scale_lo, scale_hi] of the fitted size with a random placement
 * (crop or pad), horizontal flip with probability `flip`, brightness/contrast/saturation jitter
 * of amplitude `jitter`, a 2x2 mosaic of four images with probability `mosaic` (in the first
 * `mosaic_batches` batches of a loader when that is set). Boxes cut to
 * less than min_visible of their area, or under 2 pixels a side, are dropped. */
struct det_aug {
    float scale_lo, scale_hi;
    float flip;
    float jitter;
    float mosaic;
    float min_visible;
    long mosaic_batches; /* mosaic only in the loader's first N batches (0: in all) */
};

/* Renders sample idx (augmented when a != NULL, else plainly letterboxed) into a size x size
 * normalised CHW float picture and writes its boxes (at most cap; 4 * c->max_boxes suffices).
 * Returns the number of boxes. */
int det_render(const struct det_cache *c, int idx, struct base_rng *rng, const struct det_aug *a,
               int size, const float mean[3], const float std[3], float *chw, struct det_box *boxes,
               int cap);

/* A positive location of a batch: image, level, index in the level, targets in stride units. */
struct det_pos {
    int img, level, p, label;
    float ltrb[4];
    float ctr;
};

/* One training batch: the network input and the FCOS targets in the layout of the head outputs
 * (per level, [n][nclasses][h*w] for classes). */
struct det_batch {
    int n, size, nclasses;
    float *input;
    float *cls_t[DET_MAX_LEVELS];
    int npos;
    struct det_pos *pos;
    int nboxes; /* ground-truth boxes left after augmentation */
};

void det_batch_init(struct det_batch *b, const struct det_geom *g, int n, int nclasses);
void det_batch_release(struct det_batch *b);
/* Renders samples idx[0..n-1] (each with its own generator seeded from seeds[i]) and assigns
 * their targets. a == NULL renders plain letterboxes. */
void det_batch_fill(struct det_batch *b, const struct det_geom *g, const struct det_cache *c,
                    const int *idx, const uint64_t *seeds, const struct det_aug *a,
                    const float mean[3], const float std[3]);

/* A background thread preparing the next batches of an endless stream: epoch e visits the
 * cache in the order of a shuffle seeded by (seed, e); batch k renders stream items
 * [k*n, (k+1)*n) with augmentation seeded by (seed, item). The stream is the same whatever the
 * thread timing, so training is reproducible. */
struct det_loader;

struct det_loader *det_loader_new(const struct det_cache *c, const struct det_geom *g, int nclasses,
                                  int batch, uint64_t seed, const struct det_aug *a,
                                  const float mean[3], const float std[3]);
/* Waits for batch k (k = 0, 1, ... in order) and returns it; it stays valid until the next call.
 */
const struct det_batch *det_loader_next(struct det_loader *l);
/* Batches not yet rendered render without mosaic from now on: the trainer's cut-off when its
 * schedule follows the clock. The batch already prepared ahead keeps what it has. */
void det_loader_end_mosaic(struct det_loader *l);
/* Stops the thread and frees everything. Accepts NULL. */
void det_loader_free(struct det_loader *l);

/* ---- losses and inference internals ------------------------------------------------------------
 */

struct det_loss_parts {
    double cls, box, ctr;
    int npos;
};

/* Scratch of det_loss for batches of n images: positives, gathers and quality targets. */
struct det_loss_buf {
    size_t cap; /* positives it holds: n * g->npoints + 1 */
    float *pred, *tgt, *gbox, *w, *logit, *gctr, *iou, *cls_t;
};

void det_loss_buf_init(struct det_loss_buf *lb, const struct det_geom *g, int n, int nclasses);
void det_loss_buf_release(struct det_loss_buf *lb);

/* FCOS losses of a batch over the graph's outputs (after forward), writing every output's
 * gradient: the class loss (kind) / max(npos, 1), GIoU on the positives' distances weighted by
 * their centerness targets / their sum, centerness BCE on the positives / max(npos, 1). lb
 * must have been sized for the batch's n; nothing is allocated. */
void det_loss(const struct det_batch *b, const struct det_geom *g, struct nn_graph *graph,
              enum det_cls_loss kind, struct det_loss_buf *lb, struct det_loss_parts *out);

/* Normalised CHW input of one picture letterboxed to size (map receives the coordinates). */
int det_prepare(const struct det_model *m, const struct image *img, int size, float *chw,
                struct image_letterbox *map, struct base_err *err);
/* Post-processes image i of a forward pass of an inference graph, boxes in input pixels.
 * Returns the count written to out (capacity opts->max_det). */
int det_decode_outputs(const struct det_model *m, struct nn_graph *graph, int i, int size,
                       const struct det_predict_opts *opts, struct det_box *out);
/* Boxes from input pixels back to the picture's, clipped to it. */
void det_unletterbox(const struct image_letterbox *map, struct det_box *b, int n);
void det_predict_defaults(const struct det_predict_opts *in, struct det_predict_opts *out);

#endif
