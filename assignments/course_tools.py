"""Run the nbgrader pipeline on this course: used by the tests and `make grade-demo`.

Everything here drives the real nbgrader 0.9 command line in a copy of the
course (never in ``assignments/`` itself) and reads results back through
nbgrader's ``Gradebook`` API and the grader's tamper report.

Fixture submissions are generated, not stored: each one (a ``Variant``)
starts from the released notebook (what a student receives), as released or
with every stub replaced by the reference solution, then changes it: a buggy
edit of a solution, hostile code, extra files, tampered test cells. The
fixtures live with what they test: each assignment's bugs and correct answers
in other styles in ``source/<assignment>/variants.py``, the tampering corpus in
``tampering.py``; the submissions every assignment is graded against
(reference, blank, loop, kernel kill, edited and deleted tests) are here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the grading package beside this file

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
    """A fresh course root at ``dest``: config, grader and source notebooks, nothing generated."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(COURSE / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(
        COURSE / "grading", dest / "grading", ignore=shutil.ignore_patterns("__pycache__")
    )
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
    """One fixture submission, built from the released notebook.

    The notebook starts as the reference solution (``base="reference"``: every
    stub replaced by the source's solution) or as released (``"release"``);
    ``edits``/``replace`` change solution cells, ``insert`` adds cells,
    ``files`` adds files beside it, ``transform`` edits the notebook object,
    ``raw`` writes the notebook file itself (for files that are not notebooks).
    What it must score: ``expect`` ("full", "zero", "partial" with
    ``zero_cells``) or ``same_as`` another fixture; ``prints`` must appear in
    its graded notebook, ``never_prints`` in neither that nor its feedback;
    ``reported``: what the tamper report must say about it.
    """

    student: str
    description: str
    base: str = "reference"
    edits: tuple[tuple[str, str, str], ...] = ()  # (grade_id, old text, new text) on the base
    replace: tuple[tuple[str, str], ...] = ()  # (grade_id, whole new cell source)
    insert: tuple[
        tuple[str, str], ...
    ] = ()  # (where: "start", "end" or "after:<grade_id>", source)
    files: tuple[tuple[str, str], ...] = ()  # (name, text) written beside the notebook
    transform: Callable | None = None  # transform(nb) edits the nbformat notebook in place
    raw: Callable | None = None  # raw(path, release_nb) writes the notebook file instead
    tamper_tests: bool = False  # visible/hidden test cells made to pass: `pass`, 100 points
    delete_tests: bool = False  # every test cell deleted
    expect: str = "partial"  # "full" code marks, "zero", or "partial"
    zero_cells: tuple[str, ...] = ()  # test cells that must score 0; the other test cells full
    messages: tuple[tuple[str, str], ...] = ()  # (test cell, text its error message must contain)
    same_as: str | None = None  # must score exactly what this student scores
    requires: str | None = None  # a module the fixture needs in the grading environment
    category: str = "bug"  # "bug", "style", "common", or a tampering category
    prints: tuple[str, ...] = ()
    never_prints: tuple[str, ...] = ()
    reported: tuple[str, ...] = ()  # texts the tamper report's findings must contain

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
        for where, source in self.insert:
            cell = nbformat.v4.new_code_cell(source)
            if where == "start":
                nb.cells.insert(0, cell)
            elif where == "end":
                nb.cells.append(cell)
            else:
                gid = where.removeprefix("after:")
                index = next(
                    (i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == gid),
                    None,
                )
                if index is None:
                    raise ValueError(f"{self.student}: no cell {gid!r} to insert after")
                nb.cells.insert(index + 1, cell)
        if self.transform is not None:
            self.transform(nb)
        return nb

    def write(self, folder: Path, release_nb: Path, source_nb: Path, copy_release=True) -> None:
        """Write this submission's folder as a student would leave it (notebook and files)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for extra in release_nb.parent.iterdir() if copy_release else ():
            if extra.is_file() and extra.suffix != ".ipynb":  # what came with the notebook
                shutil.copy2(extra, folder / extra.name)
        target = folder / release_nb.name
        if self.raw is not None:
            self.raw(target, release_nb)
        else:
            nbformat.write(self.build(release_nb, source_nb), target)
        for name, text in self.files:
            (folder / name).write_text(text)


def _common_variants(first_solution: str, worst_bug: Variant) -> list[Variant]:
    """The submissions every assignment is graded against, besides its own bugs."""
    first_stub = (
        "first_blank",
        f"the reference, except {first_solution} as released (raise NotImplementedError)",
    )
    return [
        Variant("reference", "the reference solution", expect="full", category="common"),
        Variant(
            "blank", "the release, unchanged", base="release", expect="zero", category="common"
        ),
        Variant(
            first_stub[0],
            first_stub[1],
            replace=((first_solution, "raise NotImplementedError()"),),
            category="common",
        ),
        Variant(
            "infinite_loop",
            f"the reference, with `{LOOP_FOREVER.splitlines()[0]} pass` as {first_solution}",
            replace=((first_solution, LOOP_FOREVER),),
            same_as=first_stub[0],
            category="common",
        ),
        Variant(
            "kernel_kill",
            f"the reference, with os.kill(os.getpid(), 9) as {first_solution}",
            replace=((first_solution, KILL_KERNEL),),
            same_as=first_stub[0],
            category="common",
        ),
        Variant(
            "edited_tests",
            f"{worst_bug.student}'s code, every test cell replaced by `pass` and given 100 points",
            base=worst_bug.base,
            edits=worst_bug.edits,
            replace=worst_bug.replace,
            tamper_tests=True,
            same_as=worst_bug.student,
            category="common",
        ),
        Variant(
            "deleted_tests",
            f"{worst_bug.student}'s code with every test cell deleted",
            base=worst_bug.base,
            edits=worst_bug.edits,
            replace=worst_bug.replace,
            delete_tests=True,
            same_as=worst_bug.student,
            category="common",
        ),
    ]


def _assignment_variants(assignment: str):
    """``source/<assignment>/variants.py``, loaded by path (it is not part of a package)."""
    path = COURSE / "source" / assignment / "variants.py"
    name = f"_variants_{assignment}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def variants(assignment: str) -> list[Variant]:
    """Every fixture submission of an assignment: the common ones, then its own."""
    module = _assignment_variants(assignment)
    bugs = list(module.BUGS)
    tampered = next(b for b in bugs if b.zero_cells and not b.student.startswith("calls_"))
    return _common_variants(module.FIRST_SOLUTION, tampered) + bugs


def first_solution(assignment: str) -> str:
    return _assignment_variants(assignment).FIRST_SOLUTION


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
    findings: list[str] = field(default_factory=list)  # the tamper report's entry
    sandbox: str = ""
    seconds: float | None = None

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

    def autograded(self, student: str):
        path = self.root / "autograded" / student / self.assignment / f"{self.assignment}.ipynb"
        return nbformat.read(path, as_version=4)


def read_gradebook(root: Path, assignment: str) -> dict[str, StudentResult]:
    """Per student, per grade cell: the scores nbgrader stored, with the tamper report."""
    from nbgrader.api import Gradebook, MissingEntry

    from grading import report

    tamper = report.read(Path(root) / report.FILENAME).get(assignment, {})
    out: dict[str, StudentResult] = {}
    with Gradebook(db_url(root)) as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            graded = (Path(root) / "autograded" / student.id / assignment).is_dir()
            entry = tamper.get(student.id, {})
            res = StudentResult(
                student.id,
                graded,
                findings=list(entry.get("findings", [])),
                sandbox=entry.get("sandbox", ""),
                seconds=entry.get("seconds"),
            )
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
    """Write each fixture into ``submitted/<student>/`` as ``nbgrader collect`` would."""
    src, rel = source_notebook(root, assignment), release_notebook(root, assignment)
    for v in chosen:
        v.write(Path(root) / "submitted" / v.student / assignment, rel, src)


def grade_assignment(
    root: Path, assignment: str, chosen: list[Variant] | None = None, extra_args=()
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
        steps.append((root, ["autograde", assignment, f"--student={student}", *extra_args]))
    if [v for v in chosen if v.student not in loopers]:
        args = ["autograde", assignment, *extra_args]
        if loopers:
            args.append("--CourseDirectory.student_id_exclude=" + ",".join(loopers))
        names.append("autograde")
        steps.append((root, args))
    record(names, nbgrader_batch(steps))
    return GradingRun(Path(root), assignment, read_gradebook(root, assignment), seconds, logs)


@dataclass
class ExchangeRun(GradingRun):
    exchange: Path = Path()
    homes: dict[str, Path] = field(default_factory=dict)  # each student's home folder

    def feedback_html(self, student: str) -> str:
        pages = sorted(
            (self.homes[student] / COURSE_ID / self.assignment / "feedback").rglob("*.html")
        )
        return "\n".join(p.read_text() for p in pages)


def through_exchange(
    root: Path,
    assignment: str,
    chosen: list[Variant],
    base: Path,
    before_autograde=None,
    after_autograde=None,
    cli: bool = False,
) -> ExchangeRun:
    """The whole course workflow, as on a hub, with one home folder per student.

    Instructor: generate_assignment, release_assignment; each student:
    fetch_assignment, work (the fixture is written into the fetched folder),
    submit; instructor: collect, autograde, generate_feedback, release_feedback;
    each student: fetch_feedback. ``before_autograde(run)`` is called between
    collect and autograde (to take a snapshot of the files). Exit statuses are
    recorded, never trusted: the caller asserts on the gradebook and files.
    ``after_autograde(run)`` is called before the feedback steps. With ``cli``,
    autograde is the command an instructor types in the course folder
    (``python -m nbgrader autograde <assignment>``), in its own process.
    """
    exchange = Path(base) / "exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(exchange, 0o777)
    common = [
        f"--Exchange.root={exchange}",
        f"--CourseDirectory.course_id={COURSE_ID}",
        "--Exchange.path_includes_course=True",
    ]
    homes = {v.student: Path(base) / "home" / v.student for v in chosen}
    for home in homes.values():
        home.mkdir(parents=True, exist_ok=True)

    def as_student(student, *args):
        home = homes[student]
        return (
            home,
            [
                *args,
                *common,
                f"--CourseDirectory.student_id={student}",
                f"--Exchange.assignment_dir={home}",
                f"--Exchange.cache={home / '.nbgrader_cache'}",
            ],
        )

    seconds, logs = {}, {}

    def batch(named_steps):
        names = [n for n, _ in named_steps]
        results = nbgrader_batch([s for _, s in named_steps], timeout=3600)
        for name, res in zip(names, results, strict=True):
            seconds[name], logs[name] = res.seconds, res.log

    batch(
        [
            ("generate_assignment", (root, ["generate_assignment", assignment, "--force"])),
            ("release_assignment", (root, ["release_assignment", assignment, *common])),
        ]
        + [(f"{s}: fetch", as_student(s, "fetch_assignment", assignment)) for s in homes]
    )
    src, rel = source_notebook(root, assignment), release_notebook(root, assignment)
    for v in chosen:  # the fetched folder holds the release already: write the work into it
        v.write(homes[v.student] / COURSE_ID / assignment, rel, src, copy_release=False)
    batch(
        [(f"{s}: submit", as_student(s, "submit", assignment)) for s in homes]
        + [("collect", (root, ["collect", assignment, *common]))]
    )
    run = ExchangeRun(Path(root), assignment, {}, seconds, logs, exchange=exchange, homes=homes)
    if before_autograde is not None:
        before_autograde(run)
    if cli:
        t0 = time.perf_counter()
        done = nbgrader(root, "autograde", assignment, timeout=3600)
        seconds["autograde"], logs["autograde"] = (
            time.perf_counter() - t0,
            done.stdout + done.stderr,
        )
    else:
        batch([("autograde", (root, ["autograde", assignment]))])
    run.results = read_gradebook(root, assignment)
    if after_autograde is not None:
        after_autograde(run)
    batch(
        [
            ("generate_feedback", (root, ["generate_feedback", assignment])),
            ("release_feedback", (root, ["release_feedback", assignment, *common])),
        ]
        + [(f"{s}: fetch_feedback", as_student(s, "fetch_feedback", assignment)) for s in homes]
    )
    return run


def expected_scores(run: GradingRun, chosen: list[Variant]) -> dict[str, float | None]:
    """What each fixture must score (None: only its ``zero_cells`` rule applies)."""
    out: dict[str, float | None] = {}
    code_max = run.results["reference"].code_max if "reference" in run.results else None
    for v in chosen:
        if v.same_as:
            other = run.results.get(v.same_as)
            out[v.student] = other.code_score if other else None
        elif v.expect == "full":
            out[v.student] = code_max
        elif v.expect == "zero":
            out[v.student] = 0.0
        else:
            out[v.student] = None
    return out


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


def _distinctive(line: str) -> bool:
    """A line that says something about an answer or a test (not an import, comment, or syntax)."""
    line = line.strip()
    return not (
        len(line) < 12 or line.startswith(("import ", "from ", "#")) or _BARE_SYNTAX.match(line)
    )


def region_lines(source_nb: Path, markers: tuple[str, str]) -> list[tuple[str, str]]:
    """``(grade_id, line)`` for each distinctive line between ``markers`` in the source notebook."""
    nb = nbformat.read(source_nb, as_version=4)
    pattern = re.escape(markers[0]) + r"(.*?)" + re.escape(markers[1])
    out = []
    for cell in nb.cells:
        for region in re.findall(pattern, cell.source, re.S):
            out += [
                (nbgrader_meta(cell).get("grade_id"), line.strip())
                for line in region.splitlines()
                if _distinctive(line)
            ]
    return out


def hidden_test_lines(source_nb: Path) -> list[str]:
    """The distinctive lines of the hidden tests that students never see: none may reach one.

    A line that also stands, whole or as part of a line, outside the hidden regions
    (``assert np.allclose(`` in a visible test, say) is not secret and is left out.
    """
    nb = nbformat.read(source_nb, as_version=4)
    pattern = re.escape(HIDDEN_MARKERS[0]) + r".*?" + re.escape(HIDDEN_MARKERS[1])
    public = "\n".join(re.sub(pattern, "", c.source, flags=re.S) for c in nb.cells)
    hidden = {line for _, line in region_lines(source_nb, HIDDEN_MARKERS)}
    return sorted(line for line in hidden if line not in public)


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
        for gid, line in region_lines(source_nb, markers):
            if line in released_lines:
                problems.append(f"{gid}: {line}")
    return problems


def released_json(release_dir: Path, assignment: str) -> dict:
    return json.loads((Path(release_dir) / f"{assignment}.ipynb").read_text())


if __name__ == "__main__":
    if sys.argv[1:] == ["--batch"]:
        _batch_main()
    else:
        sys.exit("usage: course_tools.py --batch  (used by nbgrader_batch; see grade_demo.py)")
