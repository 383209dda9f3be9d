/* Tests of src/det's pure-C pieces: target assignment, box coding, NMS, post-processing and the
 * losses (hand-computed values, gradients against finite differences), and hand-computed
 * evaluator cases (the reference comparison is eval_ref.py). */
#include "det/det_int.h"
#include "formats/formats.h"
#include "test.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

/* The first n raccoon images (by file name) through the formats module's VOC reader. */
static struct det_dataset *raccoon(int n)
{
    char path[1024];
    struct base_err err;
    struct formats_dataset *fd;
    snprintf(path, sizeof path, "%s/datasets/raccoon", test_shared_dir());
    if (formats_dataset_read(path, FORMATS_VOC, &fd, &err)) {
        fprintf(stderr, "raccoon: %s\n", err.msg);
        return NULL;
    }
    struct det_dataset *d = det_dataset_from_formats(fd, (size_t)n, &err);
    formats_dataset_free(fd);
    return d;
}

static const int strides[3] = {8, 16, 32};
static const float ranges[2] = {64, 128};

static void test_assign_small_box(void)
{
    struct det_geom g;
    det_geom_init(&g, 64, 64, 3, strides, ranges, 1.5f);
    CHECK_EQ_INT(g.npoints, 64 + 16 + 4);
    CHECK_EQ_INT(g.lv[1].offset, 64);
    int labels[84];
    float ltrb[84 * 4], ctr[84];
    struct det_box b = {8, 8, 40, 24, 2, 1};
    /* centre (24, 16), sampling radius 12 clipped to the box: x in (12, 36), y in (8, 24) */
    CHECK_EQ_INT(det_assign(&g, &b, 1, labels, ltrb, ctr), 4);
    int pos[4] = {1 * 8 + 2, 1 * 8 + 3, 2 * 8 + 2, 2 * 8 + 3}; /* (20,12) (28,12) (20,20) (28,20) */
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(labels[pos[i]], 2);
    CHECK_EQ_INT(labels[0], -1);
    CHECK_NEAR(ltrb[4 * 10 + 0], 12, 1e-6);
    CHECK_NEAR(ltrb[4 * 10 + 1], 4, 1e-6);
    CHECK_NEAR(ltrb[4 * 10 + 2], 20, 1e-6);
    CHECK_NEAR(ltrb[4 * 10 + 3], 12, 1e-6);
    CHECK_NEAR(ctr[10], sqrt(12.0 / 20 * 4.0 / 12), 1e-6);
    CHECK_NEAR(ctr[19], sqrt(12.0 / 20 * 4.0 / 12), 1e-6);
    CHECK_EQ_INT(ctr[0], 0);
}

/* A 200-pixel box: its centre points fall to stride 16 or 32 by their largest distance. */
static void test_assign_ranges(void)
{
    struct det_geom g;
    det_geom_init(&g, 256, 256, 3, strides, ranges, 1.5f);
    int *labels = base_alloc(g.npoints * sizeof *labels);
    float *ltrb = base_alloc(g.npoints * 4 * sizeof *ltrb), *ctr = base_alloc(g.npoints * 4);
    struct det_box b = {0, 0, 200, 200, 0, 1};
    CHECK_EQ_INT(det_assign(&g, &b, 1, labels, ltrb, ctr), 14);
    int per[3] = {0, 0, 0};
    for (int l = 0; l < 3; l++)
        for (int p = 0; p < g.lv[l].w * g.lv[l].h; p++)
            per[l] += labels[g.lv[l].offset + p] >= 0;
    CHECK(per[0] == 0 && per[1] == 9 && per[2] == 5);
    /* the small box inside the big one takes the points both could learn */
    struct det_box two[2] = {{0, 0, 200, 200, 0, 1}, {70, 70, 130, 130, 1, 1}};
    det_assign(&g, two, 2, labels, ltrb, ctr);
    int p = g.lv[0].offset + 12 * g.lv[0].w + 12; /* (100, 100) at stride 8 */
    CHECK_EQ_INT(labels[p], 1);
    /* zero-size boxes are skipped, not divided by */
    struct det_box zero = {50, 50, 50, 90, 0, 1};
    CHECK_EQ_INT(det_assign(&g, &zero, 1, labels, ltrb, ctr), 0);
    base_free(labels);
    base_free(ltrb);
    base_free(ctr);
}

static void test_box_coding(void)
{
    float ltrb[4] = {8, 16, 4, 32}, raw[4];
    det_encode(ltrb, 8, raw);
    CHECK_NEAR(raw[0], 1, 1e-6);
    CHECK_NEAR(raw[1], 2, 1e-6);
    CHECK_NEAR(raw[2], 0.5, 1e-6);
    struct det_box b;
    det_decode_point(20, 12, raw, 8, &b);
    CHECK_NEAR(b.x0, 12, 1e-4);
    CHECK_NEAR(b.y0, -4, 1e-4);
    CHECK_NEAR(b.x1, 24, 1e-4);
    CHECK_NEAR(b.y1, 44, 1e-4);
    struct det_box a = {0, 0, 10, 10, 0, 0}, c = {1, 1, 11, 11, 0, 0}, e = {20, 0, 30, 5, 0, 0};
    CHECK_NEAR(det_iou(&a, &c), 81.0 / 119.0, 1e-6);
    CHECK_NEAR(det_iou(&a, &e), 0, 0);
}

