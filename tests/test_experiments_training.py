"""Training experiments: the lesson facts they must show, host results, and explained errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from losskit import experiments
from losskit.experiments import (
    AccumulationResult,
    BatchSizeSweepResult,
    BatchVsDatasetResult,
    SumVsMeanResult,
    TrainValResult,
    accumulation,
    batch_size_sweep,
    batch_vs_dataset,
    sum_vs_mean,
    train_val,
)
from losskit.fit import History
from losskit.lessons import LESSONS


def _host_only(result):
    """Every array field is a host NumPy array; the dataclass is frozen."""
    assert dataclasses.is_dataclass(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.seed = 1
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if hasattr(v, "shape") and not isinstance(v, History):
                assert isinstance(v, np.ndarray), f.name


def test_defaults_run_with_no_arguments_on_numpy():
    """The widgets call each experiment with defaults: all five must work as-is."""
    sweep = batch_size_sweep(backend="numpy")
    assert isinstance(sweep, BatchSizeSweepResult)
    assert sweep.final_loss.shape == (5, 16)
    assert sweep.epoch_loss.shape == (5, 16, 20)
    assert [s.shape for s in sweep.step_loss] == [(16, 20 * u) for u in (1000, 250, 63, 16, 4)]
    _host_only(sweep)
    for fn, cls in [
        (sum_vs_mean, SumVsMeanResult),
        (accumulation, AccumulationResult),
        (batch_vs_dataset, BatchVsDatasetResult),
        (train_val, TrainValResult),
    ]:
        result = fn(backend="numpy")
        assert isinstance(result, cls)
        _host_only(result)


def test_sweep_facts():
    r = batch_size_sweep(
        batch_sizes=(1, 8, 64, 200), seeds=[0, 1, 2, 3], epochs=5, n_samples=200, backend="numpy"
    )
    assert r.updates_per_epoch.tolist() == [200, 25, 4, 1]
    assert not r.diverged.any() and r.diverged_message == (None,) * 4
    # more updates per epoch -> lower loss after the first epoch; never below the floor
    first = r.epoch_loss[:, :, 0].mean(axis=1)
    assert first[0] < first[2] and np.all(np.diff(first[1:]) > 0)
    assert np.all(np.diff(r.final_loss[1:].mean(axis=1)) > 0)
    assert np.all(r.final_loss >= r.optimal_loss - 1e-12)
    # small batches jitter more; a full batch does not jitter at all
    assert np.all(np.diff(r.jitter) < 0) and r.jitter[-1] == 0.0
    assert r.step_samples[1][-1] == 5 * 200
    np.testing.assert_array_equal(r.final_loss, r.epoch_loss[:, :, -1])


def test_sweep_seed_k_matches_the_same_seed_alone():
    kw = {"batch_sizes": (4, 32), "epochs": 3, "n_samples": 96, "backend": "numpy"}
    many = batch_size_sweep(seeds=[7, 3, 5], **kw)
    alone = batch_size_sweep(seeds=[3], **kw)
    np.testing.assert_allclose(many.final_loss[:, 1], alone.final_loss[:, 0], rtol=1e-14)
    np.testing.assert_allclose(many.step_loss[0][1], alone.step_loss[0][0], rtol=1e-14)


def test_sweep_sum_reduction_diverges_at_large_batches_and_reports_it():
    r = batch_size_sweep(
        batch_sizes=(4, 100),
        seeds=[0, 1],
        epochs=300,
        n_samples=100,
        reduction="sum",
        lr=0.1,
        backend="numpy",
    )
    assert not r.diverged[0].any() and r.diverged[1].all()
    assert "diverged" in r.diverged_message[1] and r.diverged_message[0] is None


def test_sweep_runs_on_the_device_stand_in(backend):
    r = batch_size_sweep(batch_sizes=(2, 16), seeds=[0, 1], epochs=2, n_samples=32, backend=backend)
    ref = batch_size_sweep(
        batch_sizes=(2, 16), seeds=[0, 1], epochs=2, n_samples=32, backend="numpy", dtype=r.dtype
    )
    rtol = 1e-12 if r.dtype == "float64" else 1e-4
    np.testing.assert_allclose(r.final_loss, ref.final_loss, rtol=rtol)
    assert r.backend == backend.name


@pytest.mark.parametrize("B", [8, 32, 64])
def test_sum_at_lr_over_B_is_bitwise_mean_for_powers_of_two(B, backend):
    r = sum_vs_mean(batch_size=B, epochs=2, n_samples=256, backend=backend, dtype="float64")
    assert r.power_of_two and r.bitwise_equal and r.max_deviation == 0.0
    assert r.max_deviation_same_lr > 0.1  # sum at the same lr takes B-times larger steps
    assert r.params_mean.shape == (2 * 256 // B + 1, 2)


def test_sum_vs_mean_to_rounding_otherwise_and_with_weight_decay():
    r = sum_vs_mean(batch_size=24, backend="numpy")
    assert not r.power_of_two and 0.0 <= r.max_deviation < 1e-12
    np.testing.assert_allclose(r.loss_sum_scaled, r.loss_mean, rtol=1e-12)
    wd = sum_vs_mean(batch_size=16, weight_decay=0.01, backend="numpy")
    assert wd.bitwise_equal
    short = sum_vs_mean(batch_size=24, drop_last=False, backend="numpy")
    assert short.max_deviation > 1e-6  # the short last batch breaks the equivalence


def test_accumulation_facts(backend):
    r = accumulation(n_updates=15, backend=backend, dtype="float64")
    assert r.micro_batch_sizes == ((4, 4, 4, 4), (8, 2)) and r.cases == ("equal", "unequal")
    assert np.all(r.max_deviation_correct < 1e-12)
    assert np.all(r.first_grad_deviation_correct < 1e-14)
    assert r.max_deviation_naive[0] < 1e-12  # equal sizes: dividing by K is right
    assert r.max_deviation_naive[1] > 1e-3 and r.first_grad_deviation_naive[1] > 1e-3
    assert np.all(r.max_deviation_forgot > 1e-3)
    assert r.params_full.shape == (2, 16, 2) and r.loss_full.shape == (2, 16)
    assert all(msg is None for msgs in r.diverged.values() for msg in msgs)  # lr 0.05: stable


def test_accumulation_reports_a_finite_blow_up_with_fits_rule():
    """lr=1 without ÷ K: finite losses passing 1e20, a divergence like fit's, not silence."""
    r = accumulation(lr=1.0, n_updates=15, backend="numpy", dtype="float64")
    assert np.all(np.isfinite(r.loss_forgot)) and r.loss_forgot[0, -1] > 1e20
    assert r.diverged["full"] == r.diverged["correct"] == (None, None)
    equal, unequal = r.diverged["forgot"]
    # the first update past 1e6 times the start, counted from 1 as fit counts it
    first = int(np.flatnonzero(r.loss_forgot[0, 1:] > 1e6 * (r.loss_forgot[0, 0] + 1e-3))[0])
    assert equal.startswith("equal split 4+4+4+4: micro-batches without ÷ K diverged: ")
    assert f"update {first + 1} " in equal and "divergence_factor=1e+06" in equal
    assert "4 micro-batch means add up to 4 times" in equal and "lr=4" in equal
    assert unequal.startswith("unequal split 8+2: ") and "lr=2" in unequal


