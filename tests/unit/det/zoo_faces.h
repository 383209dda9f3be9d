/* Shared by the zoo's face detector tests (test_det_zoo_face.c: BlazeFace,
 * test_det_zoo_faceboxes.c: FaceBoxes): the two seed-faces16 portraits they run, the error of a
 * raw output against TF.js's, and the predictor's boxes on each portrait's true face. */
#ifndef LL_TEST_ZOO_FACES_H
#define LL_TEST_ZOO_FACES_H

#include "det/det_int.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Portrait k (0 or 1): seed-faces16's 000001 and 000003. */
static inline void picture(int k, char *path, size_t cap)
{
    snprintf(path, cap, "%s/datasets/seed-faces16/images/%s", test_shared_dir(),
             k == 0 ? "000001.jpg" : "000003.jpg");
}

/* Largest |ours - tf| over the largest |tf| for picture n (ours NCHW of c channels, tf HWC). */
static inline double map_error(const float *ours, int n, const float *tf, int c, int hw)
{
    double emax = 0, vmax = 1e-12;
    for (int ch = 0; ch < c; ch++)
        for (size_t i = 0; i < (size_t)hw; i++) {
            double a = ours[((size_t)n * c + ch) * hw + i], b = tf[i * c + ch];
            emax = fmax(emax, fabs(a - b));
            vmax = fmax(vmax, fabs(b));
        }
    return emax / vmax;
}

/* Picture k through the predictor as the CLI and the loop use it; *found: the labels (bit
 * 1 << label) of boxes scoring at least 0.5 that are on the picture's true face: label `face`'s
 * centre lies in it, another label's box holds its centre. */
static inline int predict(const char *spec, int k, int face, int *found)
{
    struct base_err err;
    struct det_predictor *p = det_predictor_open(spec, &err);
    if (!p) {
        fprintf(stderr, "%s: %s\n", spec, err.msg);
        return -1;
    }
    char path[1024];
    picture(k, path, sizeof path);
    const char *paths[1] = {path};
    struct det_box *out[1];
    int counts[1];
    struct image_info info[1];
    struct det_predict_opts o = {.score_thr = 0.3f};
    int rc = det_predict_files(p, paths, 1, &o, out, counts, info, &err);
    /* seed-faces16's boxes of pictures 000001 and 000003 (YOLO: centre, size) */
    static const float truth[2][4] = {{0.5086f, 0.3311f, 0.5526f, 0.4556f},
                                      {0.523f, 0.4342f, 0.182f, 0.4484f}};
    const float *b = truth[k];
    *found = 0;
    for (int i = 0; !rc && i < counts[0]; i++) {
        const struct det_box *d = &out[0][i];
        float cx = (d->x0 + d->x1) / 2 / (float)info[0].width,
              cy = (d->y0 + d->y1) / 2 / (float)info[0].height;
        float w = (float)info[0].width, h = (float)info[0].height;
        int centred = fabsf(cx - b[0]) < b[2] / 2 && fabsf(cy - b[1]) < b[3] / 2;
        int holds = d->x0 < b[0] * w && b[0] * w < d->x1 && d->y0 < b[1] * h && b[1] * h < d->y1;
        if (d->score >= 0.5f && (d->label == face ? centred : holds))
            *found |= 1 << d->label;
    }
    if (!rc)
        base_free(out[0]);
    det_predictor_free(p);
    return rc;
}

/* Both portraits through face model `face` (e.g. "zoo:faceboxes") and through `both`, the
 * combined model with a project's labels: the face found by `face`; Person from the CenterNet
 * (whose box holds the face's centre too) and Face from the face network by `both`, "car"
 * nothing; and `face` refuses a label of a COCO class. */
static inline void check_portraits(const char *face, const char *both)
{
    char spec[256];
    int found = 0;
    snprintf(spec, sizeof spec, "%s\ncar\tcar\nPerson\tperson\nFace\tface\n", both);
    for (int k = 0; k < 2; k++) {
        CHECK(predict(face, k, 0, &found) == 0 && found == 1);
        CHECK(predict(spec, k, 2, &found) == 0 && found == 6);
    }
    struct base_err err;
    snprintf(spec, sizeof spec, "%s\nwalker\tperson", face);
    CHECK(det_predictor_open(spec, &err) == NULL && strstr(err.msg, "bad line"));
}

#endif
