/* Training kit over a model's flat parameter block: SGD (momentum, Nesterov) and AdamW as PyTorch
 * defines them, weight decay skipping norm/bias parameters, gradient clipping by global norm,
 * learning-rate schedules and an EMA of the weights. */
#include "nn_int.h"

#include <math.h>
#include <string.h>

struct nn_optim {
    struct nn_model *m;
    struct nn_optim_cfg cfg;
    float *m1, *m2; /* momentum / first moment, second moment: the model's offsets */
    long steps;
};

struct nn_optim *nn_optim_new(struct nn_model *m, const struct nn_optim_cfg *cfg,
                              struct base_err *err)
{
    if (nn_model_alloc(m, err))
        return NULL;
    if (cfg->kind != NN_OPTIM_SGD && cfg->kind != NN_OPTIM_ADAMW) {
        base_err_set(err, BASE_E_INVALID, "unknown optimizer");
        return NULL;
    }
    struct nn_optim *o = base_calloc(1, sizeof *o);
    o->m = m;
    o->cfg = *cfg;
    if (o->cfg.beta1 <= 0)
        o->cfg.beta1 = 0.9f;
    if (o->cfg.beta2 <= 0)
        o->cfg.beta2 = 0.999f;
    if (o->cfg.eps <= 0)
        o->cfg.eps = 1e-8f;
    o->m1 = nn_alloc_buffer(m->total * sizeof(float) + 64);
    if (cfg->kind == NN_OPTIM_ADAMW)
        o->m2 = nn_alloc_buffer(m->total * sizeof(float) + 64);
    return o;
}

void nn_optim_free(struct nn_optim *o)
{
    if (!o)
        return;
    nn_free_buffer(o->m1);
    nn_free_buffer(o->m2);
    base_free(o);
}

static void sgd_param(const struct nn_optim *o, float *p, const float *g, float *buf, size_t n,
                      float lr, float wd)
{
    float mom = o->cfg.momentum;
    int first = o->steps == 1;
    for (size_t k = 0; k < n; k++) {
        float d = g[k] + wd * p[k];
        if (mom != 0.0f) {
            buf[k] = first ? d : mom * buf[k] + d;
            d = o->cfg.nesterov ? d + mom * buf[k] : buf[k];
        }
        p[k] -= lr * d;
    }
}

static void adamw_param(const struct nn_optim *o, float *p, const float *g, float *m1, float *m2,
                        size_t n, float lr, float wd)
{
    float b1 = o->cfg.beta1, b2 = o->cfg.beta2, eps = o->cfg.eps;
    double bc1 = 1.0 - pow(b1, (double)o->steps), bc2 = 1.0 - pow(b2, (double)o->steps);
    float step = (float)(lr / bc1), rbc2 = (float)(1.0 / sqrt(bc2));
    for (size_t k = 0; k < n; k++) {
        p[k] *= 1.0f - lr * wd;
        m1[k] = b1 * m1[k] + (1.0f - b1) * g[k];
        m2[k] = b2 * m2[k] + (1.0f - b2) * g[k] * g[k];
        p[k] -= step * m1[k] / (sqrtf(m2[k]) * rbc2 + eps);
    }
}

void nn_optim_step(struct nn_optim *o, float lr)
{
    struct nn_model *m = o->m;
    o->steps++;
    /* one parallel region per step, parameters shared out among the threads */
    NN_PRAGMA(omp parallel for schedule(dynamic))
    for (int i = 0; i < m->n; i++) {
        const struct nn_pdecl *pd = &m->p[i];
        if (pd->flags & NN_PARAM_BUFFER)
            continue;
        float wd = pd->flags & NN_PARAM_NO_DECAY ? 0.0f : o->cfg.weight_decay;
        float *p = nn_model_data(m, i);
        const float *g = nn_model_grad(m, i);
        if (o->cfg.kind == NN_OPTIM_SGD)
            sgd_param(o, p, g, o->m1 + pd->offset, pd->numel, lr, wd);
        else
            adamw_param(o, p, g, o->m1 + pd->offset, o->m2 + pd->offset, pd->numel, lr, wd);
    }
    nn_model_touch(m);
}

double nn_clip_grad_norm(struct nn_model *m, double max_norm)
{
    double sq = 0.0;
    for (int i = 0; i < m->n; i++) {
        if (m->p[i].flags & NN_PARAM_BUFFER)
            continue;
        const float *g = nn_model_grad(m, i);
        for (size_t k = 0; k < m->p[i].numel; k++)
            sq += (double)g[k] * g[k];
    }
    double norm = sqrt(sq);
    if (max_norm > 0 && norm > max_norm) {
        float c = (float)(max_norm / (norm + 1e-6));
        for (int i = 0; i < m->n; i++) {
            if (m->p[i].flags & NN_PARAM_BUFFER)
                continue;
            float *g = nn_model_grad(m, i);
            for (size_t k = 0; k < m->p[i].numel; k++)
                g[k] *= c;
        }
    }
    return norm;
}

float nn_sched_lr(const struct nn_sched *s, long step)
{
    double lr = s->base_lr;
    if (s->kind == NN_SCHED_COSINE && s->total_steps > 0) {
        double t = step >= s->total_steps ? 1.0 : (double)step / (double)s->total_steps;
        lr = s->min_lr + (s->base_lr - s->min_lr) * 0.5 * (1.0 + cos(M_PI * t));
    } else if (s->kind == NN_SCHED_STEP) {
        for (int i = 0; i < 8 && s->milestones[i] > 0; i++)
            if (step >= s->milestones[i])
                lr *= s->gamma;
    }
    if (step < s->warmup_steps) {
        double f0 = s->warmup_factor > 0 ? s->warmup_factor : 0.001;
        lr *= f0 + (1.0 - f0) * (double)step / (double)s->warmup_steps;
    }
    return (float)lr;
}

struct nn_ema {
    struct nn_model *shadow;
    float decay, tau;
    long updates;
};

struct nn_ema *nn_ema_new(const struct nn_model *m, float decay, float tau)
{
    struct nn_ema *e = base_calloc(1, sizeof *e);
    e->shadow = nn_model_clone(m);
    e->decay = decay;
    e->tau = tau;
    return e;
}

void nn_ema_free(struct nn_ema *e)
{
    if (!e)
        return;
    nn_model_free(e->shadow);
    base_free(e);
}

void nn_ema_update(struct nn_ema *e, const struct nn_model *m)
{
    BASE_ASSERT(m->total == e->shadow->total);
    e->updates++;
    double d = e->decay;
    if (e->tau > 0)
        d *= 1.0 - exp(-(double)e->updates / e->tau);
    float df = (float)d, rf = 1.0f - df;
    float *s = e->shadow->data;
    const float *p = m->data;
    NN_PRAGMA(omp parallel for simd schedule(static))
    for (size_t k = 0; k < m->total; k++)
        s[k] = df * s[k] + rf * p[k];
    nn_model_touch(e->shadow);
}

struct nn_model *nn_ema_model(struct nn_ema *e)
{
    return e->shadow;
}
