/* The oneDNN backend: compiles a graph into lists of steps (primitives and our kernels) over
 * memories in one arena planned once from the steps' lifetimes, then runs them with no
 * allocation. Fusions: ReLU into the conv or BN before it, and in inference BN folded into the
 * conv's weights with any activation as a post-op. Op specifics live in nn_dnnl_ops.c. */
#include "nn_dnnl_int.h"

#include <dnnl_debug.h>
#include <stdlib.h>
#include <string.h>

int dn_check(struct dn_plan *p, dnnl_status_t st, const char *what)
{
    if (st == dnnl_success)
        return 0;
    base_err_set(p->err, st == dnnl_unimplemented ? BASE_E_UNSUPPORTED : BASE_E_INTERNAL,
                 "oneDNN: %.120s: %s", what, dnnl_status2str(st));
    return -1;
}

void dn_md_nchw(dnnl_memory_desc_t *md, struct nn_shape s, int tag)
{
    dnnl_dims_t dims = {s.n, s.c, s.h, s.w};
    dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, (dnnl_format_tag_t)tag);
}

void dn_md_act(struct dn_plan *p, dnnl_memory_desc_t *md, struct nn_shape s)
{
    dn_md_nchw(md, s, p->block == 16 ? dnnl_nChw16c : dnnl_nChw8c);
}

void dn_md_1d(dnnl_memory_desc_t *md, int64_t n)
{
    dnnl_dims_t dims = {n};
    dnnl_memory_desc_init_by_tag(md, 1, dims, dnnl_f32, dnnl_x);
}

int dn_buf_new(struct dn_plan *p, size_t size, int persistent)
{
    if (p->n_buf == p->cap_buf) {
        p->cap_buf = p->cap_buf ? p->cap_buf * 2 : 128;
        p->buf = base_realloc(p->buf, (size_t)p->cap_buf * sizeof *p->buf);
    }
    struct dn_buf *b = &p->buf[p->n_buf];
    b->size = (size + 63) & ~(size_t)63;
    b->t0 = persistent ? 0 : -1;
    b->t1 = persistent ? p->end_time : -1;
    b->off = 0;
    return p->n_buf++;
}

int dn_mem_new(struct dn_plan *p, const dnnl_memory_desc_t *md_in, int buf, void *ext)
{
    /* md may point into p->mem (dn_acc_step), which the growth below may move */
    const dnnl_memory_desc_t md_copy = *md_in, *md = &md_copy;
    if (p->n_mem == p->cap_mem) {
        p->cap_mem = p->cap_mem ? p->cap_mem * 2 : 256;
        p->mem = base_realloc(p->mem, (size_t)p->cap_mem * sizeof *p->mem);
    }
    struct dn_mem *m = &p->mem[p->n_mem];
    m->md = *md;
    m->buf = buf;
    m->ext = ext;
    m->mem = NULL;
    size_t size = dnnl_memory_desc_get_size(md);
    if (buf == DN_TMP && size > p->tmp_size)
        p->tmp_size = size;
    if (buf == DN_SCRATCH && size > p->scratch_size)
        p->scratch_size = size;
    return p->n_mem++;
}

int dn_mem_planned(struct dn_plan *p, const dnnl_memory_desc_t *md, int persistent)
{
    return dn_mem_new(p, md, dn_buf_new(p, dnnl_memory_desc_get_size(md), persistent), NULL);
}

void *dn_ptr(const struct dn_plan *p, int mem)
{
    const struct dn_mem *m = &p->mem[mem];
    switch (m->buf) {
    case DN_EXT:
        return m->ext;
    case DN_SCRATCH:
        return p->scratch;
    case DN_TMP:
        return p->tmp;
    }
    return p->arena + p->buf[m->buf].off;
}

size_t dn_mem_floats(const struct dn_plan *p, int mem)
{
    return dnnl_memory_desc_get_size(&p->mem[mem].md) / sizeof(float);
}

dnnl_primitive_attr_t dn_attr(struct dn_plan *p)
{
    dnnl_primitive_attr_t attr = NULL;
    if (DN_TRY(p, dnnl_primitive_attr_create(&attr)) ||
        DN_TRY(p, dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user))) {
        dnnl_primitive_attr_destroy(attr);
        return NULL;
    }
    return attr;
}

