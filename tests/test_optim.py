"""SGD: PyTorch's update rule, Python-float learning rates, and clear rejections."""

from __future__ import annotations

import math

import numpy as np
import pytest

from losskit.optim import SGD


def test_plain_momentum_and_weight_decay_updates(backend, to_np):
    p0 = np.array([1.0, -2.0])
    g = np.array([0.5, 0.25])
    params = {"w": backend.asarray(p0)}
    SGD(0.1).step(params, {"w": backend.asarray(g)})
    np.testing.assert_allclose(to_np(params["w"]), p0 - 0.1 * g)

    opt = SGD(0.1, momentum=0.9, weight_decay=0.01)
    params = {"w": backend.asarray(p0)}
    p, v = p0.copy(), None
    for _ in range(3):  # the torch.optim.SGD recurrence, written out on the host
        d = g + 0.01 * p
        v = d if v is None else 0.9 * v + d
        p = p - 0.1 * v
        opt.step(params, {"w": backend.asarray(g)})
    np.testing.assert_allclose(to_np(params["w"]), p, rtol=1e-15)
    assert opt.n_steps == 3


def test_step_replaces_arrays_instead_of_mutating(backend, to_np):
    w = backend.asarray(np.array([1.0]))
    params = {"w": w}
    snapshot = dict(params)
    SGD(1.0).step(params, {"w": backend.asarray(np.array([1.0]))})
    assert to_np(snapshot["w"])[0] == 1.0 and to_np(params["w"])[0] == 0.0


def test_lr_stays_a_python_float():
    opt = SGD(np.float32(0.5))
    assert type(opt.lr) is float and opt.lr == 0.5


@pytest.mark.parametrize(
    ("kwargs", "exc", "fragment"),
    [
        ({"lr": 0.0}, ValueError, "finite number > 0"),
        ({"lr": -0.1}, ValueError, "finite number > 0"),
        ({"lr": math.nan}, ValueError, "got nan"),
        ({"lr": math.inf}, ValueError, "got inf"),
        ({"lr": "0.1"}, TypeError, "positive real number"),
        ({"lr": None}, TypeError, "got NoneType"),
        ({"lr": True}, TypeError, "got bool"),
        ({"lr": 0.1, "momentum": 1.0}, ValueError, "momentum must be < 1"),
        ({"lr": 0.1, "momentum": -0.5}, ValueError, "momentum must be >= 0"),
        ({"lr": 0.1, "weight_decay": -1e-4}, ValueError, "weight_decay must be >= 0"),
    ],
)
def test_invalid_settings_are_rejected(kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        SGD(**kwargs)


def test_step_checks_gradients():
    opt = SGD(0.1)
    with pytest.raises(ValueError, match="one entry per parameter"):
        opt.step({"w": np.zeros(2)}, {"v": np.zeros(2)})
    with pytest.raises(ValueError, match="has shape"):
        opt.step({"w": np.zeros(2)}, {"w": np.zeros(3)})
