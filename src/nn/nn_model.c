/* The model: a table of named parameters declared by layers, then allocated in one block (values
 * and gradients) and initialised deterministically from the model's seed. */
#include "nn_int.h"

#include <math.h>
#include <string.h>

struct nn_model *nn_model_new(uint64_t seed)
{
    struct nn_model *m = base_calloc(1, sizeof *m);
    m->seed = seed;
    return m;
}

void nn_model_free(struct nn_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++)
        base_free(m->p[i].name);
    base_free(m->p);
    nn_free_buffer(m->data);
    nn_free_buffer(m->grad);
    base_free(m);
}

static int shape_equal(const struct nn_pdecl *p, int ndim, const int64_t *shape)
{
    if (p->ndim != ndim)
        return 0;
    for (int d = 0; d < ndim; d++)
        if (p->shape[d] != shape[d])
            return 0;
    return 1;
}

int nn_model_declare(struct nn_model *m, const char *name, int ndim, const int64_t *shape,
                     unsigned flags, enum nn_init_kind init, float init_val, struct base_err *err)
{
    int i = nn_model_find(m, name);
    if (i >= 0) {
        if (!shape_equal(&m->p[i], ndim, shape) || m->p[i].flags != flags)
            return base_err_set(err, BASE_E_INVALID,
                                "parameter '%s' reused with another shape or kind", name);
        return i;
    }
    if (m->allocated)
        return base_err_set(err, BASE_E_CONFLICT,
                            "parameter '%s' is new but the model's parameters are already "
                            "allocated",
                            name);
    if (strlen(name) >= NN_NAME_MAX)
        return base_err_set(err, BASE_E_INVALID, "parameter name too long: '%.40s...'", name);
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->p = base_realloc(m->p, (size_t)m->cap * sizeof *m->p);
    }
    struct nn_pdecl *p = &m->p[m->n];
    memset(p, 0, sizeof *p);
    p->name = base_strdup(name);
    p->ndim = ndim;
    p->numel = 1;
    for (int d = 0; d < ndim; d++) {
        p->shape[d] = shape[d];
        p->numel *= (size_t)shape[d];
    }
    p->flags = flags;
    p->init = init;
    p->init_val = init_val;
    return m->n++;
}

static void init_param(struct nn_model *m, int i, struct base_rng *rng)
{
    struct nn_pdecl *p = &m->p[i];
    float *d = nn_model_data(m, i);
    for (size_t k = 0; k < p->numel; k++) {
        if (p->init == NN_INIT_CONST)
            d[k] = p->init_val;
        else
            d[k] = (float)((2.0 * base_rng_uniform(rng) - 1.0) * p->init_val);
    }
}

int nn_model_alloc(struct nn_model *m, struct base_err *err)
{
    if (m->allocated)
        return 0;
    size_t total = 0;
    for (int i = 0; i < m->n; i++) {
        /* 16-float alignment keeps every parameter on its own cache lines */
        m->p[i].offset = total;
        total += (m->p[i].numel + 15) & ~(size_t)15;
    }
    if (total > ((size_t)1 << 32))
        return base_err_set(err, BASE_E_TOOBIG, "model has too many parameters (%zu)", total);
    m->total = total;
    m->data = nn_alloc_buffer((total ? total : 1) * sizeof(float));
    m->grad = nn_alloc_buffer((total ? total : 1) * sizeof(float));
    struct base_rng rng;
    base_rng_seed(&rng, m->seed);
    for (int i = 0; i < m->n; i++)
        init_param(m, i, &rng);
    m->allocated = 1;
    m->version++;
    return 0;
}

static struct nn_model *clone_decls(const struct nn_model *src)
{
    struct nn_model *m = nn_model_new(src->seed);
    for (int i = 0; i < src->n; i++) {
        const struct nn_pdecl *p = &src->p[i];
        nn_model_declare(m, p->name, p->ndim, p->shape, p->flags, p->init, p->init_val, NULL);
    }
    return m;
}

