/* The zoo's face detector FaceBoxes (det_zoo_faceboxes.c) against its oracle, TensorFlow.js
 * running the original graph model (tests/oracle/tfjs_run.mjs): two portraits of seed-faces16
 * letterboxed to 512 (whole numbers: the graph takes uint8) go through both. The six raw outputs
 * must agree to 1e-3 of each one's largest value; our decoding of all 5,456 anchors with the
 * graph's own (its anchors, offsets and softmax: postprocessing/clip_by_value and Softmax) to
 * 1e-3 of the input's side and 1e-3 in score; and our final boxes (threshold 0.05, NMS 0.3, as
 * the graph's) with the graph's own `boxes` and `scores` (its control flow, executeAsync): the
 * same boxes above 0.1, in order, to 1e-3 of the side. Also: the predictor finds each portrait's
 * face through "zoo:faceboxes" and the combined model gives a person from the CenterNet and a
 * face from FaceBoxes. */
#include "det/det_int.h"
#include "test.h"
#include "tfjs_oracle.h"
#include "zoo_faces.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIZE DET_FB_SIZE
#define NPIC 2
#define NRAW 6

static const char *const nodes[NRAW + 3] = {"prediction_layers/class_predictor_0/BiasAdd",
                                            "prediction_layers/box_encoding_predictor_0/BiasAdd",
                                            "prediction_layers/class_predictor_1/BiasAdd",
                                            "prediction_layers/box_encoding_predictor_1/BiasAdd",
                                            "prediction_layers/class_predictor_2/BiasAdd",
                                            "prediction_layers/box_encoding_predictor_2/BiasAdd",
                                            "postprocessing/clip_by_value",
                                            "postprocessing/Softmax",
                                            "@faceboxes"};
static const int chans[NRAW] = {42, 84, 2, 4, 2, 4}, sides[NRAW] = {16, 16, 8, 8, 4, 4};

/* The predictor's own preparation (letterbox, raw 0..255) rounded to whole numbers, as NCHW for
 * us and NHWC for TF.js. */
static int prepare(const struct det_model *m, int k, float *nchw, float *nhwc)
{
    char path[1024];
    picture(k, path, sizeof path);
    size_t plane = (size_t)SIZE * SIZE * 3;
    int rc = tfjs_oracle_prepare(m, path, SIZE, k, 1.0f, 0.0f, nchw, nhwc);
    for (size_t i = 0; i < plane; i++) {
        nchw[k * plane + i] = roundf(nchw[k * plane + i]);
        nhwc[k * plane + i] = roundf(nhwc[k * plane + i]);
    }
    return rc;
}

/* Our rows (x0, y0, x1, y1 pixels, score) against the graph's boxes (ymin, xmin, ymax, xmax
 * normalised) and softmax (background, face): largest coordinate error over the side, *es the
 * largest score error, *best the best score. */
static double decoded_error(const float *rows, const float *box, const float *soft, int na,
                            double *es, double *best)
{
    double eb = 0;
    *es = 0, *best = 0;
    for (int k = 0; k < na; k++) {
        const float *r = rows + (size_t)k * 5, *b = box + (size_t)k * 4;
        const float tf[4] = {b[1] * SIZE, b[0] * SIZE, b[3] * SIZE, b[2] * SIZE};
        for (int j = 0; j < 4; j++)
            eb = fmax(eb, fabs(r[j] - tf[j]));
        *es = fmax(*es, fabs(r[4] - soft[k * 2 + 1]));
        *best = fmax(*best, soft[k * 2 + 1]);
    }
    return eb / SIZE;
}

/* Our final boxes of picture n against the graph's (rows x0, y0, x1, y1, score of nt boxes):
 * the boxes above 0.1 must be the same, in order; returns the largest coordinate error over the
 * side, or 1 when they differ in number. */
static double final_error(const struct det_model *m, struct nn_graph *g, int n, const float *tf,
                          int nt, int *count)
{
    struct det_predict_opts o = {.score_thr = 0.05f, .nms_thr = 0.3f, .max_det = 200};
    struct det_box *b = malloc(sizeof *b * 200);
    int nb = det_zoo_decode(m, g, n, SIZE, &o, b), ours = 0, theirs = 0;
    for (int k = 0; k < nb; k++)
        ours += b[k].score > 0.1f;
    for (int k = 0; k < nt; k++)
        theirs += tf[k * 5 + 4] > 0.1f;
    double e = ours == theirs ? 0 : 1;
    for (int k = 0; k < ours && ours == theirs; k++) {
        const float *t = tf + k * 5, r[5] = {b[k].x0, b[k].y0, b[k].x1, b[k].y1, b[k].score};
        for (int j = 0; j < 5; j++)
            e = fmax(e, fabs(r[j] - t[j]) / (j < 4 ? SIZE : 1));
    }
    *count = ours;
    free(b);
    return e;
}

static void test_faceboxes_matches_tfjs(void)
{
    struct tfjs_oracle_case c;
    int ok = tfjs_oracle_case_open(&c, "faceboxes", 1, "face", SIZE, NPIC, prepare) == 0;
    CHECK(ok);
    if (!ok)
        return;
    struct det_model *m = c.m;
    struct nn_graph *g = c.g;
    const float *nhwc = c.nhwc;
    size_t plane = c.plane, raw = 0;
    int na = det_zoo_faceboxes_anchors(SIZE);
    CHECK(na == 16 * 16 * 21 + 8 * 8 + 4 * 4);
    for (int o = 0; o < NRAW; o++)
        raw += (size_t)chans[o] * sides[o] * sides[o];
    float *rows = malloc(sizeof(float) * (size_t)na * 5);
    for (int n = 0; n < NPIC; n++) {
        size_t count = 0, fixed = raw + (size_t)na * 6;
        float *tf = tfjs_oracle_run("faceboxes", nhwc + (size_t)n * plane, 1, SIZE, nodes, NRAW + 3,
                                    &count);
        CHECK(tf != NULL && count >= fixed && (count - fixed) % 5 == 0);
        if (!tf || count < fixed || (count - fixed) % 5) {
            free(tf);
            continue;
        }
        const float *t = tf;
        double emap = 0;
        for (int o = 0; o < NRAW; o++) {
            int hw = sides[o] * sides[o];
            emap = fmax(emap, map_error(nn_graph_output(g, o, NULL), n, t, chans[o], hw));
            t += (size_t)chans[o] * hw;
        }
        det_zoo_faceboxes_rows(g, 0, n, SIZE, rows);
        double es, best;
        double eb = decoded_error(rows, t, t + (size_t)na * 4, na, &es, &best);
        int nt = (int)((count - fixed) / 5), kept = 0;
        double ef = final_error(m, g, n, tf + fixed, nt, &kept);
        fprintf(stderr,
                "picture %d: raw outputs %.2e of the largest value; %d anchors decoded: boxes "
                "%.2e of the side, scores %.2e (best %.3f); final boxes above 0.1: %d, %.2e\n",
                n, emap, na, eb, es, best, kept, ef);
        CHECK(emap < 1e-3 && eb < 1e-3 && es < 1e-3 && ef < 1e-3);
        CHECK(best > 0.5 && kept > 0); /* a face is there: the comparison is not of noise */
        free(tf);
    }
    free(rows);
    tfjs_oracle_case_release(&c);
}

static void test_predictor_finds_faces(void)
{
    check_portraits(DET_ZOO_FACES, DET_ZOO_BOTH);
}

TEST_MAIN(TEST_CASE(test_faceboxes_matches_tfjs), TEST_CASE(test_predictor_finds_faces))
