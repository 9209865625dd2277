"""Losses over the backend matrix: shapes, dtypes, devices, finite differences, fast paths.

Values against PyTorch live in test_losses_reference.py, bad input in
test_losses_errors.py, algebraic properties in test_losses_properties.py.
"""

from __future__ import annotations

import tracemalloc
import warnings

import array_api_compat
import numpy as np
import pytest

import losskit
from losskit import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
)
from losskit.losses import _ce_numpy
from losskit.losses._ce_kernels import generic as _generic_value_and_grad

REDUCTIONS = ("mean", "sum", "none")


def _case(name, reduction, rng):
    """(loss, input, target) on the host for one named configuration; float64."""
    x = rng.standard_normal((5, 4))
    if name == "mse":
        return MSELoss(reduction=reduction), x, rng.standard_normal((5, 4))
    if name == "l1":
        y = x + rng.choice([-1.0, 1.0], size=x.shape) * rng.uniform(0.05, 1.0, size=x.shape)
        return L1Loss(reduction=reduction), x, y
    if name == "huber":
        d = rng.choice([-1.0, 1.0], size=x.shape) * rng.choice([0.3, 0.5, 1.2, 2.0], size=x.shape)
        return HuberLoss(0.8, reduction=reduction), x, x - d
    if name == "bce":
        return BCELoss(reduction=reduction), rng.uniform(0.05, 0.95, (5, 4)), rng.random((5, 4))
    if name == "bce_weight":
        p = rng.uniform(0.05, 0.95, (5, 4))
        return BCELoss(rng.uniform(0.5, 2, 4), reduction=reduction), p, rng.random((5, 4))
    if name == "bcel":
        return BCEWithLogitsLoss(reduction=reduction), 3 * x, rng.random((5, 4))
    if name == "bcel_weights":
        loss = BCEWithLogitsLoss(
            rng.uniform(0.5, 2, (5, 1)), rng.uniform(0.5, 3, 4), reduction=reduction
        )
        return loss, 3 * x, (rng.random((5, 4)) < 0.5).astype(float)
    t = rng.integers(0, 4, 5)
    if name == "ce":
        return CrossEntropyLoss(reduction=reduction), x, t
    if name == "ce_weight_ignore_smooth":
        t[[1, 3]] = -100
        loss = CrossEntropyLoss(rng.uniform(0.2, 2, 4), label_smoothing=0.15, reduction=reduction)
        return loss, x, t
    if name == "ce_ignore_class":
        t[:] = [0, 2, 2, 1, 3]
        return CrossEntropyLoss(ignore_index=2, label_smoothing=0.3, reduction=reduction), x, t
    if name == "ce_prob":
        p = rng.random((5, 4))
        p /= p.sum(axis=1, keepdims=True)
        loss = CrossEntropyLoss(rng.uniform(0.2, 2, 4), label_smoothing=0.1, reduction=reduction)
        return loss, x, p
    raise AssertionError(name)


CASES = [
    "mse",
    "l1",
    "huber",
    "bce",
    "bce_weight",
    "bcel",
    "bcel_weights",
    "ce",
    "ce_weight_ignore_smooth",
    "ce_ignore_class",
    "ce_prob",
]


def _on(backend, x, y, dtype=None):
    xb = backend.asarray(x, dtype=dtype)
    yb = backend.asarray(y, dtype=dtype if y.dtype.kind == "f" else None)
    return xb, yb


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_shapes_dtypes_devices(backend, name, reduction, dtype):
    loss, x, y = _case(name, reduction, np.random.default_rng(1))
    xb, yb = _on(backend, x, y, getattr(backend.xp, dtype))
    value, grad = loss.value_and_grad(xb, yb)
    expected_shape = (
        () if reduction != "none" else (x.shape[:1] if name.startswith("ce") else x.shape)
    )
    assert tuple(value.shape) == expected_shape
    assert value.dtype == xb.dtype and grad.dtype == xb.dtype
    assert tuple(grad.shape) == tuple(xb.shape)
    assert array_api_compat.device(value) == array_api_compat.device(xb)
    assert array_api_compat.device(grad) == array_api_compat.device(xb)
    assert type(grad) is type(xb)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", CASES)