static void test_nms(void)
{
    struct det_box b[4] = {
        {0, 0, 10, 10, 0, 0.9f},   /* A */
        {1, 1, 11, 11, 0, 0.8f},   /* overlaps A by 0.68: removed */
        {1, 1, 11, 11, 1, 0.7f},   /* same place, other class: kept */
        {20, 20, 30, 30, 0, 0.95f} /* best */
    };
    int n = det_nms(b, 4, 0.5f, 100);
    CHECK_EQ_INT(n, 3);
    CHECK_NEAR(b[0].score, 0.95, 1e-6);
    CHECK_NEAR(b[1].score, 0.9, 1e-6);
    CHECK(b[2].label == 1);
    struct det_box c[4] = {{0, 0, 10, 10, 0, 0.9f},
                           {1, 1, 11, 11, 0, 0.8f},
                           {1, 1, 11, 11, 1, 0.7f},
                           {20, 20, 30, 30, 0, 0.95f}};
    CHECK_EQ_INT(det_nms(c, 4, 0.7f, 100), 4); /* 0.68 <= 0.7 */
    CHECK_EQ_INT(det_nms(c, 4, 0.7f, 2), 2);
    CHECK_EQ_INT(det_nms(c, 0, 0.7f, 2), 0);
}

/* One confident location on a 64x64 input at stride 16, the rest silent. */
static void test_postprocess(void)
{
    struct det_geom g;
    det_geom_init(&g, 64, 64, 3, strides, ranges, 1.5f);
    float *cls[3], *reg[3], *ctr[3];
    struct det_head_out o;
    for (int l = 0; l < 3; l++) {
        int hw = g.lv[l].w * g.lv[l].h;
        cls[l] = base_alloc(2 * hw * sizeof(float));
        reg[l] = base_calloc(4 * hw, sizeof(float));
        ctr[l] = base_alloc(hw * sizeof(float));
        for (int i = 0; i < 2 * hw; i++)
            cls[l][i] = -8;
        for (int i = 0; i < hw; i++)
            ctr[l][i] = -8;
        o.cls[l] = cls[l], o.reg[l] = reg[l], o.ctr[l] = ctr[l];
    }
    int p = 1 * 4 + 2;  /* (40, 24) at stride 16 */
    cls[1][16 + p] = 4; /* class 1 */
    ctr[1][p] = 4;
    for (int q = 0; q < 4; q++)
        reg[1][q * 16 + p] = 1.0f; /* 16 pixels each way... */
    reg[1][2 * 16 + p] = 2.0f;     /* ...but r = 32: clipped at 64 */
    struct det_box out[10];
    int n = det_postprocess(&g, 2, &o, 0.05f, 1000, 0.6f, 10, out);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(out[0].label, 1);
    CHECK_NEAR(out[0].score, 1 / (1 + exp(-4.0)), 1e-5);
    CHECK_NEAR(out[0].x0, 24, 1e-4);
    CHECK_NEAR(out[0].y0, 8, 1e-4);
    CHECK_NEAR(out[0].x1, 64, 1e-4);
    CHECK_NEAR(out[0].y1, 40, 1e-4);
    for (int l = 0; l < 3; l++) {
        base_free(cls[l]);
        base_free(reg[l]);
        base_free(ctr[l]);
    }
}

/* A false positive ranked above the one true positive: precision 1/2 at every recall. */
static void test_evaluate_hand(void)
{
    struct det_box gt = {0, 0, 10, 10, 0, 1};
    struct det_box dt[2] = {{50, 50, 60, 60, 0, 0.9f}, {0, 0, 10, 10, 0, 0.8f}};
    struct det_eval_image im = {&gt, 1, dt, 2};
    struct det_metrics m;
    struct base_err err;
    CHECK_EQ_INT(det_evaluate(&im, 1, 1, &m, &err), 0);
    CHECK_NEAR(m.ap, 0.5, 1e-12);
    CHECK_NEAR(m.ap50, 0.5, 1e-12);
    CHECK_NEAR(m.ap_small, 0.5, 1e-12);
    CHECK_NEAR(m.ap_medium, -1, 0);
    CHECK_NEAR(m.ar1, 0, 0);
    CHECK_NEAR(m.ar100, 1, 1e-12);
    CHECK_NEAR(m.class_ap[0], 0.5, 1e-12);
    det_metrics_release(&m);
    /* a box shifted by a third: IoU 0.5 exactly, matched at .50 only */
    struct det_box half = {0, 0, 10, 10 * 2.0f / 3.0f + 10.0f / 3.0f, 0, 0.5f};
    half.y0 = 10.0f / 3.0f;
    half.y1 = 10.0f + 10.0f / 3.0f;
    im.dt = &half;
    im.ndt = 1;
    CHECK_EQ_INT(det_evaluate(&im, 1, 1, &m, &err), 0);
    CHECK(m.ap50 > 0.99 || m.ap50 == 0); /* right at the threshold: either, but consistent */
    CHECK_NEAR(m.ap75, 0, 0);
    det_metrics_release(&m);
    struct det_box bad = {0, 0, 1, 1, 3, 1};
    im.gt = &bad;
    CHECK(det_evaluate(&im, 1, 1, &m, &err) < 0 && err.status == BASE_E_INVALID);
}

