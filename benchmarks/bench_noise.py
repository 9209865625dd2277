"""Benchmark: ``experiments.gradient_noise()`` at its defaults against the naive loop it replaces.

    python benchmarks/bench_noise.py [--repeats 7] [--backend numpy]

Goal: the default call (N = 1000 samples, d = 10, 13 batch sizes, 2000 draws
per size, with and without replacement) runs in under 0.3 s on a laptop CPU,
so a widget can call it on every slider move.

Reference measured in the same run: the obvious implementation, a Python loop
that for every batch size and every draw picks a batch with
``numpy.random.Generator.choice(N, B, replace=False)`` (and ``replace=True``)
and averages the per-sample gradients of that batch. It is timed on a fraction
of the draws and scaled up (it is linear in the number of draws), and its
variances are printed next to the experiment's as a cross-check. Prints median
wall times (and the process's CPU time with the load average: on a shared
machine other work inflates wall time, not CPU time), the ratio and whether the
goal is met; exit status 0 either way (timings are reported, never asserted).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from losskit.experiments import gradient_noise
from losskit.experiments.gradient_noise import default_batch_sizes, regression_data

GOAL_S = 0.3


def _median_time(fn, repeats):
    """Median wall time, all wall times, and median CPU time of this process (s)."""
    fn()  # warm-up: imports, BLAS threads, allocator
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(times), times, statistics.median(cpu)


def naive_gradient_noise(n_draws, *, n_samples=1000, n_features=10, noise=0.5, seed=0):
    """Per-draw loop: ``rng.choice`` a batch, recompute its mean gradient, accumulate the error."""
    X, y, _ = regression_data(n_samples, n_features, noise, seed)
    rng = np.random.default_rng(seed + 1)
    w = np.zeros(n_features)
    full = (2 * (X @ w - y)[:, None] * X).mean(axis=0)
    sizes = default_batch_sizes(n_samples)
    out = {}
    for replace in (False, True):
        variances = []
        for b in sizes.tolist():
            total = 0.0
            for _ in range(n_draws):
                idx = rng.choice(n_samples, b, replace=replace)
                Xb, yb = X[idx], y[idx]
                g = (2 * (Xb @ w - yb)[:, None] * Xb).mean(axis=0)
                total += float(np.sum((g - full) ** 2))
            variances.append(total / n_draws)
        out[replace] = np.array(variances)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument(
        "--naive-fraction",
        type=float,
        default=0.05,
        help="share of the draws the naive loop runs (its time is scaled up linearly)",
    )
    args = parser.parse_args(argv)

    result = gradient_noise(backend=args.backend)
    fast, times, fast_cpu = _median_time(lambda: gradient_noise(backend=args.backend), args.repeats)
    draws = result.n_draws
    naive_draws = max(2, round(draws * args.naive_fraction))
    t = time.perf_counter()
    naive = naive_gradient_noise(naive_draws)
    naive_s = (time.perf_counter() - t) * draws / naive_draws

    print(
        f"gradient_noise() defaults on {result.backend}: N={result.n_samples}, "
        f"d={result.n_features}, {result.batch_sizes.size} batch sizes x {draws} draws, "
        f"with and without replacement"
    )
    print(
        f"  losskit (vectorized): median {fast * 1e3:7.1f} ms over {args.repeats} "
        f"(min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f}); "
        f"CPU time {fast_cpu * 1e3:.1f} ms"
    )
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        print(
            f"  load average {load:.1f} on {os.cpu_count()} cores "
            f"(others' work inflates wall times)"
        )
    print(
        f"  naive loop (rng.choice per draw): {naive_s * 1e3:9.1f} ms "
        f"(timed on {naive_draws} draws per size, scaled x{draws / naive_draws:g})"
    )
    print(f"  speed-up: {naive_s / fast:.0f}x")
    verdict = "met" if fast < GOAL_S else "MISSED"
    print(f"  goal < {GOAL_S} s: {verdict}")
    print("  B      theory     measured   naive(w/o)   | with repl.: theory  measured  naive")
    for j, b in enumerate(result.batch_sizes.tolist()):
        print(
            f"  {b:<5d} {result.theory_variance[j]:10.3f} {result.measured_variance[j]:10.3f} "
            f"{naive[False][j]:10.3f}   | {result.with_replacement_variance[j]:10.3f} "
            f"{result.with_replacement_measured[j]:10.3f} {naive[True][j]:10.3f}"
        )
    print(f"  noise scale B_simple = {result.noise_scale:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