def test_regimes_facts():
    r = batch_vs_dataset(epochs=5, n_samples=200, batch_size=20, backend="numpy")
    assert r.updates_per_epoch.tolist() == [1, 10, 200]
    assert r.epoch_updates[:, -1].tolist() == [5, 50, 1000]
    assert r.epoch_loss.shape == (3, 4, 6)
    np.testing.assert_array_equal(r.epoch_loss[0, :, 0], r.epoch_loss[2, :, 0])
    # per epoch, full-batch GD makes the least progress
    assert np.all(r.epoch_loss[0, :, -1] > r.epoch_loss[1, :, -1])
    assert np.all(np.diff(r.epoch_time, axis=1) >= 0) and np.all(r.epoch_time[:, 0] == 0)
    assert [b.shape[1] for b in r.batch_loss] == [5, 50, 1000]
    assert not r.diverged.any() and r.diverged_message == (None,) * 3  # SGD noise is no blow-up


def test_train_val_overfits_and_stops_early():
    r = train_val(backend="numpy")
    h = r.history
    assert r.stopped_epoch is not None and r.stopped_epoch == r.best_epoch + r.patience
    assert r.max_epochs == 400 and len(r.full_epoch_val_loss) == 400
    # overfitting: after the best epoch validation rises while training keeps falling
    assert r.full_epoch_val_loss[-1] > 1.2 * r.epoch_val_loss[r.best_epoch]
    assert r.full_epoch_train_loss[-1] < 0.5 * r.epoch_train_loss[r.best_epoch]
    # the early-stopped run is the full run, cut at the stop
    n = h.epochs_run
    np.testing.assert_array_equal(r.epoch_val_loss, r.full_epoch_val_loss[:n])
    assert len(r.batch_epoch) == len(r.batch_loss) == n * r.updates_per_epoch
    assert r.batch_epoch[r.updates_per_epoch - 1] == 1.0
    # the restored model fits the true curve better than the overfit one
    assert np.mean(np.abs(r.fit_best - r.true_curve)) < np.mean(np.abs(r.fit_final - r.true_curve))