static void test_dataset_split(void)
{
    struct base_err err;
    const char *cls[2] = {"cat", "dog"};
    struct det_dataset *d = det_dataset_new(cls, 2, &err), *tr, *va;
    CHECK(d != NULL);
    char path[32];
    for (int i = 0; i < 10; i++) {
        struct det_box b = {-5, 2, 50, 40, i % 2, 1}; /* clamped to the 40x30 image */
        snprintf(path, sizeof path, "img%02d.jpg", 9 - i);
        CHECK_EQ_INT(det_dataset_add(d, path, 40, 30, &b, 1, &err), 0);
    }
    CHECK_NEAR(d->samples[0].boxes[0].x0, 0, 0);
    CHECK_NEAR(d->samples[0].boxes[0].y1, 30, 0);
    struct det_box bad = {0, 0, 1, 1, 2, 1}, flat = {5, 5, 5, 9, 0, 1};
    CHECK(det_dataset_add(d, "x.jpg", 40, 30, &bad, 1, &err) < 0);
    CHECK_EQ_INT(det_dataset_add(d, "y.jpg", 40, 30, &flat, 1, &err), 0);
    CHECK_EQ_INT(d->samples[10].nboxes, 0); /* zero-size box dropped */
    CHECK_EQ_INT(det_dataset_split(d, 0.2, 7, &tr, &va, &err), 0);
    CHECK(tr->nsamples == 9 && va->nsamples == 2);
    char f1[17], f2[17];
    det_dataset_fingerprint(va, f1);
    det_dataset_free(tr);
    det_dataset_free(va);
    CHECK_EQ_INT(det_dataset_split(d, 0.2, 7, &tr, &va, &err), 0); /* same seed, same split */
    det_dataset_fingerprint(va, f2);
    CHECK_EQ_STR(f1, f2);
    det_dataset_free(tr);
    det_dataset_free(va);
    CHECK(det_dataset_split(d, 1.0, 7, &tr, &va, &err) < 0);
    det_dataset_free(d);
    CHECK(det_dataset_new(cls, 0, &err) == NULL);
    const char *dup[2] = {"a", "a"};
    CHECK(det_dataset_new(dup, 2, &err) == NULL);
}

/* Augmented renders keep boxes inside the canvas and on the object; the loader's stream does
 * not depend on thread timing. */
static void test_pipeline(void)
{
    struct det_dataset *d = raccoon(4);
    CHECK(d && d->nsamples == 4);
    if (!d)
        return;
    struct det_cache c;
    struct base_err err;
    CHECK_EQ_INT(det_cache_load(&c, d, 128, NULL, &err), 0);
    CHECK_EQ_INT(c.n, 4);
    for (int i = 0; i < 4; i++) {
        int w = c.items[i].img.width, h = c.items[i].img.height;
        CHECK((w == 128 && h <= 128) || (h == 128 && w <= 128));
    }
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    struct det_aug a = {0.5f, 1.5f, 0.5f, 0.3f, 0.5f, 0.2f, 0};
    float *chw = base_alloc(3 * 128 * 128 * sizeof *chw);
    struct det_box boxes[32];
    struct base_rng rng;
    base_rng_seed(&rng, 3);
    int total = 0;
    for (int t = 0; t < 40; t++) {
        int n = det_render(&c, t % 4, &rng, &a, 128, mean, std, chw, boxes, 32);
        total += n;
        for (int k = 0; k < n; k++)
            CHECK(boxes[k].x0 >= 0 && boxes[k].x1 <= 128 && boxes[k].x1 - boxes[k].x0 >= 2 &&
                  boxes[k].y0 >= 0 && boxes[k].y1 <= 128 && boxes[k].y1 - boxes[k].y0 >= 2);
    }
    CHECK(total >= 30); /* most renders keep their raccoon */
    /* a plain render is the letterbox of the cached picture: boxes only scaled */
    int n = det_render(&c, 0, &rng, NULL, 128, mean, std, chw, boxes, 32);
    CHECK_EQ_INT(n, c.items[0].nboxes);
    CHECK_NEAR(boxes[0].x0, c.items[0].boxes[0].x0, 1e-3);
    base_free(chw);

    struct det_geom g;
    det_geom_init(&g, 128, 128, 3, strides, ranges, 1.5f);
    struct det_loader *l1 = det_loader_new(&c, &g, 1, 3, 99, &a, mean, std);
    struct det_loader *l2 = det_loader_new(&c, &g, 1, 3, 99, &a, mean, std);
    for (int k = 0; k < 5; k++) {
        const struct det_batch *b1 = det_loader_next(l1), *b2 = det_loader_next(l2);
        CHECK(b1->npos == b2->npos && b1->npos > 0);
        CHECK(!memcmp(b1->input, b2->input, 3 * 3 * 128 * 128 * sizeof(float)));
    }
    det_loader_free(l1);
    det_loader_free(l2);
    det_cache_release(&c);
    det_dataset_free(d);
}

