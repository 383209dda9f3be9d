/* nn: a small engine for convolutional networks on the CPU. A model holds named float32
 * parameters; a graph, built once per input shape from layer calls, runs forward and backward
 * through a backend (oneDNN, or the plain C reference used as the test oracle). Optimizers,
 * schedules, EMA, losses on flat arrays and safetensors checkpoints complete the training kit. */
#ifndef LL_NN_H
#define LL_NN_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

/* ---- threads --------------------------------------------------------------------------------- */

/* Threads used by the kernels of every graph (oneDNN's and ours): n <= 0 means all cores.
 * Process-wide configuration: call once at start-up, before graphs run. */
void nn_set_num_threads(int n);
int nn_num_threads(void);

/* ---- model: named parameters ----------------------------------------------------------------- */

#define NN_MAX_DIMS 4
#define NN_NAME_MAX 128

enum nn_param_flags {
    NN_PARAM_NO_DECAY = 1u << 0, /* norm weights, biases, scales: optimizers skip weight decay */
    NN_PARAM_BUFFER = 1u << 1,   /* not trained (BN running stats): no gradient, no update */
};

/* A view of one parameter. data/grad point into the model's single parameter block (grad is
 * NULL for buffers and before the model is allocated); valid until the model is freed. */
struct nn_param {
    const char *name;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
    size_t numel;
    unsigned flags;
    float *data;
    float *grad;
};

struct nn_model;

/* A model starts empty; layers declare their parameters (by name) the first time a graph using
 * them is built. The first nn_graph_compile (or nn_model_alloc) allocates every parameter and
 * its gradient in one block, initialises them deterministically from `seed` (PyTorch's default
 * initialisation: Kaiming-uniform conv weights, norm weight 1 and bias 0, running var 1) and
 * freezes the set: later graphs may only reuse parameters, by name, with the same shapes.
 * Not thread-safe while parameters are declared or modified; see nn_graph_forward. */
struct nn_model *nn_model_new(uint64_t seed);
void nn_model_free(struct nn_model *m);
/* Allocates and initialises the declared parameters now (idempotent). */
int nn_model_alloc(struct nn_model *m, struct base_err *err);
/* A new model with the same parameters (names, shapes, flags, values), already allocated. */
struct nn_model *nn_model_clone(const struct nn_model *m);
/* Copies all parameter values of `src` into `dst`; both must have the same parameter set. */
int nn_model_copy(struct nn_model *dst, const struct nn_model *src, struct base_err *err);

int nn_model_param_count(const struct nn_model *m);
/* Index of the parameter with this exact name, or -1. */
int nn_model_find(const struct nn_model *m, const char *name);
/* Fills *p for parameter i (0 <= i < count). */
void nn_model_param(const struct nn_model *m, int i, struct nn_param *p);
/* Total number of trainable scalars (buffers excluded). */
size_t nn_model_numel(const struct nn_model *m);
/* Call after writing parameter values directly through nn_param.data, so that inference graphs
 * refresh their cached (BN-folded, re-laid-out) weights. Optimizers, EMA and loads call it. */
void nn_model_touch(struct nn_model *m);

/* Re-initialisations for individual parameters (after allocation), e.g. FCOS heads:
 * normal(0, 0.01) weights and a classifier bias of nn_prior_bias(0.01). */
int nn_param_init_normal(struct nn_model *m, const char *name, float mean, float std,
                         struct base_rng *rng, struct base_err *err);
/* Kaiming-normal with gain sqrt(2) (ReLU), fan_out mode when fan_out != 0 else fan_in. */
int nn_param_init_kaiming(struct nn_model *m, const char *name, int fan_out, struct base_rng *rng,
                          struct base_err *err);
int nn_param_fill(struct nn_model *m, const char *name, float value, struct base_err *err);
/* -log((1 - p) / p): the bias that makes a sigmoid start at probability p. */
float nn_prior_bias(float p);

/* ---- graph ----------------------------------------------------------------------------------- */

