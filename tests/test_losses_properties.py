"""Algebraic properties of the losses, over random shapes and values (hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from losskit import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    log_softmax,
)

finite = st.floats(-30, 30, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def logits_and_targets(draw, max_n=12, max_c=9):
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(2, max_c))
    x = draw(hnp.arrays(np.float64, (n, c), elements=finite))
    t = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return x, t


@st.composite
def pairs(draw, low=-30.0, high=30.0):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    elems = st.floats(low, high, allow_nan=False, width=64)
    return draw(hnp.arrays(np.float64, shape, elements=elems)), draw(
        hnp.arrays(np.float64, shape, elements=elems)
    )


def _quiet(fn, *args):
    """Call ``fn`` with the softmax-as-logits warning silenced (random rows may sum to 1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args)


@given(logits_and_targets(), st.floats(0, 1), st.booleans())
def test_cross_entropy_is_nonnegative(xt, eps, weighted):
    x, t = xt
    w = np.linspace(0.5, 2.0, x.shape[1]) if weighted else None
    v = _quiet(CrossEntropyLoss(w, label_smoothing=eps, reduction="none"), x, t)
    assert np.all(v >= -1e-12)


@given(logits_and_targets(), st.floats(-1e3, 1e3), st.floats(0, 0.5))
def test_cross_entropy_is_shift_invariant(xt, k, eps):
    x, t = xt
    loss = CrossEntropyLoss(label_smoothing=eps, reduction="none")
    v0, g0 = _quiet(loss.value_and_grad, x, t)
    v1, g1 = _quiet(loss.value_and_grad, x + k, t)
    # shifting by k rounds the logits by about ulp(|x| + |k|)
    tol = 8 * np.finfo(np.float64).eps * (np.abs(x).max() + abs(k)) * x.shape[1]
    np.testing.assert_allclose(v1, v0, atol=tol + 1e-12, rtol=1e-12)
    np.testing.assert_allclose(g1, g0, atol=tol + 1e-12)


@given(logits_and_targets())
def test_no_smoothing_is_minus_log_softmax_of_target(xt):
    x, t = xt
    expected = -np.take_along_axis(log_softmax(x), t[:, None], axis=1)[:, 0]
    v = _quiet(CrossEntropyLoss(label_smoothing=0.0, reduction="none"), x, t)
    np.testing.assert_allclose(v, expected, rtol=1e-12, atol=1e-12)


@given(logits_and_targets(), st.floats(0, 1))
def test_smoothed_indices_equal_smoothed_one_hot_probabilities(xt, eps):
    x, t = xt
    loss = CrossEntropyLoss(np.linspace(0.5, 2, x.shape[1]), label_smoothing=eps)
    onehot = np.eye(x.shape[1])[t]
    w_y = np.linspace(0.5, 2, x.shape[1])[t]
    v_idx, g_idx = _quiet(loss.value_and_grad, x, t)
    v_sum, g_sum = _quiet(
        CrossEntropyLoss(loss.weight, label_smoothing=eps, reduction="sum").value_and_grad,
        x,
        onehot,
    )
    # the index form's mean divides by sum w[y]; the probability form by N
    np.testing.assert_allclose(v_idx, v_sum / w_y.sum(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g_idx, g_sum / w_y.sum(), rtol=1e-10, atol=1e-12)


@given(logits_and_targets(), st.sampled_from([None, "weighted"]), st.floats(0, 1))
def test_cross_entropy_sum_is_mean_times_weight_total(xt, weighted, eps):
    x, t = xt
    t = t.copy()
    t[::3] = -100
    assume(np.any(t != -100))
    w = np.linspace(0.5, 2.0, x.shape[1]) if weighted else None
    kept = t[t != -100]
    count = kept.size if w is None else w[kept].sum()
    mean = CrossEntropyLoss(w, label_smoothing=eps)
    total = CrossEntropyLoss(w, label_smoothing=eps, reduction="sum")
    vm, gm = _quiet(mean.value_and_grad, x, t)
    vs, gs = _quiet(total.value_and_grad, x, t)
    np.testing.assert_allclose(vs, vm * count, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gs, gm * count, rtol=1e-10, atol=1e-12)


LOSSES = [
    MSELoss,
    L1Loss,
    lambda reduction: HuberLoss(0.7, reduction=reduction),
    BCEWithLogitsLoss,
]


@given(pairs(), st.sampled_from(range(len(LOSSES))))
def test_elementwise_sum_is_mean_times_count(xy, which):
    x, y = xy
    if which == 3:
        y = 1 / (1 + np.exp(-y))  # targets in [0, 1]
    make = LOSSES[which]
    vm, gm = make(reduction="mean").value_and_grad(x, y)
    vs, gs = make(reduction="sum").value_and_grad(x, y)
    vn, gn = make(reduction="none").value_and_grad(x, y)
    np.testing.assert_allclose(vs, vm * x.size, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(vs, vn.sum(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gs, gm * x.size, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(gs, gn)


@given(pairs(low=-10.0, high=10.0))
def test_bce_with_logits_equals_bce_of_sigmoid_away_from_saturation(xy):
    x, y = xy
    y = 1 / (1 + np.exp(-y))
    p = 1 / (1 + np.exp(-x))
    v_logits = BCEWithLogitsLoss(reduction="none")(x, y)
    v_probs = BCELoss(reduction="none")(p, y)
    np.testing.assert_allclose(v_logits, v_probs, rtol=1e-9, atol=1e-9)
    # chain rule: d/dx BCE(sigmoid(x)) = BCE'(p) p (1 - p)
    g_probs = BCELoss(reduction="none").grad(p, y) * p * (1 - p)
    np.testing.assert_allclose(
        BCEWithLogitsLoss(reduction="none").grad(x, y), g_probs, rtol=1e-7, atol=1e-9
    )


@given(pairs())
def test_huber_with_a_huge_delta_is_half_mse(xy):
    x, y = xy
    # subnormal squares round differently in (0.5 d) d and 0.5 (d d): atol below float64's tiny
    huber, half_mse = HuberLoss(1e6)(x, y), 0.5 * MSELoss()(x, y)
    np.testing.assert_allclose(huber, half_mse, rtol=1e-12, atol=np.finfo(np.float64).tiny)


@given(logits_and_targets(), st.sampled_from(["mean", "sum", "none"]), st.floats(0, 1))
def test_value_and_grad_equals_loss_and_grad(xt, reduction, eps):
    x, t = xt
    loss = CrossEntropyLoss(np.linspace(1, 2, x.shape[1]), label_smoothing=eps, reduction=reduction)
    value, grad = _quiet(loss.value_and_grad, x, t)
    np.testing.assert_allclose(value, _quiet(loss, x, t), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(grad, _quiet(loss.grad, x, t))


@given(logits_and_targets())
def test_cross_entropy_gradient_rows_sum_to_zero_without_weights(xt):
    x, t = xt
    g = _quiet(CrossEntropyLoss(label_smoothing=0.3).grad, x, t)
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-14)
