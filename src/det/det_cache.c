/* The training image cache: every image decoded once (scaled DCT straight to near the training
 * size, EXIF orientation applied) and kept in memory, so epochs cost augmentation only. */
#include "det_int.h"

#include <string.h>

static int load_one(struct det_cached *it, const struct det_sample *s, int size,
                    struct base_err *err)
{
    char *data = NULL;
    size_t len = 0;
    struct image_info info;
    int rc = base_file_read(s->path, IMAGE_MAX_FILE_BYTES, &data, &len, err);
    if (!rc)
        rc = image_load_fit(data, len, size, 1, &it->img, &info, err);
    base_free(data);
    if (rc)
        return base_err_prefix(err, "%s: ", s->path);
    /* boxes are in the displayed size the data set recorded (or the header's when unknown) */
    int w = s->width > 0 ? s->width : info.width, h = s->height > 0 ? s->height : info.height;
    it->src_width = w;
    it->src_height = h;
    float sx = (float)it->img.width / (float)w, sy = (float)it->img.height / (float)h;
    it->boxes = base_alloc(((size_t)s->nboxes + 1) * sizeof *it->boxes);
    it->nboxes = s->nboxes;
    for (int k = 0; k < s->nboxes; k++) {
        struct det_box b = s->boxes[k];
        b.x0 *= sx, b.x1 *= sx, b.y0 *= sy, b.y1 *= sy;
        it->boxes[k] = b;
    }
    return 0;
}

int det_cache_load(struct det_cache *c, const struct det_dataset *d, int size,
                   const volatile int *cancel, struct base_err *err)
{
    memset(c, 0, sizeof *c);
    c->size = size;
    c->items = base_calloc((size_t)d->nsamples + 1, sizeof *c->items);
    for (int i = 0; i < d->nsamples; i++) {
        if (cancel && *cancel) {
            det_cache_release(c);
            return base_err_set(err, BASE_E_CANCELLED, "cancelled");
        }
        if (load_one(&c->items[i], &d->samples[i], size, err)) {
            det_cache_release(c);
            return -1;
        }
        c->n++;
        if (c->items[i].nboxes > c->max_boxes)
            c->max_boxes = c->items[i].nboxes;
    }
    return 0;
}

void det_cache_release(struct det_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++) {
        image_release(&c->items[i].img);
        base_free(c->items[i].boxes);
    }
    base_free(c->items);
    memset(c, 0, sizeof *c);
}
