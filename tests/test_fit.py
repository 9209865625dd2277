"""fit(): the identities the lessons rely on, early stopping, divergence, and every bad input."""

from __future__ import annotations

import math
from contextlib import nullcontext

import numpy as np
import pytest

from losskit.backend import get_backend
from losskit.batching import BatchLoader
from losskit.data import make_blobs, make_linear_regression, make_moons, make_sine, rbf_features
from losskit.fit import EarlyStopping, History, fit
from losskit.losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from losskit.models import MLP, LinearRegression, LogisticRegression, SoftmaxRegression
from losskit.optim import SGD
from losskit.vectorized import fit_runs


def _linear(backend, n=16, d=2, seed=0):
    X, y = make_linear_regression(
        n, d, noise=0.3, seed=seed, backend=backend, dtype=backend.xp.float64
    )
    return (
        X,
        y,
        (lambda s=1: LinearRegression(d, seed=s, backend=backend, dtype=backend.xp.float64)),
    )


def _params(model, to_np):
    return {k: to_np(v) for k, v in model.params.items()}


def test_epoch_loss_is_size_weighted_not_the_mean_of_batch_means(backend, to_np):
    """N=10, B=4: batches 4, 4, 2. Replay the epoch by hand with per-example losses."""
    X, y, make = _linear(backend, n=10)
    model = make()
    h = fit(model, MSELoss(), X, y, batch_size=4, lr=0.1, epochs=1, seed=3)
    assert h.batch_size.tolist() == [4, 4, 2]

    replay, none = make(), MSELoss(reduction="none")
    opt, per_example, batch_means = SGD(0.1), [], []
    for xb, yb in BatchLoader(X, y, batch_size=4, seed=3):
        out = replay.forward(xb)
        per_example.extend(to_np(none(out, yb))[:, 0].tolist())
        batch_means.append(float(MSELoss()(out, yb)))
        opt.step(replay.params, replay.backward(xb, MSELoss().grad(out, yb)))
    np.testing.assert_allclose(h.batch_loss, batch_means, rtol=1e-14)
    assert h.epoch_train_loss[0] == pytest.approx(np.mean(per_example), rel=1e-14)
    # the naive summary weights the short last batch double: visibly different here
    assert abs(np.mean(batch_means) - np.mean(per_example)) > 1e-3
    for k, p in _params(replay, to_np).items():
        np.testing.assert_allclose(to_np(model.params[k]), p, rtol=1e-14)


@pytest.mark.parametrize("B", [4, 8])
def test_sum_at_lr_over_B_equals_mean_at_lr_bitwise_for_power_of_two(B, backend, to_np):
    X, y, make = _linear(backend, n=32)
    m_mean, m_sum, m_big = make(), make(), make()
    h_mean = fit(m_mean, MSELoss(), X, y, batch_size=B, lr=0.05, epochs=3, seed=2)
    h_sum = fit(m_sum, MSELoss(reduction="sum"), X, y, batch_size=B, lr=0.05 / B, epochs=3, seed=2)
    fit(m_big, MSELoss(reduction="sum"), X, y, batch_size=B, lr=0.05, epochs=3, seed=2)
    for k in m_mean.params:
        np.testing.assert_array_equal(to_np(m_sum.params[k]), to_np(m_mean.params[k]))
        assert not np.allclose(to_np(m_big.params[k]), to_np(m_mean.params[k]))
    np.testing.assert_array_equal(h_sum.batch_loss / B, h_mean.batch_loss)
    np.testing.assert_allclose(h_sum.epoch_train_loss, h_mean.epoch_train_loss, rtol=1e-15)


def test_sum_vs_mean_to_rounding_when_B_is_not_a_power_of_two(backend, to_np):
    X, y, make = _linear(backend, n=30)
    m_mean, m_sum = make(), make()
    fit(m_mean, MSELoss(), X, y, batch_size=3, lr=0.05, epochs=2, seed=2)
    fit(m_sum, MSELoss(reduction="sum"), X, y, batch_size=3, lr=0.05 / 3, epochs=2, seed=2)
    for k in m_mean.params:
        np.testing.assert_allclose(to_np(m_sum.params[k]), to_np(m_mean.params[k]), rtol=1e-12)


