/* Evaluation of a model on a data set read from files: every image decoded at the model's size
 * (scaled DCT), predicted in batches, compared with its boxes in the displayed image's pixels. */
#include "det_int.h"

#include <string.h>

#define EVAL_BATCH 8

static int load_scaled(const struct det_sample *s, int size, struct image *img, float *sx,
                       float *sy, struct base_err *err)
{
    char *data = NULL;
    size_t len = 0;
    struct image_info info;
    int rc = base_file_read(s->path, IMAGE_MAX_FILE_BYTES, &data, &len, err);
    if (!rc)
        rc = image_load_fit(data, len, size, 0, img, &info, err);
    base_free(data);
    if (rc)
        return base_err_prefix(err, "%s: ", s->path);
    int w = s->width > 0 ? s->width : info.width, h = s->height > 0 ? s->height : info.height;
    *sx = (float)w / img->width;
    *sy = (float)h / img->height;
    return 0;
}

/* Predicts images [i0, i0+n) of d into boxes/counts, in the data set's pixels. */
static int predict_chunk(struct det_predictor *p, const struct det_dataset *d, int i0, int n,
                         int size, const struct det_predict_opts *o, struct det_box **boxes,
                         int *counts, struct base_err *err)
{
    struct image imgs[EVAL_BATCH];
    const struct image *ptrs[EVAL_BATCH];
    float sx[EVAL_BATCH], sy[EVAL_BATCH];
    int loaded = 0, rc = 0;
    memset(imgs, 0, sizeof imgs);
    for (; loaded < n && !rc; loaded++) {
        rc = load_scaled(&d->samples[i0 + loaded], size, &imgs[loaded], &sx[loaded], &sy[loaded],
                         err);
        ptrs[loaded] = &imgs[loaded];
    }
    if (!rc)
        rc = det_predict(p, ptrs, n, o, boxes + i0, counts + i0, err);
    for (int i = 0; i < n && !rc; i++)
        for (int k = 0; k < counts[i0 + i]; k++) {
            struct det_box *b = &boxes[i0 + i][k];
            b->x0 *= sx[i], b->x1 *= sx[i], b->y0 *= sy[i], b->y1 *= sy[i];
        }
    for (int i = 0; i < loaded; i++)
        image_release(&imgs[i]);
    return rc;
}

int det_evaluate_dataset(struct det_predictor *p, const struct det_dataset *d,
                         const struct det_predict_opts *opts, struct det_metrics *out,
                         struct base_err *err)
{
    memset(out, 0, sizeof *out);
    struct det_model *m = det_predictor_acquire(p);
    int size = m->info.input_size, nc = m->info.nclasses, n = d->nsamples, rc = 0;
    int *map = base_alloc(((size_t)d->nclasses + 1) * sizeof *map);
    for (int k = 0; k < d->nclasses && !rc; k++) {
        map[k] = -1;
        for (int j = 0; j < nc; j++)
            if (!strcmp(d->classes[k], m->info.classes[j]))
                map[k] = j;
        if (map[k] < 0)
            rc = base_err_set(err, BASE_E_INVALID, "class '%s' is not one of the model's",
                              d->classes[k]);
    }
    det_predictor_release(p, m);
    struct det_box **boxes = base_calloc((size_t)n + 1, sizeof *boxes);
    int *counts = base_calloc((size_t)n + 1, sizeof *counts);
    for (int i = 0; i < n && !rc; i += EVAL_BATCH)
        rc = predict_chunk(p, d, i, n - i < EVAL_BATCH ? n - i : EVAL_BATCH, size, opts, boxes,
                           counts, err);
    struct det_eval_image *ev = base_calloc((size_t)n + 1, sizeof *ev);
    struct det_box **gt = base_calloc((size_t)n + 1, sizeof *gt);
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
    base_free(map);
    base_free(boxes);
    base_free(counts);
    base_free(ev);
    return rc;
}
