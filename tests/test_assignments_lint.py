"""Fast checks of the nbgrader course: sources in sync, metadata lint, the own-work check.

The full pipeline (generate, autograde, exchange) is in
``test_assignments_pipeline.py`` and ``test_assignments_exchange.py`` (slow).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import jupytext
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
    assert own_work.library_references(f) == []


@pytest.mark.parametrize(
    ("library", "code"),
    [
        # scipy.special.log_softmax gives exactly the right numbers: only this check stops it
        ("scipy", "import scipy.special\ndef f(x):\n    return scipy.special.log_softmax(x, -1)"),
        (
            "scipy",
            "from scipy.special import log_softmax as L\ndef f(x):\n    return L(x, axis=-1)",
        ),
        (
            "scipy",
            "def f(x):\n    from scipy import special\n    return special.log_softmax(x, -1)",
        ),
        # a SciPy ufunc has no __module__: found by identity in SciPy's modules
        ("scipy", "from scipy.special import expit\ndef f(x):\n    return np.log(expit(x))"),
        # through a helper of the notebook: the helper's code is inspected too
        (
            "scipy",
            "from scipy.special import logsumexp\ndef helper(x):\n"
            "    return logsumexp(x, axis=-1, keepdims=True)\ndef f(x):\n    return x - helper(x)",
        ),
        # hidden behind importlib: caught at run time (SciPy's Python code runs)
        (
            "scipy",
            "import importlib\ndef f(x):\n"
            "    return importlib.import_module('sci' + 'py.special').log_softmax(x, -1)",
        ),
        (
            "sklearn",
            "def f(x):\n    from sklearn.utils.extmath import softmax\n"
            "    return np.log(softmax(x.copy()))",
        ),
    ],
)
def test_own_work_rejects_delegation_to_other_libraries(library, code):
    """End to end with the libraries the dev extra installs (SciPy, scikit-learn); the
    check is the same for every name in LIBRARIES (see the test below)."""
    f = _student_namespace(code)["f"]
    assert library in own_work.LIBRARIES
    with pytest.raises(AssertionError, match="your own implementation") as err:
        own_work.call_own_work(f, np.array([[1.0, 2.0, 3.0]]))
    assert library in str(err.value)


@pytest.mark.parametrize(
    ("name", "library"),
    [
        ("torch.nn.functional", "torch"),
        ("jax.numpy", "jax"),
        ("scipy.special._logsumexp", "scipy"),
        ("sklearn", "sklearn"),
        ("losskit.numerics", "losskit"),
        ("numpy", None),
        ("torchvision", None),  # a prefix of a name is not the library
        ("my_scipy_notes", None),
    ],
)
def test_own_work_knows_each_library_by_its_top_level_module(name, library):
    assert own_work._library_of(name) == library


def test_own_work_accepts_numpy_names_scipy_also_exports():
    """NumPy functions imported by name stay NumPy's, even with SciPy loaded."""
    pytest.importorskip("scipy.special")
    f = _student_namespace(
        "from numpy import exp, log, logaddexp\ndef f(x):\n"
        "    m = x.max(axis=-1, keepdims=True)\n"
        "    return x - m - log(exp(x - m).sum(axis=-1, keepdims=True)) + 0 * logaddexp(0, 0)"
    )["f"]
    assert own_work.library_references(f) == []
    assert np.allclose(np.exp(own_work.call_own_work(f, np.array([[1.0, 2.0]]))).sum(), 1.0)


# ----------------------------------------------------------------------- README and own_work.py


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


def _course_copy(tmp_path, monkeypatch):
    """build_notebooks pointed at a copy of the course's own_work.py and sources."""
    src = tmp_path / "source"
    shutil.copytree(ASSIGNMENTS_DIR / "source", src, symlinks=True)
    shutil.copy(ASSIGNMENTS_DIR / "own_work.py", tmp_path / "own_work.py")
    monkeypatch.setattr(build_notebooks, "SOURCE", src)
    monkeypatch.setattr(build_notebooks, "OWN_WORK", tmp_path / "own_work.py")
    assert build_notebooks.stale() == []
    return [src / a / "own_work.py" for a in ct.ASSIGNMENTS]


def test_own_work_link_checked_out_as_text_is_stale_and_rebuilt_as_a_copy(tmp_path, monkeypatch):
    """Git without symlink support writes the link's target as text; the build copies instead."""
    links = _course_copy(tmp_path, monkeypatch)
    for link in links:
        link.unlink()
        link.write_text("../../own_work.py")  # what git writes with core.symlinks=false
    assert sorted(build_notebooks.stale()) == sorted(links)

    def no_symlinks(self, target, target_is_directory=False):
        raise OSError("symbolic links are not available")

    monkeypatch.setattr(Path, "symlink_to", no_symlinks)
    assert sorted(build_notebooks.build()) == sorted(links)
    canonical = (tmp_path / "own_work.py").read_bytes()
    for link in links:
        assert not link.is_symlink() and link.read_bytes() == canonical
    assert build_notebooks.stale() == []
    (tmp_path / "own_work.py").write_text(canonical.decode() + "# changed\n")
    assert sorted(build_notebooks.stale()) == sorted(links), "an outdated copy is stale"


def test_own_work_docstring_describes_how_it_is_shipped():
    doc = own_work.__doc__
    assert "symlink" in doc and "copies it into" not in doc
    for name in ("losskit", "SciPy", "scikit-learn", "PyTorch", "JAX"):
        assert name in doc


def test_released_own_work_copies_match_the_canonical_one():
    canonical = (ASSIGNMENTS_DIR / "own_work.py").read_text()
    for assignment in ct.ASSIGNMENTS:
        assert (ASSIGNMENTS_DIR / "source" / assignment / "own_work.py").read_text() == canonical