/* Reference class loss with quality targets: each positive's target is the IoU of its predicted
 * and true boxes, computed here from corner coordinates. */
static double ref_quality_cls(const struct det_batch *b, const struct det_geom *g,
                              struct nn_graph *graph)
{
    double sum = 0;
    for (int l = 0; l < g->nlevels; l++) {
        struct nn_shape s;
        const float *x = nn_graph_output(graph, DET_OUT_CLS(l), &s);
        const float *reg = nn_graph_output(graph, DET_OUT_REG(l), NULL);
        size_t n = nn_shape_numel(s), hw = (size_t)g->lv[l].w * g->lv[l].h;
        float *t = base_alloc(n * sizeof *t);
        memcpy(t, b->cls_t[l], n * sizeof *t);
        for (int k = 0; k < b->npos; k++) {
            const struct det_pos *ps = &b->pos[k];
            if (ps->level != l)
                continue;
            const float *d = reg + (size_t)ps->img * 4 * hw + ps->p;
            float p[4] = {-d[0], -d[hw], d[2 * hw], d[3 * hw]};
            float q[4] = {-ps->ltrb[0], -ps->ltrb[1], ps->ltrb[2], ps->ltrb[3]};
            float iw = fminf(p[2], q[2]) - fmaxf(p[0], q[0]),
                  ih = fminf(p[3], q[3]) - fmaxf(p[1], q[1]);
            float in = iw > 0 && ih > 0 ? iw * ih : 0;
            float u = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - in;
            t[((size_t)ps->img * b->nclasses + ps->label) * hw + ps->p] = in / u;
        }
        sum += nn_loss_quality_focal(x, t, n, 2.0f, 1.0f / (float)b->npos, NULL);
        base_free(t);
    }
    return sum;
}

static void test_loss_quality(void)
{
    struct det_dataset *d = raccoon(2);
    struct base_err err;
    struct det_cache c;
    CHECK(d && !det_cache_load(&c, d, 128, NULL, &err));
    struct det_model *m = det_model_new("fcos-t", (const char *const *)d->classes, 1, 128, 3, &err);
    struct det_geom g;
    det_model_geom(m, 128, &g);
    struct nn_graph *graph = nn_graph_new(m->nn);
    det_build(m, graph, 2, 128);
    CHECK_EQ_INT(nn_graph_compile(graph, NN_TRAIN, NN_BACKEND_DEFAULT, &err), 0);
    static const struct det_aug a = {0.8f, 1.2f, 0.5f, 0.2f, 0.0f, 0.25f, 0};
    struct det_loader *l = det_loader_new(&c, &g, 1, 2, 7, &a, m->info.mean, m->info.std);
    const struct det_batch *b = det_loader_next(l);
    memcpy(nn_graph_input(graph, 0, NULL), b->input, 2 * 3 * 128 * 128 * sizeof(float));
    CHECK_EQ_INT(nn_graph_forward(graph, &err), 0);
    struct det_loss_buf lb;
    det_loss_buf_init(&lb, &g, 2, 1);
    struct det_loss_parts q, f;
    det_loss(b, &g, graph, DET_CLS_QUALITY, &lb, &q);
    CHECK(b->npos > 0 && q.npos == b->npos);
    CHECK_NEAR(q.cls, ref_quality_cls(b, &g, graph), 1e-5 * q.cls);
    det_loss(b, &g, graph, DET_CLS_FOCAL, &lb, &f);
    CHECK(fabs(q.cls - f.cls) > 1e-3 * f.cls); /* the targets differ */
    CHECK(q.box == f.box && q.ctr == f.ctr);
    det_loss_buf_release(&lb);
    det_loader_free(l);
    nn_graph_free(graph);
    det_model_free(m);
    det_cache_release(&c);
    det_dataset_free(d);
}

