/* The TF.js oracle of the det tests: runs tests/oracle/tfjs_run.mjs (TF.js's pure-JS CPU backend
 * in node) on a graph model (centernet, blazeface-back) and reads back the nodes it was asked
 * for. Shared by the backbone test (test_det_mv3.c) and the zoo tests (test_det_zoo.c,
 * test_det_zoo_face.c, test_det_zoo_faceboxes.c), which run a zoo graph of ours beside it
 * (struct tfjs_oracle_case). */
#ifndef LL_TEST_TFJS_ORACLE_H
#define LL_TEST_TFJS_ORACLE_H

#include "base/base.h"
#include "det/det_int.h"
#include "det/det.h"
#include "image/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* npic NHWC pictures of side `size` in, the nodes' values (NHWC, concatenated) of graph model
 * models/human-models/MODEL.json out, or NULL after saying why on stderr. The caller frees the
 * result with free(). */
static float *tfjs_oracle_run(const char *model, const float *nhwc, int npic, int size,
                              const char *const *nodes, int nnodes, size_t *count)
{
    char dir[] = "/tmp/ll-test-tfjs.XXXXXX", cmd[4096], in[256], out[256], list[1024] = "";
    if (!mkdtemp(dir))
        return NULL;
    snprintf(in, sizeof in, "%s/in.bin", dir);
    snprintf(out, sizeof out, "%s/out.bin", dir);
    FILE *f = fopen(in, "wb");
    fwrite(nhwc, sizeof(float), (size_t)npic * size * size * 3, f);
    fclose(f);
    for (int i = 0; i < nnodes; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), " %s", nodes[i]);
    const char *src = getenv("LL_SOURCE") ? getenv("LL_SOURCE") : ".";
    snprintf(cmd, sizeof cmd,
             "cd %s/tests/oracle && node tfjs_run.mjs %s/models/human-models/%s.json %s %d %d %d "
             "%s%s >/dev/null",
             src, src, model, in, npic, size, size, out, list);
    int rc = system(cmd);
    float *data = NULL;
    char *raw = NULL;
    size_t len = 0;
    struct base_err err;
    if (rc != 0)
        fprintf(stderr, "oracle failed (%d): %s\n", rc, cmd);
    else if (base_file_read(out, (size_t)1 << 30, &raw, &len, &err))
        fprintf(stderr, "%s\n", err.msg);
    else {
        data = malloc(len + 4);
        memcpy(data, raw, len);
        *count = len / sizeof(float);
    }
    base_free(raw);
    unlink(in);
    unlink(out);
    rmdir(dir);
    return data;
}

/* Zoo model `name` for an oracle test, or NULL after saying why on stderr: it must open, with
 * `nclasses` classes, the first named `first`, and input side `size`. */
static inline struct det_model *tfjs_oracle_zoo(const char *name, int nclasses, const char *first,
                                                int size)
{
    struct base_err err;
    struct det_model *m = det_zoo_open(name, &err);
    if (!m) {
        fprintf(stderr, "zoo: %s\n", err.msg);
        return NULL;
    }
    const struct det_model_info *info = det_model_info(m);
    if (info->nclasses == nclasses && info->input_size == size && !strcmp(info->classes[0], first))
        return m;
    fprintf(stderr, "zoo %s: %d classes from '%s' at %d\n", name, info->nclasses, info->classes[0],
            info->input_size);
    det_model_free(m);
    return NULL;
}

/* Picture `path` as the predictor prepares it for model m (letterbox, raw 0..255) into slot k of
 * nchw (ours), and the same values times `scale` plus `shift` into slot k of nhwc (the graph's
 * own input for TF.js). Pictures are size x size. */
static inline int tfjs_oracle_prepare(const struct det_model *m, const char *path, int size, int k,
                                      float scale, float shift, float *nchw, float *nhwc)
{
    struct image img;
    struct image_info info;
    struct image_letterbox map;
    struct base_err err;
    if (det_read_image(path, size, 0, &img, &info, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    size_t plane = (size_t)size * size;
    float *chw = nchw + (size_t)k * 3 * plane;
    int rc = det_prepare(m, &img, size, chw, &map, &err);
    image_release(&img);
    for (size_t i = 0; i < plane && !rc; i++)
        for (int c = 0; c < 3; c++)
            nhwc[((size_t)k * plane + i) * 3 + c] = chw[(size_t)c * plane + i] * scale + shift;
    return rc;
}

/* One zoo model's side of an oracle test: the model, npic pictures prepared for it (nchw: ours,
 * nhwc: the graph's own input) and our graph run forward on them. */
struct tfjs_oracle_case {
    struct det_model *m;
    float *nchw, *nhwc;
    size_t plane; /* floats of one picture */
    struct nn_graph *g;
};
typedef int (*tfjs_oracle_prepare_fn)(const struct det_model *m, int k, float *nchw, float *nhwc);

static inline void tfjs_oracle_case_release(struct tfjs_oracle_case *c)
{
    nn_graph_free(c->g);
    free(c->nchw);
    free(c->nhwc);
    det_model_free(c->m);
}

/* Opens zoo model `name` (checked as tfjs_oracle_zoo does), prepares pictures 0..npic-1 with
 * `prepare` and runs our graph on them: 0, or -1 after saying why on stderr, with nothing left
 * to free. */
static inline int tfjs_oracle_case_open(struct tfjs_oracle_case *c, const char *name, int nclasses,
                                        const char *first, int size, int npic,
                                        tfjs_oracle_prepare_fn prepare)
{
    memset(c, 0, sizeof *c);
    if (!(c->m = tfjs_oracle_zoo(name, nclasses, first, size)))
        return -1;
    int rc = -1;
    c->plane = (size_t)size * size * 3;
    c->nchw = malloc(sizeof(float) * npic * c->plane);
    c->nhwc = malloc(sizeof(float) * npic * c->plane);
    struct base_err err = {0};
    for (int k = 0; k < npic; k++)
        if (prepare(c->m, k, c->nchw, c->nhwc))
            goto out;
    c->g = nn_graph_new(c->m->nn);
    det_zoo_build(c->m, c->g, npic, size);
    if (nn_graph_compile(c->g, NN_INFER, NN_BACKEND_DEFAULT, &err) == 0) {
        memcpy(nn_graph_input(c->g, 0, NULL), c->nchw, sizeof(float) * npic * c->plane);
        rc = nn_graph_forward(c->g, &err);
    }
    if (rc)
        fprintf(stderr, "%s: %s\n", name, err.msg);
out:
    if (rc)
        tfjs_oracle_case_release(c);
    return rc;
}

#endif
