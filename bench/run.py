"""Runs every row of `make bench` and prints one Markdown table: each row is
the same work done by clbench and by its peer (PyTorch, OpenBLAS sgemm,
FAISS) in this run, one right after the other, so both see the same machine
load. Throughput rows keep the best of several interleaved repetitions (a
shared machine only ever slows a repetition down), as do the single-thread
end-to-end rows (two rounds); the 2-thread end-to-end total is one run of
each. The load average is printed with every row.

usage: /usr/bin/python3 bench/run.py BUILD_DIR [--rows mlp,fisher,knn,episodic,e2e]
       [--rounds N] [--quick] [--e2e-steps N] [--e2e-batch B]
Progress goes to stderr, the table to stdout."""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # Debian's python3-torch is for this interpreter
ENV = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # idle OpenMP threads sleep
STRATEGIES = ["naive", "ewc", "replay", "sleep", "episodic", "joint"]
# End-to-end protocol, the same on both sides (see e2e_torch.py); steps and
# batch default to clbench's own (train.steps, train.batch_size).
E2E_STEPS, E2E_BATCH, E2E_TEST_PER_CLASS, E2E_FISHER_SAMPLES = 300, 32, 100, 200
EPISODIC_PEER_QUERIES = 300


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def load():
    return os.getloadavg()[0]


