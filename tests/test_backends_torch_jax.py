"""PyTorch and JAX as real backends: devices, host transfer, and losses equal to torch.nn live.

The backend matrix (conftest.py) already runs every loss, the training loop and
the experiments on ``torch`` and ``jax``. Here: what is particular to them.
torch and jax are in the dev extra; where one is missing its tests skip, saying so.
"""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pytest

import losskit
from losskit.backend import backend_of, get_backend, probe

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")
jax = pytest.importorskip("jax", reason="JAX is not installed (pip install jax)")

DATA = pathlib.Path(__file__).parent / "data"
INDEX = json.loads((DATA / "torch_reference.json").read_text())
REF = np.load(DATA / "torch_reference.npz")


def test_both_are_listed_and_chosen_by_name(monkeypatch):
    assert {"torch", "jax"} <= set(losskit.available_backends())
    assert probe("torch") == (True, "") and probe("jax") == (True, "")
    monkeypatch.setenv("LOSSKIT_BACKEND", "torch")
    assert get_backend("auto").name == "torch"
    monkeypatch.setenv("LOSSKIT_BACKEND", "jax,numpy")
    assert get_backend().name == "jax"


def test_torch_backend_on_the_cpu():
    b = get_backend("torch")
    assert b.device == torch.device("cpu") and not b.is_gpu
    assert b.default_dtype == torch.float64
    x = b.asarray(np.arange(3.0), dtype=b.xp.float32)
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    assert backend_of(x).name == "torch" and backend_of(x).device == b.device


def test_torch_to_host_takes_tensors_that_require_grad():
    b = get_backend("torch")
    leaf = torch.arange(4.0, dtype=torch.float64, requires_grad=True)
    y = leaf * 2  # part of an autograd graph: numpy() alone would refuse it
    host = b.to_host(y)
    assert isinstance(host, np.ndarray) and host.tolist() == [0.0, 2.0, 4.0, 6.0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is usable here")
def test_torch_cuda_without_a_gpu_is_explained():
    with pytest.raises(ValueError, match="asks for CUDA, but none is usable here"):
        get_backend("torch", device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="torch.cuda.is_available() is False")
def test_torch_cuda_backend_and_host_transfer():
    b = get_backend("torch", device="cuda")
    assert b.is_gpu and b.default_dtype == torch.float32
    x = b.asarray(np.arange(3.0))
    assert x.device.type == "cuda"
    b.synchronize()
    np.testing.assert_array_equal(b.to_host(x), [0.0, 1.0, 2.0])


def test_jax_backend_keeps_float64():
    b = get_backend("jax")
    assert not b.is_gpu and b.default_dtype == b.xp.float64
    x = b.asarray(np.array([1.0, 2.0 + 2**-40]))
    assert x.dtype == b.xp.float64  # jax_enable_x64: no silent float32
    host = b.to_host(x)
    assert host.dtype == np.float64 and host[1] == 2.0 + 2**-40
    host[0] = 5.0  # a writable copy: results are the caller's
    b.synchronize()


def test_unknown_jax_device_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"jax has no device 7; expected None or 'cpu'"):
        get_backend("jax", device=7)


def _torch_nn(case, x, y, arrays, reduction):
    """torch.nn's value and autograd gradient (of the sum, for "none")."""
    leaf = x.detach().clone().requires_grad_(True)
    loss = getattr(torch.nn, case["loss"])(**case["options"], **arrays, reduction=reduction)
    value = loss(leaf, y)
    (value.sum() if reduction == "none" else value).backward()
    return value.detach(), leaf.grad


@pytest.mark.parametrize("name", sorted(INDEX["cases"]))
def test_losses_on_torch_tensors_equal_torch_nn(name):
    """On the same float64 tensors, within float64 rounding of torch.nn computed now."""
    case = INDEX["cases"][name]
    key = f"{name}/float64"
    x = torch.from_numpy(REF[f"{key}/input"])
    y = torch.from_numpy(REF[f"{key}/target"])
    arrays = {k: torch.from_numpy(REF[f"{key}/{k}"]) for k in case["array_options"]}
    for reduction in ("mean", "sum", "none"):
        ours = getattr(losskit, case["loss"])(**case["options"], **arrays, reduction=reduction)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # all-ignored and one-class cases
            value, grad = ours.value_and_grad(x, y)
        want_value, want_grad = _torch_nn(case, x, y, arrays, reduction)
        assert isinstance(value, torch.Tensor) and isinstance(grad, torch.Tensor)
        assert value.dtype == grad.dtype == torch.float64
        for got, want in ((value, want_value), (grad, want_grad)):
            scale = float(want.abs().nan_to_num(0.0).max()) if want.numel() else 0.0
            np.testing.assert_allclose(
                got.numpy(),
                want.numpy(),
                rtol=1e-12,
                atol=1e-12 * scale,
                equal_nan=True,
                err_msg=f"{name} {reduction}",
            )
