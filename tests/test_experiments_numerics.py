"""Experiments of lessons 3, 4 and 8: gradient noise, log-sum-exp overflow, precision and memory."""

from __future__ import annotations

import dataclasses
import itertools
import math
import tracemalloc
import warnings

import numpy as np
import pytest

from losskit.backend import get_backend
from losskit.experiments import (
    CEMemoryResult,
    GradientNoiseResult,
    LSEOverflowResult,
    SummationPrecisionResult,
    ce_memory,
    gradient_noise,
    lse_overflow,
    summation_precision,
)
from losskit.experiments.gradient_noise import regression_data
from losskit.experiments.precision_memory import vanishing_term
from losskit.numerics import log_softmax, naive_log_softmax

MIB = 2**20


# --------------------------------------------------------------------------- lesson 4: noise


@pytest.fixture(scope="module")
def noise_default():
    return gradient_noise(backend="numpy")


def test_noise_defaults_shapes_and_frozen(noise_default):
    r = noise_default
    assert isinstance(r, GradientNoiseResult)
    k = r.batch_sizes.size
    assert r.batch_sizes[0] == 1 and r.batch_sizes[-1] == r.n_samples == 1000
    assert np.all(np.diff(r.batch_sizes) > 0)
    for name in (
        "measured_variance",
        "measured_variance_se",
        "theory_variance",
        "with_replacement_variance",
        "with_replacement_measured",
    ):
        arr = getattr(r, name)
        assert isinstance(arr, np.ndarray) and arr.shape == (k,) and arr.dtype == np.float64
        assert not arr.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.noise_scale = 1.0
    assert (r.n_draws, r.seed, r.backend, r.dtype) == (2000, 0, "numpy", "float64")


def test_noise_measured_within_15_percent_of_theory(noise_default):
    r = noise_default
    below = r.batch_sizes < r.n_samples
    ratio = r.measured_variance[below] / r.theory_variance[below]
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    # and consistent with its own Monte-Carlo error bars (4 standard errors)
    dev = np.abs(r.measured_variance - r.theory_variance)[below]
    assert np.all(dev < 4 * r.measured_variance_se[below] + 1e-12)


def test_noise_is_exactly_zero_at_full_batch(noise_default):
    r = noise_default
    assert r.theory_variance[-1] == 0.0
    assert r.measured_variance[-1] == 0.0
    assert r.measured_variance_se[-1] == 0.0


def test_noise_with_replacement_is_sigma2_over_b(noise_default):
    r = noise_default
    np.testing.assert_allclose(
        r.with_replacement_variance, r.trace_sigma / r.batch_sizes, rtol=1e-14
    )
    ratio = r.with_replacement_measured / r.with_replacement_variance
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    # without replacement is smaller by exactly the finite-population factor
    n, b = r.n_samples, r.batch_sizes
    np.testing.assert_allclose(
        r.theory_variance, r.with_replacement_variance * (n - b) / (n - 1), rtol=1e-14
    )


def test_noise_scale_against_direct_computation(noise_default):
    r = noise_default
    X, y, _ = regression_data(r.n_samples, r.n_features, r.noise, r.seed)  # w = 0 * w*
    per_sample = np.stack(
        [2 * (x @ np.zeros(r.n_features) - t) * x for x, t in zip(X, y, strict=True)]
    )
    full = per_sample.mean(axis=0)
    sigma = np.cov(per_sample, rowvar=False, bias=True)  # population covariance (divide by N)
    assert r.trace_sigma == pytest.approx(np.trace(sigma), rel=1e-12)
    assert r.full_gradient_norm == pytest.approx(np.linalg.norm(full), rel=1e-12)
    assert r.noise_scale == pytest.approx(np.trace(sigma) / (full @ full), rel=1e-12)
    np.testing.assert_allclose(
        r.theory_variance,
        np.trace(sigma) / r.batch_sizes * (r.n_samples - r.batch_sizes) / (r.n_samples - 1),
        rtol=1e-12,
    )


