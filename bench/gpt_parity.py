"""GPT parity, the PyTorch half: reads what bench/gpt_parity.c wrote into DIR
(params.f32, x.f32, logits.f32, grads.f32, params1.f32), loads the initial parameters
into a PyTorch module of the same architecture (pre-LN causal transformer,
learned positions, tanh-GELU MLP, untied head; the layout of
harness/nn/gpt.c) and checks
  logits: its forward on x against clbench's,
  update: one torch.optim.AdamW step (lr 1e-3, betas 0.9/0.999, eps 1e-8,
          weight_decay 0.1 on the matrices and embeddings, 0 elsewhere) on
          the mean next-byte cross-entropy against clbench's step, as the
          update p1 - p0 and as the parameters p1,
each as max|clbench - torch| / max|torch| < 1e-4, together with the
gradient (grads.f32, block by block) and the step torch's AdamW takes from
clbench's gradient (the optimiser alone). One line per check; exit 1 on a
failure. Why the update on torch's own gradient skips the entries with
|g| < 100 eps: see WELL_DETERMINED.

usage: /usr/bin/python3 bench/gpt_parity.py DIR"""
import math
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

LAYERS, D_MODEL, HEADS, CTX, MLP_RATIO, BATCH, VOCAB = 2, 32, 4, 16, 4, 4, 256
TOLERANCE = 1e-4


