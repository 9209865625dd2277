"""losskit.numerics: stable log-sum-exp family, its edge cases, streaming, properties, errors."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from losskit.numerics import (
    log_softmax,
    logsumexp,
    naive_log_softmax,
    naive_softmax,
    sigmoid,
    softmax,
    streaming_logsumexp,
)

STABLE = (logsumexp, log_softmax, softmax)
ALL = (*STABLE, naive_softmax, naive_log_softmax)


def _ref_logsumexp(x, axis):
    """Float64 host reference (exact enough for float32 inputs; float64 checked against torch)."""
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)), axis=axis)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_stable_functions_along_any_axis(backend, to_np, rng, axis):
    host = rng.standard_normal((3, 4, 5)) * 30
    x = backend.asarray(host, dtype=backend.xp.float64)
    ref = _ref_logsumexp(host, axis)
    got = to_np(logsumexp(x, axis=axis))
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(
        to_np(logsumexp(x, axis=axis, keepdims=True)), np.expand_dims(ref, axis), rtol=1e-13
    )
    logp = to_np(log_softmax(x, axis=axis))
    np.testing.assert_allclose(logp, host - np.expand_dims(ref, axis), rtol=1e-12, atol=1e-12)
    p = to_np(softmax(x, axis=axis))
    np.testing.assert_allclose(p, np.exp(logp), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(np.sum(p, axis=axis), 1.0, rtol=1e-14)


def test_matches_naive_where_naive_is_safe(backend, to_np, rng):
    x = backend.asarray(rng.standard_normal((6, 7)), dtype=backend.xp.float64)
    np.testing.assert_allclose(to_np(softmax(x)), to_np(naive_softmax(x)), rtol=1e-14)
    np.testing.assert_allclose(to_np(log_softmax(x)), to_np(naive_log_softmax(x)), atol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_dtype_and_device_preserved(backend, dtype, fn):
    x = backend.asarray(np.linspace(-3, 3, 12).reshape(3, 4), dtype=getattr(backend.xp, dtype))
    out = fn(x)
    assert out.dtype == x.dtype
    assert type(out) is type(x)
    if backend.device is not None:
        assert out.device == x.device


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_float16_preserved_and_accurate(fn):
    x = np.linspace(-3, 3, 12, dtype=np.float16).reshape(3, 4)
    out = fn(x)
    assert out.dtype == np.float16
    ref = {
        logsumexp: _ref_logsumexp(x, -1),
        log_softmax: x - _ref_logsumexp(x, -1)[:, None],
        naive_log_softmax: x - _ref_logsumexp(x, -1)[:, None],
    }.get(fn)
    if ref is None:
        ref = np.exp(x.astype(np.float64) - _ref_logsumexp(x, -1)[:, None])
    np.testing.assert_allclose(out.astype(np.float64), ref, rtol=4e-3, atol=4e-3)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("axis", [0, 1])
def test_float16_sums_in_float32_along_any_axis_and_layout(order, axis):
    """A float16 running sum stalls at 2048; the stable functions accumulate in float32."""
    n = 4096
    x = np.zeros((3, n) if axis == 1 else (n, 3), dtype=np.float16, order=order)
    np.testing.assert_allclose(logsumexp(x, axis=axis).astype(np.float64), np.log(n), rtol=1e-3)
    np.testing.assert_allclose(
        streaming_logsumexp(np.moveaxis(x, axis, -1), 1000), np.log(n), rtol=1e-3
    )
    p = softmax(x, axis=axis)
    assert p.dtype == np.float16
    np.testing.assert_allclose(np.sum(p.astype(np.float64), axis=axis), 1.0, rtol=1e-3)
    np.testing.assert_allclose(log_softmax(x, axis=axis).astype(np.float64), -np.log(n), rtol=1e-3)


def test_empty_axis_is_an_empty_sum(backend, to_np):
    """log of an empty sum is -inf (as PyTorch gives); softmax over no classes is empty."""
    x = backend.asarray(np.zeros((2, 0)), backend.xp.float32)
    np.testing.assert_array_equal(to_np(logsumexp(x)), [-np.inf, -np.inf])
    np.testing.assert_array_equal(to_np(streaming_logsumexp(x)), [-np.inf, -np.inf])
    assert to_np(logsumexp(x, keepdims=True)).shape == (2, 1)
    assert to_np(softmax(x)).shape == (2, 0) and to_np(log_softmax(x)).shape == (2, 0)
    assert to_np(logsumexp(x, axis=0)).shape == (0,)


@pytest.mark.parametrize("fn", STABLE, ids=lambda f: f.__name__)
def test_numpy_integer_axis_accepted(fn):
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(fn(x, axis=np.int64(0)), fn(x, axis=0))


def test_minus_inf_entries_get_probability_zero(backend, to_np):
    xp = backend.xp
    x = backend.asarray(np.array([[-np.inf, 0.0, np.log(3.0)], [1.0, -np.inf, 1.0]]), xp.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = to_np(softmax(x))
        logp = to_np(log_softmax(x))
        lse = to_np(logsumexp(x))
    np.testing.assert_allclose(p, [[0.0, 0.25, 0.75], [0.5, 0.0, 0.5]], rtol=1e-15)
    assert logp[0, 0] == -np.inf and logp[1, 1] == -np.inf
    np.testing.assert_allclose(logp[0, 1:], np.log([0.25, 0.75]), rtol=1e-14)
    np.testing.assert_allclose(lse, [np.log(4.0), 1.0 + np.log(2.0)], rtol=1e-15)


def test_all_minus_inf_row_is_documented_nan(backend, to_np):
    """logsumexp of an all -inf slice is -inf; softmax/log_softmax have no distribution: NaN."""
    x = backend.asarray(
        np.array([[-np.inf, -np.inf, -np.inf], [0.0, 0.0, 0.0]]), backend.xp.float32
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning leaks out for the intended -inf/NaN
        lse = to_np(logsumexp(x))
        p = to_np(softmax(x))
        logp = to_np(log_softmax(x))
        s_lse = to_np(streaming_logsumexp(x, chunk_size=2))
    assert lse[0] == -np.inf
    assert np.all(np.isnan(p[0])) and np.all(np.isnan(logp[0]))
    np.testing.assert_allclose(p[1], 1 / 3, rtol=1e-6)
    np.testing.assert_allclose(lse[1], np.log(3.0), rtol=1e-6)
    assert s_lse[0] == -np.inf
    np.testing.assert_allclose(s_lse[1], np.log(3.0), rtol=1e-6)


def test_plus_inf_entry(backend, to_np):
    """As PyTorch: logsumexp is inf; softmax/log_softmax are NaN on the whole slice (inf/inf)."""
    x = backend.asarray(np.array([[0.0, np.inf, 1.0], [0.0, 1.0, 2.0]]), backend.xp.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the intended inf/NaN leak no RuntimeWarning
        np.testing.assert_array_equal(to_np(logsumexp(x))[0], np.inf)
        assert to_np(streaming_logsumexp(x, chunk_size=1))[0] == np.inf
        for fn in (softmax, log_softmax):
            got = to_np(fn(x))
            assert np.isnan(got[0]).all(), (fn.__name__, got)
            assert np.isfinite(got[1]).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_softmax_keeps_precision_on_large_logits(backend, to_np, dtype):
    """Shift invariance to the dtype's precision near 0, not to the spacing of the logits.

    ``x - logsumexp(x)`` would round to ulp(2e4) = 2e-3 in float32 (ulp(1e12) = 1.2e-4 in
    float64); subtracting the max first keeps the small differences exact. PyTorch and
    SciPy agree with the exact value.
    """
    offsets = np.array([[0.0, 1.0, -1.0]])
    big = {"float32": 2e4, "float64": 1e12}[dtype]
    x = backend.asarray(offsets + big, dtype=getattr(backend.xp, dtype))
    expected = offsets - np.log(np.sum(np.exp(offsets)))  # -[1.4076, 0.4076, 2.4076]
    tol = {"float32": 1e-6, "float64": 1e-15}[dtype]
    np.testing.assert_allclose(to_np(log_softmax(x)), expected, rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_streaming_equals_logsumexp_for_random_chunk_sizes(backend, to_np, rng, dtype):
    xp = backend.xp
    n_classes = 37
    host = rng.standard_normal((5, n_classes)) * 50
    host[1, :20] = -np.inf  # -inf blocks before finite ones
    host[2, :] = -np.inf  # a whole row
    host[3, 30:] = 400.0  # the max arrives late, in the last chunk
    x = backend.asarray(host, dtype=getattr(xp, dtype))
    want = to_np(logsumexp(x))
    chunks = sorted({1, 2, n_classes - 1, n_classes, n_classes + 5, 4096, *rng.integers(1, 40, 6)})
    tol = 1e-13 if dtype == "float64" else 2e-6
    for chunk in chunks:
        got = to_np(streaming_logsumexp(x, chunk_size=int(chunk)))
        assert got.dtype == want.dtype
        assert got[2] == -np.inf
        np.testing.assert_allclose(got, want, rtol=tol, err_msg=f"chunk_size={chunk}")
        kept = streaming_logsumexp(x, chunk_size=int(chunk), keepdims=True)
        assert tuple(kept.shape) == (5, 1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_streaming_split_is_softmax_shift_and_normaliser(backend, to_np, dtype):
    """``split=True``: ``(m, log s)`` with ``softmax = exp(x - m) / s``, exact near the max
    even for large logits (``lse - x`` would round to the spacing of 2e4); +inf rows have
    no softmax (log s NaN, as softmax is NaN there); all -inf rows keep m = 0."""
    xp = backend.xp
    offsets = np.array([0.0, 1.0, -1.0, 0.5])
    host = np.stack([offsets + 2e4, offsets, np.full(4, -np.inf), [0.0, np.inf, 1.0, 2.0]])
    x = backend.asarray(host, dtype=getattr(xp, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the intended NaN/-inf leak no RuntimeWarning
        m, log_s = (to_np(a) for a in streaming_logsumexp(x, chunk_size=3, split=True))
        m_k, log_s_k = streaming_logsumexp(x, chunk_size=3, keepdims=True, split=True)
    assert m.dtype == log_s.dtype == np.dtype(dtype) and tuple(m_k.shape) == (4, 1)
    np.testing.assert_array_equal(to_np(m_k)[:, 0], m)
    np.testing.assert_array_equal(to_np(log_s_k)[:, 0], log_s)
    np.testing.assert_array_equal(m[:3], [2e4 + 1.0, 1.0, 0.0])
    exact = np.log(np.sum(np.exp(offsets - 1.0)))  # 0.4076...: independent of the offset 2e4
    tol = {"float32": 1e-6, "float64": 1e-15}[dtype]
    np.testing.assert_allclose(log_s[:2], [exact, exact], rtol=0, atol=tol)
    assert log_s[2] == -np.inf and np.isnan(log_s[3])
    lse = to_np(logsumexp(x))
    np.testing.assert_allclose((m + log_s)[:2], lse[:2], rtol=1e-6)


def test_streaming_works_on_3d_input(rng):
    x = rng.standard_normal((2, 3, 11))
    np.testing.assert_allclose(streaming_logsumexp(x, chunk_size=4), logsumexp(x), rtol=1e-14)


@pytest.mark.parametrize(
    ("chunk", "exc", "fragment"),
    [
        (0, ValueError, "chunk_size must be >= 1; got 0"),
        (-1, ValueError, "chunk_size must be >= 1; got -1"),
        (2.0, TypeError, r"chunk_size must be an int; got float 2.0. Pass chunk_size=2"),
        (True, TypeError, "chunk_size must be an int; got bool"),
        (None, TypeError, "chunk_size must be an int; got NoneType"),
    ],
)
def test_streaming_bad_chunk_size(chunk, exc, fragment):
    with pytest.raises(exc, match=fragment):
        streaming_logsumexp(np.zeros((2, 3)), chunk_size=chunk)


TORCH_NUMERICS = Path(__file__).parent / "data" / "torch_numerics.npz"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_agrees_with_stored_torch_values(backend, to_np, dtype):
    """Values torch 2.13 computed (scripts/make_torch_reference.py); the suite needs no torch."""
    ref = np.load(TORCH_NUMERICS)
    x = backend.asarray(ref[f"{dtype}/input"])
    assert np.isneginf(ref[f"{dtype}/input"][0, 3])
    rtol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(to_np(logsumexp(x)), ref[f"{dtype}/logsumexp_last"], rtol=rtol)
    np.testing.assert_allclose(
        to_np(log_softmax(x, axis=0)),
        ref[f"{dtype}/log_softmax_first"],
        rtol=10 * rtol,
        atol=10 * rtol,
    )
    np.testing.assert_allclose(to_np(softmax(x)), ref[f"{dtype}/softmax_last"], atol=rtol)


finite_rows = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=8),
    elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
)


@given(finite_rows, st.floats(-1e3, 1e3, allow_nan=False))
def test_log_softmax_is_shift_invariant(x, c):
    a, b = log_softmax(x), log_softmax(x + c)
    scale = np.max(np.abs(x)) + abs(c) + 1.0
    np.testing.assert_allclose(a, b, atol=64 * np.finfo(np.float64).eps * scale)


@given(finite_rows)
def test_softmax_sums_to_one_and_is_a_distribution(x):
    p = softmax(x)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(np.sum(p, axis=-1), 1.0, rtol=1e-13)


@given(finite_rows)
def test_logsumexp_between_max_and_max_plus_log_n(x):
    lse = logsumexp(x)
    m = np.max(x, axis=-1)
    assert np.all(lse >= m)
    assert np.all(lse <= m + math.log(x.shape[-1]) + 1e-12 * (1 + np.abs(m)))


@given(finite_rows, st.integers(1, 9))
def test_streaming_matches_logsumexp_property(x, chunk):
    np.testing.assert_allclose(
        streaming_logsumexp(x, chunk_size=chunk), logsumexp(x), rtol=1e-13, atol=1e-13
    )


@pytest.mark.parametrize("fn", [*ALL, streaming_logsumexp], ids=lambda f: f.__name__)
def test_bad_inputs_raise_clear_errors(fn):
    with pytest.raises(TypeError, match=r"real floating array.*got dtype int"):
        fn(np.arange(6).reshape(2, 3))
    with pytest.raises(TypeError, match="expected an array"):
        fn([[1.0, 2.0]])
    with pytest.raises(ValueError, match="at least one dimension"):
        fn(np.ones(()))


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_bad_axis(fn):
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"axis 2 is out of range for a 2-D array \(valid -2..1\)"):
        fn(x, axis=2)
    with pytest.raises(ValueError, match="axis -3 is out of range"):
        fn(x, axis=-3)
    with pytest.raises(TypeError, match="axis must be an int"):
        fn(x, axis=1.0)
    with pytest.raises(TypeError, match="axis must be an int"):
        fn(x, axis=True)


def test_sigmoid_matches_the_logistic_function_without_overflow(backend, to_np):
    xp = backend.xp
    host = np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])
    with np.errstate(over="ignore"):
        ref = 1.0 / (1.0 + np.exp(-host))  # overflows to inf at -1000, giving the right 0
    got = to_np(sigmoid(backend.asarray(host, dtype=xp.float64)))
    np.testing.assert_allclose(got, ref, rtol=1e-15, atol=0)
    assert got[0] > 0.0 or ref[0] == 0.0


def test_sigmoid_float32_rounds_to_one_from_about_17(backend, to_np):
    """The lesson's fact: a float32 probability saturates, so BCE on it loses the logit."""
    xp = backend.xp
    grid = backend.asarray(np.arange(10.0, 30.0, 0.25), dtype=xp.float32)
    p = to_np(sigmoid(grid))
    assert p.dtype == np.float32
    first_one = float(np.arange(10.0, 30.0, 0.25)[np.argmax(p == 1.0)])
    assert 16.0 <= first_one <= 18.0
    assert np.all(p[np.arange(10.0, 30.0, 0.25) >= first_one] == 1.0)


def test_sigmoid_rejects_integers():
    with pytest.raises(TypeError, match="real floating"):
        sigmoid(np.arange(3))