def test_without_replacement_formula_by_enumeration_and_sampler():
    """Tiny N: the variance over all C(N, B) subsets equals the formula, and so does the sampler."""
    n, d = 6, 3
    r = gradient_noise(n_samples=n, n_features=d, n_draws=40_000, backend="numpy", seed=3)
    X, y, _ = regression_data(n, d, r.noise, 3)
    g = np.stack([2 * (0.0 - t) * x for x, t in zip(X, y, strict=True)])
    full = g.mean(axis=0)
    for j, b in enumerate(r.batch_sizes.tolist()):
        exact = np.mean(
            [
                np.sum((g[list(s)].mean(axis=0) - full) ** 2)
                for s in itertools.combinations(range(n), b)
            ]
        )
        assert r.theory_variance[j] == pytest.approx(exact, rel=1e-10, abs=1e-12)
        if b < n:
            assert r.measured_variance[j] == pytest.approx(exact, rel=0.05)
    assert r.measured_variance[-1] == 0.0


def test_noise_same_on_every_backend(backend, to_np):
    kw = dict(n_samples=200, n_features=4, n_draws=500, seed=11, dtype="float64")  # GPU: float32
    ref = gradient_noise(backend="numpy", **kw)
    got = gradient_noise(backend=backend, **kw)
    assert got.backend == backend.name and got.dtype == "float64"
    np.testing.assert_array_equal(got.batch_sizes, ref.batch_sizes)
    for name in ("measured_variance", "theory_variance", "with_replacement_measured"):
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-10, atol=0)
    assert got.measured_variance[-1] == 0.0
    assert got.noise_scale == pytest.approx(ref.noise_scale, rel=1e-12)


def test_noise_scale_grows_near_the_optimum():
    start = gradient_noise(n_draws=10, with_replacement=False, backend="numpy")
    late = gradient_noise(n_draws=10, with_replacement=False, progress=0.95, backend="numpy")
    assert late.full_gradient_norm < start.full_gradient_norm / 5
    assert late.noise_scale > 5 * start.noise_scale


def test_noise_options():
    r = gradient_noise(
        n_samples=50,
        n_features=2,
        batch_sizes=[50, 1, 5, 5],
        n_draws=300,
        with_replacement=False,
        dtype="float32",
        backend="numpy",
        seed=np.random.default_rng(0),
    )
    assert r.batch_sizes.tolist() == [1, 5, 50]
    assert np.all(np.isnan(r.with_replacement_measured))
    assert r.dtype == "float32" and r.seed is None
    assert r.measured_variance[-1] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_sizes": [0, 10]}, ValueError, r"must lie in 1..n_samples=1000.*\[0\]"),
        ({"batch_sizes": [10, 1001]}, ValueError, r"\[1001\]"),
        ({"batch_sizes": [1.5]}, TypeError, "sequence of ints"),
        ({"batch_sizes": []}, TypeError, "non-empty"),
        ({"n_draws": 1}, ValueError, "n_draws must be >= 2"),
        ({"n_samples": 1}, ValueError, "n_samples must be >= 2"),
        ({"n_samples": 10.0}, TypeError, "n_samples must be an int"),
        ({"noise": -1.0}, ValueError, "noise must be >= 0; got -1"),
        ({"progress": float("nan")}, ValueError, r"progress must be finite \(>= 0 and <= 1\)"),
        ({"progress": -1}, ValueError, r"progress must be >= 0; got -1\. The gradient .* Use"),
        ({"progress": 2.0}, ValueError, r"progress must be <= 1; got 2\. The gradient .* Use"),
        ({"dtype": "float16"}, ValueError, "dtype must be 'float32', 'float64' or None"),
        ({"with_replacement": 1}, TypeError, "with_replacement must be True or False"),
        ({"backend": "nope"}, ValueError, "unknown backend 'nope'"),
    ],
)
def test_noise_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        gradient_noise(**kwargs)


# ------------------------------------------------------------------------ lesson 3: overflow


@pytest.fixture(scope="module")
def overflow_default():
    return lse_overflow(backend="numpy")


def test_overflow_result_layout(overflow_default):
    r = overflow_default
    assert isinstance(r, LSEOverflowResult)
    t, s = len(r.dtypes), r.scales.size
    assert r.dtypes == ("float16", "float32", "float64")
    assert r.scales[0] == 1.0 and r.scales[-1] == 1e4 and np.all(np.diff(r.scales) > 0)
    for name in ("naive_log_softmax", "stable_log_softmax", "reference_log_softmax", "logits"):
        assert getattr(r, name).shape == (t, s, 3)
    for name in ("naive_finite", "stable_finite"):
        assert getattr(r, name).shape == (t, s) and getattr(r, name).dtype == bool
    for name in ("naive_error", "stable_error", "naive_ce", "stable_ce", "reference_ce"):
        assert getattr(r, name).shape == (t, s)
        assert not getattr(r, name).flags.writeable


