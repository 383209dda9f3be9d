/* Box bookkeeping of the loop, pure and unit-tested: Label Studio results to boxes, what an
 * annotation did with the predicted boxes it was shown, an image's uncertainty under the current
 * model, and the pre-label threshold that costs the simulated annotator least on held-out images.
 */
#include "loop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int label_of(const json_t *value, const char *const *classes, int nclasses)
{
    const char *name =
        json_string_value(json_array_get(json_object_get(value, "rectanglelabels"), 0));
    for (int k = 0; name && k < nclasses; k++)
        if (!strcmp(classes[k], name))
            return k;
    return -1;
}

struct det_box *loop_result_boxes(const json_t *result, const char *from_name,
                                  const char *const *classes, int nclasses, int *n)
{
    struct det_box *out = base_alloc((json_array_size(result) + 1) * sizeof *out);
    size_t i;
    const json_t *it;
    *n = 0;
    json_array_foreach(result, i, it)
    {
        const json_t *v = json_object_get(it, "value");
        const char *type = json_string_value(json_object_get(it, "type"));
        const char *from = json_string_value(json_object_get(it, "from_name"));
        if (!type || strcmp(type, "rectanglelabels") ||
            (from_name && from && strcmp(from, from_name)))
            continue;
        const json_t *x = json_object_get(v, "x"), *y = json_object_get(v, "y"),
                     *w = json_object_get(v, "width"), *h = json_object_get(v, "height");
        int label = label_of(v, classes, nclasses);
        if (label < 0 || !json_is_number(x) || !json_is_number(y) || !json_is_number(w) ||
            !json_is_number(h) || json_number_value(w) <= 0 || json_number_value(h) <= 0)
            continue;
        const json_t *score = json_object_get(it, "score");
        out[(*n)++] =
            (struct det_box){(float)json_number_value(x),
                             (float)json_number_value(y),
                             (float)(json_number_value(x) + json_number_value(w)),
                             (float)(json_number_value(y) + json_number_value(h)),
                             label,
                             json_is_number(score) ? (float)json_number_value(score) : 1.0f};
    }
    return out;
}

struct pair {
    int a, b;
    double iou;
};

static int by_iou_desc(const void *x, const void *y)
{
    const struct pair *p = x, *q = y;
    return p->iou < q->iou ? 1 : p->iou > q->iou ? -1 : 0;
}

void loop_help_compare(const struct det_box *shown, int nshown, const struct det_box *final,
                       int nfinal, struct loop_help_counts *out)
{
    memset(out, 0, sizeof *out);
    out->shown = nshown;
    struct pair *pairs = base_alloc(((size_t)nshown * (size_t)nfinal + 1) * sizeof *pairs);
    char *used_a = base_calloc((size_t)nshown + 1, 1), *used_b = base_calloc((size_t)nfinal + 1, 1);
    size_t np = 0;
    for (int i = 0; i < nshown; i++)
        for (int j = 0; j < nfinal; j++) {
            /* a relabelled box still overlaps perfectly: prefer the same label on a tie */
            double v = det_box_iou(&shown[i], &final[j]);
            if (v >= LOOP_ADJUST_IOU)
                pairs[np++] = (struct pair){i, j, v + (shown[i].label == final[j].label) * 1e-6};
        }
    qsort(pairs, np, sizeof *pairs, by_iou_desc);
    for (size_t k = 0; k < np; k++) {
        const struct pair *p = &pairs[k];
        if (used_a[p->a] || used_b[p->b])
            continue;
        used_a[p->a] = used_b[p->b] = 1;
        double v = fmin(p->iou, 1.0);
        if (v >= 0.999 && shown[p->a].label == final[p->b].label) {
            out->accepted++;
        } else {
            out->adjusted++;
            out->adjust_iou += v;
        }
    }
    out->deleted = nshown - out->accepted - out->adjusted;
    out->drawn = nfinal - out->accepted - out->adjusted;
    base_free(pairs);
    base_free(used_a);
    base_free(used_b);
}