/* Building: each layer call takes tensor ids and returns the id of its output (>= 0), or -1
 * after recording the first error in the graph; later calls then also return -1 and
 * nn_graph_compile reports that first error, so building code need not check every call.
 * Tensors are 4-D NCHW float32 at the API. Names are parameter prefixes ("neck.lat3"): a conv
 * declares "<name>.weight" [out, in/groups, k, k] and "<name>.bias" [out]; batch norm
 * "<name>.weight", ".bias", ".running_mean", ".running_var"; group norm ".weight", ".bias";
 * scale "<name>.scale" [1]. Calling a layer twice with the same name shares its parameters
 * (an FCOS head applied to every level); gradients of shared parameters are summed. */
struct nn_graph;

enum nn_mode {
    NN_TRAIN, /* batch statistics in BN, activations kept for backward */
    NN_INFER, /* running statistics; BN folded into the preceding conv; memory reused */
};

enum nn_backend {
    NN_BACKEND_DEFAULT, /* the fastest available (oneDNN) */
    NN_BACKEND_REF,     /* plain C, float64 inside: slow, the test oracle */
    NN_BACKEND_DNNL,
};

enum nn_act {
    NN_ACT_NONE,
    NN_ACT_RELU,
    NN_ACT_LEAKY_RELU, /* alpha = negative slope */
    NN_ACT_SILU,
    NN_ACT_SIGMOID,
    NN_ACT_EXP,
    NN_ACT_RELU6,       /* min(max(x, 0), 6) */
    NN_ACT_HARDSWISH,   /* x * relu6(x + 3) / 6 (MobileNetV3) */
    NN_ACT_HARDSIGMOID, /* relu6(x + 3) / 6 (MobileNetV3's squeeze-excite gate) */
};

struct nn_conv2d_cfg {
    int out_ch;
    int kernel;   /* square kernel size */
    int stride;   /* 0 means 1 */
    int pad;      /* zero padding on every side */
    int dilation; /* 0 means 1 */
    int groups;   /* 0 means 1; groups == in == out is depthwise */
    int bias;     /* non-zero: add a learnable bias */
    int pad_end;  /* extra zero rows/columns at the bottom and right only: TensorFlow's SAME
                     padding, which is asymmetric at stride 2 (pad 0, pad_end 1 for a 3x3) */
    int frozen;   /* non-zero: weight and bias are constants (NN_PARAM_BUFFER: no gradient, no
                     update, still saved), e.g. a pretrained backbone kept fixed */
};

/* A graph reads and writes the model's parameters in place: the model must outlive it. */
struct nn_graph *nn_graph_new(struct nn_model *m);
/* Frees the graph and its buffers; the model is untouched. Accepts NULL. */
void nn_graph_free(struct nn_graph *g);

/* An input the caller fills before each forward (nn_graph_input). */
int nn_input(struct nn_graph *g, int n, int c, int h, int w);
int nn_conv2d(struct nn_graph *g, const char *name, int x, const struct nn_conv2d_cfg *cfg);
/* eps <= 0 means 1e-5; momentum <= 0 means 0.1 (PyTorch's convention: new = (1-m) old + m batch,
 * running_var from the unbiased batch variance). */
int nn_batch_norm(struct nn_graph *g, const char *name, int x, float eps, float momentum);
/* groups must divide the channels; eps <= 0 means 1e-5. */
int nn_group_norm(struct nn_graph *g, const char *name, int x, int groups, float eps);
int nn_act(struct nn_graph *g, int x, enum nn_act act, float alpha);
int nn_relu(struct nn_graph *g, int x);
int nn_silu(struct nn_graph *g, int x);
int nn_sigmoid(struct nn_graph *g, int x);
/* Max pooling with square window; padded cells never win. */
int nn_max_pool2d(struct nn_graph *g, int x, int kernel, int stride, int pad);
/* Max pooling with TensorFlow's SAME padding: ceil(H / stride) cells, the padding split with the
 * larger half at the bottom and right (a 3x3 window at stride 2 on an even size: none before,
 * one after). Height and width must need the same padding. */
int nn_max_pool2d_same(struct nn_graph *g, int x, int kernel, int stride);
/* Global average pooling: [N, C, H, W] -> [N, C, 1, 1]. */
int nn_global_avg_pool(struct nn_graph *g, int x);
/* Per-channel multiply: x [N, C, H, W] times s [N, C, 1, 1] broadcast over H and W (the
 * squeeze-and-excitation gate). */
