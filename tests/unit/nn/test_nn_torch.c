/* Cross-check against PyTorch (Debian's python3-torch, tests only): the same small detector-like
 * network with the same weights and inputs gives the same outputs, parameter gradients and BN
 * running statistics to 1e-4, in training and inference (BN folded) modes. */
#include "nn_test_util.h"

#include <stdlib.h>
#include <unistd.h>

static int torch_check(enum nn_act act, enum nn_mode mode, int n, int h, int w)
{
    struct nn_model *m = nn_model_new(21);
    struct nn_graph *g = nn_graph_new(m);
    struct base_err err;
    build_mini_fcos(g, n, h, w, act);
    if (nn_graph_compile(g, mode, NN_BACKEND_DEFAULT, &err)) {
        fprintf(stderr, "compile: %s\n", err.msg);
        return -1;
    }
    randomize_model(m, 22);
    fill_inputs(g, 23);
    struct nn_model *before = nn_model_clone(m);
    struct base_rng rng;
    base_rng_seed(&rng, 24);
    int rc = nn_graph_forward(g, &err);
    for (int o = 0; !rc && mode == NN_TRAIN && o < g->n_outputs; o++) {
        struct nn_shape s;
        nn_graph_output(g, o, &s);
        fill_uniform_f(&rng, nn_graph_output_grad(g, o), nn_shape_numel(s), -1, 1);
    }
    if (!rc && mode == NN_TRAIN)
        rc = nn_graph_backward(g, &err);
    char path[128], cmd[1024];
    snprintf(path, sizeof path, "/tmp/ll_nn_torch_%d.safetensors", (int)getpid());
    if (!rc)
        rc = nn_debug_export(g, path, before, 1, &err);
    if (rc)
        fprintf(stderr, "run/export: %s\n", err.msg);
    const char *src = getenv("LL_SOURCE");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tests/unit/nn/nn_torch.py check %s",
             src ? src : ".", path);
    if (!rc)
        rc = system(cmd);
    unlink(path);
    nn_model_free(before);
    nn_graph_free(g);
    nn_model_free(m);
    return rc;
}

static void test_torch_train_relu(void)
{
    CHECK(torch_check(NN_ACT_RELU, NN_TRAIN, 2, 32, 24) == 0);
}

static void test_torch_train_silu(void)
{
    CHECK(torch_check(NN_ACT_SILU, NN_TRAIN, 3, 16, 16) == 0);
}

static void test_torch_infer(void)
{
    CHECK(torch_check(NN_ACT_RELU, NN_INFER, 2, 32, 32) == 0);
}

TEST_MAIN(TEST_CASE(test_torch_train_relu), TEST_CASE(test_torch_train_silu),
          TEST_CASE(test_torch_infer))