def causal_attention(q, k, v):
    """softmax(q k^T / sqrt(hd)) v over s <= t, per (batch, head)."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[-2]
    s = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(q.shape[-1]))
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, float("-inf"))
    return F.softmax(s, dim=-1) @ v


class Block(nn.Module):
    def __init__(self, d, heads, f):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.attn = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.fc = nn.Linear(d, f)
        self.gelu = nn.GELU(approximate="tanh")
        self.fcproj = nn.Linear(f, d)

    def forward(self, h):
        B, T, d = h.shape
        hd = d // self.heads
        q, k, v = self.attn(self.ln1(h)).split(d, dim=2)
        q, k, v = (t.view(B, T, self.heads, hd).transpose(1, 2) for t in (q, k, v))
        y = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, d)
        h = h + self.proj(y)
        return h + self.fcproj(self.gelu(self.fc(self.ln2(h))))

    def tensors(self):
        """The layer's tensors in clbench's block order."""
        return [self.ln1.weight, self.ln1.bias, self.attn.weight, self.attn.bias,
                self.proj.weight, self.proj.bias, self.ln2.weight, self.ln2.bias,
                self.fc.weight, self.fc.bias, self.fcproj.weight, self.fcproj.bias]


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        d = D_MODEL
        self.wte = nn.Embedding(VOCAB, d)
        self.wpe = nn.Embedding(CTX, d)
        self.blocks = nn.ModuleList(Block(d, HEADS, MLP_RATIO * d) for _ in range(LAYERS))
        self.lnf = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, VOCAB)

    def forward(self, tok):
        T = tok.shape[1]
        h = self.wte(tok) + self.wpe(torch.arange(T))
        for b in self.blocks:
            h = b(h)
        return self.head(self.lnf(h))

    def tensors(self):
        """(tensor, decays) in clbench's block order: AdamW decays the
        embeddings and the weight matrices, not biases or LayerNorms."""
        out = [(self.wte.weight, True), (self.wpe.weight, True)]
        for b in self.blocks:
            out += [(t, t.dim() == 2) for t in b.tensors()]
        out += [(self.lnf.weight, False), (self.lnf.bias, False),
                (self.head.weight, True), (self.head.bias, False)]
        return out


def read_f32(dir, name):
    with open(os.path.join(dir, name), "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32)


def flat(net):
    return torch.cat([t.detach().reshape(-1) for t, _ in net.tensors()])


def load(net, vec):
    n = sum(t.numel() for t, _ in net.tensors())
    if vec.numel() != n:
        sys.exit(f"gpt_parity: params.f32 holds {vec.numel()} floats, the module {n}")
    at = 0
    with torch.no_grad():
        for t, _ in net.tensors():
            t.copy_(vec[at:at + t.numel()].view(t.shape))
            at += t.numel()


NAMES = ["wte", "wpe"] + [f"h{l}.{k}" for l in range(LAYERS) for k in (
    "ln1_w", "ln1_b", "attn_w", "attn_b", "proj_w", "proj_b", "ln2_w", "ln2_b",
    "fc_w", "fc_b", "fcproj_w", "fcproj_b")] + ["lnf_w", "lnf_b", "head_w", "head_b"]

LR, EPS = 1e-3, 1e-8
# Adam's first step is lr * g / (|g| + eps): below ~100 eps its size hangs
# on the gradient's last bits (sensitivity lr * eps / (|g| + eps)^2), and
# float32 rounding, ~1e-9 on these gradients in either implementation,
# moves it by up to ~1e-3 lr; torch float32 misses torch float64 by as much
# there. So the step on torch's own gradient is compared where |g| >= 100
# eps or exactly 0 (unseen bytes' rows of wte: decay alone), and the step
# in full from clbench's gradient (the optimiser alone).
WELL_DETERMINED = 100 * EPS


def adamw(net):
    decay = [t for t, dec in net.tensors() if dec]
    rest = [t for t, dec in net.tensors() if not dec]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                              {"params": rest, "weight_decay": 0.0}],
                             lr=LR, betas=(0.9, 0.999), eps=EPS)


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def block_rel(net, a, b):
    """The largest max|a - b| / max|b| over the blocks, and its block."""
    worst, name, at = -1.0, "?", 0
    for (t, _), nm in zip(net.tensors(), NAMES):
        e = rel(a[at:at + t.numel()], b[at:at + t.numel()])
        if e > worst:
            worst, name = e, nm
        at += t.numel()
    return worst, name


def report(name, err, detail=""):
    ok = err < TOLERANCE
    print(f"gpt parity {name}: max relative error {err:.3g} "
          f"({'ok' if ok else 'FAIL'}, tolerance {TOLERANCE:g}){detail}")
    return ok


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gpt_parity.py DIR")
    dir = sys.argv[1]
    torch.set_num_threads(1)
    net = GPT()
    p0 = read_f32(dir, "params.f32")
    load(net, p0)
    x = read_f32(dir, "x.f32").view(BATCH, CTX + 1).long()
    tok, labels = x[:, :CTX], x[:, 1:].reshape(-1)

    logits = net(tok).reshape(-1, VOCAB)
    ok = report("logits", rel(read_f32(dir, "logits.f32").view_as(logits), logits.detach()))

    opt = adamw(net)
    opt.zero_grad()
    F.cross_entropy(logits, labels).backward()
    g_t = torch.cat([t.grad.reshape(-1) for t, _ in net.tensors()])
    g_c = read_f32(dir, "grads.f32")
    err, name = block_rel(net, g_c, g_t)
    ok = report("grads", err, f" (per block; worst {name})") and ok

    opt.step()
    p1_t, p1_c = flat(net), read_f32(dir, "params1.f32")
    d_t, d_c = p1_t - p0, p1_c - p0
    sure = (g_t.abs() >= WELL_DETERMINED) | (g_t == 0)
    ok = report("update", rel(d_c[sure], d_t[sure]),
                f" (entries with |g| >= {WELL_DETERMINED:g} or 0: {int(sure.sum())} of "
                f"{sure.numel()}; all: {rel(d_c, d_t):.3g})") and ok
    ok = report("params", rel(p1_c, p1_t)) and ok

    # The optimiser alone: torch's AdamW from clbench's gradient.
    load(net, p0)
    opt = adamw(net)
    at = 0
    for t, _ in net.tensors():
        t.grad = g_c[at:at + t.numel()].view(t.shape).clone()
        at += t.numel()
    opt.step()
    ok = report("step from clbench's grads", rel(d_c, flat(net) - p0), " (all entries)") and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
