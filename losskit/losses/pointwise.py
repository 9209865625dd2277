"""Element-wise losses (``torch.nn`` names): one loss per element of input and target.

Each is a few lines: the per-element loss ``l(x, y)`` and its derivative
``dl/dx`` side by side in ``_pointwise``. ``"mean"`` divides the sum by the number
of elements (and so the gradient by it too), ``"sum"`` adds, ``"none"`` returns
``l`` per element. ``input`` and ``target`` have one shape, exactly: an ``(N, 1)``
input against an ``(N,)`` target is refused (it would broadcast to ``(N, N)``).
float16 input is computed in float32 and returned in float16.
"""

from __future__ import annotations

from abc import abstractmethod

from .. import _arraycheck as A
from .._argcheck import check_real
from ..backend import errstate, quiet
from ..numerics import sigmoid, work_dtype
from ._base import Loss, as_result, check_weight_option, reduce

__all__ = ["BCELoss", "BCEWithLogitsLoss", "HuberLoss", "L1Loss", "MSELoss"]

# PyTorch's constants: BCE clamps each log term at -100 and its backward divides
# by max((1 - x) * x, EPSILON), EPSILON being the C++ float 1e-12 (float32(1e-12)
# = 9.9999999600419720025e-13, also in float64 arithmetic).
BCE_LOG_CLAMP = -100.0
BCE_EPS = 9.9999999600419720025e-13


class PointwiseLoss(Loss):
    """A loss computed element by element; subclasses write ``_pointwise``."""

    _input_name = "input"

    def _run(self, input, target, want_value, want_grad):
        xp, x, y = self._prepare(input, target)
        n = float(_size(x))
        with quiet():
            elems, g = self._pointwise(xp, x, y, want_grad)
        value = grad = None
        if want_value:
            value = as_result(xp, reduce(xp, elems, self.reduction, n), input.dtype)
        if want_grad:
            g = g / n if self.reduction == "mean" else g
            grad = g if g.dtype == input.dtype else xp.astype(g, input.dtype)
        return value, grad

    @abstractmethod
    def _pointwise(self, xp, x, y, want_grad):
        """Per-element losses and (if ``want_grad``) their derivatives w.r.t. ``x``."""

    def _check_values(self, xp, x, y) -> None:
        """Loss-specific value checks (BCE: probabilities in [0, 1])."""

    def _prepare(self, input, target):
        """``(xp, x, y)``: checked, in the compute dtype (float16 input: float32)."""
        where, name = self._where, self._input_name
        xp = A.namespace(input, target, where=where, names=("input", "target"))
        A.check_float(input, name, where, xp=xp)
        A.check_same_device(target, input, ("target", "input"), where)
        A.check_same_shape(input, target, where)
        A.check_nonempty_size(input, name, where)
        if self.check_finite:  # before any cast: a float64 target can't turn inf in float16
            A.check_finite(input, name, where, xp=xp)
            if xp.isdtype(target.dtype, "real floating"):
                A.check_finite(target, "target", where, xp=xp)
        work = work_dtype(xp, input.dtype)
        wide = target.dtype  # a float64 target can pass float32's range: say so, never inf
        with errstate(over="ignore"):  # an overflowing cast is reported just below
            y = A.as_real(target, "target", where, xp=xp, dtype=work)
        if self.check_finite and y.dtype != wide and xp.isdtype(wide, "real floating"):
            A.check_cast_in_range(y, "target", where, xp=xp, original=wide)
        x = input if work == input.dtype else xp.astype(input, work)
        self._check_values(xp, x, y)
        return xp, x, y


def _size(x) -> int:
    n = 1
    for d in x.shape:
        n *= d
    return n


class MSELoss(PointwiseLoss):
    """Mean squared error ``(x - y)**2`` (``torch.nn.MSELoss``); gradient ``2 (x - y)``.

    ``input`` and ``target``: the same shape (any), ``input`` floating. With
    ``"mean"`` the gradient is ``2 (x - y) / n``, n the number of elements.
    """

    squared_error = True

    def _pointwise(self, xp, x, y, want_grad):
        d = x - y
        return d * d, (2.0 * d if want_grad else None)


class L1Loss(PointwiseLoss):
    """Mean absolute error ``|x - y|`` (``torch.nn.L1Loss``); gradient ``sign(x - y)``."""

    def _pointwise(self, xp, x, y, want_grad):
        d = x - y
        return xp.abs(d), (xp.sign(d) if want_grad else None)


class HuberLoss(PointwiseLoss):
    """Huber loss (``torch.nn.HuberLoss``): quadratic for ``|x - y| < delta``, linear beyond.

    ``0.5 d**2`` if ``|d| < delta`` else ``delta (|d| - delta / 2)``, with
    ``d = x - y``; the gradient is ``d`` clipped to ``[-delta, delta]``.
    ``delta`` must be a positive number.
    """

    def __init__(self, delta=1.0, *, reduction="mean", check_finite=True):
        super().__init__(reduction=reduction, check_finite=check_finite)
        self.delta = check_real(
            delta,
            "delta",
            self._where,
            minimum=0.0,
            strict_minimum=True,
            hint="delta is the |x - y| where the loss turns from quadratic to linear; "
            "use a positive value such as 1.0.",
        )

    def options(self):
        return {"delta": self.delta}

    def _pointwise(self, xp, x, y, want_grad):
        delta = self.delta
        d = x - y
        ad = xp.abs(d)
        loss = xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
        return loss, (xp.clip(d, -delta, delta) if want_grad else None)


