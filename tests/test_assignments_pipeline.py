"""The whole nbgrader grading pipeline, run for real on every assignment.

Each assignment is graded in its own fresh temporary copy of the course
(``generate_assignment``, the fixture submissions, plain ``nbgrader
autograde`` through the course's config: student code in the bubblewrap
sandbox, tests in the checker kernel), two assignments at a time; the tests
then assert on nbgrader's Gradebook and the tamper report, never on exit
codes. Budget: a few minutes on two cores; each cell has a 10 s timeout.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from nbgrader_helpers import course_tools

ct = course_tools

# One expensive module fixture: under pytest-xdist, keep these tests on one worker
# (`--dist loadgroup`), or each worker grades the whole course again.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nbgrader_pipeline")]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("course")

    def one(assignment):
        root = ct.copy_course(base / assignment)
        return ct.grade_assignment(root, assignment)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {a: pool.submit(one, a) for a in ct.ASSIGNMENTS}
        return {a: f.result() for a, f in futures.items()}


def _explain(run, student):
    res = run.results.get(student)
    cells = {k: (g.score, g.max_score) for k, g in res.cells.items()} if res else None
    logs = "\n".join(f"--- {k}\n{v[-3000:]}" for k, v in run.logs.items())
    return f"{run.assignment}/{student}: {cells}\n{logs}"


def _bug_params(pred=lambda v: bool(v.zero_cells)):
    return [
        pytest.param(a, v, id=f"{a}-{v.student}")
        for a in ct.ASSIGNMENTS
        for v in ct.variants(a)
        if pred(v)
    ]


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_release_has_no_solution_code_and_no_hidden_tests(runs, assignment):
    run = runs[assignment]
    release_dir = run.root / "release" / assignment
    assert (release_dir / f"{assignment}.ipynb").is_file(), run.logs["generate_assignment"]
    assert ct.leaks(release_dir, ct.source_notebook(run.root, assignment)) == []
    names = sorted(p.name for p in release_dir.iterdir())
    assert names == [f"{assignment}.ipynb"], "only the notebook is released"
    nb = nbformat.read(release_dir / f"{assignment}.ipynb", as_version=4)
    stubs = [c for c in nb.cells if ct.nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    assert stubs and all("raise NotImplementedError()" in c.source for c in stubs)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    hidden_cells = [
        c for c in nb.cells if ct.nbgrader_meta(c).get("grade_id", "").startswith("hidden_")
    ]
    assert hidden_cells, "every assignment has hidden-test cells"
    for cell in hidden_cells:
        assert "assert" not in cell.source, cell.source


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_reference_solution_scores_full_code_marks(runs, assignment):
    run = runs[assignment]
    res = run.results["reference"]
    assert res.graded, _explain(run, "reference")
    assert res.code_max > 0
    for name, grade in res.cells.items():
        if grade.cell_type == "code":
            assert grade.score == grade.max_score, (name, _explain(run, "reference"))
    assert res.sandbox == "bwrap", "graded in the sandbox"
    assert res.findings == [], "an honest submission raises no alarm"


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_blank_release_scores_zero(runs, assignment):
    res = runs[assignment].results["blank"]
    assert res.graded
    assert all(g.score == 0 for g in res.cells.values()), _explain(runs[assignment], "blank")


@pytest.mark.parametrize(("assignment", "variant"), _bug_params())
def test_buggy_submission_loses_exactly_the_named_test_cells(runs, assignment, variant):
    """The broken function's cells (and those of exercises built on it) score 0; the rest full.

    A test cell that judges its exercise through another exercise's function
    (a blank ``batch_indices`` failing ``hidden_epoch_loss``; two bugs that
    cancel because ``accumulated_grad`` is compared with the student's own
    ``linreg_loss_and_grad``) fails here.
    """
    run = runs[assignment]
    res = run.results[variant.student]
    assert res.graded, _explain(run, variant.student)
    for cell in variant.zero_cells:
        assert res.cells[cell].score == 0, (cell, _explain(run, variant.student))
    not_full = sorted(
        name
        for name, g in res.cells.items()
        if g.cell_type == "code" and name not in variant.zero_cells and g.score != g.max_score
    )
    assert not_full == [], (
        "these cells do not test the broken function, nor one built on it",
        _explain(run, variant.student),
    )
    assert 0 < res.code_score < res.code_max, _explain(run, variant.student)
    hidden = [c for c in variant.zero_cells if c.startswith("hidden_")]
    assert hidden, "each bug is caught by a hidden test"
    if variant.category == "bug":
        assert res.findings == [], "an honest (if wrong) submission raises no alarm"


def _errors(run, student, cell_id):
    """The error outputs of one cell of a student's autograded notebook."""
    nb = nbformat.read(
        run.root / "autograded" / student / run.assignment / f"{run.assignment}.ipynb",
        as_version=4,
    )
    cell = next(c for c in nb.cells if ct.nbgrader_meta(c).get("grade_id") == cell_id)
    return [o for o in cell.outputs if o.output_type == "error"]


