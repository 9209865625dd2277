"""Issue 15 item 1: counts and sizes beyond what a lesson can run fail at once, naming the
argument (no hang, no MemoryError from NumPy); flags are real bools; experiments' own
overflow is one losskit NonFiniteWarning, never NumPy's RuntimeWarning."""

import warnings

import numpy as np
import pytest

from losskit import LinearRegression, MSELoss, experiments, fit, fit_runs
from losskit._arraycheck import NonFiniteWarning

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
]


@pytest.mark.parametrize(
    ("func", "kwargs", "exc", "name"), CASES, ids=[f"{f.__name__}-{k}" for f, k, *_ in CASES]
)
def test_refused_naming_the_argument(func, kwargs, exc, name):
    if func in (experiments.batch_size_sweep, experiments.sum_vs_mean, experiments.reductions):
        kwargs = {"backend": "numpy", **kwargs}
    with pytest.raises(exc, match=name):
        func(**kwargs)


def test_float16_sum_overflow_is_one_losskit_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = experiments.summation_precision(dtype="float16", n_values=(100, 10**6))
    kinds = {type(w.message) for w in caught}
    assert kinds == {NonFiniteWarning}, [str(w.message) for w in caught]
    assert "float16" in str(caught[0].message)
    assert np.isinf(r.results).any()
