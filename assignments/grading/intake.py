"""A submission as it arrives: refuse what cannot be a notebook, describe what was changed.

- ``SafeNotebookExporter`` (``c.Autograde.exporter_class``) reads a submitted
  notebook only if it is at most ``max_bytes`` and valid notebook JSON; anything
  else is refused with one sentence saying what it is and what to do, before
  nbgrader parses it (a 500 MB file is never loaded). nbgrader then records that
  submission as failed and goes on with the next student; the submitted file is
  left as it was.
- ``RestoreCells`` (a sanitizing step) keeps nbgrader from failing a whole
  submission over a duplicated, renamed or deleted cell.
- ``missing_notebooks`` (``c.Autograde.pre_convert_hook``) says plainly when a
  student's folder lacks the assignment's notebook (say, another assignment's
  notebook was submitted instead), which nbgrader reports only as "No
  notebooks found, did you forget to run 'nbgrader generate_assignment'?".
- ``cell_findings`` and ``extra_files`` compare a submission with the
  assignment as released, for the tamper report.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer
from traitlets.log import get_logger

from . import report

IGNORED_FILES = {"timestamp.txt", "submission_secret.txt", ".DS_Store"}  # nbgrader's own
IGNORED_DIRS = {".ipynb_checkpoints", "__pycache__", "feedback"}


class NotebookRefused(ValueError):
    """A submitted file that is not a notebook this course can grade."""


def _describe_json_error(name: str, err: json.JSONDecodeError) -> str:
    return (
        f"{name} is not a notebook: its JSON is broken at line {err.lineno}, column {err.colno} "
        f"({err.msg}). The student should open it in JupyterLab (or restore a checkpoint), save, "
        "and submit again; the submitted file is kept as it is."
    )


def read_notebook(path, max_bytes: int):
    """The notebook at ``path`` (nbformat v4), or ``NotebookRefused`` saying why not."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise NotebookRefused(
            f"{path.name} is {size / 2**20:.0f} MiB; notebooks over {max_bytes / 2**20:.0f} MiB "
            "are not graded (c.SafeNotebookExporter.max_bytes). Usually outputs make it big: "
            "Edit > Clear Outputs of All Cells, save, submit again."
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise NotebookRefused(
            f"{path.name} is not a notebook: it is not UTF-8 text (a binary file renamed "
            ".ipynb?). The submitted file is kept as it is."
        ) from None
    except json.JSONDecodeError as err:
        raise NotebookRefused(_describe_json_error(path.name, err)) from None
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise NotebookRefused(
            f"{path.name} is JSON but not a notebook (no 'cells' or 'nbformat' field)."
        )
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several kinds for invalid notebooks
        raise NotebookRefused(
            f"{path.name} is not a valid notebook ({type(err).__name__}: {str(err)[:300]})."
        ) from None
    return nb


class SafeNotebookExporter(NotebookExporter):
    """nbgrader's notebook exporter, refusing oversized or broken files before parsing them."""

    max_bytes = Integer(
        64 * 2**20, help="Largest submitted notebook that is graded, in bytes."
    ).tag(config=True)

    def from_filename(self, filename, resources=None, **kw):
        try:
            nb = read_notebook(filename, self.max_bytes)
        except NotebookRefused as err:
            info = (resources or {}).get("nbgrader", {})
            if info.get("student") and "submitted" in Path(filename).parts:
                report.record(
                    report.path_for(info.get("db_url", "")),
                    info.get("assignment", "?"),
                    info["student"],
                    findings=[f"refused: {err}"],
                    sandbox="not run",
                )
            get_logger().error("Not graded: %s", err)
            raise
        resources = self._init_resources(resources)
        resources.setdefault("metadata", {})
        resources["metadata"].setdefault("name", Path(filename).stem)
        resources["metadata"].setdefault("path", os.path.dirname(os.path.abspath(filename)))
        return self.from_notebook_node(nb, resources, **kw)


