"""Every example of issue 15 ('an API that answers every input clearly') gives a clear error."""

import re

import numpy as np
import pytest

import losskit as lk
from losskit import experiments as ex
from losskit._arraycheck import NonFiniteWarning
from losskit.data import load_digits, make_blobs, make_linear_regression
from losskit.vectorized import fit_runs

X, Y = np.ones((4, 2)), np.ones((4, 1))


def _runs(**kw):
    args = dict(batch_size=2, lr=0.1, epochs=1, seeds=[0])
    args.update(kw)
    make = args.pop("make", lambda s: lk.LinearRegression(2, seed=s))
    return fit_runs(make, lk.MSELoss(), X, Y, **args)


class _FakeSeries:  # what pandas.Series looks like to losskit (pandas is not a dependency)
    shape, dtype = (2,), np.dtype(float)


_FakeSeries.__module__ = "pandas.core.series"
_FakeSeries.__name__ = "Series"
_P32 = {"w": np.ones(2, dtype=np.float32)}

CASES = [
    # sizes and counts: checked before any allocation or loop
    (lambda: lk.MLP(10**12, 4), ValueError, "n_features|budget"),
    (lambda: make_linear_regression(2**63), ValueError, "GiB.*budget"),
    (lambda: make_blobs(n_classes=2**63), ValueError, "n_classes must be <= 300"),
    (lambda: ex.batch_vs_dataset(epochs=10**12), ValueError, "budget|reasonable time"),
    (lambda: ex.gradient_noise(n_draws=2**63), ValueError, "n_draws.*reasonable time"),
    (lambda: _runs(epochs=10**12), ValueError, "sample orders.*budget"),
    (lambda: _runs(seeds=range(10**5)), ValueError, "number of seeds must be <= 10000"),
    # dtypes
    (lambda: make_linear_regression(10, dtype="banana"), ValueError, "dtype must be 'float32'"),
    (lambda: make_linear_regression(10, dtype=object), ValueError, "dtype must be"),
    (lambda: make_linear_regression(10, dtype="int64"), ValueError, "floating-point"),
    (lambda: make_linear_regression(10, dtype=bool), ValueError, "dtype must be"),
    # optimizer arguments
    (lambda: lk.SGD(0.1).step(None, {}), TypeError, "params must be a dict"),
    (lambda: lk.SGD(0.1).step(dict(_P32), {"w": [1.0, 1.0]}), TypeError, r"grads\['w'\]"),
    (lambda: lk.SGD(0.1).step(dict(_P32), {"w": np.ones(2)}), TypeError, "dtype float64"),
    # training arguments
    (lambda: _runs(orders=np.zeros((1, 1, 4), dtype=np.int64)), ValueError, "permutation"),
    (lambda: _runs(make=lambda s: None), TypeError, "make_model.*returned NoneType"),
    # options and flags
    (lambda: lk.MSELoss(reduction=np.array(["mean"])), TypeError, "one of the strings"),
    (lambda: lk.MSELoss(reduction=["mean"]), TypeError, "one of the strings"),
    (lambda: lk.MLP(2, 3, activation=np.array(["tanh"])), TypeError, "activation"),
    (lambda: lk.MLP(2, 3, activation=["tanh"]), TypeError, "activation"),
    (lambda: lk.logsumexp(np.ones((2, 3)), keepdims="no"), TypeError, "keepdims"),
    (lambda: lk.EarlyStopping(restore_best="no"), TypeError, "restore_best"),
    (
        lambda: lk.fit(
            lk.LinearRegression(2),
            lk.MSELoss(),
            X,
            Y,
            batch_size=2,
            lr=0.1,
            epochs=1,
            progress="no",
        ),
        TypeError,
        "progress",
    ),
    (lambda: make_linear_regression(10, return_coef="no"), TypeError, "return_coef"),
    (lambda: load_digits(scale="no"), TypeError, "scale"),
    (lambda: lk.CrossEntropyLoss(ignore_index=True), TypeError, "ignore_index"),
    (lambda: lk.BatchLoader(X, Y, batch_size=np.array([3])), TypeError, "batch_size"),
    (lambda: lk.EarlyStopping().update(0, None, {}), TypeError, "value"),
    # model backward
    (lambda: lk.LinearRegression(2).backward(X, np.ones((4, 3))), ValueError, "grad_output"),
    (lambda: lk.MLP(2, 3).backward(X, np.ones((5, 1))), ValueError, "grad_output"),
    (lambda: lk.LogisticRegression(2).backward(X, np.ones((4, 1))), ValueError, "grad_output"),
    # array kinds
    (
        lambda: lk.MSELoss()(np.matrix([[1.0, 2.0]]), np.matrix([[0.0, 0.0]])),
        TypeError,
        "numpy.matrix.*numpy.asarray",
    ),
    (lambda: lk.logsumexp(np.matrix([[1.0, 2.0]])), TypeError, "numpy.matrix"),
    (
        lambda: lk.MSELoss()(np.ma.array([1.0, 2.0], mask=[0, 1]), np.zeros(2)),
        TypeError,
        "masked array.*filled",
    ),
    (lambda: lk.log_softmax(np.ma.array([1.0, 2.0], mask=[0, 1])), TypeError, "masked"),
    (lambda: lk.summation.sum_pairwise(np.ma.array([1.0, 2.0], mask=[0, 1])), TypeError, "masked"),
    (lambda: lk.MSELoss()(_FakeSeries(), np.zeros(2)), TypeError, "pandas Series.*to_numpy"),
    (lambda: lk.MSELoss()(np.zeros(2), [1.0, 2.0]), TypeError, "target: expected an array"),
    (lambda: lk.MSELoss()([1.0, 2.0], np.zeros(2)), TypeError, "input: expected an array"),
]


