/* Writes a graph, its weights, inputs and (optionally) our results into one safetensors file, so
 * that a PyTorch script (tests/unit/nn/nn_torch.py) can rebuild the identical network: used by the
 * cross-check test and the benchmark, never at run time. */
#include "nn_int.h"

#include <stdio.h>
#include <string.h>

/* Declares one flat tensor; its values are copied from a side table once all are allocated. */
static void add(struct nn_model *out, const char *name, size_t n)
{
    int64_t shape[1] = {(int64_t)n};
    BASE_ASSERT(nn_model_declare(out, name, 1, shape, 0, NN_INIT_CONST, 0.0f, NULL) >= 0);
}

static void add_param(struct nn_model *out, const struct nn_pdecl *p)
{
    BASE_ASSERT(nn_model_declare(out, p->name, p->ndim, p->shape, 0, NN_INIT_CONST, 0.0f, NULL) >=
                0);
}

int nn_debug_export(struct nn_graph *g, const char *path, const struct nn_model *before,
                    int results, struct base_err *err)
{
    struct nn_model *out = nn_model_new(0);
    const float **src = base_calloc(
        (size_t)(before->n + 3 * g->n_outputs + g->n_inputs + 2 * g->m->n + 1), sizeof *src);
    char name[NN_NAME_MAX + 16];
    int n = 0;
    for (int i = 0; i < before->n; i++, n++) {
        add_param(out, &before->p[i]);
        src[n] = nn_model_data(before, i);
    }
    for (int i = 0; i < g->n_inputs; i++, n++) {
        snprintf(name, sizeof name, "__input.%d", i);
        add(out, name, nn_shape_numel(g->nodes[g->inputs[i]].shape));
        src[n] = g->in_buf[i];
    }
    for (int o = 0; results && o < g->n_outputs; o++) {
        size_t numel = nn_shape_numel(g->nodes[g->outputs[o]].shape);
        snprintf(name, sizeof name, "__out.%d", o);
        add(out, name, numel);
        src[n++] = g->out_buf[o];
        if (g->mode != NN_TRAIN)
            continue;
        snprintf(name, sizeof name, "__gout.%d", o);
        add(out, name, numel);
        src[n++] = g->out_grad[o];
    }
    for (int i = 0; results && g->mode == NN_TRAIN && i < g->m->n; i++, n++) {
        int buffer = g->m->p[i].flags & NN_PARAM_BUFFER;
        snprintf(name, sizeof name, "%s%s", buffer ? "__rs." : "__grad.", g->m->p[i].name);
        add(out, name, g->m->p[i].numel);
        src[n] = buffer ? nn_model_data(g->m, i) : nn_model_grad(g->m, i);
    }
    nn_model_alloc(out, NULL);
    for (int i = 0; i < out->n; i++)
        memcpy(nn_model_data(out, i), src[i], out->p[i].numel * sizeof(float));
    char *graph = nn_graph_describe(g), inputs[16];
    snprintf(inputs, sizeof inputs, "%d", g->n_inputs);
    struct nn_meta meta[] = {{"graph", graph}, {"inputs", inputs}};
    int rc = nn_model_save(out, path, meta, 2, err);
    base_free(graph);
    base_free(src);
    nn_model_free(out);
    return rc;
}
