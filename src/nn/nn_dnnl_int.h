/* Internals of the oneDNN backend, shared by its files: the compiled plan (memories over one
 * planned arena, lists of steps run in order), and the helpers that op compilers use to create
 * primitives and steps. Activations stay in oneDNN's blocked layout (nChw8c on AVX2) everywhere
 * inside the graph; only inputs and outputs are reordered, at the edges. */
#ifndef LL_NN_DNNL_INT_H
#define LL_NN_DNNL_INT_H

#include "nn_int.h"

#include <dnnl.h>

#define DN_MAX_ARGS 12

/* Special buffer ids of a memory that is not in the planned arena. */
enum { DN_EXT = -1, DN_SCRATCH = -2, DN_TMP = -3 };

struct dn_buf {
    size_t size;
    int t0, t1; /* first and last step time that touches it */
    size_t off;
};

struct dn_mem {
    dnnl_memory_desc_t md;
    int buf;   /* planned buffer, or DN_EXT / DN_SCRATCH / DN_TMP */
    void *ext; /* DN_EXT: the pointer */
    dnnl_memory_t mem;
};

struct dn_plan;
struct dn_step;
typedef void (*dn_fn)(struct dn_plan *p, const struct dn_step *s);

/* One unit of work: a oneDNN primitive, or one of our kernels (fn), over memories. */
struct dn_step {
    dnnl_primitive_t prim;
    dn_fn fn;
    int node, time;
    int acc; /* our kernels: add into the destination instead of overwriting it */
    int aux; /* our kernels: op-specific (concat input, parameter gradient accumulate) */
    int n_args;
    int tag[DN_MAX_ARGS], mem[DN_MAX_ARGS];
    dnnl_exec_arg_t exec[DN_MAX_ARGS];
};

struct dn_list {
    struct dn_step *s;
    int n, cap;
};

/* Per graph node. rep: the node whose value/gradient memories this one shares (a ReLU fused into
 * its producer, a BN folded into its conv), else itself. */
struct dn_node {
    int vmem, gmem, rep;
    int fused_act;  /* conv or BN: the ACT node computed by its post-op / fused flag, or -1 */
    int fold_bn;    /* conv (inference): the BN folded into its weights, or -1 */
    int grad_alias; /* add: which input shares this node's gradient buffer, or -1 */
    int w_plain, w_fwd, w_bwd, b_mem; /* conv weights: plain source, blocked fwd/bwd, bias */
    float *fold_w, *fold_b;           /* conv (inference): BN-folded plain weights and bias */
    int mean_mem, var_mem, ws_mem;    /* BN statistics, BN/pool workspace */
    double *gn_stats, *gn_sums; /* norms: mean/rstd per (n, group) or channel; per (n, ch) sums */
    dnnl_primitive_desc_t fwd_pd;
};

struct dn_plan {
    struct nn_graph *g;
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    struct dn_node *nd;
    struct dn_buf *buf;
    int n_buf, cap_buf;
    struct dn_mem *mem;
    int n_mem, cap_mem;
    struct dn_list prep, fwd, bwd; /* prep: weight layouts, rerun when the model changed */
    dnnl_primitive_t *prims;
    int n_prims, cap_prims;
    dnnl_primitive_desc_t *pds;
    int n_pds, cap_pds;
    unsigned char *arena;
    void *scratch, *tmp;
    size_t scratch_size, tmp_size;
    uint64_t version;
    int have_version;
    int block; /* channel block of the activation layout: 8 (AVX2) or 16 (AVX-512) */
    int end_time;
    int written_n;
    unsigned char *written; /* while building backward: gradient already has a contribution */
    struct base_err *err;
};

/* Records a oneDNN failure in p->err; returns -1 (or 0 on success). */
int dn_check(struct dn_plan *p, dnnl_status_t st, const char *what);
#define DN_TRY(p, call) dn_check((p), (call), #call)

/* Step times: forward of node i at i + 1, output reorders at n + 1, gradient seeds at n + 2,
 * backward of node i at 2n + 2 - i; everything persistent spans [0, end_time]. */
static inline int dn_tfwd(const struct dn_plan *p, int i)
{
    (void)p;
    return i + 1;
}
static inline int dn_tbwd(const struct dn_plan *p, int i)
{
    return 2 * p->g->n + 2 - i;
}

void dn_md_nchw(dnnl_memory_desc_t *md, struct nn_shape s, int tag);
void dn_md_act(struct dn_plan *p, dnnl_memory_desc_t *md, struct nn_shape s);
void dn_md_1d(dnnl_memory_desc_t *md, int64_t n);
int dn_buf_new(struct dn_plan *p, size_t size, int persistent);
int dn_mem_new(struct dn_plan *p, const dnnl_memory_desc_t *md, int buf, void *ext);
/* A memory with its own new planned buffer. */
int dn_mem_planned(struct dn_plan *p, const dnnl_memory_desc_t *md, int persistent);
void *dn_ptr(const struct dn_plan *p, int mem);
size_t dn_mem_floats(const struct dn_plan *p, int mem);

dnnl_primitive_attr_t dn_attr(struct dn_plan *p);
int dn_pd(struct dn_plan *p, dnnl_primitive_desc_t *pd, const void *desc,
          dnnl_primitive_attr_t attr, dnnl_primitive_desc_t hint);
/* Appends a primitive step for pd; args are (tag, mem) pairs terminated by tag 0. Adds the
 * scratchpad. Returns the step or NULL. */
struct dn_step *dn_prim_step(struct dn_plan *p, struct dn_list *l, dnnl_primitive_desc_t pd,
                             int node, int time, const int *args);
struct dn_step *dn_fn_step(struct dn_plan *p, struct dn_list *l, dn_fn fn, int node, int time,
                           const int *args);
/* A reorder step from memory a to memory b (optionally adding into b). */
int dn_reorder(struct dn_plan *p, struct dn_list *l, int from, int to, int node, int time,
               int accumulate);

/* Where a backward step should write the gradient of tensor t: its gradient memory when this is
 * the first contribution, else the shared temporary (then dn_acc_step adds it in). */
int dn_grad_target(struct dn_plan *p, int t, int *acc);
int dn_acc_step(struct dn_plan *p, int t, int node, int time);

/* Op compilers (nn_dnnl_ops.c): create primitives and steps for node i. */
int dn_compile_node(struct dn_plan *p, int i);
int dn_backward_node(struct dn_plan *p, int i);

/* Our kernels over blocked layouts (nn_dnnl_kern.c). */
void dn_k_gn_fwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_gn_bwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_add(struct dn_plan *p, const struct dn_step *s);
void dn_k_acc(struct dn_plan *p, const struct dn_step *s);
void dn_k_copy(struct dn_plan *p, const struct dn_step *s);
void dn_k_scale_fwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_scale_bwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_concat_fwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_concat_bwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_bn_fwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_bn_bwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_fold_bn(struct dn_plan *p, const struct dn_step *s);
/* Squeeze-and-excitation (nn_dnnl_se.c). */
void dn_k_gap_fwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_gap_bwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_mulc_fwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_up_bilinear_fwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_mulc_bwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_hsig_fwd(struct dn_plan *p, const struct dn_step *s);
void dn_k_hsig_bwd(struct dn_plan *p, const struct dn_step *s);
/* Whether oneDNN has this activation as an eltwise algorithm (usable as a post-op). */
int dn_act_native(enum nn_act act);

#endif
