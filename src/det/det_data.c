/* Data sets as the detector sees them: image paths, displayed sizes, pixel boxes, class names;
 * the deterministic split by image and the fingerprint recorded in model files. */
#include "det_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct det_dataset *det_dataset_new(const char *const *classes, int nclasses, struct base_err *err)
{
    if (nclasses < 1 || !classes) {
        base_err_set(err, BASE_E_INVALID, "data set has no classes");
        return NULL;
    }
    for (int i = 0; i < nclasses; i++) {
        if (!classes[i] || !*classes[i]) {
            base_err_set(err, BASE_E_INVALID, "class %d has an empty name", i);
            return NULL;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(classes[i], classes[j])) {
                base_err_set(err, BASE_E_INVALID, "class '%s' appears twice", classes[i]);
                return NULL;
            }
    }
    struct det_dataset *d = base_calloc(1, sizeof *d);
    d->classes = base_alloc((size_t)nclasses * sizeof *d->classes);
    for (int i = 0; i < nclasses; i++)
        d->classes[i] = base_strdup(classes[i]);
    d->nclasses = nclasses;
    return d;
}

void det_dataset_free(struct det_dataset *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nclasses; i++)
        base_free(d->classes[i]);
    for (int i = 0; i < d->nsamples; i++) {
        base_free(d->samples[i].path);
        base_free(d->samples[i].boxes);
    }
    base_free(d->classes);
    base_free(d->samples);
    base_free(d);
}

static void clamp_box(struct det_box *b, int w, int h)
{
    if (w <= 0 || h <= 0)
        return;
    b->x0 = fminf(fmaxf(b->x0, 0.0f), (float)w);
    b->x1 = fminf(fmaxf(b->x1, 0.0f), (float)w);
    b->y0 = fminf(fmaxf(b->y0, 0.0f), (float)h);
    b->y1 = fminf(fmaxf(b->y1, 0.0f), (float)h);
}

int det_dataset_add(struct det_dataset *d, const char *path, int width, int height,
                    const struct det_box *boxes, int nboxes, struct base_err *err)
{
    if (!path || nboxes < 0 || (nboxes && !boxes))
        return base_err_set(err, BASE_E_INVALID, "data set: bad sample");
    for (int i = 0; i < nboxes; i++)
        if (boxes[i].label < 0 || boxes[i].label >= d->nclasses)
            return base_err_set(err, BASE_E_INVALID, "%s: box %d has class %d of %d", path, i,
                                boxes[i].label, d->nclasses);
    if (d->nsamples % 64 == 0)
        d->samples = base_realloc(d->samples, ((size_t)d->nsamples + 64) * sizeof *d->samples);
    struct det_sample *s = &d->samples[d->nsamples++];
    s->path = base_strdup(path);
    s->width = width > 0 ? width : 0;
    s->height = height > 0 ? height : 0;
    s->boxes = base_alloc(((size_t)nboxes + 1) * sizeof *s->boxes);
    s->nboxes = 0;
    for (int i = 0; i < nboxes; i++) {
        struct det_box b = boxes[i];
        clamp_box(&b, s->width, s->height);
        b.score = 1.0f;
        if (b.x1 > b.x0 && b.y1 > b.y0)
            s->boxes[s->nboxes++] = b;
    }
    return 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp((*(const struct det_sample *const *)a)->path,
                  (*(const struct det_sample *const *)b)->path);
}

int det_dataset_split(const struct det_dataset *d, double val_fraction, uint64_t seed,
                      struct det_dataset **train, struct det_dataset **val, struct base_err *err)
{
    *train = *val = NULL;
    if (!(val_fraction >= 0.0 && val_fraction < 1.0))
        return base_err_set(err, BASE_E_INVALID, "validation fraction %g is not in [0, 1)",
                            val_fraction);
    int n = d->nsamples, nval = (int)lround(val_fraction * n);
    if (n - nval < 1)
        return base_err_set(err, BASE_E_INVALID, "data set of %d images leaves none to train", n);
    const struct det_sample **order = base_alloc(((size_t)n + 1) * sizeof *order);
    for (int i = 0; i < n; i++)
        order[i] = &d->samples[i];
    qsort(order, (size_t)n, sizeof *order, by_path);
    struct base_rng rng;
    base_rng_seed(&rng, seed);
    base_rng_shuffle(&rng, order, (size_t)n, sizeof *order);
    *train = det_dataset_new((const char *const *)d->classes, d->nclasses, err);
    *val = det_dataset_new((const char *const *)d->classes, d->nclasses, err);
    for (int i = 0; i < n; i++) {
        const struct det_sample *s = order[i];
        det_dataset_add(i < nval ? *val : *train, s->path, s->width, s->height, s->boxes, s->nboxes,
                        NULL);
    }
    base_free(order);
    return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

void det_dataset_fingerprint(const struct det_dataset *d, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < d->nclasses; i++)
        h = fnv(h, d->classes[i], strlen(d->classes[i]) + 1);
    for (int i = 0; i < d->nsamples; i++) {
        const struct det_sample *s = &d->samples[i];
        h = fnv(h, s->path, strlen(s->path) + 1);
        for (int k = 0; k < s->nboxes; k++) {
            const struct det_box *b = &s->boxes[k];
            float v[4] = {b->x0, b->y0, b->x1, b->y1};
            h = fnv(h, v, sizeof v);
            h = fnv(h, &b->label, sizeof b->label);
        }
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}
