"""The grader's parts: the plain-data wire, the sandbox around a student's kernel, the intake.

The sandbox tests start a real student kernel in bubblewrap (as the grader
does) and probe it from inside: who it runs as, what it can see, write and
reach, its limits, and whether the blocked libraries can be imported by any
route. The configuration tests run plain ``nbgrader autograde`` in a course:
without bubblewrap it stops and says what to install; opted out it grades and
marks every score as not protected; broken or oversized notebooks are refused
with a message and lose nothing.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from nbgrader_helpers import ASSIGNMENTS_DIR, course_tools, grading, tampering

checker_side, execute, report = grading.checker_side, grading.execute, grading.report
sandbox, wire = grading.sandbox, grading.wire

ct = course_tools

# ----------------------------------------------------------------------------- wire

_DTYPES = sorted(wire.DTYPES)
_arrays = st.sampled_from(_DTYPES).flatmap(
    lambda d: hnp.arrays(np.dtype(d), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
)
_scalars = (
    st.sampled_from(_DTYPES)
    .flatmap(lambda d: hnp.from_dtype(np.dtype(d)))
    .map(lambda v: v if isinstance(v, np.generic) else np.asarray(v)[()])
)
_plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**100), 2**100)
    | st.floats()
    | st.text(max_size=20)
    | _arrays
    | _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray | np.generic):
        return a.dtype == b.dtype and np.shape(a) == np.shape(b) and a.tobytes() == b.tobytes()
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


@given(_plain)
def test_plain_data_crosses_unchanged_with_its_types(value):
    """Lists stay lists, tuples tuples, float32 scalars float32 scalars, NaN NaN."""
    back = wire.decode(wire.loads(wire.dumps({"v": wire.encode(value)}))["v"])
    assert _same(back, value)


class _Subclass(np.ndarray):
    def __eq__(self, other):
        return True


def _gen():
    yield 1


with warnings.catch_warnings():  # np.matrix warns that it is deprecated: that is the point
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    _MATRIX = np.asmatrix(np.eye(2))


@pytest.mark.parametrize(
    "value",
    [
        object(),
        _gen(),
        map(abs, [1]),
        {1, 2},
        {1: "int key"},
        1 + 2j,
        np.zeros(3).view(_Subclass),
        np.ma.masked_array([1.0, 2.0], mask=[0, 1]),
        _MATRIX,
        np.array(["a", "b"]),
        np.array([object()], dtype=object),
        np.zeros(2, dtype=np.complex128),
        2**200,
        [[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]],
        float.__new__(type("F", (float,), {}), 1.0),
    ],
    ids=lambda v: type(v).__name__,
)
def test_what_is_not_plain_data_is_refused_where_it_is_sent(value):
    with pytest.raises(wire.Unsendable):
        wire.encode(value)


@pytest.mark.parametrize(
    "message",
    [
        {"object": [1]},  # unknown tag
        {"array": ["float64", [3], "AAAA"]},  # 3 bytes of data for 3 float64
        {"array": ["object", [1], "AAAAAAAAAAA="]},
        {"array": ["float64", [10**9, 10**9], ""]},
        {"array": ["float64", [-1], ""]},
        {"scalar": ["float32", "not base64!"]},
        {"dict": [[1, 2]]},
        {"list": 5},
        [1, 2],  # a bare JSON list is not a value
        {"list": [{"list": []}], "tuple": []},
    ],
)
def test_malformed_messages_are_refused_where_they_arrive(message):
    with pytest.raises(wire.WireError):
        wire.decode(message)


def test_decoded_arrays_are_fresh_plain_arrays_whatever_was_sent():
    sent = np.arange(6.0).reshape(2, 3).view(_Subclass)
    encoded = {"array": ["float64", [2, 3], wire._bytes_of(np.asarray(sent))]}
    got = wire.decode(encoded)
    assert type(got) is np.ndarray and got.flags.writeable
    assert np.array_equal(got, np.arange(6.0).reshape(2, 3))


def test_oversized_messages_are_refused_both_ways():
    with pytest.raises(wire.Unsendable, match="MiB"):
        wire.dumps({"v": "x" * (wire.MAX_BYTES + 1)})
    with pytest.raises(wire.WireError):
        wire.loads("x" * (wire.MAX_BYTES + 1))


# ----------------------------------------------------------------------------- the sandbox

needs_sandbox = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap is not installed (apt-get install bubblewrap)"
)


@pytest.fixture(scope="module")
def listener():
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def student(listener):
    """A student kernel in the sandbox, started as the grader starts it."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    os.environ["LOSSKIT_TEST_SECRET"] = "grader-only"
    tmp = Path(tempfile.mkdtemp(prefix="lkg-", dir="/tmp"))
    staging = tmp / "release"
    staging.mkdir()
    (staging / "data.txt").write_text("released with the assignment\n")
    os.chmod(staging, 0o755)
    os.chmod(staging / "data.txt", 0o644)
    kernel = execute.student_kernel(
        tmp, staging, use_sandbox=True, bwrap="bwrap", limits=sandbox.Limits(), uids="61000-63999"
    )
    kernel.start()
    checker_side.ask(kernel.kc, {"op": "baseline"}, 30)
    yield kernel
    kernel.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def _run(kernel, code: str, timeout: float = 20) -> str:
    ran = kernel.run(code, timeout)
    assert ran.status in ("ok", "error"), (ran.status, ran.outputs)
    return "".join(o.get("text", "") for o in ran.outputs if o["output_type"] == "stream") + (
        f"{ran.ename}: {ran.evalue}" if ran.ename else ""
    )