/* Mosaic stops after mosaic_batches: later batches equal those of a loader without mosaic. */
static void test_mosaic_cutoff(void)
{
    struct det_dataset *d = raccoon(4);
    struct base_err err;
    struct det_cache c;
    CHECK(d && !det_cache_load(&c, d, 64, NULL, &err));
    struct det_geom g;
    det_geom_init(&g, 64, 64, DET_NLEVELS, det_strides, det_ranges, DET_RADIUS);
    const float mean[3] = {0.5f, 0.5f, 0.5f}, sd[3] = {0.25f, 0.25f, 0.25f};
    struct det_aug with = {0.5f, 1.5f, 0.5f, 0.2f, 1.0f, 0.25f, 2}, without = with;
    without.mosaic = 0.0f;
    struct det_loader *a = det_loader_new(&c, &g, 1, 2, 5, &with, mean, sd);
    struct det_loader *b = det_loader_new(&c, &g, 1, 2, 5, &without, mean, sd);
    size_t bytes = 2 * 3 * 64 * 64 * sizeof(float);
    for (int k = 0; k < 5; k++) {
        const struct det_batch *x = det_loader_next(a), *y = det_loader_next(b);
        int same = !memcmp(x->input, y->input, bytes);
        CHECK_EQ_INT(same, k >= 2);
    }
    det_loader_free(a);
    det_loader_free(b);
    /* ended by the trainer's clock after batch 0: batch 1 may be rendered already, 2 on are not */
    with.mosaic_batches = 0;
    a = det_loader_new(&c, &g, 1, 2, 5, &with, mean, sd);
    b = det_loader_new(&c, &g, 1, 2, 5, &without, mean, sd);
    CHECK(memcmp(det_loader_next(a)->input, det_loader_next(b)->input, bytes));
    det_loader_end_mosaic(a);
    for (int k = 1; k < 5; k++) {
        const struct det_batch *x = det_loader_next(a), *y = det_loader_next(b);
        CHECK(k < 2 || !memcmp(x->input, y->input, bytes));
    }
    det_loader_free(a);
    det_loader_free(b);
    det_cache_release(&c);
    det_dataset_free(d);
}

/* ---- models, predictor, training ---------------------------------------------------------- */

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, 256, "%s/det-test-%d-%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid(), name);
    return b;
}

static int same_params(const struct det_model *a, const struct det_model *b)
{
    int n = nn_model_param_count(a->nn), same = n == nn_model_param_count(b->nn);
    for (int i = 0; same && i < n; i++) {
        struct nn_param p, q;
        nn_model_param(a->nn, i, &p);
        nn_model_param(b->nn, i, &q);
        same = !strcmp(p.name, q.name) && p.numel == q.numel &&
               !memcmp(p.data, q.data, p.numel * sizeof(float));
    }
    return same;
}

static void test_model_file(void)
{
    struct base_err err;
    const char *cls[2] = {"cat", "dog"};
    struct det_model *m = det_model_new("fcos-t", cls, 2, 64, 5, &err), *r;
    CHECK(m != NULL);
    if (!m)
        return;
    m->info.epoch = 7;
    m->info.val_ap50 = 0.5;
    const char *path = tmp_path("model.safetensors");
    CHECK_EQ_INT(det_model_save(m, path, &err), 0);
    r = det_model_load(path, &err);
    CHECK(r != NULL);
    if (r) {
        const struct det_model_info *in = det_model_info(r);
        CHECK_EQ_STR(in->arch, "fcos-t");
        CHECK(in->input_size == 64 && in->nclasses == 2 && in->epoch == 7);
        CHECK_EQ_STR(in->classes[1], "dog");
        CHECK_NEAR(in->val_ap50, 0.5, 0);
        CHECK_NEAR(in->std[2], 0.225, 1e-7);
        CHECK(same_params(m, r));
        det_model_free(r);
    }
    /* truncated file, foreign safetensors, wrong architecture: errors, never crashes */
    char *data;
    size_t len;
    base_file_read(path, (size_t)1 << 30, &data, &len, &err);
    for (size_t cut = 0; cut < len; cut += len / 7 + 1)
        CHECK(det_model_load_mem(data, cut, &err) == NULL);
    base_free(data);
    struct nn_model *foreign = nn_model_new(1);
    struct nn_graph *g = nn_graph_new(foreign);
    struct nn_conv2d_cfg cc = {.out_ch = 4, .kernel = 3, .pad = 1};
    nn_output(g, nn_conv2d(g, "conv", nn_input(g, 1, 3, 8, 8), &cc));
    nn_model_alloc(foreign, &err);
    struct nn_meta meta[] = {
        {"labelloop.format", "fcos/1"}, {"arch", "fcos-t"},  {"input_size", "64"},
        {"classes", "[\"a\"]"},         {"mean", "[0,0,0]"}, {"std", "[1,1,1]"}};
    nn_model_save(foreign, path, meta, 0, &err);
    CHECK(det_model_load(path, &err) == NULL);
    CHECK_EQ_INT(err.status, BASE_E_UNSUPPORTED);
    nn_model_save(foreign, path, meta, 6, &err); /* claims fcos-t, holds one conv */
    CHECK(det_model_load(path, &err) == NULL);
    CHECK(strstr(err.msg, "does not match") != NULL);
    nn_graph_free(g);
    nn_model_free(foreign);
    CHECK(det_model_new("fcos-x", cls, 2, 64, 5, &err) == NULL);
    CHECK(det_model_new("fcos-t", cls, 2, 100, 5, &err) == NULL); /* not a multiple of 32 */
    det_model_free(m);
    remove(path);
}

/* A model for ["raccoon"] seeds one for ["dog", "raccoon"]: the raccoon row moves, the dog row
 * keeps its fresh initialisation, everything else is copied. */
