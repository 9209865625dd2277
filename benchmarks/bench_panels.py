"""Panel latency: one control change to a redrawn figure, per lesson panel, NumPy backend.

For every class in ``losskit.lessons.PANELS`` this builds the panel headless
(Agg canvas, inline mode: the figure is rendered to the PNG the notebook shows),
then times ``N`` random control changes drawn as a student would make them
(``losskit.widgets.random_value``; the backend dropdown is left on NumPy).
Each timing runs from setting ``control.value`` to the end of the panel's
refresh: experiment, artist update, full Agg draw and PNG encode.

Goal (issue 14, "live while dragging"): median under 50 ms and 95th percentile
under 150 ms per panel. The verdict uses the changes that redrew the figure;
changes the experiment rejects (a batch larger than the data: a message, no
redraw, about 1 ms) are counted separately, and the "all" columns include them.
The "compute" columns are the experiment's share of the redraws (the rest is
moving the result into the artists, the Agg draw and the PNG encode), to tell
which part a panel that misses the goal has to win back.

Run: ``losskit bench panels`` or ``python benchmarks/bench_panels.py [--n 60] [PANEL ...]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

GOAL_MEDIAN_MS = 50.0
GOAL_P95_MS = 150.0


def time_panel(cls, n: int, seed: int = 0):
    """Latencies (ms) of ``n`` random control changes, the experiment's share of each
    (ms), and a mask of the changes that were rejected."""
    from losskit.widgets import random_value

    panel = cls(backend="numpy", mode="inline", debounce=0)
    rng = np.random.default_rng(seed)
    names = [k for k in panel.controls if k != "backend"]
    times, rejected, computing, compute_ms = [], [], [], []
    compute = panel.compute

    def timed_compute(*args, **kwargs):
        start = time.perf_counter()
        try:
            return compute(*args, **kwargs)
        finally:
            computing.append((time.perf_counter() - start) * 1e3)

    panel.compute = timed_compute
    for _ in range(n):
        control = panel.controls[names[int(rng.integers(len(names)))]]
        value = random_value(control, rng)
        if value == control.value:
            continue  # no change event: nothing to time
        computing.clear()
        start = time.perf_counter()
        control.value = value
        times.append((time.perf_counter() - start) * 1e3)
        rejected.append(not panel.updated)
        compute_ms.append(sum(computing))
    panel.close()
    return np.asarray(times), np.asarray(compute_ms), np.asarray(rejected, dtype=bool)


def main(argv=()) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    from losskit.lessons import PANELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="control changes per panel")
    parser.add_argument("panels", nargs="*", help="panel names (default: all)")
    args = parser.parse_args(argv)
    names = args.panels or list(PANELS)
    print(
        f"{'panel':<20}{'redraws':>8}{'median ms':>10}{'p95 ms':>8}{'max ms':>8}"
        f"{'compute: median':>16}{'p95':>7}{'rejected':>9}{'all: median':>12}{'p95':>7}"
        f"  verdict (redraws; goal < {GOAL_MEDIAN_MS:.0f} / < {GOAL_P95_MS:.0f} ms)"
    )
    ok_all = True
    for name in names:
        times, compute_ms, rejected = time_panel(PANELS[name], args.n)
        drawn, computed = times[~rejected], compute_ms[~rejected]
        med, p95 = float(np.median(drawn)), float(np.percentile(drawn, 95))
        ok = med < GOAL_MEDIAN_MS and p95 < GOAL_P95_MS
        ok_all &= ok
        print(
            f"{name:<20}{drawn.size:>8}{med:>10.1f}{p95:>8.1f}{drawn.max():>8.1f}"
            f"{np.median(computed):>16.1f}{np.percentile(computed, 95):>7.1f}"
            f"{int(rejected.sum()):>9}{np.median(times):>12.1f}{np.percentile(times, 95):>7.1f}"
            f"  {'meets goal' if ok else 'MISSES goal'}"
        )
    print(
        f"goal: median < {GOAL_MEDIAN_MS:.0f} ms and p95 < {GOAL_P95_MS:.0f} ms per panel: "
        f"{'all met' if ok_all else 'NOT all met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(None))