void loop_sim_annotate(const struct det_box *shown, int nshown, const struct det_box *truth,
                       int ntruth, const struct loop_costs *c, struct det_box *final, int *nfinal,
                       struct loop_sim_actions *a)
{
    memset(a, 0, sizeof *a);
    struct pair *pairs = base_alloc(((size_t)nshown * (size_t)ntruth + 1) * sizeof *pairs);
    char *used_s = base_calloc((size_t)nshown + 1, 1), *used_t = base_calloc((size_t)ntruth + 1, 1);
    size_t np = 0;
    *nfinal = 0;
    for (int i = 0; i < nshown; i++)
        for (int j = 0; j < ntruth; j++) {
            double v = det_box_iou(&shown[i], &truth[j]);
            if (shown[i].label == truth[j].label && v >= LOOP_ADJUST_IOU)
                pairs[np++] = (struct pair){i, j, v};
        }
    qsort(pairs, np, sizeof *pairs, by_iou_desc);
    for (size_t k = 0; k < np; k++) {
        const struct pair *p = &pairs[k];
        if (used_s[p->a] || used_t[p->b])
            continue;
        used_s[p->a] = used_t[p->b] = 1;
        int keep = p->iou >= LOOP_KEEP_IOU;
        final[(*nfinal)++] = keep ? shown[p->a] : truth[p->b];
        a->kept += keep;
        a->adjusted += !keep;
    }
    for (int j = 0; j < ntruth; j++)
        if (!used_t[j]) {
            final[(*nfinal)++] = truth[j];
            a->drawn++;
        }
    a->deleted = nshown - a->kept - a->adjusted;
    a->seconds =
        c->look_s + a->adjusted * c->adjust_s + a->deleted * c->delete_s + a->drawn * c->draw_s;
    base_free(pairs);
    base_free(used_s);
    base_free(used_t);
}

/* Best IoU of box b among the same-class boxes of set s. */
static double best_match(const struct det_box *b, const struct det_box *s, int n, float thr)
{
    double best = 0;
    for (int k = 0; k < n; k++)
        if (s[k].score >= thr && s[k].label == b->label)
            best = fmax(best, det_box_iou(b, &s[k]));
    return best;
}

double loop_uncertainty(const struct det_box *boxes, int n, const struct det_box *flipped,
                        int nflipped, float thr)
{
    double top = 0, ambiguity = 0, sum = 0;
    int confident = 0;
    double span = fmax(thr, 1.0 - thr);
    for (int i = 0; i < n; i++) {
        double s = boxes[i].score;
        if (s < 0.05)
            continue;
        top = fmax(top, s);
        ambiguity = fmax(ambiguity, 1.0 - fabs(s - thr) / span);
        if (s >= thr) {
            confident++;
            sum += best_match(&boxes[i], flipped, nflipped, thr);
        }
    }
    for (int i = 0; i < nflipped; i++)
        if (flipped[i].score >= thr) {
            confident++;
            sum += best_match(&flipped[i], boxes, n, thr);
        }
    double disagreement = confident ? 1.0 - sum / confident : 0;
    /* nothing the model would show: it may be missing everything */
    double empty = top < thr ? 1.0 - top / thr : 0;
    double u = fmax(ambiguity, fmax(disagreement, empty));
    return u < 0 ? 0 : u > 1 ? 1 : u;
}

const struct loop_costs loop_default_costs = {1.6, 10, 4, 1};

/* The annotator's seconds on image im when the boxes scoring at least thr are shown. */
static double cost_at(const struct det_eval_image *im, float thr, const struct loop_costs *c,
                      struct det_box *shown, struct det_box *final)
{
    int n = 0, nf = 0;
    for (int k = 0; k < im->ndt; k++)
        if (im->dt[k].score >= thr)
            shown[n++] = im->dt[k];
    struct loop_sim_actions a;
    loop_sim_annotate(shown, n, im->gt, im->ngt, c, final, &nf, &a);
    return a.seconds;
}

float loop_best_threshold(const struct det_eval_image *images, int n, const struct loop_costs *c,
                          float fallback)
{
    int ngt = 0, most = 0;
    for (int i = 0; i < n; i++) {
        ngt += images[i].ngt;
        most = images[i].ndt + images[i].ngt > most ? images[i].ndt + images[i].ngt : most;
    }
    if (ngt == 0)
        return fallback;
    struct det_box *shown = base_alloc(((size_t)most + 1) * sizeof *shown);
    struct det_box *final = base_alloc(((size_t)most + 1) * sizeof *final);
    double best = -1;
    float thr = fallback;
    for (int step = 19; step >= 1; step--) { /* 0.95 down to 0.05 */
        float t = (float)step * 0.05f;
        double cost = 0;
        for (int i = 0; i < n; i++)
            cost += cost_at(&images[i], t, c, shown, final);
        if (best < 0 || cost < best - 1e-9) {
            best = cost;
            thr = t;
        }
    }
    base_free(shown);
    base_free(final);
    return thr;
}