int nn_mul_channel(struct nn_graph *g, int x, int s);
/* Nearest-neighbour upsampling by 2 in H and W. */
int nn_upsample2x(struct nn_graph *g, int x);
/* Bilinear upsampling by 2 as TensorFlow's ResizeBilinear without align_corners or half-pixel
 * centres (a zoo model's head): output row j reads input row j / 2, so even rows copy and odd
 * rows average two neighbours, the last repeating. Inference only: a graph where a trained
 * parameter's gradient would cross it fails to compile for training. */
int nn_upsample2x_bilinear(struct nn_graph *g, int x);
/* Element-wise sum of two tensors of the same shape. */
int nn_add(struct nn_graph *g, int a, int b);
/* Concatenation along channels of n (2..8) tensors with equal N, H, W. */
int nn_concat(struct nn_graph *g, const int *xs, int n);
/* y = s * x with one learnable scalar s ("<name>.scale", initialised to init_value). */
int nn_scale(struct nn_graph *g, const char *name, int x, float init_value);
/* Marks x as an output (readable after forward, gradient supplied before backward). Returns the
 * output's index (0, 1, ... in call order). */
int nn_output(struct nn_graph *g, int x);

/* Checks the graph, allocates the model's parameters if needed, plans memory, creates the
 * backend's kernels and touches every buffer once. After this forward, backward and optimizer
 * steps allocate no memory and take no page faults (oneDNN's execute call itself builds a tiny
 * transient argument map on the heap). Errors: the first building error, unsupported shapes, a
 * backend failure (BASE_E_INTERNAL). Compile once; build a new graph for a new input shape. */
int nn_graph_compile(struct nn_graph *g, enum nn_mode mode, enum nn_backend backend,
                     struct base_err *err);

/* Shape of a tensor: n, c, h, w. */
struct nn_shape {
    int n, c, h, w;
};
static inline size_t nn_shape_numel(struct nn_shape s)
{
    return (size_t)s.n * (size_t)s.c * (size_t)s.h * (size_t)s.w;
}

/* After compile: the NCHW buffer of input i (in nn_input call order) that the caller fills;
 * owned by the graph, valid until it is freed. *shape is filled when shape != NULL. */
float *nn_graph_input(struct nn_graph *g, int i, struct nn_shape *shape);
/* Runs the network on the current inputs. In NN_TRAIN mode updates BN running statistics (so a
 * training forward modifies the model). Thread safety: graphs are independent; several threads
 * may each run their own NN_INFER graph on one shared model at the same time as long as nobody
 * modifies the model meanwhile (training forward, optimizer step, load, EMA update into it).
 * One graph must not be used by two threads at once. Each running graph uses nn_num_threads()
 * kernel threads. */
int nn_graph_forward(struct nn_graph *g, struct base_err *err);
/* After forward: output i as NCHW (owned by the graph, overwritten by the next forward). */
const float *nn_graph_output(struct nn_graph *g, int i, struct nn_shape *shape);
/* NN_TRAIN only: the NCHW buffer where the caller writes d loss / d output i before backward.
 * Every output's gradient must be written (zeros for an output without loss). */
float *nn_graph_output_grad(struct nn_graph *g, int i);
/* NN_TRAIN only: back-propagates the output gradients; the gradients of the parameters this graph
 * uses are overwritten (no zeroing needed between steps). */
int nn_graph_backward(struct nn_graph *g, struct base_err *err);

/* Multiply-adds * 2 of one forward pass, and the peak activation memory in bytes. */
double nn_graph_flops(const struct nn_graph *g);
size_t nn_graph_memory(const struct nn_graph *g);
enum nn_backend nn_graph_backend(const struct nn_graph *g);

/* ---- optimizers, schedules, EMA -------------------------------------------------------------- */

enum nn_optim_kind { NN_OPTIM_SGD, NN_OPTIM_ADAMW };

struct nn_optim_cfg {
    enum nn_optim_kind kind;
    float momentum;          /* SGD: 0 for plain SGD */
    int nesterov;            /* SGD: PyTorch's Nesterov form */
    float weight_decay;      /* SGD: L2 added to the gradient; AdamW: decoupled. Never applied to
                                NN_PARAM_NO_DECAY parameters */
    float beta1, beta2, eps; /* AdamW: 0 means 0.9, 0.999, 1e-8 */
};

struct nn_optim;