int dn_pd(struct dn_plan *p, dnnl_primitive_desc_t *pd, const void *desc,
          dnnl_primitive_attr_t attr, dnnl_primitive_desc_t hint)
{
    dnnl_primitive_attr_t own = attr ? NULL : dn_attr(p);
    int rc = DN_TRY(p, dnnl_primitive_desc_create(pd, desc, attr ? attr : own, p->eng, hint));
    dnnl_primitive_attr_destroy(own);
    if (rc)
        return -1;
    if (p->n_pds == p->cap_pds) {
        p->cap_pds = p->cap_pds ? p->cap_pds * 2 : 128;
        p->pds = base_realloc(p->pds, (size_t)p->cap_pds * sizeof *p->pds);
    }
    p->pds[p->n_pds++] = *pd;
    return 0;
}

static struct dn_step *step_new(struct dn_list *l, int node, int time, const int *args)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 128;
        l->s = base_realloc(l->s, (size_t)l->cap * sizeof *l->s);
    }
    struct dn_step *s = &l->s[l->n++];
    memset(s, 0, sizeof *s);
    s->node = node;
    s->time = time;
    for (int k = 0; args && args[2 * k]; k++) {
        BASE_ASSERT(s->n_args < DN_MAX_ARGS - 1);
        s->tag[s->n_args] = args[2 * k];
        s->mem[s->n_args++] = args[2 * k + 1];
    }
    return s;
}

struct dn_step *dn_prim_step(struct dn_plan *p, struct dn_list *l, dnnl_primitive_desc_t pd,
                             int node, int time, const int *args)
{
    dnnl_primitive_t prim;
    if (DN_TRY(p, dnnl_primitive_create(&prim, pd)))
        return NULL;
    if (p->n_prims == p->cap_prims) {
        p->cap_prims = p->cap_prims ? p->cap_prims * 2 : 128;
        p->prims = base_realloc(p->prims, (size_t)p->cap_prims * sizeof *p->prims);
    }
    p->prims[p->n_prims++] = prim;
    struct dn_step *s = step_new(l, node, time, args);
    s->prim = prim;
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (sp && dnnl_memory_desc_get_size(sp) > 0) {
        s->tag[s->n_args] = DNNL_ARG_SCRATCHPAD;
        s->mem[s->n_args++] = dn_mem_new(p, sp, DN_SCRATCH, NULL);
    }
    return s;
}

struct dn_step *dn_fn_step(struct dn_plan *p, struct dn_list *l, dn_fn fn, int node, int time,
                           const int *args)
{
    (void)p;
    struct dn_step *s = step_new(l, node, time, args);
    s->fn = fn;
    return s;
}

int dn_reorder(struct dn_plan *p, struct dn_list *l, int from, int to, int node, int time,
               int accumulate)
{
    dnnl_primitive_attr_t attr = dn_attr(p);
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int rc = -1;
    if (!attr)
        return -1;
    if (accumulate &&
        (DN_TRY(p, dnnl_post_ops_create(&po)) || DN_TRY(p, dnnl_post_ops_append_sum(po, 1.0f)) ||
         DN_TRY(p, dnnl_primitive_attr_set_post_ops(attr, po))))
        goto out;
    if (DN_TRY(p, dnnl_reorder_primitive_desc_create(&pd, &p->mem[from].md, p->eng, &p->mem[to].md,
                                                     p->eng, attr)))
        goto out;
    if (p->n_pds == p->cap_pds) {
        p->cap_pds = p->cap_pds ? p->cap_pds * 2 : 128;
        p->pds = base_realloc(p->pds, (size_t)p->cap_pds * sizeof *p->pds);
    }
    p->pds[p->n_pds++] = pd;
    int args[] = {DNNL_ARG_FROM, from, DNNL_ARG_TO, to, 0};
    rc = dn_prim_step(p, l, pd, node, time, args) ? 0 : -1;
out:
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return rc;
}