@pytest.mark.parametrize(
    ("n", "micro", "K", "big"), [(10, 4, 3, 10), (22, 4, 3, 12), (16, 4, 2, 8)]
)
def test_size_weighted_accumulation_equals_the_full_batch(n, micro, K, big, backend, to_np):
    """(10, 4, 3): one update from micro-batches 4 + 4 + 2 equals full-batch GD on 10."""
    X, y, make = _linear(backend, n=n)
    m_acc, m_big = make(), make()
    h_acc = fit(
        m_acc, MSELoss(), X, y, batch_size=micro, accumulation_steps=K, lr=0.1, epochs=3, seed=5
    )
    h_big = fit(m_big, MSELoss(), X, y, batch_size=big, lr=0.1, epochs=3, seed=5)
    assert h_acc.batch_size.tolist() == h_big.batch_size.tolist()
    np.testing.assert_allclose(h_acc.batch_loss, h_big.batch_loss, rtol=1e-13)
    np.testing.assert_allclose(h_acc.epoch_train_loss, h_big.epoch_train_loss, rtol=1e-13)
    for k in m_acc.params:
        np.testing.assert_allclose(
            to_np(m_acc.params[k]), to_np(m_big.params[k]), rtol=1e-12, atol=1e-15
        )


@pytest.mark.parametrize(
    "loss",
    [CrossEntropyLoss(weight=np.array([1.0, 5.0, 5.0])), CrossEntropyLoss(ignore_index=0)],
    ids=["class_weights", "ignore_index"],
)
def test_weighted_and_ignoring_cross_entropy_accumulate_like_one_batch(loss, backend, to_np):
    """Their mean divides by the kept targets' summed weights, not the count: micro-batches
    and epoch losses are weighted by ``loss.mean_weight``, so 4 = 2 + 2 = 1 + 1 + 1 + 1.

    With ignore_index=0 two of the one-sample batches hold only ignored targets: their mean
    is NaN (as in PyTorch), which is not divergence and adds nothing.
    """
    X = backend.asarray(np.random.default_rng(1).normal(size=(4, 3)))
    y = backend.asarray(np.array([0, 0, 1, 2]))
    weights, losses, epoch = [], [], []
    for B, K in ((4, 1), (2, 2), (1, 4)):
        model = SoftmaxRegression(3, 3, seed=0, backend=backend)
        empty = loss.ignore_index == 0 and B < 4  # batches of ignored targets only: a warning
        with (
            pytest.warns(UserWarning, match="targets equal ignore_index")
            if empty
            else nullcontext()
        ):
            h = fit(
                model,
                loss,
                X,
                y,
                batch_size=B,
                accumulation_steps=K,
                lr=1.0,
                epochs=2,
                shuffle=False,
            )
        assert h.diverged is None
        weights.append(_params(model, to_np))
        losses.append(h.batch_loss)
        epoch.append(h.epoch_train_loss)
    for w, b, e in zip(weights[1:], losses[1:], epoch[1:], strict=True):
        np.testing.assert_allclose(b, losses[0], rtol=1e-13)
        np.testing.assert_allclose(e, epoch[0], rtol=1e-13)
        for k in w:
            np.testing.assert_allclose(w[k], weights[0][k], rtol=1e-12, atol=1e-14)
    # without accumulation the one-sample epoch loss is still the loss of all four
    model = SoftmaxRegression(3, 3, seed=0, backend=backend)
    full = float(loss(model.forward(X), y))
    empty = loss.ignore_index == 0
    with pytest.warns(UserWarning, match="targets equal ignore_index") if empty else nullcontext():
        h = fit(model, loss, X, y, batch_size=1, lr=1e-12, epochs=1, shuffle=False)
    assert h.epoch_train_loss[0] == pytest.approx(full, rel=1e-9)
    assert h.diverged is None
    assert np.isnan(h.batch_loss).sum() == (2 if loss.ignore_index == 0 else 0)