def _val_rise(r, window=20):
    """How far validation ends above its best: the last ``window``-epoch mean of the full
    run's validation loss over the lowest such mean (SGD's epoch-to-epoch jitter averaged)."""
    smooth = np.convolve(r.full_epoch_val_loss, np.ones(window) / window, mode="valid")
    return smooth[-1] / smooth.min()


def test_train_val_a_small_model_does_not_overfit_the_default_one_does():
    """Lesson 7 asks "fewer RBF centres: does it still overfit?"; the answer must be computed.

    5 centres are 0.5 apart and each 0.5 wide: a smooth fit near the true curve whose
    validation loss levels off near the noise variance (0.3² = 0.09). The default 40
    centres, 0.1 wide: validation rises well above its best while training keeps falling.
    """
    small = train_val(n_centers=5, backend="numpy")
    assert small.width == pytest.approx(0.5)  # one centre spacing, 2 / (5 - 1)
    assert _val_rise(small) < 1.1
    assert small.full_epoch_val_loss.min() < 1.5 * small.noise**2
    assert np.mean(np.abs(small.fit_final - small.true_curve)) < 0.15
    assert small.best_epoch > 10  # early stopping does not fire on the first epochs' jitter
    big = train_val(backend="numpy")
    assert big.n_centers == 40 and big.width == pytest.approx(0.1)
    assert _val_rise(big) > 1.2
    assert big.full_epoch_train_loss[-1] < 0.5 * big.full_epoch_train_loss[big.best_epoch]
    # a fixed width is still honoured
    assert train_val(n_centers=5, width=0.1, max_epochs=5, backend="numpy").width == 0.1


def test_train_val_divergence_is_reported():
    r = train_val(lr=500.0, max_epochs=50, backend="numpy")
    assert r.diverged is not None and "lr=50" in r.diverged


def test_train_val_at_lr_10_reports_the_finite_blow_up():
    """lr=10 makes the loss climb towards 1e300 while finite: now a divergence message."""
    r = train_val(lr=10.0, backend="numpy", dtype="float64")
    assert r.diverged == r.history.diverged
    assert r.diverged.startswith("training diverged: the training loss per example grew from")
    assert "divergence_factor=1e+06" in r.diverged and r.diverged.endswith("try lr=1.")
    assert np.all(np.isfinite(r.batch_loss)) and r.stopped_epoch is not None
    assert r.stopped_epoch <= 1 and len(r.full_epoch_train_loss) <= 1


def test_train_val_reports_a_divergence_that_comes_after_early_stopping():
    r = train_val(lr=0.62, batch_size=10, max_epochs=120, backend="numpy", dtype="float64")
    assert r.history.diverged is None and r.stopped_epoch is not None
    assert len(r.full_epoch_train_loss) < 120  # the full run diverged later
    assert r.diverged.startswith(
        f"early stopping ended training after epoch {r.stopped_epoch + 1}, before it diverged"
    )
    assert "the training loss per example grew" in r.diverged


def test_sum_at_the_same_lr_reports_its_finite_blow_up():
    r = sum_vs_mean(backend="numpy", dtype="float64")  # B=32, lr=0.05
    assert r.diverged["mean"] is None and r.diverged["sum_scaled"] is None
    msg = r.diverged["sum_same_lr"]
    assert msg.startswith("run 0 (seed 0) diverged: the training loss per example grew")
    assert "reduction='sum'" in msg and "sum at lr / 32 = 0.00156" in msg
    assert np.all(np.isfinite(r.loss_sum_same_lr))  # finite: only the new rule sees it


