"""Students trying to fake a grade, through the real pipeline, as on a hub.

Every submission of the tampering corpus (``assignments/tampering.py``) goes
release -> fetch -> submit -> collect -> autograde -> feedback with its own home
folder, next to the fixtures whose scores define its honest part and an honest
classmate graded after the saboteurs. Asserted: each scores exactly what its
honest part earns; the classmate keeps full marks and an unchanged submission;
no file outside the scratch copies changes; nothing reaches the network; no
feedback carries hidden-test source; the tamper report names what each did and
raises no alarm for the honest ones. ps1 gets the whole corpus, ps2 and ps3 its
core.
"""

from __future__ import annotations

import hashlib
import html
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from nbgrader_helpers import course_tools, grading, tampering

ct = course_tools

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nbgrader_tampering")]

VICTIM = "zz_honest"  # graded last (students are graded in order of their ids)
# what grading may write: the graded copies, the gradebook, the tamper report, nbgrader's log
ALLOWED_CHANGES = ("autograded/", "gradebook.db", "tamper_report.json", ".nbgrader.log")


class Listener:
    """A TCP server on 127.0.0.1 that counts connections (none may come from a sandbox)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def _snapshot(*roots: Path) -> dict[str, tuple]:
    """Every file under ``roots``: content hash and mode."""
    out = {}
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                data = path.read_bytes() if path.stat().st_size < 2**27 else b"(large)"
                out[str(path)] = (hashlib.sha256(data).hexdigest(), path.stat().st_mode)
    return out


def _grade(base: Path, assignment: str, port: int):
    root = ct.copy_course(base / "course")
    corpus = tampering.corpus(assignment, victim=VICTIM, port=port)
    fixtures = {v.student: v for v in ct.variants(assignment)}
    needed = {"reference", "blank"} | {v.same_as for v in corpus if v.same_as}
    chosen = [fixtures[s] for s in sorted(needed) if s in fixtures] + corpus
    snaps: dict = {}

    def before(run):
        snaps["before"] = _snapshot(root, run.exchange, *run.homes.values())

    def after(run):
        snaps["after"] = _snapshot(root, run.exchange, *run.homes.values())

    run = ct.through_exchange(root, assignment, chosen, base, before, after)
    return run, chosen, snaps


@pytest.fixture(scope="module")
def listener():
    return Listener()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listener):
    bases = {a: tmp_path_factory.mktemp(a) for a in ct.ASSIGNMENTS}  # not from the threads

    def one(assignments):
        return {a: _grade(bases[a], a, listener.port) for a in assignments}

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(one, ["ps1_losses"])
        rest = pool.submit(one, ["ps2_minibatch_sgd", "ps3_batch_noise"])
        return {**first.result(), **rest.result()}


def _corpus_params():
    return [
        pytest.param(a, v.student, id=f"{a}-{v.student}")
        for a in ct.ASSIGNMENTS
        for v in tampering.corpus(a, victim=VICTIM, port=9)
    ]


def _explain(run, student):
    res = run.results.get(student)
    return f"{student}: {res}\n{run.logs.get('autograde', '')[-4000:]}"


@pytest.mark.parametrize(("assignment", "student"), _corpus_params())
def test_each_scores_what_its_honest_part_earns(graded, assignment, student):
    run, chosen, _ = graded[assignment]
    variant = next(v for v in chosen if v.student == student)
    expected = ct.expected_scores(run, chosen)[student]
    res = run.results.get(student)
    assert res is not None, _explain(run, student)
    assert expected is not None and res.code_score == expected, _explain(run, student)
    if variant.category != "bad input":
        assert res.graded, _explain(run, student)


@pytest.mark.parametrize(("assignment", "student"), _corpus_params())
def test_the_tamper_report_names_what_it_did(graded, assignment, student):
    run, chosen, _ = graded[assignment]
    variant = next(v for v in chosen if v.student == student)
    findings = " | ".join(run.results[student].findings)
    for text in variant.reported:
        assert text in findings, (student, text, findings)
    if not variant.reported:
        assert not findings or variant.category in ("reflection", "environment", "filesystem"), (
            student,
            findings,
        )


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_honest_submissions_raise_no_alarm(graded, assignment):
    run, _, _ = graded[assignment]
    for student in ("reference", VICTIM):
        res = run.results[student]
        assert res.findings == [], (student, res.findings)
        assert res.sandbox == "bwrap"


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_the_honest_classmate_keeps_full_marks_and_an_unchanged_submission(graded, assignment):
    run, _, snaps = graded[assignment]
    victim = run.results[VICTIM]
    assert victim.graded and victim.code_score == victim.code_max > 0, _explain(run, VICTIM)
    mine = [p for p in snaps["before"] if f"/{VICTIM}" in p]
    assert mine, "the classmate's submission is in the snapshot"
    for path in mine:
        assert snaps["after"].get(path) == snaps["before"][path], path


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_no_file_outside_the_scratch_copies_changes(graded, assignment):
    """Course source, release, gradebook aside, every submission, the exchange, every home."""
    run, _, snaps = graded[assignment]
    before, after = snaps["before"], snaps["after"]
    root = str(run.root) + "/"

    def allowed(path):
        return path.startswith(root) and path[len(root) :].startswith(ALLOWED_CHANGES)

    changed = sorted(
        p for p in set(before) | set(after) if before.get(p) != after.get(p) and not allowed(p)
    )
    assert changed == []
    assert any(p.startswith(root + "autograded/") for p in after), "grading did write its copies"


def test_nothing_from_a_sandbox_reaches_the_network(graded, listener):
    run, _, _ = graded["ps1_losses"]
    assert "t_network" in run.results
    assert listener.connections == 0


@pytest.mark.parametrize(("assignment", "student"), _corpus_params())
def test_what_it_must_and_must_not_print(graded, assignment, student):
    run, chosen, _ = graded[assignment]
    variant = next(v for v in chosen if v.student == student)
    if not (variant.prints or variant.never_prints):
        return
    text = "\n".join(str(c.get("outputs", "")) for c in run.autograded(student).cells)
    feedback = html.unescape(run.feedback_html(student))
    for wanted in variant.prints:
        assert wanted in text, (student, wanted)
    for banned in variant.never_prints:
        assert banned not in text and banned not in feedback, (student, banned)


@pytest.mark.parametrize("assignment", ct.ASSIGNMENTS)
def test_feedback_never_carries_hidden_test_source(graded, assignment):
    run, chosen, _ = graded[assignment]
    hidden = ct.hidden_test_lines(ct.source_notebook(run.root, assignment))
    pages = 0
    for v in chosen:
        page = html.unescape(run.feedback_html(v.student))
        if not page:
            continue
        pages += 1
        assert "BEGIN HIDDEN TESTS" not in page, v.student
        leaked = [line for line in hidden if line in page]
        assert leaked == [], (v.student, leaked[:3])
    assert pages >= len(chosen) - 3, "every graded student got feedback"


def test_the_report_lies_beside_the_gradebook(graded):
    run, chosen, _ = graded["ps1_losses"]
    report = grading.report
    data = report.read(run.root / report.FILENAME)
    graded_students = {s for s, r in run.results.items() if r.graded}
    assert graded_students <= set(data["ps1_losses"])
    assert all("seconds" in data["ps1_losses"][s] for s in graded_students)