int dn_grad_target(struct dn_plan *p, int t, int *acc)
{
    if (!p->written[t]) {
        p->written[t] = 1;
        *acc = 0;
        return p->nd[t].gmem;
    }
    *acc = 1;
    return dn_mem_new(p, &p->mem[p->nd[t].gmem].md, DN_TMP, NULL);
}

int dn_acc_step(struct dn_plan *p, int t, int node, int time)
{
    int gm = p->nd[t].gmem;
    int args[] = {DNNL_ARG_SRC, dn_mem_new(p, &p->mem[gm].md, DN_TMP, NULL), DNNL_ARG_DST, gm, 0};
    return dn_fn_step(p, &p->bwd, dn_k_acc, node, time, args) ? 0 : -1;
}

/* ---- planning ---------------------------------------------------------------------------- */

static void touch(struct dn_plan *p, int mem, int time)
{
    int b = p->mem[mem].buf;
    if (b < 0)
        return;
    struct dn_buf *buf = &p->buf[b];
    if (buf->t0 < 0 || time < buf->t0)
        buf->t0 = time;
    if (time > buf->t1)
        buf->t1 = time;
}

static int by_size_desc(const void *a, const void *b, void *ctx)
{
    const struct dn_buf *bufs = ctx;
    size_t x = bufs[*(const int *)a].size, y = bufs[*(const int *)b].size;
    return x < y ? 1 : x > y ? -1 : *(const int *)a - *(const int *)b;
}

/* Greedy: largest first, each at the lowest offset free during its whole lifetime. */
static size_t plan_offsets(struct dn_plan *p)
{
    int n = p->n_buf, placed = 0;
    int *order = base_calloc((size_t)n + 1, sizeof *order);
    int *done = base_calloc((size_t)n + 1, sizeof *done);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, by_size_desc, p->buf);
    for (int k = 0; k < n; k++) {
        struct dn_buf *b = &p->buf[order[k]];
        if (b->t0 < 0) /* never used */
            b->t0 = b->t1 = 0;
        size_t off = 0;
        for (int again = 1; again;) {
            again = 0;
            for (int j = 0; j < placed; j++) {
                const struct dn_buf *o = &p->buf[done[j]];
                int live = o->t0 <= b->t1 && b->t0 <= o->t1;
                if (live && off < o->off + o->size && o->off < off + b->size) {
                    off = o->off + o->size;
                    again = 1;
                }
            }
        }
        b->off = off;
        total = off + b->size > total ? off + b->size : total;
        done[placed++] = order[k];
    }
    base_free(order);
    base_free(done);
    return total;
}

static void touch_list(struct dn_plan *p, struct dn_list *l)
{
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < l->s[i].n_args; k++)
            touch(p, l->s[i].mem[k], l->s[i].time);
}

static int bind_list(struct dn_plan *p, struct dn_list *l)
{
    for (int i = 0; i < l->n; i++) {
        struct dn_step *s = &l->s[i];
        for (int k = 0; k < s->n_args; k++) {
            s->exec[k].arg = s->tag[k];
            s->exec[k].memory = p->mem[s->mem[k]].mem;
        }
    }
    return 0;
}

static int materialize(struct dn_plan *p)
{
    touch_list(p, &p->prep);
    touch_list(p, &p->fwd);
    touch_list(p, &p->bwd);
    size_t total = plan_offsets(p);
    p->arena = nn_alloc_buffer(total + 64);
    p->scratch = nn_alloc_buffer(p->scratch_size + 64);
    p->tmp = nn_alloc_buffer(p->tmp_size + 64);
    p->g->memory = total + p->scratch_size + p->tmp_size;
    for (int i = 0; i < p->n_mem; i++)
        if (DN_TRY(p, dnnl_memory_create(&p->mem[i].mem, &p->mem[i].md, p->eng, dn_ptr(p, i))))
            return -1;
    bind_list(p, &p->prep);
    bind_list(p, &p->fwd);
    bind_list(p, &p->bwd);
    return 0;
}

/* ---- fusion decisions -------------------------------------------------------------------- */

