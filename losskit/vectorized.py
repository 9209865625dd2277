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
- a fused one for ``LinearRegression`` with a squared-error loss (``loss.squared_error``:
  ``MSELoss``; the sweep lessons), which
  folds the bias into the weights (``[X, 1] @ [W; b]``) and the MSE gradient
  ``2 (pred - y) / n`` into one matmul per step, and reduces the per-step losses
  once per epoch. Pass ``fused=False`` to force the general one; the tests check
  both agree.

**Divergence** follows the one rule of :mod:`losskit.training`: an update diverged when its loss per
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

import math
import time
from dataclasses import dataclass
from typing import Any

import array_api_compat

from ._argcheck import check_bool, check_int, check_memory, check_seeds, check_work
from ._arraycheck import namespace
from .backend import backend_of, quiet
from .batching import epoch_orders
from .models import LinearRegression, Model, stack_models
from .training import (
    DIVERGENCE_FACTOR,
    TrainConfig,
    check_data,
    check_validation_data,
    diverged_mask,
)

__all__ = ["RunsHistory", "fit_runs"]


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
    the fused step when it applies (LinearRegression with ``loss.squared_error``),
    False forces the general one. ``record_params`` keeps every run's parameter
    trajectory. ``divergence_factor``: float > 1 or None, as in
    :func:`~losskit.fit.fit` (the same rule and the same update index per seed;
    runs are marked, not stopped).
    """
    cfg, runs = _check(
        make_model,
        loss,
        X,
        y,
        validation_data,
        seeds,
        orders,
        record_params,
        fused,
        batch_size=batch_size,
        lr=lr,
        epochs=epochs,
        momentum=momentum,
        weight_decay=weight_decay,
        shuffle=shuffle,
        drop_last=drop_last,
        divergence_factor=divergence_factor,
    )
    with quiet():  # always: it also proves y fits the model and the loss, up front
        per = _per_run_loss(runs.model, runs.none, X, y, cfg.reduction == "mean")
        initial = [float(v) for v in runs.backend.to_host(per)]
        if cfg.divergence_factor is None:
            initial = [math.nan] * len(initial)
        curves = (_run_fused if runs.fused else _run_general)(cfg, runs)
    return _history(cfg, runs, initial, curves)


# ---- check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Runs:
    """What one ``fit_runs`` call trains, all checked (its settings are in a TrainConfig)."""

    seeds: tuple
    model: Any  # the stacked model: R runs
    none: Any  # the loss with reduction="none": per-example losses, reduced per run here
    X: Any
    y: Any
    validation: tuple | None
    orders: Any  # (epochs, R, N) int64 sample orders
    record_params: bool
    fused: bool

    @property
    def backend(self):
        return backend_of(self.X)


def _none_variant(loss):
    """``loss`` with ``reduction="none"`` (gradient of the sum), rebuilt by its constructor.

    Its finite-input check is switched off: a diverged run's NaNs must not stop
    the other runs (they are reported in ``RunsHistory.diverged`` instead).
    """
    return loss.replace(reduction="none", check_finite=False)


#: Most runs one fit_runs call trains (each run is a model and a set of sample orders).
MAX_RUNS = 10_000


def _check_orders(orders, X, n: int, where: str) -> None:
    """``orders`` integer arrays of ``X``'s library whose every ``[e, r]`` row permutes 0..n-1."""
    xp = namespace(orders, X, where=where, names=("orders", "X"))
    if not xp.isdtype(orders.dtype, "integral"):
        raise TypeError(
            f"{where}: orders must hold integer sample indices; got dtype {orders.dtype}. "
            f"Build it with epoch_orders(seeds, n_samples, epochs)."
        )
    expected = xp.arange(n, dtype=orders.dtype, device=array_api_compat.device(orders))
    if not bool(xp.all(xp.sort(orders, axis=-1) == expected)):
        raise ValueError(
            f"{where}: every orders[epoch, run] must be a permutation of 0..{n - 1} (each "
            f"sample once per epoch); got rows with repeated or out-of-range indices. Build "
            f"it with epoch_orders(seeds, n_samples, epochs)."
        )


