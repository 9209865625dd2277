"""The lessons' batch-size sweep: losskit's vectorized runs vs the PyTorch loop a user would write.

The sweep: linear regression on N = 1000 noisy samples, batch sizes 1, 4, 16, 64,
256, 16 seeds each, 20 epochs, SGD at lr 0.05, per-update losses recorded.
That is 80 runs and, at B = 1, 20,000 sequential updates per run.

- **losskit**: ``losskit.experiments.batch_size_sweep()`` end to end (data,
  orders, 16 seeds per batch size as one batched loop, result assembly), best
  and median of ``--repeat`` calls, NumPy backend, float64 (its CPU default) and
  float32.
- **PyTorch reference**: per run, ``nn.Linear(1, 1)``, ``nn.MSELoss()``,
  ``optim.SGD``, a ``randperm`` per epoch and a Python loop over batches with
  ``zero_grad / forward / backward / step`` and ``loss.item()`` (the per-update
  losses the sweep plots), float32 (what such a script uses). By default
  ``--torch-seeds 2`` of the 16 seeds are timed per batch size and scaled by
  16/2 (the runs of one batch size cost the same); ``--torch-seeds 16`` times
  all 80 runs.

Goals (issue 3): losskit >= 100x faster than the PyTorch loop, and < 0.5 s for
the whole sweep on a 2-core machine. Timings are wall-clock; a busy machine
slows both sides, so run it on a quiet one and look at the best-of figures.

Run: ``losskit bench sweep`` or ``python benchmarks/bench_sweep.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

BATCH_SIZES = (1, 4, 16, 64, 256)
SEEDS = list(range(16))
EPOCHS = 20
N_SAMPLES = 1000
LR = 0.05
GOAL_RATIO = 100.0
GOAL_SECONDS = 0.5


def time_losskit(repeat: int, dtype: str):
    """Best and median wall-clock seconds of the whole sweep, best CPU seconds, the last result."""
    from losskit.experiments import batch_size_sweep

    kw = {
        "batch_sizes": BATCH_SIZES,
        "seeds": SEEDS,
        "epochs": EPOCHS,
        "n_samples": N_SAMPLES,
        "lr": LR,
        "backend": "numpy",
        "dtype": dtype,
    }
    batch_size_sweep(**{**kw, "epochs": 1})  # warm-up: imports, first allocations
    times, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = batch_size_sweep(**kw)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(times), statistics.median(times), min(cpu), result


def torch_run(torch, X, y, batch_size: int, seed: int) -> tuple[float, float, float]:
    """One run of the usual PyTorch loop; returns (wall s, CPU s, final full-data MSE)."""
    torch.manual_seed(seed)
    model = torch.nn.Linear(X.shape[1], 1)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    criterion = torch.nn.MSELoss()
    losses = []
    n = X.shape[0]
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(EPOCHS):
        perm = torch.randperm(n)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            xb, yb = X[idx], y[idx]
            opt.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    with torch.no_grad():
        final = float(criterion(model(X), y))
    return seconds, cpu, final


def time_torch(torch_seeds: int):
    """Per batch size: (wall estimate for 16 runs, CPU estimate for 16 runs, mean final loss)."""
    import torch

    from losskit.data import make_linear_regression

    X, y = make_linear_regression(N_SAMPLES, 1, noise=0.5, seed=0, backend="numpy")
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y, dtype=np.float32))
    torch_run(torch, Xt, yt, 64, 0)  # warm-up
    rows = []
    for b in BATCH_SIZES:
        out = [torch_run(torch, Xt, yt, b, s) for s in SEEDS[:torch_seeds]]
        scale = len(SEEDS) / torch_seeds
        rows.append(
            (
                scale * sum(o[0] for o in out),
                scale * sum(o[1] for o in out),
                float(np.mean([o[2] for o in out])),
            )
        )
    return rows, torch.get_num_threads(), torch.__version__


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="losskit sweeps timed (best, median)")
    parser.add_argument(
        "--torch-seeds",
        type=int,
        default=2,
        choices=range(1, 17),
        metavar="1..16",
        help="seeds timed per batch size in the PyTorch loop (scaled to 16)",
    )
    args = parser.parse_args([] if argv is None else argv)

    best64, med64, cpu64, res = time_losskit(args.repeat, "float64")
    best32, med32, _, res32 = time_losskit(args.repeat, "float32")
    try:
        rows, threads, version = time_torch(args.torch_seeds)
    except ImportError:
        print("PyTorch is not installed: only losskit's figures are shown.")
        print(f"losskit sweep float64: best {best64:.3f} s, median {med64:.3f} s")
        return 0

    scaled = args.torch_seeds != len(SEEDS)
    note = f"timed {args.torch_seeds}/16 seeds, x{16 / args.torch_seeds:g}" if scaled else "all 16"
    print(
        f"sweep: batch sizes {BATCH_SIZES} x {len(SEEDS)} seeds x {EPOCHS} epochs, "
        f"N={N_SAMPLES}, lr={LR}; PyTorch {version} ({threads} threads), loop per run ({note})"
    )
    print(
        f"{'batch':>6}{'updates/run':>12}{'torch s (16 runs)':>19}{'losskit s':>11}"
        f"{'ratio':>9}{'final MSE torch':>17}{'losskit':>9}"
    )
    for k, b in enumerate(BATCH_SIZES):
        est, _, final_t = rows[k]
        ours = float(res.elapsed[k])
        updates = EPOCHS * -(-N_SAMPLES // b)
        print(
            f"{b:>6}{updates:>12}{est:>19.2f}{ours:>11.4f}{est / ours:>8.0f}x"
            f"{final_t:>17.4f}{res.final_loss[k].mean():>9.4f}"
        )
    torch_total = sum(r[0] for r in rows)
    torch_cpu = sum(r[1] for r in rows)
    print(
        f"{'total':>6}{'':>12}{torch_total:>19.2f}{float(res.elapsed.sum()):>11.4f}"
        f"{torch_total / float(res.elapsed.sum()):>8.0f}x   (training loops only)"
    )
    print()
    print(f"whole experiment call, float64: best {best64:.3f} s, median {med64:.3f} s")
    print(f"whole experiment call, float32: best {best32:.3f} s, median {med32:.3f} s")
    ratio = torch_total / best64
    ok_ratio = ratio >= GOAL_RATIO
    ok_time = best64 < GOAL_SECONDS
    print(
        f"PyTorch loop / losskit (whole call, best, float64): {ratio:.0f}x "
        f"(goal >= {GOAL_RATIO:.0f}x: {'met' if ok_ratio else 'NOT met'}); "
        f"losskit {best64:.3f} s (goal < {GOAL_SECONDS} s: {'met' if ok_time else 'NOT met'})"
    )
    print(
        f"CPU time (robust to a busy machine): PyTorch loop {torch_cpu:.1f} s, losskit "
        f"{cpu64:.3f} s (best): {torch_cpu / cpu64:.0f}x"
    )
    print(
        f"optimal MSE on the data {res.optimal_loss:.4f}; float32 final MSE (B=16) "
        f"{res32.final_loss[2].mean():.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