@needs_sandbox
def test_the_student_kernel_runs_as_an_unprivileged_user_of_its_own(student):
    out = _run(student, "import os; print(os.getuid(), os.geteuid(), os.getgid(), os.getgroups())")
    uid, euid, gid, *_ = out.replace("[", " ").replace("]", " ").split()
    assert uid == euid and int(uid) not in (0, os.getuid()), out
    status = _run(student, "print(open('/proc/self/status').read())")
    assert "CapEff:\t0000000000000000" in status, "no capabilities"
    assert "NoNewPrivs:\t1" in status or os.geteuid() != 0
    assert "PermissionError" in _run(student, "import os; os.setuid(0)")


@needs_sandbox
def test_the_student_kernel_sees_only_its_own_files(student):
    out = _run(
        student,
        "import os\n"
        f"for p in [{str(ASSIGNMENTS_DIR)!r}, '/home', '/etc/passwd', '/root/.bash_history',"
        " '/srv', '/var']:\n"
        "    print(p, os.path.exists(p), sorted(os.listdir(p)) if os.path.isdir(p) else '')\n"
        "print('CWD', os.getcwd(), sorted(os.listdir('.')))\n",
    )
    assert f"{ASSIGNMENTS_DIR} False" in out, out
    prefix = Path(sys.prefix).resolve()
    for path in ("/home", "/etc/passwd", "/srv", "/var"):
        if prefix.is_relative_to(path):  # the grading Python lives there: only the way to it
            step = prefix.relative_to(path).parts[0]
            assert f"{path} True {[step]}" in out, out
        else:
            assert f"{path} False" in out, out
    assert "CWD /submission ['data.txt']" in out, "a scratch copy of the released files"


@needs_sandbox
@pytest.mark.parametrize(
    "path", ["/usr/evil", "/opt/losskit-grading/grading/evil.py", "/release/data.txt", "/evil"]
)
def test_the_student_kernel_writes_only_its_scratch_copy_and_tmp(student, path):
    out = _run(student, f"open({path!r}, 'w').write('x')")
    assert "Error" in out, (path, out)
    assert "ok" in _run(student, "open('notes.txt', 'w').write('x'); print('ok')")
    assert "ok" in _run(student, "open('/tmp/notes.txt', 'w').write('x'); print('ok')")
    assert not Path("/tmp/notes.txt").exists(), "its /tmp is its own"


@needs_sandbox
def test_the_student_kernel_has_no_network(student, listener):
    port = listener.getsockname()[1]
    out = _run(
        student,
        "import socket\n"
        f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "    print('CONNECTED')\nexcept OSError as e:\n    print('refused', type(e).__name__)\n",
    )
    assert "refused" in out and "CONNECTED" not in out
    with pytest.raises(TimeoutError):
        listener.accept()


@needs_sandbox
def test_the_student_kernel_has_limits(student):
    limits = _run(student, "print(open('/proc/self/limits').read())")
    rows = {line[:26].strip(): line[26:].split() for line in limits.splitlines()[1:] if line}
    assert rows["Max address space"][0] == str(sandbox.Limits().memory_bytes)
    assert rows["Max cpu time"][0] == str(sandbox.Limits().cpu_seconds)
    assert rows["Max processes"][0] == str(sandbox.Limits().processes)
    assert rows["Max core file size"][0] == "0"
    assert "MemoryError" in _run(student, "import numpy as np; x = np.ones(50 * 2**30 // 8)")


@needs_sandbox
def test_the_student_kernel_has_none_of_the_grader_environment(student):
    out = _run(student, "import os; print(sorted(os.environ))")
    assert "LOSSKIT_TEST_SECRET" not in out and "PATH" in out


@needs_sandbox
@pytest.mark.parametrize(
    "code",
    [
        "import scipy.special",
        "import losskit",
        "import sklearn",
        "import torch",
        "import jax.numpy",
        "import importlib; importlib.import_module('sci' + 'py')",
        # the blocking finder removed: the libraries are still not there
        "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'Blocked' not in repr(f)]\n"
        "import scipy.special",
        "import sys, glob\n"
        "sys.path += glob.glob('/usr/lib/python3*/*-packages') + glob.glob(sys.base_prefix"
        " + '/lib/python3*/site-packages')\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if 'Blocked' not in repr(f)]\n"
        "import sklearn",
    ],
)
def test_the_blocked_libraries_cannot_be_imported_by_any_route(student, code):
    out = _run(student, code)
    assert "ModuleNotFoundError" in out or "ImportError" in out, out
    assert "NumPy ok" in _run(student, "import numpy; print('NumPy ok')")


