"""What every loss shares: its reduction, the finite check, and the three entry points.

A loss is configured once (``reduction`` and ``check_finite``, keyword-only, plus
its own options, named as in ``torch.nn``) and then called on arrays of any
array-API backend:

- ``loss(input, target)``: the loss, on the input's backend and in its floating
  dtype; 0-d for ``"mean"``/``"sum"``, unreduced for ``"none"``;
- ``loss.grad(input, target)``: d(loss)/d(input), shape/dtype/device of ``input``;
  for ``"none"`` the gradient of the *sum* of the unreduced losses (what a
  backward pass with a gradient of ones gives);
- ``loss.value_and_grad(input, target)``: both from one pass.

``check_finite`` (default True) refuses NaN/inf in the input, target and weights
with a ``ValueError``; False lets NaN propagate, as PyTorch does.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod

import array_api_compat

from .._argcheck import check_bool, check_choice
from .._arraycheck import warn_overflow
from ..backend import quiet

__all__ = ["REDUCTIONS", "Loss", "as_result", "check_weight_option", "reduce"]

REDUCTIONS = ("mean", "sum", "none")


class Loss(ABC):
    """Base class: ``reduction``, ``check_finite``, ``__call__``/``grad``/``value_and_grad``.

    Subclasses implement :meth:`_run` (one pass computing what is asked for) and
    :meth:`options` (their constructor's own arguments, for :meth:`replace` and repr).
    ``squared_error`` is True for a loss whose gradient is ``2 (x - y)`` per element
    (:class:`MSELoss`): ``losskit.vectorized`` fuses it into a linear model's step.
    """

    squared_error = False

    def __init__(self, *, reduction="mean", check_finite=True):
        where = type(self).__name__
        self.reduction = check_choice(
            reduction,
            "reduction",
            where,
            choices=REDUCTIONS,
            hint="'mean' averages over the batch (learning rates transfer across batch sizes), "
            "'sum' adds the per-sample losses, 'none' returns them unreduced.",
        )
        self.check_finite = check_bool(check_finite, "check_finite", where)

    @property
    def _where(self) -> str:
        return type(self).__name__

    def __call__(self, input, target):
        """The loss: 0-d for ``"mean"``/``"sum"``, unreduced for ``"none"``."""
        return self._checked_run(input, target, want_value=True, want_grad=False)[0]

    def grad(self, input, target):
        """d(loss)/d(input): shape, dtype and device of ``input`` (sum of losses for ``"none"``)."""
        return self._checked_run(input, target, want_value=False, want_grad=True)[1]

    def value_and_grad(self, input, target):
        """``(loss(input, target), grad(input, target))`` computed in one pass."""
        return self._checked_run(input, target, want_value=True, want_grad=True)

    def _checked_run(self, input, target, want_value, want_grad):
        """:meth:`_run` with NumPy's warnings silenced; with ``check_finite`` (inputs known
        finite) an overflow to inf in the result gets one :class:`NonFiniteWarning`."""
        with quiet():
            value, grad = self._run(input, target, want_value, want_grad)
        if self.check_finite:
            xp = array_api_compat.array_namespace(value if value is not None else grad)
            for what, out in (("loss", value), ("gradient", grad)):
                if out is not None and warn_overflow(out, what, self._where, xp=xp, stacklevel=4):
                    break
        return value, grad

    def mean_weight(self, target) -> float:
        """How much a batch with these targets counts in a mean over batches (a Python float).

        For ``reduction="mean"``, ``sum_b mean_weight(t_b) * loss(x_b, t_b)`` divided by
        ``sum_b mean_weight(t_b)`` is the mean loss of all the batches together; that is
        how :func:`losskit.fit` weights micro-batches and epoch losses. Here: the number
        of samples (rows of ``target``; every row holds the same number of elements).
        """
        shape = getattr(target, "shape", None)
        if not shape:
            raise TypeError(
                f"{self._where}.mean_weight: target must be an array with a batch axis (N, ...); "
                f"got {type(target).__name__} of shape {shape}. Pass the batch's targets as an "
                f"array, e.g. xp.asarray(target)."
            )
        return float(shape[0])

    def check_row_mean(self, target, where: str) -> None:
        """Refuse (``ValueError``) targets whose ``"mean"`` is not the sum over the rows divided
        by their number: batched runs (:func:`losskit.fit_runs`) reduce each run that way.
        Every loss here means by rows, except cross-entropy with weights or ignored targets."""
        return None

    def options(self) -> dict:
        """The loss's own constructor arguments (beyond reduction and check_finite), as given."""
        return {}

    def replace(self, **changes):
        """A new loss of this class with some settings changed, checked by the constructor.

        ``loss.replace(reduction="none", check_finite=False)`` is how batched runs get the
        per-sample losses of a configured loss, its weights and options kept.
        """
        settings = {"reduction": self.reduction, "check_finite": self.check_finite}
        return type(self)(**{**self.options(), **settings, **changes})

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        opts = {
            k: _describe(v)
            for k, v in self.options().items()
            if k not in defaults or not _same(v, defaults[k].default)
        }
        opts["reduction"] = repr(self.reduction)
        if not self.check_finite:
            opts["check_finite"] = "False"
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in opts.items())})"

    @abstractmethod
    def _run(self, input, target, want_value, want_grad):
        """``(value or None, grad or None)``: the loss's one pass over its inputs."""


def _same(value, default) -> bool:
    return value is default or (not hasattr(value, "shape") and value == default)


def _describe(value) -> str:
    shape = getattr(value, "shape", None)
    return f"<array shape {tuple(shape)}>" if shape is not None else repr(value)


def as_result(xp, value, dtype):
    """``value`` as a ``dtype`` array (NumPy reductions give scalars; losskit gives 0-d arrays)."""
    if value.dtype != dtype:
        value = xp.astype(value, dtype)
    return xp.asarray(value) if array_api_compat.is_numpy_namespace(xp) else value


def reduce(xp, per_item, reduction: str, denom: float):
    """``per_item`` losses reduced: ``"none"`` as they are, ``"sum"`` added, ``"mean"`` added
    and divided by ``denom`` (a Python float; 0 gives NaN, PyTorch's 0/0, never inf)."""
    if reduction == "none":
        return per_item
    total = xp.sum(per_item)
    if reduction == "sum":
        return total
    return total / denom if denom else xp.full_like(total, xp.nan)


def check_weight_option(value, name: str, where: str):
    """A weight option as given (checked against the input when the loss is called): None,
    an array or a sequence of numbers, never a string or another kind of object."""
    if value is None or hasattr(value, "shape") or isinstance(value, list | tuple):
        return value
    raise TypeError(
        f"{where}: {name} must be an array of weights, a list of numbers or None; got "
        f"{type(value).__name__} {value!r}."
    )
