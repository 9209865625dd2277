"""The losses of ``torch.nn``, each forward written next to its analytic gradient.

Every loss is an object configured once (``reduction="mean"|"sum"|"none"`` and its
own options, named as in PyTorch) and called on arrays of any array-API backend:

- ``loss(input, target)``: the loss, on the input's backend and in its floating
  dtype; 0-d for ``"mean"``/``"sum"``, per element (per sample for
  cross-entropy) for ``"none"``.
- ``loss.grad(input, target)``: d(loss)/d(input), shape/dtype/device of
  ``input``. For ``"none"`` it is the gradient of the *sum* of the unreduced
  losses (what a backward pass with a gradient of ones would give).
- ``loss.value_and_grad(input, target)``: both from one pass.

Values and gradients match PyTorch 2.x (``tests/data/torch_reference.npz`` holds
its numbers). Bad input raises ``ValueError``/``TypeError`` saying what was wrong,
what was expected, what was given and the likely fix; NaN/inf in the input is
refused unless ``check_finite=False``. float16 input is computed in float32 and
returned in float16.

Arguments every loss takes: ``reduction`` (``"mean"``, ``"sum"``, ``"none"``)
and the keyword-only ``check_finite`` (default True: one pass refuses NaN/inf in the
input, target and weights with a ``ValueError``; False skips it and lets NaN
propagate, as PyTorch does).
"""

from __future__ import annotations

import operator
import warnings
from abc import ABC, abstractmethod

import array_api_compat

from . import _arraycheck as V
from ._argcheck import check_bool, check_choice, check_real
from .backend import errstate
from .numerics import log_softmax, sigmoid, softmax_shift, work_dtype

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "L1Loss",
    "MSELoss",
]

# PyTorch's constants: BCE clamps each log term at -100 and its backward divides
# by max((1 - x) * x, EPSILON), EPSILON being the C++ float 1e-12 (float32(1e-12)
# = 9.9999999600419720025e-13, also in float64 arithmetic).
_BCE_LOG_CLAMP = -100.0
_BCE_EPS = 9.9999999600419720025e-13
REDUCTIONS = ("mean", "sum", "none")


def _describe(value) -> str:
    if value is None:
        return "None"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"<array shape {tuple(shape)}>"
    return repr(value)


class _Loss(ABC):
    """Shared plumbing: reduction, finite check, the three entry points."""

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
        return self._run(input, target, want_value=True, want_grad=False)[0]

    def grad(self, input, target):
        """d(loss)/d(input): shape, dtype and device of ``input`` (sum of losses for ``"none"``)."""
        return self._run(input, target, want_value=False, want_grad=True)[1]

    def value_and_grad(self, input, target):
        """``(loss(input, target), grad(input, target))`` computed in one pass."""
        return self._run(input, target, want_value=True, want_grad=True)

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

    def _options(self) -> dict:
        return {}

    def _weight_arg(self, value, name="weight"):
        """A weight option as given (checked later against the input), but never a string:
        ``CrossEntropyLoss("sum")`` puts "sum" into the first positional argument, ``weight``."""
        if isinstance(value, str):
            cls = type(self).__name__
            raise TypeError(
                f"{cls}: {name} must be an array of weights or None; got the string {value!r}. "
                f"Did you mean {cls}(reduction={value!r})? reduction is keyword-only."
            )
        return value

    def __repr__(self) -> str:
        opts = {**self._options(), "reduction": self.reduction}
        if not self.check_finite:
            opts["check_finite"] = False
        args = ", ".join(
            f"{k}={v if isinstance(v, str) and v.startswith('<') else repr(v)}"
            for k, v in opts.items()
        )
        return f"{type(self).__name__}({args})"

    @abstractmethod
    def _run(self, input, target, want_value, want_grad):
        """``(value or None, grad or None)``: the loss's one pass over its inputs."""


# --------------------------------------------------------------------------------------
# Element-wise losses: input and target of one shape, one loss per element.
# --------------------------------------------------------------------------------------


