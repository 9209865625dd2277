"""Inside the checker kernel: the student's functions as proxies that call the sandboxed kernel.

The checker kernel runs the locked cells and the test cells, never student
code. Before each test cell the grader calls ``bind(source)``: every name the
cell reads that the checker does not define is looked up in the student's
kernel; a function becomes a ``StudentFunction`` proxy, plain data becomes a
copy. Calling a proxy sends its arguments as plain data (``wire.py``), runs the
function in the student's kernel and brings back its result, the warnings it
raised (re-issued here, so a test that prints one still scores 0, as nbgrader
rules) and its in-place changes to array arguments (written back into the
caller's arrays, so "changed its input in place" is still caught). An
exception raised by the student's function is raised here as the nearest
built-in exception class with the same message (``except ValueError`` in a test
still works). A function that runs past the cell's time is interrupted there
and raises ``StudentTimeout`` here.
"""

from __future__ import annotations

import ast
import base64
import builtins
import time
import warnings

import numpy as np
from jupyter_client import BlockingKernelClient

from . import kernels, wire
from .student_side import MIME

_state: dict = {"kc": None, "deadline": None, "bound": set(), "hidden": False}


class StudentCodeError(Exception):
    """The student's kernel could not give an answer (made by the grader, not by a test)."""


class StudentTimeout(StudentCodeError):
    """The student's function did not return within the test cell's time."""


class KernelLost(StudentCodeError):
    """The student's kernel stopped (crashed, exited, or hit a limit) during a call."""


def connect(connection_file: str) -> None:
    """Talk to the student's kernel described by ``connection_file`` (after each restart too)."""
    old = _state["kc"]
    if old is not None:
        old.stop_channels()
    kc = BlockingKernelClient()
    kc.load_connection_file(connection_file)
    kc.start_channels()
    _state["kc"] = kc


def begin_cell(seconds: float, hidden: bool) -> None:
    """The next test cell may spend ``seconds`` in the student's functions, all calls together."""
    _state["deadline"] = time.monotonic() + seconds
    _state["hidden"] = hidden


def _remaining() -> float:
    deadline = _state["deadline"]
    return 10.0 if deadline is None else deadline - time.monotonic()


def ask(kc, message: dict, timeout: float, *, interrupt=None, alive=None) -> dict:
    """Send one request to the student's kernel and return its validated reply."""
    blob = base64.b64encode(wire.dumps(message).encode("utf-8")).decode("ascii")
    code = f"__import__('grading.student_side', fromlist=['serve']).serve('{blob}')"
    ran = kernels.run(kc, code, timeout, interrupt=interrupt, alive=alive)
    if ran.status == "died":
        raise KernelLost(
            "your kernel stopped while the test was running (a crash, os._exit or a limit)"
        )
    if ran.status in ("timeout", "hung"):
        raise StudentTimeout(
            f"your code did not finish within the {timeout:.0f} s left for this test cell "
            "(an infinite loop, or far too slow?)"
        )
    replies = [d[MIME] for d in ran.data if isinstance(d.get(MIME), str)]
    if len(replies) != 1:
        raise StudentCodeError(
            "your kernel did not answer the grader"
            + (f" ({ran.ename}: {ran.evalue})" if ran.ename else "")
            + ": did your code change how IPython runs cells?"
        )
    try:
        return wire.loads(replies[0])
    except wire.WireError as err:
        raise StudentCodeError(f"your kernel's answer could not be read: {err}") from None


def _interrupt() -> None:
    kc = _state["kc"]
    kc.control_channel.send(kc.session.msg("interrupt_request", {}))


def _ask(message: dict, timeout: float) -> dict:
    kc = _state["kc"]
    if kc is None:
        raise KernelLost("the checker is not connected to your kernel")
    return ask(kc, message, timeout, interrupt=_interrupt, alive=kc.is_alive)