@pytest.mark.parametrize(("B", "K"), [(2, 1), (1, 2)])
def test_a_batch_of_zero_class_weight_makes_a_zero_step_not_nan_weights(B, K, backend, to_np):
    """weight=[0, 1, 1] on a batch of class 0 only: the mean is 0/0 (NaN, recorded) and the
    update's gradient is zero, so the weights stay finite and training is not 'diverged'."""
    X = backend.asarray(np.random.default_rng(0).normal(size=(8, 3)))
    y = backend.asarray(np.array([1, 2, 1, 2, 1, 2, 0, 0], dtype=np.uint8))  # small labels too
    model = SoftmaxRegression(3, 3, backend=backend)
    loss = CrossEntropyLoss(weight=np.array([0.0, 1.0, 1.0]))
    with pytest.warns(UserWarning, match="class weights of the .* targets sum to 0"):
        h = fit(
            model, loss, X, y, batch_size=B, accumulation_steps=K, lr=0.5, epochs=2, shuffle=False
        )
    assert h.diverged is None and h.n_updates == 8
    assert (
        np.isnan(h.batch_loss[[3, 7]]).all() and np.isfinite(np.delete(h.batch_loss, [3, 7])).all()
    )
    assert all(np.isfinite(p).all() for p in _params(model, to_np).values())
    assert loss.mean_weight(y) == 6.0


def test_accumulation_with_sum_reduction_adds_gradients(backend, to_np):
    X, y, make = _linear(backend, n=10)
    m_acc, m_big = make(), make()
    fit(
        m_acc, MSELoss(reduction="sum"), X, y, batch_size=4, accumulation_steps=3, lr=0.01, epochs=2
    )
    fit(m_big, MSELoss(reduction="sum"), X, y, batch_size=10, lr=0.01, epochs=2)
    for k in m_acc.params:
        np.testing.assert_allclose(to_np(m_acc.params[k]), to_np(m_big.params[k]), rtol=1e-12)


def test_validation_loss_is_on_end_of_epoch_weights(backend, to_np):
    X, y, make = _linear(backend, n=40)
    Xv, yv, _ = _linear(backend, n=12, seed=9)
    model = make()
    h = fit(model, MSELoss(), X, y, batch_size=8, lr=0.1, epochs=4, validation_data=(Xv, yv))
    assert h.epoch_val_loss.shape == (4,) and h.stopped_epoch is None and h.diverged is None
    assert h.epoch_val_loss[-1] == pytest.approx(float(MSELoss()(model.forward(Xv), yv)), rel=1e-15)
    assert h.best_epoch == int(np.argmin(h.epoch_val_loss))
    assert h.updates_per_epoch == 5 and h.n_updates == 20 and h.epochs_run == 4
    assert np.all(np.diff(h.epoch_time) >= 0)


def _overfit_setup(backend):
    """15 noisy sine points, 40 narrow bumps: training loss falls, validation turns up."""
    f64 = backend.xp.float64
    X, y = make_sine(15, noise=0.3, seed=0, backend=backend, dtype=f64)
    Xv, yv = make_sine(200, noise=0.3, seed=1, backend=backend, dtype=f64)
    return rbf_features(X, 40, 0.1), y, rbf_features(Xv, 40, 0.1), yv


