"""Which array library losskit computes with, on which device, and the way back to the host.

Every layer above this one is written once against the Python array API
(``xp = array_namespace(x)``); a :class:`Backend` only says where arrays are
*created* (namespace + device), how seeded host randomness reaches that device,
and how results come back to NumPy for plotting (:meth:`Backend.to_host`).

Each library losskit can create arrays with is one :class:`Adapter` in
:data:`ADAPTERS` (probe, namespace, device, asarray, to_host, synchronize,
default dtype), and nothing else in losskit names libraries: ``"numpy"`` (always),
``"array_api_strict"`` (the reference array-API library, used by the tests; its
``device="device1"`` is a stand-in GPU that refuses silent host conversion),
``"cupy"`` (a usable CUDA GPU), ``"torch"`` (PyTorch, on its CPU or a CUDA device)
and ``"jax"`` (JAX, with ``jax_enable_x64`` turned on so float64 is float64).
``"auto"`` reads ``LOSSKIT_BACKEND`` (a name, or a comma-separated preference list
such as ``"cupy,numpy"`` that may fall back), else picks CuPy when a GPU is
usable, else NumPy.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import numbers
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy

from ._argcheck import check_seed

__all__ = [
    "ADAPTERS",
    "Adapter",
    "Backend",
    "BackendFallbackWarning",
    "available_backends",
    "backend_of",
    "errstate",
    "get_backend",
    "probe",
    "quiet",
]

ENV_VAR = "LOSSKIT_BACKEND"


class BackendFallbackWarning(UserWarning):
    """losskit used another backend than the one asked for or expected."""


# ----- the adapters: everything losskit knows about each array library ----------------


@dataclass(frozen=True)
class Adapter:
    """One array library, as losskit uses it.

    - ``probe()`` -> ``(usable, why not)``: can it compute here (imports, a device)?
    - ``namespace()``: its array-API namespace (through array-api-compat);
    - ``device(xp, requested)``: the device to create arrays on for ``get_backend(...,
      device=requested)``; a ``ValueError`` names the valid ones;
    - ``asarray(xp, obj, dtype, device)``: host data or one of its arrays, on ``device``;
    - ``to_host(x)``: a ``numpy.ndarray`` (the one way results leave a device);
    - ``synchronize(device)``: wait for queued device work (timings);
    - ``is_gpu(device)``; the default dtype is float32 on a GPU, float64 elsewhere;
    - ``owns(x)``: whether ``x`` is one of its arrays (:func:`backend_of`);
    - ``sequential_scan``: its ``cumulative_sum`` adds left to right, one rounding per
      element (NumPy); a parallel scan (CuPy, PyTorch, JAX) rounds in a tree order;
    - ``numpy_memory``: its arrays are NumPy allocations, which :mod:`tracemalloc` sees.
    """

    name: str
    probe: Callable[[], tuple[bool, str]]
    namespace: Callable[[], Any]
    owns: Callable[[Any], bool]
    device: Callable[[Any, Any], Any] = lambda xp, requested: None
    asarray: Callable[..., Any] = lambda xp, obj, dtype, device: xp.asarray(
        obj, dtype=dtype, device=device
    )
    to_host: Callable[[Any], numpy.ndarray] = numpy.asarray
    synchronize: Callable[[Any], None] = lambda device: None
    is_gpu: Callable[[Any], bool] = lambda device: False
    sequential_scan: bool = False
    numpy_memory: bool = False


def _importable(module: str, install: str, label: str = "") -> tuple[bool, str]:
    """Whether ``module`` imports; if not, why (``label``: its name in the message)."""
    label = label or module
    try:
        importlib.import_module(module)
    except ImportError:
        return False, f"{label} is not installed (pip install {install})"
    except Exception as exc:  # a broken install raises at import
        return False, f"{label} failed to import: {exc}"
    return True, ""


def _numpy_device(xp, requested):
    if requested not in (None, "cpu"):
        raise ValueError(f"the numpy backend has only the 'cpu' device; got device={requested!r}")
    return None


def _strict_device(xp, requested):
    if isinstance(requested, xp.Device):
        return requested
    if requested in (None, "cpu", "CPU_DEVICE"):
        return xp.Device("CPU_DEVICE")
    try:
        return xp.Device(requested)
    except ValueError:
        names = [str(d).split("'")[1] for d in xp.__array_namespace_info__().devices()]
        raise ValueError(
            f"array_api_strict has no device {requested!r}; expected one of {names} "
            f"('device1' stands in for a GPU in losskit's tests)."
        ) from None


def _strict_asarray(xp, obj, dtype, device):
    if isinstance(obj, numpy.ndarray):  # host data only lands on its CPU device: move it
        return xp.asarray(obj, dtype=dtype).to_device(device)
    return xp.asarray(obj, dtype=dtype, device=device)


def _strict_to_host(x):
    return numpy.asarray(x.to_device(array_api_compat.array_namespace(x).Device("CPU_DEVICE")))


@functools.cache
def _probe_cupy() -> tuple[bool, str]:
    """CuPy imports, sees a GPU, and compiles a kernel (once per process).

    The compile is checked here, not mid-lesson: CuPy builds its kernels at run time
    with NVRTC and the CUDA headers, which CuPy >= 14 no longer bundles; without them
    the first reduction fails with a ``CompileException``.
    """
    ok, why = _importable("cupy", "'losskit[gpu]'", "CuPy")
    if not ok:
        return False, why
    cupy = importlib.import_module("cupy")
    try:
        if not cupy.cuda.is_available():
            return False, "CuPy is installed but no CUDA GPU is usable here"
    except Exception as exc:
        return False, f"CuPy cannot reach a GPU: {exc}"
    try:
        kernel = cupy.ElementwiseKernel("T x", "T y", "y = exp(x)", "losskit_probe")
        kernel(cupy.zeros(1, dtype=cupy.float32))
        cupy.cuda.Device().synchronize()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
        return False, (
            f"CuPy sees a GPU but cannot compile a kernel ({type(exc).__name__}: {first}); "
            f"install the CUDA headers and NVRTC, e.g. pip install 'cupy-cuda12x[ctk]'"
        )
    return True, ""


def _cupy_asarray(xp, obj, dtype, device):
    with xp.cuda.Device(device):
        return xp.asarray(obj, dtype=dtype)


def _torch_device(xp, requested):
    import torch

    try:
        dev = torch.device("cpu" if requested is None else requested)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"torch has no device {requested!r}; expected 'cpu', 'cuda', 'cuda:N' or a GPU "
            f"number N."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"torch device {requested!r} asks for CUDA, but none is usable here.")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"losskit's torch backend runs on 'cpu' or 'cuda'; got {requested!r}.")
    return dev


def _torch_to_host(x):
    return x.detach().cpu().numpy()


def _torch_synchronize(device):
    if device is not None and device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def _jax_namespace():
    import jax

    # float64 must mean float64 (as on every other backend); JAX's default is float32 only
    jax.config.update("jax_enable_x64", True)
    return importlib.import_module("jax.numpy")


def _jax_device(xp, requested):
    import jax

    if requested is None or requested == "cpu":
        return jax.devices("cpu")[0]
    if isinstance(requested, jax.Device):
        return requested
    devices = jax.devices()
    if isinstance(requested, int) and 0 <= requested < len(devices):
        return devices[requested]
    raise ValueError(
        f"jax has no device {requested!r}; expected None or 'cpu', or a device number in "
        f"0..{len(devices) - 1} ({', '.join(str(d) for d in devices)})."
    )


def _jax_synchronize(device):
    import jax

    jax.device_put(0.0, device).block_until_ready()  # in order after the device's queued work


def _compat_namespace(module: str):
    """array-api-compat's namespace for ``module``'s arrays (imported when first asked)."""
    return lambda: array_api_compat.array_namespace(importlib.import_module(module).empty(0))


def _cupy_synchronize(device):
    importlib.import_module("cupy").cuda.Device(device).synchronize()


#: Every backend losskit can create arrays on, by name, in the order
#: :func:`available_backends` lists them.
ADAPTERS: dict[str, Adapter] = {
    "numpy": Adapter(
        "numpy",
        probe=lambda: (True, ""),
        namespace=_compat_namespace("numpy"),
        owns=array_api_compat.is_numpy_array,
        device=_numpy_device,
        asarray=lambda xp, obj, dtype, device: xp.asarray(obj, dtype=dtype),
        sequential_scan=True,
        numpy_memory=True,
    ),
    "array_api_strict": Adapter(
        "array_api_strict",
        probe=lambda: _importable("array_api_strict", "array-api-strict"),
        namespace=lambda: importlib.import_module("array_api_strict"),
        owns=lambda x: type(x).__module__.startswith("array_api_strict"),
        device=_strict_device,
        asarray=_strict_asarray,
        to_host=_strict_to_host,
        sequential_scan=True,
        numpy_memory=True,
    ),
    "cupy": Adapter(
        "cupy",
        probe=_probe_cupy,
        namespace=_compat_namespace("cupy"),
        owns=array_api_compat.is_cupy_array,
        device=lambda xp, requested: int(getattr(requested, "id", requested) or 0),
        asarray=_cupy_asarray,
        to_host=lambda x: x.get(),
        synchronize=_cupy_synchronize,
        is_gpu=lambda device: True,
    ),
    "torch": Adapter(
        "torch",
        probe=lambda: _importable("torch", "torch", "PyTorch"),
        namespace=_compat_namespace("torch"),
        owns=array_api_compat.is_torch_array,
        device=_torch_device,
        to_host=_torch_to_host,
        synchronize=_torch_synchronize,
        is_gpu=lambda device: device is not None and device.type == "cuda",
    ),
    "jax": Adapter(
        "jax",
        probe=lambda: _importable("jax", "jax", "JAX"),
        namespace=_jax_namespace,
        owns=array_api_compat.is_jax_array,
        device=_jax_device,
        to_host=lambda x: numpy.array(x),  # a writable copy (JAX's own view is read-only)
        synchronize=_jax_synchronize,
        is_gpu=lambda device: device.platform == "gpu",
    ),
}


def probe(name: str) -> tuple[bool, str]:
    """Whether backend ``name`` works on this machine, and if not, why not."""
    adapter = ADAPTERS.get(name)
    return adapter.probe() if adapter is not None else (False, f"unknown backend {name!r}")


# ----- Backend: an adapter plus the device arrays are created on ------------------------


@dataclass(frozen=True, eq=False)
class Backend:
    """An array library plus the device arrays are created on.

    Attributes: ``name`` (a key of :data:`ADAPTERS`), ``xp`` (array-API namespace),
    ``device`` (passed to every creation; ``None`` means the library's default),
    ``is_gpu``.
    """

    name: str
    xp: Any
    device: Any = None
    is_gpu: bool = False

    @property
    def adapter(self) -> Adapter:
        return ADAPTERS[self.name]

    @property
    def default_dtype(self):
        """float32 on a GPU (what the hardware is fast at), float64 on the CPU."""
        return self.xp.float32 if self.is_gpu else self.xp.float64

    def asarray(self, obj, dtype=None):
        """``obj`` (host data, a scalar, or an array of this backend) as an array on this device."""
        return self.adapter.asarray(self.xp, obj, dtype, self.device)

    def to_host(self, x) -> numpy.ndarray:
        """``x`` as a NumPy array on the host: the one place results leave the device."""
        if isinstance(x, numpy.ndarray | numpy.generic | int | float | bool | list | tuple):
            return numpy.asarray(x)
        for adapter in ADAPTERS.values():
            if adapter.owns(x):
                return adapter.to_host(x)
        return numpy.asarray(x)

    def synchronize(self) -> None:
        """Wait for queued device work (GPU timings need it); a no-op on the CPU."""
        self.adapter.synchronize(self.device)

    def rng(self, seed) -> numpy.random.Generator:
        """A seeded host NumPy ``Generator``: draw on the host, then :meth:`asarray`.

        Drawing on the host is what makes one seed give one experiment on every
        backend (device RNGs differ between libraries).
        """
        if isinstance(seed, numpy.random.Generator):
            return seed
        return numpy.random.default_rng(
            check_seed(seed, "seed", "Backend.rng", rng_like=True, allow_none=True)
        )

    def normal(self, rng, shape, dtype=None, *, scale=1.0):
        """Standard-normal draws (times ``scale``) from host ``rng``, on this device."""
        draws = self.rng(rng).standard_normal(shape) * scale
        return self.asarray(draws, dtype=dtype or self.default_dtype)

    def __repr__(self) -> str:
        where = "" if self.device is None else f", device={self.device!r}"
        return f"Backend({self.name!r}{where})"


def available_backends() -> list[str]:
    """Names of the backends that work on this machine, NumPy first."""
    return [name for name in ADAPTERS if probe(name)[0]]


# The last sentence of the "not usable" error: front ends with their own way of choosing a
# backend (the CLI's --backend) replace it with theirs.
UNUSABLE_FIX = f"Pass one of them to get_backend(), or set {ENV_VAR} to one of them."


def _unusable(name: str, why: str) -> ValueError:
    names = ", ".join(repr(n) for n in available_backends())
    return ValueError(
        f"backend {name!r} is not usable here: {why}. "
        f"Available backends: {names} (or 'auto'). {UNUSABLE_FIX}"
    )


@functools.cache
def _make(name: str, device) -> Backend:
    ok, why = probe(name)
    if not ok:
        raise _unusable(name, why)
    adapter = ADAPTERS[name]
    xp = adapter.namespace()
    dev = adapter.device(xp, device)
    return Backend(name, xp, dev, adapter.is_gpu(dev))


def get_backend(name: str | Backend = "auto", *, device=None) -> Backend:
    """The :class:`Backend` named ``name``: a key of :data:`ADAPTERS` or "auto".

    ``"auto"`` honours ``LOSSKIT_BACKEND``; else CuPy when a GPU is usable, else
    NumPy (with a :class:`BackendFallbackWarning` when CuPy is installed but has
    no GPU). An environment value like ``"cupy,numpy"`` is a preference list:
    the first usable one wins, and falling back is announced. A single name that
    is not usable raises ``ValueError`` naming what is available and why.
    ``device`` picks a GPU number (CuPy, torch, jax), a torch device name ("cuda:1")
    or an array_api_strict device name ("device1").
    A ``Backend`` passes through unchanged.
    """
    if isinstance(name, Backend):
        return name
    if device is not None and (
        isinstance(device, bool) or not isinstance(device, numbers.Integral | str)
    ):
        raise TypeError(
            f"device must be None, a GPU number (int) or a device name (str); got "
            f"{type(device).__name__} {device!r}."
        )
    if not isinstance(name, str):
        raise TypeError(
            f"backend must be a name (str) or a Backend; got {type(name).__name__}. "
            f"Use one of {available_backends()} or 'auto'."
        )
    name = name.strip().lower().replace("-", "_")
    if name == "auto":
        env = os.environ.get(ENV_VAR, "").strip()
        if env and env.lower() != "auto":
            return _from_preferences(env, device)
        cupy_ok, why = probe("cupy")
        if cupy_ok:
            return _make("cupy", device)
        ignored = "" if device in (None, "cpu") else f" (device={device!r} does not apply)"
        if "not installed" not in why or ignored:
            warnings.warn(
                f"losskit: {why}; computing with NumPy on the CPU{ignored}.",
                BackendFallbackWarning,
                stacklevel=2,
            )
        return _make("numpy", None)
    if name not in ADAPTERS:
        raise ValueError(
            f"unknown backend {name!r}: expected one of {list(ADAPTERS) + ['auto']} "
            f"(usable here: {available_backends()})."
        )
    return _make(name, device)


def _from_preferences(env: str, device) -> Backend:
    wanted = [w.strip().lower().replace("-", "_") for w in env.split(",") if w.strip()]
    if not wanted:
        raise ValueError(
            f"{ENV_VAR}={env!r} names no backend: expected a name or a comma-separated list "
            f"such as 'cupy,numpy' (from {list(ADAPTERS)}), or unset it for 'auto'."
        )
    for name in wanted:  # check every name first: a typo later in the list must not hide
        if name not in ADAPTERS:
            raise ValueError(
                f"{ENV_VAR}={env!r} names unknown backend {name!r}: expected a name or a "
                f"comma-separated list from {list(ADAPTERS)}."
            )
    reasons = []
    for i, name in enumerate(wanted):
        ok, why = probe(name)
        if ok:
            if i:
                warnings.warn(
                    f"losskit: {'; '.join(reasons)}; falling back to {name!r} as "
                    f"{ENV_VAR}={env!r} allows.",
                    BackendFallbackWarning,
                    stacklevel=3,
                )
            return _make(name, device)
        reasons.append(f"{name!r} is not usable ({why})")
    if len(wanted) == 1:
        raise _unusable(wanted[0], probe(wanted[0])[1] + f" (from {ENV_VAR}={env!r})")
    raise ValueError(
        f"none of the backends in {ENV_VAR}={env!r} is usable: {'; '.join(reasons)}. "
        f"Available here: {available_backends()}."
    )


def backend_of(x) -> Backend:
    """The backend an existing array lives on (its namespace and device)."""
    xp = array_api_compat.array_namespace(x)
    dev = array_api_compat.device(x)
    for name, adapter in ADAPTERS.items():
        if adapter.owns(x):
            dev = adapter.device(xp, dev)
            return Backend(name, xp, dev, adapter.is_gpu(dev))
    return Backend(getattr(xp, "__name__", "unknown"), xp, dev)


def errstate(**kwargs):
    """Silence NumPy floating-point warnings where an inf/NaN is the intended result.

    Applies to NumPy-based namespaces (numpy, array_api_strict); CuPy never warns.
    Example: ``with errstate(over="ignore"): naive_softmax(x)``.
    """
    return numpy.errstate(**kwargs) if kwargs else contextlib.nullcontext()


def quiet():
    """:func:`errstate` with every NumPy floating-point warning silenced.

    For code whose inf/NaN results are intended and documented (a diverging run, a
    loss on infinite logits): ``with quiet(): ...``.
    """
    return numpy.errstate(all="ignore")