def _exception_class(info: dict) -> type[BaseException]:
    for name in info.get("bases", []):
        cls = getattr(builtins, name, None)
        if isinstance(cls, type) and issubclass(cls, Exception) and cls is not Exception:
            return cls
    return StudentCodeError


def _raise(name: str, info: dict):
    kind = info.get("type", "")
    message = str(info.get("message", ""))
    if kind == "KeyboardInterrupt":
        raise StudentTimeout(f"your {name} was interrupted: it ran past the test cell's time")
    if "BaseException" in info.get("bases", []) and "Exception" not in info.get("bases", []):
        raise StudentCodeError(f"your {name} raised {kind} ({message})")
    cls = _exception_class(info)
    try:
        err = cls(message)
    except Exception:
        err = StudentCodeError(f"{kind}: {message}")
    err.student_function = name
    raise err


def _warn(name: str, w: dict) -> None:
    category = getattr(builtins, str(w.get("category", "")), None)
    if not (isinstance(category, type) and issubclass(category, Warning)):
        category = next(
            (
                getattr(builtins, b)
                for b in w.get("bases", [])
                if isinstance(getattr(builtins, b, None), type)
                and issubclass(getattr(builtins, b), Warning)
            ),
            UserWarning,
        )
    warnings.warn_explicit(str(w.get("message", "")), category, f"your {name}", 0, "__main__")


class StudentFunction:
    """A function of the student's notebook, called in the student's sandboxed kernel."""

    def __init__(self, name: str) -> None:
        self.__name__ = self.__qualname__ = name

    def __repr__(self) -> str:
        return f"<your function {self.__name__}>"

    def __call__(self, *args, **kwargs):
        name = self.__name__
        remaining = _remaining()
        if remaining <= 0:
            raise StudentTimeout(f"no time left in this test cell to call your {name}")
        sent = [list(args), kwargs]
        message = {
            "op": "call",
            "name": name,
            "args": wire.encode(sent[0]),
            "kwargs": wire.encode(kwargs),
            "errstate": np.geterr(),  # a test's np.errstate applies to the call, as in one kernel
        }
        reply = _ask(message, remaining)
        originals = wire.arrays_in(sent)
        for index, encoded in reply.get("changed", [])[: len(originals)]:
            new, old = wire.decode(encoded), originals[index]
            if type(new) is np.ndarray and new.shape == old.shape and old.flags.writeable:
                old[...] = new.astype(old.dtype, copy=False)
        for w in reply.get("warnings", [])[:20]:
            _warn(name, w)
        if "raised" in reply:
            _raise(name, reply["raised"])
        if "unsendable" in reply:
            raise TypeError(
                f"your {name} returned something the grader cannot read: {reply['unsendable']}"
            )
        if "missing" in reply:
            raise NameError(reply["missing"])
        if "result" not in reply:
            raise StudentCodeError(f"your kernel's answer for {name} had no result")
        return wire.decode(reply["result"])


def free_names(source: str) -> list[str]:
    """Names a cell reads that are not builtins (a superset of what it needs from elsewhere)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    return sorted(names - set(dir(builtins)))


def bind(source: str) -> None:
    """Give the next test cell the student's functions and values it reads (see the module doc)."""
    from IPython import get_ipython

    user_ns = get_ipython().user_ns
    wanted = [n for n in free_names(source) if n not in user_ns or n in _state["bound"]]
    if not wanted:
        return
    reply = _ask({"op": "describe", "names": wanted}, min(10.0, max(_remaining(), 1.0)))
    for name, kind in reply.get("names", {}).items():
        if name not in wanted:
            continue
        if kind == "function":
            user_ns[name] = StudentFunction(name)
        elif isinstance(kind, dict) and "value" in kind:
            user_ns[name] = wire.decode(kind["value"])
        else:
            continue
        _state["bound"].add(name)


def last_error_from_student() -> str | None:
    """The student function behind the cell's uncaught exception, if one raised it."""
    import sys

    err = getattr(sys, "last_value", None)
    return getattr(err, "student_function", None)
