"""The tampering corpus: submissions that try to fake a grade or reach beyond their own folder.

Each is a ``course_tools.Variant`` whose honest part is known: most are the
blank release plus a trick (they must score exactly what the blank scores),
some are the reference plus a trick in a cell of their own (they must keep
full marks: the trick costs only its own cell), some tamper with test cells
on top of a bug (they must score what the bug scores). ``prints`` and
``never_prints`` say what the graded notebook must and must not show. The
pipeline test (``tests/test_assignments_tampering.py``) grades all of them
through release, fetch, submit, collect, autograde and feedback, and
``make grade-demo`` prints their scores.

``corpus(assignment, victim=..., port=...)``: ``victim`` is an honest classmate
graded after the saboteurs; ``port`` a TCP port on 127.0.0.1 the test listens on
(nothing from the sandbox may reach it).
"""

from __future__ import annotations

import json

import nbformat

from course_tools import COURSE, Variant, nbgrader_meta, source_notebook

# ----------------------------------------------------------------------------- tricks

INPUT_TRANSFORMER = """\
ip = get_ipython()


def _blank_tests(lines):
    # every later cell holding an assert becomes `pass`
    return ["pass\\n"] if any("assert" in line for line in lines) else lines


ip.input_transformers_cleanup.append(_blank_tests)
"""

PRE_RUN_RESULT = """\
ip = get_ipython()


def _full_marks(info=None):
    # nbgrader grades a test cell by the first execute_result it sees
    k = ip.kernel
    try:
        parent = k.get_parent("shell")
    except TypeError:
        parent = k.get_parent()
    k.session.send(
        k.iopub_socket,
        "execute_result",
        {"data": {"text/plain": "1.0"}, "metadata": {}, "execution_count": 1},
        parent=parent,
    )


ip.events.register("pre_run_cell", _full_marks)
"""

HIDE_ERRORS = """\
ip = get_ipython()
ip.showtraceback = lambda *args, **kwargs: None
ip._showtraceback = lambda *args, **kwargs: None


def _no_error(result):
    result.error_in_exec = None
    result.error_before_exec = None


ip.events.register("post_run_cell", _no_error)
"""

SHADOW_MODULE = """\
# Submitted beside the notebook: `import numpy` in the notebook would load this file.
import sys

sys.path = [p for p in sys.path if p not in ("", ".")]
del sys.modules["numpy"]
import numpy  # noqa: E402  (the real one)

sys.modules["numpy"] = numpy
try:
    get_ipython().input_transformers_cleanup.append(
        lambda lines: ["pass\\n"] if any("assert" in line for line in lines) else lines
    )
except NameError:
    pass
"""

PATCH_NUMPY = """\
import builtins
import math

import numpy as np

np.allclose = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.all = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
math.isclose = lambda *args, **kwargs: True
builtins.all = lambda *args: True
"""

PATCH_ASSERTION = """\
import builtins


class _Quiet(Exception):
    pass


builtins.AssertionError = _Quiet
builtins.isinstance = lambda obj, cls: True
"""

PATCHING_THREAD = """\
import threading
import time

import numpy as np


def _keep_patching():
    while True:
        np.allclose = lambda *args, **kwargs: True
        np.isclose = lambda *args, **kwargs: True
        time.sleep(0.01)


threading.Thread(target=_keep_patching, daemon=True).start()
"""

TRACE_AND_HOOKS = """\
import sys

sys.settrace(lambda frame, event, arg: None)
sys.setprofile(lambda frame, event, arg: None)
sys.excepthook = lambda *args: None
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
"""

RUN_CELL_PATCH = """\
from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult

ip = get_ipython()


async def _pretend(raw_cell, *args, **kwargs):
    # every later cell "succeeds" without running
    return ExecutionResult(ExecutionInfo(raw_cell, False, False, False, None))


ip.run_cell_async = _pretend
ip.run_cell = lambda raw_cell, *args, **kwargs: ExecutionResult(
    ExecutionInfo(raw_cell, False, False, False, None)
)
"""

FAKE_GRADER_REPLIES = """\
import json

from IPython.display import publish_display_data

ip = get_ipython()


def _answer_for_the_grader(info=None):
    # a reply in the grader's format before every request: the grader must not trust it
    for mime in ("application/vnd.losskit.grading", "application/json"):
        publish_display_data({mime: json.dumps({"result": 0.0, "warnings": [], "changed": []})})


ip.events.register("pre_run_cell", _answer_for_the_grader)
"""

