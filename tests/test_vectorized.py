"""fit_runs: R seeds in one batched loop reproduce R separate fit() calls, seed by seed."""

from __future__ import annotations

import numpy as np
import pytest

from losskit.batching import epoch_orders
from losskit.data import make_blobs, make_linear_regression, make_moons
from losskit.fit import fit
from losskit.losses import BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, MSELoss
from losskit.models import MLP, LinearRegression, LogisticRegression, SoftmaxRegression
from losskit.vectorized import fit_runs


def _linreg(backend, n=40, d=2):
    f64 = backend.xp.float64
    X, y = make_linear_regression(n, d, noise=0.3, seed=0, backend=backend, dtype=f64)
    Xv, yv = make_linear_regression(15, d, noise=0.3, seed=0, backend=backend, dtype=f64)
    return X, y, (Xv, yv), (lambda s: LinearRegression(d, seed=s, backend=backend, dtype=f64))


CASES = {
    "linear-fused": lambda be: (*_linreg(be), MSELoss(), None),
    "linear-general": lambda be: (*_linreg(be), MSELoss(), False),
    "linear-sum-fused": lambda be: (*_linreg(be), MSELoss(reduction="sum"), None),
    "mlp": lambda be: (
        *_linreg(be)[:3],
        lambda s: MLP(2, 4, seed=s, backend=be, dtype=be.xp.float64),
        MSELoss(),
        None,
    ),
}


def _classification(kind, be):
    f64 = be.xp.float64
    if kind == "logistic":
        X, y = make_moons(40, seed=0, backend=be, dtype=f64)
        return (
            X,
            y,
            (X[:10, ...], y[:10]),
            (lambda s: LogisticRegression(2, seed=s, backend=be, dtype=f64)),
            BCEWithLogitsLoss(),
        )
    X, y = make_blobs(40, 3, seed=0, backend=be, dtype=f64)
    return (
        X,
        y,
        (X[:10, ...], y[:10]),
        (lambda s: SoftmaxRegression(2, 3, seed=s, backend=be, dtype=f64)),
        CrossEntropyLoss(),
    )


