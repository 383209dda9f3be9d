/* COCO-style evaluation with pycocotools' exact semantics (evaluateImg / accumulate / summarize):
 * greedy matching of score-sorted detections to ground truth per image and class at ten IoU
 * thresholds, ignored ground truth outside the area range, 101-point interpolated precision.
 * The thresholds are computed the way numpy.linspace does so that ties break identically. */
#include "det_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NT      10  /* IoU thresholds */
#define NR      101 /* recall thresholds */
#define NA      4   /* area ranges: all, small, medium, large */
#define NM      3   /* max detections: 1, 10, 100 */
#define MAX_DET 100

static const double area_lo[NA] = {0.0, 0.0, 32.0 * 32.0, 96.0 * 96.0};
static const double area_hi[NA] = {1e10, 32.0 * 32.0, 96.0 * 96.0, 1e10};
static const int max_dets[NM] = {1, 10, 100};

/* numpy.linspace(start, stop, n): i * step + start, the last exactly stop. Separate statements
 * keep the compiler from fusing the multiply-add, which would round differently. */
static void linspace(double start, double stop, int n, double *out)
{
    double step = (stop - start) / (n - 1);
    for (int i = 0; i < n; i++) {
        double v = (double)i * step;
        out[i] = v + start;
    }
    out[n - 1] = stop;
}

/* The detections of one image and class matched at one area range (pycocotools' evalImg). */
struct img_eval {
    int nd, npig;
    double *score;    /* [nd] */
    uint8_t *matched; /* [NT][nd] */
    uint8_t *ignored; /* [NT][nd] */
};

struct ctx {
    double iou_thr[NT], rec_thr[NR];
    int nclasses;
    double *prec; /* [K][NA][NM][NT][NR], -1 undefined */
    double *rec;  /* [K][NA][NM][NT] */
};

static double box_area(const struct det_box *b)
{
    return ((double)b->x1 - b->x0) * ((double)b->y1 - b->y0);
}

/* pycocotools' bbIou: intersection over union, no +1. */
double det_box_iou(const struct det_box *d, const struct det_box *g)
{
    double w = fmin(d->x1, g->x1) - fmax(d->x0, g->x0);
    double h = fmin(d->y1, g->y1) - fmax(d->y0, g->y0);
    if (w <= 0 || h <= 0)
        return 0;
    double i = w * h;
    return i / (box_area(d) + box_area(g) - i);
}

struct ranked {
    double score;
    int index;
};