def test_finite_differences(backend, name, reduction):
    """Central differences in float64 at a handful of random coordinates."""
    rng = np.random.default_rng(2)
    loss, x, y = _case(name, reduction, rng)
    xb, yb = _on(backend, x, y)
    grad = backend.to_host(loss.grad(xb, yb))

    def total(xh):
        return float(backend.to_host(backend.xp.sum(loss(backend.asarray(xh), yb))))

    h = 1e-6
    flat = rng.choice(x.size, size=6, replace=False)
    for k in flat:
        i = np.unravel_index(k, x.shape)
        xp_, xm = x.copy(), x.copy()
        xp_[i] += h
        xm[i] -= h
        fd = (total(xp_) - total(xm)) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-8), (name, i)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", CASES)
def test_value_and_grad_equals_loss_and_grad(backend, name, reduction):
    loss, x, y = _case(name, reduction, np.random.default_rng(3))
    xb, yb = _on(backend, x, y)
    value, grad = loss.value_and_grad(xb, yb)
    np.testing.assert_allclose(
        backend.to_host(value), backend.to_host(loss(xb, yb)), rtol=1e-13, atol=1e-15
    )
    np.testing.assert_allclose(
        backend.to_host(grad), backend.to_host(loss.grad(xb, yb)), rtol=0, atol=0
    )


def test_weights_given_as_backend_arrays(backend):
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    w = rng.uniform(0.5, 2, 3)
    host = CrossEntropyLoss(w, label_smoothing=0.1).value_and_grad(x, t)
    xb, tb = _on(backend, x, t)
    on_backend = CrossEntropyLoss(backend.asarray(w), label_smoothing=0.1).value_and_grad(xb, tb)
    for a, b in zip(host, on_backend, strict=True):
        np.testing.assert_allclose(backend.to_host(b), a, rtol=1e-13)
    pw = backend.asarray(rng.uniform(1, 2, 3))
    y = backend.asarray((rng.random((6, 3)) < 0.5).astype(float))
    v = BCEWithLogitsLoss(pos_weight=pw)(xb, y)
    assert array_api_compat.device(v) == array_api_compat.device(xb)


# ---- the lesson's facts ------------------------------------------------------------------


def test_bce_on_saturated_sigmoid_hits_clamp_but_logits_do_not(backend):
    """float32 sigmoid(20) rounds to 1: BCE gives the clamp 100, BCE-with-logits the true 20."""
    xp = backend.xp
    logit = backend.asarray(np.array([20.0]), dtype=xp.float32)
    prob = 1.0 / (1.0 + xp.exp(-logit))
    assert float(backend.to_host(prob)[0]) == 1.0
    zero = backend.asarray(np.array([0.0]), dtype=xp.float32)
    assert float(backend.to_host(BCELoss()(prob, zero))) == 100.0
    assert float(backend.to_host(BCEWithLogitsLoss()(logit, zero))) == 20.0
    assert float(backend.to_host(BCEWithLogitsLoss().grad(logit, zero))[0]) == pytest.approx(1.0)


def test_gradient_formulas_from_the_lesson(backend):
    """MSE 2(x-y)/n, CE (softmax - onehot)/N, BCE-with-logits sigmoid(x) - y, smoothing."""
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    xb, yb = _on(backend, x, y)
    np.testing.assert_allclose(backend.to_host(MSELoss().grad(xb, yb)), 2 * (x - y) / 12)
    t = np.array([0, 2, 1, 2])
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    onehot = np.eye(3)[t]
    tb = backend.asarray(t)
    np.testing.assert_allclose(
        backend.to_host(CrossEntropyLoss().grad(xb, tb)), (p - onehot) / 4, rtol=1e-12
    )
    eps = 0.2
    np.testing.assert_allclose(
        backend.to_host(CrossEntropyLoss(label_smoothing=eps).grad(xb, tb)),
        (p - ((1 - eps) * onehot + eps / 3)) / 4,
        rtol=1e-12,
        atol=1e-15,
    )
    yb01 = backend.asarray((y > 0).astype(float))
    np.testing.assert_allclose(
        backend.to_host(BCEWithLogitsLoss(reduction="sum").grad(xb, yb01)),
        1 / (1 + np.exp(-x)) - (y > 0),
        rtol=1e-12,
        atol=1e-15,
    )


