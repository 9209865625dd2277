"""Shared fixtures: the backend matrix every array test runs over.

numpy; array_api_strict on its CPU device; array_api_strict on Device("device1")
(a stand-in GPU that refuses hidden host conversion); torch on the CPU (and on
CUDA where torch sees a GPU); jax on the CPU; cupy only where a CUDA GPU is usable
(importing CuPy succeeds without one, so ask cupy.cuda.is_available()). torch and
jax are in the dev extra, so CI runs them; elsewhere they skip, saying why.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

from losskit.backend import get_backend, probe

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci")


def _missing(module: str) -> str | None:
    """Why ``module`` cannot run the matrix here, or None when it can."""
    ok, why = probe(module)
    return None if ok else why


def _torch_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _cupy_usable() -> bool:
    try:
        import cupy
    except Exception:
        return False
    try:
        return bool(cupy.cuda.is_available())
    except Exception:
        return False


BACKEND_PARAMS = [
    pytest.param(("numpy", None), id="numpy"),
    pytest.param(("array_api_strict", None), id="strict-cpu"),
    pytest.param(("array_api_strict", "device1"), id="strict-device1"),
    pytest.param(
        ("torch", None),
        id="torch",
        marks=[
            pytest.mark.torch,
            pytest.mark.skipif(_missing("torch") is not None, reason=str(_missing("torch"))),
        ],
    ),
    pytest.param(
        ("torch", "cuda"),
        id="torch-cuda",
        marks=[
            pytest.mark.torch,
            pytest.mark.skipif(not _torch_cuda(), reason="torch.cuda.is_available() is False"),
        ],
    ),
    pytest.param(
        ("jax", None),
        id="jax",
        marks=[
            pytest.mark.jax,
            pytest.mark.skipif(_missing("jax") is not None, reason=str(_missing("jax"))),
        ],
    ),
    pytest.param(
        ("cupy", None),
        id="cupy",
        marks=pytest.mark.skipif(not _cupy_usable(), reason="cupy.cuda.is_available() is False"),
    ),
]


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request):
    """Each backend of the matrix in turn (a losskit.Backend)."""
    name, device = request.param
    return get_backend(name, device=device)


@pytest.fixture
def to_np(backend):
    """Host conversion for assertions: always through Backend.to_host."""
    return backend.to_host


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