class _PointwiseLoss(_Loss):
    """A loss computed element by element; ``"mean"`` divides by the number of elements."""

    _input_name = "input"

    def _prepare(self, input, target):
        where = self._where
        xp = V.namespace(input, target, where=where)
        V.check_float(input, self._input_name, where, xp=xp)
        V.check_same_device(target, input, ("target", "input"), where)
        V.check_same_shape(input, target, where)
        V.check_nonempty_size(input, self._input_name, where)
        if self.check_finite:  # before any cast: a float64 target can't turn inf in float16
            V.check_finite(input, self._input_name, where, xp=xp)
            if xp.isdtype(target.dtype, "real floating"):
                V.check_finite(target, "target", where, xp=xp)
        work = work_dtype(xp, input.dtype)
        wide = target.dtype  # a float64 target can pass float32's range: say so, never inf
        with errstate(over="ignore"):  # an overflowing cast is reported just below
            target = V.as_real(
                target, "target", where, xp=xp, dtype=work
            )  # float16 input: all in float32
        if self.check_finite and target.dtype != wide and xp.isdtype(wide, "real floating"):
            V.check_cast_in_range(target, "target", where, xp=xp, original=wide)
        if work != input.dtype:
            input = xp.astype(input, work)
        self._check_ranges(xp, input, target)
        return xp, input, target

    def _check_ranges(self, xp, x, y) -> None:
        """Loss-specific value checks (BCE: probabilities in [0, 1])."""

    def _run(self, input, target, want_value, want_grad):
        xp, x, y = self._prepare(input, target)
        out_dtype = input.dtype
        with errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            elems, g = self._pointwise(xp, x, y, want_grad)
        value = grad = None
        if want_value:
            if self.reduction == "mean":
                value = xp.mean(elems)
            elif self.reduction == "sum":
                value = xp.sum(elems)
            else:
                value = elems
            value = _as_array(xp, value, out_dtype)
        if want_grad:
            if self.reduction == "mean":
                g = g / float(_size(x))
            grad = xp.astype(g, out_dtype) if g.dtype != out_dtype else g
        return value, grad

    @abstractmethod
    def _pointwise(self, xp, x, y, want_grad):
        """Per-element losses and (if ``want_grad``) their derivatives w.r.t. ``x``."""


def _as_array(xp, value, dtype):
    """``value`` as a ``dtype`` array (NumPy reductions give scalars; losskit gives 0-d arrays)."""
    if value.dtype != dtype:
        value = xp.astype(value, dtype)
    return xp.asarray(value) if array_api_compat.is_numpy_namespace(xp) else value


def _size(x) -> int:
    n = 1
    for d in x.shape:
        n *= d
    return n


class MSELoss(_PointwiseLoss):
    """Mean squared error ``(x - y)**2`` (``torch.nn.MSELoss``); gradient ``2 (x - y)``.

    ``input`` and ``target``: the same shape (any), ``input`` floating. With
    ``"mean"`` the gradient is ``2 (x - y) / n``, n the number of elements.
    """

    def __init__(self, reduction="mean", *, check_finite=True):
        super().__init__(reduction=reduction, check_finite=check_finite)

    def _pointwise(self, xp, x, y, want_grad):
        d = x - y
        return d * d, (2.0 * d if want_grad else None)


class L1Loss(_PointwiseLoss):
    """Mean absolute error ``|x - y|`` (``torch.nn.L1Loss``); gradient ``sign(x - y)``."""

    def __init__(self, reduction="mean", *, check_finite=True):
        super().__init__(reduction=reduction, check_finite=check_finite)

    def _pointwise(self, xp, x, y, want_grad):
        d = x - y
        return xp.abs(d), (xp.sign(d) if want_grad else None)


class HuberLoss(_PointwiseLoss):
    """Huber loss (``torch.nn.HuberLoss``): quadratic for ``|x - y| < delta``, linear beyond.

    ``0.5 d**2`` if ``|d| < delta`` else ``delta (|d| - delta / 2)``, with
    ``d = x - y``; the gradient is ``d`` clipped to ``[-delta, delta]``.
    ``delta`` must be a positive number.
    """

    def __init__(self, delta=1.0, *, reduction="mean", check_finite=True):
        super().__init__(reduction=reduction, check_finite=check_finite)
        hint = ""
        if isinstance(delta, str):
            hint = f" Did you mean HuberLoss(reduction={delta!r})?"
        self.delta = check_real(
            delta,
            "delta",
            self._where,
            minimum=0.0,
            strict_minimum=True,
            hint=hint
            or "delta is the |x - y| where the loss turns from quadratic to linear; "
            "use a positive value such as 1.0.",
        )

    def _options(self):
        return {"delta": self.delta}

    def _pointwise(self, xp, x, y, want_grad):
        delta = self.delta
        d = x - y
        ad = xp.abs(d)
        loss = xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
        return loss, (xp.clip(d, -delta, delta) if want_grad else None)


