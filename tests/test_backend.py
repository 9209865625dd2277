"""losskit.backend: names, "auto" and LOSSKIT_BACKEND, fallbacks, host round trips, seeded draws."""

from __future__ import annotations

import dataclasses
import warnings

import array_api_compat
import numpy as np
import pytest

import losskit.backend as backend_mod
from losskit.backend import (
    Backend,
    BackendFallbackWarning,
    available_backends,
    backend_of,
    errstate,
    get_backend,
)

ENV = "LOSSKIT_BACKEND"
CUPY_USABLE = backend_mod.probe("cupy")[0]
no_gpu_here = pytest.mark.skipif(CUPY_USABLE, reason="CuPy has a GPU here; fallback not reachable")


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    return monkeypatch


@pytest.fixture
def cupy_without_gpu(clean_env):
    """Pretend CuPy imports but finds no GPU (the hub CPU image with the GPU extra installed)."""
    no_gpu = dataclasses.replace(
        backend_mod.ADAPTERS["cupy"],
        probe=lambda: (False, "CuPy is installed but no CUDA GPU is usable here"),
    )
    clean_env.setitem(backend_mod.ADAPTERS, "cupy", no_gpu)
    return clean_env


def test_available_backends_here():
    names = available_backends()
    assert names[0] == "numpy"
    assert "array_api_strict" in names
    assert ("cupy" in names) == CUPY_USABLE


def test_numpy_backend():
    b = get_backend("numpy")
    assert b.name == "numpy" and b.device is None and not b.is_gpu
    assert array_api_compat.is_numpy_namespace(b.xp)
    assert b.default_dtype == np.float64
    assert repr(b) == "Backend('numpy')"
    b.synchronize()  # a no-op on the CPU


def test_array_api_strict_backend_and_devices():
    import array_api_strict as xps

    cpu = get_backend("array_api_strict")
    dev1 = get_backend("array_api_strict", device="device1")
    assert cpu.xp is xps and cpu.device == xps.Device("CPU_DEVICE")
    assert dev1.device == xps.Device("device1")
    assert cpu.default_dtype == xps.float64 and not dev1.is_gpu
    assert "device1" in repr(dev1)


@pytest.mark.parametrize("spelling", [" NumPy ", "NUMPY", "array-api-strict", "Array_API_Strict"])
def test_names_are_normalised(spelling):
    assert get_backend(spelling).name == spelling.strip().lower().replace("-", "_")


def test_backend_instance_passes_through():
    b = get_backend("array_api_strict", device="device1")
    assert get_backend(b) is b


def test_non_string_name_is_a_type_error():
    with pytest.raises(TypeError, match=r"backend must be a name \(str\) or a Backend; got int"):
        get_backend(3)


def test_unknown_name():
    with pytest.raises(
        ValueError, match=r"unknown backend 'mxnet': expected one of \['numpy', 'array_api_strict'"
    ):
        get_backend("mxnet")


def test_numpy_has_only_the_cpu_device():
    with pytest.raises(ValueError, match="only the 'cpu' device"):
        get_backend("numpy", device="gpu0")


@no_gpu_here
def test_numpy_integer_device_is_a_device(clean_env):
    with pytest.warns(BackendFallbackWarning, match="does not apply"):
        assert get_backend("auto", device=np.int64(0)).name == "numpy"


@pytest.mark.parametrize("device", [[0], True, 1.5])
def test_device_of_the_wrong_kind_is_a_type_error(device):
    with pytest.raises(TypeError, match="device must be None, a GPU number .* or a device name"):
        get_backend("numpy", device=device)


def test_unknown_array_api_strict_device_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"array_api_strict has no device 'gpu7'; .*'device1'"):
        get_backend("array_api_strict", device="gpu7")


@no_gpu_here
def test_auto_falling_back_says_the_device_does_not_apply(clean_env):
    with pytest.warns(BackendFallbackWarning, match=r"on the CPU \(device=1 does not apply\)"):
        assert get_backend("auto", device=1).name == "numpy"


@pytest.mark.parametrize("value", [",", " , ,"])
def test_env_with_no_name_is_explained(clean_env, value):
    clean_env.setenv(ENV, value)
    with pytest.raises(ValueError, match="names no backend: expected a name or a comma"):
        get_backend("auto")


def test_auto_without_env_is_numpy_here(clean_env):
    if CUPY_USABLE:
        assert get_backend("auto").name == "cupy"
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # CuPy absent: NumPy without any warning
        assert get_backend("auto").name == "numpy"
        assert get_backend().name == "numpy"


def test_auto_warns_when_cupy_is_installed_without_gpu(cupy_without_gpu):
    with pytest.warns(
        BackendFallbackWarning, match="no CUDA GPU is usable here; computing with NumPy"
    ):
        assert get_backend("auto").name == "numpy"


@pytest.mark.parametrize(
    "value", ["array_api_strict", " array_api_strict ", "ARRAY_API_STRICT", "array-api-strict"]
)
def test_auto_honours_env(clean_env, value):
    clean_env.setenv(ENV, value)
    assert get_backend("auto").name == "array_api_strict"
    assert get_backend("numpy").name == "numpy"  # an explicit name wins over the env


def test_env_auto_means_default_choice(clean_env):
    clean_env.setenv(ENV, "auto")
    assert get_backend("auto").name == ("cupy" if CUPY_USABLE else "numpy")