REPLACE_CHANNEL = """\
import sys

from IPython.display import publish_display_data

# the repository is public: the student knows the grader's module and message format
_module = sys.modules.get("grading.student_side")


def _serve(request):
    publish_display_data(
        {"application/vnd.losskit.grading": '{"result": 0.0, "warnings": [], "changed": []}'}
    )


if _module is not None:
    _module.serve = _serve
"""


def _frame_snoop(name: str, signature: str) -> str:
    return f"""\
import inspect
import sys


def {name}({signature}):
    # print every caller's source and globals: the hidden tests, if they ran here
    for info in inspect.stack():
        try:
            print(inspect.getsource(info.frame))
        except (OSError, TypeError):
            pass
        print(sorted(info.frame.f_globals)[:50])
    import __main__

    print([k for k in vars(__main__) if k.startswith("_")])
    sys.__stdout__.write("SNOOPED\\n")
    raise NotImplementedError()
"""


def _lying_function(name: str, signature: str) -> str:
    return f"""\
import numpy as np


class _Liar(np.ndarray):
    # equal to everything, close to everything, finite, the right shape and dtype
    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False
    __bool__ = lambda self: True

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True


class _Yes(float):
    __eq__ = lambda self, other: True
    __ne__ = lambda self, other: False


def {name}({signature}):
    return np.zeros(3).view(_Liar)


def _yes(*args, **kwargs):
    return _Yes(0.0)
"""


def _via_main(name: str, signature: str, helper: str) -> str:
    return f"""\
import __main__


def {name}({signature}):
    # the hidden tests' own reference helper, if it were in this process
    return getattr(__main__, "{helper}")(*[v for v in locals().values()])
"""


THREAD_LOSSKIT = """\
import threading


def log_softmax(x):
    out = {}

    def work():
        import losskit

        out["value"] = losskit.log_softmax(x)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    return out["value"]
"""

NO_PROFILE_LOSSKIT = """\
import importlib
import sys


def log_softmax(x):
    sys.setprofile(None)
    sys.settrace(None)
    return importlib.import_module("losskit").log_softmax(x)
"""


def _saboteur(victim: str) -> str:
    return f"""\
import glob
import os
import sqlite3

WANTED = ("submitted", "gradebook.db", ".pct.py", "autograded", "exchange", "{victim}", "source")
seen = 0
for top, dirs, files in os.walk("/"):
    dirs[:] = [
        d for d in dirs
        if os.path.join(top, d) not in ("/proc", "/sys", "/usr", "/dev")
        and "site-packages" not in top and "lib/python" not in top
    ]
    seen += 1
    for f in files + dirs:
        path = os.path.join(top, f)
        if any(w in path for w in WANTED):
            print("FOU" + "ND", path)  # spelt apart: only the output says it
print("SEARCHED", seen, "folders")
for target in [
    "../../{victim}/ps1_losses/ps1_losses.ipynb",
    "../{victim}/ps1_losses.ipynb",
    "/srv/nbgrader/exchange/losskit-101/inbound/x",
    os.path.expanduser("~/../{victim}/x"),
    "../../../gradebook.db",
]:
    try:
        with open(target, "w") as f:
            f.write("{{}}")
        print("WRO" + "TE", target)
    except OSError as err:
        print("cannot write", target, type(err).__name__)
for db in glob.glob("/**/gradebook.db", recursive=False):
    con = sqlite3.connect(db)
    con.execute("update grade set manual_score = 100")
    con.commit()
    print("GRADEBOOK " + "WRITTEN", db)
"""


def _network(port: int) -> str:
    return f"""\
import socket
import urllib.request

for host in ("127.0.0.1", "localhost", "10.0.2.2"):
    try:
        socket.create_connection((host, {port}), timeout=2).close()
        print("CONNEC" + "TED", host)  # spelt apart: only the output says it
    except OSError as err:
        print("no connection to", host, type(err).__name__)
try:
    urllib.request.urlopen("http://example.com", timeout=2)
    print("CONNEC" + "TED internet")
except OSError as err:
    print("no internet", type(err).__name__)
"""


SNOOP_ENVIRONMENT = """\
import os

print(sorted(os.environ))
print("ENV", " ".join(f"{k}={v}" for k, v in os.environ.items() if "TOKEN" in k or "KEY" in k))
print("UID", os.getuid(), "ROOT" if os.getuid() == 0 else "not root")
print("CWD", os.getcwd(), sorted(os.listdir(".")))
"""

TMP_WRITER = """\
with open("/tmp/losskit-shared-answer.txt", "w") as f:
    f.write("left for the next student")
print("left a file in /tmp")
"""

