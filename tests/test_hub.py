"""The course on a real JupyterHub, started by ``course_hub.py`` and driven as its people would.

The hub runs for real on 127.0.0.1: JupyterHub from PyPI, configurable-http-proxy
from npm, PAM logins for Unix accounts made from a roster, each user's server
started by the hub under that user's uid, nbgrader's exchange. Everything below
goes through the hub's login form, its REST API and each user's server, with
each user's own token: the instructor releases ps1 in the Formgrader; students
fetch, work (the reference answers, a common wrong answer, a late submission,
another assignment's notebook), submit; the instructor collects, autogrades (in
the grader's sandbox, as the instructor, not root), generates and releases
feedback; the students fetch it. Then permissions, a student in Chromium, 20
students at once, and the capacity figures (``artifacts/hub/capacity.json``).

Needs root, useradd, npm and bubblewrap; without them it skips and says what
is missing, except with ``LOSSKIT_REQUIRE_HUB=1`` (set by ``.ci/run``), where it
fails. It creates the accounts ``lkt-*`` and removes them afterwards.
"""

from __future__ import annotations

import html
import json
import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
import requests
from hub_helpers import HubError, HubUser
from nbgrader_helpers import ASSIGNMENTS_DIR, course_tools
from test_browser import KERNEL_IDLE_JS, run_all
from test_browser_layout import INK_JS, MIN_INK

ct = course_tools
pytestmark = [pytest.mark.slow, pytest.mark.hub, pytest.mark.xdist_group("hub")]

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "deploy" / "hub" / "course_hub.py"
ARTIFACTS = ROOT / "artifacts" / "hub"
PREFIX = Path("/opt/losskit-hub-test")
EXCHANGE = Path("/srv/losskit-hub-test-exchange")
COURSE_ID = "losskit-101"
A = "ps1_losses"


def _code_points(assignment: str) -> float:
    """The points of an assignment's autograded code cells, from its source notebook."""
    nb = nbformat.read(ASSIGNMENTS_DIR / "source" / assignment / f"{assignment}.ipynb", 4)
    cells = [c.metadata.get("nbgrader", {}) for c in nb.cells if c.cell_type == "code"]
    return sum(c.get("points", 0) for c in cells if c.get("grade"))


A_POINTS = _code_points(A)
TEACHER = "lkt-teacher"
STUDENTS = ["lkt-alice", "lkt-bob", "lkt-carol", "lkt-dave"]
LOAD = [f"lkt-load{i:02d}" for i in range(1, 21)]
PASSWORD = {name: f"{name}-pw-{i}" for i, name in enumerate([TEACHER, *STUDENTS, *LOAD])}
LESSON = "03_log_sum_exp.ipynb"  # the lesson the load test runs