def _compare_with_fit(runs, seeds, make, loss, X, y, val, to_np, **kw):
    for k, s in enumerate(seeds):
        model = make(s)
        h = fit(model, loss, X, y, seed=s, validation_data=val, **kw)
        np.testing.assert_allclose(runs.batch_loss[k], h.batch_loss, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(runs.epoch_train_loss[k], h.epoch_train_loss, rtol=1e-10)
        np.testing.assert_allclose(runs.epoch_val_loss[k], h.epoch_val_loss, rtol=1e-10)
        for name, p in runs.model.run(k).params.items():
            np.testing.assert_allclose(to_np(p), to_np(model.params[name]), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("case", sorted(CASES))
def test_runs_equal_separate_fits(case, backend, to_np):
    X, y, val, make, loss, fused = CASES[case](backend)
    seeds = [0, 3, 7]
    kw = {"batch_size": 6, "lr": 0.05, "epochs": 3}
    runs = fit_runs(make, loss, X, y, seeds=seeds, validation_data=val, fused=fused, **kw)
    assert runs.fused == (fused is None and "mlp" not in case)
    assert runs.batch_loss.shape == (3, 3 * 7) and runs.epoch_val_loss.shape == (3, 3)
    assert runs.batch_size.tolist()[:7] == [6] * 6 + [4]
    _compare_with_fit(runs, seeds, make, loss, X, y, val, to_np, **kw)


@pytest.mark.parametrize("kind", ["logistic", "softmax"])
def test_classification_runs_equal_separate_fits(kind, backend, to_np):
    X, y, val, make, loss = _classification(kind, backend)
    kw = {"batch_size": 8, "lr": 0.1, "epochs": 2}
    runs = fit_runs(make, loss, X, y, seeds=[1, 2], validation_data=val, **kw)
    assert not runs.fused and runs.batch_loss.shape[0] == 2 and runs.epoch_val_loss.shape == (2, 2)
    # the two seeds train differently, so matching each one alone below is not vacuous
    assert not np.allclose(runs.batch_loss[0], runs.batch_loss[1])
    _compare_with_fit(runs, [1, 2], make, loss, X, y, val, to_np, **kw)


@pytest.mark.parametrize(("kind", "fused"), [("linear", None), ("linear", False), ("mlp", False)])
def test_a_seed_gives_the_same_run_whatever_its_companions(kind, fused, backend, to_np):
    """Bit for bit on the CPU backends (each run's matmul is its own); to rounding on a GPU."""
    X, y, _, make = _linreg(backend)
    if kind == "mlp":
        make = lambda s: MLP(2, 4, seed=s, backend=backend, dtype=backend.xp.float64)  # noqa: E731
    kw = {"batch_size": 4, "lr": 0.05, "epochs": 2, "fused": fused}
    many = fit_runs(make, MSELoss(), X, y, seeds=[5, 11, 2, 9], **kw)
    alone = fit_runs(make, MSELoss(), X, y, seeds=[11], **kw)
    rtol = 1e-12 if backend.is_gpu else 0.0
    np.testing.assert_allclose(many.batch_loss[1], alone.batch_loss[0], rtol=rtol, atol=0)
    for name, p in many.model.run(1).params.items():
        np.testing.assert_allclose(
            to_np(p), to_np(alone.model.run(0).params[name]), rtol=rtol, atol=0
        )


def test_fused_and_general_agree_with_momentum_weight_decay_and_drop_last(backend, to_np):
    X, y, val, make = _linreg(backend)
    kw = {
        "seeds": [0, 1],
        "batch_size": 16,
        "lr": 0.03,
        "epochs": 4,
        "momentum": 0.9,
        "weight_decay": 0.01,
        "drop_last": True,
        "validation_data": val,
        "record_params": True,
    }
    a = fit_runs(make, MSELoss(), X, y, fused=None, **kw)
    b = fit_runs(make, MSELoss(), X, y, fused=False, **kw)
    assert a.fused and not b.fused and a.batch_loss.shape == (2, 8)
    np.testing.assert_allclose(a.batch_loss, b.batch_loss, rtol=1e-12)
    np.testing.assert_allclose(a.epoch_val_loss, b.epoch_val_loss, rtol=1e-12)
    for name in ("W", "b"):
        assert a.params_trajectory[name].shape[:2] == (2, 9)
        np.testing.assert_allclose(
            a.params_trajectory[name], b.params_trajectory[name], rtol=1e-12, atol=1e-15
        )
    h = fit(
        make(1),
        MSELoss(),
        X,
        y,
        batch_size=16,
        lr=0.03,
        epochs=4,
        momentum=0.9,
        weight_decay=0.01,
        drop_last=True,
        seed=1,
    )
    np.testing.assert_allclose(a.batch_loss[1], h.batch_loss, rtol=1e-12)


def test_shared_orders_and_a_diverging_run_leave_the_others_alone(backend, to_np):
    X, y, _, make = _linreg(backend)
    orders = epoch_orders([0, 1, 2], 40, 3, backend=backend)

    def make_wild(s):
        m = make(s)
        if s == 1:  # a run started far away diverges at this lr; the others must not notice
            m.params["W"] = m.params["W"] * 1e200
        return m

    for fused in (None, False):
        runs = fit_runs(
            make_wild,
            MSELoss(),
            X,
            y,
            seeds=[0, 1, 2],
            batch_size=8,
            lr=0.05,
            epochs=3,
            orders=orders,
            fused=fused,
        )
        ref = fit_runs(
            make, MSELoss(), X, y, seeds=[0, 2], batch_size=8, lr=0.05, epochs=3, fused=fused
        )
        assert runs.diverged[0] is None and runs.diverged[2] is None
        assert "run 1 (seed 1) diverged" in runs.diverged[1]
        assert runs.diverged_update.tolist()[::2] == [-1, -1] and runs.diverged_update[1] >= 0
        np.testing.assert_allclose(runs.batch_loss[[0, 2]], ref.batch_loss, rtol=1e-14)


@pytest.mark.parametrize("kind", ["linear", "mlp", "softmax"])
def test_a_run_gone_nan_is_reported_and_the_others_train_on(kind, backend, to_np):
    """The general step's loss must not check its input for NaN/inf: a run whose predictions
    overflow (weights started at 1e308) would stop every run with a ValueError. It is marked
    diverged; the others match fit(), validation included."""
    if kind == "softmax":
        X, y, val, make, loss = _classification("softmax", backend)
    else:
        X, y, val, make = _linreg(backend)
        loss = MSELoss()
        if kind == "mlp":
            make = lambda s: MLP(2, 4, seed=s, backend=backend, dtype=backend.xp.float64)  # noqa: E731

    def make_wild(s):
        m = make(s)
        if s == 1:
            m.params = {k: v * 1e308 for k, v in m.params.items()}
        return m

    kw = {"batch_size": 8, "lr": 0.5, "epochs": 3}
    runs = fit_runs(make_wild, loss, X, y, seeds=[0, 1, 2], validation_data=val, fused=False, **kw)
    assert not np.all(np.isfinite(to_np(runs.model.run(1).forward(X))))  # the case in question
    assert runs.diverged[0] is None and runs.diverged[2] is None
    assert runs.diverged[1].startswith("run 1 (seed 1) diverged")
    assert runs.diverged_update[1] >= 0
    for k, s in ((0, 0), (2, 2)):
        h = fit(make(s), loss, X, y, seed=s, validation_data=val, **kw)
        assert h.diverged is None
        np.testing.assert_allclose(runs.batch_loss[k], h.batch_loss, rtol=1e-10)
        np.testing.assert_allclose(runs.epoch_val_loss[k], h.epoch_val_loss, rtol=1e-10)


def test_the_fused_step_is_chosen_by_a_property_of_the_loss(backend):
    """``loss.squared_error`` picks the fused step, whatever the class is called."""

    class Squared(MSELoss):  # another name, the same loss
        pass

    X, y, _, make = _linreg(backend)
    kw = {"seeds": [0, 1], "batch_size": 8, "lr": 0.05, "epochs": 2}
    renamed = fit_runs(make, Squared(), X, y, **kw)
    general = fit_runs(make, MSELoss(), X, y, fused=False, **kw)
    assert renamed.fused and not general.fused
    np.testing.assert_allclose(renamed.batch_loss, general.batch_loss, rtol=1e-12)
    # half the MSE with half its gradient (the same steps at twice the lr), not squared_error
    huber = fit_runs(make, HuberLoss(1e6), X, y, **{**kw, "lr": 0.1})
    assert not huber.fused
    np.testing.assert_allclose(2 * huber.batch_loss, general.batch_loss, rtol=1e-12)


@pytest.mark.parametrize(("lr", "reduction"), [(1.5, "mean"), (0.2, "sum")])
@pytest.mark.parametrize("fused", [None, False])
def test_a_finite_blow_up_diverges_at_the_same_update_as_fit(lr, reduction, fused, backend):
    """The loss grows geometrically but stays finite (float64): caught by the shared rule."""
    X, y, _, make = _linreg(backend)
    loss = MSELoss(reduction=reduction)
    kw = {"batch_size": 8, "lr": lr, "epochs": 30}
    seeds = [0, 1, 2]
    off = fit_runs(make, loss, X, y, seeds=seeds, fused=fused, divergence_factor=None, **kw)
    assert off.diverged == (None,) * 3 and off.diverged_update.tolist() == [-1] * 3
    assert np.all(np.isfinite(off.batch_loss)) and off.batch_loss.max() > 1e30
    runs = fit_runs(make, loss, X, y, seeds=seeds, fused=fused, **kw)
    np.testing.assert_array_equal(runs.batch_loss, off.batch_loss)  # marked, not stopped
    for k, s in enumerate(seeds):
        h = fit(make(s), loss, X, y, seed=s, **kw)
        u = int(runs.diverged_update[k])
        assert h.diverged is not None and u == h.n_updates - 1 >= 1
        msg = runs.diverged[k]
        assert msg.startswith(f"run {k} (seed {s}) diverged: the training loss per example grew")
        # the same words as fit's message after the prefix: same rule, same numbers
        assert msg.split(": ", 1)[1] == h.diverged.split(": ", 1)[1]
        assert f", update {u + 1} (lr=" in msg and f"try lr={lr / 10:g}" in msg
        per_example = runs.batch_loss[k] / (1 if reduction == "mean" else runs.batch_size)
        limit = 1e6 * (runs.initial_loss[k] + 1e-3)
        assert per_example[u] > limit and np.all(per_example[:u] <= limit)


@pytest.mark.parametrize(
    ("batch_size", "reduction", "lr"), [(1, "mean", 0.05), (1, "mean", 0.2), (8, "sum", 0.05 / 8)]
)
def test_healthy_runs_are_never_flagged(batch_size, reduction, lr, backend):
    """SGD at B=1 (one example's loss swings far from the mean) and sum at lr/B."""
    X, y, _, make = _linreg(backend)
    loss = MSELoss(reduction=reduction)
    kw = {"seeds": list(range(8)), "batch_size": batch_size, "lr": lr, "epochs": 4}
    runs = fit_runs(make, loss, X, y, **kw)
    off = fit_runs(make, loss, X, y, divergence_factor=None, **kw)
    assert runs.diverged == (None,) * 8 and runs.diverged_update.tolist() == [-1] * 8
    np.testing.assert_array_equal(runs.batch_loss, off.batch_loss)
    assert np.all(runs.epoch_train_loss[:, -1] < runs.initial_loss)
    assert np.all(np.isnan(off.initial_loss))  # no reference needed without the check


def test_errors_are_explained():
    X, y = make_linear_regression(20, 1, backend="numpy")
    make = lambda s: LinearRegression(1, seed=s, backend="numpy")  # noqa: E731
    kw = {"batch_size": 4, "lr": 0.1, "epochs": 2}
    with pytest.raises(TypeError, match="seeds must be a list of ints"):
        fit_runs(make, MSELoss(), X, y, seeds=3, **kw)
    with pytest.raises(ValueError, match="seeds is empty"):
        fit_runs(make, MSELoss(), X, y, seeds=[], **kw)
    with pytest.raises(TypeError, match="each entry of seeds must be a non-negative int"):
        fit_runs(make, MSELoss(), X, y, seeds=[0.5], **kw)
    with pytest.raises(TypeError, match="make_model must be a callable"):
        fit_runs(LinearRegression(1), MSELoss(), X, y, seeds=[0], **kw)
    with pytest.raises(ValueError, match="fused=True needs LinearRegression"):
        fit_runs(
            lambda s: MLP(1, 2, seed=s, backend="numpy"),
            MSELoss(),
            X,
            y,
            seeds=[0],
            fused=True,
            **kw,
        )
    with pytest.raises(ValueError, match="orders must have shape"):
        fit_runs(
            make, MSELoss(), X, y, seeds=[0], orders=epoch_orders([0], 20, 1, backend="numpy"), **kw
        )
    for factor in (1.0, 0.0, float("nan"), float("inf")):
        with pytest.raises(
            ValueError, match=r"fit_runs: divergence_factor must be (finite \()?> 1"
        ):
            fit_runs(make, MSELoss(), X, y, seeds=[0], divergence_factor=factor, **kw)
    with pytest.raises(TypeError, match="divergence_factor must be a real number > 1 .* got str"):
        fit_runs(make, MSELoss(), X, y, seeds=[0], divergence_factor="big", **kw)
    with pytest.raises(ValueError, match="larger than the 20 samples"):
        fit_runs(make, MSELoss(), X, y, seeds=[0], **{**kw, "batch_size": 21})
    Xc, yc = make_blobs(20, 3, backend="numpy")
    with pytest.raises(ValueError, match="class-weighted"):
        fit_runs(
            lambda s: SoftmaxRegression(2, 3, seed=s, backend="numpy"),
            CrossEntropyLoss(weight=np.ones(3)),
            Xc,
            yc,
            seeds=[0],
            **kw,
        )
    for flag in ("shuffle", "drop_last"):
        with pytest.raises(TypeError, match=f"fit_runs: {flag} must be True or False; got str"):
            fit_runs(make, MSELoss(), X, y, seeds=[0], **{**kw, flag: "no"})
    y_ignored = np.where(np.arange(20) % 5 == 0, -100, yc)
    for ys, val in ((y_ignored, None), (yc, (Xc, y_ignored))):
        with pytest.raises(ValueError, match="targets equal ignore_index=-100.*Use fit"):
            fit_runs(
                lambda s: SoftmaxRegression(2, 3, seed=s, backend="numpy"),
                CrossEntropyLoss(),
                Xc,
                ys,
                seeds=[0],
                validation_data=val,
                **kw,
            )
