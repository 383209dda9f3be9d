/* nn internals shared by the module's files: the model's parameter table, the graph's
 * intermediate representation, the backend interface (a table of functions, so that another
 * backend can be added without touching the graph code) and the float64 reference kernels that
 * the reference backend runs and the tests check against finite differences. */
#ifndef LL_NN_INT_H
#define LL_NN_INT_H

#include "nn.h"

/* OpenMP pragmas where the build has OpenMP (gcc: the libgomp runtime oneDNN also uses). */
#ifdef _OPENMP
#define NN_PRAGMA(x) _Pragma(#x)
#else
#define NN_PRAGMA(x)
#endif

/* ---- model ----------------------------------------------------------------------------------- */

enum nn_init_kind { NN_INIT_UNIFORM, NN_INIT_CONST };

struct nn_pdecl {
    char *name;
    int ndim;
    int64_t shape[NN_MAX_DIMS];
    size_t numel;
    size_t offset; /* into data and grad, in floats */
    unsigned flags;
    enum nn_init_kind init;
    float init_val; /* UNIFORM: bound; CONST: value */
};

struct nn_model {
    struct nn_pdecl *p;
    int n, cap;
    float *data, *grad;
    size_t total;
    int allocated;
    uint64_t seed;
    uint64_t version; /* bumped by nn_model_touch: inference graphs re-read weights */
};

/* Declares (or finds, checking the shape) a parameter; returns its index or -1. */
int nn_model_declare(struct nn_model *m, const char *name, int ndim, const int64_t *shape,
                     unsigned flags, enum nn_init_kind init, float init_val, struct base_err *err);
static inline float *nn_model_data(const struct nn_model *m, int i)
{
    return m->data + m->p[i].offset;
}
static inline float *nn_model_grad(const struct nn_model *m, int i)
{
    return m->grad + m->p[i].offset;
}

/* ---- graph IR -------------------------------------------------------------------------------- */

enum nn_op {
    NN_OP_INPUT,
    NN_OP_CONV,
    NN_OP_BN,
    NN_OP_GN,
    NN_OP_ACT,
    NN_OP_MAXPOOL,
    NN_OP_UPSAMPLE,
    NN_OP_ADD,
    NN_OP_CONCAT,
    NN_OP_SCALE,
    NN_OP_GAP,  /* global average pool */
    NN_OP_MULC, /* x * s[n, c] broadcast over H, W */
};

#define NN_MAX_IN 8

/* Node i produces tensor i (inputs are nodes too), so tensor ids are node ids. */
struct nn_node {
    enum nn_op op;
    int in[NN_MAX_IN];
    int n_in;
    struct nn_shape shape; /* of the output */
    int param[4];          /* model parameter indices: weight, bias, running mean, running var */
    struct nn_conv2d_cfg conv; /* normalised: stride, dilation, groups >= 1 */
    int groups;                /* group norm */
    float eps, momentum;       /* norms */
    enum nn_act act;
    float alpha;
    int kernel, stride, pad; /* max pool */
    int pad_end;             /* max pool: extra cells at the bottom and right (TF's SAME) */
    int bilinear;            /* upsample: TF's legacy bilinear instead of nearest (forward only) */
    int n_uses;              /* consumers (an output counts as one) */
    int needs_grad;          /* depends on a trained parameter */
    int input_index;         /* NN_OP_INPUT: position among the inputs */
};

struct nn_backend_ops;

struct nn_graph {
    struct nn_model *m;
    struct nn_node *nodes;
    int n, cap;
    int *inputs, n_inputs;
    int *outputs, n_outputs;
    struct base_err err;
    int failed;
    int compiled;
    enum nn_mode mode;
    enum nn_backend backend;
    const struct nn_backend_ops *ops;
    void *plan;
    float **in_buf, **out_buf, **out_grad; /* NCHW buffers at the API */
    double flops;
    size_t memory;
};

/* A backend compiles a checked graph into a plan of its own (g->plan), runs it, and frees it.
 * forward reads g->in_buf and writes g->out_buf; backward reads g->out_grad and overwrites the
 * model's gradients. Neither may allocate. */
struct nn_backend_ops {
    const char *name;
    int (*compile)(struct nn_graph *g, struct base_err *err);
    int (*forward)(struct nn_graph *g, struct base_err *err);
    int (*backward)(struct nn_graph *g, struct base_err *err);
    void (*release)(struct nn_graph *g);
};