@pytest.mark.parametrize(("call", "exc", "pattern"), CASES)
def test_issue_15_examples_raise_a_clear_error(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_adam_eps_zero_takes_a_zero_step_for_a_zero_gradient():
    params = {"w": np.ones(3, dtype=np.float32)}
    out = lk.Adam(0.1, eps=0.0).step(params, {"w": np.array([0.0, 1.0, -1.0], np.float32)})
    np.testing.assert_allclose(out["w"], [1.0, 0.9, 1.1], rtol=1e-6)
    assert out["w"].dtype == np.float32


def test_sgd_keeps_the_parameters_library_and_dtype():
    torch = pytest.importorskip("torch")
    params = {"w": torch.ones(2, dtype=torch.float32)}
    out = lk.SGD(0.5).step(params, {"w": torch.ones(2, dtype=torch.float32)})
    assert isinstance(out["w"], torch.Tensor) and out["w"].dtype == torch.float32
    with pytest.raises(TypeError, match="different libraries"):
        lk.SGD(0.5).step({"w": np.ones(2)}, {"w": torch.ones(2, dtype=torch.float64)})


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda: lk.MSELoss()(np.float16([300.0]), np.float16([0.0])), "loss.*float16"),
        (lambda: lk.MSELoss()(np.array([1e308]), np.array([-1e308])), "loss.*float64"),
        (lambda: lk.BCELoss().grad(np.float16([1e-7]), np.float16([1.0])), "gradient.*float16"),
    ],
)
def test_finite_input_non_finite_result_gets_one_losskit_warning(call, what):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call()
    assert not np.all(np.isfinite(out))
    assert [type(w.message) for w in caught] == [NonFiniteWarning]  # no NumPy RuntimeWarning
    assert re.search(what, str(caught[0].message))


@pytest.mark.parametrize(("w", "what"), [(1e300, "overflow to inf"), (1e-300, "underflow to 0")])
def test_weight_cast_says_the_callers_values_were_finite(w, what):
    loss = lk.CrossEntropyLoss(weight=np.array([w, w]))
    with pytest.raises(ValueError, match=f"finite as given.*float32.*{what}"):
        loss(np.zeros((2, 2), dtype=np.float32), np.array([0, 1]))


def test_generators_refuse_noise_that_would_overflow():
    with pytest.raises(ValueError, match="noise must be <= 1e"):
        lk.data.make_sine(10, noise=1e308)
    with pytest.raises(ValueError, match="spread must be <= 1e"):
        make_blobs(spread=1e308)


@pytest.mark.parametrize("ignore_index", [0, 2])
def test_probability_target_with_ignore_index_is_refused_like_torch(ignore_index):
    loss = lk.CrossEntropyLoss(ignore_index=ignore_index)
    with pytest.raises(ValueError, match="class-index targets only"):
        loss(np.zeros((2, 3)), np.full((2, 3), 1 / 3))
    kept = lk.CrossEntropyLoss(ignore_index=-1)(np.zeros((2, 3)), np.full((2, 3), 1 / 3))
    assert float(kept) == pytest.approx(np.log(3.0), rel=1e-12)  # torch: 1.0986