def test_log_max_per_dtype(overflow_default):
    assert {k: round(v, 2) for k, v in overflow_default.log_max.items()} == {
        "float16": 11.09,
        "float32": 88.72,
        "float64": 709.78,
    }


def test_first_failure_straddles_the_thresholds(overflow_default):
    r = overflow_default
    for i, name in enumerate(r.dtypes):
        first = r.first_failure[name]
        exp_threshold = r.log_max[name] / 3.0  # pattern (1, 2, 3)
        # the grid brackets it: finite just below, not finite from first on (monotone)
        k = int(np.searchsorted(r.scales, first))
        assert r.naive_finite[i, :k].all() and not r.naive_finite[i, k:].any()
        t = r.threshold_scale[name]
        assert t * (1 - 4e-3 - 1e-12) <= r.scales[k - 1] < first and t <= first
        # at log(max)/3 to within 0.3%; the sum of exps overflows a hair before the
        # largest exp alone, which float16 resolves, float32/64 do not
        assert first == pytest.approx(exp_threshold, rel=3e-3)
        assert first <= t * (1 + 5e-4)  # the ladder above t pins the real failure down
        assert r.threshold_scale[name] <= exp_threshold
        assert r.exp_threshold_scale[name] == pytest.approx(exp_threshold, rel=1e-15)
    assert r.threshold_scale["float16"] < 0.999 * r.exp_threshold_scale["float16"]
    # the naive float16 version measurably breaks before the largest exp alone overflows
    assert r.first_failure["float16"] < 0.999 * r.exp_threshold_scale["float16"]
    assert r.threshold_scale["float32"] == pytest.approx(
        r.exp_threshold_scale["float32"], rel=1e-12
    )
    assert r.stable_finite.all()


def test_exp_overflow_limits(overflow_default):
    r = overflow_default
    assert r.exp_limit["float16"] == 11.0859375 and r.exp_at_limit["float16"] == 65248.0
    assert r.exp_limit["float32"] == 88.72283172607421875
    assert r.exp_limit["float64"] == float(np.log(np.finfo(np.float64).max))
    with np.errstate(over="ignore"):
        for name, limit in r.exp_limit.items():
            v = np.asarray(limit, dtype=name)
            assert np.isfinite(np.exp(v))
            assert np.isinf(np.exp(np.nextafter(v, np.asarray(np.inf, dtype=name))))
    assert np.exp(np.float16(11.0859375)) == 65248
    assert f"{np.exp(300.0):.4g}" == "1.942e+130"  # not 1.97e130


def test_stable_errors_are_rounding_sized(overflow_default):
    r = overflow_default
    for i, name in enumerate(r.dtypes):
        bound = 8 * np.finfo(name).eps * (3 * r.scales + 1)
        assert np.all(r.stable_error[i] <= bound), name
        np.testing.assert_allclose(r.stable_ce[i], r.reference_ce[i], rtol=8 * np.finfo(name).eps)
        # where naive fails, its CE is inf (target prob rounded to 0) or NaN (inf / inf)
        assert not np.isfinite(r.naive_ce[i][~r.naive_finite[i]]).any()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_naive_100_200_300(dtype):
    x = np.array([100.0, 200.0, 300.0], dtype=dtype)
    naive = naive_log_softmax(x)
    if dtype == "float64":
        np.testing.assert_array_equal(naive, [-200.0, -100.0, 0.0])
        assert np.all(np.isnan(naive_log_softmax(x * 10)))  # breaks at [1000, 2000, 3000]
    else:
        assert np.all(np.isnan(naive))
    np.testing.assert_array_equal(log_softmax(x), [-200.0, -100.0, 0.0])  # stable: exact
    assert log_softmax(x).dtype == np.dtype(dtype)


def test_overflow_experiment_reproduces_the_lesson_rows():
    r = lse_overflow(scales=[100.0], backend="numpy")
    assert np.all(np.isnan(r.naive_log_softmax[:2, 0]))  # float16, float32
    np.testing.assert_array_equal(r.naive_log_softmax[2, 0], [-200.0, -100.0, 0.0])
    np.testing.assert_array_equal(r.stable_log_softmax[:, 0], [[-200.0, -100.0, 0.0]] * 3)
    np.testing.assert_array_equal(r.stable_ce[:, 0], [200.0] * 3)  # target 0
    assert r.first_failure["float64"] != r.first_failure["float64"]  # NaN: never fails


