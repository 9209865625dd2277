"""Softmax cross-entropy from logits, as ``torch.nn.CrossEntropyLoss``.

For one sample with logits ``x`` (C,), class weights ``w`` (ones by default) and
label smoothing ``eps``, the loss scores ``softmax(x)`` against a target
distribution ``q`` (C,) that carries the weights::

    class index y:     q = (1 - eps) w_y onehot(y) + (eps / C) w
    probabilities t:   q = w ((1 - eps) t + eps / C)

    loss = -sum_c q_c log softmax(x)_c = sum(q) logsumexp(x) - q . x
    grad = sum(q) softmax(x) - q

``"mean"`` divides the summed loss (and the gradient) by ``sum_i w_{y_i}`` over the
rows whose ``y_i`` is not ``ignore_index`` (class indices: ignored rows count 0 in
value and gradient) or by N (probabilities); ``"sum"`` adds the rows; ``"none"``
returns them. Reference: the ``torch.nn.CrossEntropyLoss`` documentation.

With class indices, ``q`` is never built: per row, ``sum(q) = a``, the target
column's weight ``b`` and the smoothing weight ``c`` are three numbers, and with
``logsumexp(x) = m + log s`` (``m`` the row max)::

    loss = a log s - b (x_y - m) - c w . (x - m)
    grad = a softmax(x) - b onehot(y) - c w

(``m`` kept apart, so large logits lose no precision). A kernel (NumPy, CuPy or any
array-API library, :mod:`._ce_kernels`) computes ``log s``, ``x_y - m``, ``w . (x - m)``
and that gradient in one pass; checks and messages live in :mod:`._ce_checks`.
"""

from __future__ import annotations

import warnings

import array_api_compat

from .. import _arraycheck as A
from .._argcheck import check_int, check_real
from ..backend import quiet
from ..numerics import log_softmax
from . import _ce_checks as checks
from ._base import Loss, as_result, reduce
from ._ce_kernels import kernel_for