extern const struct nn_backend_ops nn_ref_backend;
/* NULL when the build has no oneDNN. */
const struct nn_backend_ops *nn_dnnl_backend(void);

/* The graph as JSON (nodes with op, inputs, parameter names and attributes; outputs; mode), for
 * tests and benchmarks that rebuild the same network in PyTorch. base_free the result. */
char *nn_graph_describe(const struct nn_graph *g);

/* Writes g's description (metadata "graph"), the parameter values of `before` (a clone taken
 * before the forward pass), the inputs and, when results != 0, our outputs, output gradients,
 * parameter gradients ("__grad.NAME") and updated BN statistics ("__rs.NAME") to a safetensors
 * file for tests/unit/nn/nn_torch.py. Tests and benchmarks only. */
int nn_debug_export(struct nn_graph *g, const char *path, const struct nn_model *before,
                    int results, struct base_err *err);

/* Aligned allocation for large buffers, touched once so that page faults happen at compile. */
void *nn_alloc_buffer(size_t bytes);
void nn_free_buffer(void *p);

/* ---- float64 reference kernels (NCHW, contiguous) -------------------------------------------- */

struct nn_conv_geom {
    int n, ic, ih, iw, oc, oh, ow;
    int k, stride, pad, dil, groups; /* padding at the bottom and right (pad_end) shows only in
                                        oh and ow: taps past the input read zeros */
};

void nn_conv_geom_from(struct nn_conv_geom *cg, const struct nn_graph *g, const struct nn_node *nd);

/* Forward kernels overwrite their outputs; backward kernels add into dx, dw, db (callers zero
 * them first), so that a tensor feeding several nodes sums its gradients. */
void nn_ref_conv_fwd(const struct nn_conv_geom *cg, const double *x, const double *w,
                     const double *b, double *y);
void nn_ref_conv_bwd(const struct nn_conv_geom *cg, const double *x, const double *w,
                     const double *dy, double *dx, double *dw, double *db);
/* Normalisation over groups of channels: BN is groups == c with statistics over n too, GN is
 * per sample. mean/rstd receive the statistics used (per channel for BN, per n*group for GN). */
void nn_ref_bn_fwd(struct nn_shape s, const double *x, const double *gamma, const double *beta,
                   double eps, double *y, double *mean, double *var);
void nn_ref_bn_infer(struct nn_shape s, const double *x, const double *gamma, const double *beta,
                     const double *rmean, const double *rvar, double eps, double *y);
void nn_ref_bn_bwd(struct nn_shape s, const double *x, const double *gamma, const double *mean,
                   const double *var, double eps, const double *dy, double *dx, double *dgamma,
                   double *dbeta);
void nn_ref_gn_fwd(struct nn_shape s, int groups, const double *x, const double *gamma,
                   const double *beta, double eps, double *y, double *mean, double *var);
void nn_ref_gn_bwd(struct nn_shape s, int groups, const double *x, const double *gamma,
                   const double *mean, const double *var, double eps, const double *dy, double *dx,
                   double *dgamma, double *dbeta);
void nn_ref_act_fwd(enum nn_act act, double alpha, size_t n, const double *x, double *y);
void nn_ref_act_bwd(enum nn_act act, double alpha, size_t n, const double *x, const double *dy,
                    double *dx);
void nn_ref_maxpool_fwd(struct nn_shape in, struct nn_shape out, int k, int stride, int pad,
                        const double *x, double *y);
void nn_ref_maxpool_bwd(struct nn_shape in, struct nn_shape out, int k, int stride, int pad,
                        const double *x, const double *dy, double *dx);
void nn_ref_gap_fwd(struct nn_shape in, const double *x, double *y);
void nn_ref_gap_bwd(struct nn_shape in, const double *dy, double *dx);
/* y = x * s[n, c]; backward adds into dx and ds when they are not NULL. */
void nn_ref_mulc_fwd(struct nn_shape s, const double *x, const double *sc, double *y);
void nn_ref_mulc_bwd(struct nn_shape s, const double *x, const double *sc, const double *dy,
                     double *dx, double *ds);
void nn_ref_upsample_fwd(struct nn_shape in, const double *x, double *y);
void nn_ref_upsample_bwd(struct nn_shape in, const double *dy, double *dx);
void nn_ref_upsample_bilinear_fwd(struct nn_shape in, const double *x, double *y);

#endif