def test_early_stopping_stops_after_the_minimum_and_restores_it(backend, to_np):
    F, y, Fv, yv = _overfit_setup(backend)
    model = LinearRegression(40, seed=0, backend=backend, dtype=backend.xp.float64)
    stopper = EarlyStopping(patience=10, min_delta=0.0)
    h = fit(
        model,
        MSELoss(),
        F,
        y,
        batch_size=5,
        lr=0.2,
        epochs=400,
        validation_data=(Fv, yv),
        early_stopping=stopper,
    )
    assert h.stopped_epoch is not None and h.stopped_epoch < 399
    assert h.stopped_epoch == h.best_epoch + 10 and h.epochs_run == h.stopped_epoch + 1
    val = h.epoch_val_loss
    assert val[h.best_epoch] == val.min()
    assert np.all(val[h.best_epoch + 1 :] >= val[h.best_epoch])
    assert h.epoch_train_loss[-1] < h.epoch_train_loss[h.best_epoch]  # still fitting noise
    assert h.restored_best
    restored = float(MSELoss()(model.forward(Fv), yv))
    assert restored == pytest.approx(val[h.best_epoch], rel=1e-14)

    # without restore_best the model keeps the last epoch's weights
    model2 = LinearRegression(40, seed=0, backend=backend, dtype=backend.xp.float64)
    h2 = fit(
        model2,
        MSELoss(),
        F,
        y,
        batch_size=5,
        lr=0.2,
        epochs=400,
        validation_data=(Fv, yv),
        early_stopping=EarlyStopping(10, restore_best=False),
    )
    assert float(MSELoss()(model2.forward(Fv), yv)) == pytest.approx(
        h2.epoch_val_loss[-1], rel=1e-14
    )


def test_min_delta_counts_small_improvements_as_none():
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    assert not stopper.update(0, 1.0, {})
    assert not stopper.update(1, 0.95, {})  # better, but by less than min_delta
    assert stopper.update(2, 0.92, {})
    assert stopper.best_epoch == 0


def test_early_stopping_without_validation_monitors_training_loss(backend):
    X, y, make = _linear(backend, n=32)
    h = fit(
        make(),
        MSELoss(),
        X,
        y,
        batch_size=32,
        lr=0.5,
        epochs=500,
        early_stopping=EarlyStopping(patience=3, min_delta=1e-6),
    )
    assert h.stopped_epoch is not None and h.epoch_val_loss.shape == (0,)
    assert h.best_epoch == h.stopped_epoch - 3


@pytest.mark.parametrize("batch_size", [1, 16])
def test_divergence_advice_blames_the_sum_only_when_it_differs_from_the_mean(batch_size):
    """At one example per update sum and mean are the same loss: only the lr is to blame."""
    X, y, make = _linear(get_backend("numpy"), n=64)
    h = fit(make(), MSELoss(reduction="sum"), X, y, batch_size=batch_size, lr=50.0, epochs=5)
    assert h.diverged is not None and "try lr=5." in h.diverged
    assert ("A summed loss makes the step grow" in h.diverged) == (batch_size > 1)


@pytest.mark.parametrize(("lr", "reduction"), [(5.0, "mean"), (0.5, "sum")])
def test_divergence_is_recorded_not_raised(lr, reduction, backend):
    X, y, make = _linear(backend, n=64)
    h = fit(
        make(),
        MSELoss(reduction=reduction),
        X,
        y,
        batch_size=16,
        lr=lr,
        epochs=50,
        validation_data=(X, y),
    )
    assert isinstance(h, History)
    assert h.diverged is not None and "diverged" in h.diverged and f"lr={lr / 10:g}" in h.diverged
    assert h.stopped_epoch is not None and h.stopped_epoch < 49
    assert np.all(np.isfinite(h.batch_loss[:-1]))
    if "the training loss" in h.diverged:  # the last value is the one that diverged
        last = h.batch_loss[-1] / (1 if reduction == "mean" else h.batch_size[-1])
        assert not math.isfinite(last) or last > 1e6 * _initial(backend, X, y)
    if "validation" not in h.diverged:  # a broken epoch is not summarised
        assert len(h.epoch_train_loss) == h.stopped_epoch
    assert len(h.epoch_val_loss) == h.stopped_epoch


def _initial(backend, X, y):
    """The initial model's (``_linear``'s) training-set MSE per example: the reference."""
    X, y = backend.to_host(X), backend.to_host(y)
    model = LinearRegression(X.shape[1], seed=1, backend="numpy", dtype=np.float64)
    return float(np.mean((model.forward(X) - y) ** 2))