def _check(make_model, loss, X, y, validation, seeds, orders, record_params, fused, **settings):
    """Every argument checked, before any update: ``(TrainConfig, _Runs)``."""
    where = "fit_runs"
    seeds = check_seeds(seeds, "seeds", where)
    if fused is not None:  # None: fused when it applies
        try:
            fused = check_bool(fused, "fused", where)
        except TypeError as exc:
            raise TypeError(f"{exc} Or leave fused=None (fused when it applies).") from None
    if isinstance(make_model, Model) or not callable(make_model):
        raise TypeError(
            f"{where}: make_model must be a callable seed -> model, e.g. "
            f"lambda s: LinearRegression(1, seed=s, backend=be); got {type(make_model).__name__}."
        )
    epochs = check_int(settings.get("epochs"), "epochs", where, minimum=1)
    check_int(len(seeds), "the number of seeds", where, maximum=MAX_RUNS)
    if hasattr(X, "shape") and len(X.shape) >= 1:  # before any model or order is built
        steps = len(seeds) * epochs * int(X.shape[0])
        fix = "lower epochs or the number of seeds."
        check_memory(
            steps, 8, "the sample orders (epochs x runs x n_samples int64)", where, fix=fix
        )
        check_work(steps, "epochs x runs x n_samples", where, fix=fix)
    models = [make_model(s) for s in seeds]
    for s, m in zip(seeds, models, strict=True):
        if not isinstance(m, Model):
            raise TypeError(
                f"{where}: make_model({s}) returned {type(m).__name__}; expected a losskit "
                f"model such as LinearRegression(1, seed=s). Does make_model return the model?"
            )
    model = stack_models(models)
    check_data(model, X, y, where)
    cfg = TrainConfig.check(loss, where, n_samples=int(X.shape[0]), **settings)
    if not hasattr(loss, "replace"):
        raise TypeError(
            f"{where}: loss must be a losskit loss (batched runs rebuild it with "
            f"reduction='none' by loss.replace); got {type(loss).__name__}."
        )
    loss.check_row_mean(y, where)
    none = _none_variant(loss)
    mean = cfg.reduction == "mean"
    if validation is not None:
        validation = check_validation_data(
            validation, model, where, lambda Xv, yv: _per_run_loss(model, none, Xv, yv, mean)
        )
        loss.check_row_mean(validation[1], where)
    R, n = len(seeds), cfg.n_samples
    if orders is None:
        orders = epoch_orders(seeds, n, cfg.epochs, shuffle=cfg.shuffle, backend=backend_of(X))
    elif tuple(orders.shape) != (cfg.epochs, R, n):
        raise ValueError(
            f"{where}: orders must have shape (epochs, runs, n_samples) = {(cfg.epochs, R, n)}; "
            f"got {tuple(orders.shape)}. Build it with epoch_orders(seeds, n_samples, epochs)."
        )
    else:
        _check_orders(orders, X, n, where)
    can_fuse = type(model) is LinearRegression and bool(getattr(loss, "squared_error", False))
    if fused and not can_fuse:
        raise ValueError(
            f"{where}: fused=True needs LinearRegression with a squared-error loss (MSELoss); "
            f"got {type(model).__name__} with {type(loss).__name__}. Leave fused=None."
        )
    runs = _Runs(
        seeds=seeds,
        model=model,
        none=none,
        X=X,
        y=y,
        validation=validation,
        orders=orders,
        record_params=check_bool(record_params, "record_params", where),
        fused=can_fuse if fused is None else fused,
    )
    return cfg, runs


def _gather(xp, A, order, R, n):
    """Each run's shuffled copy of ``A``: ``(R, n, ...)`` from ``order`` ``(R, n)``."""
    flat = xp.take(A, xp.reshape(order, (R * n,)), axis=0)
    return xp.reshape(flat, (R, n) + tuple(A.shape[1:]))


def _flat_runs(xp, a):
    """``(R, B, ...)`` -> ``(R * B, ...)``: the runs' batches as one batch for the loss."""
    return xp.reshape(a, (a.shape[0] * a.shape[1],) + tuple(a.shape[2:]))


def _per_run_loss(model, none, X, y, mean):
    """Each run's loss per example on ``(X, y)`` (no gradient): ``(R,)`` on the device.

    ``none`` is the loss with ``reduction="none"``; the scale is that of the
    epoch losses (the mean, or the sum divided by the number of rows).
    """
    xp = backend_of(X).xp
    R = model.n_runs
    out = model.forward(X)
    yr = xp.broadcast_to(y, (R,) + tuple(y.shape))
    per = xp.reshape(none(_flat_runs(xp, out), _flat_runs(xp, yr)), (R, -1))
    v = xp.sum(per, axis=1)
    return v / per.shape[1] if mean else v / X.shape[0]


