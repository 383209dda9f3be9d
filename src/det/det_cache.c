/* The training image cache: every image decoded once (scaled DCT straight to near the training
 * size, EXIF orientation applied) and kept in memory, so epochs cost augmentation only. Also the
 * one place that reads an image file for the detector, so that training, prediction and
 * evaluation skip and warn about bad files alike: one bad picture never stops a job. */
#include "det_int.h"

#include <string.h>

int det_read_image(const char *path, int size, int enlarge, struct image *img,
                   struct image_info *info, struct base_err *err)
{
    char *data = NULL;
    size_t len = 0;
    memset(img, 0, sizeof *img);
    /* base_file_read's messages name the file already */
    int rc = base_file_read(path, IMAGE_MAX_FILE_BYTES, &data, &len, err);
    if (!rc && (rc = image_load_fit(data, len, size, enlarge, img, info, err)))
        base_err_prefix(err, "%s: ", path);
    base_free(data);
    if (!rc && info->truncated)
        BASE_WARN("image %s is truncated: using the part that decodes, the rest is grey", path);
    return rc;
}

int det_image_skippable(const struct base_err *err)
{
    switch (err->status) {
    case BASE_E_INVALID:
    case BASE_E_NOTFOUND:
    case BASE_E_TOOBIG:
    case BASE_E_UNSUPPORTED:
    case BASE_E_IO:
        return 1;
    default:
        return 0;
    }
}

void det_warn_skipped(const struct base_err *err)
{
    BASE_WARN("skipping unreadable image %s", err->msg);
}

static int load_one(struct det_cached *it, const struct det_sample *s, int size,
                    struct base_err *err)
{
    struct image_info info;
    if (det_read_image(s->path, size, 1, &it->img, &info, err))
        return -1;
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
        struct det_cached *it = &c->items[c->n];
        struct base_err e = {0};
        if (load_one(it, &d->samples[i], size, &e)) {
            if (!det_image_skippable(&e)) {
                det_cache_release(c);
                if (err)
                    *err = e;
                return -1;
            }
            det_warn_skipped(&e);
            c->skipped++;
            continue;
        }
        it->sample = i;
        c->n++;
        if (it->nboxes > c->max_boxes)
            c->max_boxes = it->nboxes;
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