def test_weighted_mean_divides_by_target_weights(backend):
    rng = np.random.default_rng(6)
    x, t = rng.standard_normal((5, 3)), np.array([0, 1, 1, 2, -100])
    w = np.array([1.0, 2.0, 5.0])
    xb, tb = _on(backend, x, t)
    total = float(backend.to_host(CrossEntropyLoss(w, reduction="sum")(xb, tb)))
    mean = float(backend.to_host(CrossEntropyLoss(w)(xb, tb)))
    assert mean == pytest.approx(total / (1 + 2 + 2 + 5), rel=1e-13)


def test_probability_targets_mean_divides_by_batch(backend):
    rng = np.random.default_rng(7)
    x, p = rng.standard_normal((6, 4)), rng.dirichlet(np.ones(4), size=6)
    w = rng.uniform(0.2, 3, 4)
    xb, pb = _on(backend, x, p)
    total = float(backend.to_host(CrossEntropyLoss(w, reduction="sum")(xb, pb)))
    assert float(backend.to_host(CrossEntropyLoss(w)(xb, pb))) == pytest.approx(total / 6)


def test_one_hot_probability_targets_equal_class_indices(backend):
    rng = np.random.default_rng(8)
    x, t = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    xb, tb = _on(backend, x, t)
    pb = backend.asarray(np.eye(4)[t])
    loss = CrossEntropyLoss(label_smoothing=0.1)
    for a, b in zip(loss.value_and_grad(xb, tb), loss.value_and_grad(xb, pb), strict=True):
        np.testing.assert_allclose(backend.to_host(a), backend.to_host(b), rtol=1e-12, atol=1e-15)


def test_all_targets_ignored_mean_is_nan_with_zero_gradient(backend):
    """Documented choice: match PyTorch (NaN value, zero gradient) and warn."""
    x = backend.asarray(np.random.default_rng(9).standard_normal((3, 4)))
    t = backend.asarray(np.full(3, -100))
    with pytest.warns(UserWarning, match="all 3 targets equal ignore_index=-100") as record:
        value, grad = CrossEntropyLoss().value_and_grad(x, t)
    assert record[0].filename == __file__
    assert np.isnan(backend.to_host(value))
    assert np.all(backend.to_host(grad) == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(backend.to_host(CrossEntropyLoss(reduction="sum")(x, t))) == 0.0


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_zero_total_weight_mean_is_nan_not_inf(backend, eps):
    """Kept targets whose class weights sum to 0: the weighted mean is 0/0 (NaN, as PyTorch)."""
    x = backend.asarray(np.random.default_rng(3).standard_normal((3, 3)))
    t = backend.asarray(np.zeros(3, dtype=np.int64))
    loss = CrossEntropyLoss(weight=np.array([0.0, 1.0, 1.0]), label_smoothing=eps)
    with pytest.warns(UserWarning, match="class weights of the 3 targets sum to 0"):
        assert np.isnan(backend.to_host(loss(x, t)))
    total = CrossEntropyLoss(weight=np.array([0.0, 1.0, 1.0]), label_smoothing=eps, reduction="sum")
    assert np.isfinite(backend.to_host(total(x, t)))


def test_large_logits_stay_finite_and_exact(backend):
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4 - 1.0, 0.0]])
    t = np.array([1, 0])
    for dtype in (backend.xp.float32, backend.xp.float64):
        xb, tb = backend.asarray(x, dtype=dtype), backend.asarray(t)
        value, grad = CrossEntropyLoss(reduction="none").value_and_grad(xb, tb)
        v = backend.to_host(value)
        assert np.all(np.isfinite(v)) and np.all(np.isfinite(backend.to_host(grad)))
        assert v[0] == pytest.approx(1e4, rel=1e-6)
        assert v[1] == pytest.approx(np.log1p(np.exp(-1.0)), rel=1e-5)
        np.testing.assert_allclose(backend.to_host(CrossEntropyLoss(reduction="none")(xb, tb)), v)


