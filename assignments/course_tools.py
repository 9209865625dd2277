"""Run the nbgrader pipeline on this course: used by the tests and `make grade-demo`.

Everything here drives the real nbgrader 0.9 command line in a copy of the
course (never in ``assignments/`` itself) and reads results back through
nbgrader's ``Gradebook`` API.

Fixture submissions are generated, not stored: each one starts from the
released notebook (what a student receives) and replaces the stub in chosen
solution cells, either with the reference solution (the source cell with its
``### BEGIN/END SOLUTION`` marker lines removed), with a buggy edit of it, or
with hostile code; some also edit or delete test cells. ``variants()`` lists
them per assignment. A buggy one names every test cell it must lose
(``zero_cells``: the broken function's, and those of exercises whose briefs say
they are built on it); every other code test cell must keep full marks, so a
test cell that leans on another exercise's function shows up as a failure. It
may also name what the failing cells must say (``messages``), so a test that
fails for the wrong reason, or with a bare ``AssertionError``, shows up too.
Correct answers written in another style (``expect="full"``) must keep full
marks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

COURSE = Path(__file__).resolve().parent
COURSE_ID = "losskit-101"
ASSIGNMENTS = ("ps1_losses", "ps2_minibatch_sgd", "ps3_batch_noise")
CELL_TIMEOUT_S = 10  # c.Execute.timeout in nbgrader_config.py
LOOP_BUDGET_S = 90  # wall time to grade a looping submission: one timeout + kernel start

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")

KILL_KERNEL = "import os\n\nos.kill(os.getpid(), 9)"
LOOP_FOREVER = "while True:\n    pass"


# --------------------------------------------------------------------------- nbgrader


def nbgrader_env() -> dict[str, str]:
    """The environment nbgrader needs: this interpreter's bin first (alembic, jupyter)."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.pop("NBGRADER_EXECUTION", None)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def nbgrader(cwd: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` in ``cwd``; the exit status is returned, never trusted."""
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class StepResult:
    args: list[str]
    returncode: int
    seconds: float
    log: str


def nbgrader_batch(steps: list[tuple[Path, list[str]]], timeout: float = 900) -> list[StepResult]:
    """Run several nbgrader commands, each ``(cwd, args)``, in one fresh Python process.

    Same effect as one ``nbgrader <args>`` process per command, but nbgrader
    (about 3 s of imports) is loaded once: the child runs each command
    in-process the way nbgrader's own test suite does (``NbGraderApp``, then
    ``app.reset()``). Exit statuses are reported, never trusted.
    """
    payload = json.dumps([[str(cwd), list(args)] for cwd, args in steps])
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--batch"],
        input=payload,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    marker = "@@nbgrader-batch-results@@"
    if marker not in proc.stdout:
        raise RuntimeError(f"nbgrader batch crashed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}")
    return [StepResult(**r) for r in json.loads(proc.stdout.split(marker, 1)[1])]


def _batch_main() -> None:
    """Child side of ``nbgrader_batch``: read steps as JSON on stdin, print results."""
    import io
    import logging

    from jupyter_core.application import NoStart
    from nbgrader.apps import NbGraderApp

    out = []
    for cwd, args in json.loads(sys.stdin.read()):
        os.chdir(cwd)
        buff = io.StringIO()
        app = NbGraderApp.instance()
        t0 = time.perf_counter()
        try:
            app.initialize(args)
            app.init_logging(logging.StreamHandler, [buff], color=False, subapps=True)
            app.start()
        except NoStart:  # how a finished subcommand returns to NbGraderApp
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except Exception as e:  # reported like a failed command
            buff.write(f"{type(e).__name__}: {e}\n")
            code = 1
        else:
            code = 0
        finally:
            seconds = time.perf_counter() - t0
            app.reset()
        out.append({"args": args, "returncode": code, "seconds": seconds, "log": buff.getvalue()})
    sys.stdout.write("@@nbgrader-batch-results@@" + json.dumps(out))


def copy_course(dest: Path) -> Path:
    """A fresh course root at ``dest``: the config and the source notebooks, nothing generated."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(COURSE / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(
        COURSE / "source",
        dest / "source",
        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc"),
    )
    return dest


def db_url(root: Path) -> str:
    return f"sqlite:///{Path(root).resolve() / 'gradebook.db'}"


# --------------------------------------------------------------------------- notebooks


def source_notebook(root: Path, assignment: str) -> Path:
    return Path(root) / "source" / assignment / f"{assignment}.ipynb"


def release_notebook(root: Path, assignment: str) -> Path:
    return Path(root) / "release" / assignment / f"{assignment}.ipynb"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def strip_markers(source: str, markers: tuple[str, str]) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in markers)


def reference_solutions(source_nb: Path) -> dict[str, str]:
    """grade_id -> the source's solution cell (code or written) without solution marker lines."""
    nb = nbformat.read(source_nb, as_version=4)
    return {
        nbgrader_meta(c)["grade_id"]: strip_markers(c.source, SOLUTION_MARKERS)
        for c in nb.cells
        if nbgrader_meta(c).get("solution")
    }


