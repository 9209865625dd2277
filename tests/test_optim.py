"""SGD and Adam: PyTorch's update rules, Python-float learning rates, and clear rejections.

Adam is checked against stored ``torch.optim.Adam`` trajectories
(``tests/data/torch_adam.npz``, made by ``scripts/make_torch_reference.py``), so
the suite needs no torch.
"""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

import losskit
from losskit.optim import SGD, Adam

ADAM_REF = np.load(pathlib.Path(__file__).parent / "data" / "torch_adam.npz")
ADAM_CASES = sorted({key.split("/")[0] for key in ADAM_REF.files})


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


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ADAM_CASES)
def test_adam_matches_torch(case, dtype, backend, to_np):
    ref = {
        key.split("/", 2)[2]: ADAM_REF[key]
        for key in ADAM_REF.files
        if key.startswith(f"{case}/{dtype}/")
    }
    lr, eps, wd = (float(ADAM_REF[f"{case}/{k}"]) for k in ("lr", "eps", "weight_decay"))
    opt = Adam(lr, betas=tuple(ADAM_REF[f"{case}/betas"].tolist()), eps=eps, weight_decay=wd)
    xp_dtype = getattr(backend.xp, dtype)
    params = {k: backend.asarray(ref[f"{k}0"], dtype=xp_dtype) for k in ("W", "b")}
    rtol = {"float32": 1e-5, "float64": 1e-12}[dtype]
    for t in range(ref["grad_W"].shape[0]):
        grads = {k: backend.asarray(ref[f"grad_{k}"][t], dtype=xp_dtype) for k in params}
        opt.step(params, grads)
        for k, p in params.items():
            assert p.dtype == xp_dtype
            # after t + 1 steps of size about lr, compare the distance travelled, not the value
            np.testing.assert_allclose(
                to_np(p),
                ref[k][t],
                rtol=0,
                atol=rtol * (1 + abs(ref[f"{k}0"]).max()),
                err_msg=f"{case} {dtype}: {k} after step {t + 1}",
            )
    assert opt.n_steps == ref["grad_W"].shape[0]


def test_adam_first_step_is_lr_times_the_sign():
    # bias correction: after one step m/sqrt(v) = g/|g|, so every entry moves by lr (eps aside)
    params = {"w": np.array([1.0, 1.0, 1.0])}
    Adam(0.1).step(params, {"w": np.array([3.0, -0.002, 5e4])})
    np.testing.assert_allclose(params["w"], [0.9, 1.1, 0.9], rtol=1e-6)


def test_adam_ignores_the_loss_scale_up_to_eps():
    # gradients B times larger (a summed loss) give the same steps; eps = 0 makes it exact
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((5, 4))
    runs = {}
    for scale, eps in [(1.0, 0.0), (32.0, 0.0), (1.0, 1e-8), (32.0, 1e-8)]:
        params, opt = {"w": np.zeros(4)}, Adam(0.01, eps=eps)
        for g in grads:
            opt.step(params, {"w": scale * g})
        runs[scale, eps] = params["w"]
    np.testing.assert_allclose(runs[32.0, 0.0], runs[1.0, 0.0], rtol=1e-14)
    gap = np.abs(runs[32.0, 1e-8] - runs[1.0, 1e-8]).max()
    assert 0 < gap < 1e-6 * np.abs(runs[1.0, 1e-8]).max()  # eps / |g| per step, a few steps


def test_adam_replaces_arrays_and_reset_forgets(backend, to_np):
    w = backend.asarray(np.array([1.0]))
    params = {"w": w}
    snapshot = dict(params)
    opt = Adam(0.5)
    opt.step(params, {"w": backend.asarray(np.array([2.0]))})
    assert to_np(snapshot["w"])[0] == 1.0 and to_np(params["w"])[0] == pytest.approx(0.5)
    opt.step(params, {"w": backend.asarray(np.array([-2.0]))})
    opt.reset()
    assert opt.n_steps == 0 and not opt.m and not opt.v
    params = {"w": backend.asarray(np.array([1.0]))}
    opt.step(params, {"w": backend.asarray(np.array([2.0]))})  # a first step again: lr * sign
    assert to_np(params["w"])[0] == pytest.approx(0.5)


def test_adam_is_exported_and_keeps_lr_a_python_float():
    assert losskit.Adam is Adam and "Adam" in losskit.__all__
    opt = Adam(np.float32(0.5), betas=[np.float64(0.5), 0.25], eps=0, weight_decay=np.int64(1))
    assert type(opt.lr) is float and opt.betas == (0.5, 0.25)
    assert type(opt.eps) is float and type(opt.weight_decay) is float
    assert repr(opt) == "Adam(lr=0.5, betas=(0.5, 0.25), eps=0.0, weight_decay=1.0)"


@pytest.mark.parametrize(
    ("kwargs", "exc", "fragment"),
    [
        ({"lr": 0.0}, ValueError, "lr must be > 0"),
        ({"lr": "0.1"}, TypeError, "lr must be a real number > 0"),
        ({"lr": 0.1, "betas": 0.9}, TypeError, "betas must be a pair"),
        ({"lr": 0.1, "betas": (0.9,)}, TypeError, "betas must be a pair"),
        ({"lr": 0.1, "betas": "ab"}, TypeError, "betas must be a pair"),
        ({"lr": 0.1, "betas": (1.0, 0.999)}, ValueError, r"betas\[0\] must be < 1"),
        ({"lr": 0.1, "betas": (0.9, -0.1)}, ValueError, r"betas\[1\] must be >= 0"),
        ({"lr": 0.1, "betas": (0.9, math.nan)}, ValueError, "must be finite"),
        ({"lr": 0.1, "eps": -1e-8}, ValueError, "eps must be >= 0"),
        ({"lr": 0.1, "weight_decay": -1e-4}, ValueError, "weight_decay must be >= 0"),
    ],
)
def test_adam_invalid_settings_are_rejected(kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        Adam(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "exc", "fragment"),
    [
        ({"lr": 0.0}, ValueError, "lr must be > 0"),
        ({"lr": -0.1}, ValueError, "lr must be > 0"),
        ({"lr": math.nan}, ValueError, "got nan"),
        ({"lr": math.inf}, ValueError, "got inf"),
        ({"lr": "0.1"}, TypeError, "lr must be a real number > 0"),
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


@pytest.mark.parametrize("opt", [SGD(0.1), Adam(0.1)], ids=repr)
def test_step_checks_gradients(opt):
    name = type(opt).__name__
    with pytest.raises(ValueError, match=f"{name}.step: grads must have one entry per parameter"):
        opt.step({"w": np.zeros(2)}, {"v": np.zeros(2)})
    with pytest.raises(ValueError, match=f"{name}.step: gradient for 'w' has shape"):
        opt.step({"w": np.zeros(2)}, {"w": np.zeros(3)})
    assert opt.n_steps == 0
