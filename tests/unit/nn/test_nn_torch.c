/* Cross-check against PyTorch (Debian's python3-torch, tests only): the same small detector-like
 * network with the same weights and inputs gives the same outputs, parameter gradients and BN
 * running statistics to 1e-4, in training (ReLU and SiLU) and inference (BN folded) modes. One
 * Python process checks all cases (importing torch is the slow part). */
#include "nn_test_util.h"

#include <stdlib.h>
#include <unistd.h>

static const struct torch_case {
    enum nn_act act;
    enum nn_mode mode;
    int n, h, w;
} cases[] = {
    {NN_ACT_RELU, NN_TRAIN, 2, 32, 24},
    {NN_ACT_SILU, NN_TRAIN, 3, 16, 16},
    {NN_ACT_RELU, NN_INFER, 2, 32, 32},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Runs one case on our engine and writes everything torch needs to `path`. */
static int run_case(const struct torch_case *c, const char *path)
{
    struct nn_model *m = nn_model_new(21);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    build_mini_fcos(g, c->n, c->h, c->w, c->act);
    int rc = nn_graph_compile(g, c->mode, NN_BACKEND_DEFAULT, &err);
    struct nn_model *before = NULL;
    if (!rc) {
        randomize_model(m, 22);
        fill_inputs(g, 23);
        before = nn_model_clone(m);
        rc = nn_graph_forward(g, &err);
    }
    struct base_rng rng;
    base_rng_seed(&rng, 24);
    for (int o = 0; !rc && c->mode == NN_TRAIN && o < g->n_outputs; o++) {
        struct nn_shape s;
        nn_graph_output(g, o, &s);
        fill_uniform_f(&rng, nn_graph_output_grad(g, o), nn_shape_numel(s), -1, 1);
    }
    if (!rc && c->mode == NN_TRAIN)
        rc = nn_graph_backward(g, &err);
    if (!rc)
        rc = nn_debug_export(g, path, before, 1, &err);
    if (rc)
        fprintf(stderr, "case: %s\n", err.msg);
    nn_model_free(before);
    nn_graph_free(g);
    nn_model_free(m);
    return rc;
}

static void test_torch_cross_check(void)
{
    char paths[NCASES][128], cmd[1024];
    const char *src = getenv("LL_SOURCE");
    int n = snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/unit/nn/nn_torch.py check",
                     src ? src : ".");
    int rc = 0;
    for (size_t i = 0; i < NCASES; i++) {
        snprintf(paths[i], sizeof paths[i], "/tmp/ll_nn_torch_%d_%zu.safetensors", (int)getpid(),
                 i);
        rc |= run_case(&cases[i], paths[i]);
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s", paths[i]);
    }
    CHECK(rc == 0);
    if (!rc)
        CHECK(system(cmd) == 0);
    for (size_t i = 0; i < NCASES; i++)
        unlink(paths[i]);
}

TEST_MAIN(TEST_CASE(test_torch_cross_check))