def test_float16_fails_already_at_10_11_12():
    r = lse_overflow(scales=[1.0], pattern=[10, 11, 12], backend="numpy")
    assert r.naive_finite[:, 0].tolist() == [False, True, True]
    x = np.array([10, 11, 12], dtype=np.float16)
    np.testing.assert_array_equal(naive_log_softmax(x), [-np.inf, -np.inf, np.nan])
    np.testing.assert_allclose(
        log_softmax(x).astype(float), log_softmax(x.astype(float)), atol=2e-3
    )


def test_float32_underflow_case():
    x = np.array([-100.0, -200.0, -300.0], dtype=np.float32)
    np.testing.assert_array_equal(naive_log_softmax(x), [0.0, -np.inf, -np.inf])
    np.testing.assert_array_equal(log_softmax(x), [0.0, -100.0, -200.0])
    r = lse_overflow(scales=[100.0], pattern=[-1, -2, -3], dtypes=["float32"], backend="numpy")
    np.testing.assert_array_equal(r.naive_log_softmax[0, 0], [0.0, -np.inf, -np.inf])
    np.testing.assert_array_equal(r.stable_log_softmax[0, 0], [0.0, -100.0, -200.0])
    assert r.naive_error[0, 0] == np.inf and r.stable_error[0, 0] == 0.0
    assert math.isnan(r.threshold_scale["float32"])  # exp never overflows here


def test_overflow_on_every_backend(backend):
    got = lse_overflow(backend=backend)
    want_dtypes = ("float32", "float64") if backend.name == "array_api_strict" else None
    if want_dtypes:
        assert got.dtypes == want_dtypes
    ref = lse_overflow(backend="numpy", dtypes=got.dtypes)
    np.testing.assert_array_equal(got.scales, ref.scales)
    np.testing.assert_allclose(got.stable_log_softmax, ref.stable_log_softmax, rtol=1e-6)
    assert got.exp_limit == ref.exp_limit
    if backend.name != "jax":
        np.testing.assert_array_equal(got.naive_finite, ref.naive_finite)
        assert got.first_failure == ref.first_failure
        return
    # XLA's exp overflows a hair before NumPy's: naive log-softmax may break up to 0.2 %
    # below the threshold (the grid point just under it), never anywhere else
    differ = got.naive_finite != ref.naive_finite
    for k, name in enumerate(got.dtypes):
        near = np.abs(got.scales[differ[k]] / ref.threshold_scale[name] - 1.0)
        assert np.all(near < 2e-3), (name, got.scales[differ[k]])
        assert got.first_failure[name] <= ref.first_failure[name]


def test_overflow_float16_on_strict_is_a_clear_error():
    with pytest.raises(ValueError, match="array_api_strict backend has no float16"):
        lse_overflow(dtypes=["float16"], backend="array_api_strict")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scales": [1.0, -2.0]}, ValueError, "scales must be positive"),
        ({"scales": [0.0]}, ValueError, "scales must be positive"),
        ({"scales": [1.0, float("inf")]}, ValueError, "scales must be finite"),
        ({"scales": [float("nan")]}, ValueError, "scales must be finite"),
        ({"scales": []}, ValueError, "at least 1 value"),
        ({"scales": [[1.0, 2.0]]}, ValueError, "1-D"),
        ({"scales": ["a"]}, TypeError, "real numbers"),
        ({"pattern": [1.0]}, ValueError, "pattern must be 1-D with at least 2"),
        ({"dtypes": ["float8"]}, ValueError, r"unknown dtype 'float8'"),
        ({"dtypes": []}, ValueError, "dtypes is empty"),
        ({"target": 3}, ValueError, r"target 3 out of range for 3 classes \(valid 0..2\)"),
        ({"target": 1.0}, TypeError, "target must be an int"),
        ({"scales": [1e5]}, ValueError, r"beyond the float16 range.*up to 21834 \(65504 / 3\)"),
    ],
)
def test_overflow_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        lse_overflow(backend="numpy", **kwargs)


# ---------------------------------------------------------------------- lesson 8: precision


@pytest.fixture(scope="module")
def precision_default():
    return summation_precision()