TMP_READER = """\
try:
    print("RE" + "AD:", open("/tmp/losskit-shared-answer.txt").read())  # only the output says it
except OSError:
    print("nothing left in /tmp by others")
"""

FORK_BOMB = """\
import os
import time

children = 0
while True:
    try:
        pid = os.fork()
    except OSError as err:
        print("fork stopped after", children, "children:", err)
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children += 1
    if children > 100000:
        break
"""

MEMORY_BOMB = """\
import numpy as np

huge = np.ones(50 * 2**30 // 8)  # 50 GiB
"""

EXIT_KERNEL = """\
import os

os._exit(3)
"""

IGNORE_INTERRUPT = """\
import time

while True:
    try:
        time.sleep(0.2)
    except KeyboardInterrupt:
        pass  # keep going: the interrupt is ignored
"""

FILL_DISK = """\
chunk = b"0" * 2**25
for i in range(1000):
    with open(f"fill-{i}.bin", "wb") as f:
        f.write(chunk)
"""

FLOOD_OUTPUT = """\
for i in range(300_000):
    print("flooding the grader with output", i)
"""

KILL_OTHERS = """\
import os
import signal

for pid in range(1, 400):
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
print("tried to kill every process")
"""


# ----------------------------------------------------------------------------- notebook edits


def _test_cells(nb):
    return [
        c
        for c in nb.cells
        if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
    ]


def _duplicate_tests(nb):
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell in _test_cells(nb):
            for n in range(3):
                copy = nbformat.from_dict(json.loads(json.dumps(cell)))
                copy.source = "pass  # a copy that always passes"
                copy["id"] = f"{cell.get('id', 'cell')}-copy{n}"
                cells.append(copy)
    nb.cells = cells


def _rename_tests(nb):
    for i, cell in enumerate(_test_cells(nb)):
        meta = nbgrader_meta(cell)
        meta["grade_id"] = f"my_test_{i}"
        meta["points"] = 100
        cell.source = "pass"


def _retype_tests(nb):
    for cell in _test_cells(nb):
        cell.cell_type = "markdown"
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _unlock_tests(nb):
    for cell in _test_cells(nb):
        nbgrader_meta(cell)["locked"] = False
        cell.metadata["editable"] = True
        cell.source = "print('visible tests passed')"


def _ungrade_tests(nb):
    for cell in _test_cells(nb):
        if nbgrader_meta(cell)["grade_id"].startswith("hidden_"):
            nbgrader_meta(cell)["grade"] = False


def _edit_setup(nb):
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("locked") and not meta.get("grade") and cell.cell_type == "code":
            cell.source += "\nnp.allclose = lambda *a, **k: True\nnp.isclose = np.allclose\n"


def _swap_kernel(nb):
    nb.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}


def _not_a_notebook(path, release_nb):
    path.write_text("I could not finish the assignment, here are my notes.\n")


