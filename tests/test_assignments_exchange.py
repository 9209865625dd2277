"""The nbgrader exchange workflow end to end, as on a JupyterHub, with two students.

Instructor: generate_assignment, release_assignment; each student (own home
folder and cache, explicit student id): fetch_assignment, work, submit;
instructor: collect, autograde, generate_feedback, release_feedback; each
student: fetch_feedback. The exchange root is a temporary directory and
``Exchange.path_includes_course`` is on, as on a multi-course hub.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from nbgrader_helpers import course_tools

ct = course_tools

pytestmark = pytest.mark.slow

ASSIGNMENT = "ps1_losses"


def _ok(step, what):
    assert step.returncode == 0, f"{what} failed:\n{step.log}"
    return step


def test_exchange_workflow_two_students(tmp_path):
    root = ct.copy_course(tmp_path / "course")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o777)
    common = [
        f"--Exchange.root={exchange}",
        f"--CourseDirectory.course_id={ct.COURSE_ID}",
        "--Exchange.path_includes_course=True",
    ]
    variants = {v.student: v for v in ct.variants(ASSIGNMENT)}
    work = {"alice": variants["reference"], "bob": variants["naive_logsumexp"]}
    homes = {student: tmp_path / "home" / student for student in work}
    for home in homes.values():
        home.mkdir(parents=True)

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

    # instructor releases; each student fetches (nbgrader loaded once for all four)
    steps = [
        (root, ["generate_assignment", ASSIGNMENT, "--force"]),
        (root, ["release_assignment", ASSIGNMENT, *common]),
    ] + [as_student(s, "fetch_assignment", ASSIGNMENT) for s in work]
    for step, what in zip(
        ct.nbgrader_batch(steps),
        ["generate_assignment", "release_assignment"] + [f"{s}: fetch" for s in work],
        strict=True,
    ):
        _ok(step, what)
    assert (exchange / ct.COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()

    # each student works in the fetched notebook
    for student, variant in work.items():
        fetched = homes[student] / ct.COURSE_ID / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert fetched.is_file() and (fetched.parent / "own_work.py").is_file()
        nbformat.write(variant.build(fetched, ct.source_notebook(root, ASSIGNMENT)), fetched)

    # students submit; instructor collects, autogrades, releases feedback; students fetch it
    names = [f"{s}: submit" for s in work] + [
        "collect",
        "autograde",
        "generate_feedback",
        "release_feedback",
    ]
    steps = [as_student(s, "submit", ASSIGNMENT) for s in work] + [
        (root, ["collect", ASSIGNMENT, *common]),
        (root, ["autograde", ASSIGNMENT]),
        (root, ["generate_feedback", ASSIGNMENT]),
        (root, ["release_feedback", ASSIGNMENT, *common]),
    ]
    names += [f"{s}: fetch_feedback" for s in work]
    steps += [as_student(s, "fetch_feedback", ASSIGNMENT) for s in work]
    done = dict(zip(names, ct.nbgrader_batch(steps), strict=True))
    for name, step in done.items():
        if name != "autograde":  # autograde is judged by the gradebook below
            _ok(step, name)

    inbound = sorted(p.name.split("+")[0] for p in (exchange / ct.COURSE_ID / "inbound").iterdir())
    assert inbound == ["alice", "bob"]
    for student in work:
        assert (root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    results = ct.read_gradebook(root, ASSIGNMENT)
    assert sorted(results) == ["alice", "bob"]
    assert results["alice"].code_score == results["alice"].code_max > 0
    assert 0 < results["bob"].code_score < results["bob"].code_max
    assert results["bob"].cells["hidden_log_softmax"].score == 0

    # each student has their own feedback, with their own score and no hidden tests
    for student in work:
        reports = list((homes[student] / ct.COURSE_ID / ASSIGNMENT / "feedback").rglob("*.html"))
        assert len(reports) == 1, reports
        html = reports[0].read_text()
        score = results[student]
        assert f"(Score: {score.code_score:.1f} / {score.code_max:.1f})" in html
        assert "BEGIN HIDDEN TESTS" not in html, "feedback must not show the hidden tests"
        if student == "alice":  # nothing failed, so no traceback quotes a hidden test
            assert "_ref_log_softmax" not in html
