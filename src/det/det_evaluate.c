/* Prediction from files (decode at the model's size, predict in batches, boxes back in the
 * displayed picture's pixels) and evaluation of a model on a data set read from files. */
#include "det_int.h"

#include <string.h>

#define FILE_BATCH 8

static int load_scaled(const char *path, int size, struct image *img, struct image_info *info,
                       struct base_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = base_file_read(path, IMAGE_MAX_FILE_BYTES, &data, &len, err);
    if (!rc)
        rc = image_load_fit(data, len, size, 0, img, info, err);
    base_free(data);
    return rc ? base_err_prefix(err, "%s: ", path) : 0;
}

/* Files [0, n) with n <= FILE_BATCH. */
static int predict_chunk(struct det_predictor *p, const char *const *paths, int n, int size,
                         const struct det_predict_opts *o, struct det_box **out, int *counts,
                         struct image_info *infos, struct base_err *err)
{
    struct image imgs[FILE_BATCH];
    const struct image *ptrs[FILE_BATCH];
    int loaded = 0, rc = 0;
    memset(imgs, 0, sizeof imgs);
    for (; loaded < n && !rc; loaded++) {
        rc = load_scaled(paths[loaded], size, &imgs[loaded], &infos[loaded], err);
        ptrs[loaded] = &imgs[loaded];
    }
    if (!rc)
        rc = det_predict(p, ptrs, n, o, out, counts, err);
    for (int i = 0; i < n && !rc; i++) {
        float sx = (float)infos[i].width / imgs[i].width;
        float sy = (float)infos[i].height / imgs[i].height;
        for (int k = 0; k < counts[i]; k++) {
            struct det_box *b = &out[i][k];
            b->x0 *= sx, b->x1 *= sx, b->y0 *= sy, b->y1 *= sy;
        }
    }
    for (int i = 0; i < loaded; i++)
        image_release(&imgs[i]);
    return rc;
}

int det_predict_files(struct det_predictor *p, const char *const *paths, int n,
                      const struct det_predict_opts *opts, struct det_box **out, int *counts,
                      struct image_info *infos, struct base_err *err)
{
    struct det_model *m = det_predictor_acquire(p);
    int size = m->info.input_size, rc = 0;
    det_predictor_release(p, m);
    struct image_info *inf = infos ? infos : base_alloc(((size_t)n + 1) * sizeof *inf);
    for (int i = 0; i < n; i++)
        out[i] = NULL, counts[i] = 0;
    for (int i = 0; i < n && !rc; i += FILE_BATCH) {
        int k = n - i < FILE_BATCH ? n - i : FILE_BATCH;
        rc = predict_chunk(p, paths + i, k, size, opts, out + i, counts + i, inf + i, err);
    }
    if (rc)
        for (int i = 0; i < n; i++) {
            base_free(out[i]);
            out[i] = NULL, counts[i] = 0;
        }
    if (!infos)
        base_free(inf);
    return rc;
}

/* Data set label -> model label, by class name. */
static int class_map(const struct det_model *m, const struct det_dataset *d, int *map,
                     struct base_err *err)
{
    for (int k = 0; k < d->nclasses; k++) {
        map[k] = -1;
        for (int j = 0; j < m->info.nclasses; j++)
            if (!strcmp(d->classes[k], m->info.classes[j]))
                map[k] = j;
        if (map[k] < 0)
            return base_err_set(err, BASE_E_INVALID, "class '%s' is not one of the model's",
                                d->classes[k]);
    }
    return 0;
}

int det_evaluate_dataset(struct det_predictor *p, const struct det_dataset *d,
                         const struct det_predict_opts *opts, struct det_metrics *out,
                         struct base_err *err)
{
    memset(out, 0, sizeof *out);
    int n = d->nsamples;
    struct det_model *m = det_predictor_acquire(p);
    int nc = m->info.nclasses;
    int *map = base_alloc(((size_t)d->nclasses + 1) * sizeof *map);
    int rc = class_map(m, d, map, err);
    det_predictor_release(p, m);
    const char **paths = base_alloc(((size_t)n + 1) * sizeof *paths);
    struct det_box **boxes = base_calloc((size_t)n + 1, sizeof *boxes);
    struct det_box **gt = base_calloc((size_t)n + 1, sizeof *gt);
    int *counts = base_calloc((size_t)n + 1, sizeof *counts);
    struct det_eval_image *ev = base_calloc((size_t)n + 1, sizeof *ev);
    for (int i = 0; i < n; i++)
        paths[i] = d->samples[i].path;
    if (!rc)
        rc = det_predict_files(p, paths, n, opts, boxes, counts, NULL, err);
    for (int i = 0; i < n && !rc; i++) {
        const struct det_sample *s = &d->samples[i];
        gt[i] = base_alloc(((size_t)s->nboxes + 1) * sizeof **gt);
        for (int k = 0; k < s->nboxes; k++) {
            gt[i][k] = s->boxes[k];
            gt[i][k].label = map[s->boxes[k].label];
        }
        ev[i] = (struct det_eval_image){gt[i], s->nboxes, boxes[i], counts[i]};
    }
    if (!rc)
        rc = det_evaluate(ev, n, nc, out, err);
    for (int i = 0; i < n; i++) {
        base_free(boxes[i]);
        base_free(gt[i]);
    }
    base_free(gt);
    base_free(boxes);
    base_free(counts);
    base_free(ev);
    base_free(paths);
    base_free(map);
    return rc;
}