class _WeightedPointwise(_PointwiseLoss):
    """Element-wise loss with an optional ``weight`` broadcast against the input (PyTorch rule)."""

    def _param(self, xp, value, like, name):
        """``value`` on ``like``'s backend, if it broadcasts to ``like``'s shape unchanged."""
        if value is None:
            return None
        arr = V.as_param(value, name, self._where, like=like, dtype=like.dtype)
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
            V.check_finite(arr, name, self._where, xp=xp)
        return arr

    def _param_hint(self, name, shape) -> str:
        return f"Give {name} the shape {shape}, or a shape such as {shape[-1:]} for one per column."


class BCELoss(_WeightedPointwise):
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
        self.weight = self._weight_arg(weight)

    def _options(self):
        return {"weight": _describe(self.weight)} if self.weight is not None else {}

    def _check_ranges(self, xp, x, y):
        V.check_unit_interval(
            x,
            self._input_name,
            self._where,
            xp=xp,
            hint="BCELoss takes probabilities (after a sigmoid); if these are raw scores (logits), "
            "use BCEWithLogitsLoss, which is also numerically safer.",
        )
        V.check_unit_interval(
            y,
            "target",
            self._where,
            xp=xp,
            hint="Binary targets are 0/1 labels or probabilities; rescale or relabel them.",
        )

    def _pointwise(self, xp, x, y, want_grad):
        w = self._param(xp, self.weight, x, "weight")
        log_x = xp.maximum(xp.log(x), _BCE_LOG_CLAMP)
        log_1mx = xp.maximum(xp.log1p(-x), _BCE_LOG_CLAMP)
        loss = -(y * log_x + (1.0 - y) * log_1mx)
        g = None
        if want_grad:
            g = (x - y) / xp.maximum((1.0 - x) * x, _BCE_EPS)
        if w is not None:
            loss = loss * w
            g = g * w if g is not None else None
        return loss, g


class BCEWithLogitsLoss(_WeightedPointwise):
    """Binary cross-entropy on logits (``torch.nn.BCEWithLogitsLoss``): sigmoid fused into the loss.

    ``l = w [(1 - y) x + softplus(-x)]``, ``softplus(-x) = max(-x, 0) + log1p(exp(-|x|))``
    never overflowing; gradient
    ``w (sigmoid(x) - y)``. With ``pos_weight`` ``p`` (weight of the positive
    term, broadcast over the last axis like PyTorch, e.g. ``(C,)`` for C
    labels): ``l = w [(1 - y) x + (1 + (p - 1) y) softplus(-x)]``
    and gradient ``w [(p y + 1 - y) sigmoid(x) - p y]``.

    ``input``: logits, any shape; ``target``: same shape, in [0, 1].
    """

    _input_name = "input (logits)"

    def __init__(self, weight=None, pos_weight=None, *, reduction="mean", check_finite=True):
        super().__init__(reduction=reduction, check_finite=check_finite)
        self.weight = self._weight_arg(weight)
        self.pos_weight = self._weight_arg(pos_weight, "pos_weight")

    def _options(self):
        opts = {}
        if self.weight is not None:
            opts["weight"] = _describe(self.weight)
        if self.pos_weight is not None:
            opts["pos_weight"] = _describe(self.pos_weight)
        return opts

    def _check_ranges(self, xp, x, y):
        V.check_unit_interval(
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
        # softplus(-x) = max(-x, 0) + log1p(exp(-|x|)) never overflows; the loss is written
        # (1 - y) x + softplus(-x) as in PyTorch, so infinite logits give PyTorch's inf/NaN.
        softplus_neg = xp.maximum(-x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))
        g = None
        if p is None:
            loss = (1.0 - y) * x + softplus_neg
            if want_grad:
                g = sigmoid(x) - y
        else:
            log_weight = (p - 1.0) * y + 1.0
            loss = (1.0 - y) * x + log_weight * softplus_neg
            if want_grad:
                py = p * y
                g = (py + 1.0 - y) * sigmoid(x) - py
        if w is not None:
            loss = loss * w
            g = g * w if g is not None else None
        return loss, g


