"""Inside the student's sandboxed kernel: start the kernel, answer the checker, watch for tampering.

``main()`` is the kernel's entry point (``python -c "...; main()" -f CONNECTION``):
it copies the released files into the working folder, makes the blocked
libraries unimportable with a message that says why, starts an audit hook
(Python audit hooks cannot be removed once added), starts IPython's kernel, and
the grader then asks it to record what the shell looks like before any student
code runs (the ``baseline`` request).

``serve(request)`` is what the checker's requests execute here: describe the
notebook's names, call one of its functions on plain data, or report what
changed since the start. Everything this module answers is only the student's
kernel's word: the checker validates every reply (``wire.py``), and the scores
never depend on the observations, which only feed the instructor's tamper
report. Student code can replace this module; that can only break its own
answers.
"""

from __future__ import annotations

import base64
import builtins
import io
import os
import shutil
import sys
import threading
import types
import warnings
from contextlib import redirect_stderr, redirect_stdout

from . import wire
from .sandbox import BLOCKED_LIBRARIES, INSIDE_RELEASE, INSIDE_SUBMISSION

MIME = "application/vnd.losskit.grading"
BENIGN_MODULES = (
    "IPython",
    "ipykernel",
    "matplotlib",
    "matplotlib_inline",
    "ipywidgets",
    "ipympl",
    "comm",
    "traitlets",
    "jupyter",
    "grading",
)
_MAX_NOTES = 40
_notes: list[str] = []
_baseline: dict = {}


def _note(text: str) -> None:
    if text not in _notes and len(_notes) < _MAX_NOTES:
        _notes.append(text)


class _BlockedLibraries:
    """A meta-path finder refusing the blocked libraries with a reason (the masks enforce it)."""

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in BLOCKED_LIBRARIES:
            _note(f"tried to import {top}")
            raise ModuleNotFoundError(
                f"{top} cannot be imported while your notebook is graded: the graded exercises "
                "ask for your own implementation with NumPy (losskit, SciPy, scikit-learn, "
                "PyTorch and JAX are not available here)",
                name=name,
            )
        return None


_ALLOWED_WRITES = (INSIDE_SUBMISSION + "/", "/tmp/", "/dev/null", "/dev/shm/")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_SPAWN_EVENTS = {
    "subprocess.Popen": "started a process",
    "os.system": "started a process",
    "os.exec": "started a process",
    "os.posix_spawn": "started a process",
    "os.spawn": "started a process",
    "os.fork": "forked the kernel",
    "os.forkpty": "forked the kernel",
    "socket.connect": "opened a network connection",
    "socket.bind": "opened a network socket",
    "ctypes.dlopen": "loaded a C library with ctypes",
}


def _audit(event: str, args: tuple) -> None:
    if not _baseline:  # only what happens after the kernel is ready
        return
    if event == "open":
        path, mode, flags = (list(args) + [None, None, 0])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if writing and isinstance(path, (str, bytes)):
            full = os.path.abspath(os.fsdecode(path))
            if not (full + "/").startswith(_ALLOWED_WRITES) and not full.startswith(
                _ALLOWED_WRITES
            ):
                _note(f"tried to write {full} (outside its scratch copy)")
    elif event in _SPAWN_EVENTS:
        _note(_SPAWN_EVENTS[event])


def _copy_release() -> None:
    release = os.environ.get("LOSSKIT_GRADING_RELEASE", INSIDE_RELEASE)
    scratch = os.environ.get("LOSSKIT_GRADING_SCRATCH", INSIDE_SUBMISSION)
    os.makedirs(scratch, exist_ok=True)
    if os.path.isdir(release):  # entry by entry: the scratch folder itself is not ours to chmod
        for entry in os.scandir(release):
            target = os.path.join(scratch, entry.name)
            if entry.is_dir(follow_symlinks=False):
                shutil.copytree(entry.path, target, copy_function=shutil.copyfile)
            elif entry.is_file(follow_symlinks=False):
                shutil.copyfile(entry.path, target)
    os.chdir(scratch)
    global _ALLOWED_WRITES
    _ALLOWED_WRITES = (scratch.rstrip("/") + "/", *_ALLOWED_WRITES[1:])


