"""GPU benchmark: losskit on CuPy against PyTorch on the same GPU, in one command.

    make bench-gpu            # or: python benchmarks/bench_gpu.py [--strict] [--json out.json]

What it measures (GPU times: CUDA events around each call, after warm-up,
median of ``--repeats``):

1. Cross-entropy forward + backward at (4096, 50,000) float32: losskit
   (``CrossEntropyLoss().value_and_grad`` on CuPy) against
   ``torch.nn.functional.cross_entropy`` + ``backward()`` on the same GPU, on
   the same logits (shared through DLPack). Goal: losskit within 1.5x of
   PyTorch's time. Also the agreement of the two results and the device memory
   each call needs beyond its inputs.
2. Effective memory bandwidth of both: the fewest bytes a fused kernel must
   move (read the logits once, write the gradient once) over the time, next to
   the card's measured device-to-device copy bandwidth.
3. ``experiments.batch_size_sweep`` and ``experiments.gradient_noise`` on CuPy
   against NumPy: wall time (their results are host arrays, so the clock stops
   after the device has finished) and the largest difference between results.

Exit status: 0 measured; 1 a section failed (or, with ``--strict``, losskit
missed the 1.5x goal); 77 ("skipped") no usable CUDA GPU here, nothing measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time

GOAL = 1.5  # losskit's CE forward+backward time over PyTorch's, at most
NO_GPU = 77  # "skipped": losskit bench (all) passes over it; asked for by name, it fails


def _cupy_or_reason():
    """(cupy module, "") where losskit's CuPy backend is usable, else (None, why not).

    The backend's own check: CuPy imports, sees a GPU, and compiles a kernel.
    """
    from losskit import get_backend
    from losskit.backend import UNUSABLE_FIX

    try:
        get_backend("cupy")
    except ValueError as exc:
        return None, str(exc).removesuffix(" " + UNUSABLE_FIX)
    import cupy

    return cupy, ""


def _torch_or_reason():
    """(torch module, "") where PyTorch can use the GPU, else (None, why not)."""
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed (pip install torch: the Linux wheel has CUDA)"
    if not torch.cuda.is_available():
        return None, (
            f"PyTorch {torch.__version__} cannot use the GPU (a CPU-only build?); "
            "install a CUDA build: pip install torch"
        )
    return torch, ""


def _time_cupy(cupy, fn, *, warmup: int, repeats: int) -> float:
    """Median seconds of ``fn()`` between two CuPy CUDA events, after warm-up."""
    for _ in range(warmup):
        fn()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(repeats):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, end) / 1e3)
    return statistics.median(times)


def _time_torch(torch, fn, *, warmup: int, repeats: int) -> float:
    """Median seconds of ``fn()`` between two PyTorch CUDA events, after warm-up."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return statistics.median(times)


def _gbps(nbytes: float, seconds: float) -> float:
    return nbytes / seconds / 1e9


def copy_bandwidth(cupy, *, nbytes: int = 1 << 30, warmup: int = 3, repeats: int = 10) -> float:
    """The card's device-to-device copy bandwidth in GB/s (bytes read + written)."""
    src = cupy.ones(nbytes // 4, dtype=cupy.float32)
    dst = cupy.empty_like(src)
    seconds = _time_cupy(cupy, lambda: cupy.copyto(dst, src), warmup=warmup, repeats=repeats)
    return _gbps(2 * nbytes, seconds)  # the 2 GiB go back to CuPy's pool on return


def bench_cross_entropy(cupy, *, batch: int, classes: int, warmup: int, repeats: int) -> dict:
    """losskit CE forward+backward on CuPy against PyTorch's on the same logits."""
    from losskit.losses import CrossEntropyLoss

    out: dict = {"shape": [batch, classes], "dtype": "float32"}
    rng = cupy.random.default_rng(0)
    logits = 3.0 * rng.standard_normal((batch, classes), dtype=cupy.float32)
    target = rng.integers(0, classes, size=batch, dtype=cupy.int64)
    # The fewest bytes any forward+backward must move: read logits, write grad.
    min_bytes = 2 * logits.nbytes + target.nbytes
    out["min_bytes"] = min_bytes

    loss = CrossEntropyLoss()
    pool = cupy.get_default_memory_pool()
    pool.free_all_blocks()
    held = pool.total_bytes()
    value, grad = loss.value_and_grad(logits, target)
    cupy.cuda.Device().synchronize()
    # The pool keeps freed blocks, so its growth bounds the call's peak from above.
    out["losskit_extra_bytes"] = pool.total_bytes() - held
    out["losskit_s"] = _time_cupy(
        cupy, lambda: loss.value_and_grad(logits, target), warmup=warmup, repeats=repeats
    )
    out["losskit_gbps"] = _gbps(min_bytes, out["losskit_s"])

    torch, why = _torch_or_reason()
    if torch is None:
        out["torch_skipped"] = why
        return out
    import torch.nn.functional as F

    x = torch.from_dlpack(logits).requires_grad_(True)  # same memory, same device
    t = torch.from_dlpack(target)

    def torch_step():
        x.grad = None
        F.cross_entropy(x, t).backward()

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    ref = F.cross_entropy(x, t)
    ref.backward()
    torch.cuda.synchronize()
    out["torch_extra_bytes"] = torch.cuda.max_memory_allocated() - base
    ref_grad = cupy.from_dlpack(x.grad.detach())
    out["value_rel_err"] = abs(float(value) - ref.item()) / abs(ref.item())
    out["grad_rel_err"] = float(cupy.max(cupy.abs(grad - ref_grad)) / cupy.max(cupy.abs(ref_grad)))
    del ref, ref_grad, value, grad

    out["torch_s"] = _time_torch(torch, torch_step, warmup=warmup, repeats=repeats)
    out["torch_gbps"] = _gbps(min_bytes, out["torch_s"])
    out["ratio"] = out["losskit_s"] / out["torch_s"]
    out["goal_met"] = out["ratio"] <= GOAL
    out["device"] = torch.cuda.get_device_name(x.device)
    return out


def _max_difference(a, b) -> float:
    """Largest absolute difference between two experiment results' array fields."""
    import numpy as np

    worst = 0.0
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.number):
            continue
        if x.shape != y.shape:
            return float("inf")
        both = np.isfinite(x) & np.isfinite(y)
        if not np.array_equal(both, np.isfinite(x)) or not np.array_equal(both, np.isfinite(y)):
            return float("inf")  # a NaN or inf on one backend only
        if both.any():
            diff = np.abs(x[both].astype(np.float64) - y[both].astype(np.float64))
            worst = max(worst, float(diff.max()))
    return worst


