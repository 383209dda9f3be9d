/* The three FCOS losses with their gradients, on flat arrays: sigmoid focal loss for classes,
 * binary cross-entropy for centerness, GIoU for the box distances. Computed in double where the
 * logs of small probabilities would otherwise lose the gradient. */
#include "det_int.h"

#include <math.h>

/* log(1 + exp(x)) without overflow. */
static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

double det_focal_loss(const float *x, const float *t, size_t n, float alpha, float gamma,
                      float scale, float *grad)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double p = 1.0 / (1.0 + exp(-(double)x[i]));
        double loss, g;
        if (t[i] > 0.5f) {
            double logp = -softplus(-x[i]), q = pow(1.0 - p, gamma);
            loss = -alpha * q * logp;
            g = alpha * q * (gamma * p * logp - (1.0 - p));
        } else {
            double log1mp = -softplus(x[i]), q = pow(p, gamma);
            loss = -(1.0 - alpha) * q * log1mp;
            g = (1.0 - alpha) * q * (p - gamma * (1.0 - p) * log1mp);
        }
        sum += loss;
        if (grad)
            grad[i] = (float)(g * scale);
    }
    return sum;
}

double det_bce_loss(const float *x, const float *t, size_t n, float scale, float *grad)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += softplus(x[i]) - (double)t[i] * x[i];
        if (grad)
            grad[i] = (float)((1.0 / (1.0 + exp(-(double)x[i])) - t[i]) * scale);
    }
    return sum;
}

/* Both boxes share the anchor point, so in distance form: widths are l + r, the intersection
 * width min(l, l*) + min(r, r*), the enclosing width max(l, l*) + max(r, r*). */
double det_giou_loss(const float d[4], const float t[4], float grad[4])
{
    double l = d[0], tp = d[1], r = d[2], b = d[3];
    double wi = fmin(l, t[0]) + fmin(r, t[2]), hi = fmin(tp, t[1]) + fmin(b, t[3]);
    double wc = fmax(l, t[0]) + fmax(r, t[2]), hc = fmax(tp, t[1]) + fmax(b, t[3]);
    double ap = (l + r) * (tp + b), at = ((double)t[0] + t[2]) * ((double)t[1] + t[3]);
    double in = wi * hi, u = ap + at - in, c = wc * hc;
    /* d(ap), d(in), d(c) with respect to l, t, r, b */
    double dap[4] = {tp + b, l + r, tp + b, l + r};
    double din[4] = {d[0] < t[0] ? hi : 0, d[1] < t[1] ? wi : 0, d[2] < t[2] ? hi : 0,
                     d[3] < t[3] ? wi : 0};
    double dc[4] = {d[0] >= t[0] ? hc : 0, d[1] >= t[1] ? wc : 0, d[2] >= t[2] ? hc : 0,
                    d[3] >= t[3] ? wc : 0};
    for (int k = 0; k < 4; k++) {
        double du = dap[k] - din[k];
        double diou = (din[k] * u - in * du) / (u * u), duc = (du * c - u * dc[k]) / (c * c);
        grad[k] = (float)(-diou - duc);
    }
    return 2.0 - in / u - u / c;
}
