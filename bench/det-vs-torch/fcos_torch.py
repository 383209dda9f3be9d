#!/usr/bin/env python3
"""The PyTorch side of bench/det-vs-torch and bench/det-infer: the identical FCOS network (same
module names as the C model's parameters, so weights load by name), the same losses and the
same optimizer, trained on the batches bench_det wrote, or timed at inference.
  fcos_torch.py train DIR ARCH SIZE BATCH STEPS   -> step=... lines, torch_ms=... torch_ips=...
  fcos_torch.py infer WEIGHTS ARCH SIZE ITERS BATCH -> torch_ms=... torch_batch_ips=...
Threads: LL_THREADS (default 2). Bench only: never used at run time."""
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

ARCHS = {
    'fcos-s': dict(stem=16, width=[32, 64, 128, 256], blocks=[0, 1, 1, 1], fpn=48, head=1, gn=8),
    'fcos-m': dict(stem=24, width=[32, 64, 128, 256], blocks=[1, 1, 1, 1], fpn=64, head=2, gn=16),
    'fcos-t': dict(stem=8, width=[16, 16, 32, 32], blocks=[0, 1, 1, 1], fpn=32, head=1, gn=8),
    # the pretrained MobileNetV3 (src/det/det_mv3.c); taps of 96/88/480 channels feed the FPN
    'fcos-mv3': dict(mv3=True, frozen=True, width=[0, 96, 88, 480], fpn=48, head=1, gn=8),
    'fcos-mv3-ft': dict(mv3=True, frozen=False, width=[0, 96, 88, 480], fpn=48, head=1, gn=8),
}
# MobileNetV3 blocks as det_mv3.c lists them: expansion, kernel, stride, out, se, hard-swish, residual
MV3 = [(0, 3, 1, 16, 0, 0, 1), (64, 3, 2, 24, 0, 0, 0), (72, 3, 1, 24, 0, 0, 1),
       (72, 5, 2, 32, 24, 0, 0), (96, 5, 1, 32, 24, 0, 1), (96, 5, 1, 32, 24, 0, 1),
       (192, 3, 2, 64, 0, 1, 0), (160, 3, 1, 64, 0, 1, 1), (144, 3, 1, 64, 0, 1, 1),
       (144, 3, 1, 64, 0, 1, 1), (384, 3, 1, 88, 96, 1, 0), (528, 3, 1, 88, 136, 1, 1),
       (528, 5, 2, 120, 136, 1, 0), (720, 5, 1, 120, 184, 1, 1), (720, 5, 1, 120, 184, 1, 1)]
STRIDES = [8, 16, 32]