def bench_experiments(names=("batch_size_sweep", "gradient_noise")) -> dict:
    """Each experiment on NumPy and on CuPy: wall seconds (after a warm-up call) and agreement."""
    from losskit import experiments

    out = {}
    for name in names:
        fn = getattr(experiments, name)
        row, results = {}, {}
        for backend in ("numpy", "cupy"):
            fn(backend=backend)  # warm-up: imports, CuPy kernel compilation
            start = time.perf_counter()
            results[backend] = fn(backend=backend)
            row[f"{backend}_s"] = time.perf_counter() - start
        row["speedup"] = row["numpy_s"] / row["cupy_s"]
        row["max_abs_diff"] = _max_difference(results["numpy"], results["cupy"])
        out[name] = row
    return out


def _mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.1f} MiB"


def _report_ce(ce: dict, copy_gbps: float) -> None:
    b, c = ce["shape"]
    print(f"\ncross-entropy forward+backward, ({b}, {c:,}) float32, mean reduction")
    print(f"  minimum traffic (read logits + write grad): {_mib(ce['min_bytes'])}")
    print(f"  device-to-device copy bandwidth: {copy_gbps:8.1f} GB/s")
    rows = [("losskit (CuPy)", "losskit")]
    if "torch_s" in ce:
        rows.append(("PyTorch", "torch"))
    for label, key in rows:
        s, gbps = ce[f"{key}_s"], ce[f"{key}_gbps"]
        print(
            f"  {label:15s} {s * 1e3:8.3f} ms  effective {gbps:8.1f} GB/s "
            f"({gbps / copy_gbps:5.1%} of copy)  extra memory {_mib(ce[f'{key}_extra_bytes'])}"
        )
    if "torch_skipped" in ce:
        print(f"  PyTorch reference skipped: {ce['torch_skipped']}")
        return
    verdict = "meets" if ce["goal_met"] else "MISSES"
    print(f"  losskit / PyTorch = {ce['ratio']:.2f}x ({verdict} the goal of <= {GOAL}x)")
    print(
        f"  agreement with PyTorch: loss rel. err {ce['value_rel_err']:.1e}, "
        f"grad max rel. err {ce['grad_rel_err']:.1e}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--classes", type=int, default=50_000)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--skip-experiments", action="store_true", help="only the CE benchmark")
    parser.add_argument("--strict", action="store_true", help=f"exit 1 if losskit > {GOAL}x torch")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    args = parser.parse_args(argv)

    cupy, why = _cupy_or_reason()
    if cupy is None:
        print(f"no CUDA GPU: nothing to measure ({why}).")
        print("Run this on a GPU node (deploy/README.md, 'Checking a GPU node'): make gpu-check")
        return NO_GPU

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    cuda = cupy.cuda.runtime.runtimeGetVersion()
    print(f"GPU: {name}, CuPy {cupy.__version__}, CUDA runtime {cuda}")

    results: dict = {"gpu": name, "cupy": cupy.__version__}
    failed = []
    try:
        results["copy_gbps"] = copy_bandwidth(cupy)
    except Exception as exc:
        failed.append(f"copy bandwidth: {type(exc).__name__}: {exc}")
        results["copy_gbps"] = float("nan")
    try:
        results["cross_entropy"] = ce = bench_cross_entropy(
            cupy, batch=args.batch, classes=args.classes, warmup=args.warmup, repeats=args.repeats
        )
        _report_ce(ce, results["copy_gbps"])
    except Exception as exc:
        failed.append(f"cross-entropy: {type(exc).__name__}: {exc}")
        ce = {}

    if not args.skip_experiments:
        try:
            results["experiments"] = exps = bench_experiments()
            print(
                "\nexperiments, CuPy vs NumPy (wall time after one warm-up call; each in its "
                "default dtype: float32 on the GPU, float64 on the CPU)"
            )
            for exp, row in exps.items():
                print(
                    f"  {exp:18s} numpy {row['numpy_s']:8.3f} s  cupy {row['cupy_s']:8.3f} s  "
                    f"speedup {row['speedup']:6.2f}x  max |diff| {row['max_abs_diff']:.2e}"
                )
        except Exception as exc:
            failed.append(f"experiments: {type(exc).__name__}: {exc}")

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**results, "failed": failed}, fh, indent=2)
    for msg in failed:
        print(f"FAILED {msg}", file=sys.stderr)
    if failed:
        return 1
    if args.strict and ce.get("goal_met") is False:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