def _corrupt_json(path, release_nb):
    text = nbformat.writes(nbformat.read(release_nb, as_version=4))
    path.write_text(text[: len(text) // 2])


def huge_notebook(path, release_nb=None):
    """A 500 MB file named like the notebook (sparse: cheap to make, never read by the grader).

    Not in the corpus: ``nbgrader submit`` refuses folders over 100 MB, so only a
    file placed in ``submitted/`` by other means reaches autograde (tested there).
    """
    with open(path, "wb") as f:
        f.truncate(500 * 2**20)


def _other_assignment(path, release_nb):
    other = source_notebook(COURSE, "ps2_minibatch_sgd")
    path.write_text(other.read_text())


# ----------------------------------------------------------------------------- the corpus

_SIGNATURES = {
    "mse_loss": 'pred, target, reduction="mean"',
    "batch_indices": "n, batch_size, seed, shuffle=True, drop_last=False",
    "batch_mean_variance": "values, batch_size, n_trials, seed",
}


def corpus(assignment: str, *, victim: str, port: int) -> list[Variant]:
    """The tampering submissions for ``assignment`` (all for ps1, a core set for the others)."""
    from course_tools import first_solution, variants

    first = first_solution(assignment)
    sig = _SIGNATURES[first]
    bug = next(v for v in variants(assignment) if v.category == "bug" and v.zero_cells)

    def blank_plus(student, description, category, **kw):
        return Variant(
            student, description, base="release", same_as="blank", category=category, **kw
        )

    def reference_plus(student, description, category, **kw):
        return Variant(student, description, expect="full", category=category, **kw)

    def bug_plus(student, description, **kw):
        return Variant(
            student,
            f"{bug.student}'s code, and {description}",
            base=bug.base,
            edits=bug.edits,
            replace=bug.replace,
            same_as=bug.student,
            category="test cells",
            **kw,
        )

    core = [
        blank_plus(
            "t_input_transformer",
            "an IPython input transformer blanks every assert",
            "ipython",
            insert=(("start", INPUT_TRANSFORMER),),
            reported=("input_transformers_cleanup",),
        ),
        blank_plus(
            "t_pre_run_result",
            "a pre_run_cell hook publishes an execute_result of 1.0",
            "ipython",
            insert=(("start", PRE_RUN_RESULT),),
            reported=("pre_run_cell hook",),
        ),
        blank_plus(
            "t_hide_errors",
            "showtraceback replaced by a no-op, errors cleared after run",
            "ipython",
            insert=(("start", HIDE_ERRORS),),
            reported=("showtraceback",),
        ),
        blank_plus(
            "t_shadow_numpy",
            "numpy.py beside the untouched notebook installs a transformer",
            "files",
            files=(("numpy.py", SHADOW_MODULE),),
            reported=("numpy.py beside the notebook",),
        ),
        blank_plus(
            "t_patch_numpy",
            "np.allclose, np.testing, math.isclose, builtins.all patched",
            "monkeypatch",
            insert=(("start", PATCH_NUMPY),),
            reported=("patched numpy",),
        ),
        reference_plus(
            "t_exit_kernel",
            f"the reference, and os._exit(3) after {first}",
            "limits",
            insert=((f"after:{first}", EXIT_KERNEL),),
            reported=("the kernel died",),
        ),
        Variant(
            victim, "an honest student graded after the saboteurs", expect="full", category="victim"
        ),
    ]
    if assignment != "ps1_losses":
        return core
    return core + [
        blank_plus(
            "t_sitecustomize",
            "sitecustomize.py and a .pth file beside the notebook",
            "files",
            files=(("sitecustomize.py", SHADOW_MODULE), ("x.pth", "import os\n")),
            reported=("sitecustomize.py beside the notebook",),
        ),
        blank_plus(
            "t_patch_assertion",
            "AssertionError and isinstance replaced in builtins",
            "monkeypatch",
            insert=(("start", PATCH_ASSERTION),),
            reported=("restarted",),
        ),
        blank_plus(
            "t_patching_thread",
            "a thread keeps re-patching np.allclose",
            "monkeypatch",
            insert=(("start", PATCHING_THREAD),),
            reported=("left threads running",),
        ),
        blank_plus(
            "t_trace_and_hooks",
            "settrace, setprofile, excepthook and set_custom_exc",
            "ipython",
            insert=(("start", TRACE_AND_HOOKS),),
            reported=("set_custom_exc",),
        ),
        blank_plus(
            "t_run_cell_patch",
            "run_cell made to report success without running",
            "ipython",
            insert=(("start", RUN_CELL_PATCH),),
            reported=("did not answer",),
        ),
        blank_plus(
            "t_fake_replies",
            "replies in the grader's own format before every request",
            "channel",
            insert=(("start", FAKE_GRADER_REPLIES),),
            reported=("did not answer",),
        ),
        blank_plus(
            "t_replace_channel",
            "the grader's kernel-side module replaced",
            "channel",
            insert=(("start", REPLACE_CHANNEL),),
            reported=("answers were not the grader's",),
        ),
        blank_plus(
            "t_lying_objects",
            "mse_loss returns an ndarray subclass equal to everything",
            "objects",
            replace=(("mse_loss", _lying_function("mse_loss", sig)),),
            reported=("cannot read",),
        ),
        blank_plus(
            "t_frame_snoop",
            "mse_loss prints its callers' source and globals",
            "reflection",
            replace=(("mse_loss", _frame_snoop("mse_loss", sig)),),
        ),
        blank_plus(
            "t_reference_via_main",
            "log_softmax calls the hidden test's _ref_log_softmax",
            "reflection",
            replace=(("log_softmax", _via_main("log_softmax", "x", "_ref_log_softmax")),),
        ),
        blank_plus(
            "t_thread_losskit",
            "log_softmax calls losskit from a thread",
            "library",
            replace=(("log_softmax", THREAD_LOSSKIT),),
            reported=("tried to import losskit",),
        ),
        blank_plus(
            "t_no_profile_losskit",
            "log_softmax turns profiling off, then calls losskit",
            "library",
            replace=(("log_softmax", NO_PROFILE_LOSSKIT),),
            reported=("tried to import losskit",),
        ),
        blank_plus(
            "t_saboteur",
            f"searches the disk, writes {victim}'s notebook and the gradebook",
            "filesystem",
            insert=(("start", _saboteur(victim)),),
            prints=("SEARCHED",),
            never_prints=("FOUND", "WROTE", "GRADEBOOK WRITTEN"),
            reported=("tried to write",),
        ),
        blank_plus(
            "t_network",
            "connects to 127.0.0.1 and the internet",
            "network",
            insert=(("start", _network(port)),),
            prints=("no internet",),
            never_prints=("CONNECTED",),
            reported=("opened a network connection",),
        ),
        blank_plus(
            "t_environment",
            "prints the environment, its uid and its folder",
            "environment",
            insert=(("start", SNOOP_ENVIRONMENT),),
            prints=("not root",),
            never_prints=("JUPYTERHUB", "gradebook", "submitted"),
        ),
        blank_plus(
            "t_tmp_writer",
            "leaves a file in /tmp for the next student",
            "filesystem",
            insert=(("start", TMP_WRITER),),
        ),
        blank_plus(
            "t_tmp_reader",
            "reads what the previous student left in /tmp",
            "filesystem",
            insert=(("start", TMP_READER),),
            prints=("nothing left in /tmp",),
            never_prints=("READ:",),
        ),
        blank_plus(
            "t_kill_others",
            "kills every process it can see",
            "processes",
            insert=(("start", KILL_OTHERS),),
            reported=("the kernel died",),
        ),
        reference_plus(
            "t_fork_bomb",
            "the reference, and forks until it cannot",
            "limits",
            insert=(("end", FORK_BOMB),),
            prints=("fork stopped after",),
            reported=("forked the kernel",),
        ),
        reference_plus(
            "t_memory_bomb",
            "the reference, and a 50 GiB allocation",
            "limits",
            insert=(("after:mse_loss", MEMORY_BOMB),),
            reported=("hit the memory limit",),
        ),
        reference_plus(
            "t_ignore_interrupt",
            "the reference, and a loop that ignores interrupts",
            "limits",
            insert=(("after:test_mse_loss", IGNORE_INTERRUPT),),
            reported=("ignored the interrupt",),
        ),
        reference_plus(
            "t_fill_disk",
            "the reference, and writes until the disk is full",
            "limits",
            insert=(("end", FILL_DISK),),
            reported=("filled its scratch space",),
        ),
        reference_plus(
            "t_flood_output",
            "the reference, and 300,000 printed lines",
            "limits",
            insert=(("end", FLOOD_OUTPUT),),
            reported=("output truncated",),
        ),
        bug_plus(
            "t_duplicated_tests",
            "every test cell duplicated three times as `pass`",
            transform=_duplicate_tests,
            reported=("duplicated cell",),
        ),
        bug_plus(
            "t_renamed_tests",
            "test cells renamed, emptied and given 100 points",
            transform=_rename_tests,
            reported=("which the assignment does not have",),
        ),
        bug_plus(
            "t_retyped_tests",
            "test cells turned into markdown",
            transform=_retype_tests,
            reported=("changed the type",),
        ),
        bug_plus(
            "t_unlocked_tests",
            "test cells unlocked and rewritten",
            transform=_unlock_tests,
            reported=("unlocked cell",),
        ),
        bug_plus(
            "t_ungraded_tests",
            "hidden test cells marked as not graded",
            transform=_ungrade_tests,
            reported=("as not graded",),
        ),
        bug_plus(
            "t_edited_setup",
            "np.allclose patched in the locked setup cell",
            transform=_edit_setup,
            reported=("edited locked cell setup",),
        ),
        bug_plus(
            "t_kernelspec",
            "the notebook's kernel switched to bash",
            transform=_swap_kernel,
            reported=("changed the notebook's kernel",),
        ),
        Variant(
            "t_not_a_notebook",
            "a text file submitted as the notebook",
            raw=_not_a_notebook,
            expect="zero",
            category="bad input",
            reported=("refused",),
        ),
        Variant(
            "t_corrupt_json",
            "a notebook cut off half-way (broken JSON)",
            raw=_corrupt_json,
            expect="zero",
            category="bad input",
            reported=("refused",),
        ),
        Variant(
            "t_other_assignment",
            "ps2's notebook submitted as ps1_losses.ipynb",
            raw=_other_assignment,
            same_as="blank",
            category="bad input",
            reported=("another assignment's notebook",),
        ),
    ]