def _identity(value):
    """What stays the same for an unchanged attribute (a bound method is rebuilt on access)."""
    if isinstance(value, types.MethodType):
        return (id(value.__func__), id(value.__self__))
    return id(value)


def _snapshot(module) -> dict[str, object]:
    return {k: _identity(v) for k, v in vars(module).items() if not k.startswith("__")}


def _record_baseline(shell) -> None:
    import math

    import numpy
    import numpy.testing

    _baseline.update(
        transformers={
            "input_transformers_cleanup": [id(t) for t in shell.input_transformers_cleanup],
            "input_transformers_post": [id(t) for t in shell.input_transformers_post],
            "ast_transformers": [id(t) for t in shell.ast_transformers],
        },
        events={name: [id(cb) for cb in cbs] for name, cbs in shell.events.callbacks.items()},
        shell_methods={n: _identity(getattr(shell, n, None)) for n in _SHELL_METHODS},
        hooks=(_identity(sys.excepthook), _identity(sys.displayhook)),
        modules={name: _snapshot(mod) for name, mod in _watched_modules().items()},
        module_ids={name: id(mod) for name, mod in _watched_modules().items()},
        threads={t.ident for t in threading.enumerate()},
        numpy_ok=bool(numpy.__version__ and numpy.testing),
        math_ok=bool(math.pi),
    )


_SHELL_METHODS = (
    "run_cell",
    "run_cell_async",
    "run_ast_nodes",
    "run_code",
    "transform_cell",
    "showtraceback",
    "_showtraceback",
    "showsyntaxerror",
)


def _watched_modules() -> dict:
    import math

    import numpy
    import numpy.testing

    return {"builtins": builtins, "numpy": numpy, "numpy.testing": numpy.testing, "math": math}


def _origin(callback) -> str:
    fn = getattr(callback, "__func__", callback)
    return getattr(fn, "__module__", None) or "?"


def _thread_code(thread: threading.Thread):
    """What a thread runs: its target, or its class's run method (ipykernel's own threads)."""
    target = getattr(thread, "_target", None)
    return target if target is not None else type(thread).run


def observe(shell) -> list[str]:
    """What the student's code changed in its kernel since the start (for the tamper report)."""
    found = list(_notes)
    if not _baseline:
        return found
    for attr, before in _baseline["transformers"].items():
        if [id(t) for t in getattr(shell, attr)] != before:
            found.append(f"changed IPython's {attr}")
    for name, cbs in shell.events.callbacks.items():
        before = set(_baseline["events"].get(name, []))
        added = [cb for cb in cbs if id(cb) not in before]
        if any(not _origin(cb).startswith(BENIGN_MODULES) for cb in added):
            found.append(f"registered an IPython {name} hook")
    for name, method in _baseline["shell_methods"].items():
        if _identity(getattr(shell, name, None)) != method:
            found.append(f"replaced the shell's {name}")
    if shell.custom_exceptions:
        found.append("installed a custom exception handler (set_custom_exc)")
    if (_identity(sys.excepthook), _identity(sys.displayhook)) != _baseline["hooks"]:
        found.append("replaced sys.excepthook or sys.displayhook")
    for name, module in _watched_modules().items():
        if id(sys.modules.get(name)) != _baseline["module_ids"][name]:
            found.append(f"replaced the module {name} in sys.modules")
            continue
        now = _snapshot(module)
        changed = sorted(k for k, v in _baseline["modules"][name].items() if now.get(k) != v)
        if changed:
            found.append(f"patched {name}: {', '.join(changed[:6])}")
    if sys.getprofile() is not None or sys.gettrace() is not None:
        found.append("left a sys.setprofile/sys.settrace function installed")
    extra = [  # threads running the notebook's own code (library threads come and go)
        t.name
        for t in threading.enumerate()
        if t.ident not in _baseline["threads"] and _origin(_thread_code(t)) == "__main__"
    ]
    if extra:
        found.append(f"left threads running: {', '.join(extra[:4])}")
    return found


