"""Issue 15 item 1: counts and sizes beyond what a lesson can run fail at once, naming the
argument (no hang, no MemoryError from NumPy); flags are real bools; experiments' own
overflow is one losskit NonFiniteWarning, never NumPy's RuntimeWarning."""

import warnings

import numpy as np
import pytest

import losskit
from losskit import LinearRegression, MSELoss, NonFiniteWarning, experiments, fit, fit_runs
from losskit.experiments.gradient_noise import default_batch_sizes
from losskit.experiments.lse_overflow import default_scales, threshold_scale
from losskit.experiments.train_val import rbf_width

X = np.linspace(-1, 1, 64).reshape(32, 2)
Y = X[:, :1].copy()


def _fit(**kw):
    return fit(LinearRegression(2, backend="numpy"), MSELoss(), X, Y, batch_size=8, lr=0.05, **kw)


def _fit_runs(**kw):
    return fit_runs(
        lambda s: LinearRegression(2, seed=s, backend="numpy"),
        MSELoss(),
        X,
        Y,
        seeds=[0, 1],
        batch_size=8,
        lr=0.05,
        **kw,
    )


CASES = [
    (_fit, {"epochs": 10**12}, ValueError, "epochs"),
    (_fit, {"epochs": 2**63}, ValueError, "epochs"),
    (_fit_runs, {"epochs": 10**12}, ValueError, "epochs"),
    (experiments.batch_size_sweep, {"epochs": 10**12}, ValueError, "epochs"),
    (experiments.batch_size_sweep, {"progress": "no"}, TypeError, "progress"),
    (experiments.batch_size_sweep, {"progress": None}, TypeError, "progress"),
    (experiments.sum_vs_mean, {"epochs": 10**12}, ValueError, "epochs"),
    (experiments.train_val, {"max_epochs": 10**12}, ValueError, "max_epochs"),
    (experiments.train_val, {"n_centers": 10**12}, ValueError, "n_centers"),
    (experiments.reductions, {"n_samples": 10**12}, ValueError, "n_samples"),
    (experiments.reductions, {"n_draws": 10**12}, ValueError, "n_draws"),
    (experiments.reductions, {"n_features": 10**12}, ValueError, "n_features"),
    (experiments.summation_precision, {"n_values": range(1, 10**6)}, ValueError, "n_values"),
    (experiments.summation_precision, {"small": 1e308}, ValueError, "small"),
    (experiments.summation_precision, {"value": 1e308}, ValueError, "value"),
    (_fit_runs, {"fused": "no", "epochs": 2}, TypeError, "fused"),
    (_fit_runs, {"fused": 1, "epochs": 2}, TypeError, "fused"),
    (_fit_runs, {"fused": np.array([True]), "epochs": 2}, TypeError, "fused"),
    (experiments.gradient_noise, {"noise": 1e308}, ValueError, "noise"),
    (experiments.gradient_noise, {"noise": 1e7}, ValueError, "noise"),
    (experiments.batch_size_sweep, {"noise": 1e308}, ValueError, "batch_size_sweep: noise"),
    (experiments.sum_vs_mean, {"noise": 1e308}, ValueError, "sum_vs_mean: noise"),
    (experiments.batch_vs_dataset, {"noise": 1e308}, ValueError, "batch_vs_dataset: noise"),
    (experiments.accumulation, {"noise": 1e308}, ValueError, "accumulation: noise"),
    (experiments.train_val, {"noise": 1e308}, ValueError, "train_val: noise"),
    (experiments.lse_overflow, {"dtypes": 5}, TypeError, "dtypes"),
    (experiments.lse_overflow, {"dtypes": [np.float32]}, TypeError, "dtypes"),
    (experiments.lse_overflow, {"dtypes": ["int8"]}, ValueError, "dtype"),
    (experiments.lse_overflow, {"pattern": np.ones(10**7)}, ValueError, "pattern"),
    (experiments.lse_overflow, {"pattern": range(10**12)}, ValueError, "pattern"),
    (experiments.lse_overflow, {"pattern": 5}, TypeError, "pattern"),
    (experiments.lse_overflow, {"scales": range(10**12)}, ValueError, "scales"),
    (experiments.lse_overflow, {"pattern": (1e300, 2e300)}, ValueError, "logit"),
]


