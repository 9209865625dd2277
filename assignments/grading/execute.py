"""``SandboxedExecute``: nbgrader's Execute step, with student code and tests in separate kernels.

It replaces ``Execute`` in ``c.Autograde.autograde_preprocessors``. For each
submitted notebook it starts the student's kernel in the sandbox
(``sandbox.py``) and a checker kernel outside it, then walks the cells in
order:

- a test cell (a grade cell of the assignment, found in the gradebook, not a
  written answer) runs in the checker, from the gradebook's copy of its
  source; its outputs, and so its score, come from there alone;
- a locked cell of the assignment (the setup) runs in both kernels, from the
  gradebook's copy;
- every other cell is the student's and runs in the sandbox.

A cell that runs past ``timeout`` is interrupted; a kernel that ignores the
interrupt, dies or hits a limit is restarted and the student's earlier cells
are run again, so only the cells affected lose points. The whole submission has
``submission_timeout`` seconds. Hidden test cells keep only the last line of a
failure (no test source in tracebacks). Findings go to the tamper report.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Enum, Integer, Unicode

from . import checker_side, intake, report, sandbox
from .kernels import INTERRUPT_GRACE_S, Kernel

HIDDEN_MARKER = "BEGIN HIDDEN TESTS"
BOOT = "import grading.student_side as s; s.main()"
CHECKER = "__import__('grading.checker_side', fromlist=['connect'])"
ASSIGNMENTS_DIR = str(Path(__file__).resolve().parent.parent)


@dataclass(frozen=True)
class CellSpec:
    """One graded or locked cell of the assignment, as the gradebook has it."""

    grade_id: str
    cell_type: str
    source: str
    locked: bool
    checksum: str
    points: float | None  # grade cells only
    is_test: bool  # a graded code cell that is not a written answer

    @property
    def hidden(self) -> bool:
        return HIDDEN_MARKER in self.source


def _assignment_cells(db_url: str, notebook: str, assignment: str) -> dict[str, CellSpec]:
    with Gradebook(db_url) as gb:
        nb = gb.find_notebook(notebook, assignment)
        points = {c.name: float(c.max_score) for c in nb.grade_cells}
        answers = {c.name for c in nb.solution_cells}
        return {
            c.name: CellSpec(
                c.name,
                c.cell_type,
                c.source or "",
                bool(c.locked),
                c.checksum or "",
                points.get(c.name),
                c.name in points and c.name not in answers and c.cell_type == "code",
            )
            for c in nb.source_cells
        }


def _error(ename: str, evalue: str) -> dict:
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": [f"{ename}: {evalue}"],
    }


def _nodes(outputs: list[dict]) -> list:
    return [nbformat.from_dict(o) for o in outputs]


_LIMIT_SIGNS = {
    "MemoryError": "hit the memory limit",
    "BlockingIOError": "hit the process limit",
}


class SandboxedExecute(NbGraderPreprocessor):
    """Run a submission with its code sandboxed and its tests in a kernel it cannot reach."""

    sandbox = Enum(
        ["bwrap", "none"],
        default_value="bwrap",
        help="'bwrap': student code in a bubblewrap sandbox (required unless you opt out); "
        "'none': no sandbox, scores NOT protected (every log line and the report say so).",
    ).tag(config=True)
    timeout = Integer(10, help="Seconds a cell may run before it is interrupted.").tag(config=True)
    submission_timeout = Integer(600, help="Seconds for one whole notebook.").tag(config=True)
    startup_timeout = Integer(60, help="Seconds a kernel may take to start.").tag(config=True)
    memory_limit = Integer(2 * 2**30, help="Address space per sandboxed process, bytes.").tag(
        config=True
    )
    cpu_limit = Integer(120, help="CPU seconds per sandboxed process.").tag(config=True)
    process_limit = Integer(64, help="Processes and threads in the sandbox.").tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    sandbox_uids = Unicode(
        "61000-63999", help="uids for sandboxes when grading runs as root (unused otherwise)."
    ).tag(config=True)

    def log_line(self, level: str, message: str, *args) -> None:
        if self.sandbox == "none":
            message = "[UNSANDBOXED: scores not protected] " + message
        getattr(self.log, level)(message, *args)

    def preprocess(self, nb, resources):
        workdir = resources["metadata"]["path"]
        if self.sandbox == "bwrap":
            try:
                sandbox.check(self.bwrap)
            except sandbox.SandboxUnavailable as err:
                self.log.error(
                    "%s. Autograde stops here: nothing more is graded. To grade anyway, without "
                    "protection, pass --SandboxedExecute.sandbox=none (every score is then "
                    "marked as not protected).",
                    err,
                )
                shutil.rmtree(workdir, ignore_errors=True)  # nbgrader would skip it next time
                raise SystemExit(f"autograde stopped: {err}") from None
        run = _Run(self, nb, resources)
        try:
            run.grade()
        finally:
            run.close()
        return nb, resources


class _Run:
    """One notebook's grading: two kernels, the cell walk, the findings."""

    def __init__(self, pp: SandboxedExecute, nb, resources):
        self.pp = pp
        self.nb = nb
        info = resources["nbgrader"]
        self.student, self.assignment = info["student"], info["assignment"]
        self.notebook = info["notebook"]
        self.db_url = info["db_url"]
        self.cells = _assignment_cells(self.db_url, self.notebook, self.assignment)
        self.course = CourseDirectory(config=pp.config)
        self.findings: list[str] = []
        self.history: list[str] = []  # student-kernel sources run so far (replayed on restart)
        self.locked_sources: list[str] = []  # checker sources run so far (setup)
        self.t0 = time.monotonic()
        self.tmp = Path(tempfile.mkdtemp(prefix="lkg-", dir="/tmp"))  # short socket paths
        self.student_kernel: Kernel | None = None
        self.checker: Kernel | None = None

    # ----------------------------------------------------------------- set-up

    def _paths(self):
        fmt = self.course.format_path
        submitted = Path(fmt(self.course.submitted_directory, self.student, self.assignment))
        release = Path(fmt(self.course.release_directory, ".", self.assignment))
        return submitted, release

    def _stage_release(self, release: Path) -> Path:
        staging = self.tmp / "release"
        staging.mkdir()
        if release.is_dir():
            for path in release.rglob("*"):
                rel = path.relative_to(release)
                if path.is_file() and path.suffix != ".ipynb" and not path.is_symlink():
                    (staging / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, staging / rel)
        for path in [staging, *staging.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        return staging

    def _intake(self) -> None:
        submitted, release = self._paths()
        for name in intake.extra_files(submitted, release):
            self.findings.append(f"{name} beside the notebook (not given to the grading kernel)")
        try:
            submitted_nb = intake.read_notebook(submitted / f"{self.notebook}.ipynb", 2**40)
            released_nb = intake.read_notebook(release / f"{self.notebook}.ipynb", 2**40)
        except (OSError, intake.NotebookRefused):
            return
        source = {gid: (c.cell_type, c.locked, c.points) for gid, c in self.cells.items()}
        tests = {gid for gid, c in self.cells.items() if c.points is not None}
        self.findings += intake.cell_findings(submitted_nb, released_nb, source, tests)

    def _start(self) -> None:
        staging = self._stage_release(self._paths()[1])
        limits = sandbox.Limits(
            memory_bytes=self.pp.memory_limit,
            cpu_seconds=self.pp.cpu_limit,
            processes=self.pp.process_limit,
        )
        self.student_kernel = student_kernel(
            self.tmp,
            staging,
            use_sandbox=self.pp.sandbox == "bwrap",
            bwrap=self.pp.bwrap,
            limits=limits,
            uids=self.pp.sandbox_uids,
        )
        self.checker = checker_kernel(self.tmp)
        self.student_kernel.launch()  # both start at once, then both are waited for
        self.checker.launch()
        self.student_kernel.wait_ready(self.pp.startup_timeout)
        self.checker.wait_ready(self.pp.startup_timeout)
        self._connect_checker()

    def _connect_checker(self) -> None:
        try:  # before any student code: what the tamper report compares with
            checker_side.ask(self.student_kernel.kc, {"op": "baseline"}, self.pp.startup_timeout)
        except checker_side.StudentCodeError as err:
            raise RuntimeError(f"the student's kernel did not start properly: {err}") from None
        ran = self.checker.run(
            f"{CHECKER}.connect({self.student_kernel.connection_file!r})", self.pp.startup_timeout
        )
        if ran.status != "ok":
            raise RuntimeError(f"the checker could not reach the student's kernel: {ran.evalue}")

    # ----------------------------------------------------------------- the walk

    def grade(self) -> None:
        self._intake()
        self.pp.log_line(
            "info",
            "Grading %s/%s: student code %s, tests in a separate checker kernel",
            self.student,
            self.assignment,
            "in a bubblewrap sandbox" if self.pp.sandbox == "bwrap" else "WITHOUT a sandbox",
        )
        self._start()
        count = 0
        for cell in self.nb.cells:
            if cell.cell_type != "code":
                continue
            count += 1
            cell.execution_count = count
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            spec = self.cells.get(gid)
            if time.monotonic() - self.t0 > self.pp.submission_timeout:
                cell.outputs = _nodes(
                    [
                        _error(
                            "SubmissionTimeout",
                            f"not run: grading this notebook stopped after "
                            f"{self.pp.submission_timeout} s",
                        )
                    ]
                )
                self._note(f"used up the {self.pp.submission_timeout} s for the whole notebook")
                continue
            if spec is not None and spec.is_test:
                self._test_cell(cell, spec)
            elif spec is not None and spec.locked and spec.cell_type == "code":
                self._locked_cell(cell, spec)
            else:
                self._student_cell(cell, cell.source)
        self._observe()

    def _note(self, finding: str) -> None:
        if finding not in self.findings:
            self.findings.append(finding)

    def _limit_signs(self, outputs) -> None:
        for out in outputs:
            if out.get("output_type") != "error":
                continue
            if out.get("ename") in _LIMIT_SIGNS:
                self._note(_LIMIT_SIGNS[out["ename"]])
            elif "No space left on device" in str(out.get("evalue")):
                self._note("filled its scratch space")
            elif "File too large" in str(out.get("evalue")):
                self._note("hit the file size limit")

    def _student_cell(self, cell, source: str, record_outputs: bool = True) -> None:
        ran = self.student_kernel.run(source, self.pp.timeout, store_history=True)
        outputs = list(ran.outputs)
        if ran.truncated:
            self._note("printed more than the grader keeps (output truncated)")
        if ran.status in ("ok", "error"):
            self.history.append(source)
        elif ran.status == "timeout":
            if not any(o.get("output_type") == "error" for o in outputs):
                outputs.append(_error("CellTimeoutError", f"interrupted after {self.pp.timeout} s"))
            self._note(f"a cell ran past {self.pp.timeout} s and was interrupted")
        else:
            what = (
                f"it ignored the interrupt after {self.pp.timeout} s"
                if ran.status == "hung"
                else f"the kernel stopped (exit status {self.student_kernel.exit_status()})"
            )
            outputs.append(
                _error(
                    "KernelRestarted",
                    f"{what}; the kernel was restarted and the cells above it run again",
                )
            )
            self._note(
                "a cell ignored the interrupt (kernel restarted)"
                if ran.status == "hung"
                else "the kernel died (os._exit, a crash or a limit) and was restarted"
            )
            self._restart_student()
        self._limit_signs(outputs)
        if record_outputs:
            cell.outputs = _nodes(outputs)

    def _locked_cell(self, cell, spec: CellSpec) -> None:
        cell.source = spec.source
        ran = self.checker.run(spec.source, self.pp.timeout, store_history=True)
        if ran.status == "ok":
            self.locked_sources.append(spec.source)
        else:
            self.pp.log_line(
                "warning",
                "locked cell %s failed in the checker: %s",
                spec.grade_id,
                ran.evalue or ran.status,
            )
        self._student_cell(cell, spec.source)

    def _test_cell(self, cell, spec: CellSpec) -> None:
        cell.source = spec.source
        meta = cell.metadata.setdefault("nbgrader", {})
        meta.update(
            grade=True, solution=False, locked=True, points=spec.points, grade_id=spec.grade_id
        )
        prepare = (
            f"{CHECKER}.begin_cell({self.pp.timeout}, {spec.hidden}); "
            f"{CHECKER}.bind({spec.source!r})"
        )
        ready = self.checker.run(prepare, self.pp.timeout + INTERRUPT_GRACE_S)
        if ready.status != "ok":
            cell.outputs = _nodes(
                [
                    _error(
                        "GraderError", f"could not reach your kernel for this test: {ready.evalue}"
                    )
                ]
            )
            self._check_student_kernel()
            return
        budget = self.pp.timeout + INTERRUPT_GRACE_S + 5
        ran = self.checker.run(spec.source, budget, store_history=True)
        outputs = list(ran.outputs)
        if ran.status in ("timeout", "hung", "died"):
            outputs.append(_error("CellTimeoutError", f"the test did not finish within {budget} s"))
            if ran.status != "timeout":
                self._restart_checker()
        if spec.hidden:
            for out in outputs:
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out['ename']}: {out['evalue']}"]
        self._limit_signs(outputs)
        if any("the grader cannot read" in str(o.get("evalue")) for o in outputs):
            self._note("a function returned something the grader cannot read (not plain data)")
        cell.outputs = _nodes(outputs)
        if ran.status != "ok":
            self._check_student_kernel()

    # ----------------------------------------------------------------- recovery

    def _check_student_kernel(self) -> None:
        if not self.student_kernel.alive():
            self._note("the kernel died (os._exit, a crash or a limit) and was restarted")
            self._restart_student()
            return
        probe = self.student_kernel.run("pass", INTERRUPT_GRACE_S)
        if probe.status != "ok":
            self._note("a function ignored the interrupt (kernel restarted)")
            self._restart_student()

    def _restart_student(self) -> None:
        self.pp.log_line("warning", "%s: restarting the student's kernel", self.student)
        self.student_kernel.restart(self.pp.startup_timeout)
        self._connect_checker()
        for source in list(self.history):
            ran = self.student_kernel.run(source, self.pp.timeout, store_history=True)
            if ran.status not in ("ok", "error"):
                self._note("a cell failed again when the kernel was restarted")
                self.student_kernel.restart(self.pp.startup_timeout)
                self._connect_checker()
                break

    def _restart_checker(self) -> None:
        self.checker.restart(self.pp.startup_timeout)
        self._connect_checker()
        for source in self.locked_sources:
            self.checker.run(source, self.pp.timeout, store_history=True)

    # ----------------------------------------------------------------- the end

    def _observe(self) -> None:
        if self.student_kernel is None or not self.student_kernel.alive():
            return
        try:
            reply = checker_side.ask(
                self.student_kernel.kc,
                {"op": "observe"},
                10,
                interrupt=self.student_kernel.interrupt,
                alive=self.student_kernel.alive,
            )
        except checker_side.StudentCodeError as err:
            self._note(f"its kernel did not answer the final check ({err})")
            return
        if not isinstance(reply.get("findings"), list):
            self._note("its kernel's answers were not the grader's (the channel was replaced?)")
            return
        for finding in reply.get("findings", [])[:40]:
            if isinstance(finding, str):
                self._note(f"in its kernel: {finding[:300]}")

    def close(self) -> None:
        for kernel in (self.checker, self.student_kernel):
            if kernel is not None:
                kernel.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        seconds = time.monotonic() - self.t0
        findings = list(self.findings)
        if self.pp.sandbox == "none":
            findings.insert(0, report.UNPROTECTED)
        report.record(
            report.path_for(self.db_url),
            self.assignment,
            self.student,
            findings=findings,
            sandbox=self.pp.sandbox,
            seconds=round(seconds, 2),
        )
        self.pp.log_line(
            "info",
            "Graded %s/%s in %.1f s; %s",
            self.student,
            self.assignment,
            seconds,
            f"{len(findings)} finding(s): " + "; ".join(findings) if findings else "no findings",
        )


