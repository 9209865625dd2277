"""Which array library losskit computes with, on which device, and the way back to the host.

Every layer above this one is written once against the Python array API
(``xp = array_namespace(x)``); a :class:`Backend` only says where arrays are
*created* (namespace + device), how seeded host randomness reaches that device,
and how results come back to NumPy for plotting (:meth:`Backend.to_host`).

Backends: ``"numpy"`` (always), ``"cupy"`` (a usable CUDA GPU), and
``"array_api_strict"`` (the reference array-API library, used by the tests; its
``device="device1"`` is a stand-in GPU that refuses silent host conversion).
``"auto"`` reads ``LOSSKIT_BACKEND`` (a name, or a comma-separated preference
list such as ``"cupy,numpy"`` that may fall back), else picks CuPy when a GPU is
usable, else NumPy.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import numbers
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import numpy

from ._argcheck import check_seed

__all__ = [
    "Backend",
    "BackendFallbackWarning",
    "available_backends",
    "backend_of",
    "errstate",
    "get_backend",
]

ENV_VAR = "LOSSKIT_BACKEND"
KNOWN = ("numpy", "cupy", "array_api_strict")


class BackendFallbackWarning(UserWarning):
    """losskit used another backend than the one asked for or expected."""


@dataclass(frozen=True, eq=False)
class Backend:
    """An array library plus the device arrays are created on.

    Attributes: ``name`` (``"numpy"``, ``"cupy"``, ``"array_api_strict"``),
    ``xp`` (array-API namespace), ``device`` (passed to every creation;
    ``None`` means the library's default), ``is_gpu``.
    """

    name: str
    xp: Any
    device: Any = None
    is_gpu: bool = False
    _host_device: Any = field(default=None, repr=False)

    @property
    def default_dtype(self):
        """float32 on a GPU (what the hardware is fast at), float64 on the CPU."""
        return self.xp.float32 if self.is_gpu else self.xp.float64

    def asarray(self, obj, dtype=None):
        """``obj`` (host data, a scalar, or an array of this backend) as an array on this device."""
        if self.name == "cupy" and isinstance(obj, numpy.ndarray):
            with self.xp.cuda.Device(self.device):
                return self.xp.asarray(obj, dtype=dtype)
        if self.name == "array_api_strict" and isinstance(obj, numpy.ndarray):
            # array_api_strict only takes host data onto its CPU device; move explicitly.
            return self.xp.asarray(obj, dtype=dtype).to_device(self.device)
        return self.xp.asarray(obj, dtype=dtype, device=self.device)

    def to_host(self, x) -> numpy.ndarray:
        """``x`` as a NumPy array on the host: the one place results leave the device."""
        if isinstance(x, numpy.ndarray | numpy.generic | int | float | bool | list | tuple):
            return numpy.asarray(x)
        if array_api_compat.is_cupy_array(x):
            return x.get()
        if self._host_device is not None and array_api_compat.device(x) != self._host_device:
            x = x.to_device(self._host_device)
        return numpy.asarray(x)

    def synchronize(self) -> None:
        """Wait for queued device work (GPU timings need it); a no-op on the CPU."""
        if self.name == "cupy":
            self.xp.cuda.Device(self.device).synchronize()

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


def _probe(name: str) -> tuple[bool, str]:
    """Whether backend ``name`` works on this machine, and if not, why not."""
    if name == "numpy":
        return True, ""
    if name == "array_api_strict":
        try:
            importlib.import_module("array_api_strict")
        except ImportError:
            return False, "array_api_strict is not installed (pip install array-api-strict)"
        return True, ""
    if name == "cupy":
        return _probe_cupy()
    return False, f"unknown backend {name!r}"


@functools.cache
def _probe_cupy() -> tuple[bool, str]:
    """CuPy imports, sees a GPU, and compiles a kernel (once per process).

    The compile is checked here, not mid-lesson: CuPy builds its kernels at run time
    with NVRTC and the CUDA headers, which CuPy >= 14 no longer bundles; without them
    the first reduction fails with a ``CompileException``.
    """
    try:
        cupy = importlib.import_module("cupy")
    except ImportError:
        return False, "CuPy is not installed (pip install 'losskit[gpu]')"
    except Exception as exc:  # a broken CUDA install raises at import
        return False, f"CuPy failed to import: {exc}"
    try:
        if not cupy.cuda.is_available():
            return False, "CuPy is installed but no CUDA GPU is usable here"
    except Exception as exc:
        return False, f"CuPy cannot reach a GPU: {exc}"
    try:
        probe = cupy.ElementwiseKernel("T x", "T y", "y = exp(x)", "losskit_probe")
        probe(cupy.zeros(1, dtype=cupy.float32))
        cupy.cuda.Device().synchronize()
    except Exception as exc:
        return False, (
            f"CuPy sees a GPU but cannot compile a kernel ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no message'}); "
            f"install the CUDA headers and NVRTC, e.g. pip install 'cupy-cuda12x[ctk]'"
        )
    return True, ""


def available_backends() -> list[str]:
    """Names of the backends that work on this machine, NumPy first."""
    return [name for name in KNOWN if _probe(name)[0]]


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
    ok, why = _probe(name)
    if not ok:
        raise _unusable(name, why)
    if name == "numpy":
        if device not in (None, "cpu"):
            raise ValueError(f"the numpy backend has only the 'cpu' device; got device={device!r}")
        return Backend("numpy", array_api_compat.array_namespace(numpy.empty(0)))
    if name == "array_api_strict":
        xp = importlib.import_module("array_api_strict")
        host = xp.Device("CPU_DEVICE")
        try:
            dev = host if device in (None, "cpu", "CPU_DEVICE") else xp.Device(device)
        except ValueError:
            names = [str(d).split("'")[1] for d in xp.__array_namespace_info__().devices()]
            raise ValueError(
                f"array_api_strict has no device {device!r}; expected one of {names} "
                f"('device1' stands in for a GPU in losskit's tests)."
            ) from None
        return Backend("array_api_strict", xp, dev, False, host)
    cupy = importlib.import_module("cupy")
    xp = array_api_compat.array_namespace(cupy.empty(0))
    return Backend("cupy", xp, 0 if device is None else int(device), True)


def get_backend(name: str | Backend = "auto", *, device=None) -> Backend:
    """The :class:`Backend` named ``name``: "numpy", "cupy", "array_api_strict" or "auto".

    ``"auto"`` honours ``LOSSKIT_BACKEND``; else CuPy when a GPU is usable, else
    NumPy (with a :class:`BackendFallbackWarning` when CuPy is installed but has
    no GPU). An environment value like ``"cupy,numpy"`` is a preference list:
    the first usable one wins, and falling back is announced. A single name that
    is not usable raises ``ValueError`` naming what is available and why.
    ``device`` picks a GPU number (CuPy) or an array_api_strict device name.
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
        cupy_ok, why = _probe("cupy")
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
    if name not in KNOWN:
        raise ValueError(
            f"unknown backend {name!r}: expected one of {list(KNOWN) + ['auto']} "
            f"(usable here: {available_backends()})."
        )
    return _make(name, device)


def _from_preferences(env: str, device) -> Backend:
    wanted = [w.strip().lower().replace("-", "_") for w in env.split(",") if w.strip()]
    if not wanted:
        raise ValueError(
            f"{ENV_VAR}={env!r} names no backend: expected a name or a comma-separated list "
            f"such as 'cupy,numpy' (from {list(KNOWN)}), or unset it for 'auto'."
        )
    for name in wanted:  # check every name first: a typo later in the list must not hide
        if name not in KNOWN:
            raise ValueError(
                f"{ENV_VAR}={env!r} names unknown backend {name!r}: expected a name or a "
                f"comma-separated list from {list(KNOWN)}."
            )
    reasons = []
    for i, name in enumerate(wanted):
        ok, why = _probe(name)
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
        raise _unusable(wanted[0], _probe(wanted[0])[1] + f" (from {ENV_VAR}={env!r})")
    raise ValueError(
        f"none of the backends in {ENV_VAR}={env!r} is usable: {'; '.join(reasons)}. "
        f"Available here: {available_backends()}."
    )


def backend_of(x) -> Backend:
    """The backend an existing array lives on (its namespace and device)."""
    xp = array_api_compat.array_namespace(x)
    if array_api_compat.is_numpy_namespace(xp):
        return _make("numpy", None)
    if array_api_compat.is_cupy_namespace(xp):
        return _make("cupy", array_api_compat.device(x).id)
    if array_api_compat.is_array_api_strict_namespace(xp):
        dev = array_api_compat.device(x)
        host = xp.Device("CPU_DEVICE")
        return Backend("array_api_strict", xp, dev, False, host)
    return Backend(getattr(xp, "__name__", "unknown"), xp, array_api_compat.device(x))


def errstate(**kwargs):
    """Silence NumPy floating-point warnings where an inf/NaN is the intended result.

    Applies to NumPy-based namespaces (numpy, array_api_strict); CuPy never warns.
    Example: ``with errstate(over="ignore"): naive_softmax(x)``.
    """
    return numpy.errstate(**kwargs) if kwargs else contextlib.nullcontext()