/* The only consumer of node i when it has exactly one use that is not a graph output. */
static int sole_consumer(const struct nn_graph *g, int i)
{
    if (g->nodes[i].n_uses != 1)
        return -1;
    for (int j = i + 1; j < g->n; j++)
        for (int k = 0; k < g->nodes[j].n_in; k++)
            if (g->nodes[j].in[k] == i)
                return j;
    return -1;
}

static int is_act(const struct nn_graph *g, int j, int train)
{
    if (j < 0 || g->nodes[j].op != NN_OP_ACT)
        return 0;
    const struct nn_node *a = &g->nodes[j];
    if (!dn_act_native(a->act))
        return 0;
    if (!train || !a->needs_grad) /* no backward through it (e.g. a frozen backbone) */
        return 1;
    /* training keeps only dst-based backward: ReLU and LeakyReLU with slope >= 0 */
    return (a->act == NN_ACT_RELU) || (a->act == NN_ACT_LEAKY_RELU && a->alpha >= 0);
}

static void decide_fusions(struct dn_plan *p)
{
    struct nn_graph *g = p->g;
    int train = g->mode == NN_TRAIN;
    for (int i = 0; i < g->n; i++) {
        struct dn_node *d = &p->nd[i];
        d->rep = i;
        d->fused_act = d->fold_bn = d->grad_alias = -1;
        d->w_plain = d->w_fwd = d->w_bwd = d->b_mem = -1;
        d->mean_mem = d->var_mem = d->ws_mem = -1;
    }
    for (int i = 0; i < g->n; i++) {
        const struct nn_node *nd = &g->nodes[i];
        int next = sole_consumer(g, i);
        if (nd->op == NN_OP_CONV && !train && next >= 0 && g->nodes[next].op == NN_OP_BN) {
            p->nd[i].fold_bn = next;
            p->nd[next].rep = i;
            next = sole_consumer(g, next);
        }
        int relu_only =
            next >= 0 && g->nodes[next].op == NN_OP_ACT && g->nodes[next].act == NN_ACT_RELU;
        if ((nd->op == NN_OP_CONV && is_act(g, next, train)) ||
            ((nd->op == NN_OP_BN || nd->op == NN_OP_GN || nd->op == NN_OP_ADD) &&
             p->nd[i].rep == i && relu_only)) {
            p->nd[i].fused_act = next;
            p->nd[next].rep = i;
        }
    }
}

/* Gradient memories: one per set of tensors sharing a buffer (fused pairs, and an add's first
 * input when the add is its only consumer). */