def test_summation_precision_lesson_facts(precision_default):
    r = precision_default
    assert isinstance(r, SummationPrecisionResult)
    assert r.methods == ("sequential", "pairwise", "kahan", "float64", "xp.sum")
    assert r.results.shape == (2, 5, r.n_values.size) and r.n_values[-1] == 1_000_000
    assert r.one_plus_small_is_one and r.dtype == "float32" and r.backend == "numpy"
    m = {name: i for i, name in enumerate(r.methods)}
    ulp = float(np.spacing(np.float32(1.01)))
    # 1.0 + 1e6 x 1e-8: the running sum never leaves 1.0, the others reach 1.01
    assert np.all(r.results[0, m["sequential"]] == 1.0)
    for name in ("pairwise", "kahan", "xp.sum"):
        assert abs(r.results[0, m[name], -1] - 1.01) <= ulp, name
    assert r.results[0, m["float64"], -1] == pytest.approx(1.01, abs=1e-9)
    # 1e6 x float32(0.1): sequential 100958.34 (+0.96 %), library sum within 0.01 of 1e5
    assert r.results[1, m["sequential"], -1] == float(np.float32(100958.34))
    assert r.rel_error[1, m["sequential"], -1] == pytest.approx(0.0096, abs=5e-5)
    assert abs(r.results[1, m["xp.sum"], -1] - 1e5) <= 0.01
    for name in ("pairwise", "kahan", "float64"):
        assert abs(r.rel_error[1, m[name], -1]) < 1e-7, name
    np.testing.assert_array_equal(r.exact[1], r.n_values * float(np.float32(0.1)))
    # the running sum's error grows with n; Kahan's does not
    seq = np.abs(r.rel_error[1, m["sequential"]])
    assert seq[-1] > 100 * np.abs(r.rel_error[1, m["kahan"]]).max()


def test_summation_precision_float64_input():
    r = summation_precision(n_values=[1000], dtype="float64")
    assert not r.one_plus_small_is_one
    assert np.all(np.abs(r.rel_error) < 1e-12)


