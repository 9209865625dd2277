"""Many independent training runs as one batched computation: what makes sweeps interactive.

``fit_runs(make_model, loss, X, y, seeds=[0, 1, ...], batch_size=..., lr=..., epochs=...)``
trains ``R = len(seeds)`` models at once. Every parameter carries a leading run
axis (``W (R, D, O)``), every epoch gathers each run's own shuffled copy of the
data (``(R, N, D)``), and every step is a handful of batched array operations
over all runs instead of R Python loops.

**Same seed, same run.** Run ``k`` uses the model ``make_model(seeds[k])`` and the
sample orders of ``BatchLoader(seed=seeds[k])`` (see
:func:`~losskit.batching.epoch_orders`), so it reproduces
``fit(make_model(seeds[k]), ..., seed=seeds[k])`` to rounding, and its result does
not depend on which other seeds share the batch.

Two step implementations compute the same update:

- the general one calls the loss (with ``reduction="none"``, reduced per run)
  and ``model.backward``, for any model and any elementwise or per-row loss;
- a fused one for ``LinearRegression`` + ``MSELoss`` (the sweep lessons), which
  folds the bias into the weights (``[X, 1] @ [W; b]``) and the MSE gradient
  ``2 (pred - y) / n`` into one matmul per step, and reduces the per-step losses
  once per epoch. Pass ``fused=False`` to force the general one; the tests check
  both agree.

**Divergence** follows the one rule of :func:`~losskit.fit.fit`
(:func:`~losskit.fit.diverged_mask`): an update diverged when its loss per
example is NaN/inf or exceeds ``divergence_factor`` times the run's initial
training-set loss per example (plus a small floor). Run ``k`` is then marked in
``RunsHistory.diverged`` (the message) and ``diverged_update`` (the same update
index at which ``fit`` stops for that seed), and the others are undisturbed
(they are independent arrays). Runs are not stopped: a diverged run's later
losses and parameters keep growing (to inf/NaN), as a NaN run stays NaN;
freezing it would cost a per-run check at every step of the fused loop, which
reduces its losses once per epoch. Read a run's curves only up to
``diverged_update``.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any

from ._argcheck import check_bool, check_int, check_seeds
from .backend import backend_of, errstate
from .batching import batch_plan, epoch_orders
from .fit import (
    DIVERGENCE_FACTOR,
    _check_data,
    check_divergence_factor,
    check_validation_data,
    diverged_mask,
    divergence_limit,
    divergence_message,
    loss_reduction,
)
from .models import LinearRegression, Model, stack_models
from .optim import SGD

__all__ = ["RunsHistory", "fit_runs"]

_QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore", "under": "ignore"}


@dataclass(frozen=True)
class RunsHistory:
    """What :func:`fit_runs` recorded, per run; host NumPy arrays, run axis first.

    Attributes
    ----------
    seeds : tuple of the R seeds.
    batch_loss : ``(R, n_updates)`` loss value of each update, as the loss reduces it.
    batch_size : ``(n_updates,)`` int, examples per update (same for every run).
    epoch_train_loss : ``(R, epochs)`` size-weighted per-example training loss.
    epoch_val_loss : ``(R, epochs)`` per-example validation loss on end-of-epoch
        weights (shape ``(R, 0)`` without validation data).
    diverged : tuple of R entries, None or a message (see :func:`~losskit.fit.fit`).
    diverged_update : ``(R,)`` int, first update whose loss diverged (NaN/inf, or
        over ``divergence_factor`` times the initial loss), -1 if none; the run's
        values after it are not meaningful (it was not stopped).
    initial_loss : ``(R,)`` each run's initial training-set loss per example (the
        divergence reference; NaN when ``divergence_factor`` is None).
    epoch_time : ``(epochs,)`` wall-clock seconds since the start, end of each epoch.
    params_trajectory : dict name -> ``(R, n_updates + 1, ...)`` parameters before
        every update and after the last (only with ``record_params=True``, else None).
    model : the trained stacked model (device arrays; ``model.run(k)`` is run k).
    """

    seeds: tuple
    batch_loss: Any
    batch_size: Any
    epoch_train_loss: Any
    epoch_val_loss: Any
    diverged: tuple
    diverged_update: Any
    epoch_time: Any
    lr: float
    reduction: str
    updates_per_epoch: int
    fused: bool
    params_trajectory: dict | None = None
    model: Any = None
    initial_loss: Any = None


def _none_variant(loss):
    """A copy of ``loss`` with ``reduction="none"`` (gradient of the sum), other settings kept.

    Its finite-input check is switched off: a diverged run's NaNs must not stop
    the other runs (they are reported in ``RunsHistory.diverged`` instead).
    """
    clone = copy.copy(loss)
    clone.reduction = "none"
    if hasattr(clone, "check_finite"):
        clone.check_finite = False
    return clone


def _check_loss_per_run(xp, loss, y, where):
    """Batched runs divide each batch's summed loss by its rows: refuse losses whose mean
    divides by something else (cross-entropy's class weights or ignored targets)."""
    if type(loss).__name__ != "CrossEntropyLoss":
        return
    if getattr(loss, "weight", None) is not None:
        raise ValueError(
            f"{where}: a class-weighted CrossEntropyLoss divides its mean by the summed weights "
            f"of each batch's targets, which batched runs do not reproduce; use fit() per run, "
            f"or weight=None."
        )
    if xp.isdtype(y.dtype, "integral") and bool(xp.any(loss.ignored(y))):
        raise ValueError(
            f"{where}: some targets equal ignore_index={loss.ignore_index}; CrossEntropyLoss "
            f"then divides each batch's mean by its kept targets, which batched runs do not "
            f"reproduce. Use fit() per run, or drop those rows."
        )


def fit_runs(
    make_model,
    loss,
    X,
    y,
    *,
    seeds,
    batch_size,
    lr,
    epochs,
    momentum=0.0,
    weight_decay=0.0,
    validation_data=None,
    shuffle=True,
    drop_last=False,
    orders=None,
    record_params=False,
    fused=None,
    divergence_factor=DIVERGENCE_FACTOR,
) -> RunsHistory:
    """Train ``len(seeds)`` independent runs of ``make_model(seed)`` in one batched loop.

    Parameters mirror :func:`~losskit.fit.fit` (no early stopping, no
    accumulation). ``make_model``: a callable ``seed -> model``. ``orders``: the
    ``(epochs, R, N)`` int64 sample orders from
    :func:`~losskit.batching.epoch_orders`, to reuse one draw across several
    calls (a sweep over batch sizes); drawn here when None. ``fused``: None picks
    the fused step when it applies (LinearRegression + MSELoss), False forces
    the general one. ``record_params`` keeps every run's parameter trajectory.
    ``divergence_factor``: float > 1 or None, as in :func:`~losskit.fit.fit`
    (the same rule and the same update index per seed; runs are marked, not stopped).
    """
    where = "fit_runs"
    seeds = check_seeds(seeds, "seeds", where)
    reduction = loss_reduction(loss, where)
    if isinstance(make_model, Model) or not callable(make_model):
        raise TypeError(
            f"{where}: make_model must be a callable seed -> model, e.g. "
            f"lambda s: LinearRegression(1, seed=s, backend=be); got {type(make_model).__name__}."
        )
    model = stack_models([make_model(s) for s in seeds])
    xp = _check_data(model, X, y, where)
    opt = SGD(lr, momentum=momentum, weight_decay=weight_decay)
    epochs = check_int(epochs, "epochs", where, minimum=1)
    n = X.shape[0]
    sizes = batch_plan(n, batch_size, check_bool(drop_last, "drop_last", where), where)
    shuffle = check_bool(shuffle, "shuffle", where)
    _check_loss_per_run(xp, loss, y, where)
    if validation_data is not None:
        validation_data = check_validation_data(
            validation_data,
            model,
            where,
            lambda Xv, yv: _per_run_loss(xp, model, _none_variant(loss), True, Xv, yv),
        )
        _check_loss_per_run(xp, loss, validation_data[1], where)
    factor = check_divergence_factor(divergence_factor, "divergence_factor", where)
    be = backend_of(X)
    R = len(seeds)
    if orders is None:
        orders = epoch_orders(seeds, n, epochs, shuffle=shuffle, backend=be)
    elif tuple(orders.shape) != (epochs, R, n):
        raise ValueError(
            f"{where}: orders must have shape (epochs, runs, n_samples) = {(epochs, R, n)}; "
            f"got {tuple(orders.shape)}. Build it with epoch_orders(seeds, n_samples, epochs)."
        )
    can_fuse = type(model) is LinearRegression and type(loss).__name__ == "MSELoss"
    if fused is None:
        fused = can_fuse
    elif fused and not can_fuse:
        raise ValueError(
            f"{where}: fused=True needs LinearRegression with MSELoss; got "
            f"{type(model).__name__} with {type(loss).__name__}. Leave fused=None."
        )
    run = _run_fused if fused else _run_general
    with errstate(**_QUIET):  # always: it also proves y fits the model and the loss, up front
        per = _per_run_loss(xp, model, _none_variant(loss), reduction == "mean", X, y)
    initial = [float(v) for v in be.to_host(per)] if factor is not None else [math.nan] * R
    t0 = time.perf_counter()
    with errstate(**_QUIET):
        out = run(
            xp,
            be,
            model,
            loss,
            reduction,
            opt,
            X,
            y,
            validation_data,
            orders,
            sizes,
            epochs,
            record_params,
            t0,
        )
    batch_loss, epoch_train, epoch_val, epoch_time, trajectory = out
    bl = be.to_host(batch_loss)
    dtype = batch_loss.dtype
    per_example = batch_loss
    if reduction != "mean":
        counts = xp.asarray(list(sizes) * epochs, dtype=dtype, device=be.device)
        per_example = batch_loss / counts
    limits = [divergence_limit(v, factor) for v in initial]
    limit = xp.asarray([[v] for v in limits], dtype=dtype, device=be.device)
    with errstate(**_QUIET):
        bad = diverged_mask(xp, per_example, limit)
    first_bad = be.to_host(xp.argmax(xp.astype(bad, xp.int8), axis=1))
    any_bad = be.to_host(xp.any(bad, axis=1))
    pe = be.to_host(per_example)
    diverged_update, messages = [], []
    for k in range(R):
        i = int(first_bad[k]) if bool(any_bad[k]) else -1
        diverged_update.append(i)
        messages.append(
            None
            if i < 0
            else divergence_message(
                "the training loss",
                float(pe[k, i]),
                update=i,
                epoch=i // len(sizes),
                lr=opt.lr,
                batch_size=sizes[0],
                reduction=reduction,
                initial=initial[k],
                factor=factor,
                prefix=f"run {k} (seed {seeds[k]}) diverged",
            )
        )
    return RunsHistory(
        seeds=seeds,
        batch_loss=bl,
        batch_size=be.to_host(list(sizes) * epochs).astype(int),
        epoch_train_loss=be.to_host(epoch_train),
        epoch_val_loss=be.to_host(epoch_val)
        if epoch_val is not None
        else be.to_host([[] for _ in range(R)]).reshape(R, 0),
        diverged=tuple(messages),
        diverged_update=be.to_host(diverged_update).astype(int),
        epoch_time=be.to_host(epoch_time).astype(float),
        lr=opt.lr,
        reduction=reduction,
        updates_per_epoch=len(sizes),
        fused=bool(fused),
        params_trajectory=None
        if trajectory is None
        else {k: be.to_host(v) for k, v in trajectory.items()},
        model=model,
        initial_loss=be.to_host(initial).astype(float),
    )


def _gather(xp, A, order, R, n):
    """Each run's shuffled copy of ``A``: ``(R, n, ...)`` from ``order`` ``(R, n)``."""
    flat = xp.take(A, xp.reshape(order, (R * n,)), axis=0)
    return xp.reshape(flat, (R, n) + tuple(A.shape[1:]))


def _per_run_loss(xp, model, none, mean, X, y):
    """Each run's loss per example on ``(X, y)`` (no gradient): ``(R,)`` on the device.

    ``none`` is the loss with ``reduction="none"``; the scale is that of the
    epoch losses (the mean, or the sum divided by the number of rows).
    """
    R = model.n_runs
    out = model.forward(X)
    yr = xp.broadcast_to(y, (R,) + tuple(y.shape))
    flat_out = xp.reshape(out, (R * out.shape[1],) + tuple(out.shape[2:]))
    flat_t = xp.reshape(yr, (R * yr.shape[1],) + tuple(yr.shape[2:]))
    per = xp.reshape(none(flat_out, flat_t), (R, -1))
    v = xp.sum(per, axis=1)
    return v / per.shape[1] if mean else v / X.shape[0]


def _epoch_summary(xp, values, sizes, reduction):
    """``values (R, n_batches)`` -> size-weighted per-example epoch loss ``(R,)``."""
    dtype = values.dtype
    w = xp.asarray(sizes, dtype=dtype, device=values.device)
    total = float(sum(sizes))
    if reduction == "mean":
        return xp.sum(values * w, axis=1) / total
    return xp.sum(values, axis=1) / total


def _run_general(
    xp,
    be,
    model,
    loss,
    reduction,
    opt,
    X,
    y,
    validation_data,
    orders,
    sizes,
    epochs,
    record_params,
    t0,
):
    R = model.n_runs
    n = X.shape[0]
    none = _none_variant(loss)
    mean = reduction == "mean"
    starts = [sum(sizes[:j]) for j in range(len(sizes))]
    batch_loss, epoch_train, epoch_val, epoch_time = [], [], [], []
    traj = {k: [v] for k, v in model.params.items()} if record_params else None

    def per_run(out, target):
        flat_out = xp.reshape(out, (R * out.shape[1],) + tuple(out.shape[2:]))
        flat_t = xp.reshape(target, (R * target.shape[1],) + tuple(target.shape[2:]))
        return flat_out, flat_t

    for e in range(epochs):
        Xe = _gather(xp, X, orders[e, ...], R, n)
        Ye = _gather(xp, y, orders[e, ...], R, n)
        values = []
        for s, b in zip(starts, sizes, strict=True):
            xb, yb = Xe[:, s : s + b, ...], Ye[:, s : s + b, ...]
            out = model.forward(xb)
            per, g = none.value_and_grad(*per_run(out, yb))
            per = xp.reshape(per, (R, -1))
            count = per.shape[1]
            v = xp.sum(per, axis=1)
            g = xp.reshape(g, out.shape)
            if mean:
                v, g = v / count, g / count
            opt.step(model.params, model.backward(xb, g))
            values.append(v)
            if traj is not None:
                for k, p in model.params.items():
                    traj[k].append(p)
        values = xp.stack(values, axis=1)
        batch_loss.append(values)
        epoch_train.append(_epoch_summary(xp, values, sizes, reduction))
        if validation_data is not None:
            epoch_val.append(_per_run_loss(xp, model, none, mean, *validation_data))
        be.synchronize()
        epoch_time.append(time.perf_counter() - t0)
    return (
        xp.concat(batch_loss, axis=1),
        xp.stack(epoch_train, axis=1),
        xp.stack(epoch_val, axis=1) if epoch_val else None,
        epoch_time,
        None if traj is None else {k: xp.stack(v, axis=1) for k, v in traj.items()},
    )


def _run_fused(
    xp,
    be,
    model,
    loss,
    reduction,
    opt,
    X,
    y,
    validation_data,
    orders,
    sizes,
    epochs,
    record_params,
    t0,
):
    """LinearRegression + MSELoss: ``r = [x, 1] @ Wa - y``; ``grad Wa = c [x, 1]^T r``.

    ``c = 2 / (B * n_out)`` for a mean, ``2`` for a sum: the MSE gradient.
    Without momentum or weight decay, two folds make a step two matmuls and an
    add: the target joins the data as extra columns with a fixed ``-1`` weight
    (``[x, 1, y] @ [W; b; -I] = r``), and the factor ``-lr * c`` is folded into a
    transposed copy of the epoch's data (zero rows for the target columns, so
    the ``-I`` block never moves). Residuals are kept per step (a list append)
    and the per-step losses reduced once per epoch.
    """
    R = model.n_runs
    n, d = X.shape
    dtype = X.dtype
    dev = be.device
    n_out = model.n_outputs
    Xa = xp.concat([X, xp.ones((n, 1), dtype=dtype, device=dev)], axis=1)
    Wa = xp.concat([model.params["W"], model.params["b"][:, None, :]], axis=1)  # (R, d+1, n_out)
    mean = reduction == "mean"
    lr, mom, wd = opt.lr, opt.momentum, opt.weight_decay
    plain = not mom and not wd
    velocity = None
    nb = len(sizes)
    B = sizes[0]
    n_full = sum(1 for b in sizes if b == B)
    starts = [j * B for j in range(nb)]
    batch_loss, epoch_train, epoch_val, epoch_time = [], [], [], []
    traj = [Wa] if record_params else None
    if plain:
        Z = xp.concat([Xa, y], axis=1)  # (n, d+1+n_out)
        minus_eye = -xp.eye(n_out, dtype=dtype, device=dev)
        Wz = xp.concat([Wa, xp.broadcast_to(minus_eye, (R, n_out, n_out))], axis=1)
        frozen = xp.zeros((R, n_out, n), dtype=dtype, device=dev)

    def scale(b):
        return 2.0 / (b * n_out) if mean else 2.0

    for e in range(epochs):
        rs = []
        if plain:
            Ze = _gather(xp, Z, orders[e, ...], R, n)
            ZeT = Ze[:, :, : d + 1].mT
            steps_T = {b: xp.concat([(-lr * scale(b)) * ZeT, frozen], axis=1) for b in set(sizes)}
            for s, b in zip(starts, sizes, strict=True):
                r = Ze[:, s : s + b, :] @ Wz
                rs.append(r)
                Wz = Wz + steps_T[b][:, :, s : s + b] @ r
                if traj is not None:
                    traj.append(Wz[:, : d + 1, :])
            Wa = Wz[:, : d + 1, :]
        else:
            Xe = _gather(xp, Xa, orders[e, ...], R, n)
            Ye = _gather(xp, y, orders[e, ...], R, n)
            for s, b in zip(starts, sizes, strict=True):
                xb = Xe[:, s : s + b, :]
                r = xb @ Wa - Ye[:, s : s + b, :]
                rs.append(r)
                g = scale(b) * (xb.mT @ r)
                if wd:
                    g = g + wd * Wa
                if mom:
                    velocity = g if velocity is None else mom * velocity + g
                    g = velocity
                Wa = Wa - lr * g
                if traj is not None:
                    traj.append(Wa)
        resid = xp.concat(rs, axis=1)
        sq = resid * resid
        full = xp.sum(xp.reshape(sq[:, : n_full * B, :], (R, n_full, B * n_out)), axis=2)
        parts = [full]
        if n_full < nb:
            parts.append(xp.sum(xp.reshape(sq[:, n_full * B :, :], (R, -1)), axis=1)[:, None])
        values = xp.concat(parts, axis=1) if len(parts) > 1 else full
        if mean:
            counts = xp.asarray([b * n_out for b in sizes], dtype=dtype, device=dev)
            values = values / counts
        batch_loss.append(values)
        epoch_train.append(_epoch_summary(xp, values, sizes, reduction))
        if validation_data is not None:
            Xv, yv = validation_data
            Xva = xp.concat([Xv, xp.ones((Xv.shape[0], 1), dtype=dtype, device=dev)], axis=1)
            rv = Xva @ Wa - yv
            v = xp.sum(xp.reshape(rv * rv, (R, -1)), axis=1)
            epoch_val.append(v / (Xv.shape[0] * n_out) if mean else v / Xv.shape[0])
        be.synchronize()
        epoch_time.append(time.perf_counter() - t0)
    model.params = {"W": Wa[:, :d, :], "b": Wa[:, d, :]}
    if velocity is not None:
        opt.velocity = {"W": velocity[:, :d, :], "b": velocity[:, d, :]}
    trajectory = None
    if traj is not None:
        stacked = xp.stack(traj, axis=1)  # (R, T+1, d+1, n_out)
        trajectory = {"W": stacked[:, :, :d, :], "b": stacked[:, :, d, :]}
    return (
        xp.concat(batch_loss, axis=1),
        xp.stack(epoch_train, axis=1),
        xp.stack(epoch_val, axis=1) if epoch_val else None,
        epoch_time,
        trajectory,
    )
