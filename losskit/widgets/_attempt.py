"""Run one call and say, in one line, what a student running it would see.

A lesson that makes a mistake on purpose ("logits into ``BCELoss``") wants to show
what happens: the value that comes back, the warnings printed on the way, or the
error and its message. Letting the error escape would stop "Run All"; catching it
by hand takes a ``try``/``except`` and a ``warnings.catch_warnings`` around every
call, plumbing that buries the line the lesson is about. :func:`attempt` does the
catching, so the cell a student reads is the mistake itself::

    numpy_way = attempt(lambda: -np.log(p[rows, y]).mean())
    losskit_way = attempt(losskit.CrossEntropyLoss(), logits, y)
    reveal(f"NumPy: {numpy_way}  \\nlosskit: {losskit_way}")

The :class:`Attempt` it returns prints as one line of Markdown (for
:func:`~losskit.widgets.reveal`): "returns `1.175`, no warning", "returns `nan`;
warns `RuntimeWarning`: ...", "raises `ValueError`: ...". Its ``value``,
``error``, ``raised``, ``warnings`` and ``warned`` are what the lesson's asserts
check, so the prose around it cannot drift from what the code does.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from warnings import WarningMessage

import numpy

__all__ = ["Attempt", "attempt"]

# Characters Markdown (and JupyterLab's $...$ maths) would interpret in a message.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>$|~])")


def _plain(text: str) -> str:
    """``text`` as literal Markdown on one line: whitespace runs joined, specials escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _host(value: Any) -> numpy.ndarray | None:
    """``value`` as a NumPy array if it is a number or an array of any backend, else ``None``."""
    if isinstance(value, bool | int | float | complex | numpy.ndarray | numpy.generic):
        return numpy.asarray(value)
    import array_api_compat

    if not array_api_compat.is_array_api_obj(value):
        return None
    from ..backend import get_backend

    return get_backend("numpy").to_host(value)  # knows every backend's way to the host


def _describe_value(value: Any, digits: int) -> str:
    host = _host(value)
    if host is None:
        text = repr(value)
        return f"`{text if len(text) <= 60 else text[:57] + '...'}`"
    if host.ndim == 0 and host.dtype.kind in "biufc":
        return f"`{host.item():.{digits}g}`" if host.dtype.kind in "fc" else f"`{host.item()}`"
    return f"an array of shape `{host.shape}`"


@dataclass(frozen=True)
class Attempt:
    """What one call did: its value or its error, and the warnings it issued.

    ``value`` is the call's result (``None`` if it raised), ``error`` the exception
    it raised (``None`` if it returned), ``warnings`` the :class:`warnings.WarningMessage`
    records it issued, in order. ``str(attempt)`` is the one-line Markdown a lesson
    shows; :meth:`describe` the same with another number of significant digits.
    """

    value: Any = None
    error: Exception | None = None
    warnings: tuple[WarningMessage, ...] = ()

    @property
    def raised(self) -> bool:
        """Whether the call raised (then ``error`` is the exception)."""
        return self.error is not None

    @property
    def warned(self) -> bool:
        """Whether the call issued at least one warning."""
        return bool(self.warnings)

    def describe(self, digits: int = 4) -> str:
        """One line of Markdown: the value (``digits`` significant digits) or the error,
        then each distinct warning with its category (once, with a count if repeated);
        "no warning" when it returned quietly."""
        if self.error is not None:
            line = f"raises `{type(self.error).__name__}`: {_plain(str(self.error))}"
        else:
            line = f"returns {_describe_value(self.value, digits)}"
        seen: dict[tuple[str, str], int] = {}  # one entry per distinct warning, in order
        for w in self.warnings:
            key = (w.category.__name__, _plain(str(w.message)))
            seen[key] = seen.get(key, 0) + 1
        for (category, message), count in seen.items():
            times = f" ({count} times)" if count > 1 else ""
            line += f"; warns `{category}`{times}: {message}"
        if self.error is None and not self.warnings:
            line += ", no warning"
        return line

    def __str__(self) -> str:
        return self.describe()


def attempt(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Attempt:
    """Call ``fn(*args, **kwargs)``; return an :class:`Attempt` of what it returned or
    raised and the warnings it issued.

    Every warning is recorded, even one the filters would show only once or hide
    (``simplefilter("always")`` inside the call), and none is printed. An
    ``Exception`` the call raises is caught and kept in ``error``, not hidden: the
    lesson shows it and asserts on it. ``KeyboardInterrupt`` and other
    ``BaseException`` s still stop the cell.
    """
    if not callable(fn):
        raise TypeError(
            f"attempt(): fn must be callable, got {type(fn).__name__} {fn!r}; "
            f"wrap an expression in a lambda: attempt(lambda: ...)"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value, error = fn(*args, **kwargs), None
        except Exception as exc:  # the point: show the error instead of stopping the lesson
            value, error = None, exc
    return Attempt(value=value, error=error, warnings=tuple(caught))
