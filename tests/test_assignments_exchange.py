"""The nbgrader exchange workflow end to end, as on a JupyterHub, with two students.

Instructor: generate_assignment, release_assignment; each student (own home
folder and cache, explicit student id): fetch_assignment, work, submit;
instructor: collect, autograde, generate_feedback, release_feedback; each
student: fetch_feedback. The exchange root is a temporary directory and
``Exchange.path_includes_course`` is on, as on a multi-course hub. Autograde is
plain ``nbgrader autograde ps1_losses`` run as a command in the course folder:
the course's ``nbgrader_config.py`` alone routes it through the sandbox.
"""

from __future__ import annotations

import html

import pytest
from nbgrader_helpers import course_tools

ct = course_tools

pytestmark = pytest.mark.slow

ASSIGNMENT = "ps1_losses"


def test_exchange_workflow_two_students(tmp_path):
    root = ct.copy_course(tmp_path / "course")
    variants = {v.student: v for v in ct.variants(ASSIGNMENT)}
    alice, bob = variants["reference"], variants["naive_logsumexp"]
    work = [
        ct.Variant("alice", alice.description, expect="full"),
        ct.Variant("bob", bob.description, replace=bob.replace, zero_cells=bob.zero_cells),
    ]
    run = ct.through_exchange(root, ASSIGNMENT, work, tmp_path, cli=True)
    for name, log in run.logs.items():
        assert "Error" not in log or name == "autograde", (name, log)
    assert (
        "student code in a bubblewrap sandbox, tests in a separate checker kernel"
        in (run.logs["autograde"])
    )

    inbound = sorted(
        p.name.split("+")[0] for p in (run.exchange / ct.COURSE_ID / "inbound").iterdir()
    )
    assert inbound == ["alice", "bob"]
    results = run.results
    assert sorted(results) == ["alice", "bob"]
    assert results["alice"].code_score == results["alice"].code_max > 0
    assert 0 < results["bob"].code_score < results["bob"].code_max
    assert results["bob"].cells["hidden_log_softmax"].score == 0
    hidden = ct.hidden_test_lines(ct.source_notebook(root, ASSIGNMENT))

    # each student has their own feedback, with their own score and no hidden tests
    for student in ("alice", "bob"):
        page = html.unescape(run.feedback_html(student))
        score = results[student]
        assert f"(Score: {score.code_score:.1f} / {score.code_max:.1f})" in page
        assert "BEGIN HIDDEN TESTS" not in page, "feedback must not show the hidden tests"
        assert [line for line in hidden if line in page] == [], student
