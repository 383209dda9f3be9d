#!/usr/bin/env python3
"""Checks det_evaluate against an independent numpy implementation of pycocotools' bbox
evaluation (evaluateImg, accumulate, summarize), on generated fixtures: perfect, empty,
duplicates, crowd-free multi-class with every area range, more than 100 detections, score ties.
Usage: eval_ref.py PATH/TO/det_eval_tool. Exits non-zero on a mismatch beyond 1e-6."""
import subprocess
import sys

import numpy as np

IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
REC_THRS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
AREAS = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
MAX_DETS = [1, 10, 100]


def xywh(b):
    return np.array([b[0], b[1], b[2] - b[0], b[3] - b[1]], dtype=np.float64)


def iou_matrix(dts, gts):
    """Rows: detections, columns: ground truth; the formula of pycocotools' maskApi bbIou."""
    if len(dts) == 0 or len(gts) == 0:
        return np.zeros((len(dts), len(gts)))
    d = np.array([xywh(x['box']) for x in dts])
    g = np.array([xywh(x['box']) for x in gts])
    w = np.minimum(d[:, None, 0] + d[:, None, 2], g[None, :, 0] + g[None, :, 2]) - \
        np.maximum(d[:, None, 0], g[None, :, 0])
    h = np.minimum(d[:, None, 1] + d[:, None, 3], g[None, :, 1] + g[None, :, 3]) - \
        np.maximum(d[:, None, 1], g[None, :, 1])
    inter = w * h
    union = (d[:, 2] * d[:, 3])[:, None] + (g[:, 2] * g[:, 3])[None, :] - inter
    out = inter / union
    out[(w <= 0) | (h <= 0)] = 0
    return out


def evaluate_img(gts, dts, arng):
    """Per image and class: which score-sorted detections match at each IoU threshold."""
    if not gts and not dts:
        return None
    area = lambda x: (x['box'][2] - x['box'][0]) * (x['box'][3] - x['box'][1])
    gt_ig = np.array([1 if area(g) < arng[0] or area(g) > arng[1] else 0 for g in gts], dtype=int)
    gorder = np.argsort(gt_ig, kind='mergesort')
    gts = [gts[i] for i in gorder]
    gt_ig = gt_ig[gorder]
    dorder = np.argsort([-d['score'] for d in dts], kind='mergesort')[:MAX_DETS[-1]]
    dts = [dts[i] for i in dorder]
    ious = iou_matrix(dts, gts)
    T, G, D = len(IOU_THRS), len(gts), len(dts)
    gtm = np.zeros((T, G), dtype=bool)
    dtm = np.zeros((T, D), dtype=bool)
    dt_ig = np.zeros((T, D), dtype=bool)
    for ti, thr in enumerate(IOU_THRS):
        for di in range(D):
            best, m = min(thr, 1 - 1e-10), -1
            for gi in range(G):
                if gtm[ti, gi]:
                    continue
                if m > -1 and gt_ig[m] == 0 and gt_ig[gi] == 1:
                    break
                if ious[di, gi] < best:
                    continue
                best, m = ious[di, gi], gi
            if m >= 0:
                dt_ig[ti, di] = gt_ig[m] == 1
                dtm[ti, di] = True
                gtm[ti, m] = True
    out_of_range = np.array([area(d) < arng[0] or area(d) > arng[1] for d in dts], dtype=bool)
    dt_ig = dt_ig | (~dtm & out_of_range[None, :])
    return {'scores': np.array([d['score'] for d in dts]), 'dtm': dtm, 'dtig': dt_ig,
            'gtig': gt_ig}


def evaluate(images, nclasses):
    T, R, K, A, M = len(IOU_THRS), len(REC_THRS), nclasses, len(AREAS), len(MAX_DETS)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k in range(K):
        for a, arng in enumerate(AREAS):
            evs = []
            for im in images:
                g = [x for x in im['gt'] if x['label'] == k]
                d = [x for x in im['dt'] if x['label'] == k]
                e = evaluate_img(g, d, arng)
                if e is not None:
                    evs.append(e)
            if not evs:
                continue
            for m, md in enumerate(MAX_DETS):
                scores = np.concatenate([e['scores'][:md] for e in evs])
                order = np.argsort(-scores, kind='mergesort')
                dtm = np.concatenate([e['dtm'][:, :md] for e in evs], axis=1)[:, order]
                dtig = np.concatenate([e['dtig'][:, :md] for e in evs], axis=1)[:, order]
                npig = int(np.count_nonzero(np.concatenate([e['gtig'] for e in evs]) == 0))
                if npig == 0:
                    continue
                tps = np.cumsum(dtm & ~dtig, axis=1).astype(float)
                fps = np.cumsum(~dtm & ~dtig, axis=1).astype(float)
                for t in range(T):
                    tp, fp = tps[t], fps[t]
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    recall[t, k, a, m] = rc[-1] if len(tp) else 0
                    pr = np.maximum.accumulate(pr[::-1])[::-1] if len(pr) else pr
                    idx = np.searchsorted(rc, REC_THRS, side='left')
                    q = np.zeros(R)
                    valid = idx < len(pr)
                    q[valid] = pr[idx[valid]]
                    precision[t, :, k, a, m] = q
    return precision, recall