def test_float16_input_keeps_its_dtype():
    rng = np.random.default_rng(10)
    x, t = rng.standard_normal((4, 50)).astype(np.float16), rng.integers(0, 50, 4)
    value, grad = CrossEntropyLoss().value_and_grad(x, t)
    assert value.dtype == np.float16 and grad.dtype == np.float16
    ref = CrossEntropyLoss()(x.astype(np.float32), t)
    assert float(value) == pytest.approx(float(ref), rel=1e-3)
    y = rng.standard_normal((4, 50)).astype(np.float16)
    assert MSELoss().grad(x, y).dtype == np.float16


def test_float16_input_with_a_wider_target_computes_in_float32():
    """The target is not first rounded to float16: it goes straight to the float32 work dtype."""
    x = np.full(4, 1.0, dtype=np.float16)
    y = np.full(4, 1.0 + 2**-12, dtype=np.float32)  # 1 + 2**-12 rounds to 1 in float16
    assert float(L1Loss(reduction="sum")(x, y)) == pytest.approx(4 * 2**-12, rel=1e-3)
    with pytest.warns(RuntimeWarning, match="overflow"):  # 1e10 is beyond float16: inf, said
        big = MSELoss(reduction="none")(np.zeros(2, np.float16), np.array([1e5, 2.0]))
    assert big.dtype == np.float16 and big[0] == np.inf and big[1] == 4.0  # no "target inf" error


def test_a_target_beyond_the_compute_dtype_is_an_error_not_inf():
    with pytest.raises(
        ValueError, match=r"target \(float64\) holds values beyond the range of float32"
    ):
        MSELoss()(np.zeros(2, np.float32), np.array([1e39, 0.0]))
    assert np.isinf(MSELoss(check_finite=False)(np.zeros(2, np.float32), np.array([1e39, 0.0])))


def test_softmax_output_passed_as_logits_warns(backend):
    rng = np.random.default_rng(11)
    p = rng.dirichlet(np.ones(5), size=8)
    pb, tb = _on(backend, p, rng.integers(0, 5, 8))
    with pytest.warns(UserWarning, match="look like probabilities") as record:
        CrossEntropyLoss()(pb, tb)
    assert record[0].filename == __file__  # points at the caller's line
    with pytest.warns(UserWarning, match="look like probabilities") as record:
        CrossEntropyLoss().value_and_grad(pb, tb)
    assert record[0].filename == __file__
    with pytest.warns(UserWarning, match="look like probabilities") as record:
        CrossEntropyLoss().grad(pb, backend.asarray(np.eye(5)[np.arange(8) % 5]))
    assert record[0].filename == __file__
    with warnings.catch_warnings():  # genuine logits: silent
        warnings.simplefilter("error")
        CrossEntropyLoss()(backend.asarray(np.log(p) * 3), tb)


def test_single_class_logits_warn_and_binary_labels_point_to_bce(backend):
    x = backend.asarray(np.random.default_rng(17).standard_normal((4, 1)))
    with pytest.warns(UserWarning, match="single class.*always 0.*BCEWithLogitsLoss"):
        value = CrossEntropyLoss()(x, backend.asarray(np.zeros(4, dtype=np.int64)))
    assert float(backend.to_host(value)) == 0.0
    with pytest.raises(ValueError, match="target 1 out of range for 1 classes.*BCEWithLogitsLoss"):
        CrossEntropyLoss()(x, backend.asarray(np.array([0, 1, 1, 0])))


def test_reduced_values_are_zero_d_arrays_on_numpy():
    rng = np.random.default_rng(18)
    x, t = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    for value in (
        CrossEntropyLoss()(x, t),
        CrossEntropyLoss(reduction="sum").value_and_grad(x, t)[0],
        MSELoss()(x, x + 1),
        BCEWithLogitsLoss(reduction="sum")(x, np.ones_like(x)),
    ):
        assert isinstance(value, np.ndarray) and value.shape == ()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 3.12+: fork of a threaded process
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX's threads; the child uses NumPy
def test_thread_pool_survives_fork():
    """A forked child must not wait forever on the parent's (absent) pool threads."""
    import multiprocessing

    x = np.random.default_rng(19).standard_normal((64, 10_000)).astype(np.float32)
    t = np.zeros(64, dtype=np.int64)
    expected = float(CrossEntropyLoss()(x, t))  # starts the pool in the parent
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_ce_value, (x, t)).get(timeout=60)
    assert got == pytest.approx(expected, rel=1e-6)