def test_sweep_sum_at_the_mean_lr_reports_divergence_at_large_batches():
    r = batch_size_sweep(reduction="sum", backend="numpy", dtype="float64")  # the widget's case
    assert r.batch_sizes.tolist() == [1, 4, 16, 64, 256]
    assert not r.diverged[:3].any() and r.diverged[3:].all()
    assert r.diverged_message[:3] == (None,) * 3
    for k in (3, 4):
        assert "the training loss per example grew" in r.diverged_message[k]
        assert f"batch_size={r.batch_sizes[k]}" in r.diverged_message[k]
    mean = batch_size_sweep(backend="numpy", dtype="float64")
    assert not mean.diverged.any() and mean.diverged_message == (None,) * 5


@pytest.mark.parametrize(
    ("fn", "kwargs", "exc", "fragment"),
    [
        (batch_size_sweep, {"batch_sizes": (1, 2000)}, ValueError, "contains 2000, more than"),
        (batch_size_sweep, {"batch_sizes": (0, 4)}, ValueError, "must be >= 1"),
        (batch_size_sweep, {"batch_sizes": 16}, TypeError, "sequence of ints"),
        (batch_size_sweep, {"batch_sizes": ()}, ValueError, "is empty"),
        (batch_size_sweep, {"seeds": 4}, TypeError, "list of ints"),
        (batch_size_sweep, {"seeds": [0, -1]}, ValueError, "must be >= 0"),
        (batch_size_sweep, {"lr": 0.0}, ValueError, "lr must be > 0; got 0"),
        (batch_size_sweep, {"lr": float("nan")}, ValueError, "got nan"),
        (batch_size_sweep, {"epochs": 0}, ValueError, "epochs must be >= 1"),
        (batch_size_sweep, {"reduction": "avg"}, ValueError, "reduction must be one of"),
        (batch_size_sweep, {"dtype": "float16"}, ValueError, "dtype must be"),
        (batch_size_sweep, {"backend": "nope"}, ValueError, "unknown backend"),
        (sum_vs_mean, {"batch_size": 1000}, ValueError, "batch_size must be <= 512; got 1000"),
        (sum_vs_mean, {"weight_decay": -1.0}, ValueError, "weight_decay must be >= 0"),
        (accumulation, {"unequal_sizes": (150, 100)}, ValueError, "add up to 250"),
        (accumulation, {"equal_sizes": (4, 2.5)}, TypeError, "must be an int"),
        (accumulation, {"lr": -1}, ValueError, "lr must be"),
        (accumulation, {"equal_sizes": (4, 2)}, ValueError, "equal_sizes must be micro-batches"),
        (batch_vs_dataset, {"batch_size": 0}, ValueError, "must be >= 1"),
        (batch_vs_dataset, {"batch_size": 5000}, ValueError, "batch_size must be <= 1000"),
        (batch_vs_dataset, {"seeds": []}, ValueError, "seeds is empty"),
        (train_val, {"batch_size": 16}, ValueError, "larger than the 15 training samples"),
        (train_val, {"patience": 0}, ValueError, "patience must be >= 1"),
        (train_val, {"width": 0.0}, ValueError, "width must be > 0"),
        (train_val, {"max_epochs": "10"}, TypeError, "max_epochs must be an int"),
    ],
)
def test_bad_parameters_are_explained(fn, kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        fn(**kwargs)


@pytest.mark.parametrize("name", [e.__name__ for lesson in LESSONS for e in lesson.experiments])
@pytest.mark.parametrize(
    ("seed", "exc", "fragment"),
    [
        (1.5, TypeError, "seed must be a non-negative int such as 0.*got float 1.5"),
        (True, TypeError, "got bool True"),
        ("0", TypeError, "got str '0'"),
        (-1, ValueError, r"seed must be >= 0 .*got -1"),
    ],
)
def test_every_experiment_checks_its_seed(name, seed, exc, fragment):
    """A bad seed is named by the experiment, before any work (never NumPy's SeedSequence error)."""
    fn = getattr(experiments, name)
    with pytest.raises(exc, match=f"^{name}: .*{fragment}"):
        fn(seed=seed)