# ---- epochs (two runners, one record) ---------------------------------------------------------


class _Curves:
    """What a runner records, epoch by epoch, on the device."""

    def __init__(self, cfg: TrainConfig, runs: _Runs):
        self.cfg, self.runs = cfg, runs
        self.batch_loss, self.epoch_train, self.epoch_val, self.epoch_time = [], [], [], []
        self.trajectory = None  # dict name -> (R, n_updates + 1, ...), with record_params
        self.t0 = time.perf_counter()

    def end_epoch(self, values, val_loss) -> None:
        """``values`` ``(R, n_batches)`` as the loss reduces them; ``val_loss`` ``(R,)`` or None."""
        xp, sizes = self.runs.backend.xp, self.cfg.batch_sizes
        w = xp.asarray(sizes, dtype=values.dtype, device=self.runs.backend.device)
        per_batch = values * w if self.cfg.reduction == "mean" else values
        self.batch_loss.append(values)
        self.epoch_train.append(xp.sum(per_batch, axis=1) / float(sum(sizes)))  # size-weighted
        if val_loss is not None:
            self.epoch_val.append(val_loss)
        self.runs.backend.synchronize()
        self.epoch_time.append(time.perf_counter() - self.t0)


def _run_general(cfg: TrainConfig, runs: _Runs) -> _Curves:
    """Any model and loss: per step the loss's ``value_and_grad`` and ``model.backward``."""
    xp, model, none = runs.backend.xp, runs.model, runs.none
    R, n = model.n_runs, cfg.n_samples
    mean = cfg.reduction == "mean"
    opt = cfg.optimizer()
    starts = [sum(cfg.batch_sizes[:j]) for j in range(len(cfg.batch_sizes))]
    traj = {k: [v] for k, v in model.params.items()} if runs.record_params else None
    curves = _Curves(cfg, runs)
    for e in range(cfg.epochs):
        Xe = _gather(xp, runs.X, runs.orders[e, ...], R, n)
        Ye = _gather(xp, runs.y, runs.orders[e, ...], R, n)
        values = []
        for s, b in zip(starts, cfg.batch_sizes, strict=True):
            xb, yb = Xe[:, s : s + b, ...], Ye[:, s : s + b, ...]
            out = model.forward(xb)
            per, g = none.value_and_grad(_flat_runs(xp, out), _flat_runs(xp, yb))
            per = xp.reshape(per, (R, -1))
            v, g = xp.sum(per, axis=1), xp.reshape(g, out.shape)
            if mean:
                v, g = v / per.shape[1], g / per.shape[1]
            opt.step(model.params, model.backward(xb, g))
            values.append(v)
            if traj is not None:
                for k, p in model.params.items():
                    traj[k].append(p)
        val = None
        if runs.validation is not None:
            val = _per_run_loss(model, none, *runs.validation, mean)
        curves.end_epoch(xp.stack(values, axis=1), val)
    if traj is not None:
        curves.trajectory = {k: xp.stack(v, axis=1) for k, v in traj.items()}
    return curves