def _ce_value(x, t):
    return float(CrossEntropyLoss().value_and_grad(x, t)[0])


def test_check_finite_switch(backend):
    x = np.array([[0.0, np.nan], [1.0, 2.0]])
    xb, tb = _on(backend, x, np.array([0, 1]))
    with pytest.raises(ValueError, match="1 NaN"):
        CrossEntropyLoss()(xb, tb)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = CrossEntropyLoss(check_finite=False, reduction="none")(xb, tb)
    v = backend.to_host(value)
    assert np.isnan(v[0]) and np.isfinite(v[1])
    yb = backend.asarray(np.zeros((2, 2)))
    assert np.isnan(backend.to_host(MSELoss(check_finite=False)(xb, yb)))


def test_infinite_logits_unchecked_give_pytorchs_nan_and_inf(backend):
    """check_finite=False lets inf through; the results are PyTorch 2.13's, not half-NaN rows.

    CE: a row holding +inf is NaN in value and in every gradient entry (inf - inf in the
    shift). BCE-with-logits written as (1 - y) x + softplus(-x): x=+inf, y=0 costs inf;
    x=-inf, y=1 and x=+inf, y=1 are 0 * inf = NaN; gradients sigmoid(x) - y.
    """
    x = np.array([[np.inf, 1.0, 2.0], [0.0, 1.0, 2.0]])
    xb, tb = _on(backend, x, np.array([1, 2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = CrossEntropyLoss(check_finite=False, reduction="none").value_and_grad(xb, tb)
    value, grad = backend.to_host(value), backend.to_host(grad)
    assert np.isnan(value[0]) and np.isnan(grad[0]).all()
    np.testing.assert_allclose(value[1], 0.40760596444438, rtol=1e-12)
    assert np.isfinite(grad[1]).all()

    logits = np.array([np.inf, -np.inf, np.inf, -np.inf])
    xb, yb = _on(backend, logits, np.array([0.0, 1.0, 1.0, 0.0]))
    for pos_weight, dgrad in ((None, [1.0, -1.0, 0.0, 0.0]), (2.0, [1.0, -2.0, 0.0, 0.0])):
        pw = None if pos_weight is None else backend.asarray(np.array(pos_weight))
        loss = BCEWithLogitsLoss(pos_weight=pw, reduction="none", check_finite=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the NaN from 0 * inf is intended: no warning
            v, g = loss.value_and_grad(xb, yb)
        v = backend.to_host(v)
        assert v[0] == np.inf and np.isnan(v[1:]).all()
        np.testing.assert_array_equal(backend.to_host(g), dgrad)


def test_probability_targets_keep_precision_on_large_logits(backend):
    """One-hot probability targets give the class-index loss, to float32 precision, at 2e4."""
    x = np.array([[2e4, 2e4 + 1, 2e4 - 1]])
    xb, tb = _on(backend, x, np.array([1]))
    xb = backend.xp.astype(xb, backend.xp.float32)
    onehot = backend.xp.astype(backend.asarray(np.array([[0.0, 1.0, 0.0]])), backend.xp.float32)
    ce = CrossEntropyLoss()
    by_index = float(backend.to_host(ce(xb, tb)))
    by_prob, grad = ce.value_and_grad(xb, onehot)
    np.testing.assert_allclose(by_index, 0.40760596, rtol=1e-6)  # torch 2.13: 0.40760595
    np.testing.assert_allclose(float(backend.to_host(by_prob)), by_index, rtol=1e-6)
    np.testing.assert_allclose(
        backend.to_host(grad), backend.to_host(ce.grad(xb, tb)), rtol=1e-6, atol=1e-7
    )


def test_reprs_and_exports():
    assert repr(CrossEntropyLoss(label_smoothing=0.1)) == (
        "CrossEntropyLoss(label_smoothing=0.1, reduction='mean')"
    )
    assert repr(HuberLoss(2.0, reduction="sum")) == "HuberLoss(delta=2.0, reduction='sum')"
    assert "check_finite=False" in repr(MSELoss(check_finite=False))
    for name in ("MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "BCELoss"):
        assert name in losskit.__all__ and hasattr(losskit, name)
    assert "BCEWithLogitsLoss" in losskit.__all__


def test_replace_rebuilds_a_loss_through_its_constructor():
    """``replace`` keeps a loss's options and changes what it is told, checked as at
    construction: the way batched runs get the per-sample losses of a configured loss."""
    rng = np.random.default_rng(21)
    x, t = rng.standard_normal((6, 3)), np.array([0, 1, 2, 1, -100, 0])
    ce = CrossEntropyLoss(np.array([1.0, 2.0, 0.5]), label_smoothing=0.2, reduction="sum")
    none = ce.replace(reduction="none", check_finite=False)
    assert type(none) is CrossEntropyLoss and none.options() == ce.options()
    assert none.reduction == "none" and not none.check_finite and ce.reduction == "sum"
    np.testing.assert_allclose(np.sum(none(x, t)), ce(x, t), rtol=1e-14)
    huber = HuberLoss(0.3).replace(reduction="none")
    assert huber.delta == 0.3 and huber.reduction == "none"
    with pytest.raises(ValueError, match=r"reduction must be one of \['mean', 'sum', 'none'\]"):
        ce.replace(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be <= 1"):
        ce.replace(label_smoothing=2.0)


def test_integer_and_bool_binary_targets_are_cast(backend):
    x = backend.asarray(np.array([0.5, -1.0, 2.0]))
    y_int = backend.asarray(np.array([1, 0, 1]))
    y_float = backend.asarray(np.array([1.0, 0.0, 1.0]))
    a = BCEWithLogitsLoss()(x, y_int)
    b = BCEWithLogitsLoss()(x, y_float)
    assert float(backend.to_host(a)) == float(backend.to_host(b))


# ---- fast paths --------------------------------------------------------------------------


def _factors(rng, n, with_c):
    ga, gb = rng.uniform(0.1, 2, n), rng.uniform(0.1, 2, n)
    gc = rng.uniform(0.0, 0.1, n) if with_c else None
    return ga, gb, gc


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("with_c", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_numpy_kernel_equals_generic(monkeypatch, threads, weighted, with_c, dtype):
    """Several row chunks (small CHUNK_BYTES) and the thread pool against the array-API path."""
    import array_api_strict as xs

    rng = np.random.default_rng(12)
    N, C = 37, 1000
    x = (rng.standard_normal((N, C)) * 5).astype(dtype)
    t = rng.integers(0, C, N)
    ga, gb, gc = (None if f is None else f.astype(dtype) for f in _factors(rng, N, with_c))
    w = rng.uniform(0.5, 2, C).astype(dtype) if weighted else None
    monkeypatch.setattr(_ce_numpy, "CHUNK_BYTES", 3 * C * np.dtype(dtype).itemsize)
    monkeypatch.setattr(_ce_numpy, "MIN_PARALLEL_ELEMENTS", 0)
    old = _ce_numpy.get_num_threads()
    _ce_numpy.set_num_threads(threads)
    try:
        fast = _ce_numpy.fused_value_and_grad(x, t, ga, gb, gc, w, want_zw=with_c)
    finally:
        _ce_numpy.set_num_threads(old)

    def s(a):
        return None if a is None else xs.asarray(a)

    slow = _generic_value_and_grad(s(x), s(t), s(ga), s(gb), s(gc), s(w), want_zw=with_c)
    tol = dict(rtol=2e-5, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-15)
    for a, b in zip(fast, slow, strict=True):
        if a is None:
            assert b is None
            continue
        np.testing.assert_allclose(a, np.asarray(b), **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_numpy_fast_path_equals_strict_generic_path(dtype, monkeypatch):
    import array_api_strict as xs

    monkeypatch.setattr(_ce_numpy, "CHUNK_BYTES", 1 << 14)
    rng = np.random.default_rng(13)
    x = rng.standard_normal((64, 3000)).astype(dtype) * 4
    t = rng.integers(0, 3000, 64)
    t[::7] = -100
    w = rng.uniform(0.5, 2, 3000)
    loss = CrossEntropyLoss(w, label_smoothing=0.05)
    v_np, g_np = loss.value_and_grad(x, t)
    v_s, g_s = loss.value_and_grad(xs.asarray(x), xs.asarray(t))
    tol = dict(rtol=1e-5, atol=1e-9) if dtype == "float32" else dict(rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(v_np, np.asarray(v_s), **tol)
    np.testing.assert_allclose(g_np, np.asarray(g_s), **tol)


def test_fused_path_on_non_contiguous_logits(monkeypatch):
    monkeypatch.setattr(_ce_numpy, "CHUNK_BYTES", 1 << 12)
    rng = np.random.default_rng(20)
    x = rng.standard_normal((300, 40))
    t = rng.integers(0, 40, 300)
    loss = CrossEntropyLoss(label_smoothing=0.1)
    expected = loss.value_and_grad(np.ascontiguousarray(x), t)
    for view in (np.asfortranarray(x), np.repeat(x, 2, axis=1)[:, ::2]):
        assert not view.flags.c_contiguous
        for a, b in zip(loss.value_and_grad(view, t), expected, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(loss(view, t), expected[0], rtol=1e-13)


def _cupy_or_skip():
    try:
        import cupy
    except Exception:
        pytest.skip("CuPy is not installed, so cupy.cuda.is_available() is False")
    if not cupy.cuda.is_available():
        pytest.skip("cupy.cuda.is_available() is False")
    return cupy


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("with_c", [False, True])
def test_cupy_kernel_equals_generic(weighted, with_c):
    cupy = _cupy_or_skip()
    from losskit.losses import _ce_cupy

    rng = np.random.default_rng(14)
    N, C = 33, 5000
    x = rng.standard_normal((N, C)).astype(np.float32) * 5
    t = rng.integers(0, C, N)
    ga, gb, gc = (None if f is None else f.astype(np.float32) for f in _factors(rng, N, with_c))
    w = rng.uniform(0.5, 2, C).astype(np.float32) if weighted else None

    def g(a):
        return None if a is None else cupy.asarray(a)

    args = (g(x), g(t), g(ga), g(gb), g(gc), g(w))
    fast = _ce_cupy.fused_value_and_grad(*args, want_zw=with_c)
    slow = _generic_value_and_grad(*args, want_zw=with_c)
    for a, b in zip(fast, slow, strict=True):
        if a is None:
            assert b is None
            continue
        np.testing.assert_allclose(cupy.asnumpy(a), cupy.asnumpy(b), rtol=2e-5, atol=1e-7)


# ---- memory (allocation counts, not timings) ---------------------------------------------


def _peak_bytes(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del out
    return peak


def test_numpy_forward_and_fused_gradient_memory():
    """Forward: one ~CHUNK_BYTES scratch per thread; value_and_grad: the gradient and no more."""
    rng = np.random.default_rng(15)
    x = rng.standard_normal((64, 100_000), dtype=np.float32)
    t = rng.integers(0, 100_000, 64)
    loss = CrossEntropyLoss(label_smoothing=0.1)
    loss.value_and_grad(x, t)  # warm-up (thread pool, caches)
    forward_peak = _peak_bytes(lambda: loss(x, t))
    assert forward_peak < 1.1 * _ce_numpy.get_num_threads() * _ce_numpy.CHUNK_BYTES + 2**16
    assert forward_peak < 0.25 * x.nbytes, forward_peak
    fused_peak = _peak_bytes(lambda: loss.value_and_grad(x, t))
    assert x.nbytes <= fused_peak < 1.1 * x.nbytes, fused_peak


def test_streaming_forward_memory_on_the_generic_path():
    import array_api_strict as xs

    rng = np.random.default_rng(16)
    x = xs.asarray(rng.standard_normal((64, 20_000)))
    t = xs.asarray(rng.integers(0, 20_000, 64))
    loss = CrossEntropyLoss(label_smoothing=0.1, chunk_size=1024)
    peak = _peak_bytes(lambda: loss(x, t))
    assert peak < 0.25 * 64 * 20_000 * 8, peak
