/* The zoo's face detector (BlazeFace, det_zoo_face.c) against its oracle, TensorFlow.js running
 * the original graph model (tests/oracle/tfjs_run.mjs): two portraits of seed-faces16
 * letterboxed to 256 go through both; the four raw outputs must agree to 1e-3 of each one's
 * largest value, and our decoding of all 896 anchors with the oracle's (TF.js ops, as
 * @vladmandic/human decodes) to 1e-3 of the largest coordinate and 1e-3 in score. Also: the
 * predictor finds each portrait's face through "zoo:blazeface-back", the combined model gives a
 * person from the CenterNet and a face from BlazeFace, and a face label cannot be asked of the
 * CenterNet alone. */
#include "det/det_int.h"
#include "test.h"
#include "tfjs_oracle.h"
#include "zoo_faces.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIZE DET_FACE_SIZE
#define NPIC 2

static const char *const nodes[5] = {"Identity", "Identity_2", "Identity_1", "Identity_3",
                                     "@blazeface"};
/* our outputs in order: scores and regressors at stride 16, then at 32 */
static const int chans[4] = {2, 32, 6, 96}, sides[4] = {16, 16, 8, 8};

/* The predictor's own preparation (letterbox, raw 0..255) as NCHW, and the graph's input
 * (x / 127.5 - 1) as NHWC for TF.js. */
static int prepare(const struct det_model *m, int k, float *nchw, float *nhwc)
{
    char path[1024];
    picture(k, path, sizeof path);
    return tfjs_oracle_prepare(m, path, SIZE, k, 1.0f / 127.5f, -1.0f, nchw, nhwc);
}

static void test_blazeface_matches_tfjs(void)
{
    struct tfjs_oracle_case c;
    int ok = tfjs_oracle_case_open(&c, "blazeface-back", 1, "face", SIZE, NPIC, prepare) == 0;
    CHECK(ok);
    if (!ok)
        return;
    struct nn_graph *g = c.g;
    const float *nhwc = c.nhwc;
    size_t plane = c.plane, want = 0;
    for (int o = 0; o < 4; o++)
        want += (size_t)chans[o] * sides[o] * sides[o];
    for (int n = 0; n < NPIC; n++) {
        size_t count = 0;
        float *tf =
            tfjs_oracle_run("blazeface-back", nhwc + (size_t)n * plane, 1, SIZE, nodes, 5, &count);
        CHECK(tf != NULL && count == want + DET_FACE_ANCHORS * 5);
        if (!tf || count != want + DET_FACE_ANCHORS * 5) {
            free(tf);
            continue;
        }
        const float *t = tf;
        double emap = 0;
        for (int o = 0; o < 4; o++) {
            int hw = sides[o] * sides[o];
            emap = fmax(emap, map_error(nn_graph_output(g, o, NULL), n, t, chans[o], hw));
            t += (size_t)chans[o] * hw;
        }
        float *rows = malloc(sizeof(float) * DET_FACE_ANCHORS * 5);
        det_zoo_face_rows(g, 0, n, SIZE, rows);
        double eb = 0, bmax = 1e-12, es = 0, best = 0;
        for (int k = 0; k < DET_FACE_ANCHORS; k++) {
            for (int j = 0; j < 4; j++) {
                eb = fmax(eb, fabs(rows[k * 5 + j] - t[k * 5 + j]));
                bmax = fmax(bmax, fabs(t[k * 5 + j]));
            }
            es = fmax(es, fabs(rows[k * 5 + 4] - t[k * 5 + 4]));
            best = fmax(best, t[k * 5 + 4]);
        }
        fprintf(stderr,
                "picture %d: raw outputs %.2e of the largest value; %d anchors decoded: boxes "
                "%.2e of the largest coordinate, scores %.2e (best %.3f)\n",
                n, emap, DET_FACE_ANCHORS, eb / bmax, es, best);
        CHECK(emap < 1e-3 && eb / bmax < 1e-3 && es < 1e-3);
        CHECK(best > 0.5); /* a face is there: the comparison is not of noise */
        free(rows);
        free(tf);
    }
    tfjs_oracle_case_release(&c);
}

static void test_predictor_finds_faces(void)
{
    check_portraits("zoo:blazeface-back", "zoo:centernet-coco+blazeface-back");
    struct base_err err;
    CHECK(det_predictor_open("zoo:centernet-coco\nFace\tface", &err) == NULL &&
          strstr(err.msg, "bad line"));
    CHECK(det_zoo_match("Faces") == det_zoo_match("face") && det_zoo_match("face") >= 80);
    CHECK(det_zoo_match("head") == -1);
}

TEST_MAIN(TEST_CASE(test_blazeface_matches_tfjs), TEST_CASE(test_predictor_finds_faces))
