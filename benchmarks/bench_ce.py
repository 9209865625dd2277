"""Cross-entropy forward + backward at scale: losskit's fused NumPy path vs PyTorch vs naive NumPy.

Default problem: B=128 rows, C=50,000 classes, float32 (one logits array is
25.6 MB). In one run, side by side:

- ``losskit``: ``CrossEntropyLoss().value_and_grad(x, t)`` on NumPy (fused,
  row-chunked, threaded; the gradient is its only (B, C) allocation);
- ``losskit forward``: ``CrossEntropyLoss()(x, t)``, the streaming forward alone;
- ``torch``: ``F.cross_entropy`` + ``backward`` on the CPU, when torch is
  importable, with ``torch.set_num_threads`` set to losskit's thread count;
- ``naive``: exp, normalise, log, one-hot subtract, each a new (B, C) array;
- ``one copy of the logits``: ``x.copy()``, the time floor's unit: CE's value and
  gradient need at least one read of the logits and one write of the gradient;
- ``exp of the logits``: ``numpy.exp(x)`` on one thread, the other floor: the
  gradient needs ``exp`` of every logit (losskit's kernel splits it over threads).

Reports the median wall time over repeats after warm-up, the ratios to PyTorch
(goal <= 1.0x) and to one copy of the logits (goal <= 2.0x), and the peak memory
allocated during one call beyond its inputs, measured with tracemalloc (NumPy
reports its allocations to it; torch's are invisible to it, so its column is
empty), as a multiple of the logits' bytes (goal <= 1.1x for losskit, whose
gradient alone is 1.0x). A benchmark, not a test: run
``python benchmarks/bench_ce.py`` or ``losskit bench``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import tracemalloc

import numpy as np

from losskit import CrossEntropyLoss
from losskit.losses import _ce_numpy


def naive_value_and_grad(x, t):
    """The textbook way: every step a new (B, C) array (exp, normalise, log, one-hot, subtract)."""
    n = x.shape[0]
    rows = np.arange(n)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    logp = np.log(p)
    value = -logp[rows, t].mean()
    onehot = np.zeros_like(x)
    onehot[rows, t] = 1.0
    grad = (p - onehot) / n
    return value, grad


def _time_interleaved(fns, repeats, warmup):
    """Seconds per call for each of ``fns``, run round-robin so load spikes hit all alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return times


def _peak_extra_bytes(fn):
    """Peak bytes allocated (and traced) during ``fn()``, above what was live before it."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del out
    return peak


def _torch_runner(x, t, threads):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None, "torch not importable: PyTorch column skipped"
    torch.set_num_threads(threads)
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)

    def run():
        leaf = xt.detach().requires_grad_(True)
        loss = F.cross_entropy(leaf, tt)
        loss.backward()
        return loss, leaf.grad

    return run, f"torch {torch.__version__}, torch.set_num_threads({threads})"


def run(batch=128, classes=50_000, dtype="float32", repeats=30, warmup=5, threads=None, seed=0):
    """Time and measure every method; return a list of result dicts (also printed by main)."""
    if threads is not None:
        _ce_numpy.set_num_threads(threads)
    threads = _ce_numpy.get_num_threads()
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((batch, classes)) * 2).astype(dtype)
    t = rng.integers(0, classes, batch)
    loss = CrossEntropyLoss()
    torch_fn, torch_note = _torch_runner(x, t, threads)

    # the same numbers from every method before timing anything
    v_lk, g_lk = loss.value_and_grad(x, t)
    v_nv, g_nv = naive_value_and_grad(x, t)
    np.testing.assert_allclose(v_lk, v_nv, rtol=1e-5)
    np.testing.assert_allclose(g_lk, g_nv, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(loss(x, t), v_lk, rtol=1e-5)
    if torch_fn is not None:
        v_t, g_t = torch_fn()
        np.testing.assert_allclose(v_lk, v_t.item(), rtol=1e-5)
        np.testing.assert_allclose(g_lk, g_t.numpy(), rtol=1e-4, atol=1e-9)

    methods = [
        ("losskit value_and_grad", lambda: loss.value_and_grad(x, t), True),
        ("losskit forward only", lambda: loss(x, t), True),
        ("naive NumPy", lambda: naive_value_and_grad(x, t), True),
        ("one copy of the logits", x.copy, True),
        ("exp of the logits (1 thread)", lambda: np.exp(x), True),
    ]
    if torch_fn is not None:
        methods.append(("torch cross_entropy+backward", torch_fn, False))
    times = _time_interleaved([fn for _, fn, _ in methods], repeats, warmup)
    results = []
    for (name, fn, traced), ts in zip(methods, times, strict=True):
        results.append(
            {
                "method": name,
                "median_ms": 1e3 * statistics.median(ts),
                "min_ms": 1e3 * min(ts),
                "peak_bytes": _peak_extra_bytes(fn) if traced else None,
            }
        )
    ref = next((r for r in results if r["method"].startswith("torch")), None)
    copy = next(r for r in results if r["method"] == "one copy of the logits")
    for r in results:
        r["vs_torch"] = None if ref is None else r["median_ms"] / ref["median_ms"]
        r["min_vs_torch"] = None if ref is None else r["min_ms"] / ref["min_ms"]
        r["vs_copy"] = r["median_ms"] / copy["median_ms"]
        r["x_logits"] = None if r["peak_bytes"] is None else r["peak_bytes"] / x.nbytes
    info = {
        "shape": (batch, classes),
        "dtype": dtype,
        "logits_bytes": x.nbytes,
        "threads": threads,
        "torch": torch_note,
        "repeats": repeats,
        "warmup": warmup,
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "cpus": os.cpu_count(),
    }
    return info, results


def format_table(info, results) -> str:
    b, c = info["shape"]
    lines = [
        f"cross-entropy forward+backward, B={b}, C={c:,}, {info['dtype']}, "
        f"logits {info['logits_bytes'] / 2**20:.2f} MiB; losskit threads={info['threads']}; "
        f"{info['torch']}",
        f"{info['repeats']} interleaved runs after {info['warmup']} warm-up; "
        f"{info['cpus']} CPUs, 1-min load average {info['load']:.2f} before the run"
        if info["load"] is not None
        else f"{info['repeats']} interleaved runs after {info['warmup']} warm-up",
        "memory = peak tracemalloc bytes allocated during one call beyond its inputs",
        "",
        f"{'method':<30} {'median ms':>10} {'vs torch':>9} {'vs copy':>8} {'min ms':>8} "
        f"{'vs torch':>9} {'peak MiB':>9} {'x logits':>9}",
    ]

    def ratio(v):
        return "" if v is None else f"{v:.2f}x"

    for r in results:
        mib = "" if r["peak_bytes"] is None else f"{r['peak_bytes'] / 2**20:.2f}"
        lines.append(
            f"{r['method']:<30} {r['median_ms']:>10.2f} {ratio(r['vs_torch']):>9} "
            f"{ratio(r['vs_copy']):>8} {r['min_ms']:>8.2f} {ratio(r['min_vs_torch']):>9} {mib:>9} "
            f"{ratio(r['x_logits']):>9}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    """Entry point: ``python benchmarks/bench_ce.py [options]``, or ``losskit bench ce``.

    ``argv`` None means the defaults (``losskit bench`` calls ``main()`` with its
    own command line in ``sys.argv``, which is not ours to parse).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--classes", type=int, default=50_000)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="losskit and torch threads")
    args = parser.parse_args([] if argv is None else argv)
    info, results = run(
        args.batch, args.classes, args.dtype, args.repeats, args.warmup, args.threads
    )
    print(format_table(info, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