@pytest.mark.parametrize(("assignment", "variant"), _bug_params())
def test_failing_test_cells_name_the_mistake(runs, assignment, variant):
    """A failing test cell says what is wrong, and says the right thing.

    No bare ``AssertionError`` (nor one whose message is a bare value, like
    ``AssertionError: mean``) in any cell a bug costs; and each cell the fixture
    names in ``messages`` fails on an assertion whose message contains that text
    (an ``IndexError`` from inside NumPy, or a message about another mistake,
    fails here).
    """
    run = runs[assignment]
    for cell_id in variant.zero_cells:
        for err in _errors(run, variant.student, cell_id):
            if err.ename == "AssertionError":
                assert len(err.evalue.strip()) >= 20, (cell_id, err.evalue)
    for cell_id, text in variant.messages:
        errors = _errors(run, variant.student, cell_id)
        assert errors, (cell_id, "no error", _explain(run, variant.student))
        assert errors[0].ename == "AssertionError", (cell_id, errors[0].ename, errors[0].evalue)
        assert text in errors[0].evalue, (cell_id, text, errors[0].evalue)


@pytest.mark.parametrize(
    ("assignment", "variant"),
    _bug_params(lambda v: v.expect == "full" and v.student != "reference"),
)
def test_correct_answers_in_other_styles_score_full_marks(runs, assignment, variant):
    """Loops, other NumPy functions, arrays where lists would do: no point lost."""
    run = runs[assignment]
    res = run.results[variant.student]
    assert res.graded, _explain(run, variant.student)
    assert res.code_score == res.code_max > 0, _explain(run, variant.student)
    assert res.findings == [], "correct answers in other styles raise no alarm"


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_infinite_loop_costs_only_its_cells_within_the_time_budget(runs, assignment):
    """A loop in one solution cell is interrupted; the rest of the notebook is graded."""
    run = runs[assignment]
    res, honest = run.results["infinite_loop"], run.results["first_blank"]
    assert res.graded, _explain(run, "infinite_loop")
    assert res.code_score == honest.code_score < res.code_max, _explain(run, "infinite_loop")
    assert 0 < res.code_score, "the exercises after the loop keep their points"
    seconds = run.seconds["autograde infinite_loop"]
    assert seconds < ct.LOOP_BUDGET_S, f"grading the loop took {seconds:.0f} s"
    looped = next(
        c for c in run.autograded("infinite_loop").cells if c.source.startswith("while True")
    )
    errors = [o.get("ename") for o in looped.outputs if o.output_type == "error"]
    assert errors and errors[0] in {"KeyboardInterrupt", "CellTimeoutError"}, looped.outputs
    assert any("interrupted" in f for f in res.findings), res.findings


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_kernel_kill_costs_only_its_cells_and_does_not_stop_the_others(runs, assignment):
    """The kernel is restarted, the cells above run again, the notebook goes on."""
    run = runs[assignment]
    killer, honest = run.results["kernel_kill"], run.results["first_blank"]
    assert killer.graded, _explain(run, "kernel_kill")
    assert killer.code_score == honest.code_score < killer.code_max, _explain(run, "kernel_kill")
    assert any("restarted" in f for f in killer.findings), killer.findings
    cell = next(c for c in run.autograded("kernel_kill").cells if "os.kill" in c.source)
    assert [o.ename for o in cell.outputs if o.output_type == "error"] == ["KernelRestarted"]
    # the same `nbgrader autograde` run went on to grade the students after it
    later = [s for s in run.results if s > "kernel_kill" and s != "infinite_loop"]
    assert later and all(run.results[s].graded for s in later), later
    assert run.results["reference"].code_score == run.results["reference"].code_max


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
@pytest.mark.parametrize("student", ["edited_tests", "deleted_tests"])
def test_edited_or_deleted_test_cells_do_not_raise_the_score(runs, assignment, student):
    run = runs[assignment]
    variant = next(v for v in ct.variants(assignment) if v.student == student)
    res, honest = run.results[student], run.results[variant.same_as]
    assert res.graded, _explain(run, student)
    assert res.code_score == honest.code_score < honest.code_max, _explain(run, student)
    assert {k: g.max_score for k, g in res.cells.items()} == {
        k: g.max_score for k, g in honest.cells.items()
    }, "points come from the gradebook, not the submitted metadata"
    graded_nb = nbformat.read(
        run.root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4
    )
    for name in ct.test_cell_ids(graded_nb):
        cell = next(c for c in graded_nb.cells if ct.nbgrader_meta(c).get("grade_id") == name)
        assert "the student rewrote this test" not in cell.source
    assert set(ct.test_cell_ids(graded_nb)) >= {k for k in honest.cells if k.startswith("test_")}