@pytest.mark.parametrize(
    ("func", "kwargs", "exc", "name"), CASES, ids=[f"{f.__name__}-{k}" for f, k, *_ in CASES]
)
def test_refused_naming_the_argument(func, kwargs, exc, name):
    if func not in (_fit, _fit_runs, experiments.summation_precision):
        kwargs = {"backend": "numpy", **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # refused before any NumPy overflow
        with pytest.raises(exc, match=name):
            func(**kwargs)


HELPERS = [
    (default_batch_sizes, (0,), ValueError, "n_samples"),
    (default_batch_sizes, (10.0,), TypeError, "n_samples"),
    (default_batch_sizes, (2**63,), ValueError, "n_samples"),
    (default_batch_sizes, (100, 10**9), ValueError, "count"),
    (default_batch_sizes, (100, 0), ValueError, "count"),
    (rbf_width, (None,), TypeError, "n_centers"),
    (rbf_width, (0,), ValueError, "n_centers"),
    (rbf_width, (2.5,), TypeError, "n_centers"),
    (threshold_scale, ((1, 2), 5), TypeError, "dtype"),
    (threshold_scale, ((1, 2), "int8"), ValueError, "dtype"),
    (threshold_scale, ("ab", "float32"), TypeError, "pattern"),
    (threshold_scale, ([1.0, np.nan], "float32"), ValueError, "pattern"),
    (threshold_scale, (np.ones(10**6), "float32"), ValueError, "pattern"),
    (default_scales, ((1, 2), None), TypeError, "dtypes"),
    (default_scales, ((1, 2), ["float8"]), ValueError, "dtype"),
    (default_scales, (None,), TypeError, "pattern"),
]


@pytest.mark.parametrize(
    ("func", "args", "exc", "name"),
    HELPERS,
    ids=[f"{f.__name__}-{i}" for i, (f, *_) in enumerate(HELPERS)],
)
def test_helpers_check_their_arguments(func, args, exc, name):
    with pytest.raises(exc, match=f"{func.__name__}: .*{name}"):
        func(*args)


def test_helpers_still_answer_valid_input():
    assert default_batch_sizes(1000).tolist() == [
        1,
        2,
        3,
        6,
        10,
        18,
        32,
        56,
        100,
        178,
        316,
        562,
        1000,
    ]
    assert default_batch_sizes(7, 1).tolist() == [1]
    assert default_batch_sizes(np.int64(50), 3).tolist() == [1, 7, 50]
    assert rbf_width(1) == 2.0 and rbf_width(np.int32(3)) == 1.0 and rbf_width(100) == 0.1
    assert threshold_scale([1.0, 2.0, 3.0], "float32") == pytest.approx(88.72283 / 3, rel=1e-6)
    assert np.isnan(threshold_scale([-1.0, -2.0], "float64"))
    assert default_scales((1.0, 2.0, 3.0), "float16").size > 41


def test_nonfinite_warning_is_exported():
    assert "NonFiniteWarning" in losskit.__all__
    assert issubclass(losskit.NonFiniteWarning, RuntimeWarning)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_noise_largest_noise_is_finite_without_numpy_warnings(dtype):
    """At the largest accepted noise (1e6) nothing overflows, even in float32 near w*."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = experiments.gradient_noise(
            noise=1e6, progress=1.0, n_samples=200, n_draws=20, dtype=dtype, backend="numpy"
        )
    for a in (r.measured_variance, r.theory_variance, r.with_replacement_measured):
        assert np.all(np.isfinite(a))
    assert np.isfinite(r.trace_sigma) and np.isfinite(r.noise_scale)


def test_fit_runs_fused_accepts_real_bools():
    a = _fit_runs(fused=False, epochs=2)
    b = _fit_runs(fused=np.True_, epochs=2)
    c = _fit_runs(fused=None, epochs=2)
    np.testing.assert_allclose(a.epoch_train_loss, b.epoch_train_loss, rtol=1e-6)
    np.testing.assert_allclose(b.epoch_train_loss, c.epoch_train_loss, rtol=0)


def test_float16_sum_overflow_is_one_losskit_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = experiments.summation_precision(dtype="float16", n_values=(100, 10**6))
    kinds = {type(w.message) for w in caught}
    assert kinds == {NonFiniteWarning}, [str(w.message) for w in caught]
    assert "float16" in str(caught[0].message)
    assert np.isinf(r.results).any()