class CBR(nn.Module):
    def __init__(self, cin, cout, k, stride, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x


class Block(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.a = CBR(ch, ch, 3, 1)
        self.b = CBR(ch, ch, 3, 1, relu=False)

    def forward(self, x):
        return F.relu(self.b(self.a(x)) + x)


class Stage(nn.Module):
    def __init__(self, cin, cout, blocks):
        super().__init__()
        self.down = CBR(cin, cout, 3, 2)
        self.n = blocks
        for b in range(blocks):
            setattr(self, 'block%d' % b, Block(cout))

    def forward(self, x):
        x = self.down(x)
        for b in range(self.n):
            x = getattr(self, 'block%d' % b)(x)
        return x


class Backbone(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.stem = CBR(3, a['stem'], 3, 2)
        cin = a['stem']
        for s in range(4):
            setattr(self, 's%d' % s, Stage(cin, a['width'][s], a['blocks'][s]))
            cin = a['width'][s]

    def forward(self, x):
        x, outs = self.stem(x), []
        for s in range(4):
            x = getattr(self, 's%d' % s)(x)
            if s >= 1:
                outs.append(x)
        return outs


class SameConv(nn.Conv2d):
    """TensorFlow's SAME padding: one more row and column at the bottom and right at stride 2."""
    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__(cin, cout, k, stride, 0, groups=groups, bias=True)
        self.pads = (k // 2,) * 4 if stride == 1 else ((k - 2) // 2, (k - 2) - (k - 2) // 2) * 2

    def forward(self, x):
        return super().forward(F.pad(x, self.pads))


class MV3Block(nn.Module):
    def __init__(self, cin, exp, k, stride, out, se, hs, res):
        super().__init__()
        ch = exp or cin
        self.act = F.hardswish if hs else F.relu
        self.res, self.has_exp, self.has_se = res, exp > 0, se > 0
        if exp:
            self.expand = SameConv(cin, exp, 1)
        self.dw = SameConv(ch, ch, k, stride, groups=ch)
        if se:
            self.se_a, self.se_b = SameConv(ch, se, 1), SameConv(se, ch, 1)
        self.project = SameConv(ch, out, 1)

    def forward(self, x, taps=None):
        y = self.act(self.expand(x)) if self.has_exp else x
        if taps is not None:
            taps.append(y)
        y = self.act(self.dw(y))
        if self.has_se:
            s = F.relu(self.se_a(y.mean((2, 3), keepdim=True)))
            y = y * F.hardsigmoid(self.se_b(s))
        y = self.project(y)
        return y + x if self.res else y


class MV3Backbone(nn.Module):
    def __init__(self, frozen):
        super().__init__()
        self.stem = SameConv(3, 16, 3, 2)
        cin = 16
        for i, b in enumerate(MV3):
            setattr(self, 'b%d' % i, MV3Block(cin, *b))
            cin = b[3]
        self.extern1 = SameConv(cin, 480, 1)
        if frozen:
            for p in self.parameters():
                p.requires_grad_(False)

    def forward(self, x):
        x = F.hardswish(self.stem(x))
        outs = []
        for i in range(len(MV3)):
            x = getattr(self, 'b%d' % i)(x, outs if i == 5 else None)
            if i == 11:
                outs.append(x)
        outs.append(F.hardswish(self.extern1(x)))
        return outs


class Neck(nn.Module):
    def __init__(self, a):
        super().__init__()
        for l in range(3):
            setattr(self, 'lateral%d' % l, nn.Conv2d(a['width'][l + 1], a['fpn'], 1))
            setattr(self, 'out%d' % l, nn.Conv2d(a['fpn'], a['fpn'], 3, 1, 1))

    def forward(self, c):
        lat = [None] * 3
        for l in (2, 1, 0):
            lat[l] = getattr(self, 'lateral%d' % l)(c[l])
            if l < 2:
                lat[l] = lat[l] + F.interpolate(lat[l + 1], scale_factor=2, mode='nearest')
        return [getattr(self, 'out%d' % l)(lat[l]) for l in range(3)]


class ConvGN(nn.Module):
    def __init__(self, ch, groups):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, 1, 1)
        self.gn = nn.GroupNorm(groups, ch)

    def forward(self, x):
        return F.relu(self.gn(self.conv(x)))


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x * self.scale


class Head(nn.Module):
    def __init__(self, a, nclasses):
        super().__init__()
        self.n = a['head']
        for i in range(self.n):
            setattr(self, 'cls%d' % i, ConvGN(a['fpn'], a['gn']))
            setattr(self, 'reg%d' % i, ConvGN(a['fpn'], a['gn']))
        self.cls_out = nn.Conv2d(a['fpn'], nclasses, 3, 1, 1)
        self.reg_out = nn.Conv2d(a['fpn'], 4, 3, 1, 1)
        self.ctr_out = nn.Conv2d(a['fpn'], 1, 3, 1, 1)
        for l in range(3):
            setattr(self, 'scale%d' % l, Scale())

    def forward(self, p, l):
        tc, tr = p, p
        for i in range(self.n):
            tc = getattr(self, 'cls%d' % i)(tc)
            tr = getattr(self, 'reg%d' % i)(tr)
        reg = torch.exp(getattr(self, 'scale%d' % l)(self.reg_out(tr)))
        return self.cls_out(tc), reg, self.ctr_out(tr)


class FCOS(nn.Module):
    def __init__(self, arch, nclasses):
        super().__init__()
        a = ARCHS[arch]
        self.backbone = MV3Backbone(a['frozen']) if a.get('mv3') else Backbone(a)
        self.neck, self.head = Neck(a), Head(a, nclasses)

    def forward(self, x):
        p = self.neck(self.backbone(x))
        return [self.head(p[l], l) for l in range(3)]


def load_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop('__metadata__', {})
    out = {}
    for name, t in header.items():
        a, b = t['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype='<f4').copy()).reshape(t['shape'])
    return out, meta


def build(weights, arch):
    tensors, meta = load_safetensors(weights)
    model = FCOS(arch, len(json.loads(meta['classes'])))
    state = model.state_dict()
    missing = [k for k in state if k not in tensors and not k.endswith('num_batches_tracked')]
    if missing:
        raise SystemExit('fcos_torch: weights lack %s' % missing[:3])
    for k in state:
        if k in tensors:
            state[k].copy_(tensors[k].reshape(state[k].shape))
    return model


def giou_loss(p, t, w):
    """1 - GIoU of boxes given as distances from a shared point, weighted."""
    pl, pt, pr, pb = p.unbind(1)
    tl, tt, tr, tb = t.unbind(1)
    inter = (torch.min(pl, tl) + torch.min(pr, tr)) * (torch.min(pt, tt) + torch.min(pb, tb))
    union = (pl + pr) * (pt + pb) + (tl + tr) * (tt + tb) - inter + 1e-6
    enclose = (torch.max(pl, tl) + torch.max(pr, tr)) * (torch.max(pt, tt) + torch.max(pb, tb)) + 1e-6
    giou = inter / union - (enclose - union) / enclose
    return ((1 - giou) * w).sum()


def read_batches(path, steps, batch, size, nclasses):
    sizes = [(size // s) * (size // s) for s in STRIDES]
    out = []
    with open(path, 'rb') as f:
        for _ in range(steps):
            x = np.frombuffer(f.read(batch * 3 * size * size * 4), '<f4').reshape(batch, 3, size, size)
            cls = [np.frombuffer(f.read(batch * nclasses * hw * 4), '<f4').reshape(batch, nclasses, hw)
                   for hw in sizes]
            npos = struct.unpack('<i', f.read(4))[0]
            rec = np.frombuffer(f.read(npos * 32), dtype=np.dtype([('ip', '<i4', 3), ('t', '<f4', 5)]))
            out.append((torch.from_numpy(x.copy()), [torch.from_numpy(c.copy()) for c in cls],
                        torch.from_numpy(rec['ip'].astype(np.int64)), torch.from_numpy(rec['t'].copy())))
    return out


def fcos_loss(outs, cls_t, ip, tgt):
    npos = max(len(ip), 1)
    loss_cls = sum(torchvision.ops.sigmoid_focal_loss(o[0].flatten(2), t, 0.25, 2.0, 'sum')
                   for o, t in zip(outs, cls_t)) / npos
    preds, logits = [], []
    for k in range(len(ip)):
        img, lvl, p = ip[k].tolist()
        reg, ctr = outs[lvl][1].flatten(2), outs[lvl][2].flatten(2)
        preds.append(reg[img, :, p])
        logits.append(ctr[img, 0, p])
    pred, logit = torch.stack(preds), torch.stack(logits)
    w = tgt[:, 4]
    loss_box = giou_loss(pred, tgt[:, :4], w) / max(float(w.sum()), 1e-6)
    loss_ctr = F.binary_cross_entropy_with_logits(logit, w, reduction='sum') / npos
    return loss_cls, loss_box, loss_ctr


def train(d, arch, size, batch, steps):
    model = build(os.path.join(d, 'init.safetensors'), arch)
    nclasses = model.head.cls_out.out_channels
    batches = read_batches(os.path.join(d, 'batches.bin'), steps, batch, size, nclasses)
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in trained if p.ndim == 4]
    rest = [p for n, p in trained if p.ndim != 4]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 5e-4}, {'params': rest, 'weight_decay': 0}],
                          lr=0.01, momentum=0.9, nesterov=True)
    model.train()
    total = 0.0
    for s, (x, cls_t, ip, tgt) in enumerate(batches):
        t0 = time.perf_counter()
        outs = model(x)
        lc, lb, lr = fcos_loss(outs, cls_t, ip, tgt)
        opt.zero_grad()
        (lc + lb + lr).backward()
        torch.nn.utils.clip_grad_norm_([p for n, p in trained], 10.0)
        opt.step()
        ms = (time.perf_counter() - t0) * 1e3
        print('step=%d loss_cls=%.6f loss_box=%.6f loss_ctr=%.6f npos=%d ms=%.1f' %
              (s, lc.item(), lb.item(), lr.item(), len(ip), ms))
        if s >= 2:
            total += ms
    n = steps - 2
    print('torch_ms=%.2f torch_ips=%.2f threads=%d' % (total / n, batch * n / total * 1e3,
                                                       torch.get_num_threads()))


def postprocess(outs, i, size, score_thr=0.05, pre_nms=1000, nms_thr=0.6, max_det=100):
    boxes, scores, labels = [], [], []
    for l, (cls, reg, ctr) in enumerate(outs):
        s = STRIDES[l]
        c = cls[i].flatten(1).sigmoid()
        q = ctr[i].flatten(1).sigmoid()
        sc = (c * q).sqrt()
        best = sc.max(0).values
        k = min(pre_nms, best.numel())
        idx = best.topk(k).indices
        h, w = cls.shape[2], cls.shape[3]
        px = ((idx % w).float() + 0.5) * s
        py = ((idx // w).float() + 0.5) * s
        d = reg[i].flatten(1)[:, idx] * s
        b = torch.stack([px - d[0], py - d[1], px + d[2], py + d[3]], 1).clamp(0, size)
        cand = sc[:, idx]
        keep = (cand >= score_thr).nonzero()
        boxes.append(b[keep[:, 1]])
        scores.append(cand[keep[:, 0], keep[:, 1]])
        labels.append(keep[:, 0])
    b, s, lab = torch.cat(boxes), torch.cat(scores), torch.cat(labels)
    keep = torchvision.ops.batched_nms(b, s, lab, nms_thr)[:max_det]
    return b[keep], s[keep], lab[keep]


def infer(weights, arch, size, iters, batch):
    model = build(weights, arch).eval()
    torch.manual_seed(0)
    x1 = torch.randn(1, 3, size, size)
    xb = torch.randn(batch, 3, size, size)
    ms = []
    with torch.no_grad():
        for i in range(iters + 3):
            t0 = time.perf_counter()
            postprocess(model(x1), 0, size)
            if i >= 3:
                ms.append((time.perf_counter() - t0) * 1e3)
        nb = iters // 4 + 2
        t0 = time.perf_counter()
        for _ in range(nb):
            outs = model(xb)
            for i in range(batch):
                postprocess(outs, i, size)
        ips = nb * batch / (time.perf_counter() - t0)
    ms.sort()
    print('torch_ms=%.2f torch_ms_p10=%.2f torch_ms_p90=%.2f torch_batch_ips=%.1f threads=%d' %
          (ms[len(ms) // 2], ms[len(ms) // 10], ms[len(ms) * 9 // 10], ips, torch.get_num_threads()))


def main():
    torch.set_num_threads(int(os.environ.get('LL_THREADS', '2')))
    if len(sys.argv) == 7 and sys.argv[1] == 'train':
        train(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    elif len(sys.argv) == 7 and sys.argv[1] == 'infer':
        infer(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main()
