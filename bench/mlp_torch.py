"""PyTorch peer of bench/mlp.c: the same training step (784-400-400-10 ReLU
MLP, mean cross-entropy, backward, Adam lr 1e-3) at the same batch size and
thread count, written as a user would write it.

usage: /usr/bin/python3 mlp_torch.py BATCH THREADS [MIN_SECONDS REPS]
Prints "key value" lines (see bench/run.py)."""
import sys
import time

import torch
import torch.nn as nn


def best(fn, min_s, reps):
    """Seconds per call: reps repetitions filling min_s each, fastest kept."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    n = int(min_s / one) + 1 if one > 0 else 1
    out = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out = min(out, (time.perf_counter() - t0) / n)
    return out


def main():
    batch, threads = int(sys.argv[1]), int(sys.argv[2])
    min_s = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(),
                        nn.Linear(400, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 784)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    s = best(step, min_s, reps)
    print(f"batch {batch}\nthreads {threads}\nstep_s {s:.9g}\nsamples_per_s {batch / s:.6g}")
    print(f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