# lr / reduction pairs whose loss grows geometrically but, in float64, stays finite
# for all 50 epochs: the old NaN/inf-only check never flagged them.
FINITE_BLOWUPS = [(1.5, "mean"), (0.1, "sum")]


@pytest.mark.parametrize(("lr", "reduction"), FINITE_BLOWUPS)
def test_a_finite_blow_up_is_divergence_with_a_message(lr, reduction, backend):
    X, y, make = _linear(backend, n=64)
    kw = {"batch_size": 16, "lr": lr, "epochs": 50, "validation_data": (X, y)}
    loss = MSELoss(reduction=reduction)
    off = fit(make(), loss, X, y, divergence_factor=None, **kw)
    assert off.diverged is None and off.stopped_epoch is None
    assert np.all(np.isfinite(off.batch_loss)) and off.batch_loss.max() > 1e100

    h = fit(make(), loss, X, y, **kw)
    per_example = h.batch_loss / (1 if reduction == "mean" else h.batch_size)
    initial = _initial(backend, X, y)
    limit = 1e6 * (initial + 1e-3)
    u = h.n_updates - 1
    assert per_example[-1] > limit and np.all(per_example[:-1] <= limit)
    np.testing.assert_allclose(h.batch_loss, off.batch_loss[: u + 1], rtol=1e-14)  # same run
    assert h.stopped_epoch == u // h.updates_per_epoch < 5
    assert len(h.epoch_train_loss) == h.stopped_epoch  # the diverged epoch is not summarised
    msg = h.diverged
    assert msg.startswith("training diverged: the training loss per example grew from ")
    assert f"{initial:.3g} at the start to {per_example[-1]:.3g}" in msg
    assert f"in epoch {h.stopped_epoch + 1}, update {u + 1} (lr=" in msg  # counted from 1
    assert "divergence_factor=1e+06" in msg and f"try lr={lr / 10:g}" in msg
    if reduction == "sum":
        assert f"sum at lr / 16 = {lr / 16:.3g}" in msg and "reduction='mean'" in msg
    # a smaller factor trips earlier; the limit is factor x (initial + floor)
    early = fit(make(), loss, X, y, divergence_factor=10.0, **kw)
    assert early.n_updates < h.n_updates and "divergence_factor=10" in early.diverged


@pytest.mark.parametrize(
    ("batch_size", "reduction", "lr"),
    [(1, "mean", 0.05), (1, "mean", 0.2), (8, "sum", 0.05 / 8), (64, "mean", 0.5)],
)
def test_healthy_training_is_never_flagged(batch_size, reduction, lr, backend):
    """SGD at B=1 (one example's loss swings far above and below the mean) and sum at lr/B."""
    X, y, make = _linear(backend, n=64)
    kw = {"batch_size": batch_size, "lr": lr, "epochs": 5, "seed": 3}
    loss = MSELoss(reduction=reduction)
    h = fit(make(), loss, X, y, **kw)
    off = fit(make(), loss, X, y, divergence_factor=None, **kw)
    assert h.diverged is None and h.stopped_epoch is None and h.epochs_run == 5
    np.testing.assert_array_equal(h.batch_loss, off.batch_loss)
    assert h.epoch_train_loss[-1] < h.epoch_train_loss[0]


def test_divergence_factor_none_still_catches_nan():
    X, y = make_linear_regression(16, 1, backend="numpy")
    model = LinearRegression(1, backend="numpy")
    model.params["W"] = model.params["W"] * 1e200  # the first predictions overflow the loss
    h = fit(model, MSELoss(), X, y, batch_size=4, lr=0.1, epochs=3, divergence_factor=None)
    assert h.diverged is not None and "became inf" in h.diverged and h.n_updates == 1