def solution_cell_ids(nb) -> list[str]:
    return [
        nbgrader_meta(c)["grade_id"]
        for c in nb.cells
        if nbgrader_meta(c).get("solution") and c.cell_type == "code"
    ]


def test_cell_ids(nb) -> list[str]:
    return [
        nbgrader_meta(c)["grade_id"]
        for c in nb.cells
        if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
    ]


@dataclass(frozen=True)
class Variant:
    """One fixture submission, built from the released notebook."""

    student: str
    description: str
    base: str = (
        "reference"  # "reference": every stub replaced by the solution; "release": as released
    )
    edits: tuple[tuple[str, str, str], ...] = ()  # (grade_id, old text, new text) on the base
    replace: tuple[tuple[str, str], ...] = ()  # (grade_id, whole new cell source)
    tamper_tests: bool = False  # visible/hidden test cells made to pass: `pass`, 100 points
    delete_tests: bool = False  # every test cell deleted
    expect: str = "partial"  # "full" code marks, "zero", or "partial"
    zero_cells: tuple[str, ...] = ()  # test cells that must score 0; the other test cells full
    messages: tuple[tuple[str, str], ...] = ()  # (test cell, text its error message must contain)
    same_as: str | None = None  # must score exactly what this student scores
    requires: str | None = None  # a module the submission imports (its test skips without it)

    def build(self, release_nb: Path, source_nb: Path):
        nb = nbformat.read(release_nb, as_version=4)
        solutions = reference_solutions(source_nb)
        replace = dict(self.replace)
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            gid = meta.get("grade_id")
            if meta.get("solution"):
                if self.base == "reference":
                    cell.source = solutions[gid]
                for edit_gid, old, new in self.edits:
                    if edit_gid == gid:
                        if old not in cell.source:
                            raise ValueError(f"{self.student}: {old!r} not in cell {gid}")
                        cell.source = cell.source.replace(old, new)
                if gid in replace:
                    cell.source = replace[gid]
            if self.tamper_tests and meta.get("grade") and not meta.get("solution"):
                cell.source = "pass  # the student rewrote this test"
                meta["points"] = 100
        known = {nbgrader_meta(c).get("grade_id") for c in nb.cells}
        for gid in [e[0] for e in self.edits] + list(replace):
            if gid not in known:
                raise ValueError(f"{self.student}: no cell {gid!r} in {release_nb.name}")
        if self.delete_tests:
            nb.cells = [
                c
                for c in nb.cells
                if not (nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution"))
            ]
        return nb


def _common_variants(first_solution: str, worst_bug: Variant) -> list[Variant]:
    """The submissions every assignment is graded against, besides its own bugs."""
    return [
        Variant("reference", "the reference solution", expect="full"),
        Variant("blank", "the release, unchanged", base="release", expect="zero"),
        Variant(
            "infinite_loop",
            f"`{LOOP_FOREVER.splitlines()[0]} pass` in the first solution cell, the rest blank",
            base="release",
            replace=((first_solution, LOOP_FOREVER),),
            expect="zero",
        ),
        Variant(
            "kernel_kill",
            "the reference, plus os.kill(os.getpid(), 9) in the first solution cell",
            replace=((first_solution, KILL_KERNEL),),
            expect="zero",
        ),
        Variant(
            "edited_tests",
            f"{worst_bug.student}'s code, every test cell replaced by `pass` and given 100 points",
            base=worst_bug.base,
            edits=worst_bug.edits,
            replace=worst_bug.replace,
            tamper_tests=True,
            same_as=worst_bug.student,
        ),
        Variant(
            "deleted_tests",
            f"{worst_bug.student}'s code with every test cell deleted",
            base=worst_bug.base,
            edits=worst_bug.edits,
            replace=worst_bug.replace,
            delete_tests=True,
            same_as=worst_bug.student,
        ),
    ]


# Bugs per assignment: each must lose the named hidden-test cells, keep other points.
_PS1_BUGS = [
    Variant(
        "naive_logsumexp",
        "log_softmax without the max shift: x - log(sum(exp(x)))",
        replace=(
            (
                "log_softmax",
                "def log_softmax(x):\n"
                "    x = np.asarray(x)\n"
                "    return np.log(np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True))",
            ),
        ),
        # cross_entropy and its gradient are built on log_softmax (their briefs say so)
        zero_cells=(
            "test_log_softmax",
            "hidden_log_softmax",
            "hidden_cross_entropy",
            "hidden_cross_entropy_grad",
        ),
        messages=(("test_log_softmax", "exp(300) overflows float32 to inf"),),
    ),
    Variant(
        "global_max",
        "log_softmax shifts every row by the maximum of the whole array",
        edits=(("log_softmax", "m = x.max(axis=-1, keepdims=True)", "m = x.max()"),),
        zero_cells=("test_log_softmax", "hidden_log_softmax", "hidden_cross_entropy"),
        messages=(
            ("test_log_softmax", "each row's own max"),
            ("hidden_log_softmax", "each row's own max"),
        ),
    ),
    Variant(
        "log_softmax_in_place",
        "log_softmax shifts its input in place (x -= max), changing the caller's logits",
        replace=(
            (
                "log_softmax",
                "def log_softmax(x):\n"
                "    x -= x.max(axis=-1, keepdims=True)\n"
                "    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))",
            ),
        ),
        # the right numbers, but the caller's array changes, in every function built on it
        zero_cells=(
            "test_log_softmax",
            "hidden_log_softmax",
            "test_cross_entropy",
            "hidden_cross_entropy",
            "hidden_cross_entropy_grad",
        ),
        messages=(
            ("test_log_softmax", "changed its input in place"),
            ("hidden_log_softmax", "changed its input in place"),
            ("test_cross_entropy", "in place"),
            ("hidden_cross_entropy_grad", "in place"),
        ),
    ),
    Variant(
        "grad_in_place",
        "cross_entropy_grad writes the gradient into the caller's logits",
        replace=(
            (
                "cross_entropy_grad",
                "def cross_entropy_grad(logits, targets):\n"
                "    n = logits.shape[0]\n"
                "    logits[:] = np.exp(log_softmax(logits))\n"
                "    logits[np.arange(n), targets] -= 1\n"
                "    logits /= n\n"
                "    return logits",
            ),
        ),
        zero_cells=("test_cross_entropy_grad", "hidden_cross_entropy_grad"),
        messages=(
            ("test_cross_entropy_grad", "wrote into the caller's logits"),
            ("hidden_cross_entropy_grad", "in place"),
        ),
    ),
    Variant(
        "sum_not_mean",
        "mse_loss's 'mean' returns the sum",
        edits=(
            (
                "mse_loss",
                'if reduction == "mean":\n        return squared.mean()',
                'if reduction == "mean":\n        return squared.sum()',
            ),
        ),
        zero_cells=("test_mse_loss", "hidden_mse_loss"),
    ),
    Variant(
        "mean_last_axis",
        "mse_loss's 'mean' averages over the last axis only (right for 1-D inputs)",
        edits=(("mse_loss", "return squared.mean()", "return squared.mean(axis=-1)"),),
        zero_cells=("test_mse_loss", "hidden_mse_loss"),
        messages=(
            ("test_mse_loss", "averages over all elements"),
            ("hidden_mse_loss", "the mean over all"),
        ),
    ),
    Variant(
        "loses_dtype",
        "mse_loss returns float(...), log_softmax computes in float64: right values, wrong dtype",
        edits=(
            ("mse_loss", "return squared.mean()", "return float(squared.mean())"),
            ("log_softmax", "x = np.asarray(x)", "x = np.asarray(x, dtype=np.float64)"),
        ),
        zero_cells=("test_mse_loss", "hidden_mse_loss", "test_log_softmax", "hidden_log_softmax"),
        messages=(
            ("test_mse_loss", "keep the input's dtype"),
            ("hidden_mse_loss", "keep the input's dtype"),
            ("test_log_softmax", "keep the dtype of x"),
            ("hidden_log_softmax", "float16 in, float16 out"),
        ),
    ),
    Variant(
        "no_range_check",
        "cross_entropy indexes without checking the targets (NumPy raises IndexError for >= C)",
        edits=(
            (
                "cross_entropy",
                "    if targets.size and (targets.min() < 0 or targets.max() >= c):\n"
                "        bad = targets[(targets < 0) | (targets >= c)][0]\n"
                '        raise ValueError(f"target {bad} out of range for {c} classes '
                '(valid 0..{c - 1})")\n',
                "",
            ),
        ),
        zero_cells=("test_cross_entropy", "hidden_cross_entropy"),
        messages=(
            ("test_cross_entropy", "raised IndexError"),
            ("hidden_cross_entropy", "raised IndexError"),
        ),
    ),
    Variant(
        "negative_target",
        "cross_entropy checks only targets.max() >= C: a target of -1 picks the last class",
        edits=(
            (
                "cross_entropy",
                "targets.min() < 0 or targets.max() >= c",
                "targets.max() >= c",
            ),
        ),
        zero_cells=("test_cross_entropy", "hidden_cross_entropy"),
        messages=(
            ("test_cross_entropy", "NumPy reads -1 as the last class"),
            ("hidden_cross_entropy", "instead of raising ValueError"),
        ),
    ),
    Variant(
        "bce_no_clamp",
        "bce_loss without the -100 log clamp",
        edits=(
            ("bce_loss", "np.maximum(np.log(p), -100.0)", "np.log(p)"),
            ("bce_loss", "np.maximum(np.log1p(-p), -100.0)", "np.log1p(-p)"),
        ),
        zero_cells=("test_bce_loss", "hidden_bce_loss"),
        messages=(("test_bce_loss", "clamp each log at -100"),),
    ),
    Variant(
        "bce_warns",
        "bce_loss right, but log(0) is not wrapped in np.errstate: it prints a RuntimeWarning",
        edits=(
            (
                "bce_loss",
                '    with np.errstate(divide="ignore"):\n'
                "        log_p = np.maximum(np.log(p), -100.0)\n"
                "        log_1mp = np.maximum(np.log1p(-p), -100.0)",
                "    log_p = np.maximum(np.log(p), -100.0)\n"
                "    log_1mp = np.maximum(np.log1p(-p), -100.0)",
            ),
        ),
        # nbgrader scores a cell that prints to stderr 0; the visible test says so instead
        zero_cells=("test_bce_loss", "hidden_bce_loss"),
        messages=(("test_bce_loss", "np.errstate(divide='ignore')"),),
    ),
    Variant(
        "other_styles",
        "correct answers in other styles: loops, np.add.reduce, np.logaddexp.reduce, np.where",
        replace=(
            (
                "mse_loss",
                "def mse_loss(pred, target, reduction='mean'):\n"
                "    pred, target = np.asarray(pred), np.asarray(target)\n"
                "    if pred.shape != target.shape:\n"
                "        raise ValueError('shapes differ')\n"
                "    flat = np.empty(pred.size, dtype=pred.dtype)\n"
                "    for i, (p, t) in enumerate(zip(pred.ravel(), target.ravel())):\n"
                "        flat[i] = (p - t) * (p - t)\n"
                "    if reduction == 'none':\n"
                "        return flat.reshape(pred.shape)\n"
                "    if reduction == 'sum':\n"
                "        return np.add.reduce(flat)\n"
                "    if reduction == 'mean':\n"
                "        return np.add.reduce(flat) / pred.dtype.type(flat.size)\n"
                "    raise ValueError(reduction)",
            ),
            (
                "log_softmax",
                "def log_softmax(x):\n"
                "    x = np.asarray(x)\n"
                "    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)",
            ),
            (
                "cross_entropy",
                "def cross_entropy(logits, targets, reduction='mean'):\n"
                "    logits = np.asarray(logits)\n"
                "    c = logits.shape[1]\n"
                "    out = []\n"
                "    for row, t in zip(log_softmax(logits), targets):\n"
                "        if not 0 <= t < c:\n"
                "            raise ValueError(f'target {t} out of range for {c} classes')\n"
                "        out.append(-row[t])\n"
                "    if reduction == 'none':\n"
                "        return np.array(out)\n"
                "    if reduction == 'sum':\n"
                "        return sum(out)\n"
                "    if reduction == 'mean':\n"
                "        return sum(out) / len(out)\n"
                "    raise ValueError(reduction)",
            ),
            (
                "bce_loss",
                "def bce_loss(probs, targets, reduction='mean'):\n"
                "    p, y = np.asarray(probs), np.asarray(targets)\n"
                "    if p.shape != y.shape:\n"
                "        raise ValueError('shapes differ')\n"
                "    with np.errstate(divide='ignore', invalid='ignore'):\n"
                "        lp = np.maximum(np.log(p), -100.0)\n"
                "        lq = np.maximum(np.log(1 - p), -100.0)\n"
                "        mixed = y * lp + (1 - y) * lq\n"
                "        losses = -np.where(y == 1, lp, np.where(y == 0, lq, mixed))\n"
                "    pick = {'mean': losses.mean, 'sum': losses.sum, 'none': lambda: losses}\n"
                "    return pick[reduction]()",
            ),
        ),
        expect="full",
    ),
    Variant(
        "calls_losskit",
        "log_softmax delegates to losskit.log_softmax",
        replace=(
            (
                "log_softmax",
                "import losskit\n\n\ndef log_softmax(x):\n"
                "    return losskit.log_softmax(np.asarray(x))",
            ),
        ),
        # the functions built on it run losskit code too
        zero_cells=("hidden_log_softmax", "hidden_cross_entropy", "hidden_cross_entropy_grad"),
    ),
    Variant(
        "calls_scipy",
        "log_softmax delegates to scipy.special.log_softmax (passes every numeric test)",
        replace=(
            (
                "log_softmax",
                "import scipy.special\n\n\ndef log_softmax(x):\n"
                "    return scipy.special.log_softmax(np.asarray(x), axis=-1)",
            ),
        ),
        zero_cells=("hidden_log_softmax", "hidden_cross_entropy", "hidden_cross_entropy_grad"),
        requires="scipy",
    ),
]

# ps2's "sum instead of mean" gradient bug, and the cells it costs (sgd_epoch and
# accumulated_grad are built on linreg_loss_and_grad)
_PS2_SUM_NOT_MEAN = (
    (
        "linreg_loss_and_grad",
        "grad_w = (2.0 / n) * (Xb.T @ r)",
        "grad_w = 2.0 * (Xb.T @ r)",
    ),
    ("linreg_loss_and_grad", "float((2.0 / n) * np.sum(r))", "float(2.0 * np.sum(r))"),
)
_PS2_SUM_NOT_MEAN_CELLS = (
    "test_linreg_loss_and_grad",
    "hidden_linreg_loss_and_grad",
    "hidden_sgd_epoch",
    "test_accumulated_grad",
    "hidden_accumulated_grad",
)

_PS2_BUGS = [
    Variant(
        "calls_losskit",
        "batch_indices delegates to losskit.BatchLoader",
        replace=(
            (
                "batch_indices",
                "import losskit\n\n\n"
                "def batch_indices(n, batch_size, seed, shuffle=True, drop_last=False):\n"
                "    loader = losskit.BatchLoader(\n"
                "        np.arange(n), batch_size=batch_size, shuffle=shuffle,"
                " drop_last=drop_last, seed=seed\n"
                "    )\n"
                "    return [np.asarray(b) for b in loader.index_batches()]",
            ),
        ),
        zero_cells=("hidden_batch_indices", "hidden_sgd_epoch"),  # sgd_epoch is built on it
    ),
    Variant(
        "sum_not_mean",
        "linreg_loss_and_grad's gradient sums over the batch instead of averaging",
        edits=_PS2_SUM_NOT_MEAN,
        zero_cells=_PS2_SUM_NOT_MEAN_CELLS,
    ),
    Variant(
        "sum_and_no_divide",
        "linreg_loss_and_grad sums over the batch and accumulated_grad never divides: "
        "two bugs that cancel if accumulated_grad is tested against linreg_loss_and_grad",
        edits=_PS2_SUM_NOT_MEAN,
        replace=(
            (
                "accumulated_grad",
                "def accumulated_grad(w, b, micro_batches):\n"
                "    grads = [linreg_loss_and_grad(w, b, Xk, yk) for Xk, yk in micro_batches]\n"
                "    return sum(g[1] for g in grads), sum(g[2] for g in grads)",
            ),
        ),
        zero_cells=_PS2_SUM_NOT_MEAN_CELLS,
    ),
    Variant(
        "accumulate_divide_by_k",
        "accumulated_grad divides the sum of K micro-batch means by K",
        replace=(
            (
                "accumulated_grad",
                "def accumulated_grad(w, b, micro_batches):\n"
                "    grads = [linreg_loss_and_grad(w, b, Xk, yk) for Xk, yk in micro_batches]\n"
                "    k = len(grads)\n"
                "    return sum(g[1] for g in grads) / k, sum(g[2] for g in grads) / k",
            ),
        ),
        zero_cells=("test_accumulated_grad", "hidden_accumulated_grad"),
        messages=(("test_accumulated_grad", "right only for equal micro-batches"),),
    ),
    Variant(
        "mean_of_batch_means",
        "epoch_loss averages the batch means without weighting by size",
        edits=(
            (
                "epoch_loss",
                "return float(np.sum(losses * sizes) / np.sum(sizes))",
                "return float(np.mean(losses))",
            ),
        ),
        zero_cells=("test_epoch_loss", "hidden_epoch_loss"),
    ),
    Variant(
        "blank_batch_indices",
        "batch_indices left unwritten (the stub), everything else the reference",
        replace=(
            (
                "batch_indices",
                "def batch_indices(n, batch_size, seed, shuffle=True, drop_last=False):\n"
                "    # YOUR CODE HERE\n"
                "    raise NotImplementedError()",
            ),
        ),
        # sgd_epoch is built on batch_indices; epoch_loss is not and keeps its points
        zero_cells=(
            "test_batch_indices",
            "hidden_batch_indices",
            "test_sgd_epoch",
            "hidden_sgd_epoch",
        ),
    ),
    Variant(
        "empty_last_batch",
        "batch_indices makes n // B + 1 batches: an empty one when B divides n",
        replace=(
            (
                "batch_indices",
                "def batch_indices(n, batch_size, seed, shuffle=True, drop_last=False):\n"
                "    if batch_size < 1:\n"
                "        raise ValueError('batch_size')\n"
                "    order = np.random.default_rng(seed).permutation(n)\n"
                "    nb = n // batch_size + (0 if drop_last else 1)\n"
                "    return [order[i * batch_size : (i + 1) * batch_size] for i in range(nb)]",
            ),
        ),
        # sgd_epoch, built on it, divides by the empty batch's size
        zero_cells=(
            "test_batch_indices",
            "hidden_batch_indices",
            "test_sgd_epoch",
            "hidden_sgd_epoch",
        ),
        messages=(
            ("test_batch_indices", "no empty batches"),
            ("hidden_batch_indices", "no empty batches"),
        ),
    ),
    Variant(
        "legacy_seed",
        "batch_indices shuffles with np.random.seed + np.random.permutation, not default_rng",
        edits=(
            (
                "batch_indices",
                "order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)",
                "np.random.seed(seed)\n"
                "    order = np.random.permutation(n) if shuffle else np.arange(n)",
            ),
        ),
        zero_cells=("test_batch_indices", "hidden_batch_indices", "hidden_sgd_epoch"),
        messages=(
            ("test_batch_indices", "np.random.default_rng(0).permutation(10)"),
            ("hidden_batch_indices", "np.random.default_rng(seed).permutation(n)"),
        ),
    ),
    Variant(
        "sgd_in_place",
        "sgd_epoch steps with w -= ... on the caller's array",
        edits=(
            ("sgd_epoch", "w = np.array(w, dtype=float)", "w = np.asarray(w, dtype=float)"),
            ("sgd_epoch", "w = w - lr * scale * gw", "w -= lr * scale * gw"),
        ),
        zero_cells=("test_sgd_epoch", "hidden_sgd_epoch"),
        messages=(
            ("test_sgd_epoch", "changed the caller's w in place"),
            ("hidden_sgd_epoch", "do not modify the caller's w in place"),
        ),
    ),
    Variant(
        "other_styles",
        "correct answers in other styles: rng.shuffle, arrays returned, loops, one stacked batch",
        edits=(
            (
                "batch_indices",
                "order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)",
                "order = np.arange(n)\n"
                "    if shuffle:\n"
                "        np.random.default_rng(seed).shuffle(order)",
            ),
            (
                "sgd_epoch",
                "return w, b, batch_losses, batch_sizes",
                "return w, b, np.array(batch_losses), np.array(batch_sizes)",
            ),
        ),
        replace=(
            (
                "epoch_loss",
                "def epoch_loss(batch_losses, batch_sizes):\n"
                "    total, count = 0.0, 0\n"
                "    for loss, size in zip(batch_losses, batch_sizes):\n"
                "        total += loss * size\n"
                "        count += size\n"
                "    return total / count",
            ),
            (
                "accumulated_grad",
                "def accumulated_grad(w, b, micro_batches):\n"
                "    Xa = np.concatenate([m[0] for m in micro_batches])\n"
                "    ya = np.concatenate([m[1] for m in micro_batches])\n"
                "    _, gw, gb = linreg_loss_and_grad(w, b, Xa, ya)\n"
                "    return gw, gb",
            ),
        ),
        expect="full",
    ),
]

_PS3_BUGS = [
    Variant(
        "calls_losskit",
        "train_val_split delegates to losskit.data.train_val_split (same split, not own work)",
        replace=(
            (
                "train_val_split",
                "from losskit.data import train_val_split as _split\n\n\n"
                "def train_val_split(n, val_fraction, seed):\n"
                "    idx = np.arange(n)\n"
                "    tr, va, _, _ = _split(idx, idx, val_fraction=val_fraction, seed=seed)\n"
                "    return tr, va",
            ),
        ),
        # fit_early_stopping is built on train_val_split: it runs losskit code too
        zero_cells=("hidden_train_val_split", "hidden_fit_early_stopping"),
    ),
    Variant(
        "no_finite_population",
        "theoretical_variance returns sigma^2 / B (the with-replacement formula)",
        edits=(
            (
                "theoretical_variance",
                "np.var(values) / batch_size * (n - batch_size) / (n - 1)",
                "np.var(values) / batch_size",
            ),
        ),
        zero_cells=("test_theoretical_variance", "hidden_theoretical_variance"),
    ),
    Variant(
        "with_replacement",
        "batch_mean_variance draws batches with replacement",
        edits=(("batch_mean_variance", "replace=False", "replace=True"),),
        zero_cells=("test_batch_mean_variance", "hidden_batch_mean_variance"),
    ),
    Variant(
        "last_not_best",
        "fit_early_stopping returns the last weights instead of the best",
        edits=(
            (
                "fit_early_stopping",
                '"w": best[2],\n        "b": best[3],',
                '"w": w,\n        "b": b,',
            ),
        ),
        zero_cells=("test_fit_early_stopping", "hidden_fit_early_stopping"),
        messages=(("test_fit_early_stopping", "restore the best epoch's copy"),),
    ),
    Variant(
        "validation_last",
        "train_val_split takes the validation set from the end of the permutation",
        replace=(
            (
                "train_val_split",
                "def train_val_split(n, val_fraction, seed):\n"
                "    if not 0 < val_fraction < 1:\n"
                "        raise ValueError('val_fraction')\n"
                "    perm = np.random.default_rng(seed).permutation(n)\n"
                "    k = int(round(n * val_fraction))\n"
                "    return perm[: n - k], perm[n - k :]",
            ),
        ),
        # fit_early_stopping is built on it: its tests say to fix the split first
        zero_cells=(
            "test_train_val_split",
            "hidden_train_val_split",
            "test_fit_early_stopping",
            "hidden_fit_early_stopping",
        ),
        messages=(
            ("test_fit_early_stopping", "fix train_val_split first"),
            ("hidden_fit_early_stopping", "fix train_val_split first"),
        ),
    ),
    Variant(
        "unweighted_epoch_loss",
        "fit_early_stopping records the plain mean of the batch losses (short last batch)",
        edits=(
            (
                "fit_early_stopping",
                "float(np.average(losses, weights=sizes))",
                "float(np.mean(losses))",
            ),
        ),
        zero_cells=("hidden_fit_early_stopping",),
        messages=(("hidden_fit_early_stopping", "plain mean of its batch losses"),),
    ),
    Variant(
        "same_order_every_epoch",
        "fit_early_stopping shuffles every epoch with seed instead of seed + e",
        edits=(("fit_early_stopping", "seed + epoch", "seed"),),
        zero_cells=("hidden_fit_early_stopping",),
        messages=(("hidden_fit_early_stopping", "seed + e"),),
    ),
    Variant(
        "no_stop_on_last_epoch",
        "fit_early_stopping reports None when patience runs out on the last epoch",
        edits=(
            (
                "fit_early_stopping",
                "if waited >= patience:",
                "if waited >= patience and epoch < max_epochs - 1:",
            ),
        ),
        zero_cells=("hidden_fit_early_stopping",),
        messages=(("hidden_fit_early_stopping", "that is a stop"),),
    ),
    Variant(
        "other_styles",
        "correct answers in other styles: a permutation per trial, another form of the formula",
        replace=(
            (
                "batch_mean_variance",
                "def batch_mean_variance(values, batch_size, n_trials, seed):\n"
                "    values = np.asarray(values)\n"
                "    n = len(values)\n"
                "    if not 1 <= batch_size <= n:\n"
                "        raise ValueError('batch_size')\n"
                "    rng = np.random.default_rng(seed)\n"
                "    means = [values[rng.permutation(n)[:batch_size]].mean()\n"
                "             for _ in range(n_trials)]\n"
                "    return np.var(means)",
            ),
            (
                "theoretical_variance",
                "def theoretical_variance(values, batch_size):\n"
                "    v = np.asarray(values, dtype=float)\n"
                "    n, b = v.size, batch_size\n"
                "    s2 = np.add.reduce((v - np.add.reduce(v) / n) ** 2) / n\n"
                "    return s2 * (n - b) / (b * (n - 1))",
            ),
        ),
        expect="full",
    ),
]

_BUGS = {"ps1_losses": _PS1_BUGS, "ps2_minibatch_sgd": _PS2_BUGS, "ps3_batch_noise": _PS3_BUGS}
_FIRST_SOLUTION = {
    "ps1_losses": "mse_loss",
    "ps2_minibatch_sgd": "batch_indices",
    "ps3_batch_noise": "batch_mean_variance",
}


def variants(assignment: str) -> list[Variant]:
    bugs = _BUGS[assignment]
    tampered = next(b for b in bugs if not b.student.startswith("calls_"))  # a real bug
    return _common_variants(_FIRST_SOLUTION[assignment], tampered) + bugs


# --------------------------------------------------------------------------- grading


@dataclass
class CellGrade:
    score: float
    max_score: float
    cell_type: str
    needs_manual_grade: bool


@dataclass
class StudentResult:
    student: str
    graded: bool  # nbgrader produced an autograded notebook
    cells: dict[str, CellGrade] = field(default_factory=dict)

    @property
    def code_score(self) -> float:
        return sum(g.score for g in self.cells.values() if g.cell_type == "code")

    @property
    def code_max(self) -> float:
        return sum(g.max_score for g in self.cells.values() if g.cell_type == "code")


@dataclass
class GradingRun:
    root: Path
    assignment: str
    results: dict[str, StudentResult]
    seconds: dict[str, float]  # wall time of each nbgrader step
    logs: dict[str, str]  # stdout + stderr of each nbgrader step


def read_gradebook(root: Path, assignment: str) -> dict[str, StudentResult]:
    """Per student, per grade cell: the scores nbgrader stored."""
    from nbgrader.api import Gradebook, MissingEntry

    out: dict[str, StudentResult] = {}
    with Gradebook(db_url(root)) as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            graded = (Path(root) / "autograded" / student.id / assignment).is_dir()
            res = StudentResult(student.id, graded)
            for nb in sub.notebooks:
                for grade in nb.grades:
                    res.cells[grade.name] = CellGrade(
                        float(grade.score),
                        float(grade.max_score),
                        grade.cell.cell_type,
                        bool(grade.needs_manual_grade),
                    )
            out[student.id] = res
    return out


def place_submissions(root: Path, assignment: str, chosen: list[Variant]) -> None:
    src, rel = source_notebook(root, assignment), release_notebook(root, assignment)
    for v in chosen:
        dest = Path(root) / "submitted" / v.student / assignment
        dest.mkdir(parents=True, exist_ok=True)
        for extra in rel.parent.iterdir():  # what the student received besides the notebook
            if extra.is_file() and extra.suffix != ".ipynb":
                shutil.copy2(extra, dest / extra.name)
        nbformat.write(v.build(rel, src), dest / f"{assignment}.ipynb")


def grade_assignment(
    root: Path, assignment: str, chosen: list[Variant] | None = None
) -> GradingRun:
    """generate_assignment, write the fixture submissions, autograde them; read the gradebook.

    The looping submission is autograded on its own first, so its wall time is
    measured alone; everyone else is graded in one ``nbgrader autograde`` run
    (so a kernel killed by one student is seen not to stop the others).
    """
    chosen = variants(assignment) if chosen is None else chosen
    seconds, logs = {}, {}

    def record(names, results):
        for name, res in zip(names, results, strict=True):
            seconds[name] = res.seconds
            logs[name] = res.log

    record(
        ["generate_assignment"],
        nbgrader_batch([(root, ["generate_assignment", assignment, "--force"])]),
    )
    place_submissions(root, assignment, chosen)
    loopers = [v.student for v in chosen if v.student == "infinite_loop"]
    names, steps = [], []
    for student in loopers:
        names.append(f"autograde {student}")
        steps.append((root, ["autograde", assignment, f"--student={student}"]))
    if [v for v in chosen if v.student not in loopers]:
        args = ["autograde", assignment]
        if loopers:
            args.append("--CourseDirectory.student_id_exclude=" + ",".join(loopers))
        names.append("autograde")
        steps.append((root, args))
    record(names, nbgrader_batch(steps))
    return GradingRun(Path(root), assignment, read_gradebook(root, assignment), seconds, logs)


# --------------------------------------------------------------------------- lint


def lint_notebook(path: Path) -> list[str]:
    """Problems with an nbgrader source notebook's metadata (empty list: clean)."""
    nb = nbformat.read(path, as_version=4)
    problems = []
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("kernelspec must be python3")
    seen: set[str] = set()
    for i, cell in enumerate(nb.cells):
        where = f"cell {i}"
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            problems.append(f"{where}: stored outputs or execution count")
        meta = nbgrader_meta(cell)
        text = cell.source
        has_solution_region = any(m in text for m in SOLUTION_MARKERS)
        has_hidden_region = any(m in text for m in HIDDEN_MARKERS)
        if not meta:
            if has_solution_region or has_hidden_region:
                problems.append(f"{where}: marker regions in a cell without nbgrader metadata")
            continue
        gid = meta.get("grade_id", "")
        where = f"cell {i} ({gid})"
        if meta.get("schema_version") != 3:
            problems.append(f"{where}: schema_version {meta.get('schema_version')!r}, want 3")
        if not GRADE_ID.match(gid):
            problems.append(f"{where}: grade_id {gid!r} is not [A-Za-z0-9_-]+")
        if gid in seen:
            problems.append(f"{where}: duplicate grade_id")
        seen.add(gid)
        is_test = bool(meta.get("grade")) and not meta.get("solution")
        if is_test:
            if cell.cell_type != "code":
                problems.append(f"{where}: test cell is not code")
            if not meta.get("locked"):
                problems.append(f"{where}: test cell not locked")
            if not (meta.get("points", 0) > 0):
                problems.append(f"{where}: test cell without points > 0")
        if meta.get("grade") and meta.get("solution") and not (meta.get("points", 0) > 0):
            problems.append(f"{where}: manually graded answer without points > 0")
        if has_solution_region and not meta.get("solution"):
            problems.append(f"{where}: solution region outside a solution cell")
        if meta.get("solution") and cell.cell_type == "code":
            if not all(m in text for m in SOLUTION_MARKERS):
                problems.append(f"{where}: solution cell without BEGIN/END SOLUTION")
            if meta.get("locked"):
                problems.append(f"{where}: solution cell locked")
        if has_hidden_region and not is_test:
            problems.append(f"{where}: hidden tests outside a test cell")
    return problems


def _released_lines(release_dir: Path) -> tuple[set[str], str]:
    lines: set[str] = set()
    texts = []
    for path in Path(release_dir).rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        else:
            text = path.read_text(errors="replace")
        texts.append(text)
        lines.update(line.strip() for line in text.splitlines())
    return lines, "\n".join(texts)


_BARE_SYNTAX = re.compile(r"^(except( [\w.]+( as \w+)?)?:|raise \w+\(|(try|else|finally):)$")


def leaks(release_dir: Path, source_nb: Path) -> list[str]:
    """Solution or hidden-test lines from ``source_nb`` that appear in the release folder.

    Any marker text counts; so does any distinctive line (12+ characters, not an
    import, a comment, or bare syntax such as ``except ValueError:``) of a
    solution or hidden-test region found verbatim as a line of a released file.
    """
    nb = nbformat.read(source_nb, as_version=4)
    released_lines, released_text = _released_lines(release_dir)
    problems = [m for m in SOLUTION_MARKERS + HIDDEN_MARKERS if m in released_text]
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "markdown":  # a model written answer
            for line in cell.source.splitlines():
                if len(line.strip()) >= 12 and line.strip() in released_lines:
                    problems.append(f"{meta.get('grade_id')}: {line.strip()}")
        for markers in (SOLUTION_MARKERS, HIDDEN_MARKERS):
            pattern = re.escape(markers[0]) + r"(.*?)" + re.escape(markers[1])
            for region in re.findall(pattern, cell.source, re.S):
                for line in region.splitlines():
                    line = line.strip()
                    if len(line) < 12 or line.startswith(("import ", "from ", "#")):
                        continue
                    if _BARE_SYNTAX.match(line):  # says nothing about the answer
                        continue
                    if line in released_lines:
                        problems.append(f"{meta.get('grade_id')}: {line}")
    return problems


def released_json(release_dir: Path, assignment: str) -> dict:
    return json.loads((Path(release_dir) / f"{assignment}.ipynb").read_text())


if __name__ == "__main__":
    if sys.argv[1:] == ["--batch"]:
        _batch_main()
    else:
        sys.exit("usage: course_tools.py --batch  (used by nbgrader_batch; see grade_demo.py)")