def run_kv(cmd, cwd=None):
    """Runs a driver; returns its "key value" lines as a dict."""
    out = subprocess.run(cmd, cwd=cwd, env=ENV, check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    kv = {}
    for line in out.splitlines():
        k, _, v = line.partition(" ")
        try:
            kv[k] = float(v)
        except ValueError:
            kv[k] = v
    return kv


def timed(cmd, cwd=None):
    """Runs cmd under GNU time: (stdout, wall seconds, peak RSS bytes)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        out = subprocess.run(["/usr/bin/time", "-o", tf.name, "-f", "%e %M"] + cmd, cwd=cwd,
                             env=ENV, check=True, stdout=subprocess.PIPE, text=True).stdout
        wall, rss = tf.read().split()[-2:]
    return out, float(wall), int(rss) * 1024


def fmt(v, unit=""):
    if v >= 100:
        s = f"{v:,.0f}"
    elif v >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return f"{s} {unit}".strip()


def ratio(v):
    return f"{v:.2f}x" if v < 10 else f"{v:.0f}x"


class Table:
    def __init__(self):
        self.rows = []

    def add(self, work, threads, ours, peer, peer_name, r, target, ok, lavg):
        mark = "" if ok is None else (" (met)" if ok else " (**missed**)")
        self.rows.append(f"| {work} | {threads} | {ours} | {peer} | {peer_name} | {r}{mark} "
                         f"| {target} | {lavg:.1f} |")

    def print(self, header):
        print(header)
        print()
        print("| work | threads | clbench | peer | peer is | ratio | target | load |")
        print("|---|---|---|---|---|---|---|---|")
        for r in self.rows:
            print(r)


def mlp_rows(t, b, rounds):
    for batch in (10, 128):
        for threads in (1, 2):
            lavg = load()
            ours, peer = {}, {}
            for _ in range(rounds):
                c = run_kv([f"{b}/bench/mlp", str(batch), str(threads), "0.25", "3"])
                p = run_kv([PY, f"{HERE}/mlp_torch.py", str(batch), str(threads), "0.25", "3"],
                           cwd=HERE)
                ours = c if c["samples_per_s"] > ours.get("samples_per_s", 0) else ours
                if c["sgemm_gflops"] > ours.get("best_sgemm", 0):
                    ours["best_sgemm"] = c["sgemm_gflops"]
                peer = p if p["samples_per_s"] > peer.get("samples_per_s", 0) else peer
            r = ours["samples_per_s"] / peer["samples_per_s"]
            target = {10: 2.0, 128: 1.2}[batch] if threads == 1 or batch == 10 else None
            t.add(f"MLP 784-400-400-10 training step (Adam), batch {batch}", threads,
                  fmt(ours["samples_per_s"], "samples/s"), fmt(peer["samples_per_s"], "samples/s"),
                  "PyTorch, same step", ratio(r), f">= {target}x" if target else "-",
                  r >= target if target else None, lavg)
            # The step's rate against its own sgemm calls alone, best of
            # the same rounds (sgemm_gflops is the OpenBLAS rate on exactly
            # the step's calls: the practical limit of this work here).
            gr = ours["step_gflops"] / ours["best_sgemm"]
            need = batch == 128 and threads == 1
            t.add(f"same step, GFLOP/s vs its own sgemm calls alone, batch {batch}", threads,
                  fmt(ours["step_gflops"], "GFLOP/s"), fmt(ours["best_sgemm"], "GFLOP/s"),
                  "OpenBLAS sgemm, same calls", f"{gr:.2f}", ">= 0.80" if need else "-",
                  gr >= 0.8 if need else None, lavg)
            log(f"mlp batch {batch} threads {threads}: {ours['samples_per_s']:.0f} vs "
                f"{peer['samples_per_s']:.0f} samples/s, step/sgemm {gr:.2f}")


def fisher_rows(t, b, quick):
    n = 10000
    lavg = load()
    c = run_kv([f"{b}/bench/fisher", str(n), "1", "2"])
    sub = 50 if quick else 200
    p = run_kv([PY, f"{HERE}/fisher_torch.py", str(n if not quick else 2000), "1", "1",
                str(sub)], cwd=HERE)
    if quick:  # the per-sample loop is linear in the samples
        p["empirical_s"] *= n / 2000
    c2 = run_kv([f"{b}/bench/fisher", str(n), "1", "2"])
    for k in ("empirical_s", "expected_s"):
        c[k] = min(c[k], c2[k])
    r = p["empirical_s"] / c["empirical_s"]
    t.add(f"EWC Fisher, empirical (true labels), {n:,} samples", 1, fmt(c["empirical_s"], "s"),
          fmt(p["empirical_s"], "s"), "PyTorch per-sample loop", ratio(r), ">= 20x", r >= 20,
          lavg)
    r = p["expected_s"] / c["expected_s"]
    t.add(f"EWC Fisher, expected (all classes, EWC's default), {n:,} samples", 1,
          fmt(c["expected_s"], "s"), fmt(p["expected_s"], "s") + f" (timed on {sub}, scaled)",
          "PyTorch per-sample loop", ratio(r), "-", None, lavg)
    log(f"fisher: {c['empirical_s']:.2f} s vs {p['empirical_s']:.1f} s")


def knn_rows(t, b, quick):
    for keys in (10000, 100000):
        for threads in (1, 2):
            lavg = load()
            batches = "10" if keys == 100000 else "40"
            c = run_kv([f"{b}/bench/knn_faiss", str(keys), str(threads), batches,
                        "3" if quick else "5"])
            r = c["clbench_qps"] / c["faiss_qps"]
            equal = f"equal: {int(c['same'])} of {int(c['same'] + c['tied'] + c['differ'])}"
            if c["tied"]:
                equal += f", {int(c['tied'])} swapped ties"
            t.add(f"retrieval: K=32 nearest of {keys:,} keys (128-d), batches of 128 queries; "
                  f"results {equal}", threads, fmt(c["clbench_qps"], "queries/s"),
                  fmt(c["faiss_qps"], "queries/s"), "FAISS IndexFlatL2 (same data, BLAS)",
                  ratio(r), ">= 0.8x", r >= 0.8 and c["differ"] == 0, lavg)
            log(f"knn {keys} threads {threads}: {c['clbench_qps']:.0f} vs {c['faiss_qps']:.0f}")


def episodic_rows(t, b, quick):
    n, sub = 10000, 100 if quick else EPISODIC_PEER_QUERIES
    lavg = load()
    with tempfile.TemporaryDirectory() as tmp:
        w = os.path.join(tmp, "net.f32")
        c = run_kv([f"{b}/bench/episodic", str(n), "1", "3", w, str(sub)])
        p = run_kv([PY, f"{HERE}/episodic_torch.py", w, str(sub), "1"], cwd=HERE)
        c2 = run_kv([f"{b}/bench/episodic", str(n), "1", "3", w, str(sub)])
    qps = max(c["queries_per_s"], c2["queries_per_s"])
    r = qps / p["queries_per_s"]
    t.add(f"episodic inference: {n:,} test images, retrieval K=32 of 10,000 + local adaptation "
          f"L=30 (accuracy on the first {sub}: clbench {c['accuracy_sub']:.3f}, PyTorch "
          f"{p['accuracy']:.3f})", 1, fmt(qps, "queries/s"),
          fmt(p["queries_per_s"], "queries/s") + f" (timed on {sub})",
          "PyTorch per-query loop", ratio(r), ">= 20x", r >= 20, lavg)
    log(f"episodic: {qps:.0f} vs {p['queries_per_s']:.1f} queries/s")


def e2e_run(b, s, steps, batch, threads, out):
    """One strategy end to end on both sides: for clbench, then PyTorch, a
    dict of wall (s), rss (peak bytes), acc (final) and, for clbench, held
    (the strategy's ledger, MiB)."""
    tpc, samples = E2E_TEST_PER_CLASS, E2E_FISHER_SAMPLES
    res, cw, crss = timed([f"{b}/clbench", "--suite", "split-fmnist", "--scenario", "class",
                           "--strategy", s, "--seed", "0", "--set", f"train.steps={steps}",
                           "--set", f"train.batch_size={batch}", "--set", "train.eval_every=0",
                           "--set", f"suite.test_per_class={tpc}", "--set",
                           f"ewc.samples={samples}", "--threads", str(threads), "--out", out,
                           "--quiet", "--force", "--format", "json"])
    res = json.loads(res)
    out, pw, prss = timed([PY, f"{HERE}/e2e_torch.py", s, str(steps), str(batch), str(tpc),
                           str(samples), str(threads)], cwd=HERE)
    pacc = float(dict(line.split(" ", 1) for line in out.splitlines())["acc"])
    return ({"wall": cw, "rss": crss, "acc": res["metrics"]["acc"],
             "held": res["ledger"]["extra_bytes"] / 2**20},
            {"wall": pw, "rss": prss, "acc": pacc})


def e2e_best(b, s, steps, batch, threads, out, rounds):
    """e2e_run `rounds` times, interleaved: each side's best wall time and
    largest peak RSS."""
    best = None
    for _ in range(rounds):
        sides = e2e_run(b, s, steps, batch, threads, out)
        best = sides if best is None else tuple(
            dict(new, wall=min(old["wall"], new["wall"]), rss=max(old["rss"], new["rss"]))
            for old, new in zip(best, sides))
    return best


def e2e_rows(t, b, quick, steps, batch, rounds):
    """The single-thread comparison keeps the best of `rounds` (PyTorch's
    time moves by 10% from run to run); the 2-thread one runs once."""
    steps = 50 if quick else steps
    tpc, samples = E2E_TEST_PER_CLASS, E2E_FISHER_SAMPLES
    # The suite as floats, which is how the PyTorch script holds it; clbench
    # holds split-fmnist's images as bytes.
    data = (60000 + 10 * tpc) * (784 * 4 + 4)
    budget = data + 64 * 2**20
    mib = 2**20
    peer = "PyTorch script, DataLoader"
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (1, 2):
            wall, rss = [0.0, 0.0], [0, 0]
            for s in STRATEGIES:
                lavg = load()
                c, p = e2e_best(b, s, steps, batch, threads, tmp, rounds if threads == 1 else 1)
                log(f"e2e {s}, {threads} thread(s): {c['wall']:.1f} s {c['rss'] / mib:.0f} MiB "
                    f"vs {p['wall']:.1f} s {p['rss'] / mib:.0f} MiB")
                wall = [wall[0] + c["wall"], wall[1] + p["wall"]]
                rss = [max(rss[0], c["rss"]), max(rss[1], p["rss"])]
                if threads != 1:
                    continue
                held = (f"; strategy memory per its ledger {c['held']:.0f} MiB"
                        if c["held"] >= 1 else "")
                t.add(f"end to end, {s}: wall time, peak RSS (final acc: clbench "
                      f"{c['acc']:.3f}, PyTorch {p['acc']:.3f}{held})", 1,
                      f"{c['wall']:.1f} s, {c['rss'] / mib:.0f} MiB",
                      f"{p['wall']:.1f} s, {p['rss'] / mib:.0f} MiB", peer,
                      ratio(p["wall"] / c["wall"]), "-", None, lavg)
            r, lavg = wall[1] / wall[0], load()
            t.add("end to end, all six strategies: sum of wall times", threads,
                  f"{wall[0]:.1f} s", f"{wall[1]:.1f} s", peer, ratio(r), ">= 5x", r >= 5, lavg)
            if threads == 1:
                t.add("end to end, all six strategies: largest peak RSS", 1,
                      f"{rss[0] / mib:.0f} MiB", f"{rss[1] / mib:.0f} MiB", peer,
                      f"{rss[1] / rss[0]:.1f}x less",
                      f"<= {budget / mib:.0f} MiB (dataset + 64)", rss[0] <= budget, lavg)
    return (f"End to end: split-fmnist, class scenario, seed 0, {steps} steps of batch {batch} per "
            f"task, Adam reset per task, evaluation at task ends only (R on {tpc} test images "
            f"per class, anytime point on 1000 per task), EWC Fisher on {samples} samples, "
            f"other strategy settings at clbench's defaults, both sides at the row's thread "
            f"count, best of {rounds} interleaved runs at 1 thread, one at 2; the dataset is "
            f"{data / mib:.0f} MiB as floats (as the PyTorch script holds it; clbench keeps its "
            f"images as bytes, {60000 + 10 * tpc} x 788 bytes = "
            f"{(60000 + 10 * tpc) * 788 / mib:.0f} MiB).")


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 2**20
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def versions():
    torch = subprocess.run([PY, "-c", "import torch; print(torch.__version__)"], env=ENV,
                           stdout=subprocess.PIPE, text=True).stdout.strip()
    dpkg = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n",
                           "libopenblas0-pthread", "libfaiss-dev", "python3-torch"],
                          stdout=subprocess.PIPE, text=True).stdout.split("\n")
    return f"PyTorch {torch}; " + "; ".join(x for x in dpkg if x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rows", default="mlp,fisher,knn,episodic,e2e")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, smaller peer work")
    ap.add_argument("--e2e-steps", type=int, default=E2E_STEPS, help="steps per task")
    ap.add_argument("--e2e-batch", type=int, default=E2E_BATCH)
    a = ap.parse_args()
    b = os.path.abspath(a.build)
    rows = a.rows.split(",")
    t, notes, t0, l0 = Table(), [], time.time(), load()
    if "mlp" in rows:
        mlp_rows(t, b, 1 if a.quick else a.rounds)
    if "fisher" in rows:
        fisher_rows(t, b, a.quick)
    if "knn" in rows:
        knn_rows(t, b, a.quick)
    if "episodic" in rows:
        episodic_rows(t, b, a.quick)
    if "e2e" in rows:
        notes.append(e2e_rows(t, b, a.quick, a.e2e_steps, a.e2e_batch, 1 if a.quick else 2))
    took = time.time() - t0
    t.print(f"clbench `make bench` on {machine()}; {versions()}. Load average (1 min) at "
            f"the start {l0:.1f}, at the end {load():.1f}; {took / 60:.1f} minutes.")
    print()
    print("Ratios are clbench's speed over the peer's (higher is better), except the GFLOP/s "
          "rows (step rate over the rate of its own sgemm calls alone). Throughput rows: best "
          f"of {1 if a.quick else a.rounds} interleaved rounds; a per-loop peer timed on a "
          "subset is scaled linearly. " + " ".join(notes))


if __name__ == "__main__":
    main()