def test_other_models_learn(backend):
    f64 = backend.xp.float64
    X, y = make_moons(120, noise=0.1, seed=0, backend=backend, dtype=f64)
    h = fit(
        LogisticRegression(2, backend=backend, dtype=f64),
        BCEWithLogitsLoss(),
        X,
        y,
        batch_size=16,
        lr=0.5,
        epochs=20,
    )
    assert h.epoch_train_loss[-1] < 0.5 * h.epoch_train_loss[0]
    X, y = make_blobs(150, 3, seed=0, backend=backend, dtype=f64)
    h = fit(
        SoftmaxRegression(2, 3, backend=backend, dtype=f64),
        CrossEntropyLoss(),
        X,
        y,
        batch_size=10,
        lr=0.1,
        epochs=10,
    )
    assert h.epoch_train_loss[-1] < 0.2
    X, y = make_sine(64, noise=0.05, seed=0, backend=backend, dtype=f64)
    h = fit(
        MLP(1, 16, backend=backend, dtype=f64),
        MSELoss(),
        X,
        y,
        batch_size=8,
        lr=0.1,
        epochs=60,
        progress=True,
    )
    assert h.epoch_train_loss[-1] < 0.3 * h.epoch_train_loss[0]


def test_reduction_none_trains_like_sum(backend, to_np):
    X, y, make = _linear(backend, n=12)
    a, b = make(), make()
    fit(a, MSELoss(reduction="none"), X, y, batch_size=4, lr=0.01, epochs=2)
    fit(b, MSELoss(reduction="sum"), X, y, batch_size=4, lr=0.01, epochs=2)
    for k in a.params:
        np.testing.assert_array_equal(to_np(a.params[k]), to_np(b.params[k]))


@pytest.mark.parametrize(
    ("kwargs", "exc", "fragment"),
    [
        ({"lr": 0.0}, ValueError, "lr must be > 0; got 0"),
        ({"lr": float("nan")}, ValueError, "got nan"),
        ({"lr": "0.1"}, TypeError, "lr must be a real number > 0"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": 17}, ValueError, "larger than the 16 samples"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be a positive int"),
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"epochs": 2.0}, TypeError, "Pass epochs=2"),
        ({"accumulation_steps": 0}, ValueError, "accumulation_steps must be >= 1"),
        ({"validation_data": np.zeros(3)}, TypeError, "validation_data must be a pair"),
        ({"seed": 1.5}, TypeError, "fit: seed must be a non-negative int .*got float 1.5"),
        ({"seed": True}, TypeError, "fit: seed must be a non-negative int .*got bool"),
        ({"seed": -3}, ValueError, "fit: seed must be >= 0"),
        ({"early_stopping": 5}, TypeError, "early_stopping must be an EarlyStopping"),
        ({"momentum": 1.5}, ValueError, "momentum must be < 1"),
        ({"divergence_factor": 1.0}, ValueError, "divergence_factor must be > 1; got"),
        ({"divergence_factor": 0.5}, ValueError, "got 0.5. .*pass None to flag only NaN/inf"),
        ({"divergence_factor": -1e6}, ValueError, "divergence_factor must be > 1; got"),
        ({"divergence_factor": float("nan")}, ValueError, r"finite \(> 1\); got nan"),
        ({"divergence_factor": float("inf")}, ValueError, r"finite \(> 1\); got inf. .*pass None"),
        ({"divergence_factor": "1e6"}, TypeError, "divergence_factor must be a real number > 1"),
        ({"divergence_factor": True}, TypeError, "got bool True"),
        ({"divergence_factor": [1e6]}, TypeError, "pass None to flag only NaN/inf losses"),
    ],
)
def test_bad_arguments_are_explained(kwargs, exc, fragment):
    X, y = make_linear_regression(16, 1, backend="numpy")
    args = {"batch_size": 4, "lr": 0.1, "epochs": 1, **kwargs}
    with pytest.raises(exc, match=fragment):
        fit(LinearRegression(1, backend="numpy"), MSELoss(), X, y, **args)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": -1.0},
        {"momentum": 1.0},
        {"epochs": 0},
        {"batch_size": 17},
        {"shuffle": "yes"},
        {"drop_last": 1},
        {"divergence_factor": 0.5},
    ],
)
def test_fit_and_fit_runs_check_their_settings_alike(kwargs):
    """One TrainConfig checks both: the same setting, the same message (only where differs)."""
    X, y = make_linear_regression(16, 1, backend="numpy")
    args = {"batch_size": 4, "lr": 0.1, "epochs": 1, **kwargs}
    errors = []
    for call in (
        lambda: fit(LinearRegression(1, backend="numpy"), MSELoss(), X, y, **args),
        lambda: fit_runs(
            lambda s: LinearRegression(1, seed=s, backend="numpy"),
            MSELoss(),
            X,
            y,
            seeds=[0],
            **args,
        ),
    ):
        with pytest.raises((TypeError, ValueError)) as info:
            call()
        errors.append(info)
    assert errors[0].type is errors[1].type
    words = [str(e.value).replace("fit_runs", "fit") for e in errors]
    assert words[0] == words[1]