static int by_score(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Greedy matching at one IoU threshold, as pycocotools' inner loop. gt is ordered with the
 * ignored ones last; ious is [nd][ng] in that order. */
static void match_one(const struct ctx *c, int t, const double *ious, const uint8_t *gt_ig, int ng,
                      struct img_eval *e, uint8_t *gtm)
{
    memset(gtm, 0, (size_t)ng);
    for (int d = 0; d < e->nd; d++) {
        double iou = fmin(c->iou_thr[t], 1 - 1e-10);
        int m = -1;
        for (int g = 0; g < ng; g++) {
            if (gtm[g])
                continue;
            if (m > -1 && !gt_ig[m] && gt_ig[g])
                break;
            if (ious[(size_t)d * ng + g] < iou)
                continue;
            iou = ious[(size_t)d * ng + g];
            m = g;
        }
        if (m == -1)
            continue;
        e->ignored[(size_t)t * e->nd + d] = gt_ig[m];
        e->matched[(size_t)t * e->nd + d] = 1;
        gtm[m] = 1;
    }
}

/* dt: sorted by score, at most MAX_DET; gt: the image's boxes of the class. */
static void eval_img(const struct ctx *c, const struct det_box *const *gt, int ng,
                     const struct det_box *const *dt, int nd, int a, struct img_eval *e)
{
    uint8_t *ig = base_calloc((size_t)ng + 1, 1), *gtm = base_calloc((size_t)ng + 1, 1);
    const struct det_box **order = base_alloc(((size_t)ng + 1) * sizeof *order);
    int n = 0;
    for (int pass = 0; pass < 2; pass++) /* stable: kept ones first, ignored last */
        for (int g = 0; g < ng; g++) {
            double ar = box_area(gt[g]);
            int ignore = ar < area_lo[a] || ar > area_hi[a];
            if (ignore == pass)
                ig[n] = (uint8_t)ignore, order[n++] = gt[g];
        }
    e->nd = nd;
    e->npig = 0;
    for (int g = 0; g < ng; g++)
        e->npig += !ig[g];
    e->score = base_alloc(((size_t)nd + 1) * sizeof *e->score);
    e->matched = base_calloc((size_t)NT * nd + 1, 1);
    e->ignored = base_calloc((size_t)NT * nd + 1, 1);
    double *ious = base_alloc(((size_t)nd * ng + 1) * sizeof *ious);
    for (int d = 0; d < nd; d++) {
        e->score[d] = dt[d]->score;
        for (int g = 0; g < ng; g++)
            ious[(size_t)d * ng + g] = det_box_iou(dt[d], order[g]);
    }
    for (int t = 0; t < NT; t++) {
        match_one(c, t, ious, ig, ng, e, gtm);
        for (int d = 0; d < nd; d++) {
            double ar = box_area(dt[d]);
            if (!e->matched[(size_t)t * nd + d] && (ar < area_lo[a] || ar > area_hi[a]))
                e->ignored[(size_t)t * nd + d] = 1;
        }
    }
    base_free(ious);
    base_free(order);
    base_free(gtm);
    base_free(ig);
}

static void img_eval_release(struct img_eval *e)
{
    base_free(e->score);
    base_free(e->matched);
    base_free(e->ignored);
    memset(e, 0, sizeof *e);
}

/* One entry of the concatenated detections of all images. */
struct entry {
    struct ranked r;
    const struct img_eval *e;
    int d;
};

static int entry_cmp(const void *pa, const void *pb)
{
    return by_score(&((const struct entry *)pa)->r, &((const struct entry *)pb)->r);
}

/* Precision at the recall thresholds for one IoU threshold over sorted entries. */
static void precision_curve(const struct ctx *c, const struct entry *en, int n, int t, int npig,
                            double *q, double *recall, double *rc, double *pr)
{
    double tp = 0, fp = 0;
    for (int j = 0; j < n; j++) {
        const struct img_eval *e = en[j].e;
        if (!e->ignored[(size_t)t * e->nd + en[j].d]) {
            if (e->matched[(size_t)t * e->nd + en[j].d])
                tp += 1;
            else
                fp += 1;
        }
        rc[j] = tp / npig;
        double denom = fp + tp;
        denom += 2.220446049250313e-16; /* np.spacing(1) */
        pr[j] = tp / denom;
    }
    *recall = n ? rc[n - 1] : 0;
    for (int j = n - 1; j > 0; j--)
        if (pr[j] > pr[j - 1])
            pr[j - 1] = pr[j];
    int j = 0;
    for (int r = 0; r < NR; r++) { /* searchsorted(rc, rec_thr, 'left') */
        while (j < n && rc[j] < c->rec_thr[r])
            j++;
        q[r] = j < n ? pr[j] : 0;
    }
}

static void accumulate(struct ctx *c, int k, int a, int m, const struct img_eval *ev,
                       const uint8_t *present, int nimages)
{
    double *prec = c->prec + ((((size_t)k * NA + a) * NM + m) * NT) * NR;
    double *rec = c->rec + (((size_t)k * NA + a) * NM + m) * NT;
    int n = 0, npig = 0, any = 0;
    for (int i = 0; i < nimages; i++)
        if (present[i]) {
            any = 1;
            npig += ev[i].npig;
            n += ev[i].nd < max_dets[m] ? ev[i].nd : max_dets[m];
        }
    if (!any || npig == 0)
        return;
    struct entry *en = base_alloc(((size_t)n + 1) * sizeof *en);
    n = 0;
    for (int i = 0; i < nimages; i++)
        for (int d = 0; present[i] && d < ev[i].nd && d < max_dets[m]; d++, n++)
            en[n] = (struct entry){{ev[i].score[d], n}, &ev[i], d};
    qsort(en, (size_t)n, sizeof *en, entry_cmp);
    double *rc = base_alloc(((size_t)n + 1) * sizeof *rc);
    double *pr = base_alloc(((size_t)n + 1) * sizeof *pr);
    for (int t = 0; t < NT; t++)
        precision_curve(c, en, n, t, npig, prec + (size_t)t * NR, rec + t, rc, pr);
    base_free(pr);
    base_free(rc);
    base_free(en);
}

/* The boxes of class k in one image; detections sorted by score and cut at MAX_DET. */
static void class_boxes(const struct det_eval_image *im, int k, const struct det_box **gt, int *ng,
                        const struct det_box **dt, int *nd)
{
    *ng = 0;
    for (int g = 0; g < im->ngt; g++)
        if (im->gt[g].label == k)
            gt[(*ng)++] = &im->gt[g];
    struct ranked *r = base_alloc(((size_t)im->ndt + 1) * sizeof *r);
    int n = 0;
    for (int d = 0; d < im->ndt; d++)
        if (im->dt[d].label == k)
            r[n] = (struct ranked){im->dt[d].score, d}, n++;
    qsort(r, (size_t)n, sizeof *r, by_score);
    *nd = n < MAX_DET ? n : MAX_DET;
    for (int d = 0; d < *nd; d++)
        dt[d] = &im->dt[r[d].index];
    base_free(r);
}

static void evaluate_class(struct ctx *c, const struct det_eval_image *images, int nimages, int k,
                           int maxbox)
{
    const struct det_box **gt = base_alloc(((size_t)maxbox + 1) * sizeof *gt);
    const struct det_box **dt = base_alloc(((size_t)maxbox + 1) * sizeof *dt);
    struct img_eval *ev = base_calloc((size_t)nimages * NA + 1, sizeof *ev);
    uint8_t *present = base_calloc((size_t)nimages + 1, 1);
    for (int i = 0; i < nimages; i++) {
        int ng, nd;
        class_boxes(&images[i], k, gt, &ng, dt, &nd);
        present[i] = ng > 0 || nd > 0;
        for (int a = 0; present[i] && a < NA; a++)
            eval_img(c, gt, ng, dt, nd, a, &ev[(size_t)a * nimages + i]);
    }
    for (int a = 0; a < NA; a++)
        for (int m = 0; m < NM; m++)
            accumulate(c, k, a, m, ev + (size_t)a * nimages, present, nimages);
    for (size_t i = 0; i < (size_t)nimages * NA; i++)
        img_eval_release(&ev[i]);
    base_free(present);
    base_free(ev);
    base_free(dt);
    base_free(gt);
}

/* pycocotools' _summarize: the mean of the defined entries, or -1. t < 0 means every threshold;
 * k < 0 every class. */
static double summarize(const struct ctx *c, int ap, int t, int a, int m, int k)
{
    double sum = 0;
    long n = 0;
    for (int kk = 0; kk < c->nclasses; kk++) {
        if (k >= 0 && kk != k)
            continue;
        for (int tt = 0; tt < NT; tt++) {
            if (t >= 0 && tt != t)
                continue;
            const double *v = ap ? c->prec + ((((size_t)kk * NA + a) * NM + m) * NT + tt) * NR
                                 : c->rec + (((size_t)kk * NA + a) * NM + m) * NT + tt;
            for (int r = 0; r < (ap ? NR : 1); r++)
                if (v[r] > -1)
                    sum += v[r], n++;
        }
    }
    return n ? sum / (double)n : -1;
}

static void fill_metrics(const struct ctx *c, struct det_metrics *o)
{
    o->ap = summarize(c, 1, -1, 0, 2, -1);
    o->ap50 = summarize(c, 1, 0, 0, 2, -1);
    o->ap75 = summarize(c, 1, 5, 0, 2, -1);
    o->ap_small = summarize(c, 1, -1, 1, 2, -1);
    o->ap_medium = summarize(c, 1, -1, 2, 2, -1);
    o->ap_large = summarize(c, 1, -1, 3, 2, -1);
    o->ar1 = summarize(c, 0, -1, 0, 0, -1);
    o->ar10 = summarize(c, 0, -1, 0, 1, -1);
    o->ar100 = summarize(c, 0, -1, 0, 2, -1);
    o->ar_small = summarize(c, 0, -1, 1, 2, -1);
    o->ar_medium = summarize(c, 0, -1, 2, 2, -1);
    o->ar_large = summarize(c, 0, -1, 3, 2, -1);
    o->nclasses = c->nclasses;
    o->class_ap = base_alloc(((size_t)c->nclasses + 1) * sizeof *o->class_ap);
    o->class_ap50 = base_alloc(((size_t)c->nclasses + 1) * sizeof *o->class_ap50);
    for (int k = 0; k < c->nclasses; k++) {
        o->class_ap[k] = summarize(c, 1, -1, 0, 2, k);
        o->class_ap50[k] = summarize(c, 1, 0, 0, 2, k);
    }
}

static int check_labels(const struct det_eval_image *images, int nimages, int nclasses, int *maxbox,
                        struct base_err *err)
{
    *maxbox = 0;
    for (int i = 0; i < nimages; i++) {
        const struct det_eval_image *im = &images[i];
        if (im->ngt < 0 || im->ndt < 0)
            return base_err_set(err, BASE_E_INVALID, "evaluate: image %d: negative count", i);
        for (int g = 0; g < im->ngt; g++)
            if (im->gt[g].label < 0 || im->gt[g].label >= nclasses)
                return base_err_set(err, BASE_E_INVALID, "evaluate: image %d: bad class %d", i,
                                    im->gt[g].label);
        for (int d = 0; d < im->ndt; d++)
            if (im->dt[d].label < 0 || im->dt[d].label >= nclasses)
                return base_err_set(err, BASE_E_INVALID, "evaluate: image %d: bad class %d", i,
                                    im->dt[d].label);
        *maxbox = im->ngt > *maxbox ? im->ngt : *maxbox;
        *maxbox = im->ndt > *maxbox ? im->ndt : *maxbox;
    }
    return 0;
}

int det_evaluate(const struct det_eval_image *images, int nimages, int nclasses,
                 struct det_metrics *out, struct base_err *err)
{
    memset(out, 0, sizeof *out);
    int maxbox;
    if (nclasses < 1 || nimages < 0)
        return base_err_set(err, BASE_E_INVALID, "evaluate: no classes");
    if (check_labels(images, nimages, nclasses, &maxbox, err))
        return -1;
    struct ctx c = {.nclasses = nclasses};
    linspace(0.5, 0.95, NT, c.iou_thr);
    linspace(0.0, 1.0, NR, c.rec_thr);
    size_t np = (size_t)nclasses * NA * NM * NT;
    c.prec = base_alloc(np * NR * sizeof *c.prec);
    c.rec = base_alloc(np * sizeof *c.rec);
    for (size_t i = 0; i < np * NR; i++)
        c.prec[i] = -1;
    for (size_t i = 0; i < np; i++)
        c.rec[i] = -1;
    for (int k = 0; k < nclasses; k++)
        evaluate_class(&c, images, nimages, k, maxbox);
    fill_metrics(&c, out);
    base_free(c.prec);
    base_free(c.rec);
    return 0;
}

void det_metrics_release(struct det_metrics *m)
{
    if (!m)
        return;
    base_free(m->class_ap);
    base_free(m->class_ap50);
    memset(m, 0, sizeof *m);
}