def test_summation_precision_same_on_every_backend(backend):
    got = summation_precision(n_values=[1000, 100_000], backend=backend)
    ref = summation_precision(n_values=[1000, 100_000], backend="numpy")
    assert got.backend == backend.name
    np.testing.assert_array_equal(got.exact, ref.exact)
    # a parallel scan (CuPy, torch, jax) is no sequential sum, and their xp.sum reduces
    # in another order than NumPy's
    parallel = ("sequential", "xp.sum")
    methods = [
        i for i, n in enumerate(got.methods) if n not in parallel or backend.adapter.sequential_scan
    ]
    np.testing.assert_allclose(got.results[:, methods], ref.results[:, methods], rtol=2e-7)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"n_values": [0, 10]},
            ValueError,
            "every n in n_values must be >= 1; got 0. Choose 1 or more",
        ),
        ({"n_values": [1.5]}, TypeError, "n_values must be a non-empty 1-D sequence of ints"),
        ({"dtype": "int32"}, ValueError, "unknown dtype 'int32'"),
        ({"small": float("inf")}, ValueError, r"small must be finite; got inf"),
        ({"value": 0.0}, ValueError, r"value 0.0 is 0 as float32 stores it.*0/0"),
        ({"value": 1e-8, "dtype": "float16"}, ValueError, "value 1e-08 is 0 as float16 stores"),
        ({"small": -0.5, "n_values": [2]}, ValueError, r"1 \+ 2 x small is exactly 0"),
        ({"dtype": "float16", "backend": "array_api_strict"}, ValueError, "has no float16"),
    ],
)
def test_summation_precision_bad_parameters(kwargs, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused up front: no 0/0 RuntimeWarning first
        with pytest.raises(error, match=match):
            summation_precision(**kwargs)


def test_vanishing_term_is_lost_next_to_one_but_not_zero_in_every_dtype():
    assert [vanishing_term(d) for d in ("float16", "float32", "float64")] == [1e-4, 1e-8, 1e-16]
    for name in ("float16", "float32", "float64"):
        one, term = np.asarray(1.0, dtype=name), np.asarray(vanishing_term(name), dtype=name)
        assert term != 0 and one + term == one
        # ten times larger is no longer lost: the largest such power of ten
        assert one + np.asarray(10 * vanishing_term(name), dtype=name) != one
    r = summation_precision(n_values=[1000], dtype="float16", small=vanishing_term("float16"))
    assert r.small == float(np.float16(1e-4)) and r.one_plus_small_is_one
    assert r.results[0, r.methods.index("sequential"), 0] == 1.0 and r.exact[0, 0] > 1.09


# ------------------------------------------------------------------------- lesson 8: memory


@pytest.fixture(scope="module")
def memory_default():
    return ce_memory()


def test_ce_memory_computed_figures(memory_default):
    r = memory_default
    assert isinstance(r, CEMemoryResult)
    assert r.bytes_logits == r.bytes_softmax == r.bytes_log_softmax == 25_600_000
    assert round(r.bytes_logits / MIB, 2) == 24.41
    assert r.bytes_naive_total == 76_800_000 and round(r.bytes_naive_total / MIB, 2) == 73.24
    assert r.bytes_streaming_working == 2 * 128 * 4096 * 4 + 4 * 128 * 4
    assert round(r.mib["bytes_naive_total"], 2) == 73.24
    assert 25_600_000 / 1e6 == 25.6  # the anchor text's "768 MB" is 30x too big


def test_ce_memory_measured_figures(memory_default):
    r = memory_default
    assert r.measured
    full = r.bytes_logits
    # naive and stable each hold three (B, C) arrays at their peak, plus small change
    for measured in (r.measured_naive_bytes, r.measured_stable_bytes):
        assert 3 * full <= measured <= 3 * full + MIB
    # streaming: the logits plus two (B, chunk) blocks
    assert (
        full + r.bytes_streaming_working - 64 * 1024
        <= r.measured_streaming_bytes
        <= full + r.bytes_streaming_working + MIB
    )
    assert r.measured_streaming_bytes < 0.4 * r.measured_naive_bytes
    assert r.loss_naive == pytest.approx(r.loss_stable, rel=1e-6)
    assert r.loss_streaming == pytest.approx(r.loss_stable, rel=1e-6)


def test_ce_memory_on_every_backend(backend):
    r = ce_memory(batch_size=16, n_classes=5000, chunk_size=512, backend=backend)
    full = 16 * 5000 * 4
    assert r.bytes_logits == full and r.bytes_naive_total == 3 * full
    if backend.name in ("numpy", "array_api_strict"):
        assert r.measured
        assert 3 * full <= r.measured_naive_bytes <= 3 * full + 256 * 1024
        assert r.measured_streaming_bytes < full + 2 * r.bytes_streaming_working
    else:
        assert not r.measured and math.isnan(r.measured_naive_bytes)
    assert r.loss_streaming == pytest.approx(r.loss_stable, rel=1e-5)


def test_ce_memory_float16_naive_forward_is_inf_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log(0) = -inf is the expected result, not a warning
        r = ce_memory(dtype="float16", batch_size=8, n_classes=50_000)
    assert r.measured and r.loss_naive == math.inf and np.isfinite(r.loss_stable)


def test_ce_memory_computed_only_and_dtypes():
    r = ce_memory(dtype="float16", measure=False, backend="array_api_strict")
    assert r.itemsize == 2 and r.bytes_logits == 12_800_000 and not r.measured
    assert math.isnan(r.measured_naive_bytes) and math.isnan(r.loss_naive)
    assert ce_memory(dtype="float64", measure=False).bytes_naive_total == 3 * 51_200_000
    with pytest.raises(ValueError, match="has no float16"):
        ce_memory(dtype="float16", backend="array_api_strict")


def test_ce_memory_leaves_an_outer_tracemalloc_running():
    tracemalloc.start()
    try:
        r = ce_memory(batch_size=4, n_classes=100, chunk_size=16)
        assert tracemalloc.is_tracing() and r.measured
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"n_classes": 10.0}, TypeError, "n_classes must be an int"),
        ({"chunk_size": 0}, ValueError, "chunk_size must be >= 1"),
        ({"dtype": "bfloat16"}, ValueError, "unknown dtype 'bfloat16'"),
        ({"measure": "yes"}, TypeError, "measure must be True or False"),
        ({"batch_size": 100_000, "n_classes": 100_000}, ValueError, "measure=False"),
    ],
)
def test_ce_memory_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        ce_memory(**kwargs)


def test_experiments_run_with_no_arguments_on_the_auto_backend(monkeypatch):
    monkeypatch.setenv("LOSSKIT_BACKEND", "array_api_strict")
    r = gradient_noise(n_draws=50)
    assert r.backend == "array_api_strict"
    assert lse_overflow().backend == "array_api_strict"
    assert get_backend("auto").name == "array_api_strict"
