/* Losses with analytic gradients on flat arrays, for detectors that compute their losses in C over
 * a graph's outputs: sigmoid focal, quality focal, BCE with logits, L1 and IoU/GIoU on boxes.
 * Double inside. */
#include "nn_int.h"

#include <math.h>

/* log(1 + exp(-|x|)) + max(x, 0) - x * t: BCE with logits, stable for any x. */
static double bce(double x, double t)
{
    return (x > 0 ? x : 0.0) - x * t + log1p(exp(-fabs(x)));
}

static double sigm(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

double nn_loss_sigmoid_focal(const float *logits, const float *targets, size_t n, float alpha,
                             float gamma, float scale, float *grad)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = logits[i], t = targets[i], p = sigm(x);
        double q = p + t - 2.0 * p * t; /* 1 - p_t */
        double at = alpha >= 0 ? alpha * t + (1.0 - alpha) * (1.0 - t) : 1.0;
        double ce = bce(x, t);
        double qg = pow(q, gamma);
        total += at * ce * qg;
        if (grad) {
            double dq = q > 0 ? gamma * pow(q, gamma - 1.0) : 0.0; /* d q^gamma / dq */
            double d = (p - t) * qg + ce * dq * (1.0 - 2.0 * t) * p * (1.0 - p);
            grad[i] = (float)(scale * at * d);
        }
    }
    return scale * total;
}

double nn_loss_quality_focal(const float *logits, const float *targets, size_t n, float beta,
                             float scale, float *grad)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = logits[i], t = targets[i], p = sigm(x), d = fabs(p - t);
        double ce = bce(x, t), db = pow(d, beta);
        total += db * ce;
        if (grad) {
            /* d|p - t|^beta / dx = beta |p - t|^(beta - 1) sign(p - t) p (1 - p) */
            double dd = d > 0 ? beta * pow(d, beta - 1.0) * (p > t ? 1.0 : -1.0) : 0.0;
            grad[i] = (float)(scale * ((p - t) * db + ce * dd * p * (1.0 - p)));
        }
    }
    return scale * total;
}

double nn_loss_bce_logits(const float *logits, const float *targets, const float *weights, size_t n,
                          float scale, float *grad)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double w = weights ? weights[i] : 1.0;
        total += w * bce(logits[i], targets[i]);
        if (grad)
            grad[i] = (float)(scale * w * (sigm(logits[i]) - targets[i]));
    }
    return scale * total;
}

double nn_loss_l1(const float *pred, const float *target, const float *weights, size_t n,
                  float scale, float *grad)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double w = weights ? weights[i] : 1.0, d = (double)pred[i] - target[i];
        total += w * fabs(d);
        if (grad)
            grad[i] = (float)(scale * w * (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0));
    }
    return scale * total;
}

#define IOU_EPS 1e-6

/* Derivatives of an interval overlap max(min(a2, b2) - max(a1, b1), 0) by a1 and a2. */
static double overlap(double a1, double a2, double b1, double b2, double *d1, double *d2)
{
    double v = (a2 < b2 ? a2 : b2) - (a1 > b1 ? a1 : b1);
    *d1 = v > 0 && a1 > b1 ? -1.0 : 0.0;
    *d2 = v > 0 && a2 < b2 ? 1.0 : 0.0;
    return v > 0 ? v : 0.0;
}

/* Derivatives of the enclosing extent max(max(a2, b2) - min(a1, b1), 0) by a1 and a2. */
static double extent(double a1, double a2, double b1, double b2, double *d1, double *d2)
{
    double v = (a2 > b2 ? a2 : b2) - (a1 < b1 ? a1 : b1);
    *d1 = v > 0 && a1 < b1 ? -1.0 : 0.0;
    *d2 = v > 0 && a2 > b2 ? 1.0 : 0.0;
    return v > 0 ? v : 0.0;
}

/* Loss of one pair of xyxy boxes and its gradient by the four coordinates of p. */
static double box_loss(const double *p, const double *t, enum nn_iou_kind kind, double *g)
{
    double dix1, dix2, diy1, diy2, dex1, dex2, dey1, dey2;
    double iw = overlap(p[0], p[2], t[0], t[2], &dix1, &dix2);
    double ih = overlap(p[1], p[3], t[1], t[3], &diy1, &diy2);
    double pw = p[2] - p[0], ph = p[3] - p[1];
    double inter = iw * ih;
    double uni = pw * ph + (t[2] - t[0]) * (t[3] - t[1]) - inter + IOU_EPS;
    double iou = inter / uni;
    double dinter[4] = {dix1 * ih, diy1 * iw, dix2 * ih, diy2 * iw};
    double darea[4] = {-ph, -pw, ph, pw};
    double du[4], diou[4];
    for (int k = 0; k < 4; k++) {
        du[k] = darea[k] - dinter[k];
        diou[k] = (dinter[k] * uni - inter * du[k]) / (uni * uni);
    }
    if (kind == NN_IOU_LINEAR) {
        for (int k = 0; k < 4; k++)
            g[k] = -diou[k];
        return 1.0 - iou;
    }
    if (kind == NN_IOU_LOG) {
        double c = iou > IOU_EPS ? iou : IOU_EPS;
        for (int k = 0; k < 4; k++)
            g[k] = iou > IOU_EPS ? -diou[k] / iou : 0.0;
        return -log(c);
    }
    double ew = extent(p[0], p[2], t[0], t[2], &dex1, &dex2);
    double eh = extent(p[1], p[3], t[1], t[3], &dey1, &dey2);
    double enc = ew * eh + IOU_EPS;
    double denc[4] = {dex1 * eh, dey1 * ew, dex2 * eh, dey2 * ew};
    for (int k = 0; k < 4; k++)
        g[k] = -(diou[k] + (du[k] * enc - uni * denc[k]) / (enc * enc));
    return 1.0 - (iou - 1.0 + uni / enc);
}

double nn_loss_iou(const float *pred, const float *target, const float *weights, size_t n,
                   enum nn_iou_kind kind, enum nn_box_fmt fmt, float scale, float *grad)
{
    /* ltrb distances from a shared point are the box (-l, -t, r, b) */
    double sign[4] = {1, 1, 1, 1};
    if (fmt == NN_BOX_LTRB)
        sign[0] = sign[1] = -1;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double p[4], t[4], g[4];
        for (int k = 0; k < 4; k++) {
            p[k] = sign[k] * pred[i * 4 + k];
            t[k] = sign[k] * target[i * 4 + k];
        }
        double w = weights ? weights[i] : 1.0;
        total += w * box_loss(p, t, kind, g);
        if (grad)
            for (int k = 0; k < 4; k++)
                grad[i * 4 + k] = (float)(scale * w * sign[k] * g[k]);
    }
    return scale * total;
}