class _Weighted(PointwiseLoss):
    """An element-wise loss with optional weights broadcast against the input (PyTorch's rule)."""

    def _param(self, xp, value, like, name):
        """``value`` on ``like``'s backend, if it broadcasts to ``like``'s shape unchanged."""
        if value is None:
            return None
        arr = A.as_param(value, name, self._where, like=like, dtype=like.dtype)
        shape, ws = tuple(like.shape), tuple(arr.shape)
        ok = len(ws) <= len(shape) and all(
            w in (1, s) for w, s in zip(ws[::-1], shape[::-1], strict=False)
        )
        if not ok:
            raise ValueError(
                f"{self._where}: {name} of shape {ws} does not broadcast to the input's shape "
                f"{shape} (shapes align from the last axis; each {name} axis must be 1 or "
                f"match). {self._param_hint(name, shape)}"
            )
        if self.check_finite:
            A.check_finite(arr, name, self._where, xp=xp)
        return arr

    def _param_hint(self, name, shape) -> str:
        return f"Give {name} the shape {shape}, or a shape such as {shape[-1:]} for one per column."


class BCELoss(_Weighted):
    """Binary cross-entropy on probabilities (``torch.nn.BCELoss``).

    ``l = -w [y log(x) + (1 - y) log(1 - x)]`` with each log clamped at -100,
    as PyTorch does, so a saturated probability (0 or 1) costs at most 100
    instead of inf. Gradient, as PyTorch's backward:
    ``w (x - y) / max((1 - x) x, 1e-12)`` (1e-12 rounded to float32, as in PyTorch).

    ``input``: probabilities in [0, 1]; ``target``: the same shape, in [0, 1]
    (float, int or bool labels are accepted and cast); ``weight``: optional,
    broadcastable to the input's shape (e.g. ``(C,)`` per column or the full
    shape). Prefer :class:`BCEWithLogitsLoss` on logits: in float32
    ``sigmoid(20)`` rounds to 1, and BCE then hits the clamp (loss 100) where
    the true loss is 20.
    """

    _input_name = "input (probabilities)"

    def __init__(self, weight=None, *, reduction="mean", check_finite=True):
        super().__init__(reduction=reduction, check_finite=check_finite)
        self.weight = check_weight_option(weight, "weight", self._where)

    def options(self):
        return {"weight": self.weight}

    def _check_values(self, xp, x, y):
        A.check_unit_interval(
            x,
            self._input_name,
            self._where,
            xp=xp,
            hint="BCELoss takes probabilities (after a sigmoid); if these are raw scores "
            "(logits), use BCEWithLogitsLoss, which is also numerically safer.",
        )
        A.check_unit_interval(
            y,
            "target",
            self._where,
            xp=xp,
            hint="Binary targets are 0/1 labels or probabilities; rescale or relabel them.",
        )

    def _pointwise(self, xp, x, y, want_grad):
        w = self._param(xp, self.weight, x, "weight")
        log_x = xp.maximum(xp.log(x), BCE_LOG_CLAMP)
        log_1mx = xp.maximum(xp.log1p(-x), BCE_LOG_CLAMP)
        loss = -(y * log_x + (1.0 - y) * log_1mx)
        g = (x - y) / xp.maximum((1.0 - x) * x, BCE_EPS) if want_grad else None
        if w is None:
            return loss, g
        return loss * w, (None if g is None else g * w)


class BCEWithLogitsLoss(_Weighted):
    """Binary cross-entropy on logits (``torch.nn.BCEWithLogitsLoss``): sigmoid fused into the loss.

    ``l = w [(1 - y) x + softplus(-x)]``, ``softplus(-x) = max(-x, 0) + log1p(exp(-|x|))``
    never overflowing; gradient ``w (sigmoid(x) - y)``. With ``pos_weight`` ``p``
    (weight of the positive term, broadcast over the last axis like PyTorch, e.g.
    ``(C,)`` for C labels): ``l = w [(1 - y) x + (1 + (p - 1) y) softplus(-x)]``
    and gradient ``w [(p y + 1 - y) sigmoid(x) - p y]``.

    ``input``: logits, any shape; ``target``: same shape, in [0, 1].
    """

    _input_name = "input (logits)"

    def __init__(self, weight=None, pos_weight=None, *, reduction="mean", check_finite=True):
        super().__init__(reduction=reduction, check_finite=check_finite)
        self.weight = check_weight_option(weight, "weight", self._where)
        self.pos_weight = check_weight_option(pos_weight, "pos_weight", self._where)

    def options(self):
        return {"weight": self.weight, "pos_weight": self.pos_weight}

    def _check_values(self, xp, x, y):
        A.check_unit_interval(
            y,
            "target",
            self._where,
            xp=xp,
            hint="Binary targets are 0/1 labels or probabilities; rescale or relabel them.",
        )

    def _param_hint(self, name, shape):
        if name == "pos_weight":
            return f"pos_weight holds one weight per label: shape {shape[-1:]} (or a scalar)."
        return super()._param_hint(name, shape)

    def _pointwise(self, xp, x, y, want_grad):
        w = self._param(xp, self.weight, x, "weight")
        p = self._param(xp, self.pos_weight, x, "pos_weight")
        # written (1 - y) x + softplus(-x) as in PyTorch, so infinite logits give its inf/NaN
        softplus_neg = xp.maximum(-x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))
        if p is None:
            loss = (1.0 - y) * x + softplus_neg
            g = sigmoid(x) - y if want_grad else None
        else:
            loss = (1.0 - y) * x + ((p - 1.0) * y + 1.0) * softplus_neg
            g = (p * y + 1.0 - y) * sigmoid(x) - p * y if want_grad else None
        if w is None:
            return loss, g
        return loss * w, (None if g is None else g * w)