# ----------------------------------------------------------------------------- nbgrader autograde


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = ct.copy_course(tmp_path_factory.mktemp("sandbox-course") / "course")
    [gen] = ct.nbgrader_batch([(root, ["generate_assignment", "ps1_losses", "--force"])])
    assert gen.returncode == 0, gen.log
    return root


def _submit(root, variants):
    shutil.rmtree(root / "submitted", ignore_errors=True)
    shutil.rmtree(root / "autograded", ignore_errors=True)
    ct.place_submissions(root, "ps1_losses", variants)


def _fixture(name):
    return next(v for v in ct.variants("ps1_losses") if v.student == name)


@pytest.mark.slow
def test_without_bubblewrap_autograde_stops_and_says_what_to_install(course):
    _submit(course, [_fixture("reference")])
    [step] = ct.nbgrader_batch(
        [(course, ["autograde", "ps1_losses", "--SandboxedExecute.bwrap=/no/such/bwrap"])]
    )
    assert step.returncode != 0
    assert "bubblewrap" in step.log and "apt-get install bubblewrap" in step.log, step.log
    assert "--SandboxedExecute.sandbox=none" in step.log, "it names the way to opt out"
    assert not (course / "autograded" / "reference" / "ps1_losses").exists(), "nothing graded"


@pytest.mark.slow
def test_opting_out_grades_but_marks_every_score_as_unprotected(course):
    _submit(course, [_fixture("reference"), _fixture("blank")])
    [step] = ct.nbgrader_batch(
        [(course, ["autograde", "ps1_losses", "--force", "--SandboxedExecute.sandbox=none"])]
    )
    results = ct.read_gradebook(course, "ps1_losses")
    assert results["reference"].code_score == results["reference"].code_max > 0, step.log
    assert results["blank"].code_score == 0
    for res in results.values():
        assert res.sandbox == "none" and res.findings[0] == report.UNPROTECTED
    ours = [line for line in step.log.splitlines() if "Grading " in line or "Graded " in line]
    assert ours and all("[UNSANDBOXED: scores not protected]" in line for line in ours), ours


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()[: 2**20]).hexdigest()
        + str(p.stat().st_size)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.slow
def test_broken_or_oversized_notebooks_are_refused_and_lose_nothing(course):
    """Each bad submission gets one clear sentence; the others in the same run are graded."""
    bad = {
        "bad_text": tampering._not_a_notebook,
        "bad_json": tampering._corrupt_json,
        "bad_huge": tampering.huge_notebook,
    }
    _submit(course, [_fixture("reference")])
    release = ct.release_notebook(course, "ps1_losses")
    for student, write in bad.items():
        folder = course / "submitted" / student / "ps1_losses"
        folder.mkdir(parents=True)
        write(folder / "ps1_losses.ipynb", release)
    other = course / "submitted" / "bad_name" / "ps1_losses"
    other.mkdir(parents=True)
    shutil.copy(ct.source_notebook(ASSIGNMENTS_DIR, "ps2_minibatch_sgd"), other)
    before = _digest(course / "submitted")
    [step] = ct.nbgrader_batch([(course, ["autograde", "ps1_losses", "--force"])])
    assert _digest(course / "submitted") == before, "the submitted files are kept as they were"
    results = ct.read_gradebook(course, "ps1_losses")
    assert results["reference"].code_score == results["reference"].code_max
    findings = {s: " ".join(r.findings) for s, r in results.items()}
    assert "not a notebook: its JSON is broken at line 1" in findings["bad_text"]
    assert "its JSON is broken at line" in findings["bad_json"]
    assert "is 500 MiB; notebooks over 64 MiB are not graded" in findings["bad_huge"]
    tamper = report.read(course / report.FILENAME)["ps1_losses"]
    assert (
        "has no ps1_losses.ipynb (it holds ps2_minibatch_sgd.ipynb"
        in tamper["bad_name"]["findings"][0]
    )
    for student in bad:
        assert results[student].code_score == 0
    assert "Not graded: ps1_losses.ipynb is 500 MiB" in step.log


@pytest.mark.slow
def test_nbgrader_works_by_its_full_path_without_the_environment_on_path(course):
    """nbgrader starts `alembic` by name; the course config finds it beside its Python."""
    nbgrader = Path(sys.executable).parent / "nbgrader"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(course)}
    done = subprocess.run(
        [str(nbgrader), "generate_assignment", "ps3_batch_noise", "--force"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (course / "release" / "ps3_batch_noise" / "ps3_batch_noise.ipynb").is_file()


def test_the_release_notebook_runs_in_a_students_own_kernel_without_the_grader():
    """Nothing in a released notebook needs the grading package (students run it at home)."""
    nb = nbformat.read(ct.source_notebook(ASSIGNMENTS_DIR, "ps1_losses"), as_version=4)
    assert all("grading" not in c.source and "own_work" not in c.source for c in nb.cells)
