"""Summation methods: the precision lesson's facts, accuracy bounds, dtypes, devices, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from losskit.summation import (
    SUMMATION_METHODS,
    sum_float64,
    sum_kahan,
    sum_pairwise,
    sum_sequential,
)

F32_EPS = float(np.finfo(np.float32).eps)
MILLION = 1_000_000


def _ulp32(v: float) -> float:
    return float(np.spacing(np.float32(v)))


def test_methods_registry_names_and_order():
    assert list(SUMMATION_METHODS) == ["sequential", "pairwise", "kahan", "float64"]
    assert SUMMATION_METHODS["kahan"] is sum_kahan


def test_float32_one_plus_1e8_is_one(backend, to_np):
    one = backend.asarray(np.asarray([1.0], dtype=np.float32))
    tiny = backend.asarray(np.asarray([1e-8], dtype=np.float32))
    assert bool(to_np(one + tiny == one)[0])
    assert np.float32(1) + np.float32(1e-8) == np.float32(1)
    assert np.float64(1) + np.float64(1e-8) != np.float64(1)


# CuPy's, PyTorch's and JAX's prefix sums are parallel scans, not running sums
# (sum_sequential's docstring): the sequential claims hold where
# backend.adapter.sequential_scan (NumPy-based backends), which the lesson's figures use.


def test_cumulative_sum_is_a_left_to_right_running_sum(backend, to_np):
    """The claim sum_sequential rests on: bitwise equal to a scalar float32 loop
    (on a parallel scan, a tree, only as close as float32 rounding allows)."""
    host = np.random.default_rng(3).standard_normal(3000).astype(np.float32) * 100
    running = np.float32(0)
    for v in host:
        running = np.float32(running + v)
    got = to_np(sum_sequential(backend.asarray(host)))
    if not backend.adapter.sequential_scan:  # a parallel scan: a tree order
        exact = np.sum(host.astype(np.float64))
        assert abs(float(got) - exact) <= 3000 * _ulp32(np.abs(host).sum())
        return
    assert got == running
    # and it is not what a pairwise order gives on this data (the test can tell them apart)
    assert to_np(sum_pairwise(backend.asarray(host))) != running


def _one_plus_million_tiny():
    x = np.full(MILLION + 1, 1e-8, dtype=np.float32)
    x[0] = 1.0
    return x


def test_running_sum_of_one_plus_million_1e8_stays_one(backend, to_np):
    x = backend.asarray(_one_plus_million_tiny())
    exact = 1.0 + MILLION * float(np.float32(1e-8))  # exact sum of the float32 inputs
    if backend.adapter.sequential_scan:  # a running sum on NumPy-based backends only
        assert to_np(sum_sequential(x)) == np.float32(1.0)
    for f in (sum_pairwise, sum_kahan):
        got = float(to_np(f(x)))
        assert abs(got - exact) <= _ulp32(1.01), (f.__name__, got)
    got64 = to_np(sum_float64(x))
    assert got64.dtype == np.float64
    assert abs(float(got64) - exact) <= 1e-12
    assert np.float32(got64) == np.float32(1.01)


def test_million_tenths(backend, to_np):
    x_host = np.full(MILLION, 0.1, dtype=np.float32)
    x = backend.asarray(x_host)
    exact = MILLION * float(np.float32(0.1))  # 100000.0015
    if backend.adapter.sequential_scan:  # a running sum on NumPy-based backends only
        seq = float(to_np(sum_sequential(x)))
        assert seq == float(np.float32(100958.34))
        assert (seq - 1e5) / 1e5 == pytest.approx(0.0096, abs=5e-5)  # +0.96 %
    for f in (sum_pairwise, sum_kahan):
        assert abs(float(to_np(f(x))) - exact) <= _ulp32(1e5), f.__name__
    assert float(to_np(sum_float64(x))) == pytest.approx(exact, abs=1e-9)
    # NumPy's own sum along a contiguous axis is blocked pairwise: within 0.01 of 100000
    assert abs(float(np.sum(x_host)) - 1e5) <= 0.01


@pytest.mark.parametrize("name", list(SUMMATION_METHODS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_result_is_0d_in_accumulation_dtype_on_same_device(backend, to_np, name, dtype):
    x = backend.asarray(np.arange(10, dtype=dtype))
    out = SUMMATION_METHODS[name](x)
    assert out.ndim == 0
    want = backend.xp.float64 if name == "float64" else getattr(backend.xp, dtype)
    assert out.dtype == want
    assert type(out) is type(x)
    if backend.device is not None:
        assert out.device == x.device
    assert float(to_np(out)) == 45.0


@pytest.mark.parametrize("name", list(SUMMATION_METHODS))
def test_float16_input_keeps_dtype(name):
    out = SUMMATION_METHODS[name](np.ones(5, dtype=np.float16))
    assert out.dtype == (np.float64 if name == "float64" else np.float16)
    assert float(out) == 5.0


@pytest.mark.parametrize("name", list(SUMMATION_METHODS))
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 7, 8, 1025])
def test_small_and_odd_lengths(backend, to_np, name, n):
    host = np.arange(1, n + 1, dtype=np.float32)
    assert float(to_np(SUMMATION_METHODS[name](backend.asarray(host)))) == n * (n + 1) / 2


@pytest.mark.parametrize("n", [2, 17, 1000, 4097])
def test_error_bounds_on_random_data(n):
    """Textbook bounds against the exact sum (math.fsum of the float32 inputs)."""
    x = (np.random.default_rng(n).random(n) * 2 - 1).astype(np.float32) + np.float32(0.3)
    exact = math.fsum(float(v) for v in x)
    abs_sum = float(np.sum(np.abs(x.astype(np.float64))))
    eps = F32_EPS / 2  # unit roundoff
    err_pair = abs(float(sum_pairwise(x)) - exact)
    assert err_pair <= math.ceil(math.log2(n)) * eps * abs_sum * 1.01
    err_kahan = abs(float(sum_kahan(x)) - exact)
    assert err_kahan <= 2 * eps * abs(exact) + 4 * n * eps**2 * abs_sum
    assert abs(float(sum_float64(x)) - exact) <= 1e-12 * abs_sum


@pytest.mark.parametrize("lanes", [1, 2, 7, 1000, 10**6, 2 * 10**6])
def test_kahan_lane_counts_all_compensate(lanes):
    """lanes=1 is the scalar Kahan loop; lanes >= n is one row, two_sum tree only.

    Few lanes mean many rows of the Python loop, so those cases use 20,000 tiny values.
    """
    n_tiny = 20_000 if lanes < 100 else MILLION
    x = _one_plus_million_tiny()[: n_tiny + 1]
    exact = 1.0 + n_tiny * float(np.float32(1e-8))
    assert abs(float(sum_kahan(x, lanes=lanes)) - exact) <= _ulp32(exact)


@pytest.mark.parametrize(
    ("lanes", "exc", "fragment"),
    [
        (0, ValueError, "lanes must be >= 1; got 0"),
        (-3, ValueError, "lanes must be >= 1; got -3"),
        (2.5, TypeError, "lanes must be an int; got float 2.5"),
        (True, TypeError, "lanes must be an int; got bool"),
        ("8", TypeError, "lanes must be an int; got str"),
    ],
)
def test_kahan_bad_lanes(lanes, exc, fragment):
    with pytest.raises(exc, match=fragment):
        sum_kahan(np.ones(4, dtype=np.float32), lanes=lanes)


@given(
    hnp.arrays(
        np.float32,
        st.integers(0, 600),
        elements=st.integers(-1000, 1000).map(np.float32),
    )
)
def test_integer_valued_float32_sums_are_exact_for_every_method(x):
    exact = int(np.sum(x.astype(np.int64)))  # |partial sums| < 2**24: every method is exact
    for name, f in SUMMATION_METHODS.items():
        assert float(f(x)) == exact, name


@pytest.mark.parametrize("name", list(SUMMATION_METHODS))
def test_bad_inputs_raise_clear_errors(name):
    f = SUMMATION_METHODS[name]
    with pytest.raises(TypeError, match="expected an array"):
        f([1.0, 2.0])
    with pytest.raises(TypeError, match="real floating"):
        f(np.arange(4))
    with pytest.raises(ValueError, match="1-D"):
        f(np.ones((2, 2)))
    with pytest.raises(ValueError, match="1-D"):
        f(np.ones((), dtype=np.float32))


def test_kahan_keeps_a_finite_exact_sum_whose_plain_sum_overflows():
    x = np.array([3.4e38, 3.4e38, -3.4e38, -3.4e38], dtype=np.float32)
    with np.errstate(over="ignore"):
        assert np.isinf(np.add.reduce(x[[0, 1, 2, 3]]))  # left to right: inf first
    assert float(sum_kahan(x)) == 0.0


@pytest.mark.parametrize("name", list(SUMMATION_METHODS))
def test_inf_and_nan_propagate_like_a_plain_sum(name):
    """Kahan's compensation must not turn inf into NaN (it computes inf - inf)."""
    f = SUMMATION_METHODS[name]
    assert float(f(np.array([np.inf, 1.0, 2.0]))) == np.inf
    assert float(f(np.array([1.0, -np.inf] * 5))) == -np.inf
    assert np.isnan(float(f(np.array([np.nan, 1.0, 2.0]))))
    with np.errstate(over="ignore"):
        assert float(f(np.full(64, 6e4, dtype=np.float16))) == (
            np.inf if name != "float64" else 64 * 6e4
        )