static void test_warm_start(void)
{
    struct base_err err;
    const char *one[1] = {"raccoon"}, *two[2] = {"dog", "raccoon"};
    struct det_model *a = det_model_new("fcos-t", one, 1, 64, 1, &err);
    struct det_model *b = det_model_new("fcos-t", two, 2, 64, 2, &err);
    struct det_model *fresh = det_model_new("fcos-t", two, 2, 64, 2, &err);
    struct nn_param p;
    nn_model_param(a->nn, nn_model_find(a->nn, "head.cls_out.bias"), &p);
    p.data[0] = 3.25f; /* recognisable */
    const char *path = tmp_path("warm.safetensors");
    CHECK_EQ_INT(det_model_save(a, path, &err), 0);
    CHECK_EQ_INT(det_model_warm_start(b, path, &err), 0);
    struct nn_param bw, aw, fw;
    nn_model_param(b->nn, nn_model_find(b->nn, "head.cls_out.bias"), &p);
    CHECK_NEAR(p.data[1], 3.25, 0);
    nn_model_param(fresh->nn, nn_model_find(fresh->nn, "head.cls_out.bias"), &fw);
    CHECK_NEAR(p.data[0], fw.data[0], 0);
    nn_model_param(b->nn, nn_model_find(b->nn, "head.cls_out.weight"), &bw);
    nn_model_param(a->nn, nn_model_find(a->nn, "head.cls_out.weight"), &aw);
    nn_model_param(fresh->nn, nn_model_find(fresh->nn, "head.cls_out.weight"), &fw);
    size_t row = aw.numel;
    CHECK(!memcmp(bw.data + row, aw.data, row * sizeof(float)));
    CHECK(!memcmp(bw.data, fw.data, row * sizeof(float)));
    nn_model_param(b->nn, nn_model_find(b->nn, "neck.out0.weight"), &bw);
    nn_model_param(a->nn, nn_model_find(a->nn, "neck.out0.weight"), &aw);
    CHECK(!memcmp(bw.data, aw.data, aw.numel * sizeof(float)));
    struct det_model *big = det_model_new("fcos-s", two, 2, 64, 2, &err);
    CHECK(det_model_warm_start(big, path, &err) < 0);
    det_model_free(big);
    det_model_free(a);
    det_model_free(b);
    det_model_free(fresh);
    remove(path);
}

struct worker {
    struct det_predictor *p;
    const struct image *img;
    int rounds, fails;
    struct det_box first;
    int first_count;
};

static void *predict_worker(void *arg)
{
    struct worker *w = arg;
    for (int r = 0; r < w->rounds; r++) {
        struct det_box *out;
        int n;
        struct base_err err;
        if (det_predict(w->p, &w->img, 1, NULL, &out, &n, &err)) {
            w->fails++;
            continue;
        }
        if (r == 0) {
            w->first_count = n;
            if (n)
                w->first = out[0];
        }
        base_free(out);
    }
    return NULL;
}

/* Four threads predict while the model is swapped under them: every call succeeds, boxes stay
 * inside the picture, and ASan sees no use after free. */
static void test_predictor_threads(void)
{
    struct base_err err;
    const char *cls[1] = {"raccoon"};
    struct det_model *m = det_model_new("fcos-t", cls, 1, 64, 3, &err);
    const char *path = tmp_path("swap.safetensors");
    det_model_save(m, path, &err);
    struct det_predictor *p = det_predictor_new(m);
    struct image img;
    image_alloc(&img, 90, 60, NULL);
    for (int i = 0; i < 90 * 60 * 3; i++)
        img.pixels[i] = (uint8_t)(i * 31);
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].p = p, w[i].img = &img, w[i].rounds = 12;
        pthread_create(&t[i], NULL, predict_worker, &w[i]);
    }
    for (int s = 0; s < 3; s++)
        CHECK_EQ_INT(det_predictor_swap(p, path, &err), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(w[i].fails, 0);
    }
    CHECK(det_predictor_swap(p, "/nonexistent.safetensors", &err) < 0);
    struct det_box *out;
    int n;
    CHECK_EQ_INT(det_predict(p, (const struct image *const[]){&img}, 1, NULL, &out, &n, &err), 0);
    for (int k = 0; k < n; k++)
        CHECK(out[k].x0 >= 0 && out[k].x1 <= 90 && out[k].y0 >= 0 && out[k].y1 <= 60);
    base_free(out);
    struct image empty = {0};
    CHECK(det_predict(p, (const struct image *const[]){&empty}, 1, NULL, &out, &n, &err) < 0);
    det_predictor_free(p);
    image_release(&img);
    remove(path);
}

