/* Reads an evaluation fixture (see eval_ref.py) on stdin, runs det_evaluate and prints the
 * twelve COCO numbers and the per-class AP and AP50, one value per line, for the reference
 * comparison in eval_ref.py. */
#include "det/det.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct img {
    struct det_box *gt, *dt;
    int ngt, ndt, cgt, cdt;
};

static void push(struct det_box **v, int *n, int *cap, struct det_box b)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        *v = base_realloc(*v, (size_t)*cap * sizeof **v);
    }
    (*v)[(*n)++] = b;
}

int main(void)
{
    int nclasses = 0, nimg = 0, cap = 0;
    struct img *imgs = NULL;
    char kind[16];
    while (scanf("%15s", kind) == 1) {
        struct det_box b = {0, 0, 0, 0, 0, 1.0f};
        if (!strcmp(kind, "classes")) {
            if (scanf("%d", &nclasses) != 1)
                return 2;
        } else if (!strcmp(kind, "image")) {
            if (nimg == cap) {
                cap = cap ? 2 * cap : 16;
                imgs = base_realloc(imgs, (size_t)cap * sizeof *imgs);
            }
            memset(&imgs[nimg++], 0, sizeof *imgs);
        } else if (!strcmp(kind, "gt") && nimg) {
            if (scanf("%f %f %f %f %d", &b.x0, &b.y0, &b.x1, &b.y1, &b.label) != 5)
                return 2;
            struct img *m = &imgs[nimg - 1];
            push(&m->gt, &m->ngt, &m->cgt, b);
        } else if (!strcmp(kind, "dt") && nimg) {
            if (scanf("%f %f %f %f %d %f", &b.x0, &b.y0, &b.x1, &b.y1, &b.label, &b.score) != 6)
                return 2;
            struct img *m = &imgs[nimg - 1];
            push(&m->dt, &m->ndt, &m->cdt, b);
        } else {
            return 2;
        }
    }
    struct det_eval_image *ev = base_calloc((size_t)nimg + 1, sizeof *ev);
    for (int i = 0; i < nimg; i++)
        ev[i] = (struct det_eval_image){imgs[i].gt, imgs[i].ngt, imgs[i].dt, imgs[i].ndt};
    struct det_metrics m;
    struct base_err err;
    if (det_evaluate(ev, nimg, nclasses, &m, &err)) {
        fprintf(stderr, "det_evaluate: %s\n", err.msg);
        return 1;
    }
    double v[12] = {m.ap,  m.ap50, m.ap75,  m.ap_small, m.ap_medium, m.ap_large,
                    m.ar1, m.ar10, m.ar100, m.ar_small, m.ar_medium, m.ar_large};
    for (int i = 0; i < 12; i++)
        printf("%.17g\n", v[i]);
    for (int k = 0; k < nclasses; k++)
        printf("%.17g\n%.17g\n", m.class_ap[k], m.class_ap50[k]);
    det_metrics_release(&m);
    for (int i = 0; i < nimg; i++) {
        base_free(imgs[i].gt);
        base_free(imgs[i].dt);
    }
    base_free(imgs);
    base_free(ev);
    return 0;
}
