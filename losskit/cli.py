"""``losskit`` on the command line: slide figures, an environment report, benchmarks.

- ``losskit figures --out DIR [--backend NAME] [--dpi N] [--only NAME ...]`` runs each
  lesson's experiment with its lesson defaults and writes its figure as PNG
  (headless: figures are drawn on an Agg canvas, no display needed);
- ``losskit lessons`` lists the lessons (:mod:`losskit.lessons`): notebook, panel, figures;
- ``losskit info`` prints versions, the usable backends (and why the others are
  not), and the GPU, if any;
- ``losskit bench [NAME ...]`` runs ``main()`` of the ``benchmarks/bench_*.py``
  modules of the repository checkout this package was installed from (editable
  installs; a wheel has no benchmarks).

``losskit --version`` prints the installed version; ``losskit figures --help`` and
``losskit bench --help`` list the figure and benchmark names.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

__all__ = ["main"]


def _figures(args) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    from .backend import UNUSABLE_FIX, get_backend
    from .lessons import FIGURES

    try:
        backend = get_backend(args.backend).name
    except (ValueError, TypeError) as exc:
        fix = "Pass one of them with --backend, e.g. --backend numpy."
        print(f"losskit figures: {str(exc).replace(UNUSABLE_FIX, fix)}", file=sys.stderr)
        return 2
    specs = FIGURES
    if args.only:
        known = {s.name for s in specs}
        unknown = sorted(set(args.only) - known)
        if unknown:
            print(
                f"losskit figures: unknown figure(s) {unknown}; choose from {sorted(known)}.",
                file=sys.stderr,
            )
            return 2
        specs = [s for s in specs if s.name in args.only]
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, no permission, a read-only place
        print(
            f"losskit figures: cannot use {str(out)!r} as the output folder ({exc.strerror}); "
            f"pass --out a folder you can write to.",
            file=sys.stderr,
        )
        return 2
    print(f"rendering {len(specs)} figure(s) on backend {backend!r} into {out}/")
    failed = 0
    for spec in specs:
        start = time.perf_counter()
        try:
            fig = spec.plot(spec.experiment(backend=backend))
            path = out / f"{spec.name}.png"
            fig.savefig(path, dpi=args.dpi)
        except Exception as exc:  # report every figure, then fail at the end
            failed += 1
            print(f"  FAILED {spec.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        took = time.perf_counter() - start
        print(f"  {path}  (lesson {spec.lesson.number}: {spec.lesson.title}; {took:.1f} s)")
    return 1 if failed else 0


def _version(*distributions: str) -> str:
    """The installed version of the first of ``distributions`` found, read from package
    metadata: importing the package would have side effects (ipympl's import can switch
    matplotlib's backend), and a report must change nothing."""
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def _gpu_lines() -> list[str]:
    try:
        import cupy
    except Exception:
        return ["GPU: none usable (CuPy not importable)"]
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return [f"GPU: none usable ({type(exc).__name__}: {exc})"]
    lines = []
    for i in range(count):
        props = cupy.cuda.runtime.getDeviceProperties(i)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        gib = props["totalGlobalMem"] / 2**30
        lines.append(
            f"GPU {i}: {name}, {gib:.1f} GiB, compute capability {props['major']}.{props['minor']}"
        )
    try:
        lines.append(f"CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}")
    except Exception:
        pass
    return lines or ["GPU: none"]


def _info(args) -> int:
    import losskit

    from .backend import ADAPTERS, available_backends, get_backend, probe

    print(f"losskit {losskit.__version__} ({Path(losskit.__file__).parent})")
    print(f"Python {platform.python_version()} on {platform.platform()}")
    for label, *dists in (
        ("numpy", "numpy"),
        ("array_api_compat", "array-api-compat"),
        ("matplotlib", "matplotlib"),
        ("ipywidgets", "ipywidgets"),
        ("ipympl", "ipympl"),
        ("array_api_strict", "array-api-strict"),
        ("cupy", "cupy-cuda12x", "cupy-cuda11x", "cupy"),
        ("torch", "torch"),
        ("jax", "jax"),
    ):
        print(f"  {label:<17} {_version(*dists)}")
    print(f"backends available: {', '.join(available_backends())}")
    for name in ADAPTERS:
        ok, why = probe(name)
        print(f"  {name:<17} {'yes' if ok else 'no: ' + why}")
    env = os.environ.get("LOSSKIT_BACKEND")
    if not env:
        print("LOSSKIT_BACKEND is not set ('auto' picks)")
    else:
        try:
            picked = f"'auto' picks {get_backend('auto').name}"
        except (ValueError, TypeError) as exc:
            picked = f"unusable: {exc}"
        print(f"LOSSKIT_BACKEND={env!r}: {picked}")
    for line in _gpu_lines():
        print(line)
    return 0


SKIPPED = 77  # a benchmark's main() returns this when it can't apply here (no GPU)


def benchmarks_dir() -> Path:
    """Where the repository's ``benchmarks/`` folder is, relative to this package."""
    import losskit

    return Path(losskit.__file__).resolve().parents[1] / "benchmarks"


def _bench(args) -> int:
    folder = benchmarks_dir()
    if not folder.is_dir():
        print(
            f"losskit bench: no benchmarks folder at {folder}. Benchmarks ship with the "
            f"repository, not the wheel: run from a checkout installed with "
            f"`pip install -e .` (then `make bench`).",
            file=sys.stderr,
        )
        return 2
    found = {p.stem.removeprefix("bench_"): p for p in sorted(folder.glob("bench_*.py"))}
    wanted = [n.removeprefix("bench_").removesuffix(".py") for n in args.names] or list(found)
    unknown = [n for n in wanted if n not in found]
    if unknown:
        print(
            f"losskit bench: unknown benchmark(s) {unknown}; available: {sorted(found)}.",
            file=sys.stderr,
        )
        return 2
    status = 0
    for name in wanted:
        print(f"=== bench_{name} ===", flush=True)
        spec = importlib.util.spec_from_file_location(f"losskit_bench_{name}", found[name])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not hasattr(module, "main"):
            print(f"  {found[name]} has no main(); skipped", file=sys.stderr)
            status = 1
            continue
        argv, sys.argv = sys.argv, [str(found[name])]  # a main() that parses argv sees none
        try:
            code = module.main()
        finally:
            sys.argv = argv
        code = code if isinstance(code, int) else 0
        if code == SKIPPED and not args.names:  # e.g. the GPU benchmark on a CPU machine
            print(f"  bench_{name}: not applicable here (skipped)", flush=True)
            code = 0
        status = status or code
    return status


def _figures_listing() -> str:
    os.environ.setdefault("MPLBACKEND", "Agg")  # as `figures` does: headless
    from .lessons import FIGURES

    width = max(len(s.name) for s in FIGURES)
    lines = [f"  {s.name:<{width}}  lesson {s.lesson.number}: {s.lesson.title}" for s in FIGURES]
    return "figure names (for --only):\n" + "\n".join(lines)


def _lessons(args) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    from .lessons import LESSONS, TOUR

    print(f"notebooks/{TOUR}.ipynb: a tour of the API")
    for lesson in LESSONS:
        print(f"lesson {lesson.number} ({lesson.slug}): {lesson.title}")
        print(f"    notebook notebooks/{lesson.notebook}.ipynb, panel {lesson.panel.__name__}")
        for f in lesson.figures:
            print(f"    figure {f.name}: {f.plot.__name__}({f.experiment.__name__}())")
    return 0


def _bench_listing() -> str:
    folder = benchmarks_dir()
    names = sorted(p.stem.removeprefix("bench_") for p in folder.glob("bench_*.py"))
    if not names:
        return f"no benchmarks found at {folder} (they ship with the repository, not the wheel)"
    return f"available benchmarks: {', '.join(names)}"


class _HelpWithListing(argparse.Action):
    """``-h``/``--help`` that appends ``listing()``, made only when help is asked for
    (the figure names live in losskit.plots: importing it imports matplotlib)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, *, listing, **kwargs):
        kwargs.setdefault("help", "show this help message and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)
        self.listing = listing

    def __call__(self, parser, namespace, values, option_string=None):
        parser.epilog = self.listing()
        parser.print_help()
        parser.exit()


def _positive_int(text: str) -> int:
    """argparse type: an int >= 1 (argparse turns the ValueError into a usage error)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_positive_int.__name__ = "positive int"  # what argparse names in "invalid positive int value"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="losskit", description="losskit: losses, reductions and mini-batches, taught live."
    )
    parser.add_argument("--version", action="version", version=f"losskit {_version('losskit')}")
    sub = parser.add_subparsers(dest="command", required=True)
    listed = {"add_help": False, "formatter_class": argparse.RawDescriptionHelpFormatter}
    fig = sub.add_parser("figures", help="render every lesson's figure to PNG (headless)", **listed)
    fig.add_argument("-h", "--help", action=_HelpWithListing, listing=_figures_listing)
    fig.add_argument("--out", required=True, help="folder for the PNG files (created)")
    fig.add_argument(
        "--backend", default="auto", help="numpy, cupy, torch, jax, array_api_strict or auto"
    )
    fig.add_argument("--dpi", type=_positive_int, default=150, help="resolution (default 150)")
    fig.add_argument(
        "--only", nargs="+", metavar="NAME", help="render only these figures (names below)"
    )
    fig.set_defaults(func=_figures)
    lessons = sub.add_parser("lessons", help="the lessons: notebook, panel and figures of each")
    lessons.set_defaults(func=_lessons)
    info = sub.add_parser("info", help="versions, available backends and the GPU")
    info.set_defaults(func=_info)
    bench = sub.add_parser("bench", help="run the benchmarks of the repository checkout", **listed)
    bench.add_argument("-h", "--help", action=_HelpWithListing, listing=_bench_listing)
    bench.add_argument("names", nargs="*", help="benchmarks to run (default: all), e.g. panels")
    bench.set_defaults(func=_bench)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``losskit`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
