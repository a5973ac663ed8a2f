"""PyTorch peer of the end-to-end row: split-Fashion-MNIST, class scenario,
one strategy, written as a plain PyTorch script with a standard DataLoader.
It does the work `clbench run` does with the same protocol and the
strategies' clbench defaults (not bit-equal: its own seeds and sampling):

  5 tasks of 2 classes, 784-400-400-10 ReLU MLP (PyTorch init), Adam lr 1e-3
  reset at every task, STEPS steps of batch BATCH per task (successive
  shuffled passes); an evaluation of every task before training and after
  each task (the R matrix, on TEST_PER_CLASS test samples per class) and an
  anytime point at each task end (the plain network on the first 1000 test
  samples of each task).

  naive     plain steps
  ewc       expected Fisher of SAMPLES random training samples of each task
            (per-sample loop, one backward per class), one (F, theta*) pair
            per task, penalty lambda/2 sum F (theta - theta*)^2, lambda 2e4
  replay    reservoir buffer of 500; every step the batch plus BATCH buffer
            rows, one cross-entropy over all rows
  sleep     reservoir buffer of 200; at each task end from the second on,
            300 updates of (1 - a) CE(BATCH rows of the task) + a T^2
            KL(teacher || student) (BATCH buffer rows of earlier tasks,
            teacher = the network when the task began, zero-padded over
            unseen classes, T = 2, a = 1 - 1/t)
  episodic  every sample written to a 10,000-sample memory (exact-duplicate
            inputs stored once, reservoir past capacity) with a 128-d random
            projection key; a replay step of BATCH memory samples every 100
            steps; R predictions retrieve the K = 32 nearest keys and adapt
            a copy of the output layer for L = 30 SGD steps (lr 0.01, pull
            0.001) per query; anytime points use the plain network
  joint     every batch drawn from the union of the tasks seen so far

usage: /usr/bin/python3 e2e_torch.py STRATEGY STEPS BATCH TEST_PER_CLASS SAMPLES [THREADS]
Prints "key value" lines: acc (final mean accuracy) and the seconds spent."""
import copy
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import ConcatDataset, DataLoader, TensorDataset

import fmnist

TASKS, CURVE = 5, 1000
BATCH = 128  # set from the command line


def make_net():
    return nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(),
                         nn.Linear(400, 10))


def split(test_per_class):
    """Per task: (train dataset, test x, test y), classes 2t and 2t+1."""
    xs, ys = fmnist.load("train")
    tx, ty = fmnist.load("t10k")
    tasks = []
    for t in range(TASKS):
        cls = [2 * t, 2 * t + 1]
        tr = np.isin(ys, cls)
        te = np.concatenate([np.flatnonzero(ty == c)[:test_per_class] for c in cls])
        tasks.append((TensorDataset(torch.from_numpy(xs[tr]), torch.from_numpy(ys[tr])),
                      torch.from_numpy(tx[te]), torch.from_numpy(ty[te])))
    return tasks


def batches(dataset, steps):
    """`steps` batches of BATCH from successive shuffled passes."""
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, drop_last=True)
    n = 0
    while True:
        for xb, yb in loader:
            yield xb, yb
            n += 1
            if n == steps:
                return


class Reservoir:
    def __init__(self, cap):
        self.cap, self.seen, self.x, self.y, self.task = cap, 0, [], [], []

    def offer(self, xb, yb, task):
        for x, y in zip(xb, yb):
            if len(self.x) < self.cap:
                self.x.append(x.clone())
                self.y.append(int(y))
                self.task.append(task)
            else:
                j = np.random.randint(0, self.seen + 1)
                if j < self.cap:
                    self.x[j], self.y[j], self.task[j] = x.clone(), int(y), task
            self.seen += 1

    def sample(self, n, slots=None):
        slots = range(len(self.x)) if slots is None else slots
        pick = np.random.choice(slots, size=min(n, len(slots)), replace=False)
        return (torch.stack([self.x[i] for i in pick]), torch.tensor([self.y[i] for i in pick]),
                pick)


class Strategy:
    """Plain training: one cross-entropy step per batch."""

    def __init__(self, net, opt, samples):
        self.net, self.opt = net, opt

    def task_begin(self, t, data):
        pass

    def loss(self, xb, yb, t):
        return F.cross_entropy(self.net(xb), yb)

    def observe(self, xb, yb, t):
        self.opt.zero_grad()
        self.loss(xb, yb, t).backward()
        self.opt.step()

    def task_end(self, t, data):
        pass

    def predict(self, x):
        with torch.no_grad():
            return self.net(x).argmax(1)


