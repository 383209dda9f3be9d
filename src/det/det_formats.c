/* The bridge from the formats module's data sets (COCO, YOLO, VOC read from disk, boxes in
 * double pixels) to the detector's (float boxes with a score): one converter, here, for the CLI,
 * the benchmarks and the tests alike. */
#include "det_int.h"

#include "formats/formats.h"

struct det_dataset *det_dataset_from_formats(const struct formats_dataset *fd, size_t n,
                                             struct base_err *err)
{
    struct det_dataset *d =
        det_dataset_new((const char *const *)fd->classes, (int)fd->nclasses, err);
    if (n == 0 || n > fd->nsamples)
        n = fd->nsamples;
    for (size_t i = 0; d && i < n; i++) {
        const struct formats_sample *s = &fd->samples[i];
        struct det_box *b = base_alloc((s->nboxes + 1) * sizeof *b);
        for (size_t k = 0; k < s->nboxes; k++)
            b[k] = (struct det_box){(float)s->boxes[k].x0, (float)s->boxes[k].y0,
                                    (float)s->boxes[k].x1, (float)s->boxes[k].y1,
                                    s->boxes[k].cls,       1.0f};
        int rc = det_dataset_add(d, s->path, s->width, s->height, b, (int)s->nboxes, err);
        base_free(b);
        if (rc) {
            det_dataset_free(d);
            d = NULL;
        }
    }
    return d;
}