@pytest.mark.parametrize("runs", [False, True], ids=["fit", "fit_runs"])
@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (lambda Xv, yv: (Xv, yv[:, 0]), r"same shape; got input \(\d+, 1\) and target"),
        (lambda Xv, yv: (Xv[:, :1], yv), r"X must be \(N, 2\)"),
    ],
)
def test_validation_data_that_does_not_fit_fails_before_training(runs, bad, fragment):
    """The docstring's promise: bad arguments raise before any update touches the model."""
    X, y = make_linear_regression(40, 2, backend="numpy")
    Xv, yv = make_linear_regression(10, 2, seed=1, backend="numpy")
    model = LinearRegression(2, backend="numpy")
    before = {k: v.copy() for k, v in model.params.items()}
    kw = {"batch_size": 8, "lr": 0.1, "epochs": 2, "validation_data": bad(Xv, yv)}
    with pytest.raises(ValueError, match=f"validation_data does not fit .*{fragment}"):
        if runs:
            fit_runs(
                lambda s: LinearRegression(2, seed=s, backend="numpy"),
                MSELoss(),
                X,
                y,
                seeds=[0, 1],
                **kw,
            )
        else:
            fit(model, MSELoss(), X, y, **kw)
    for k in before:
        np.testing.assert_array_equal(model.params[k], before[k])


def test_fit_runs_refuses_column_targets_up_front_even_without_divergence_check():
    X, y = make_linear_regression(40, 2, backend="numpy")
    with pytest.raises(ValueError, match=r"same shape.*\(N, 1\) against \(N,\)"):
        fit_runs(
            lambda s: LinearRegression(2, seed=s, backend="numpy"),
            MSELoss(),
            X,
            y[:, 0],
            seeds=[0],
            batch_size=8,
            lr=0.1,
            epochs=1,
            divergence_factor=None,
        )


def test_bad_models_losses_and_data_are_explained(backend):
    X, y = make_linear_regression(16, 1, backend="numpy")
    model = LinearRegression(1, backend="numpy")
    kw = {"batch_size": 4, "lr": 0.1, "epochs": 1}
    with pytest.raises(TypeError, match="instead of an instance"):
        fit(model, MSELoss, X, y, **kw)
    with pytest.raises(TypeError, match="losskit model"):
        fit(object(), MSELoss(), X, y, **kw)
    with pytest.raises(ValueError, match="same number of rows"):
        fit(model, MSELoss(), X, y[:10], **kw)
    with pytest.raises(ValueError, match="stacked runs"):
        from losskit.models import stack_models

        fit(stack_models([model, model]), MSELoss(), X, y, **kw)
    if backend.name != "numpy":
        with pytest.raises((ValueError, TypeError), match="backend|libraries"):
            fit(LinearRegression(1, backend=backend), MSELoss(), X, y, **kw)
    with pytest.raises(ValueError, match="patience must be >= 1"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="min_delta must be >= 0"):
        EarlyStopping(min_delta=-1.0)