def summarize(precision, recall, nclasses):
    def mean(s):
        s = s[s > -1]
        return float(np.mean(s)) if s.size else -1.0
    out = [mean(precision[:, :, :, 0, 2]), mean(precision[0, :, :, 0, 2]),
           mean(precision[5, :, :, 0, 2])]
    out += [mean(precision[:, :, :, a, 2]) for a in (1, 2, 3)]
    out += [mean(recall[:, :, 0, m]) for m in (0, 1, 2)]
    out += [mean(recall[:, :, a, 2]) for a in (1, 2, 3)]
    for k in range(nclasses):
        out += [mean(precision[:, :, k, 0, 2]), mean(precision[0, :, k, 0, 2])]
    return out


# ---- fixtures ---------------------------------------------------------------------------------

def q8(v):
    """Coordinates on a 1/8-pixel grid: exact in float32 and float64 alike."""
    return float(np.round(v * 8) / 8)


def box(x0, y0, w, h, label, score=1.0):
    return {'box': [q8(x0), q8(y0), q8(x0 + w), q8(y0 + h)], 'label': label,
            'score': float(np.float32(score))}


def random_gt(rng, nclasses):
    gts = []
    for _ in range(rng.integers(0, 6)):
        size = float(np.exp(rng.uniform(np.log(6), np.log(250))))
        w, h = size * rng.uniform(0.6, 1.4), size * rng.uniform(0.6, 1.4)
        gts.append(box(rng.uniform(0, 400), rng.uniform(0, 300), w, h,
                       int(rng.integers(0, nclasses))))
    return gts


def jitter(rng, g, amount, label=None, score=None):
    x0, y0, x1, y1 = g['box']
    w, h = x1 - x0, y1 - y0
    return box(x0 + rng.normal(0, amount) * w, y0 + rng.normal(0, amount) * h,
               w * (1 + rng.normal(0, amount)), h * (1 + rng.normal(0, amount)),
               g['label'] if label is None else label,
               rng.uniform(0.05, 1.0) if score is None else score)


def random_case(rng, nimages, nclasses, many=False, ties=False):
    images = []
    for _ in range(nimages):
        gts = random_gt(rng, nclasses)
        dts = []
        for g in gts:
            if rng.uniform() < 0.85:
                dts.append(jitter(rng, g, rng.choice([0.02, 0.08, 0.2])))
            if rng.uniform() < 0.3:
                dts.append(jitter(rng, g, 0.05))  # duplicate
            if rng.uniform() < 0.1:
                dts.append(jitter(rng, g, 0.05, label=int(rng.integers(0, nclasses))))
        for _ in range(int(rng.integers(0, 150 if many else 4))):
            dts.append(box(rng.uniform(0, 400), rng.uniform(0, 300), rng.uniform(4, 150),
                           rng.uniform(4, 150), int(rng.integers(0, nclasses)),
                           rng.uniform(0.01, 0.6)))
        if ties:
            for d in dts:
                d['score'] = float(np.float32(np.round(d['score'] * 4) / 4))
        images.append({'gt': gts, 'dt': dts})
    return images


def fixtures():
    rng = np.random.default_rng(20240611)
    perfect = random_case(rng, 12, 3)
    for im in perfect:
        im['dt'] = [dict(g, score=1.0) for g in im['gt']]
    empty_dt = random_case(rng, 6, 2)
    for im in empty_dt:
        im['dt'] = []
    no_gt = random_case(rng, 5, 2)
    for im in no_gt:
        im['gt'] = []
    dups = random_case(rng, 8, 1)
    for im in dups:
        im['dt'] = [dict(jitter(rng, g, 0.03), score=float(np.float32(s)))
                    for g in im['gt'] for s in rng.uniform(0.1, 1.0, 3)]
    return [('perfect', perfect, 3), ('no detections', empty_dt, 2), ('no ground truth', no_gt, 2),
            ('duplicates', dups, 1), ('nothing', [{'gt': [], 'dt': []}] * 3, 2),
            ('multi-class', random_case(rng, 40, 4), 4),
            ('over 100 detections', random_case(rng, 10, 2, many=True), 2),
            ('score ties', random_case(rng, 30, 3, ties=True), 3)]


def fixture_text(images, nclasses):
    lines = ['classes %d' % nclasses]
    for im in images:
        lines.append('image')
        lines += ['gt %r %r %r %r %d' % (*g['box'], g['label']) for g in im['gt']]
        lines += ['dt %r %r %r %r %d %r' % (*d['box'], d['label'], d['score']) for d in im['dt']]
    return '\n'.join(lines) + '\n'


def main():
    tool = sys.argv[1]
    failures = 0
    for name, images, nclasses in fixtures():
        want = summarize(*evaluate(images, nclasses), nclasses)
        res = subprocess.run([tool], input=fixture_text(images, nclasses), capture_output=True,
                             text=True, check=True)
        got = [float(x) for x in res.stdout.split()]
        bad = len(got) != len(want) or any(abs(a - b) > 1e-6 for a, b in zip(got, want))
        failures += bad
        print('%s %s: ap=%.6f ap50=%.6f ar100=%.6f (ours %s)' %
              ('FAIL' if bad else 'ok  ', name, want[0], want[1], want[8],
               ' '.join('%.6f' % x for x in got[:3])))
        if bad:
            for i, (a, b) in enumerate(zip(got, want)):
                if abs(a - b) > 1e-6:
                    print('  value %d: ours %.9f reference %.9f' % (i, a, b))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
