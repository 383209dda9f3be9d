/* Prediction from files (decode at the model's size, predict in batches, boxes back in the
 * displayed picture's pixels) and evaluation of a model on a data set read from files. A file
 * that cannot be read is skipped with a warning and the others go on. */
#include "det_int.h"

#include <string.h>

#define FILE_BATCH 8

/* Files [0, n) with n <= FILE_BATCH. An unreadable file is skipped with a warning (counts -1,
 * info zeroed); the others are predicted as one batch. */
static int predict_chunk(struct det_predictor *p, const char *const *paths, int n, int size,
                         const struct det_predict_opts *o, struct det_box **out, int *counts,
                         struct image_info *infos, struct base_err *err)
{
    struct image imgs[FILE_BATCH];
    const struct image *ptrs[FILE_BATCH];
    struct det_box *boxes[FILE_BATCH];
    int nboxes[FILE_BATCH], idx[FILE_BATCH], k = 0, rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        struct base_err e = {0};
        if (!det_read_image(paths[i], size, 0, &imgs[k], &infos[i], &e)) {
            ptrs[k] = &imgs[k];
            idx[k++] = i;
        } else if (det_image_skippable(&e)) {
            det_warn_skipped(&e);
            memset(&infos[i], 0, sizeof infos[i]);
            counts[i] = -1;
        } else {
            rc = -1;
            if (err)
                *err = e;
        }
    }
    if (!rc && k)
        rc = det_predict(p, ptrs, k, o, boxes, nboxes, err);
    for (int j = 0; j < k && !rc; j++) {
        int i = idx[j];
        float sx = (float)infos[i].width / imgs[j].width;
        float sy = (float)infos[i].height / imgs[j].height;
        for (int b = 0; b < nboxes[j]; b++) {
            struct det_box *x = &boxes[j][b];
            x->x0 *= sx, x->x1 *= sx, x->y0 *= sy, x->y1 *= sy;
        }
        out[i] = boxes[j];
        counts[i] = nboxes[j];
    }
    for (int j = 0; j < k; j++)
        image_release(&imgs[j]);
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
    /* an unreadable image leaves the evaluation with its ground truth: it was never seen */
    int used = 0, skipped = 0;
    for (int i = 0; i < n && !rc; i++) {
        const struct det_sample *s = &d->samples[i];
        if (counts[i] < 0) {
            skipped++;
            continue;
        }
        gt[i] = base_alloc(((size_t)s->nboxes + 1) * sizeof **gt);
        for (int k = 0; k < s->nboxes; k++) {
            gt[i][k] = s->boxes[k];
            gt[i][k].label = map[s->boxes[k].label];
        }
        ev[used++] = (struct det_eval_image){gt[i], s->nboxes, boxes[i], counts[i]};
    }
    if (!rc && !used && n)
        rc = base_err_set(err, BASE_E_INVALID, "no readable images to evaluate (%d skipped)",
                          skipped);
    if (!rc)
        rc = det_evaluate(ev, used, nc, out, err);
    if (!rc)
        out->skipped = skipped;
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
