/* The zoo's CenterNet against its oracle, TensorFlow.js running the original graph model
 * (tests/oracle/tfjs_run.mjs): two pictures (a raccoon, a portrait) letterboxed to 512 go through
 * both, and the heat map, the sizes and the graph's own top-100 detections (peak picking, top-K,
 * boxes) must agree to 1e-3 of each one's largest value. Also: the predictor finds a person in the
 * portrait through "zoo:centernet-coco", and an unknown zoo name is a clear error. */
#include "det/det_int.h"
#include "test.h"
#include "tfjs_oracle.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE 512
#define NPIC 2
#define HM   (SIZE / 4)

static const char *const nodes[3] = {"tower_0/keypoints", "tower_0/wh", "tower_0/detections"};

static void picture(int k, char *path, size_t cap)
{
    if (k == 0)
        snprintf(path, cap, "%s/datasets/raccoon/images/raccoon-1.jpg", test_shared_dir());
    else
        snprintf(path, cap, "%s/datasets/seed-faces16/images/000001.jpg", test_shared_dir());
}

/* The predictor's own preparation (letterbox, raw 0..255) as NCHW, and the same as NHWC. */
static int prepare(const struct det_model *m, int k, float *nchw, float *nhwc)
{
    char path[1024];
    picture(k, path, sizeof path);
    return tfjs_oracle_prepare(m, path, SIZE, k, 1.0f, 0.0f, nchw, nhwc);
}

/* Largest |ours - tf| over the largest |tf| for picture n (ours NCHW of c channels, tf HWC). */
static double map_error(const float *ours, int n, const float *tf, int c)
{
    double emax = 0, vmax = 1e-12;
    for (int ch = 0; ch < c; ch++)
        for (size_t i = 0; i < (size_t)HM * HM; i++) {
            double a = ours[((size_t)n * c + ch) * HM * HM + i];
            double b = tf[i * c + ch];
            emax = fabs(a - b) > emax ? fabs(a - b) : emax;
            vmax = fabs(b) > vmax ? fabs(b) : vmax;
        }
    return emax / vmax;
}

/* Our detections of picture n against TF's rows above a score of 0.01 (below, ties of
 * near-zero scores may order freely): worst box error (of the largest coordinate) and score
 * error; *same: every class equal. Returns the rows compared. */
static int compare_detections(const float *rows, const float *t, double *eb, double *es, int *same)
{
    double bmax = 1e-12, e = 0;
    int k = 0;
    for (; k < DET_ZOO_TOPK && t[k * 6 + 4] >= 0.01f; k++) {
        *same &= rows[k * 6 + 5] == t[k * 6 + 5];
        for (int j = 0; j < 4; j++) {
            e = fmax(e, fabs(rows[k * 6 + j] - t[k * 6 + j]));
            bmax = fmax(bmax, fabs(t[k * 6 + j]));
        }
        *es = fmax(*es, fabs(rows[k * 6 + 4] - t[k * 6 + 4]));
    }
    *eb = fmax(*eb, e / bmax);
    return k;
}

static void test_centernet_matches_tfjs(void)
{
    struct tfjs_oracle_case c;
    int ok = tfjs_oracle_case_open(&c, "centernet-coco", 80, "person", SIZE, NPIC, prepare) == 0;
    CHECK(ok);
    if (!ok)
        return;
    struct det_model *m = c.m;
    struct nn_graph *g = c.g;
    const float *nhwc = c.nhwc;
    size_t plane = c.plane;
    size_t nk = (size_t)HM * HM * 80, nw = (size_t)HM * HM * 4, nd = (size_t)DET_ZOO_TOPK * 6;
    for (int n = 0; n < NPIC; n++) {
        size_t count = 0;
        float *tf =
            tfjs_oracle_run("centernet", nhwc + (size_t)n * plane, 1, SIZE, nodes, 3, &count);
        CHECK(tf != NULL && count == nk + nw + nd);
        if (!tf || count != nk + nw + nd) {
            free(tf);
            continue;
        }
        double ek = map_error(nn_graph_output(g, 0, NULL), n, tf, 80);
        double ew = map_error(nn_graph_output(g, 1, NULL), n, tf + nk, 4);
        float rows[DET_ZOO_TOPK * 6];
        det_zoo_detections(m, g, n, SIZE, rows);
        double eb = 0, es = 0;
        int same = 1, kept = compare_detections(rows, tf + nk + nw, &eb, &es, &same);
        fprintf(stderr,
                "picture %d: heat map %.2e, sizes %.2e of the largest value; %d detections above "
                "0.01: boxes %.2e of the largest coordinate, scores %.2e, classes %s\n",
                n, ek, ew, kept, eb, es, same ? "equal" : "differ");
        CHECK(ek < 1e-3 && ew < 1e-3);
        CHECK(kept > 0 && same && eb < 1e-3 && es < 1e-3);
        free(tf);
    }
    tfjs_oracle_case_release(&c);
}

/* Through the predictor as the CLI and the loop use it: a person in the portrait, by COCO's name
 * or, with a label map, by the project's ("walker" for person; "car" finds nothing there). */
static void find_person(const char *spec, int label)
{
    struct base_err err;
    struct det_predictor *p = det_predictor_open(spec, &err);
    CHECK(p != NULL);
    if (!p)
        return;
    char path[1024];
    picture(1, path, sizeof path);
    const char *paths[1] = {path};
    struct det_box *out[1];
    int counts[1];
    struct image_info info[1];
    struct det_predict_opts o = {.score_thr = 0.3f};
    CHECK(det_predict_files(p, paths, 1, &o, out, counts, info, &err) == 0);
    int person = 0, other = 0;
    for (int k = 0; k < counts[0]; k++) {
        person |= out[0][k].label == label && out[0][k].x1 - out[0][k].x0 > info[0].width / 4.0f;
        other |= out[0][k].label != label && out[0][k].score > 0.5f;
    }
    CHECK(person && !other);
    base_free(out[0]);
    det_predictor_free(p);
}

static void test_predictor_finds_person(void)
{
    find_person("zoo:centernet-coco", 0);
    find_person("zoo:centernet-coco\ncar\tcar\nwalker\tperson\n", 1);
    struct base_err err;
    CHECK(det_predictor_open("zoo:nothing", &err) == NULL && strstr(err.msg, "unknown zoo"));
    CHECK(det_predictor_open("zoo:centernet-coco\nx\tzebu", &err) == NULL &&
          strstr(err.msg, "bad line"));
    CHECK(det_zoo_match("Pedestrian") == 0 && det_zoo_match("TV") == det_zoo_match("tvmonitor"));
    CHECK(det_zoo_match("raccoon") == -1 && det_zoo_match("") == -1);
}

TEST_MAIN(TEST_CASE(test_centernet_matches_tfjs), TEST_CASE(test_predictor_finds_person))