class EWC(Strategy):
    def __init__(self, net, opt, samples):
        super().__init__(net, opt, samples)
        self.samples, self.lam, self.pairs = samples, 2e4, []

    def loss(self, xb, yb, t):
        loss = F.cross_entropy(self.net(xb), yb)
        for fisher, anchor in self.pairs:
            for p, f, a in zip(self.net.parameters(), fisher, anchor):
                loss = loss + self.lam / 2 * (f * (p - a) ** 2).sum()
        return loss

    def task_end(self, t, data):
        params = list(self.net.parameters())
        fisher = [torch.zeros_like(p) for p in params]
        pick = np.random.choice(len(data), size=min(self.samples, len(data)), replace=False)
        for i in pick:
            logp = F.log_softmax(self.net(data[i][0][None]), dim=1)[0]
            prob = logp.exp().detach()
            for c in range(10):
                self.net.zero_grad()
                logp[c].backward(retain_graph=c < 9)
                for f, p in zip(fisher, params):
                    f += prob[c] * p.grad ** 2
        self.pairs.append(([f / len(pick) for f in fisher],
                           [p.detach().clone() for p in params]))


class Replay(Strategy):
    def __init__(self, net, opt, samples):
        super().__init__(net, opt, samples)
        self.buf = Reservoir(500)

    def observe(self, xb, yb, t):
        if self.buf.x:
            rx, ry, _ = self.buf.sample(BATCH)
            x, y = torch.cat([xb, rx]), torch.cat([yb, ry])
        else:
            x, y = xb, yb
        super().observe(x, y, t)
        self.buf.offer(xb, yb, t)


class Sleep(Strategy):
    def __init__(self, net, opt, samples):
        super().__init__(net, opt, samples)
        self.buf, self.T, self.steps, self.seen = Reservoir(200), 2.0, 300, []

    def task_begin(self, t, data):
        self.teacher = copy.deepcopy(self.net)
        self.taught = list(self.seen)
        self.seen.append(t)
        mask = torch.zeros(10, dtype=torch.bool)
        for k in self.taught:
            mask[2 * k:2 * k + 2] = True
        self.probs = None
        if self.taught and self.buf.x:
            with torch.no_grad():
                z = self.teacher(torch.stack(self.buf.x)) / self.T
                self.probs = F.softmax(z.masked_fill(~mask, -math.inf), dim=1)

    def observe(self, xb, yb, t):
        super().observe(xb, yb, t)
        self.buf.offer(xb, yb, t)

    def task_end(self, t, data):
        old = [i for i, k in enumerate(self.buf.task) if k in self.taught and k != t]
        if not self.taught or not old:
            return
        a = 1 - 1 / len(self.seen)
        for _ in range(self.steps):
            cur = np.random.randint(0, len(data), size=BATCH)
            cx, cy = data[cur]
            ox, _, pick = self.buf.sample(BATCH, old)
            q = self.probs[pick]
            z = self.net(torch.cat([cx, ox]))
            ce = F.cross_entropy(z[:BATCH], cy)
            logp = F.log_softmax(z[BATCH:] / self.T, dim=1)
            kd = (q * (torch.log(q.clamp_min(1e-30)) - logp)).sum(1).mean() * self.T ** 2
            self.opt.zero_grad()
            ((1 - a) * ce + a * kd).backward()
            self.opt.step()


