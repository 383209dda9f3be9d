"""Rebuilds an nn graph in PyTorch from the JSON description that nn_graph_describe writes into
a safetensors file's metadata, with the same weights, for the cross-check test and the benchmark.

  nn_torch.py check FILE...     compare outputs, parameter gradients and BN running statistics
                                with ours (tensors named __out.K, __grad.NAME, __rs.NAME);
                                exit status 1 when any relative error exceeds 1e-4
  nn_torch.py bench FILE THREADS ITERS
                                time forward + backward; prints `torch_ms=...`
"""
import json
import struct
import sys
import time

import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n :]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32)
        tensors[name] = t.reshape(info["shape"])
    return meta, tensors


ACTS = {
    "none": lambda x, a: x,
    "relu": lambda x, a: F.relu(x),
    "leaky_relu": lambda x, a: F.leaky_relu(x, a),
    "silu": lambda x, a: F.silu(x),
    "sigmoid": lambda x, a: torch.sigmoid(x),
    "exp": lambda x, a: torch.exp(x),
}


class Net:
    """The graph as a PyTorch computation: one Python call per node, as an nn.Module would."""

    def __init__(self, graph, tensors):
        self.nodes = graph["nodes"]
        self.outputs = graph["outputs"]
        self.train = graph["train"]
        self.params = {}
        for nd in self.nodes:
            for name in nd["params"]:
                if name is not None and name not in self.params:
                    p = tensors[name].clone()
                    p.requires_grad_(self.train and "running_" not in name)
                    self.params[name] = p

    def forward(self, inputs):
        vals, k = [], 0
        for nd in self.nodes:
            op, ins = nd["op"], [vals[i] for i in nd["in"]]
            ps = [self.params[n] if n else None for n in nd["params"]]
            if op == "input":
                v = inputs[k].reshape(nd["shape"])
                k += 1
            elif op == "conv":
                c = nd["conv"]
                v = F.conv2d(ins[0], ps[0], ps[1], c["stride"], c["pad"], c["dilation"], c["groups"])
            elif op == "bn":
                v = F.batch_norm(ins[0], ps[2], ps[3], ps[0], ps[1], self.train, nd["momentum"], nd["eps"])
            elif op == "gn":
                v = F.group_norm(ins[0], nd["groups"], ps[0], ps[1], nd["eps"])
            elif op == "act":
                v = ACTS[nd["act"]](ins[0], nd["alpha"])
            elif op == "maxpool":
                kk, s, p = nd["pool"]
                v = F.max_pool2d(ins[0], kk, s, p)
            elif op == "up2x":
                v = F.interpolate(ins[0], scale_factor=2, mode="nearest")
            elif op == "add":
                v = ins[0] + ins[1]
            elif op == "concat":
                v = torch.cat(ins, 1)
            elif op == "scale":
                v = ins[0] * ps[0]
            else:
                raise ValueError("unknown op " + op)
            vals.append(v)
        return [vals[i] for i in self.outputs]


def rel_err(a, b):
    return (a - b).abs().max().item() / max(b.abs().max().item(), 1e-3)


def check(path):
    meta, t = load_safetensors(path)
    graph = json.loads(meta["graph"])
    net = Net(graph, t)
    inputs = [t["__input.%d" % i] for i in range(int(meta["inputs"]))]
    outs = net.forward(inputs)
    worst, report = 0.0, []
    for k, y in enumerate(outs):
        report.append(("out.%d" % k, rel_err(t["__out.%d" % k].reshape(y.shape), y.detach())))
    if graph["train"]:
        torch.autograd.backward(outs, [t["__gout.%d" % k].reshape(y.shape) for k, y in enumerate(outs)])
        for name, p in net.params.items():
            if p.requires_grad:
                report.append(("grad " + name, rel_err(t["__grad." + name].reshape(p.shape), p.grad)))
            elif "__rs." + name in t:
                report.append(("running " + name, rel_err(t["__rs." + name].reshape(p.shape), p)))
    for name, e in report:
        worst = max(worst, e)
        if e > 1e-4:
            print("%s: relative error %.3g" % (name, e))
    print("torch cross-check: %d tensors, worst relative error %.3g" % (len(report), worst))
    return 0 if worst <= 1e-4 and report else 1


def bench(path, threads, iters):
    torch.set_num_threads(threads)
    meta, t = load_safetensors(path)
    graph = json.loads(meta["graph"])
    net = Net(graph, t)
    inputs = [t["__input.%d" % i] for i in range(int(meta["inputs"]))]
    train = graph["train"]
    times = []
    for it in range(iters + 2):
        t0 = time.perf_counter()
        if train:
            for p in net.params.values():
                p.grad = None
            outs = net.forward(inputs)
            torch.autograd.backward(outs, [torch.ones_like(y) for y in outs])
        else:
            with torch.no_grad():
                net.forward(inputs)
        if it >= 2:
            times.append(time.perf_counter() - t0)
    times.sort()
    print("torch_ms=%.2f" % (1000 * times[len(times) // 2]))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        sys.exit(max(check(path) for path in sys.argv[2:]))
    if len(sys.argv) >= 5 and sys.argv[1] == "bench":
        sys.exit(bench(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    print(__doc__)
    sys.exit(2)
