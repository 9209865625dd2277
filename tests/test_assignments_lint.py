"""Fast checks of the nbgrader course: sources in sync, metadata lint, briefs, fixtures.

The full pipeline (generate, autograde, exchange) is in
``test_assignments_pipeline.py`` and ``test_assignments_exchange.py`` (slow).
"""

from __future__ import annotations

import re

import jupytext
import nbformat
import numpy as np
import pytest
from nbgrader_helpers import ASSIGNMENTS_DIR, build_notebooks, course_tools, tampering

ct = course_tools


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_every_assignment_has_a_twin_and_a_notebook(assignment):
    folder = ASSIGNMENTS_DIR / "source" / assignment
    assert (folder / f"{assignment}.pct.py").is_file()
    assert (folder / f"{assignment}.ipynb").is_file()
    assert (folder / "variants.py").is_file(), "each assignment's fixtures live with it"


def test_notebooks_are_in_sync_with_their_jupytext_twins():
    assert build_notebooks.stale() == [], "run: python assignments/build_notebooks.py"


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_metadata_lint(assignment):
    assert ct.lint_notebook(ct.source_notebook(ASSIGNMENTS_DIR, assignment)) == []


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_every_solution_cell_is_followed_by_its_visible_test(assignment):
    nb = nbformat.read(ct.source_notebook(ASSIGNMENTS_DIR, assignment), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        meta = ct.nbgrader_meta(cell)
        if meta.get("solution"):
            nxt = ct.nbgrader_meta(code[i + 1])
            assert nxt.get("grade") and not nxt.get("solution"), meta["grade_id"]
            assert "### BEGIN HIDDEN TESTS" not in code[i + 1].source, (
                f"{meta['grade_id']}: the cell right after a solution is its visible test"
            )


def _bad_notebook(tmp_path, mutate):
    nb = nbformat.read(ct.source_notebook(ASSIGNMENTS_DIR, "ps1_losses"), as_version=4)
    mutate(nb)
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    return ct.lint_notebook(path)


def _first(nb, pred):
    return next(c for c in nb.cells if pred(ct.nbgrader_meta(c)))


def _is_test(m):
    return m.get("grade") and not m.get("solution")


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (
            lambda nb: _first(nb, _is_test)["metadata"]["nbgrader"].update(locked=False),
            "not locked",
        ),
        (lambda nb: _first(nb, _is_test)["metadata"]["nbgrader"].update(points=0), "points"),
        (
            lambda nb: _first(nb, _is_test)["metadata"]["nbgrader"].update(schema_version=2),
            "schema_version",
        ),
        (
            lambda nb: _first(nb, _is_test)["metadata"]["nbgrader"].update(grade_id="mse_loss"),
            "duplicate",
        ),
        (
            lambda nb: _first(nb, _is_test)["metadata"]["nbgrader"].update(grade_id="bad id!"),
            "grade_id",
        ),
        (
            lambda nb: _first(nb, _is_test).update(
                source="### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
            ),
            "solution region outside",
        ),
        (
            lambda nb: _first(nb, lambda m: m.get("solution")).update(
                source="### BEGIN HIDDEN TESTS\nx = 1\n### END HIDDEN TESTS"
            ),
            "hidden tests outside",
        ),
        (
            lambda nb: _first(nb, _is_test).update(
                outputs=[nbformat.v4.new_output("stream", name="stdout", text="hi")]
            ),
            "outputs",
        ),
        (lambda nb: nb.metadata["kernelspec"].update(name="python2"), "kernelspec"),
    ],
)
def test_lint_catches_each_kind_of_problem(tmp_path, mutate, needle):
    problems = _bad_notebook(tmp_path, mutate)
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_fixture_submissions_build(assignment):
    """Every buggy edit applies to the reference solution (a stale edit fails here, loudly)."""
    source = ct.source_notebook(ASSIGNMENTS_DIR, assignment)
    # the source notebook stands in for the release: both have the same cells
    students = [v.student for v in ct.variants(assignment)]
    assert len(students) == len(set(students))
    bugs = [v for v in ct.variants(assignment) if v.zero_cells]
    assert len(bugs) >= 2, "at least two buggy submissions per assignment"
    for v in ct.variants(assignment):
        nb = v.build(source, source)
        nbformat.validate(nb)
        assert all(z in ct.test_cell_ids(nbformat.read(source, as_version=4)) for z in v.zero_cells)


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_tampering_corpus_builds_and_knows_what_each_must_score(assignment, tmp_path):
    """Each hostile submission says what its honest part earns, and its notebook builds."""
    source = ct.source_notebook(ASSIGNMENTS_DIR, assignment)
    corpus = tampering.corpus(assignment, victim="zz_honest", port=9)
    known = {v.student for v in ct.variants(assignment)} | {v.student for v in corpus}
    for v in corpus:
        assert v.same_as in known or v.expect in ("full", "zero"), v.student
        folder = tmp_path / v.student
        v.write(folder, source, source)
        assert (folder / source.name).is_file()
    if assignment == "ps1_losses":
        assert len(corpus) >= 30, "the corpus covers every tampering category"
        categories = {v.category for v in corpus}
        for wanted in (
            "ipython",
            "files",
            "monkeypatch",
            "objects",
            "reflection",
            "library",
            "filesystem",
            "network",
            "limits",
            "test cells",
            "bad input",
            "channel",
        ):
            assert wanted in categories, wanted