class Episodic(Strategy):
    K, L, LR, LAMBDA, MEM, KEY_DIM = 32, 30, 0.01, 0.001, 10000, 128

    def __init__(self, net, opt, samples):
        super().__init__(net, opt, samples)
        q, _ = torch.linalg.qr(torch.randn(784, self.KEY_DIM))
        self.proj = q.T * math.sqrt(784 / self.KEY_DIM)
        self.x, self.y, self.index, self.seen, self.steps = [], [], {}, 0, 0
        self.keys = torch.zeros(self.MEM, self.KEY_DIM)

    def put(self, slot, x, y):
        self.x[slot], self.y[slot] = x.clone(), int(y)
        self.keys[slot] = self.proj @ x

    def write(self, x, y):
        h = x.numpy().tobytes()
        if h in self.index:  # stored already: the newest label wins
            self.y[self.index[h]] = int(y)
            return
        if len(self.x) < self.MEM:
            slot = len(self.x)
            self.x.append(None)
            self.y.append(None)
        else:
            slot = np.random.randint(0, self.seen + 1)
            if slot >= self.MEM:
                self.seen += 1
                return
            del self.index[self.x[slot].numpy().tobytes()]
        self.seen += 1
        self.index[h] = slot
        self.put(slot, x, y)

    def observe(self, xb, yb, t):
        super().observe(xb, yb, t)
        self.steps += 1
        if self.steps % 100 == 0 and self.x:
            pick = np.random.choice(len(self.x), size=min(BATCH, len(self.x)), replace=False)
            super().observe(torch.stack([self.x[i] for i in pick]),
                            torch.tensor([self.y[i] for i in pick]), t)
        for x, y in zip(xb, yb):
            self.write(x, y)

    def adapt(self, feats, labels, query):
        head = copy.deepcopy(self.net[4])
        base = [p.detach().clone() for p in head.parameters()]
        opt = torch.optim.SGD(head.parameters(), lr=self.LR)
        for _ in range(self.L):
            opt.zero_grad()
            loss = F.cross_entropy(head(feats), labels)
            loss = loss + self.LAMBDA * sum(((p - b) ** 2).sum()
                                            for p, b in zip(head.parameters(), base))
            loss.backward()
            opt.step()
        with torch.no_grad():
            return int(head(query).argmax())

    def predict_r(self, x):
        """R-matrix prediction: retrieval and local adaptation per query."""
        if not self.x:
            return self.predict(x)
        n = len(self.x)
        with torch.no_grad():
            if self.cache is None:
                self.cache = self.net[:4](torch.stack(self.x)), torch.tensor(self.y)
            feat, ys = self.cache
            fq = self.net[:4](x)
            qk = x @ self.proj.T
            keys = self.keys[:n]
            dist = (qk ** 2).sum(1, keepdim=True) + (keys ** 2).sum(1) - 2 * qk @ keys.T
            nbr = dist.topk(min(self.K, n), dim=1, largest=False).indices
        return torch.tensor([self.adapt(feat[nbr[i]], ys[nbr[i]], fq[i])
                             for i in range(x.shape[0])])


class Joint(Strategy):
    def task_begin(self, t, data):
        self.seen = getattr(self, "seen", []) + [data]
        self.union = ConcatDataset(self.seen)


STRATEGIES = {"naive": Strategy, "ewc": EWC, "replay": Replay, "sleep": Sleep,
              "episodic": Episodic, "joint": Joint}


def evaluate(strategy, tasks, limit=None, adapt=True):
    accs = []
    pred_fn = getattr(strategy, "predict_r", strategy.predict) if adapt else strategy.predict
    if adapt:
        strategy.cache = None
    for _, tx, ty in tasks:
        tx, ty = tx[:limit], ty[:limit]
        correct = 0
        for i0 in range(0, tx.shape[0], 256):
            correct += int((pred_fn(tx[i0:i0 + 256]) == ty[i0:i0 + 256]).sum())
        accs.append(correct / tx.shape[0])
    return accs


def main():
    global BATCH
    name, steps, BATCH, test_per_class, samples = (sys.argv[1], int(sys.argv[2]),
                                                   int(sys.argv[3]), int(sys.argv[4]),
                                                   int(sys.argv[5]))
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    t0 = time.perf_counter()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    np.random.seed(0)
    tasks = split(test_per_class)
    net = make_net()
    strategy = STRATEGIES[name](net, None, samples)
    evaluate(strategy, tasks)
    for t, (data, _, _) in enumerate(tasks):
        strategy.opt = torch.optim.Adam(net.parameters(), lr=1e-3)  # reset per task
        strategy.task_begin(t, data)
        source = strategy.union if name == "joint" else data
        for xb, yb in batches(source, steps):
            strategy.observe(xb, yb, t)
        strategy.task_end(t, data)
        evaluate(strategy, tasks, CURVE, adapt=False)  # anytime point
        accs = evaluate(strategy, tasks)  # R row
    print(f"strategy {name}\nacc {sum(accs) / len(accs):.4f}")
    print(f"seconds {time.perf_counter() - t0:.3f}\ntorch {torch.__version__}")


if __name__ == "__main__":
    main()