class RestoreCells(NbGraderPreprocessor):
    """Make the assignment's cells whole again before ``OverwriteCells`` (sanitizing step).

    nbgrader 0.9 loses the whole submission, scoring it 0, when: a cell is
    duplicated (``DeduplicateIds`` empties the copy's metadata and
    ``OverwriteCells`` then fails with ``KeyError: 'grade_id'``); a cell has a
    grade id the assignment does not have (the same); a test cell's ``grade``
    flag was turned off ("Inconsistent checksums"); a deleted grade cell follows
    another deleted cell (``add_missing_cells`` fails with a ``KeyError``). So
    here, in order: metadata naming no cell of the assignment is dropped (the
    cell stays, as the student's code); each known cell gets its ``grade`` and
    ``solution`` flags back from the gradebook; every cell of the released
    notebook that is missing is put back as released, after the cell it
    followed there. Nothing a student did this way can raise a score: the
    tests' sources always come from the gradebook.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            known = {c.name for c in notebook.source_cells}
            graded = {c.name for c in notebook.grade_cells}
            answers = {c.name for c in notebook.solution_cells}
        for cell in nb.cells:
            meta = cell.get("metadata", {})
            if "nbgrader" not in meta:
                continue
            gid = meta["nbgrader"].get("grade_id")
            if gid not in known:
                del meta["nbgrader"]
            else:
                meta["nbgrader"]["grade"] = gid in graded
                meta["nbgrader"]["solution"] = gid in answers
        self._put_back_missing(nb, info)
        return nb, resources

    def _put_back_missing(self, nb, info) -> None:
        course = CourseDirectory(config=self.config)
        release = Path(course.format_path(course.release_directory, ".", info["assignment"]))
        try:
            released = read_notebook(release / f"{info['notebook']}.ipynb", 2**40)
        except (OSError, NotebookRefused):
            return

        def gid(cell):
            return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")

        present = {gid(c) for c in nb.cells} - {None}
        previous = None  # the released cell with a grade id that came before
        for cell in released.cells:
            name = gid(cell)
            if name is None:
                continue
            if name not in present:
                index = next(
                    (i + 1 for i, c in enumerate(nb.cells) if previous and gid(c) == previous), 0
                )
                restored = nbformat.from_dict(json.loads(json.dumps(cell)))
                restored["id"] = f"restored-{uuid.uuid4().hex[:8]}"
                nb.cells.insert(index, restored)
                present.add(name)
                self.log.warning("Cell %s was missing: put back as released", name)
            previous = name


def missing_notebooks(assignment=None, student=None, notebooks=None, **_):
    """pre_convert_hook: say clearly when a submission lacks the assignment's notebooks.

    nbgrader passes the command line's ids (``*`` when grading everyone), so the
    student and assignment come from the notebooks' paths
    (``submitted/<student>/<assignment>/<name>.ipynb``).
    """
    paths = [Path(n) for n in notebooks or []]
    if not paths:
        return
    student, assignment = paths[0].parent.parent.name, paths[0].parent.name
    release = Path.cwd() / "release" / assignment
    expected = {p.name for p in release.glob("*.ipynb")}
    given = {p.name for p in paths}
    missing = sorted(expected - given)
    if not missing:
        return
    others = sorted(given - expected)
    message = (
        f"{student}'s {assignment} has no {', '.join(missing)}"
        + (f" (it holds {', '.join(others)}: another assignment's notebook?)" if others else "")
        + "; they earn no score (nbgrader then stops with 'No notebooks found'). The student "
        f"should submit the notebook fetched for {assignment}, under its own name."
    )
    get_logger().error(message)
    db = Path.cwd() / "gradebook.db"
    report.record(
        report.path_for(f"sqlite:///{db}"),
        assignment,
        student,
        findings=[message],
        sandbox="not run",
    )


def extra_files(submitted_dir: Path, release_dir: Path) -> list[str]:
    """Files in the submission that the release did not have (relative paths)."""

    def files(root: Path) -> set[str]:
        out = set()
        if not root.is_dir():
            return out
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in IGNORED_DIRS]
            for f in filenames:
                if f not in IGNORED_FILES:
                    out.add(os.path.relpath(os.path.join(dirpath, f), root))
        return out

    return sorted(files(Path(submitted_dir)) - files(Path(release_dir)))


def _points(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def cell_findings(submitted, released, source_cells: dict, grade_cells: set[str]) -> list[str]:
    """How a submitted notebook's graded and locked cells differ from the released notebook's.

    ``source_cells``: grade_id -> (cell_type, locked, points or None), from the gradebook.
    """
    released_sources = {
        c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c.source for c in released.cells
    }
    seen: dict[str, int] = {}
    found = []
    for cell in submitted.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if not gid:
            continue
        seen[gid] = seen.get(gid, 0) + 1
        if gid not in source_cells:
            found.append(f"a cell has grade id {gid!r}, which the assignment does not have")
            continue
        cell_type, locked, points = source_cells[gid]
        if cell.cell_type != cell_type:
            found.append(f"changed the type of cell {gid} to {cell.cell_type}")
        if bool(meta.get("locked")) != bool(locked):
            found.append(f"{'unlocked' if locked else 'locked'} cell {gid}")
        if points is not None and _points(meta.get("points")) != float(points):
            found.append(f"changed the points of {gid} to {meta.get('points')}")
        if gid in grade_cells and not meta.get("grade"):
            found.append(f"marked cell {gid} as not graded")
        if locked and seen[gid] == 1 and cell.source != released_sources.get(gid, cell.source):
            found.append(f"edited locked cell {gid}")
    for gid, n in seen.items():
        if n > 1:
            found.append(f"duplicated cell {gid} ({n} copies)")
    kernel = submitted.metadata.get("kernelspec", {}).get("name")
    if kernel != released.metadata.get("kernelspec", {}).get("name"):
        found.append(f"changed the notebook's kernel to {kernel!r} (graded with the course's)")
    if grade_cells and not set(seen) & set(grade_cells):
        found.append(
            "none of the assignment's graded cells are in this notebook: another assignment's "
            "notebook?"
        )
    else:
        for gid in sorted(set(source_cells) - set(seen)):
            kind = "test" if gid in grade_cells else "locked" if source_cells[gid][1] else "answer"
            found.append(f"deleted {kind} cell {gid}")
    return found