def _run_fused(cfg: TrainConfig, runs: _Runs) -> _Curves:
    """LinearRegression + squared error: ``r = [x, 1] @ Wa - y``; ``grad Wa = c [x, 1]^T r``.

    ``c = 2 / (B * n_out)`` for a mean, ``2`` for a sum: the MSE gradient.
    Without momentum or weight decay, two folds make a step two matmuls and an
    add: the target joins the data as extra columns with a fixed ``-1`` weight
    (``[x, 1, y] @ [W; b; -I] = r``), and the factor ``-lr * c`` is folded into a
    transposed copy of the epoch's data (zero rows for the target columns, so
    the ``-I`` block never moves). Residuals are kept per step (a list append)
    and the per-step losses reduced once per epoch.
    """
    be, model, X, y, orders, sizes = (
        runs.backend,
        runs.model,
        runs.X,
        runs.y,
        runs.orders,
        cfg.batch_sizes,
    )
    xp, dev = be.xp, be.device
    R = model.n_runs
    n, d = X.shape
    dtype = X.dtype
    n_out = model.n_outputs
    Xa = xp.concat([X, xp.ones((n, 1), dtype=dtype, device=dev)], axis=1)
    Wa = xp.concat([model.params["W"], model.params["b"][:, None, :]], axis=1)  # (R, d+1, n_out)
    mean = cfg.reduction == "mean"
    lr, mom, wd = cfg.lr, cfg.momentum, cfg.weight_decay
    plain = not mom and not wd
    velocity = None
    nb = len(sizes)
    B = sizes[0]
    n_full = sum(1 for b in sizes if b == B)
    starts = [j * B for j in range(nb)]
    curves = _Curves(cfg, runs)
    traj = [Wa] if runs.record_params else None
    if plain:
        Z = xp.concat([Xa, y], axis=1)  # (n, d+1+n_out)
        minus_eye = -xp.eye(n_out, dtype=dtype, device=dev)
        Wz = xp.concat([Wa, xp.broadcast_to(minus_eye, (R, n_out, n_out))], axis=1)
        frozen = xp.zeros((R, n_out, n), dtype=dtype, device=dev)

    def scale(b):
        return 2.0 / (b * n_out) if mean else 2.0

    for e in range(cfg.epochs):
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
        val = None
        if runs.validation is not None:
            Xv, yv = runs.validation
            Xva = xp.concat([Xv, xp.ones((Xv.shape[0], 1), dtype=dtype, device=dev)], axis=1)
            rv = Xva @ Wa - yv
            v = xp.sum(xp.reshape(rv * rv, (R, -1)), axis=1)
            val = v / (Xv.shape[0] * n_out) if mean else v / Xv.shape[0]
        curves.end_epoch(values, val)
    model.params = {"W": Wa[:, :d, :], "b": Wa[:, d, :]}
    if traj is not None:
        stacked = xp.stack(traj, axis=1)  # (R, T+1, d+1, n_out)
        curves.trajectory = {"W": stacked[:, :, :d, :], "b": stacked[:, :, d, :]}
    return curves


# ---- history --------------------------------------------------------------------------------


def _history(cfg: TrainConfig, runs: _Runs, initial: list, curves: _Curves) -> RunsHistory:
    """The :class:`RunsHistory`: curves to the host, and each run's divergence by the rule."""
    be, seeds, sizes = runs.backend, runs.seeds, cfg.batch_sizes
    xp, R = be.xp, len(seeds)
    batch_loss = xp.concat(curves.batch_loss, axis=1)
    per_example = batch_loss
    if cfg.reduction != "mean":
        counts = xp.asarray(list(sizes) * cfg.epochs, dtype=batch_loss.dtype, device=be.device)
        per_example = batch_loss / counts
    limit = xp.asarray([[cfg.limit(v)] for v in initial], dtype=batch_loss.dtype, device=be.device)
    with quiet():
        bad = diverged_mask(xp, per_example, limit)
    first_bad = be.to_host(xp.argmax(xp.astype(bad, xp.int8), axis=1))
    any_bad = be.to_host(xp.any(bad, axis=1))
    pe = be.to_host(per_example)
    diverged_update = [int(first_bad[k]) if bool(any_bad[k]) else -1 for k in range(R)]
    messages = tuple(
        None
        if i < 0
        else cfg.divergence_message(
            "the training loss",
            float(pe[k, i]),
            update=i,
            epoch=i // len(sizes),
            initial=initial[k],
            prefix=f"run {k} (seed {seeds[k]}) diverged",
        )
        for k, i in enumerate(diverged_update)
    )
    epoch_val = (
        be.to_host(xp.stack(curves.epoch_val, axis=1))
        if curves.epoch_val
        else be.to_host([[] for _ in range(R)]).reshape(R, 0)
    )
    trajectory = curves.trajectory
    return RunsHistory(
        seeds=seeds,
        batch_loss=be.to_host(batch_loss),
        batch_size=be.to_host(list(sizes) * cfg.epochs).astype(int),
        epoch_train_loss=be.to_host(xp.stack(curves.epoch_train, axis=1)),
        epoch_val_loss=epoch_val,
        diverged=messages,
        diverged_update=be.to_host(diverged_update).astype(int),
        epoch_time=be.to_host(curves.epoch_time).astype(float),
        lr=cfg.lr,
        reduction=cfg.reduction,
        updates_per_epoch=len(sizes),
        fused=runs.fused,
        params_trajectory=None
        if trajectory is None
        else {k: be.to_host(v) for k, v in trajectory.items()},
        model=runs.model,
        initial_loss=be.to_host(initial).astype(float),
    )