@no_gpu_here
def test_cupy_unusable_names_available_backends_and_why(clean_env):
    with pytest.raises(ValueError) as info:
        get_backend("cupy")
    msg = str(info.value)
    assert "backend 'cupy' is not usable here" in msg
    assert "CuPy is not installed" in msg or "no CUDA GPU" in msg  # the why
    assert "Available backends: 'numpy', 'array_api_strict'" in msg
    assert ENV in msg  # the fix


@no_gpu_here
def test_env_single_unusable_name_raises(clean_env):
    clean_env.setenv(ENV, "cupy")
    with pytest.raises(ValueError, match=r"not usable here.*from LOSSKIT_BACKEND='cupy'"):
        get_backend("auto")


@no_gpu_here
@pytest.mark.parametrize(
    ("prefs", "want"), [("cupy,numpy", "numpy"), ("cupy, array_api_strict", "array_api_strict")]
)
def test_preference_list_falls_back_with_warning(clean_env, prefs, want):
    clean_env.setenv(ENV, prefs)
    with pytest.warns(
        BackendFallbackWarning, match=rf"'cupy' is not usable.*falling back to '{want}'"
    ):
        assert get_backend("auto").name == want


def test_preference_list_first_usable_wins_silently(clean_env):
    clean_env.setenv(ENV, "array_api_strict,numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert get_backend("auto").name == "array_api_strict"


@pytest.mark.parametrize("value", ["numpy,tensorflow", "tensorflow,numpy", "tensorflow"])
def test_env_unknown_name_anywhere_in_the_list(clean_env, value):
    """A typo after a usable name must not be ignored."""
    clean_env.setenv(ENV, value)
    with pytest.raises(
        ValueError, match=rf"LOSSKIT_BACKEND='{value}' names unknown backend 'tensorflow'"
    ):
        get_backend("auto")


@no_gpu_here
def test_env_none_usable(cupy_without_gpu):
    cupy_without_gpu.setenv(ENV, "cupy,cupy")
    with pytest.raises(
        ValueError, match="none of the backends in LOSSKIT_BACKEND='cupy,cupy' is usable"
    ):
        get_backend("auto")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_asarray_to_host_round_trip(backend, dtype):
    host = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    x = backend.asarray(host)
    assert x.dtype == getattr(backend.xp, dtype)
    assert backend_of(x).device == backend.device
    back = backend.to_host(x)
    assert isinstance(back, np.ndarray) and back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, host)
    # asarray(dtype=...) converts; an array already on the backend is accepted again
    y = backend.asarray(host, dtype=backend.xp.float32)
    assert y.dtype == backend.xp.float32
    np.testing.assert_array_equal(backend.to_host(backend.asarray(y)), host.astype(np.float32))


def test_asarray_scalars_and_lists(backend):
    x = backend.asarray([1.5, 2.5], dtype=backend.xp.float64)
    np.testing.assert_array_equal(backend.to_host(x), [1.5, 2.5])
    s = backend.asarray(3.0, dtype=backend.xp.float32)
    assert s.ndim == 0 and float(backend.to_host(s)) == 3.0
    assert backend.to_host(2.0) == 2.0 and backend.to_host([1, 2]).tolist() == [1, 2]


def test_device1_refuses_silent_host_conversion_but_to_host_works():
    b = get_backend("array_api_strict", device="device1")
    x = b.asarray(np.arange(3.0))
    with pytest.raises(RuntimeError, match="device1"):
        np.asarray(x)
    np.testing.assert_array_equal(b.to_host(x), [0.0, 1.0, 2.0])


def test_one_seed_same_draws_on_every_backend(backend):
    want = np.random.default_rng(7).standard_normal((4, 3)) * 2.0
    got = backend.to_host(backend.normal(7, (4, 3), dtype=backend.xp.float64, scale=2.0))
    np.testing.assert_array_equal(got, want)  # bitwise: drawn on the host, then moved
    ref32 = backend.to_host(get_backend("numpy").normal(7, (4, 3), dtype=np.float32))
    got32 = backend.to_host(backend.normal(7, (4, 3), dtype=backend.xp.float32))
    np.testing.assert_array_equal(got32, ref32)


def test_rng_passes_generators_through_and_default_dtype_draws(backend):
    gen = np.random.default_rng(1)
    assert backend.rng(gen) is gen
    a = backend.to_host(backend.rng(5).random(3))
    np.testing.assert_array_equal(a, np.random.default_rng(5).random(3))
    x = backend.normal(0, (2,))
    assert x.dtype == backend.default_dtype


def test_default_dtype_is_float32_on_a_gpu():
    fake_gpu = Backend("cupy", get_backend("numpy").xp, 0, True)
    assert fake_gpu.default_dtype == np.float32


def test_backend_of_recovers_the_backend(backend):
    x = backend.asarray(np.ones(2))
    found = backend_of(x)
    assert found.name == backend.name
    if backend.device is not None:
        assert found.device == backend.device
    np.testing.assert_array_equal(found.to_host(x), [1.0, 1.0])


def test_errstate_silences_numpy_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with errstate(over="ignore"):
            assert np.exp(np.float32(100.0)) == np.inf
    with errstate():
        pass
