/* Fuzzes the safetensors checkpoint parser, and loading what it accepts into a small model. */
#include "nn/nn.h"

static struct nn_model *model(void)
{
    struct nn_model *m = nn_model_new(1);
    struct nn_graph *g = nn_graph_new(m);
    int x = nn_input(g, 1, 2, 4, 4);
    nn_output(g, nn_conv2d(g, "a", x, &(struct nn_conv2d_cfg){2, 1, 1, 0, 1, 1, 1, 0, 0}));
    nn_graph_compile(g, NN_INFER, NN_BACKEND_REF, NULL);
    nn_graph_free(g);
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nn_ckpt *c = nn_ckpt_parse(data, size, NULL);
    if (!c)
        return 0;
    struct nn_model *m = model();
    int map[2] = {1, 0};
    nn_model_load(m, c, NN_LOAD_ALLOW_MISSING | NN_LOAD_ALLOW_UNUSED | NN_LOAD_SKIP_MISMATCH, NULL,
                  NULL);
    nn_param_copy_rows(m, c, "a.bias", map, NULL);
    for (int i = 0; i < nn_ckpt_meta_count(c); i++) {
        const char *k, *v;
        nn_ckpt_meta_at(c, i, &k, &v);
    }
    nn_model_free(m);
    nn_ckpt_free(c);
    return 0;
}