struct nn_model *nn_model_clone(const struct nn_model *src)
{
    struct nn_model *m = clone_decls(src);
    nn_model_alloc(m, NULL);
    if (src->allocated)
        memcpy(m->data, src->data, m->total * sizeof(float));
    return m;
}

int nn_model_copy(struct nn_model *dst, const struct nn_model *src, struct base_err *err)
{
    if (dst->n != src->n || !dst->allocated || !src->allocated)
        return base_err_set(err, BASE_E_INVALID, "models differ in their parameters");
    for (int i = 0; i < src->n; i++)
        if (strcmp(dst->p[i].name, src->p[i].name) ||
            !shape_equal(&dst->p[i], src->p[i].ndim, src->p[i].shape))
            return base_err_set(err, BASE_E_INVALID, "models differ in parameter '%s'",
                                src->p[i].name);
    memcpy(dst->data, src->data, dst->total * sizeof(float));
    nn_model_touch(dst);
    return 0;
}

int nn_model_param_count(const struct nn_model *m)
{
    return m->n;
}

int nn_model_find(const struct nn_model *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->p[i].name, name))
            return i;
    return -1;
}

void nn_model_param(const struct nn_model *m, int i, struct nn_param *out)
{
    BASE_ASSERT(i >= 0 && i < m->n);
    const struct nn_pdecl *p = &m->p[i];
    memset(out, 0, sizeof *out);
    out->name = p->name;
    out->ndim = p->ndim;
    memcpy(out->shape, p->shape, sizeof out->shape);
    out->numel = p->numel;
    out->flags = p->flags;
    if (m->allocated) {
        out->data = nn_model_data(m, i);
        out->grad = p->flags & NN_PARAM_BUFFER ? NULL : nn_model_grad(m, i);
    }
}

size_t nn_model_numel(const struct nn_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->n; i++)
        if (!(m->p[i].flags & NN_PARAM_BUFFER))
            n += m->p[i].numel;
    return n;
}

void nn_model_touch(struct nn_model *m)
{
    m->version++;
}

static int lookup(struct nn_model *m, const char *name, struct base_err *err)
{
    if (!m->allocated)
        return base_err_set(err, BASE_E_INVALID, "model parameters are not allocated yet");
    int i = nn_model_find(m, name);
    if (i < 0)
        return base_err_set(err, BASE_E_NOTFOUND, "no parameter '%s'", name);
    return i;
}

int nn_param_init_normal(struct nn_model *m, const char *name, float mean, float std,
                         struct base_rng *rng, struct base_err *err)
{
    int i = lookup(m, name, err);
    if (i < 0)
        return -1;
    float *d = nn_model_data(m, i);
    for (size_t k = 0; k < m->p[i].numel; k++)
        d[k] = (float)(mean + std * base_rng_normal(rng));
    nn_model_touch(m);
    return 0;
}

int nn_param_init_kaiming(struct nn_model *m, const char *name, int fan_out, struct base_rng *rng,
                          struct base_err *err)
{
    int i = lookup(m, name, err);
    if (i < 0)
        return -1;
    const struct nn_pdecl *p = &m->p[i];
    if (p->ndim < 2)
        return base_err_set(err, BASE_E_INVALID, "kaiming init needs a weight, '%s' is 1-D", name);
    size_t receptive = p->numel / (size_t)(p->shape[0] * p->shape[1]);
    size_t fan = (size_t)(fan_out ? p->shape[0] : p->shape[1]) * receptive;
    return nn_param_init_normal(m, name, 0.0f, (float)sqrt(2.0 / (double)fan), rng, err);
}

int nn_param_fill(struct nn_model *m, const char *name, float value, struct base_err *err)
{
    int i = lookup(m, name, err);
    if (i < 0)
        return -1;
    float *d = nn_model_data(m, i);
    for (size_t k = 0; k < m->p[i].numel; k++)
        d[k] = value;
    nn_model_touch(m);
    return 0;
}

float nn_prior_bias(float p)
{
    return (float)-log((1.0 - p) / p);
}
