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

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIZE DET_FACE_SIZE
#define NPIC 2

static const char *const nodes[5] = {"Identity", "Identity_2", "Identity_1", "Identity_3",
                                     "@blazeface"};
/* our outputs in order: scores and regressors at stride 16, then at 32 */
static const int chans[4] = {2, 32, 6, 96}, sides[4] = {16, 16, 8, 8};

static void picture(int k, char *path, size_t cap)
{
    snprintf(path, cap, "%s/datasets/seed-faces16/images/%s", test_shared_dir(),
             k == 0 ? "000001.jpg" : "000003.jpg");
}

/* The predictor's own preparation (letterbox, raw 0..255) as NCHW, and the graph's input
 * (x / 127.5 - 1) as NHWC for TF.js. */
static int prepare(const struct det_model *m, int k, float *nchw, float *nhwc)
{
    char path[1024];
    picture(k, path, sizeof path);
    return tfjs_oracle_prepare(m, path, SIZE, k, 1.0f / 127.5f, -1.0f, nchw, nhwc);
}

/* Largest |ours - tf| over the largest |tf| for picture n (ours NCHW of c channels, tf HWC). */
static double map_error(const float *ours, int n, const float *tf, int c, int hw)
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

static void test_blazeface_matches_tfjs(void)
{
    struct base_err err;
    struct det_model *m = det_zoo_open("blazeface-back", &err);
    if (!m)
        fprintf(stderr, "zoo: %s\n", err.msg);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK(det_model_info(m)->nclasses == 1 && det_model_info(m)->input_size == SIZE);
    CHECK(!strcmp(det_model_info(m)->classes[0], "face"));
    size_t plane = (size_t)SIZE * SIZE * 3, want = 0;
    for (int o = 0; o < 4; o++)
        want += (size_t)chans[o] * sides[o] * sides[o];
    float *nchw = malloc(sizeof(float) * NPIC * plane),
          *nhwc = malloc(sizeof(float) * NPIC * plane);
    for (int k = 0; k < NPIC; k++)
        CHECK(prepare(m, k, nchw, nhwc) == 0);
    struct nn_graph *g = nn_graph_new(m->nn);
    det_zoo_build(m, g, NPIC, SIZE);
    CHECK(nn_graph_compile(g, NN_INFER, NN_BACKEND_DEFAULT, &err) == 0);
    memcpy(nn_graph_input(g, 0, NULL), nchw, sizeof(float) * NPIC * plane);
    CHECK(nn_graph_forward(g, &err) == 0);
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
    nn_graph_free(g);
    free(nchw);
    free(nhwc);
    det_model_free(m);
}

/* Picture k through the predictor as the CLI and the loop use it; *found: the labels (bit
 * 1 << label) of boxes scoring at least 0.5 that are on the picture's true face: label `face`'s
 * centre lies in it, another label's box holds its centre. */
static int predict(const char *spec, int k, int face, int *found)
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

static void test_predictor_finds_faces(void)
{
    int found = 0;
    for (int k = 0; k < NPIC; k++) {
        CHECK(predict("zoo:blazeface-back", k, 0, &found) == 0 && found == 1);
        /* the combined model with a project's labels: Person from the CenterNet (whose box holds
         * the face's centre too), Face from BlazeFace; "car" finds nothing */
        CHECK(predict("zoo:centernet-coco+blazeface-back\ncar\tcar\nPerson\tperson\nFace\tface\n",
                      k, 2, &found) == 0 &&
              found == 6);
    }
    struct base_err err;
    CHECK(det_predictor_open("zoo:centernet-coco\nFace\tface", &err) == NULL &&
          strstr(err.msg, "bad line"));
    CHECK(det_predictor_open("zoo:blazeface-back\nwalker\tperson", &err) == NULL &&
          strstr(err.msg, "bad line"));
    CHECK(det_zoo_match("Faces") == det_zoo_match("face") && det_zoo_match("face") >= 80);
    CHECK(det_zoo_match("head") == -1);
}

TEST_MAIN(TEST_CASE(test_blazeface_matches_tfjs), TEST_CASE(test_predictor_finds_faces))