def student_kernel(
    tmp: Path, staging: Path, *, use_sandbox: bool, bwrap: str, limits, uids: str
) -> Kernel:
    """The student's kernel (not started): in the sandbox, or, opted out, a plain process.

    ``tmp`` is a private folder for its sockets (and, unsandboxed, its scratch
    copy); ``staging`` holds the released files it starts with.
    """
    python = sys.executable
    kdir = tmp / "k"
    kdir.mkdir(mode=0o700)
    inner = [python, "-c", BOOT]
    if not use_sandbox:
        env = {
            **sandbox.kernel_env(python),
            "PYTHONPATH": ASSIGNMENTS_DIR,
            "LOSSKIT_GRADING_RELEASE": str(staging),
            "LOSSKIT_GRADING_SCRATCH": str(tmp / "scratch"),
        }
        return Kernel(
            "student", lambda conn: [*inner, "-f", conn], env=env, cwd=str(tmp), workdir=kdir
        )
    uid = None
    if os.geteuid() == 0:  # as root: a uid of its own, and the socket folder is its
        low, high = (int(x) for x in uids.split("-"))
        uid = sandbox.sandbox_uid(range(low, high + 1))
        os.chown(kdir, uid, uid)

    def command(conn):
        return sandbox.command(
            [*inner, "-f", conn],
            bwrap=bwrap,
            release_dir=str(staging),
            socket_dir=str(kdir),
            limits=limits,
            uid=uid,
            env=sandbox.kernel_env(python),
        )

    return Kernel("student", command, env={}, cwd="/", workdir=kdir, owner=uid)


def checker_kernel(tmp: Path) -> Kernel:
    """The checker kernel (not started): this environment, the grading package, no student file."""
    cdir, cwd = tmp / "c", tmp / "cwd"
    for d in (cdir, cwd):
        d.mkdir(mode=0o700)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("JPY_", "JUPYTER"))},
        "PYTHONPATH": ASSIGNMENTS_DIR,
        "NBGRADER_EXECUTION": "autograde",
        "MPLBACKEND": "agg",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    argv = [sys.executable, "-m", "ipykernel_launcher", "--HistoryManager.hist_file=:memory:"]
    return Kernel("checker", lambda conn: [*argv, "-f", conn], env=env, cwd=str(cwd), workdir=cdir)