/* Optimizer state (momentum, moments) for every trainable parameter of m, allocated here. */
struct nn_optim *nn_optim_new(struct nn_model *m, const struct nn_optim_cfg *cfg,
                              struct base_err *err);
void nn_optim_free(struct nn_optim *o);
/* One update of every trainable parameter from its gradient, with learning rate lr. */
void nn_optim_step(struct nn_optim *o, float lr);
/* Scales all gradients so that their global L2 norm is at most max_norm (when max_norm > 0) and
 * returns the norm before clipping. */
double nn_clip_grad_norm(struct nn_model *m, double max_norm);

enum nn_sched_kind { NN_SCHED_CONST, NN_SCHED_COSINE, NN_SCHED_STEP };

struct nn_sched {
    enum nn_sched_kind kind;
    float base_lr;
    long warmup_steps;   /* linear ramp from base_lr * warmup_factor to base_lr */
    float warmup_factor; /* 0 means 0.001 */
    long total_steps;    /* COSINE: anneals to min_lr at total_steps */
    float min_lr;
    long milestones[8]; /* STEP: lr *= gamma at each milestone (ascending; 0 ends the list) */
    float gamma;
};

/* The learning rate at step (0-based). Pure function. */
float nn_sched_lr(const struct nn_sched *s, long step);

/* Exponential moving average of a model's weights, kept in a shadow model of its own:
 * shadow = d * shadow + (1 - d) * value for every parameter (BN running statistics included),
 * with d = decay * (1 - exp(-updates / tau)) when tau > 0 (ramps up early in training). */
struct nn_ema;
struct nn_ema *nn_ema_new(const struct nn_model *m, float decay, float tau);
void nn_ema_free(struct nn_ema *e);
void nn_ema_update(struct nn_ema *e, const struct nn_model *m);
/* The shadow model (owned by the EMA): build graphs on it, save it. */
struct nn_model *nn_ema_model(struct nn_ema *e);

/* ---- losses on flat arrays ------------------------------------------------------------------- */

/* Each returns loss = scale * sum_i w_i * l_i (w_i = 1 when weights is NULL) and, when grad is
 * not NULL, writes d loss / d input into grad (overwriting; same layout as the input). Sums are
 * accumulated in double. Pure functions, thread-safe. */

/* Sigmoid focal loss (Lin et al.): targets in [0, 1]; alpha < 0 disables the alpha weighting. */
double nn_loss_sigmoid_focal(const float *logits, const float *targets, size_t n, float alpha,
                             float gamma, float scale, float *grad);
/* Quality focal loss (Li et al., GFL): |sigmoid(x) - t|^beta * BCE(x, t) with soft targets t in
 * [0, 1] (e.g. the IoU of a positive's predicted box, 0 for background); for binary targets it
 * is the focal loss without alpha weighting. */
double nn_loss_quality_focal(const float *logits, const float *targets, size_t n, float beta,
                             float scale, float *grad);
/* Binary cross-entropy on logits, numerically stable. */
double nn_loss_bce_logits(const float *logits, const float *targets, const float *weights, size_t n,
                          float scale, float *grad);
/* Mean-free L1: |pred - target| per element. The gradient at 0 is 0. */
double nn_loss_l1(const float *pred, const float *target, const float *weights, size_t n,
                  float scale, float *grad);

enum nn_iou_kind {
    NN_IOU_LINEAR, /* 1 - IoU */
    NN_IOU_LOG,    /* -log(IoU) */
    NN_IOU_GIOU,   /* 1 - GIoU */
};
enum nn_box_fmt {
    NN_BOX_XYXY, /* x1, y1, x2, y2 */
    NN_BOX_LTRB, /* distances left, top, right, bottom from a common point (FCOS) */
};
/* Box losses on n boxes of 4 floats each (pred[i*4 + k]); weights has n entries. */
double nn_loss_iou(const float *pred, const float *target, const float *weights, size_t n,
                   enum nn_iou_kind kind, enum nn_box_fmt fmt, float scale, float *grad);

/* ---- checkpoints (safetensors) --------------------------------------------------------------- */

/* Metadata: string key/value pairs stored in the header's "__metadata__" map. */
struct nn_meta {
    const char *key;
    const char *value;
};

/* Writes every parameter (buffers included) as F32 tensors named like the model's parameters,
 * plus the metadata, atomically (temporary file, fsync, rename). */
