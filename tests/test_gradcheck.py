"""losskit.gradcheck: central differences and CS231n relative error, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from losskit import gradcheck

LOSSES = [
    (losskit.MSELoss, "reg"),
    (losskit.L1Loss, "reg"),
    (losskit.HuberLoss, "reg"),
    (losskit.BCELoss, "prob"),
    (losskit.BCEWithLogitsLoss, "bin"),
    (losskit.CrossEntropyLoss, "idx"),
]


def _case(kind, rng):
    if kind == "idx":
        return rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    if kind == "prob":
        return rng.uniform(0.2, 0.8, (5,)), rng.integers(0, 2, 5).astype(float)
    if kind == "bin":
        return rng.standard_normal((5,)), rng.integers(0, 2, 5).astype(float)
    # keep |x - y| away from the kinks of L1 and Huber (finite differences straddle them)
    x = rng.standard_normal((5,))
    return x, x + rng.choice([-1, 1], 5) * rng.uniform(0.3, 2.0, 5)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("cls", "kind"), LOSSES, ids=[c.__name__ for c, _ in LOSSES])
def test_every_loss_passes_on_every_backend(backend, cls, kind, reduction, rng):
    x, y = _case(kind, rng)
    xb = backend.asarray(x, dtype=backend.xp.float64)
    yb = backend.asarray(y) if kind == "idx" else backend.asarray(y, dtype=backend.xp.float64)
    loss = cls(reduction=reduction)
    res = gradcheck(lambda z: loss.value_and_grad(z, yb), xb)
    assert res.passed, res.verdict
    assert res.max_rel_error < 1e-6
    assert res.overall_rel_error < 1e-8


def test_model_backward_passes(backend):
    model = losskit.MLP(3, 4, 2, seed=0, backend=backend, dtype=backend.xp.float64)
    X = backend.asarray(np.random.default_rng(1).standard_normal((6, 3)), dtype=backend.xp.float64)
    y = backend.asarray(np.array([0, 1, 1, 0, 1, 0]))
    loss = losskit.CrossEntropyLoss()
    W1 = model.params["W1"]

    def f(w):
        model.params["W1"] = w
        value, g = loss.value_and_grad(model.forward(X), y)
        return value, model.backward(X, g)["W1"]

    res = gradcheck(f, W1)
    model.params["W1"] = W1
    assert res.passed, res.verdict


def test_wrong_gradient_fails_with_worst_element():
    x = np.array([1.0, -2.0, 3.0])
    res = gradcheck(lambda z: (z**2).sum(), x, grad=lambda z: z)  # missing the factor 2
    assert not res.passed
    assert res.rel_error == pytest.approx(np.full(3, 0.5), rel=1e-8)
    assert res.overall_rel_error == pytest.approx(0.5, rel=1e-8)
    assert "WRONG" in res.verdict and "missing factor" in res.verdict
    assert res.worst_index in {(0,), (1,), (2,)}


def test_one_wrong_element_is_the_worst():
    x = np.arange(6.0).reshape(2, 3)
    g = 2 * x
    g[1, 2] += 1.0
    res = gradcheck(lambda z: (z**2).sum(), x, grad=g)
    assert res.worst_index == (1, 2)
    assert res.rel_error[1, 2] == pytest.approx(1 / 11, rel=1e-6)
    assert not res.passed


def test_zero_gradient_judged_by_absolute_error():
    res = gradcheck(lambda z: (z**3).sum(), np.zeros(3), grad=np.zeros(3))
    assert res.passed


def test_float32_input_checked_in_float64():
    x = np.array([0.3, 0.7], dtype=np.float32)
    res = gradcheck(lambda z: (z**2).sum(), x, grad=lambda z: 2 * z)
    assert res.passed and res.max_rel_error < 1e-8


def test_errors_explain():
    with pytest.raises(ValueError, match="no analytic gradient"):
        gradcheck(lambda z: (z**2).sum(), np.ones(2))
    with pytest.raises(ValueError, match="one number"):
        gradcheck(lambda z: z**2, np.ones(2), grad=np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        gradcheck(lambda z: (z**2).sum(), np.ones(2), grad=np.ones(3))
    with pytest.raises(TypeError, match="array"):
        gradcheck(lambda z: z, [1.0, 2.0], grad=[1.0, 1.0])