def _missing() -> list[str]:
    missing = []
    if os.geteuid() != 0:
        missing.append("root (to create accounts and start servers as them)")
    for tool in ("useradd", "npm", "node", "bwrap"):
        if shutil.which(tool) is None:
            missing.append(tool)
    if not Path("/usr/bin/python3").exists():
        missing.append("/usr/bin/python3 with venv (apt-get install python3-venv)")
    return missing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningHub:
    def __init__(self, base: str, proc: subprocess.Popen, roster: Path, settings: Path):
        self.base, self.proc, self.roster, self.settings = base, proc, roster, settings
        self.users: dict[str, HubUser] = {}

    def user(self, name: str) -> HubUser:
        if name not in self.users:
            u = HubUser(self.base, name, PASSWORD[name])
            u.login()
            u.get_token()
            self.users[name] = u
        return self.users[name]

    def command(self, *args):
        return subprocess.run(
            [
                sys.executable,
                str(HUB),
                *args,
                "--roster",
                str(self.roster),
                "--prefix",
                str(PREFIX),
                "--settings",
                str(self.settings),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    missing = _missing()
    if missing:
        message = "the course hub needs " + ", ".join(missing)
        if os.environ.get("LOSSKIT_REQUIRE_HUB") == "1":
            pytest.fail(message + " (LOSSKIT_REQUIRE_HUB=1)")
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("hub")
    settings = tmp / "course.toml"
    text = (ROOT / "deploy" / "course.toml").read_text()
    settings.write_text(text.replace('"/srv/nbgrader/exchange"', f'"{EXCHANGE}"'))
    roster = tmp / "roster.csv"
    roster.write_text(
        "username,role,password\n"
        + f"{TEACHER},instructor,{PASSWORD[TEACHER]}\n"
        + "".join(f"{s},student,{PASSWORD[s]}\n" for s in STUDENTS + LOAD)
    )
    shutil.rmtree(EXCHANGE, ignore_errors=True)
    port = _free_port()
    running = RunningHub(f"http://127.0.0.1:{port}", None, roster, settings)
    setup = running.command("setup", "--create-users")
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    log = open(tmp / "hub.log", "w")  # noqa: SIM115
    running.proc = subprocess.Popen(
        [
            sys.executable,
            str(HUB),
            "start",
            "--roster",
            str(roster),
            "--prefix",
            str(PREFIX),
            "--settings",
            str(settings),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running.log = tmp / "hub.log"
    for _ in range(120):
        try:
            if requests.get(f"{running.base}/hub/api", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    else:
        pytest.fail("the hub did not come up:\n" + (tmp / "hub.log").read_text()[-4000:])
    yield running
    if running.proc.poll() is None:
        running.proc.send_signal(signal.SIGINT)
        running.proc.wait(timeout=120)
    for name in [TEACHER, *STUDENTS, *LOAD]:
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        subprocess.run(["userdel", "-r", name], capture_output=True, check=False)
    shutil.rmtree(EXCHANGE, ignore_errors=True)


def _build(user: HubUser, variant, path=f"{COURSE_ID}/{A}/{A}.ipynb") -> dict:
    """The fixture's notebook, built from what this student fetched."""
    fetched = user.read(path)["content"]
    with tempfile.TemporaryDirectory() as tmp:
        release = Path(tmp) / f"{A}.ipynb"
        release.write_text(json.dumps(fetched))
        nb = variant.build(release, ct.source_notebook(ASSIGNMENTS_DIR, A))
    return json.loads(nbformat.writes(nb))


def _fixture(name):
    return next(v for v in ct.variants(A) if v.student == name)


def test_wrong_passwords_and_unknown_users_are_refused(hub):
    for name, password in [(TEACHER, "not-the-password"), ("lkt-nobody", "x"), ("root", "root")]:
        with pytest.raises(HubError, match="login refused"):
            HubUser(hub.base, name, password).login()


@pytest.fixture(scope="module")
def course(hub):
    """The whole workflow once; the tests below assert on what it left."""
    teacher = hub.user(TEACHER)
    students = {name: hub.user(name) for name in STUDENTS}
    for u in [teacher, *students.values()]:
        u.start_server()
    out: dict = {"log": {}}
    out["log"]["assign"] = teacher.formgrader("POST", f"assignment/{A}/assign")
    out["log"]["release"] = teacher.formgrader("POST", f"assignment/{A}/release")
    for u in students.values():
        u.assignments("fetch", COURSE_ID, A)
    alice, bob, carol, dave = (students[s] for s in STUDENTS)
    path = f"{COURSE_ID}/{A}/{A}.ipynb"
    alice.write_notebook(path, _build(alice, _fixture("reference")))
    # fetching again keeps the work (nbgrader does not overwrite a fetched assignment)
    out["refetch"] = alice.assignments("fetch", COURSE_ID, A)
    out["alice_after_refetch"] = alice.read(path)["content"]
    bob.write_notebook(path, _build(bob, _fixture("naive_logsumexp")))
    # dave hands in ps2's notebook instead of ps1's
    other = json.loads(ct.source_notebook(ASSIGNMENTS_DIR, "ps2_minibatch_sgd").read_text())
    dave.write_notebook(f"{COURSE_ID}/{A}/ps2_minibatch_sgd.ipynb", other)
    dave.server("DELETE", f"api/contents/{path}")
    for u in (alice, bob, dave):
        out["log"][f"submit {u.name}"] = u.assignments("submit", COURSE_ID, A)
    # the deadline passes; carol submits the reference after it
    # whole seconds: two before the due date (the earlier submissions stay on time), two after
    time.sleep(2)
    due = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    time.sleep(2)
    out["due"] = teacher.formgrader(
        "PUT", f"assignment/{A}", json={"duedate_notimezone": due, "duedate_timezone": "UTC"}
    )
    carol.write_notebook(path, _build(carol, _fixture("reference")))
    out["log"]["submit carol"] = carol.assignments("submit", COURSE_ID, A)
    out["log"]["collect"] = teacher.formgrader("POST", f"assignment/{A}/collect")
    t0 = time.perf_counter()
    out["autograde"] = {}
    for s in STUDENTS:
        t1 = time.perf_counter()
        out["autograde"][s] = teacher.formgrader("POST", f"submission/{A}/{s}/autograde")
        out["autograde"][s]["seconds"] = time.perf_counter() - t1
    out["autograde_seconds"] = time.perf_counter() - t0
    out["submissions"] = {s["student"]: s for s in teacher.formgrader("GET", f"submissions/{A}")}
    out["log"]["generate_feedback"] = teacher.formgrader(
        "POST", f"assignment/{A}/generate_feedback"
    )
    out["log"]["release_feedback"] = teacher.formgrader("POST", f"assignment/{A}/release_feedback")
    out["feedback"] = {}
    for name, u in students.items():
        u.assignments("fetch_feedback", COURSE_ID, A)
        pages = []
        folder = f"{COURSE_ID}/{A}/feedback"
        for stamp in u.listing(folder) if "feedback" in u.listing(f"{COURSE_ID}/{A}") else []:
            for page in u.listing(f"{folder}/{stamp}"):
                pages.append(u.server("GET", f"files/{folder}/{stamp}/{page}").text)
        out["feedback"][name] = "\n".join(pages)
    return out


def test_the_instructor_releases_collects_autogrades_and_gives_feedback(course):
    for step, result in course["log"].items():
        if isinstance(result, dict) and "success" in result:
            assert result["success"], (step, result)
    subs = course["submissions"]
    reference_max = subs["lkt-alice"]["max_code_score"]
    assert subs["lkt-alice"]["code_score"] == reference_max == A_POINTS
    assert 0 < subs["lkt-bob"]["code_score"] < reference_max  # naive log-sum-exp
    for s in ("lkt-alice", "lkt-bob", "lkt-carol"):
        assert course["autograde"][s]["success"], course["autograde"][s]
        assert "student code in a bubblewrap sandbox" in course["autograde"][s]["log"]
    # another assignment's notebook: no score, a message saying why, the file kept
    dave = course["autograde"]["lkt-dave"]
    assert not dave["success"]
    assert (
        f"lkt-dave's {A} has no {A}.ipynb (it holds ps2_minibatch_sgd.ipynb: "
        "another assignment's notebook?)" in dave["error"] + dave.get("log", "")
    ), dave
    assert not subs.get("lkt-dave", {}).get("score"), "no score for a notebook never handed in"
    kept = Path(pwd.getpwnam(TEACHER).pw_dir) / "course" / "submitted" / "lkt-dave" / A
    assert (kept / "ps2_minibatch_sgd.ipynb").is_file()


def test_a_late_submission_follows_the_late_policy(course):
    assert course["due"]["duedate"], course["due"]
    carol = course["submissions"]["lkt-carol"]
    assert carol["code_score"] == A_POINTS, "the work itself is right, and kept"
    # the course's policy (LateSubmissionPlugin "zero"): the whole score is the penalty
    page = html.unescape(course["feedback"]["lkt-carol"])
    assert f"Late submission penalty (Score: -{float(A_POINTS)})" in page
    on_time = course["submissions"]["lkt-alice"]["timestamp"]
    assert "Late submission penalty" not in html.unescape(course["feedback"]["lkt-alice"]), (
        on_time,
        course["due"]["duedate"],
    )


def test_fetching_twice_keeps_the_work(course):
    nb = course["alice_after_refetch"]
    assert any("def mse_loss" in "".join(c["source"]) for c in nb["cells"]), "work kept"


def test_students_fetch_their_own_feedback_without_hidden_tests(course):
    hidden = ct.hidden_test_lines(ct.source_notebook(ASSIGNMENTS_DIR, A))
    for name in ("lkt-alice", "lkt-bob"):
        page = html.unescape(course["feedback"][name])
        score = course["submissions"][name]
        assert f"(Score: {score['code_score']:.1f} / {score['max_code_score']:.1f})" in page
        assert "BEGIN HIDDEN TESTS" not in page
        assert [line for line in hidden if line in page] == [], name
        other = "lkt-bob" if name == "lkt-alice" else "lkt-alice"
        assert other not in page


def test_each_users_server_runs_as_that_user(hub, course):
    admin = hub.user(TEACHER)
    for name in [TEACHER, *STUDENTS]:
        model = admin.hub("GET", f"users/{name}").json()
        pid = model["servers"][""]["state"]["pid"]
        assert os.stat(f"/proc/{pid}").st_uid == pwd.getpwnam(name).pw_uid, name


def test_kernels_talk_over_sockets_only_their_user_can_open(hub, course):
    """No localhost TCP ports to collide on or to knock at: Unix sockets in
    a folder closed to group and others."""
    check = (
        "import os\n"
        "from ipykernel.connect import get_connection_info\n"
        "info = get_connection_info(unpack=True)\n"
        "assert info['transport'] == 'ipc', info['transport']\n"
        "folder = os.stat(os.path.dirname(info['ip']))\n"
        "assert folder.st_mode & 0o077 == 0, oct(folder.st_mode)  # no group, no others\n"
        "assert folder.st_uid == os.getuid()\n"
    )
    nb = {"cells": [{"cell_type": "code", "source": check}]}
    alice = hub.user("lkt-alice")
    alice.start_server()
    assert alice.run_notebook(nb)["errors"] == []


def _log_problems(log: Path, last: int = 40) -> str:
    """The hub log's tracebacks, errors and kernel deaths: what a failed load test needs."""
    lines = log.read_text(errors="replace").splitlines()
    keep = [line for line in lines if re.search(r"Error|Traceback|died|restart|Killed", line)]
    return "\n".join(keep[-last:])


def _as(user: str, code: str) -> str:
    done = subprocess.run(
        ["runuser", "-u", user, "--", "/usr/bin/python3", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout + done.stderr


def test_students_cannot_reach_what_is_not_theirs(hub, course):
    teacher_home = Path(pwd.getpwnam(TEACHER).pw_dir)
    inbound = EXCHANGE / COURSE_ID / "inbound"
    targets = [
        teacher_home / "course" / "source" / A / f"{A}.pct.py",
        teacher_home / "course" / "gradebook.db",
        teacher_home / "course" / "submitted",
        Path(pwd.getpwnam("lkt-alice").pw_dir) / COURSE_ID,
        inbound,
    ]
    code = (
        "import os\n"
        f"for p in {[str(t) for t in targets]!r}:\n"
        "    try:\n"
        "        os.listdir(p) if os.path.isdir(p) else open(p).read(1)\n"
        "        print('OPEN', p)\n"
        "    except PermissionError:\n"
        "        print('denied', p)\n"
    )
    out = _as("lkt-bob", code)
    assert "OPEN" not in out and out.count("denied") == len(targets), out
    # the exchange hides who submitted: names carry a random suffix, the folder is unlistable
    names = [p.name for p in inbound.iterdir()]
    assert names and all(len(n.rsplit("+", 1)[-1]) >= 12 for n in names), names
    # a student's token does nothing an admin or another user may do
    bob = hub.user("lkt-bob")
    assert bob.hub("GET", "users", check=False).status_code == 403
    # (404 for another user's server: the hub does not say whether that user exists)
    assert bob.hub("POST", f"users/{TEACHER}/server", check=False).status_code in (403, 404)
    r = requests.get(
        f"{hub.base}/user/{TEACHER}/formgrader/api/submissions/{A}",
        headers={"Authorization": f"token {bob.token}"},
        timeout=30,
        allow_redirects=False,
    )
    assert r.status_code in (302, 403), r.status_code


def test_the_course_folder_is_closed_and_checked_at_start_up(hub):
    teacher_home = Path(pwd.getpwnam(TEACHER).pw_dir)
    assert (teacher_home / "course").stat().st_mode & 0o777 == 0o700
    for name in [TEACHER, *STUDENTS]:
        assert Path(pwd.getpwnam(name).pw_dir).stat().st_mode & 0o077 == 0, name
    os.chmod(teacher_home / "course", 0o755)
    try:
        started = hub.command("start", "--port", str(_free_port()))
    finally:
        os.chmod(teacher_home / "course", 0o700)
    assert started.returncode == 2
    assert f"{teacher_home / 'course'} is mode 755 (run: chmod 700" in started.stderr


def _scroll_to(page, selector, timeout_s):
    """The first ``selector`` in the notebook, scrolling with the mouse wheel as a student would.

    JupyterLab 4 attaches only the cells in view (windowed notebook), so an element of
    a cell far above the current position is not in the page until it is scrolled to:
    wheel to the top, then down a few hundred pixels at a time.
    """
    box = page.locator(".jp-NotebookPanel-notebook").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    deadline = time.monotonic() + timeout_s
    page.mouse.wheel(0, -(10**6))
    steps = 0
    while time.monotonic() < deadline:
        page.wait_for_timeout(400)
        found = page.query_selector(selector)
        if found is not None:
            return found
        steps += 1
        page.mouse.wheel(0, -(10**6) if steps % 40 == 0 else 400)  # from the top again
    raise AssertionError(f"{selector!r} did not appear in the notebook within {timeout_s} s")


def test_a_student_logs_in_runs_a_lesson_and_drags_a_slider(hub):
    """In Chromium: the hub's login page, JupyterLab, Run All, a slider dragged."""
    from playwright.sync_api import sync_playwright

    if shutil.which("chromium") is None:
        if os.environ.get("LOSSKIT_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is missing (LOSSKIT_REQUIRE_BROWSER=1)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = "lkt-alice"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        console = []  # the page's console, kept with the screenshots for a failure's reader
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        try:
            page.goto(f"{hub.base}/hub/login")
            page.fill("#username_input", name)
            page.fill("#password_input", PASSWORD[name])
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{name}/lab**", timeout=120_000)
            page.goto(f"{hub.base}/user/{name}/lab/tree/lessons/{LESSON}")
            page.wait_for_selector(".jp-Notebook", timeout=120_000)
            # as a student waits for "Python 3 (ipykernel) | Idle": Run All before the
            # kernel is up opens JupyterLab's Select Kernel dialog (seen with 25 servers up)
            page.wait_for_function(KERNEL_IDLE_JS, timeout=180_000)
            # the hub's JupyterLab attaches every cell (course_hub.LAB_OVERRIDES)
            tracker = page.request.get(
                f"{hub.base}/user/{name}/lab/api/settings/@jupyterlab/notebook-extension:tracker"
            ).json()
            assert tracker["schema"]["properties"]["windowingMode"]["default"] == "none"
            news = page.request.get(
                f"{hub.base}/user/{name}/lab/api/settings/@jupyterlab/apputils-extension:notification"
            ).json()
            assert news["schema"]["properties"]["fetchNews"]["default"] == "false"
            run_all(page)
            # Run All leaves the notebook scrolled to its end, and JupyterLab renders only
            # the cells in view: walk down from the top until the first panel's slider is there
            handle = _scroll_to(page, ".widget-slider .noUi-handle", timeout_s=180)
            handle.scroll_into_view_if_needed()
            figure = page.wait_for_selector(
                ".jupyter-matplotlib-canvas-div canvas, .widget-image", timeout=180_000
            )
            page.wait_for_timeout(2000)
            before = figure.screenshot()
            handle.scroll_into_view_if_needed()  # the screenshot may have scrolled it away
            box = handle.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + 120, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            page.wait_for_timeout(3000)
            after = figure.screenshot()
            ink = page.evaluate(INK_JS)[0]  # the dragged panel's figure, per quarter
            page.screenshot(path=str(ARTIFACTS / "lesson-after-drag.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"))
            # what each cell's output holds, for the reader of a failure
            outputs = page.evaluate(
                "() => [...document.querySelectorAll('.jp-Cell')].map((c, i) => i + ': ' +"
                " c.className + ' | ' + [...c.querySelectorAll('.jp-OutputArea-output')]"
                ".map((o) => o.className + ' ' + o.innerText.slice(0, 300)).join(' || '))"
            )
            (ARTIFACTS / "failure-cells.txt").write_text("\n".join(outputs) + "\n")
            raise
        finally:
            (ARTIFACTS / "console.log").write_text("\n".join(console) + "\n")
            browser.close()
    assert before != after, "the figure did not change when the slider was dragged"
    assert ink is not None and min(ink) >= MIN_INK, f"figure drawn in part only: ink {ink}"


def test_twenty_students_at_once(hub, course):
    """Log in, fetch, run a lesson headless, submit; all 20 collected, none lost or mixed up."""
    lesson = json.loads((ROOT / "notebooks" / LESSON).read_text())

    def student(name):
        u = HubUser(hub.base, name, PASSWORD[name])
        t0 = time.perf_counter()
        u.login()
        u.get_token()
        u.start_server()
        u.assignments("fetch", COURSE_ID, A)
        ran = u.run_notebook(lesson)
        nb = _build(u, _fixture("blank"))
        nb["metadata"]["losskit_marker"] = name  # who wrote it, to find it again
        u.write_notebook(f"{COURSE_ID}/{A}/{A}.ipynb", nb)
        u.assignments("submit", COURSE_ID, A)
        return {
            "name": name,
            "errors": ran["errors"],
            "lesson_s": ran["seconds"],
            "total_s": time.perf_counter() - t0,
            "latencies": u.latencies,
        }

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(LOAD)) as pool:
        try:
            results = list(pool.map(student, LOAD))
        except Exception as e:
            raise AssertionError(f"{e!r}; the hub log says:\n{_log_problems(hub.log)}") from e
    wall = time.perf_counter() - t0
    assert all(r["errors"] == [] for r in results), [r for r in results if r["errors"]]
    teacher = hub.user(TEACHER)
    teacher.formgrader("POST", f"assignment/{A}/collect")
    course_root = Path(pwd.getpwnam(TEACHER).pw_dir) / "course" / "submitted"
    for name in LOAD:
        nb = json.loads((course_root / name / A / f"{A}.ipynb").read_text())
        assert nb["metadata"].get("losskit_marker") == name, name
    latencies = sorted(x for r in results for x in r["latencies"])
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "load.json").write_text(
        json.dumps(
            {
                "students": len(LOAD),
                "wall_s": wall,
                "hub_api_calls": len(latencies),
                "hub_api_p50_s": statistics.median(latencies),
                "hub_api_p95_s": p95,
                "lesson_s_median": statistics.median(r["lesson_s"] for r in results),
                "student_total_s_max": max(r["total_s"] for r in results),
            },
            indent=1,
        )
    )
    print(f"20 students: {wall:.0f} s; hub API p95 {p95 * 1000:.0f} ms over {len(latencies)} calls")


def test_capacity_one_student_server_per_lesson(hub, course):
    """Kernel memory of one student's server for each lesson, and autograde time: the figures
    deploy/README.md sizes machines with; each must fit the CPU profile's memory limit."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    limit = tomllib.loads((ROOT / "deploy" / "course.toml").read_text())["profiles"]["cpu"][
        "mem_limit"
    ]
    limit_bytes = int(limit.rstrip("G")) * 2**30
    u = hub.user("lkt-alice")
    figures = {}
    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        ran = u.run_notebook(json.loads(nb_path.read_text()))
        pid = _kernel_pid("lkt-alice", ran["kernel"]["id"])
        rss = _peak_rss(pid)
        u.stop_kernel(ran["kernel"]["id"])
        figures[nb_path.name] = {
            "errors": ran["errors"],
            "seconds": ran["seconds"],
            "peak_rss": rss,
        }
        assert ran["errors"] == [], (nb_path.name, ran["errors"])
        assert rss < limit_bytes, (nb_path.name, rss)
    server_pid = (
        hub.user(TEACHER).hub("GET", "users/lkt-alice").json()["servers"][""]["state"]["pid"]
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "capacity.json").write_text(
        json.dumps(
            {
                "lessons": figures,
                "server_rss": _peak_rss(server_pid),
                "autograde_s": {s: course["autograde"][s]["seconds"] for s in STUDENTS},
            },
            indent=1,
        )
    )


def _kernel_pid(user: str, kernel_id: str) -> int:
    out = subprocess.run(["pgrep", "-u", user, "-f", kernel_id], capture_output=True, text=True)
    pids = [int(p) for p in out.stdout.split()]
    assert pids, f"no kernel process {kernel_id} of {user}"
    return pids[0]


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def test_stopping_the_hub_leaves_no_process_behind(hub):
    """Last: Ctrl-C on `make hub` (SIGINT) ends the hub, the proxy and every server."""
    assert hub.proc.poll() is None, "the hub is running"
    hub.proc.send_signal(signal.SIGINT)
    assert hub.proc.wait(timeout=120) == 0
    for name in [TEACHER, *STUDENTS, *LOAD]:
        left = subprocess.run(["pgrep", "-u", name, "-a"], capture_output=True, text=True)
        assert left.stdout == "", (name, left.stdout)
    proxy = subprocess.run(["pgrep", "-f", str(PREFIX / "node")], capture_output=True, text=True)
    assert proxy.stdout == "", proxy.stdout