int nn_model_save(const struct nn_model *m, const char *path, const struct nn_meta *meta,
                  size_t n_meta, struct base_err *err);

/* A checkpoint read into memory and fully validated: header length, JSON, dtypes (F32 only),
 * shapes, offsets (in bounds, non-overlapping, covering the data exactly), unique names, metadata
 * strings. A truncated, corrupt or foreign file is a BASE_E_INVALID/UNSUPPORTED error. */
struct nn_ckpt;

#define NN_CKPT_MAX_BYTES ((size_t)1 << 31)

struct nn_ckpt *nn_ckpt_open(const char *path, struct base_err *err);
/* The same from bytes in memory (copied). */
struct nn_ckpt *nn_ckpt_parse(const void *data, size_t len, struct base_err *err);
void nn_ckpt_free(struct nn_ckpt *c);
/* Value of a metadata key, or NULL. Owned by the checkpoint. */
const char *nn_ckpt_meta(const struct nn_ckpt *c, const char *key);
int nn_ckpt_meta_count(const struct nn_ckpt *c);
void nn_ckpt_meta_at(const struct nn_ckpt *c, int i, const char **key, const char **value);
int nn_ckpt_tensor_count(const struct nn_ckpt *c);
/* Index of a tensor by name, or -1. */
int nn_ckpt_find(const struct nn_ckpt *c, const char *name);
/* Tensor i as a parameter view (data aligned, owned by the checkpoint; grad NULL, flags 0). */
void nn_ckpt_tensor(const struct nn_ckpt *c, int i, struct nn_param *t);

enum nn_load_flags {
    NN_LOAD_STRICT = 0,              /* every parameter present with its shape, nothing extra */
    NN_LOAD_ALLOW_MISSING = 1u << 0, /* model parameters absent from the file keep their values */
    NN_LOAD_ALLOW_UNUSED = 1u << 1,  /* file tensors the model lacks are ignored */
    NN_LOAD_SKIP_MISMATCH = 1u << 2, /* shape mismatches are skipped (warm start) */
};

struct nn_load_report {
    int loaded, missing, unused, mismatched;
};

/* Copies tensors into the model's parameters by name (the model must be allocated). What is not
 * allowed by flags is an error naming the first offending parameter, and then nothing is copied.
 * rep (optional) receives the counts. For a warm start with more classes, load with
 * NN_LOAD_SKIP_MISMATCH and then copy rows with nn_param_copy_rows. */
int nn_model_load(struct nn_model *m, const struct nn_ckpt *c, unsigned flags,
                  struct nn_load_report *rep, struct base_err *err);
/* Whether model parameter i is in c with the same shape (1), with another shape (-1) or absent
 * (0). */
int nn_ckpt_match(const struct nn_ckpt *c, const struct nn_model *m, int i);
/* For parameter `name` of m and tensor `name` of c whose shapes agree except in dim 0: row r
 * of the parameter (a slice along dim 0) becomes row row_map[r] of the tensor for every r with
 * row_map[r] >= 0; other rows are unchanged. row_map has shape[0] entries of the parameter. */
int nn_param_copy_rows(struct nn_model *m, const struct nn_ckpt *c, const char *name,
                       const int *row_map, struct base_err *err);

/* ---- TensorFlow.js weights ------------------------------------------------------------------- */

/* Reads the weights of a TensorFlow.js graph model: model.json's weightsManifest and the weight
 * files it names (plain file names next to model.json, concatenated in manifest order). float32
 * tensors and float16/uint8/uint16-quantized ones become float32 parameters flagged
 * NN_PARAM_BUFFER, named and shaped as in the manifest (TensorFlow's layouts: HWIO convolution
 * weights; a scalar has shape [1]); int32 and bool constants (the graph's shape arithmetic) are
 * left out. *generated_by (may be NULL) receives the file's "generatedBy" field ("" when absent;
 * base_free it). Errors name the file and the problem (BASE_E_INVALID, BASE_E_UNSUPPORTED, I/O). */
struct nn_model *nn_tfjs_load(const char *json_path, char **generated_by, struct base_err *err);
/* The same from model.json's bytes and the weight data (the fuzz target's entry point). */
struct nn_model *nn_tfjs_parse(const char *json, size_t json_len, const void *weights,
                               size_t weights_len, struct base_err *err);

#endif
