"""Fast checks of the nbgrader course: sources in sync, metadata lint, the own-work check.

The full pipeline (generate, autograde, exchange) is in
``test_assignments_pipeline.py`` and ``test_assignments_exchange.py`` (slow).
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from nbgrader_helpers import ASSIGNMENTS_DIR, build_notebooks, course_tools, own_work

ct = course_tools


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_every_assignment_has_a_twin_and_a_notebook(assignment):
    folder = ASSIGNMENTS_DIR / "source" / assignment
    assert (folder / f"{assignment}.pct.py").is_file()
    assert (folder / f"{assignment}.ipynb").is_file()
    assert (folder / "own_work.py").is_file()


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


# ----------------------------------------------------------------------- own-work check


def _student_namespace(code: str) -> dict:
    ns: dict = {"np": np}
    exec(compile(code, "<student cell>", "exec"), ns)
    return ns


@pytest.mark.parametrize(
    "code",
    [
        "import losskit\ndef f(x):\n    return losskit.log_softmax(x)",
        "from losskit import log_softmax as lsm\ndef f(x):\n    return lsm(x)",
        "def f(x):\n    import losskit\n    return losskit.log_softmax(x)",
        "def f(x):\n    from losskit.numerics import log_softmax\n    return log_softmax(x)",
        "def f(x):\n    g = lambda y: __import__('losskit').log_softmax(y)\n    return g(x)",
        # indirect: f is clean, its helper is not; caught at run time
        "import losskit\ndef helper(x):\n    return losskit.log_softmax(x)\n"
        "def f(x):\n    return helper(x)",
        # hidden behind importlib: caught at run time
        "import importlib\ndef f(x):\n"
        "    return importlib.import_module('loss' + 'kit').log_softmax(x)",
    ],
)
def test_own_work_rejects_delegation_to_losskit(code):
    f = _student_namespace(code)["f"]
    with pytest.raises(AssertionError, match="losskit"):
        own_work.call_own_work(f, np.array([[1.0, 2.0, 3.0]]))


def test_own_work_accepts_numpy_code_and_returns_the_result():
    f = _student_namespace(
        "def f(x):\n    m = x.max(axis=-1, keepdims=True)\n"
        "    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))"
    )["f"]
    out = own_work.call_own_work(f, np.array([[1.0, 2.0, 3.0]]))
    assert np.allclose(np.exp(out).sum(), 1.0)
    assert own_work.losskit_references(f) == []


def test_released_own_work_copies_match_the_canonical_one():
    canonical = (ASSIGNMENTS_DIR / "own_work.py").read_text()
    for assignment in ct.ASSIGNMENTS:
        assert (ASSIGNMENTS_DIR / "source" / assignment / "own_work.py").read_text() == canonical
