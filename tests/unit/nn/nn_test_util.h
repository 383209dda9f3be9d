/* Helpers shared by the nn tests: seeded random arrays and relative comparisons. */
#ifndef LL_NN_TEST_UTIL_H
#define LL_NN_TEST_UTIL_H

#include "nn/nn_int.h"
#include "test.h"

static inline void fill_uniform_d(struct base_rng *r, double *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * base_rng_uniform(r);
}

static inline void fill_uniform_f(struct base_rng *r, float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * base_rng_uniform(r));
}

/* max |a - b| / max(1e-3, max |b|): one scale per array, so tiny entries don't dominate. */
static inline double rel_err_f(const float *a, const float *b, size_t n)
{
    double m = 1e-3, e = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(b[i]) > m ? fabs(b[i]) : m;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        e = d > e ? d : e;
    }
    return e / m;
}

/* A miniature FCOS: stem with BN, depthwise + pointwise, pool, upsample + add, concat, a second
 * level, and a head shared by both levels with group norm and per-level scales. */
static inline void build_mini_fcos(struct nn_graph *g, int n, int h, int w, enum nn_act act)
{
    int x = nn_input(g, n, 3, h, w);
    x = nn_conv2d(g, "stem", x, &(struct nn_conv2d_cfg){8, 3, 2, 1, 1, 1, 0, 0, 0});
    x = nn_batch_norm(g, "stem.bn", x, 0, 0);
    int c1 = nn_act(g, x, act, 0.1f);
    int c2 = nn_conv2d(g, "dw", c1, &(struct nn_conv2d_cfg){8, 3, 1, 1, 1, 8, 1, 0, 0});
    c2 = nn_act(g, c2, act, 0.1f);
    int p = nn_max_pool2d(g, c2, 2, 2, 0);
    int c3 = nn_conv2d(g, "pw", p, &(struct nn_conv2d_cfg){8, 1, 1, 0, 1, 1, 0, 0, 0});
    c3 = nn_group_norm(g, "pw.gn", c3, 4, 0);
    c3 = nn_act(g, c3, act, 0.1f);
    int a = nn_add(g, c2, nn_upsample2x(g, c3));
    int cat = nn_concat(g, (int[]){a, c1}, 2);
    int lv[2] = {cat,
                 nn_conv2d(g, "down", cat, &(struct nn_conv2d_cfg){16, 3, 2, 1, 1, 1, 1, 0, 0})};
    for (int l = 0; l < 2; l++) {
        int t =
            nn_conv2d(g, "head.conv", lv[l], &(struct nn_conv2d_cfg){8, 3, 1, 1, 1, 1, 0, 0, 0});
        t = nn_act(g, nn_group_norm(g, "head.gn", t, 2, 0), act, 0.1f);
        nn_output(g,
                  nn_conv2d(g, "head.cls", t, &(struct nn_conv2d_cfg){3, 3, 1, 1, 1, 1, 1, 0, 0}));
        int r = nn_conv2d(g, "head.reg", t, &(struct nn_conv2d_cfg){4, 3, 1, 1, 1, 1, 1, 0, 0});
        nn_output(g, nn_scale(g, l ? "scale1" : "scale0", r, 1.0f));
    }
}

static inline void randomize_model(struct nn_model *m, uint64_t seed)
{
    struct base_rng rng;
    base_rng_seed(&rng, seed);
    for (int i = 0; i < nn_model_param_count(m); i++) {
        struct nn_param p;
        nn_model_param(m, i, &p);
        int is_var = strstr(p.name, "running_var") != NULL;
        fill_uniform_f(&rng, p.data, p.numel, is_var ? 0.5 : -0.5, is_var ? 1.5 : 0.5);
        if (strstr(p.name, "scale"))
            p.data[0] = 1.2f;
    }
    nn_model_touch(m);
}

static inline void fill_inputs(struct nn_graph *g, uint64_t seed)
{
    struct base_rng rng;
    base_rng_seed(&rng, seed);
    struct nn_shape s;
    float *in = nn_graph_input(g, 0, &s);
    fill_uniform_f(&rng, in, nn_shape_numel(s), -1, 1);
}

#endif