def test_variants_are_never_released():
    """variants.py holds solutions and bugs: nbgrader ignores it like the .pct.py twins."""
    config = (ASSIGNMENTS_DIR / "nbgrader_config.py").read_text()
    assert '"variants.py"' in config and '"*.pct.py"' in config


# ----------------------------------------------------------------------- briefs


def _brief_examples(assignment):
    """(call, expected output) for every ``>>>`` line in the briefs' EXAMPLE blocks."""
    nb = jupytext.read(ASSIGNMENTS_DIR / "source" / assignment / f"{assignment}.pct.py")
    examples = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for block in re.findall(r"```python\n(.*?)```", cell.source, re.S):
            lines = block.splitlines()
            for i, line in enumerate(lines):
                if line.startswith(">>> "):
                    out = []
                    for nxt in lines[i + 1 :]:
                        if nxt.startswith(">>> "):
                            break
                        out.append(nxt)
                    # "   (...)" after an output is an annotation, not part of it
                    expected = "\n".join(out).split("   (")[0].strip()
                    examples.append((line[4:], expected))
    return nb, examples


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_brief_examples_show_what_the_reference_solution_returns(assignment):
    """Each EXAMPLE prints exactly what NumPy 2 shows for the reference solution
    (``np.float64(2.6666666666666665)``, not ``2.6666666666666665``)."""
    nb, examples = _brief_examples(assignment)
    assert examples, assignment
    ns: dict = {}
    with np.printoptions():  # the setup cells set print options: keep them to this test
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and (
                meta.get("solution") or meta.get("grade_id") == "setup"
            ):
                exec(compile(cell.source, meta["grade_id"], "exec"), ns)
        for call, expected in examples:
            code = call.split("  #")[0]
            try:
                got = repr(eval(code, ns)) if expected else exec(code, ns)
            except Exception as err:  # an example may show the error it raises
                got = f"{type(err).__name__}: {err}"
            assert (got or "") == expected, (assignment, call, expected, got)


# ----------------------------------------------------------------------- README


def _points(assignment):
    """(code points, written points) from the source notebook's nbgrader metadata."""
    nb = nbformat.read(ct.source_notebook(ASSIGNMENTS_DIR, assignment), as_version=4)
    code = written = 0
    for cell in nb.cells:
        meta = ct.nbgrader_meta(cell)
        if meta.get("grade"):
            if cell.cell_type == "code":
                code += meta["points"]
            else:
                written += meta["points"]
    return code, written


def test_readme_points_match_the_notebooks():
    readme = (ASSIGNMENTS_DIR / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \|.*\| ([\d +]+?) \|$", readme, re.M))
    assert sorted(rows) == sorted(ct.ASSIGNMENTS), rows
    for assignment in ct.ASSIGNMENTS:
        code, written = _points(assignment)
        want = f"{code:g} + {written:g}" if written else f"{code:g}"
        assert rows[assignment] == want, (assignment, rows[assignment], want)