__all__ = ["CrossEntropyLoss"]


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy from logits (``torch.nn.CrossEntropyLoss``); maths: module docstring.

    ``input``: logits ``(N, C)``, floating. ``target``: class indices ``(N,)`` (any
    integer dtype; rows equal to ``ignore_index`` are skipped) or class probabilities
    ``(N, C)`` (floating). ``weight``: ``(C,)`` class weights or None. torch's other
    layouts work too: K-dimensional logits ``(N, C, d1, ...)`` with targets
    ``(N, d1, ...)`` or ``(N, C, d1, ...)`` (each position a sample; ``"none"`` gives
    ``(N, d1, ...)``), and unbatched ``(C,)`` logits with a 0-d or ``(C,)`` target.

    If every target equals ``ignore_index``, ``"mean"`` is 0/0 = NaN, exactly as PyTorch,
    and losskit warns. If the targets' class weights sum to 0 (zero or cancelling
    negative weights) losskit's ``"mean"`` is NaN and it warns; PyTorch divides the
    weighted sum by 0, so gives NaN only when that sum is 0, else +-inf. A probability
    target with ``ignore_index >= 0`` is refused, as PyTorch does. losskit also warns on
    legal input that is likely a mistake: rows in [0, 1] summing to 1 (softmax output
    passed as logits), or a single class (the loss is always 0).

    With class indices, ``loss(x, y)`` alone never builds an (N, C) array (it reads the
    logits in blocks of ``chunk_size`` classes; on NumPy blocks of rows); ``grad`` and
    ``value_and_grad`` write the gradient once, their only (N, C) allocation.
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
        self.weight = checks.check_class_weights(weight, where)
        self.ignore_index = checks.check_ignore_index(ignore_index, where)
        self.label_smoothing = check_real(
            label_smoothing,
            "label_smoothing",
            where,
            minimum=0.0,
            maximum=1.0,
            hint="It is the probability mass spread uniformly over all classes: 0.0 is plain "
            "cross-entropy, 0.1 a common choice.",
        )
        self.chunk_size = check_int(chunk_size, "chunk_size", where, minimum=1)

    def options(self):
        return {
            "weight": self.weight,
            "ignore_index": self.ignore_index,
            "label_smoothing": self.label_smoothing,
            "chunk_size": self.chunk_size,
        }

    def _run(self, input, target, want_value, want_grad):
        """torch's other layouts (K-dimensional ``(N, C, d1, ...)``, unbatched ``(C,)``) as
        ``(rows, C)``, computed by :meth:`_run_2d`, and put back in their shapes."""
        ndim = getattr(input, "ndim", 2)
        if ndim in (0, 2) or not hasattr(target, "ndim"):
            return self._run_2d(input, target, want_value, want_grad)
        xp = A.namespace(input, target, where=self._where, names=("input", "target"))
        if ndim == 1:  # unbatched: (C,) logits, a 0-d index or (C,) probabilities
            index = xp.isdtype(target.dtype, "integral")
            if tuple(target.shape) != (() if index else tuple(input.shape)):
                raise ValueError(
                    f"{self._where}: unbatched logits (C,) take a 0-d class index or (C,) "
                    f"probabilities as target; got target shape {tuple(target.shape)}."
                )
            value, grad = self._run_2d(input[None, ...], target[None, ...], want_value, want_grad)
            if value is not None and self.reduction == "none":
                value = xp.reshape(value, ())
            return value, (grad[0, ...] if grad is not None else None)
        N, C, rest = input.shape[0], input.shape[1], tuple(input.shape[2:])
        k = len(rest)
        expected = (N, *rest) if xp.isdtype(target.dtype, "integral") else tuple(input.shape)
        if tuple(target.shape) != expected:
            raise ValueError(
                f"{self._where}: for K-dimensional logits (N, C, d1, ...) = {tuple(input.shape)} "
                f"the target must be class indices {(N, *rest)} or probabilities "
                f"{tuple(input.shape)}; got shape {tuple(target.shape)}."
            )
        last = (0, *range(2, k + 2), 1)  # the class axis last
        x2 = xp.reshape(xp.permute_dims(input, last), (-1, C))
        t2 = (
            xp.reshape(target, (-1,))
            if target.ndim == k + 1
            else xp.reshape(xp.permute_dims(target, last), (-1, C))
        )
        value, grad = self._run_2d(x2, t2, want_value, want_grad)
        if value is not None and self.reduction == "none":
            value = xp.reshape(value, (N, *rest))
        if grad is not None:
            back = (0, k + 1, *range(1, k + 1))
            grad = xp.permute_dims(xp.reshape(grad, (N, *rest, C)), back)
        return value, grad

    def _run_2d(self, input, target, want_value, want_grad):
        xp, x, t, w = checks.parse(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            check_finite=self.check_finite,
            where=self._where,
        )
        by_index = t.ndim == 1
        run = self._from_indices if by_index else self._from_probabilities
        with quiet():  # inf/NaN from unchecked logits or a 0/0 mean are the intended results
            value, grad, notes = run(xp, x, t, w, want_grad)
        for note in notes:  # stacklevel 5: the line that called loss(...), .grad or .value_and_grad
            warnings.warn(note, UserWarning, stacklevel=5)
        value = as_result(xp, value, input.dtype) if want_value else None
        if grad is not None and grad.dtype != input.dtype:
            grad = xp.astype(grad, input.dtype)
        return value, grad

    def _from_indices(self, xp, x, t, w, want_grad):
        """Class indices: row factors ``a, b, c`` from the targets, then one kernel pass."""
        eps, (N, C) = self.label_smoothing, x.shape
        keep, t, wy = self._target_weights(xp, t, w, x.dtype)
        b = (1.0 - eps) * wy
        c = eps / C * xp.astype(keep, x.dtype) if eps else None
        a = b if c is None else b + c * (float(C) if w is None else xp.sum(w))
        notes = []
        denom = 1.0  # what "mean" divides by: the summed weights of the kept targets
        if self.reduction == "mean":
            denom = float(xp.sum(wy))
            if denom == 0.0:
                n_kept = int(xp.sum(xp.astype(keep, xp.int64)))
                notes.append(checks.empty_mean_warning(N, n_kept, self.ignore_index, self._where))
        ga = gb = gc = None
        if want_grad:  # the gradient's row factors, divided by denom; 0 on ignored rows
            zero = xp.zeros_like(a)
            ga, gb = (xp.where(keep, f / denom, zero) for f in (a, b))
            gc = None if c is None else xp.where(keep, c / denom, zero)
        kernel = kernel_for(x, self.chunk_size)
        grad, log_s, zy, zw, hi, lo = kernel(
            x, t, ga, gb, gc, w, want_zw=c is not None, want_grad=want_grad
        )
        notes += checks.logits_warnings(
            xp, x, hi, lo, check_finite=self.check_finite, where=self._where
        )
        rows = a * log_s - b * zy - (0.0 if c is None else c * zw)
        rows = xp.where(keep, rows, xp.zeros_like(rows))
        return reduce(xp, rows, self.reduction, denom), grad, notes

    def _from_probabilities(self, xp, x, t, w, want_grad):
        """Probability targets: ``q = w ((1 - eps) t + eps / C)``, the formulas as written."""
        eps, (N, C) = self.label_smoothing, x.shape
        hi, lo = xp.max(x, axis=1), xp.min(x, axis=1)
        notes = checks.logits_warnings(
            xp, x, hi, lo, check_finite=self.check_finite, where=self._where
        )
        q = (1.0 - eps) * t + eps / C if eps else t
        q = q if w is None else q * w[None, :]
        logp = log_softmax(x, axis=1)
        rows = -xp.sum(q * logp, axis=1)
        grad = None
        if want_grad:
            grad = xp.exp(logp) * xp.sum(q, axis=1)[:, None] - q
            grad = grad / float(N) if self.reduction == "mean" else grad
        return reduce(xp, rows, self.reduction, float(N)), grad, notes

    # ---- what the targets weigh -----------------------------------------------------------

    def mean_weight(self, target) -> float:
        """What ``"mean"`` divides this batch's summed loss by: for class indices, the summed
        class weights of the targets that are not ``ignore_index`` (their count when
        unweighted), 0 when all are ignored; for probability targets, the rows.

        See :meth:`Loss.mean_weight`: :func:`losskit.fit` weights micro-batches and epoch
        losses by it, so accumulation and epoch means agree with one batch of all the data.
        """
        n = super().mean_weight(target)
        xp = A.namespace(target, where=f"{self._where}.mean_weight")
        if not xp.isdtype(target.dtype, "integral"):
            return n
        w = None
        if self.weight is not None:
            w = A.as_param(self.weight, "weight", self._where, like=target, dtype=xp.float64)
        t = target if target.dtype == xp.int64 else xp.astype(target, xp.int64)
        return float(xp.sum(self._target_weights(xp, t, w, xp.float64)[2]))

    def check_row_mean(self, target, where: str) -> None:
        """Class weights, or targets equal to ``ignore_index``, make ``"mean"`` divide by the
        targets' summed weights instead of the rows: refused (see :meth:`Loss.check_row_mean`)."""
        if self.weight is not None:
            raise ValueError(
                f"{where}: a class-weighted CrossEntropyLoss divides its mean by the summed "
                f"weights of each batch's targets, which batched runs do not reproduce; use "
                f"fit() per run, or weight=None."
            )
        xp = A.namespace(target, where=where)
        if xp.isdtype(target.dtype, "integral") and bool(xp.any(self.ignored(target))):
            raise ValueError(
                f"{where}: some targets equal ignore_index={self.ignore_index}; "
                f"CrossEntropyLoss then divides each batch's mean by its kept targets, which "
                f"batched runs do not reproduce. Use fit() per run, or drop those rows."
            )

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
        xp = A.namespace(target, where=f"{self._where}.ignored")
        info = xp.iinfo(target.dtype)
        if not info.min <= self.ignore_index <= info.max:
            return xp.zeros(target.shape, dtype=xp.bool, device=array_api_compat.device(target))
        return target == self.ignore_index