static int find(int *parent, int x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

static void plan_grads(struct dn_plan *p)
{
    struct nn_graph *g = p->g;
    int *parent = base_calloc((size_t)g->n, sizeof *parent);
    for (int i = 0; i < g->n; i++)
        parent[i] = i;
    for (int i = 0; i < g->n; i++) {
        if (p->nd[i].rep != i)
            parent[find(parent, i)] = find(parent, p->nd[i].rep);
        const struct nn_node *nd = &g->nodes[i];
        int a = nd->op == NN_OP_ADD ? nd->in[0] : -1;
        if (a >= 0 && g->nodes[a].n_uses == 1 && g->nodes[a].needs_grad &&
            g->nodes[a].op != NN_OP_INPUT) {
            p->nd[i].grad_alias = a;
            parent[find(parent, a)] = find(parent, i);
        }
    }
    for (int i = 0; i < g->n; i++)
        p->nd[i].gmem = -1;
    for (int i = 0; i < g->n; i++) {
        int r = find(parent, i);
        if (!g->nodes[i].needs_grad || g->nodes[i].op == NN_OP_INPUT)
            continue;
        if (p->nd[r].gmem < 0) {
            dnnl_memory_desc_t md;
            dn_md_act(p, &md, g->nodes[i].shape);
            p->nd[r].gmem = dn_mem_planned(p, &md, 0);
        }
        p->nd[i].gmem = p->nd[r].gmem;
    }
    base_free(parent);
}

static int only_convs_read(const struct nn_graph *g, int i)
{
    int convs = 0;
    for (int j = i + 1; j < g->n; j++)
        for (int k = 0; k < g->nodes[j].n_in; k++)
            if (g->nodes[j].in[k] == i) {
                if (g->nodes[j].op != NN_OP_CONV)
                    return 0;
                convs++;
            }
    return convs == g->nodes[i].n_uses;
}

static int plan_values(struct dn_plan *p)
{
    struct nn_graph *g = p->g;
    for (int i = 0; i < g->n; i++) {
        const struct nn_node *nd = &g->nodes[i];
        if (p->nd[i].rep != i) {
            p->nd[i].vmem = p->nd[p->nd[i].rep].vmem;
            continue;
        }
        dnnl_memory_desc_t md;
        if (nd->op == NN_OP_INPUT) {
            /* few channels: the first conv reads plain NCHW straight from the caller */
            dnnl_memory_desc_t plain;
            dn_md_nchw(&plain, nd->shape, dnnl_nchw);
            int ext = dn_mem_new(p, &plain, DN_EXT, g->in_buf[nd->input_index]);
            if (nd->shape.c <= 4 && only_convs_read(g, i)) {
                p->nd[i].vmem = ext;
                continue;
            }
            dn_md_act(p, &md, nd->shape);
            p->nd[i].vmem = dn_mem_planned(p, &md, 0);
            if (dn_reorder(p, &p->fwd, ext, p->nd[i].vmem, i, dn_tfwd(p, i), 0))
                return -1;
            continue;
        }
        if (nd->op == NN_OP_CONV && nd->shape.c <= 4 && !nd->needs_grad &&
            only_convs_read(g, i)) /* likewise a few-channel picture the graph makes itself
                                      (oneDNN has no fast kernel reading it blocked) */
            dn_md_nchw(&md, nd->shape, dnnl_nchw);
        else
            dn_md_act(p, &md, nd->shape);
        p->nd[i].vmem = dn_mem_planned(p, &md, 0);
    }
    return 0;
}

static int plan_outputs(struct dn_plan *p)
{
    struct nn_graph *g = p->g;
    int tout = g->n + 1, tseed = g->n + 2;
    for (int o = 0; o < g->n_outputs; o++) {
        int t = g->outputs[o];
        dnnl_memory_desc_t plain;
        dn_md_nchw(&plain, g->nodes[t].shape, dnnl_nchw);
        int out = dn_mem_new(p, &plain, DN_EXT, g->out_buf[o]);
        if (dn_reorder(p, &p->fwd, p->nd[t].vmem, out, t, tout, 0))
            return -1;
        if (g->mode != NN_TRAIN || !g->nodes[t].needs_grad)
            continue;
        int seed = dn_mem_new(p, &plain, DN_EXT, g->out_grad[o]), acc;
        int target = dn_grad_target(p, t, &acc);
        if (dn_reorder(p, &p->bwd, seed, target, t, tseed, 0) ||
            (acc && dn_acc_step(p, t, t, tseed)))
            return -1;
    }
    return 0;
}

/* ---- backend entry points ---------------------------------------------------------------- */

static void dn_release(struct nn_graph *g)
{
    struct dn_plan *p = g->plan;
    if (!p)
        return;
    for (int i = 0; i < p->n_mem; i++)
        dnnl_memory_destroy(p->mem[i].mem);
    for (int i = 0; i < p->n_prims; i++)
        dnnl_primitive_destroy(p->prims[i]);
    for (int i = 0; i < p->n_pds; i++)
        dnnl_primitive_desc_destroy(p->pds[i]);
    for (int i = 0; p->nd && i < g->n; i++) {
        nn_free_buffer(p->nd[i].fold_w);
        nn_free_buffer(p->nd[i].fold_b);
        nn_free_buffer(p->nd[i].gn_stats);
        nn_free_buffer(p->nd[i].gn_sums);
    }
    if (p->stream)
        dnnl_stream_destroy(p->stream);
    if (p->eng)
        dnnl_engine_destroy(p->eng);
    nn_free_buffer(p->arena);
    nn_free_buffer(p->scratch);
    nn_free_buffer(p->tmp);
    base_free(p->prep.s);
    base_free(p->fwd.s);
    base_free(p->bwd.s);
    base_free(p->nd);
    base_free(p->buf);
    base_free(p->mem);
    base_free(p->prims);
    base_free(p->pds);
    base_free(p->written);
    base_free(p);
    g->plan = NULL;
}

static int build(struct dn_plan *p)
{
    struct nn_graph *g = p->g;
    decide_fusions(p);
    if (plan_values(p))
        return -1;
    for (int i = 0; i < g->n; i++)
        if (dn_compile_node(p, i))
            return -1;
    if (g->mode == NN_TRAIN) {
        plan_grads(p);
        p->written = base_calloc((size_t)(g->n + g->m->n) + 1, 1);
    }
    if (plan_outputs(p))
        return -1;
    if (g->mode == NN_TRAIN)
        for (int i = g->n - 1; i >= 0; i--)
            if (g->nodes[i].needs_grad && g->nodes[i].op != NN_OP_INPUT && dn_backward_node(p, i))
                return -1;
    return materialize(p);
}

static int dn_compile(struct nn_graph *g, struct base_err *err)
{
    struct dn_plan *p = base_calloc(1, sizeof *p);
    p->g = g;
    p->err = err;
    g->plan = p;
    p->nd = base_calloc((size_t)g->n, sizeof *p->nd);
    p->end_time = 2 * g->n + 3;
    p->block = dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core ? 16 : 8;
    if (DN_TRY(p, dnnl_engine_create(&p->eng, dnnl_cpu, 0)) ||
        DN_TRY(p, dnnl_stream_create(&p->stream, p->eng, dnnl_stream_default_flags)) || build(p)) {
        dn_release(g);
        return -1;
    }
    p->err = NULL;
    return 0;
}

static int run_list(struct dn_plan *p, struct dn_list *l, struct base_err *err)
{
    for (int i = 0; i < l->n; i++) {
        struct dn_step *s = &l->s[i];
        if (s->fn) {
            s->fn(p, s);
            continue;
        }
        dnnl_status_t st = dnnl_primitive_execute(s->prim, p->stream, s->n_args, s->exec);
        if (st != dnnl_success && getenv("NN_DEBUG"))
            for (int k = 0; k < s->n_args; k++) {
                char buf[256];
                buf[0] = 0;
                const_dnnl_primitive_desc_t pd;
                dnnl_primitive_get_primitive_desc(s->prim, &pd);
                const dnnl_memory_desc_t *e =
                    dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, s->tag[k]);
                fprintf(stderr, "arg %d: %s size %zu expect %zu eq %d\n", s->tag[k], buf,
                        dnnl_memory_desc_get_size(&p->mem[s->mem[k]].md),
                        e ? dnnl_memory_desc_get_size(e) : 0,
                        e ? dnnl_memory_desc_equal(e, &p->mem[s->mem[k]].md) : -1);
            }
        if (st != dnnl_success)
            return base_err_set(err, BASE_E_INTERNAL, "oneDNN: executing node %d: %s", s->node,
                                dnnl_status2str(st));
    }
    dnnl_status_t st = dnnl_stream_wait(p->stream);
    if (st != dnnl_success)
        return base_err_set(err, BASE_E_INTERNAL, "oneDNN: stream: %s", dnnl_status2str(st));
    return 0;
}

static int dn_forward(struct nn_graph *g, struct base_err *err)
{
    struct dn_plan *p = g->plan;
    /* weights are re-laid-out (and BN folded) only when the model changed since last time */
    if (!p->have_version || p->version != g->m->version) {
        if (run_list(p, &p->prep, err))
            return -1;
        p->version = g->m->version;
        p->have_version = 1;
    }
    return run_list(p, &p->fwd, err);
}

static int dn_backward(struct nn_graph *g, struct base_err *err)
{
    return run_list(g->plan, &((struct dn_plan *)g->plan)->bwd, err);
}

static const struct nn_backend_ops dnnl_ops = {
    .name = "oneDNN",
    .compile = dn_compile,
    .forward = dn_forward,
    .backward = dn_backward,
    .release = dn_release,
};

const struct nn_backend_ops *nn_dnnl_backend(void)
{
    return &dnnl_ops;
}
