"""Gradient checking: compare an analytic gradient with central finite differences.

The relative error of element ``i`` is CS231n's ``|a - n| / max(|a|, |n|, tiny)``
(``a`` analytic, ``n`` numeric); the overall one uses norms. In float64 with
``h = 1e-6`` a correct gradient of a smooth function gives about 1e-7 or less;
1e-2 and up almost always means a bug (a missing factor such as ``1/N`` or 2,
a transposed matrix, a sign, or the gradient of a different reduction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy

from ._argcheck import check_real
from .backend import backend_of

__all__ = ["GradcheckResult", "gradcheck"]

TINY = float(numpy.finfo(numpy.float64).tiny)


@dataclass(frozen=True)
class GradcheckResult:
    """What :func:`gradcheck` found; host NumPy float64 arrays of ``x``'s shape.

    ``passed`` is the verdict: every element's relative error is at most ``rtol``
    or its absolute error at most ``atol`` (elements whose true gradient is zero
    leave only rounding noise, so a relative error says nothing there).
    """

    analytic: numpy.ndarray
    numeric: numpy.ndarray
    abs_error: numpy.ndarray
    rel_error: numpy.ndarray
    overall_rel_error: float
    worst_index: tuple
    rtol: float
    atol: float
    passed: bool

    @property
    def max_rel_error(self) -> float:
        return float(self.rel_error.max()) if self.rel_error.size else 0.0

    @property
    def verdict(self) -> str:
        """One sentence: pass or fail, and the worst element."""
        i = self.worst_index
        worst = (
            f"worst element {i}: analytic {self.analytic[i]:.6g}, numeric {self.numeric[i]:.6g}, "
            f"relative error {self.rel_error[i]:.2e}"
            if self.rel_error.size
            else "no elements"
        )
        if self.passed:
            ok = f"max relative error {self.max_rel_error:.2e} <= {self.rtol:g}"
            return f"gradient OK ({ok}); {worst}."
        return (
            f"gradient WRONG: {worst} (> {self.rtol:g}); overall relative error "
            f"{self.overall_rel_error:.2e}. A large relative error usually means a missing "
            f"factor (1/N, 2), a wrong sign, a transpose, or the gradient of another reduction."
        )

    def __str__(self) -> str:
        return self.verdict


def _scalar(value, where: str) -> float:
    host = numpy.asarray(backend_of(value).to_host(value) if hasattr(value, "shape") else value)
    if host.size != 1:
        raise ValueError(
            f"{where}: f must return one number (a loss with reduction 'mean' or 'sum'); "
            f"got shape {host.shape}. Reduce it, e.g. with .sum()."
        )
    return float(host.reshape(()))


def gradcheck(
    f: Callable,
    x,
    grad=None,
    *,
    h: float = 1e-6,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    dtype="float64",
) -> GradcheckResult:
    """Check ``grad`` against central differences ``(f(x + h e_i) - f(x - h e_i)) / 2h``.

    ``f(x)`` returns a scalar, or ``(value, gradient)`` as ``loss.value_and_grad``
    does (then ``grad`` may be omitted). ``grad`` is the analytic gradient (an
    array of ``x``'s shape) or a callable ``grad(x)``. ``x`` stays on its backend;
    it is cast to ``dtype`` (float64 by default: float32 differences are noise at
    this ``h``). Costs ``2 * x.size`` calls of ``f``: use small arrays.
    """
    where = "gradcheck"
    h = check_real(h, "h", where, minimum=0.0, strict_minimum=True)
    rtol = check_real(rtol, "rtol", where, minimum=0.0)
    atol = check_real(atol, "atol", where, minimum=0.0)
    if not callable(f):
        raise TypeError(f"{where}: f must be a function of x; got {type(f).__name__}.")
    if not hasattr(x, "shape"):
        raise TypeError(
            f"{where}: x must be an array (of any losskit backend); got {type(x).__name__}. "
            f"Make one with losskit.get_backend().asarray(...)."
        )
    bk = backend_of(x)
    xdt = getattr(bk.xp, str(dtype))
    x0 = bk.to_host(x).astype(numpy.float64)

    def call(host):
        out = f(bk.asarray(host, dtype=xdt))
        return out if isinstance(out, tuple) else (out, None)

    _, given = call(x0)
    if grad is None:
        grad = given
    elif callable(grad):
        grad = grad(bk.asarray(x0, dtype=xdt))
    if grad is None:
        raise ValueError(
            f"{where}: no analytic gradient: pass grad=..., or an f returning (value, grad) "
            f"such as lambda z: loss.value_and_grad(z, target)."
        )
    analytic = numpy.asarray(bk.to_host(grad), dtype=numpy.float64)
    if analytic.shape != x0.shape:
        raise ValueError(
            f"{where}: the analytic gradient has shape {analytic.shape}, x has {x0.shape}; "
            f"a gradient has its input's shape."
        )
    numeric = numpy.empty_like(x0)
    for i in numpy.ndindex(x0.shape):
        step = x0.copy()
        step[i] += h
        plus = _scalar(call(step)[0], where)
        step[i] -= 2 * h
        minus = _scalar(call(step)[0], where)
        numeric[i] = (plus - minus) / (2 * h)
    abs_error = numpy.abs(analytic - numeric)
    rel_error = abs_error / numpy.maximum(
        numpy.maximum(numpy.abs(analytic), numpy.abs(numeric)), TINY
    )
    # The worst element among those that fail the absolute test, else the largest relative one.
    judged = numpy.where(abs_error <= atol, 0.0, rel_error)
    worst_of = judged if judged.size and judged.max() > 0 else rel_error
    worst = numpy.unravel_index(int(numpy.argmax(worst_of)), x0.shape) if x0.size else ()
    norm = max(numpy.linalg.norm(analytic), numpy.linalg.norm(numeric), TINY)
    return GradcheckResult(
        analytic=analytic,
        numeric=numeric,
        abs_error=abs_error,
        rel_error=rel_error,
        overall_rel_error=float(numpy.linalg.norm(analytic - numeric) / norm),
        worst_index=tuple(int(k) for k in worst),
        rtol=rtol,
        atol=atol,
        passed=bool(numpy.all((rel_error <= rtol) | (abs_error <= atol))),
    )