def test_written_answer_waits_for_manual_grading(runs):
    run = runs["ps3_batch_noise"]
    answered = run.results["reference"].cells["noise_answer"]
    assert answered.cell_type == "markdown" and answered.max_score > 0
    assert answered.needs_manual_grade, "a changed written answer goes to a human"
    untouched = run.results["blank"].cells["noise_answer"]
    assert untouched.score == 0 and not untouched.needs_manual_grade


def test_widget_cell_skips_its_work_while_grading(runs):
    run = runs["ps3_batch_noise"]
    nb = nbformat.read(
        run.root / "autograded" / "reference" / "ps3_batch_noise" / "ps3_batch_noise.ipynb",
        as_version=4,
    )
    cell = next(c for c in nb.cells if ct.nbgrader_meta(c).get("grade_id") == "explore_noise")
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert "skipped while grading" in text, cell.outputs


@pytest.mark.parametrize(
    ("assignment", "variant"), _bug_params(lambda v: v.student.startswith("calls_"))
)
def test_delegating_to_a_library_fails_in_the_sandbox(runs, assignment, variant):
    """losskit and SciPy cannot be imported while grading: the function is never defined.

    Its tests and those of the exercises built on it score 0; the solution
    cell's output says why; the tamper report notes the import.
    """
    run = runs[assignment]
    res = run.results[variant.student]
    ((function, _),) = variant.replace
    for cell in (f"test_{function}", f"hidden_{function}"):
        assert res.cells[cell].score == 0, (cell, _explain(run, variant.student))
    cell = next(
        c
        for c in run.autograded(variant.student).cells
        if ct.nbgrader_meta(c).get("grade_id") == function
    )
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "ModuleNotFoundError", cell.outputs
    assert "cannot be imported while your notebook is graded" in errors[0].evalue
    assert any(f.startswith("in its kernel: tried to import") for f in res.findings), res.findings


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_hidden_test_failures_show_no_test_source(runs, assignment):
    """A failing hidden test keeps only its last line: no traceback quotes the hidden code."""
    run = runs[assignment]
    hidden_lines = ct.hidden_test_lines(ct.source_notebook(run.root, assignment))
    assert hidden_lines
    for student in ("blank", "naive_logsumexp", "first_blank"):
        if student not in run.results:
            continue
        for cell in run.autograded(student).cells:
            if not ct.nbgrader_meta(cell).get("grade_id", "").startswith("hidden_"):
                continue
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    assert out.traceback == [f"{out.ename}: {out.evalue}"], out.traceback
                text = str(out)
                assert not [line for line in hidden_lines if line in text], (student, text)


@pytest.mark.parametrize(
    ("assignment", "variant"),
    [
        pytest.param(a, v, id=f"{a}-{v.student}")
        for a in ct.ASSIGNMENTS
        for v in ct.variants(a)
        if v.same_as
    ],
)
def test_tampered_submissions_score_what_their_honest_part_earns(runs, assignment, variant):
    run = runs[assignment]
    res, honest = run.results[variant.student], run.results[variant.same_as]
    assert res.graded, _explain(run, variant.student)
    assert res.code_score == honest.code_score, _explain(run, variant.student)