/* Training refuses bad data with a clear error and stops when cancelled. */
static void test_train_errors(void)
{
    struct base_err err;
    const char *cls[1] = {"raccoon"};
    struct det_dataset *d = det_dataset_new(cls, 1, &err);
    struct det_model *m = NULL;
    struct det_train_opts o = {.arch = "fcos-t", .input_size = 64, .epochs = 1};
    CHECK(det_train(d, NULL, &o, &m, &err) < 0); /* empty */
    const char *bad = tmp_path("corrupt.jpg");
    base_file_write_atomic(bad, "\xFF\xD8\xFF\xE0garbage", 12, &err);
    struct det_box b = {1, 1, 5, 5, 0, 1};
    det_dataset_add(d, bad, 10, 10, &b, 1, &err);
    CHECK(det_train(d, NULL, &o, &m, &err) < 0);
    CHECK_EQ_INT(err.status, BASE_E_INVALID);
    CHECK_EQ_STR(err.msg, "no readable training images (1 skipped)");
    CHECK(m == NULL);
    remove(bad);
    det_dataset_free(d);
    d = raccoon(2);
    volatile int stop = 1;
    o.cancel = &stop;
    CHECK(det_train(d, NULL, &o, &m, &err) < 0);
    CHECK_EQ_INT(err.status, BASE_E_CANCELLED);
    det_dataset_free(d);
}

/* ---- unreadable and truncated images ---------------------------------------------------------
 */

/* stderr into a file while a call runs, so that a test can read the warnings it logged. */
struct capture {
    int saved;
    char path[256];
};

