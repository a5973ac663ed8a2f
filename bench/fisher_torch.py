"""PyTorch peer of bench/fisher.c: the diagonal Fisher of a 784-400-400-10
MLP over the first N Fashion-MNIST training images, as EWC codes commonly
write it: a per-sample loop of forward, log-probability, backward, squared
gradients accumulated.
  empirical: the gradient of log p(y_true | x), one backward per sample;
  expected:  sum_c p_c (grad log p_c)^2, one backward per class per sample.
The expected loop is run on the first `sub` samples and its time scaled to N
(the loop is linear in the samples; the table says so).

usage: /usr/bin/python3 fisher_torch.py N THREADS [REPS [SUB]]"""
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import fmnist


def empirical(net, x, y):
    params = list(net.parameters())
    fisher = [torch.zeros_like(p) for p in params]
    for i in range(x.shape[0]):
        net.zero_grad()
        logp = F.log_softmax(net(x[i:i + 1]), dim=1)
        logp[0, y[i]].backward()
        for f, p in zip(fisher, params):
            f += p.grad ** 2
    return [f / x.shape[0] for f in fisher]


def expected(net, x):
    params = list(net.parameters())
    fisher = [torch.zeros_like(p) for p in params]
    for i in range(x.shape[0]):
        logp = F.log_softmax(net(x[i:i + 1]), dim=1)[0]
        prob = logp.exp().detach()
        for c in range(logp.shape[0]):
            net.zero_grad()
            logp[c].backward(retain_graph=c + 1 < logp.shape[0])
            for f, p in zip(fisher, params):
                f += prob[c] * p.grad ** 2
    return [f / x.shape[0] for f in fisher]


def timed(fn, reps):
    best, out = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    n, threads = int(sys.argv[1]), int(sys.argv[2])
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    sub = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    xs, ys = fmnist.load("train")
    x, y = torch.from_numpy(xs[:n]), torch.from_numpy(ys[:n])
    net = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(),
                        nn.Linear(400, 10))
    empirical(net, x[:50], y[:50])  # warm-up
    s, f = timed(lambda: empirical(net, x, y), reps)
    print(f"samples {n}\nthreads {threads}\nempirical_s {s:.9g}")
    print(f"empirical_sum {sum(float(t.sum()) for t in f):.9g}")
    sub = min(sub, n)
    s, f = timed(lambda: expected(net, x[:sub]), 1)
    print(f"expected_s {s * n / sub:.9g}\nexpected_sub {sub}")


if __name__ == "__main__":
    main()
