"""Lesson 6: gradient accumulation.

:func:`accumulation` compares one update on a batch of ``sum(sizes)`` examples
with the same update accumulated over micro-batches of the given sizes:
size-weighted (each micro-batch's mean times ``n_m / sum(n)``: exact), naive
(each micro-batch mean divided by K: right only when all sizes are equal) and
forgetting the division (K times the learning rate). Both equal (4+4+4+4) and
unequal (8+2) splits are run.

It runs the library's own losses and models (``MSELoss``, ``LinearRegression``,
``model.backward``, ``SGD``), not a fused shortcut: the identity is about them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._argcheck import (
    check_dtype,
    check_int,
    check_int_sequence,
    check_learning_rate,
    check_seed,
)
from ..backend import errstate, get_backend
from ..batching import epoch_orders
from ..data import make_linear_regression
from ..losses import MSELoss
from ..models import LinearRegression
from ..optim import SGD
from ..training import DIVERGENCE_FACTOR, diverged_mask, divergence_limit, divergence_message
from ._results import check_noise, max_abs_diff, readonly

__all__ = ["AccumulationResult", "accumulation"]


@dataclass(frozen=True)
class AccumulationResult:
    """Accumulated vs one-batch updates, for an equal and an unequal split (host, read-only).

    ``cases = ("equal", "unequal")`` indexes the leading axis of every array.
    ``T = n_updates``, ``P = n_features + 1`` parameters.

    - ``micro_batch_sizes``: tuple of the two splits, e.g. ``((4, 4, 4, 4), (8, 2))``.
    - ``params_full``, ``params_correct``, ``params_naive``, ``params_forgot``
      (2, T+1, P): parameter trajectories for one batch of ``sum(sizes)``;
      micro-batches weighted ``n_m / sum(n)`` (correct); each micro-batch mean
      divided by K (naive); micro-batch means summed without dividing (forgot).
    - ``loss_full``, ``loss_correct``, ``loss_naive``, ``loss_forgot`` (2, T+1):
      training-set MSE before every update and after the last.
    - ``first_grad_deviation_correct``, ``first_grad_deviation_naive`` (2,):
      max |accumulated gradient - batch gradient| at the first update (same weights).
    - ``max_deviation_correct``, ``max_deviation_naive``, ``max_deviation_forgot``
      (2,): max |params - params_full| over the trajectory. Correct: rounding
      only (~1e-16 in float64). Naive: 0 for the equal split, clearly not for
      the unequal one.
    - ``diverged``: dict method (``"full"``, ``"correct"``, ``"naive"``,
      ``"forgot"``) -> tuple of 2 (per case), None or the message of
      :func:`~losskit.fit.fit`'s rule: the training-set MSE became NaN/inf or
      grew past ``DIVERGENCE_FACTOR`` (1e6) times its start. Runs are not
      stopped; forgetting ÷ K at a large ``lr`` is the usual one.

    Parameters echoed: ``lr``, ``n_updates``, ``n_samples``, ``n_features``,
    ``noise``, ``dtype``, ``backend``, ``seed``.
    """

    cases: tuple
    micro_batch_sizes: tuple
    params_full: np.ndarray
    params_correct: np.ndarray
    params_naive: np.ndarray
    params_forgot: np.ndarray
    loss_full: np.ndarray
    loss_correct: np.ndarray
    loss_naive: np.ndarray
    loss_forgot: np.ndarray
    first_grad_deviation_correct: np.ndarray
    first_grad_deviation_naive: np.ndarray
    max_deviation_correct: np.ndarray
    max_deviation_naive: np.ndarray
    max_deviation_forgot: np.ndarray
    diverged: dict
    lr: float
    n_updates: int
    n_samples: int
    n_features: int
    noise: float
    dtype: str
    backend: str
    seed: int


_METHODS = ("full", "correct", "naive", "forgot")
_METHOD_NAMES = {
    "full": "one batch",
    "correct": "micro-batches weighted nₘ/Σn",
    "naive": "micro-batches divided by K",
    "forgot": "micro-batches without ÷ K",
}


def _divergence(losses, method, case, split, lr, per_pass) -> str | None:
    """None, or :func:`~losskit.fit.fit`'s divergence message for one run's losses (T+1,).

    ``losses[i]`` is the training-set MSE after ``i`` updates; the run diverged at
    the first update whose loss is NaN/inf or past ``DIVERGENCE_FACTOR`` times ``losses[0]``.
    """
    losses = np.asarray(losses, dtype=np.float64)
    limit = divergence_limit(float(losses[0]), DIVERGENCE_FACTOR)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(diverged_mask(np, losses[1:], limit))
    if not bad.size:
        return None
    i = int(bad[0])  # the update (0-based) after which the loss diverged
    S, K = sum(split), len(split)
    message = divergence_message(
        "the training loss",
        float(losses[i + 1]),
        update=i,
        epoch=i // per_pass,
        lr=lr,
        batch_size=S,
        reduction="mean",
        initial=float(losses[0]),
        factor=DIVERGENCE_FACTOR,
        prefix=f"{case} split {'+'.join(map(str, split))}: {_METHOD_NAMES[method]} diverged",
    )
    if method == "forgot" and K > 1:
        message += (
            f" Without ÷ K the {K} micro-batch means add up to {K} times their average: "
            f"about the step of lr={K * lr:g} (exactly, for equal micro-batches). Divide each "
            f"by K (equal sizes) or weight it by nₘ/Σn."
        )
    return message


def accumulation(
    equal_sizes=(4, 4, 4, 4),
    unequal_sizes=(8, 2),
    lr=0.05,
    n_updates=40,
    n_samples=200,
    *,
    n_features=1,
    noise=0.5,
    backend="auto",
    dtype=None,
    seed=0,
) -> AccumulationResult:
    """K micro-batches vs one batch, equal and unequal splits; see :class:`AccumulationResult`.

    Each update takes the next ``sum(sizes)`` examples of a seeded shuffled
    order (a new order each pass over the data), so the four methods see the
    same examples at every update. ``n_samples`` must be at least the larger
    ``sum(sizes)``; a diverging ``lr`` shows up as inf/NaN in the arrays.
    """
    where = "accumulation"
    seed = check_seed(seed, "seed", where)
    n = check_int(n_samples, "n_samples", where, minimum=1)
    splits = (
        check_int_sequence(equal_sizes, "equal_sizes", where, minimum=1, maximum=n),
        check_int_sequence(unequal_sizes, "unequal_sizes", where, minimum=1, maximum=n),
    )
    for name, split in zip(("equal_sizes", "unequal_sizes"), splits, strict=True):
        if sum(split) > n:
            raise ValueError(
                f"{where}: {name} {split} add up to {sum(split)} examples per update, more than "
                f"n_samples={n}; use smaller micro-batches or more samples."
            )
    if len(set(splits[0])) > 1:  # the lesson's contrast: /K is right here, wrong for unequal
        raise ValueError(
            f"{where}: equal_sizes must be micro-batches of one size, e.g. (4, 4, 4, 4); got "
            f"{splits[0]}. Put sizes that differ in unequal_sizes."
        )
    lr = check_learning_rate(lr, "lr", where)
    T = check_int(n_updates, "n_updates", where, minimum=1)
    d = check_int(n_features, "n_features", where, minimum=1)
    noise = check_noise(noise, where)
    be = get_backend(backend)
    xp = be.xp
    dt, dtype_name = check_dtype(dtype, "dtype", where, backend=be)
    X, y = make_linear_regression(n, d, noise=noise, seed=seed, backend=be, dtype=dt)
    loss = MSELoss()

    def flat(params):
        return np.concatenate([be.to_host(params["W"]).ravel(), be.to_host(params["b"]).ravel()])

    def full_loss(model):
        return float(loss(model.forward(X), y))

    results = {m: ([], [], []) for m in _METHODS}  # params, losses, first-grad deviation
    diverged = {m: [] for m in _METHODS}
    for case, split in zip(("equal", "unequal"), splits, strict=True):
        S, K = sum(split), len(split)
        per_pass = n // S
        passes = -(-T // per_pass)
        orders = epoch_orders([seed], n, passes, backend=be)
        models = {m: LinearRegression(d, seed=seed, backend=be, dtype=dt) for m in _METHODS}
        opts = {m: SGD(lr) for m in _METHODS}
        traj = {m: [flat(models[m].params)] for m in _METHODS}
        losses = {m: [full_loss(models[m])] for m in _METHODS}
        first_dev = {}
        with errstate(over="ignore", invalid="ignore", divide="ignore"):
            for t in range(T):
                p, j = divmod(t, per_pass)
                idx = orders[p, 0, j * S : (j + 1) * S]
                grads = {}
                for m in _METHODS:
                    model = models[m]
                    if m == "full":
                        xb, yb = xp.take(X, idx, axis=0), xp.take(y, idx, axis=0)
                        grads[m] = model.backward(xb, loss.grad(model.forward(xb), yb))
                        continue
                    acc, start = None, 0  # zero the gradient once per update
                    for size in split:
                        mi = idx[start : start + size]
                        start += size
                        xb, yb = xp.take(X, mi, axis=0), xp.take(y, mi, axis=0)
                        g = model.backward(xb, loss.grad(model.forward(xb), yb))
                        scale = {"correct": size / S, "naive": 1.0 / K, "forgot": 1.0}[m]
                        g = {k: v * scale for k, v in g.items()}
                        acc = g if acc is None else {k: acc[k] + g[k] for k in acc}
                    grads[m] = acc
                if t == 0:
                    ref = flat(grads["full"])
                    first_dev = {m: max_abs_diff(flat(grads[m]), ref) for m in _METHODS}
                for m in _METHODS:
                    opts[m].step(models[m].params, grads[m])
                    traj[m].append(flat(models[m].params))
                    losses[m].append(full_loss(models[m]))
        for m in _METHODS:
            results[m][0].append(np.stack(traj[m]))
            results[m][1].append(losses[m])
            results[m][2].append(first_dev[m])
            diverged[m].append(_divergence(losses[m], m, case, split, lr, per_pass))

    params = {m: np.asarray(results[m][0], dtype=np.float64) for m in _METHODS}

    def deviation(m):
        return readonly([max_abs_diff(params[m][c], params["full"][c]) for c in range(2)])

    return AccumulationResult(
        cases=("equal", "unequal"),
        micro_batch_sizes=splits,
        params_full=readonly(params["full"]),
        params_correct=readonly(params["correct"]),
        params_naive=readonly(params["naive"]),
        params_forgot=readonly(params["forgot"]),
        loss_full=readonly(results["full"][1], np.float64),
        loss_correct=readonly(results["correct"][1], np.float64),
        loss_naive=readonly(results["naive"][1], np.float64),
        loss_forgot=readonly(results["forgot"][1], np.float64),
        first_grad_deviation_correct=readonly(results["correct"][2], np.float64),
        first_grad_deviation_naive=readonly(results["naive"][2], np.float64),
        max_deviation_correct=deviation("correct"),
        max_deviation_naive=deviation("naive"),
        max_deviation_forgot=deviation("forgot"),
        diverged={m: tuple(diverged[m]) for m in _METHODS},
        lr=lr,
        n_updates=T,
        n_samples=n,
        n_features=d,
        noise=noise,
        dtype=dtype_name,
        backend=be.name,
        seed=int(seed),
    )
