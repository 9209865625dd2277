"""The ``losskit`` command: figures to PNG headless, the environment report, benchmarks."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from losskit import cli
from losskit.backend import available_backends
from losskit.lessons import FIGURES

PNG = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[1]


def test_figures_writes_one_png_per_lesson_figure(tmp_path, capsys):
    out = tmp_path / "figs"
    assert cli.main(["figures", "--out", str(out), "--backend", "numpy", "--dpi", "40"]) == 0
    files = sorted(out.glob("*.png"))
    assert [f.stem for f in files] == sorted(s.name for s in FIGURES)
    lessons = {f.stem.split("_")[0] for f in files}
    assert lessons == {f"lesson{k}" for k in (1, 2, 3, 4, 5, 6, 7, 8)}
    for f in files:
        data = f.read_bytes()
        assert data.startswith(PNG) and len(data) > 2000
    assert "rendering 10 figure(s) on backend 'numpy'" in capsys.readouterr().out


def test_figures_only_and_headless_subprocess(tmp_path):
    env = {**os.environ, "MPLBACKEND": "", "DISPLAY": ""}  # no display, no backend chosen
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "losskit.cli",
            "figures",
            "--out",
            str(tmp_path),
            "--backend",
            "numpy",
            "--dpi",
            "30",
            "--only",
            "lesson8_ce_memory",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["lesson8_ce_memory.png"]
    assert (tmp_path / "lesson8_ce_memory.png").read_bytes().startswith(PNG)


def test_figures_rejects_unknown_names_and_backends(tmp_path, capsys):
    assert cli.main(["figures", "--out", str(tmp_path), "--only", "nope"]) == 2
    assert "unknown figure(s) ['nope']" in capsys.readouterr().err
    assert cli.main(["figures", "--out", str(tmp_path), "--backend", "tpu"]) == 2
    assert "unknown backend 'tpu'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_figures_bad_out_folder_and_dpi_are_one_line_errors(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    for out in (blocker, blocker / "below_a_file"):
        assert cli.main(["figures", "--out", str(out), "--only", "lesson8_ce_memory"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"losskit figures: cannot use '{out}' as the output folder")
        assert "Traceback" not in err and "pass --out a folder you can write to" in err
    for dpi in ("0", "-3", "x"):
        with pytest.raises(SystemExit) as stop:  # argparse: usage error before any work
            cli.main(["figures", "--out", str(tmp_path / "new"), "--dpi", dpi])
        assert stop.value.code == 2
        assert f"invalid positive int value: '{dpi}'" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_info_prints_versions_backends_and_gpu(capsys):
    import matplotlib
    import numpy

    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("losskit 0.1.0")
    assert f"numpy             {numpy.__version__}" in out
    assert f"matplotlib        {matplotlib.__version__}" in out
    assert "backends available: numpy" in out
    assert "cupy" in out and "GPU" in out


def test_info_says_whether_the_backend_variable_is_usable(monkeypatch, capsys):
    monkeypatch.setenv("LOSSKIT_BACKEND", "numpy")
    assert cli.main(["info"]) == 0
    assert "LOSSKIT_BACKEND='numpy': 'auto' picks numpy" in capsys.readouterr().out
    monkeypatch.setenv("LOSSKIT_BACKEND", "bogus")
    assert cli.main(["info"]) == 0  # a report, not a failure
    assert "LOSSKIT_BACKEND='bogus': unusable: " in capsys.readouterr().out


def test_bench_without_a_checkout_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli, "benchmarks_dir", lambda: tmp_path / "missing")
    assert cli.main(["bench"]) == 2
    err = capsys.readouterr().err
    assert "no benchmarks folder" in err and "pip install -e ." in err


def test_bench_rejects_unknown_names(capsys):
    assert cli.benchmarks_dir() == ROOT / "benchmarks"
    assert cli.main(["bench", "no_such_bench"]) == 2
    assert "unknown benchmark(s) ['no_such_bench']" in capsys.readouterr().err


def test_bench_all_passes_over_a_benchmark_that_does_not_apply(monkeypatch, tmp_path, capsys):
    """`make bench` on a laptop: the GPU benchmark says why it skips; the run still succeeds."""
    (tmp_path / "bench_cpu.py").write_text("def main():\n    print('measured')\n    return 0\n")
    (tmp_path / "bench_gpu.py").write_text(f"def main():\n    return {cli.SKIPPED}\n")
    monkeypatch.setattr(cli, "benchmarks_dir", lambda: tmp_path)
    assert cli.main(["bench"]) == 0
    out = capsys.readouterr().out
    assert "measured" in out and "bench_gpu: not applicable here (skipped)" in out
    assert cli.main(["bench", "gpu"]) == cli.SKIPPED  # asked for by name: not a success


def test_gpu_benchmark_skips_with_the_code_the_cli_passes_over():
    spec = importlib.util.spec_from_file_location("bench_gpu", ROOT / "benchmarks" / "bench_gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.NO_GPU == cli.SKIPPED


def test_bench_panels_harness_times_changes():
    spec = importlib.util.spec_from_file_location(
        "bench_panels", ROOT / "benchmarks/bench_panels.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from losskit.widgets import LSEOverflowPanel

    times, compute_ms, rejected = bench.time_panel(LSEOverflowPanel, 6, seed=3)
    assert 0 < times.size <= 6 and (times > 0).all() and rejected.shape == times.shape
    # the experiment's share: measured for each change, never more than the whole change
    assert compute_ms.shape == times.shape and (compute_ms > 0).all()
    assert (compute_ms <= times).all()


def test_command_needs_a_subcommand():
    with pytest.raises(SystemExit):
        cli.main([])


def test_version(capsys):
    import importlib.metadata

    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"losskit {importlib.metadata.version('losskit')}"


def test_figures_help_lists_the_names_only_takes(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["figures", "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "--out OUT" in out and "figure names (for --only):" in out
    for spec in FIGURES:
        assert spec.name in out


def test_bench_help_lists_the_benchmarks(capsys, monkeypatch, tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["bench", "-h"])
    names = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "benchmarks").glob("bench_*.py"))
    assert f"available benchmarks: {', '.join(names)}" in capsys.readouterr().out
    monkeypatch.setattr(cli, "benchmarks_dir", lambda: tmp_path / "missing")
    with pytest.raises(SystemExit):
        cli.main(["bench", "--help"])
    assert "no benchmarks found at" in capsys.readouterr().out


@pytest.mark.skipif("cupy" in available_backends(), reason="CuPy is usable here")
@pytest.mark.parametrize("via_env", [False, True])
def test_unusable_backend_points_to_the_backend_flag(via_env, tmp_path, capsys, monkeypatch):
    if via_env:  # --backend auto (the default) reads LOSSKIT_BACKEND
        monkeypatch.setenv("LOSSKIT_BACKEND", "cupy")
    args = ["figures", "--out", str(tmp_path)] + ([] if via_env else ["--backend", "cupy"])
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("losskit figures: backend 'cupy' is not usable here")
    assert "Pass one of them with --backend, e.g. --backend numpy." in err
    assert "get_backend()" not in err
