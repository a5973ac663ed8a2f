"""PyTorch peer of bench/episodic.c: MbPA++-style prediction written as a
straightforward per-query loop. The network is clbench's, read from the
weights file bench/episodic.c wrote; the memory is the same first 10,000
Fashion-MNIST training images. Keys are a frozen random projection to 128
dimensions (orthonormal rows scaled by sqrt(784 / 128), as episodic.c
draws it); memory features under the body are computed once per prediction
phase, as clbench caches them. Per query: the K = 32 nearest keys, a copy
of the output layer trained for L = 30 SGD steps (lr 0.01) on the mean
cross-entropy of the neighbours + 0.001 * ||theta - theta_base||^2, then the
query's prediction from the copy.

The first N test images are predicted (N may be a subset of clbench's;
bench/run.py scales the rate, the loop being linear in the queries).

usage: /usr/bin/python3 episodic_torch.py WEIGHTS N THREADS"""
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import fmnist

MEM, KEY_DIM, K, L, LR, LAMBDA, CHUNK = 10000, 128, 32, 30, 0.01, 0.001, 256


def load_net(path):
    net = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(),
                        nn.Linear(400, 10))
    flat = torch.from_numpy(np.fromfile(path, dtype=np.float32))
    off = 0
    with torch.no_grad():
        for layer in (net[0], net[2], net[4]):
            for p in (layer.weight, layer.bias):
                p.copy_(flat[off:off + p.numel()].view_as(p))
                off += p.numel()
    assert off == flat.numel(), "weights file does not match 784-400-400-10"
    return net


def adapt_and_predict(head_base, feats, labels, query):
    head = nn.Linear(400, 10)
    head.load_state_dict(head_base.state_dict())
    base = [p.detach().clone() for p in head.parameters()]
    opt = torch.optim.SGD(head.parameters(), lr=LR)
    for _ in range(L):
        opt.zero_grad()
        loss = F.cross_entropy(head(feats), labels)
        loss = loss + LAMBDA * sum(((p - b) ** 2).sum() for p, b in zip(head.parameters(), base))
        loss.backward()
        opt.step()
    with torch.no_grad():
        return int(head(query).argmax())


def main():
    path, n, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = load_net(path)
    body, head_base = net[:4], net[4]
    xs, ys = fmnist.load("train")
    tx, ty = fmnist.load("t10k")
    mem_x, mem_y = torch.from_numpy(xs[:MEM]), torch.from_numpy(ys[:MEM])
    test_x, test_y = torch.from_numpy(tx[:n]), torch.from_numpy(ty[:n])
    q, _ = torch.linalg.qr(torch.randn(784, KEY_DIM))
    proj = q.T * math.sqrt(784 / KEY_DIM)  # (KEY_DIM, 784)

    t0 = time.perf_counter()
    with torch.no_grad():
        mem_keys = mem_x @ proj.T
        mem_knorm = (mem_keys ** 2).sum(1)
        mem_feat = body(mem_x)
    correct = 0
    for i0 in range(0, n, CHUNK):
        xq = test_x[i0:i0 + CHUNK]
        with torch.no_grad():
            fq = body(xq)
            qk = xq @ proj.T
            dist = (qk ** 2).sum(1, keepdim=True) + mem_knorm - 2 * qk @ mem_keys.T
            nbr = dist.topk(K, dim=1, largest=False).indices
        for i in range(xq.shape[0]):
            pred = adapt_and_predict(head_base, mem_feat[nbr[i]], mem_y[nbr[i]], fq[i])
            correct += pred == int(test_y[i0 + i])
    s = time.perf_counter() - t0
    print(f"queries {n}\nthreads {threads}\npredict_s {s:.9g}\nqueries_per_s {n / s:.6g}")
    print(f"accuracy {correct / n:.4f}")


if __name__ == "__main__":
    main()