# --------------------------------------------------------------------------------------
# Cross-entropy
# --------------------------------------------------------------------------------------


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits (``torch.nn.CrossEntropyLoss``), via a fused log-softmax.

    ``input``: logits ``(N, C)``, floating. ``target``: class indices ``(N,)``
    (any integer dtype; ``ignore_index`` rows are skipped) or class
    probabilities ``(N, C)`` (floating). Per sample, with ``p = softmax(x)``,
    ``w`` the class weights (ones by default) and ``eps = label_smoothing``:

    - class indices: ``l_i = (1 - eps) w[y_i] (-log p[y_i]) + eps/C sum_c w_c (-log p_c)``;
      ``"mean"`` divides the sum by ``sum_i w[y_i]`` over non-ignored rows (the
      count when unweighted). Gradient per row:
      ``((1 - eps) w[y_i] + eps W / C) p - (1 - eps) w[y_i] onehot(y_i) - eps w / C``,
      ``W = sum(w)``; ignored rows contribute 0 to value and gradient.
    - probabilities ``t`` (smoothed to ``(1 - eps) t + eps / C``):
      ``l_i = -sum_c w_c t_c log p_c``; ``"mean"`` divides by N; gradient
      ``p sum_c w_c t_c - w t``.

    If every target equals ``ignore_index``, ``"mean"`` is 0/0 = NaN with a zero
    gradient, exactly as PyTorch; likewise NaN when the targets' class weights sum
    to 0. losskit also warns (``UserWarning``) in both cases.

    The forward pass alone (``loss(x, y)`` with class indices) never builds an
    ``(N, C)`` copy: it reads the logits in blocks of ``chunk_size`` classes (on
    NumPy: blocks of rows, in a ~2 MiB scratch per thread). ``grad`` and
    ``value_and_grad`` write the gradient once into its ``(N, C)`` output, the
    only large allocation (on NumPy a fused, row-chunked, multi-threaded kernel,
    ``losskit._ce_numpy``; on CuPy fused GPU kernels, ``losskit._ce_cupy``).

    Warnings (legal input, likely mistakes): rows that all lie in [0, 1] and sum
    to 1 (softmax output passed as logits); a single class (the loss is always 0).
    """

    def __init__(
        self,
        weight=None,
        ignore_index=-100,
        label_smoothing=0.0,
        *,
        reduction="mean",
        check_finite=True,
        chunk_size=2048,
    ):
        super().__init__(reduction=reduction, check_finite=check_finite)
        where = self._where
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            try:
                ignore_index = operator.index(ignore_index)
            except TypeError:
                hint = (
                    f" Did you mean {where}(reduction={ignore_index!r})? reduction is keyword-only."
                    if isinstance(ignore_index, str)
                    else ""
                )
                raise TypeError(
                    f"{where}: ignore_index must be an int (a class index, or -100 for none); "
                    f"got {type(ignore_index).__name__} {ignore_index!r}.{hint}"
                ) from None
        self.ignore_index = int(ignore_index)
        self.label_smoothing = check_real(
            label_smoothing,
            "label_smoothing",
            where,
            minimum=0.0,
            maximum=1.0,
            hint="It is the probability mass spread uniformly over all classes: 0.0 is plain "
            "cross-entropy, 0.1 a common choice.",
        )
        weight = self._weight_arg(weight)
        if weight is not None and getattr(weight, "ndim", 1) != 1:
            raise ValueError(
                f"{where}: weight must be 1-D, one weight per class (C,); got shape "
                f"{tuple(weight.shape)}."
            )
        self.weight = weight
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"{where}: chunk_size must be a positive int; got {chunk_size!r}.")
        self.chunk_size = chunk_size

    def mean_weight(self, target) -> float:
        """What ``"mean"`` divides this batch's summed loss by: for class indices, the summed
        class weights of the targets that are not ``ignore_index`` (their count when
        unweighted), 0 when all are ignored; for probability targets, the rows.

        See :meth:`_Loss.mean_weight`: :func:`losskit.fit` weights micro-batches and epoch
        losses by it, so accumulation and epoch means agree with one batch of all the data.
        """
        n = super().mean_weight(target)
        xp = V.namespace(target, where=f"{self._where}.mean_weight")
        if not xp.isdtype(target.dtype, "integral"):
            return n
        w = None
        if self.weight is not None:
            w = V.as_param(self.weight, "weight", self._where, like=target, dtype=xp.float64)
        t = target if target.dtype == xp.int64 else xp.astype(target, xp.int64)
        return float(xp.sum(self._target_weights(xp, t, w, xp.float64)[2]))

    def _target_weights(self, xp, t, w, dtype):
        """``(keep, t_safe, wy)`` for class indices ``t``: the rows not ignored, ``t`` with
        ignored rows mapped to class 0, and each row's weight ``w[t]`` (1 unweighted), 0 on
        ignored rows, in ``dtype``. ``sum(wy)`` is what ``"mean"`` divides by."""
        keep = xp.logical_not(self.ignored(t))
        t_safe = xp.where(keep, t, xp.zeros_like(t))
        keepf = xp.astype(keep, dtype)
        return keep, t_safe, (keepf if w is None else xp.take(w, t_safe, axis=0) * keepf)

    def ignored(self, target):
        """Boolean mask, shape of ``target``: where class indices equal ``ignore_index``.

        Any integer dtype: where ``ignore_index`` lies outside the dtype's range (-100
        for uint8 labels) no label can equal it, and the labels are not cast.
        """
        xp = V.namespace(target, where=f"{self._where}.ignored")
        info = xp.iinfo(target.dtype)
        if not info.min <= self.ignore_index <= info.max:
            return xp.zeros(target.shape, dtype=xp.bool, device=array_api_compat.device(target))
        return target == self.ignore_index

    def _options(self):
        opts = {}
        if self.weight is not None:
            opts["weight"] = _describe(self.weight)
        if self.ignore_index != -100:
            opts["ignore_index"] = self.ignore_index
        if self.label_smoothing:
            opts["label_smoothing"] = self.label_smoothing
        return opts

    # ---- parsing and validation ------------------------------------------------------

    def _parse(self, input, target):
        """Validate; return ``(xp, x, t, mode, w)`` with ``mode`` "index" or "prob"."""
        where = self._where
        xp = V.namespace(input, target, where=where)
        V.check_float(input, "input (logits)", where, xp=xp)
        if input.ndim != 2:
            raise ValueError(_logits_ndim_message(where, input))
        N, C = input.shape
        if N == 0:
            raise ValueError(
                f"{where}: input is an empty batch (shape {(N, C)}); expected at least one "
                f"sample. Check the batch loader or the slicing that produced it."
            )
        if C == 0:
            raise ValueError(f"{where}: input has 0 classes (shape {(N, C)}); expected C >= 1.")
        V.check_same_device(target, input, ("target", "input"), where)
        if xp.isdtype(target.dtype, "integral"):
            mode = "index"
            t = self._check_index_target(xp, target, N, C)
        elif xp.isdtype(target.dtype, "real floating"):
            mode = "prob"
            self._check_prob_target(target, N, C)
            t = target
            if self.check_finite:
                V.check_finite(t, "target (probabilities)", where, xp=xp)
        else:
            raise TypeError(
                f"{where}: target must be class indices (an integer array of shape (N,)) or "
                f"class probabilities (a float array of shape (N, C)); got dtype {target.dtype}."
            )
        w = None
        if self.weight is not None:
            w = V.as_param(self.weight, "weight", where, like=input, dtype=input.dtype)
            if tuple(w.shape) != (C,):
                raise ValueError(
                    f"{where}: weight must have one entry per class, shape ({C},); got shape "
                    f"{tuple(w.shape)}. The logits have C={C} columns: give one weight per "
                    f"column (or check that the model's output size matches the classes)."
                )
            if self.check_finite:
                V.check_finite(w, "weight", where, xp=xp)
        work = work_dtype(xp, input.dtype)
        x = input if work == input.dtype else xp.astype(input, work)
        if w is not None and w.dtype != work:
            w = xp.astype(w, work)
        if mode == "prob" and t.dtype != work:
            t = xp.astype(t, work)
        return xp, x, t, mode, w

    def _check_index_target(self, xp, target, N, C):
        where = self._where
        shape = tuple(target.shape)
        if target.ndim != 1:
            if shape == (N, 1):
                fix = "flatten it, e.g. target[:, 0] or target.reshape(-1)"
                what = "a column (N, 1)"
            elif shape == (N, C):
                fix = (
                    "these look like one-hot labels: pass class indices target.argmax(axis=1), "
                    "or cast to float to use them as probability targets"
                )
                what = "an integer (N, C) array"
            else:
                fix = "pass one class index per sample"
                what = f"a {target.ndim}-D array"
            raise ValueError(
                f"{where}: class-index targets must have shape (N,) = ({N},); got {what} of "
                f"shape {shape}. Fix: {fix}."
            )
        if shape[0] != N:
            raise ValueError(
                f"{where}: batch sizes differ: input has {N} samples (rows) but target has "
                f"{shape[0]}. Pass the targets of the same batch (check slicing/shuffling)."
            )
        if target.dtype == getattr(xp, "uint64", None) and bool(xp.any(target >= 2**63)):
            raise ValueError(  # int64 would wrap these around to negative labels
                f"{where}: a uint64 target holds {int(xp.max(target))}, beyond any class index "
                f"(expected 0..{C - 1}). Check how the labels were made; cast valid ones with "
                f"target.astype(int64)."
            )
        t = target if target.dtype == xp.int64 else xp.astype(target, xp.int64)
        keep = t != self.ignore_index
        bad = keep & ((t < 0) | (t >= C))
        if bool(xp.any(bad)):
            first = int(xp.argmax(xp.astype(bad, xp.int8)))
            value = int(t[first])
            n_bad = int(xp.sum(xp.astype(bad, xp.int64)))
            if value < 0:
                fix = (
                    f"negative labels are only allowed as ignore_index (now "
                    f"{self.ignore_index}); if {value} marks padding, pass "
                    f"ignore_index={value}"
                )
            elif C == 1:
                fix = (
                    "one output column cannot hold two classes; for binary labels with one "
                    "logit per sample use BCEWithLogitsLoss, or give the model 2 outputs"
                )
            else:
                fix = (
                    f"labels must be 0..{C - 1}; if they start at 1 subtract 1, otherwise the "
                    f"model needs more output classes"
                )
            raise ValueError(
                f"{where}: target {value} out of range for {C} classes (valid 0..{C - 1}); "
                f"first at position {first}, {n_bad} such target(s) in all. Fix: {fix}."
            )
        return t

    def _check_prob_target(self, target, N, C):
        where = self._where
        shape = tuple(target.shape)
        if target.ndim == 1:
            raise TypeError(
                f"{where}: float targets of shape {shape}, but class indices must be integers "
                f"and probability targets must have shape (N, C) = ({N}, {C}). If these are "
                f"class labels, convert them: target.astype(int64)."
            )
        if target.ndim == 2 and shape[1] == C and shape[0] != N:
            raise ValueError(
                f"{where}: batch sizes differ: input has {N} samples (rows) but target has "
                f"{shape[0]}. Pass the targets of the same batch."
            )
        if shape != (N, C):
            raise ValueError(
                f"{where}: probability targets must have the logits' shape (N, C) = ({N}, {C}); "
                f"got {shape}. One row per sample, one column per class (the model has C={C} "
                f"outputs)."
            )

    def _check_logits(self, xp, x, hi, lo):
        """Finite check and the softmax-as-logits warning from the row max/min (no copies)."""
        with errstate(invalid="ignore"):
            finite = bool(xp.all(xp.isfinite(hi))) and bool(xp.all(xp.isfinite(lo)))
        if self.check_finite and not finite:
            V.check_finite(x, "input (logits)", self._where, xp=xp)  # raises, with counts
        C = x.shape[1]
        if C == 1:
            warnings.warn(
                f"{self._where}: the logits have a single class (shape {tuple(x.shape)}): "
                f"softmax over one class is 1, so the loss and its gradient are always 0. "
                f"For binary classification with one output per sample use "
                f"BCEWithLogitsLoss (targets 0/1), or give the model 2 outputs.",
                UserWarning,
                stacklevel=5,
            )
        if C >= 2 and finite and float(xp.min(lo)) >= 0.0 and float(xp.max(hi)) <= 1.0:
            tol = 1e-3 if x.dtype in (xp.float32, xp.float64) else 1e-2
            row_sums = xp.sum(x, axis=1)
            if bool(xp.all(xp.abs(row_sums - 1.0) <= tol)):
                warnings.warn(
                    f"{self._where}: every row of the logits lies in [0, 1] and sums to 1: "
                    f"these look like probabilities (softmax output), but CrossEntropyLoss "
                    f"applies log-softmax itself. Pass the raw scores (logits); applying "
                    f"softmax twice flattens the loss and shrinks the gradient.",
                    UserWarning,
                    stacklevel=5,
                )

    # ---- per-row coefficients from the targets ---------------------------------------

    def _coefficients(self, xp, x, t, w):
        """Row weights of the index-target loss, from the targets alone.

        ``a`` multiplies ``log sum exp(x - m)``, ``b`` the target term, ``ck`` the
        smoothing term (None without smoothing); all zero on ignored rows.
        ``denom`` is what ``"mean"`` divides by (0-d array).
        """
        eps, C = self.label_smoothing, x.shape[1]
        keep, t_safe, wy = self._target_weights(xp, t, w, x.dtype)
        total_w = float(C) if w is None else xp.sum(w)
        b = (1.0 - eps) * wy
        ck = eps / C * xp.astype(keep, x.dtype) if eps else None
        a = b + ck * total_w if eps else b
        denom = xp.sum(wy)
        if self.reduction == "mean" and float(denom) == 0.0:
            n_kept = int(xp.sum(xp.astype(keep, xp.int64)))
            why = (
                f"all {t.shape[0]} targets equal ignore_index={self.ignore_index}, so the mean "
                f"is over zero samples: the loss is NaN (as in PyTorch) and the gradient is zero."
                if n_kept == 0
                else f"the class weights of the {n_kept} targets sum to 0, so the weighted "
                f"mean is 0/0: the loss is NaN (as in PyTorch). Give these classes a weight > 0 "
                f"or use reduction='sum'."
            )
            warnings.warn(f"{self._where}: {why}", UserWarning, stacklevel=5)
        return keep, t_safe, a, b, ck, denom

    def _grad_scale(self, xp, keep, denom, *row_factors):
        """Row factors of the gradient, divided by ``denom`` for "mean"; 0 on ignored rows."""
        if self.reduction != "mean":
            return row_factors
        with errstate(divide="ignore", invalid="ignore"):
            scaled = [None if f is None else f / denom for f in row_factors]
            return [None if f is None else xp.where(keep, f, xp.zeros_like(f)) for f in scaled]

    def _reduce(self, xp, rows, denom, n):
        if self.reduction == "none":
            return rows
        total = xp.sum(rows)
        if self.reduction == "sum":
            return total
        if denom is None:
            return total / float(n)
        with errstate(divide="ignore", invalid="ignore"):  # a zero denominator: NaN, never inf
            return xp.where(denom != 0, total / denom, xp.full_like(total, xp.nan))

    # ---- forward ---------------------------------------------------------------------

    def _run(self, input, target, want_value, want_grad):
        xp, x, t, mode, w = self._parse(input, target)
        out_dtype = input.dtype
        if mode == "prob":
            value, grad = self._prob_value_and_grad(xp, x, t, w, want_grad)
        elif want_grad:
            value, grad = self._index_value_and_grad(xp, x, t, w)
        else:
            value, grad = self._index_forward(xp, x, t, w), None
        if value is not None:
            value = _as_array(xp, value, out_dtype)
        if grad is not None and grad.dtype != out_dtype:
            grad = xp.astype(grad, out_dtype)
        return (value if want_value else None), grad

    def _index_forward(self, xp, x, t, w):
        """Loss only, class indices: bounded working memory, no (N, C) copy.

        Row max ``m`` first (it also serves the finite check), then
        ``s = sum exp(x - m)`` accumulated over blocks of ``chunk_size`` classes
        (O(N x chunk_size) memory); the loss is
        ``a log s + b (m - x_y) - ck sum_c w_c (x_c - m)``, each term computed
        from differences to ``m`` so large logits lose no precision. This is
        :func:`losskit.numerics.streaming_logsumexp` with the max known up front
        (the finite check needs it anyway), so no rescaling of the running sum,
        and ``log s`` kept apart from ``m``: ``lse - x_y`` would round to
        ulp(|m|), about 1e-3 for float32 logits of 1e4. On NumPy the fused
        kernel does the same per block of rows, in a scratch buffer of about
        ``_ce_numpy.CHUNK_BYTES`` per thread.
        """
        keep, t_safe, a, b, ck, denom = self._coefficients(xp, x, t, w)
        N, C = x.shape
        if array_api_compat.is_numpy_namespace(xp):
            from . import _ce_numpy

            with errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
                _, logs, zy, zw, hi, lo = _ce_numpy.fused_value_and_grad(
                    x, t_safe, None, None, None, w, want_zw=ck is not None, want_grad=False
                )
            self._check_logits(xp, x, hi, lo)
        else:
            hi, lo = xp.max(x, axis=1), xp.min(x, axis=1)
            self._check_logits(xp, x, hi, lo)
            logs, zy, zw = self._streaming_stats(xp, x, t_safe, w, hi, want_zw=ck is not None)
        with errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            rows = a * logs - b * zy
            if ck is not None:
                rows = rows - ck * zw
            rows = xp.where(keep, rows, xp.zeros_like(rows))
            return self._reduce(xp, rows, denom, N)

    def _streaming_stats(self, xp, x, t_safe, w, hi, *, want_zw):
        """``log s``, ``x_y - m``, ``sum_c w_c (x_c - m)`` from blocks of ``chunk_size`` classes."""
        C = x.shape[1]
        with errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            m = softmax_shift(xp, hi)[:, None]
            s = zw = None
            for start in range(0, C, self.chunk_size):
                stop = min(start + self.chunk_size, C)  # array API: no out-of-bounds slices
                z = x[:, start:stop] - m
                part = xp.sum(xp.exp(z), axis=1)
                s = part if s is None else s + part
                if want_zw:
                    zpart = xp.sum(z, axis=1) if w is None else z @ w[start:stop]
                    zw = zpart if zw is None else zw + zpart
            zy = xp.take_along_axis(x, t_safe[:, None], axis=1)[:, 0] - m[:, 0]
            return xp.log(s), zy, zw

    # ---- forward + backward ----------------------------------------------------------

    def _index_value_and_grad(self, xp, x, t, w):
        """Value and gradient for class indices in one pass (fast path on NumPy and CuPy)."""
        keep, t_safe, a, b, ck, denom = self._coefficients(xp, x, t, w)
        ga, gb, gc = self._grad_scale(xp, keep, denom, a, b, ck)
        if array_api_compat.is_numpy_namespace(xp):
            from . import _ce_numpy as kernel
        elif array_api_compat.is_cupy_namespace(xp):
            from . import _ce_cupy as kernel
        else:
            kernel = None
        with errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            if kernel is not None:
                grad, logs, zy, zw, hi, lo = kernel.fused_value_and_grad(
                    x, t_safe, ga, gb, gc, w, want_zw=ck is not None
                )
            else:
                grad, logs, zy, zw, hi, lo = _generic_value_and_grad(
                    xp, x, t_safe, ga, gb, gc, w, want_zw=ck is not None
                )
        self._check_logits(xp, x, hi, lo)
        with errstate(divide="ignore", invalid="ignore", over="ignore"):
            rows = a * logs - b * zy
            if ck is not None:
                rows = rows - ck * zw
            rows = xp.where(keep, rows, xp.zeros_like(rows))
            return self._reduce(xp, rows, denom, x.shape[0]), grad

    def _prob_value_and_grad(self, xp, x, t, w, want_grad):
        """Probability targets: ``l_i = -sum_c w_c t_c log_softmax(x)_c``; mean over N.

        Through :func:`losskit.numerics.log_softmax` (max-shifted, as PyTorch);
        the gradient ``softmax(x) sum_c w_c t_c - w t`` reuses its result.
        """
        hi, lo = xp.max(x, axis=1), xp.min(x, axis=1)
        self._check_logits(xp, x, hi, lo)
        eps, (N, C) = self.label_smoothing, x.shape
        with errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            if eps:
                t = (1.0 - eps) * t + eps / C
            wt = t if w is None else t * w[None, :]
            logp = log_softmax(x, axis=1)
            value = self._reduce(xp, -xp.sum(wt * logp, axis=1), None, N)
            grad = None
            if want_grad:
                grad = xp.exp(logp) * xp.sum(wt, axis=1)[:, None] - wt
                if self.reduction == "mean":
                    grad = grad / float(N)
        return value, grad


def _generic_value_and_grad(xp, x, t_safe, ga, gb, gc, w, *, want_zw):
    """Any array-API backend: one exp over (N, C), reused for value and gradient.

    Returns ``(grad, log s, x_y - m, sum_c w_c (x_c - m) or None, row max, row min)``
    with ``grad = exp(x - m) ga / s - gb onehot(y) - gc w`` (row factors pre-scaled).
    """
    N, C = x.shape
    hi, lo = xp.max(x, axis=1), xp.min(x, axis=1)
    m = softmax_shift(xp, hi)[:, None]
    z = x - m
    zy = xp.take_along_axis(z, t_safe[:, None], axis=1)[:, 0]
    zw = None
    if want_zw:
        zw = xp.sum(z, axis=1) if w is None else z @ w
    e = xp.exp(z)
    s = xp.sum(e, axis=1)
    classes = xp.arange(C, dtype=t_safe.dtype, device=array_api_compat.device(x))
    onehot = xp.astype(classes[None, :] == t_safe[:, None], x.dtype)
    grad = e * (ga / s)[:, None] - onehot * gb[:, None]
    if gc is not None:
        grad = grad - (gc[:, None] if w is None else gc[:, None] * w[None, :])
    return grad, xp.log(s), zy, zw, hi, lo


def _logits_ndim_message(where, x) -> str:
    shape = tuple(x.shape)
    if x.ndim == 0:
        fix = "a scalar is not a set of class scores; pass an (N, C) array"
    elif x.ndim == 1:
        fix = (
            f"for a single sample with {shape[0]} classes use x[None, :] (shape (1, "
            f"{shape[0]})) and a target of shape (1,); for N binary scores use BCEWithLogitsLoss"
        )
    else:
        fix = (
            "losskit supports only (N, C); for PyTorch's (N, C, d1, ...) layout move the class "
            "axis last and flatten, e.g. moveaxis(x, 1, -1).reshape(-1, C) with targets "
            "reshaped to (-1,)"
        )
    return (
        f"{where}: logits must be 2-D (N, C): one row of class scores per sample; got a "
        f"{x.ndim}-D array of shape {shape}. Fix: {fix}."
    )
