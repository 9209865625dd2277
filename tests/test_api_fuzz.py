"""Fuzz of the public API (issue 15): odd values in every argument get a clear answer.

For each call: only ``ValueError``/``TypeError`` raised by losskit's own code, no input
mutated, no non-finite loss from finite inputs without a losskit warning, and no call
over a few seconds (Hypothesis' deadline). Deterministic and bounded for CI.
"""

import traceback
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losskit as lk
from losskit._arraycheck import NonFiniteWarning

FUZZ = settings(
    max_examples=800,
    derandomize=True,
    deadline=3000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_DTYPES = [np.float16, np.float32, np.float64, np.int64, np.bool_, np.uint8]
_shapes = st.sampled_from([(), (0,), (3,), (3, 1), (3, 2), (2, 3), (3, 2, 2)])


@st.composite
def _arrays(draw):
    shape, dtype = draw(_shapes), draw(st.sampled_from(_DTYPES))
    scale = draw(st.sampled_from([1.0, 1e-300, 1e4, 1e300]))
    values = np.random.default_rng(draw(st.integers(0, 9))).standard_normal(shape) * scale
    with np.errstate(all="ignore"):
        arr = values.astype(dtype)
    kind = draw(st.sampled_from(["plain", "plain", "matrix", "masked", "list"]))
    if kind == "matrix" and arr.ndim == 2:
        with warnings.catch_warnings():  # np.matrix's own PendingDeprecationWarning
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return np.asmatrix(arr)
    if kind == "masked":
        return np.ma.array(arr)
    return arr.tolist() if kind == "list" else arr


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 3, -1, 10**12, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["mean", "sum", "none", "tanh", "relu", "float32", "banana", "", "no"]),
    st.just(["mean"]),
    st.just({}),
)
_values = st.one_of(_scalars, _arrays())

LOSSES = [
    lk.MSELoss,
    lk.L1Loss,
    lk.HuberLoss,
    lk.CrossEntropyLoss,
    lk.BCELoss,
    lk.BCEWithLogitsLoss,
]
CALLS = {
    "logsumexp": lambda a, b, c: lk.logsumexp(a, axis=b, keepdims=c),
    "log_softmax": lambda a, b, c: lk.log_softmax(a, axis=b),
    "softmax": lambda a, b, c: lk.softmax(a, axis=b),
    "MLP": lambda a, b, c: lk.MLP(a, b, activation=c),
    "LinearRegression": lambda a, b, c: lk.LinearRegression(a, b, dtype=c),
    "SoftmaxRegression": lambda a, b, c: lk.SoftmaxRegression(a, b, seed=c),
    "make_linear_regression": lambda a, b, c: lk.data.make_linear_regression(a, b, noise=c),
    "make_blobs": lambda a, b, c: lk.data.make_blobs(a, b, spread=c),
    "make_moons": lambda a, b, c: lk.data.make_moons(a, noise=b, dtype=c),
    "SGD": lambda a, b, c: lk.SGD(a, momentum=b, weight_decay=c),
    "Adam": lambda a, b, c: lk.Adam(a, betas=b, eps=c),
    "SGD.step": lambda a, b, c: lk.SGD(0.1).step({"w": np.ones(3)}, {"w": a}),
    "EarlyStopping": lambda a, b, c: lk.EarlyStopping(a, b, c),
    "BatchLoader": lambda a, b, c: lk.BatchLoader(a, b, batch_size=c),
}


def _snapshot(values):
    return [np.array(v, copy=True) if isinstance(v, np.ndarray) else v for v in values]


def _call(fn, args):
    """Run ``fn(*args)``: its result, and the issue-15 contract checked on the way."""
    before = _snapshot(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn(*args)
        except (ValueError, TypeError) as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            assert "/losskit/" in frame.filename, f"{type(exc).__name__} from {frame}: {exc}"
            out = None
        except Exception as exc:  # noqa: BLE001 - anything else is the bug we look for
            pytest.fail(f"{type(exc).__name__} (not ValueError/TypeError): {exc}")
    for a, b in zip(args, before, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg="input mutated")
    numpy_warnings = [w for w in caught if type(w.message) is RuntimeWarning]
    assert not numpy_warnings, f"NumPy warning reached the user: {numpy_warnings[0].message}"
    return out, caught


@FUZZ
@given(st.sampled_from(LOSSES), _scalars, _arrays(), _arrays())
def test_losses_answer_every_input(loss_cls, option, x, t):
    loss, _ = _call(lambda o: loss_cls(reduction=o), [option])
    loss = loss or loss_cls()
    out, caught = _call(loss.value_and_grad, [x, t])
    if out is not None and all(np.all(np.isfinite(np.asarray(a, dtype=float))) for a in (x, t)):
        finite = all(np.all(np.isfinite(np.asarray(o, dtype=float))) for o in out)
        warned = any(issubclass(w.category, NonFiniteWarning | UserWarning) for w in caught)
        assert finite or warned, "non-finite result from finite input, no losskit warning"


@FUZZ
@given(st.sampled_from(sorted(CALLS)), _values, _values, _values)
def test_public_callables_answer_every_input(name, a, b, c):
    """Each call returns or raises losskit's own ValueError/TypeError (checked in ``_call``);
    a returned array from finite inputs is finite, or a losskit warning said why."""
    out, caught = _call(CALLS[name], [a, b, c])
    arrays = [o for o in (out if isinstance(out, tuple) else (out,)) if isinstance(o, np.ndarray)]
    inputs = [v for v in (a, b, c) if isinstance(v, np.ndarray) and v.dtype.kind == "f"]
    if arrays and all(np.isfinite(v).all() for v in inputs):
        finite = all(np.isfinite(o).all() for o in arrays if o.dtype.kind in "fc")
        warned = any(issubclass(w.category, NonFiniteWarning | UserWarning) for w in caught)
        assert finite or warned, f"{name}: non-finite result from finite input, no warning"