def _shell():
    from IPython import get_ipython

    return get_ipython()


class _Sink(io.TextIOBase):
    """Where a student function's prints go during a call: nowhere (the checker owns the output)."""

    def write(self, s):
        return len(s)


def _error_info(err: BaseException) -> dict:
    try:
        message = str(err)
    except Exception:
        message = "<the exception's message could not be printed>"
    return {
        "type": type(err).__name__,
        "bases": [c.__name__ for c in type(err).__mro__][:20],
        "message": message[:4000],
    }


_ERR_KINDS = ("divide", "over", "under", "invalid")
_ERR_ACTIONS = ("ignore", "warn", "raise", "print")


def _call(request: dict) -> dict:
    name = request["name"]
    fn = _shell().user_ns.get(name)
    if not callable(fn):
        return {"missing": f"{name} is not a function in your notebook"}
    args = wire.decode(request["args"])
    kwargs = wire.decode(request["kwargs"])
    arrays = wire.arrays_in([args, kwargs])
    before = [(a.shape, a.dtype, a.tobytes()) for a in arrays]
    out: dict = {}
    errstate = {
        k: v
        for k, v in dict(request.get("errstate") or {}).items()
        if k in _ERR_KINDS and v in _ERR_ACTIONS
    }
    import numpy

    with warnings.catch_warnings(record=True) as caught, numpy.errstate(**errstate):
        with redirect_stdout(_Sink()), redirect_stderr(_Sink()):
            try:
                result = fn(*args, **kwargs)
            except BaseException as err:  # reported to the checker, which re-raises it there
                out["raised"] = _error_info(err)
            else:
                try:
                    out["result"] = wire.encode(result)
                except wire.Unsendable as err:
                    out["unsendable"] = str(err)
    out["warnings"] = [
        {
            "category": w.category.__name__,
            "bases": [c.__name__ for c in w.category.__mro__][:20],
            "message": str(w.message)[:1000],
        }
        for w in caught[:20]
    ]
    out["changed"] = [
        [i, wire.encode(a)]
        for i, (a, (shape, dtype, data)) in enumerate(zip(arrays, before, strict=True))
        if a.shape != shape or a.dtype != dtype or a.tobytes() != data
    ]
    return out


def _describe(request: dict) -> dict:
    user_ns = _shell().user_ns
    kinds: dict = {}
    for name in request["names"][:500]:
        if not isinstance(name, str) or name not in user_ns:
            continue
        value = user_ns[name]
        if isinstance(value, types.ModuleType):
            continue
        if callable(value):
            kinds[name] = "function"
            continue
        try:
            kinds[name] = {"value": wire.encode(value)}
        except wire.Unsendable:
            kinds[name] = "unsendable"
    return {"names": kinds}


def serve(request: str) -> None:
    """Answer one request from the checker (a base64 JSON message) with a display_data reply."""
    from IPython.display import publish_display_data

    try:
        message = wire.loads(base64.b64decode(request).decode("utf-8"))
        op = message.get("op")
        if op == "call":
            reply = _call(message)
        elif op == "describe":
            reply = _describe(message)
        elif op == "observe":
            reply = {"findings": observe(_shell())}
        elif op == "baseline":  # sent once the kernel is up, before any student code
            _record_baseline(_shell())
            reply = {"ok": True}
        else:
            reply = {"failed": f"unknown request {op!r}"}
        text = wire.dumps(reply)
    except wire.Unsendable as err:
        text = wire.dumps({"unsendable": str(err)})
    except Exception as err:
        text = wire.dumps({"failed": f"{type(err).__name__}: {err}"[:2000]})
    publish_display_data({MIME: text})


def main() -> None:
    """Start the student's kernel (argv: ipykernel's, e.g. ``-f CONNECTION_FILE``)."""
    _copy_release()
    sys.meta_path.insert(0, _BlockedLibraries())
    sys.addaudithook(_audit)
    _watched_modules()  # NumPy and friends imported before the baseline
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["--HistoryManager.hist_file=:memory:", *sys.argv[1:]])
    app.start()