static void capture_start(struct capture *c)
{
    snprintf(c->path, sizeof c->path, "%s", tmp_path("stderr.txt"));
    fflush(stderr);
    int fd = open(c->path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    c->saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

/* Returns what was written (base_free it). */
static char *capture_end(struct capture *c)
{
    fflush(stderr);
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    char *text = NULL;
    size_t len = 0;
    struct base_err err;
    if (base_file_read(c->path, 1 << 20, &text, &len, &err))
        text = base_strdup("");
    remove(c->path);
    fputs(text, stderr); /* still shown in the test's output */
    return text;
}

/* Temporary files beside real photos: one that is not an image, and raccoon-1 cut in half. */
static void make_bad_files(const char **garbage, const char **half)
{
    struct base_err err;
    char src[1024], *data;
    size_t len;
    *garbage = tmp_path("garbage.jpg");
    base_file_write_atomic(*garbage, "this is not a picture at all", 28, &err);
    snprintf(src, sizeof src, "%s/datasets/raccoon/images/raccoon-1.jpg", test_shared_dir());
    *half = tmp_path("half.jpg");
    if (!base_file_read(src, 1 << 24, &data, &len, &err)) {
        base_file_write_atomic(*half, data, len / 2, &err);
        base_free(data);
    }
}

/* One bad file among good ones: it gets count -1 and a warning naming it; the others are
 * predicted, the truncated one for what decodes. */
static void test_predict_files_bad(void)
{
    struct base_err err;
    const char *cls[1] = {"raccoon"}, *garbage, *half;
    struct det_predictor *p = det_predictor_new(det_model_new("fcos-t", cls, 1, 64, 3, &err));
    make_bad_files(&garbage, &half);
    char good[2][1024];
    for (int i = 0; i < 2; i++)
        snprintf(good[i], sizeof good[i], "%s/datasets/raccoon/images/raccoon-%d.jpg",
                 test_shared_dir(), i + 1);
    const char *paths[5] = {good[0], garbage, good[1], "/nonexistent/missing.jpg", half};
    struct det_box *out[5];
    int counts[5];
    struct image_info infos[5];
    memset(infos, 0x55, sizeof infos);
    struct capture cap;
    capture_start(&cap);
    int rc = det_predict_files(p, paths, 5, NULL, out, counts, infos, &err);
    char *log = capture_end(&cap);
    CHECK_EQ_INT(rc, 0);
    CHECK(counts[1] == -1 && out[1] == NULL && infos[1].width == 0 && infos[1].format == 0);
    CHECK(counts[3] == -1 && out[3] == NULL && infos[3].width == 0);
    CHECK(counts[0] >= 0 && counts[2] >= 0 && counts[4] >= 0);
    CHECK(out[0] != NULL && out[2] != NULL && out[4] != NULL);
    CHECK(infos[0].width == 650 && infos[0].truncated == 0);
    CHECK(infos[4].width == 650 && infos[4].truncated == 1);
    CHECK(strstr(log, "skipping unreadable image") && strstr(log, "garbage.jpg: not a JPEG"));
    CHECK(strstr(log, "missing.jpg"));
    CHECK(strstr(log, "half.jpg is truncated"));
    base_free(log);
    for (int i = 0; i < 5; i++)
        base_free(out[i]);
    /* only bad files: still not an error, every count -1 */
    CHECK_EQ_INT(det_predict_files(p, paths + 1, 1, NULL, out, counts, NULL, &err), 0);
    CHECK_EQ_INT(counts[0], -1);
    det_predictor_free(p);
    remove(garbage);
    remove(half);
}

struct seen {
    int skipped;
    int reports;
};

static void on_progress(void *user, const struct det_train_progress *pr)
{
    struct seen *s = user;
    s->skipped = pr->skipped;
    s->reports++;
}

/* Training goes on past an unreadable training image and an unreadable validation image, uses
 * the truncated one, and says so. */
static void test_train_skips(void)
{
    struct base_err err;
    const char *garbage, *half;
    make_bad_files(&garbage, &half);
    struct det_dataset *train = raccoon(3), *val = raccoon(2);
    if (!train || !val)
        return;
    const struct det_sample *first = &train->samples[0];
    det_dataset_add(train, garbage, 640, 480, first->boxes, first->nboxes, &err);
    det_dataset_add(train, half, first->width, first->height, first->boxes, first->nboxes, &err);
    det_dataset_add(val, "/nonexistent/gone.jpg", 640, 480, first->boxes, first->nboxes, &err);
    struct seen seen = {0};
    struct det_train_opts o = {.arch = "fcos-t",
                               .input_size = 64,
                               .epochs = 1,
                               .batch = 4,
                               .seed = 1,
                               .progress = on_progress,
                               .user = &seen};
    struct det_model *m = NULL;
    struct capture cap;
    capture_start(&cap);
    int rc = det_train(train, val, &o, &m, &err);
    char *log = capture_end(&cap);
    CHECK_EQ_INT(rc, 0);
    CHECK(m != NULL);
    CHECK_EQ_INT(seen.skipped, 2);
    if (m) {
        CHECK_EQ_INT(m->info.train_images, 4); /* three photos and the half one */
        CHECK(m->info.val_ap50 >= 0);          /* evaluated on the readable validation images */
    }
    CHECK(strstr(log, "skipping unreadable image") && strstr(log, "garbage.jpg"));
    CHECK(strstr(log, "gone.jpg"));
    CHECK(strstr(log, "half.jpg is truncated"));
    base_free(log);
    det_model_free(m);
    det_dataset_free(train);
    det_dataset_free(val);
    remove(garbage);
    remove(half);
}

/* The whole loop learns: four raccoon photos, trained on and evaluated on, reach AP50 > 0.9. */
static void test_overfit(void)
{
    struct det_dataset *d = raccoon(4);
    struct det_model *m = NULL;
    struct base_err err;
    struct det_train_opts o = {.arch = "fcos-t",
                               .input_size = 128,
                               .epochs = 200,
                               .batch = 4,
                               .lr = 0.016f,
                               .seed = 1,
                               .eval_every = 200};
    double t0 = base_now();
    CHECK_EQ_INT(det_train(d, d, &o, &m, &err), 0);
    if (m) {
        fprintf(stderr, "overfit: AP50 %.3f AP %.3f in %.1f s\n", m->info.val_ap50, m->info.val_ap,
                base_now() - t0);
        CHECK(m->info.val_ap50 > 0.9);
        CHECK_EQ_INT(m->info.epoch, 200);
        /* the saved model predicts the same through the file path */
        const char *path = tmp_path("overfit.safetensors");
        CHECK_EQ_INT(det_model_save(m, path, &err), 0);
        struct det_predictor *p = det_predictor_open(path, &err);
        struct det_metrics met;
        CHECK_EQ_INT(det_evaluate_dataset(p, d, NULL, &met, &err), 0);
        CHECK(met.ap50 > 0.9);
        CHECK_EQ_INT(met.skipped, 0);
        /* an unreadable image leaves with its ground truth: had its boxes stayed, unfound, the
         * recall and so the AP would fall */
        const struct det_sample *s0 = &d->samples[0];
        det_dataset_add(d, "/nonexistent/gone.jpg", s0->width, s0->height, s0->boxes, s0->nboxes,
                        &err);
        struct det_metrics with;
        CHECK_EQ_INT(det_evaluate_dataset(p, d, NULL, &with, &err), 0);
        CHECK_EQ_INT(with.skipped, 1);
        CHECK(with.ap50 == met.ap50 && with.ap == met.ap && with.ar100 == met.ar100);
        det_metrics_release(&with);
        det_metrics_release(&met);
        struct det_dataset *none = det_dataset_new((const char *const *)d->classes, 1, &err);
        det_dataset_add(none, "/nonexistent/gone.jpg", 10, 10, s0->boxes, 0, &err);
        CHECK(det_evaluate_dataset(p, none, NULL, &met, &err) < 0);
        CHECK_EQ_STR(err.msg, "no readable images to evaluate (1 skipped)");
        det_dataset_free(none);
        det_predictor_free(p);
        remove(path);
    }
    det_model_free(m);
    det_dataset_free(d);
}

TEST_MAIN(TEST_CASE(test_overfit), TEST_CASE(test_loss_quality), TEST_CASE(test_mosaic_cutoff),
          TEST_CASE(test_model_file), TEST_CASE(test_warm_start), TEST_CASE(test_predictor_threads),
          TEST_CASE(test_train_errors), TEST_CASE(test_predict_files_bad),
          TEST_CASE(test_train_skips), TEST_CASE(test_dataset_split), TEST_CASE(test_pipeline),
          TEST_CASE(test_assign_small_box), TEST_CASE(test_assign_ranges),
          TEST_CASE(test_box_coding), TEST_CASE(test_nms), TEST_CASE(test_postprocess),
          TEST_CASE(test_evaluate_hand))
