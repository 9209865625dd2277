"""Checks of scalar arguments (ints, reals, bools, choices, seeds, dtypes).

One convention for every check here and in :mod:`losskit._arraycheck`:
``check_<kind>(value, name, where, *, options)`` returns the value normalised
(a Python ``int``/``float``/``bool``...) or raises ``TypeError`` (wrong kind of
value) or ``ValueError`` (right kind, bad value). ``name`` is the argument as
the user typed it, ``where`` the function it was given to; the message says
what was wrong, what was expected, what was given and the likely fix. Widgets
show these messages verbatim.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "check_bool",
    "check_choice",
    "check_dtype",
    "check_fraction",
    "check_int",
    "check_int_sequence",
    "check_learning_rate",
    "check_real",
    "check_seed",
    "check_seeds",
]


def _is_real(value) -> bool:
    """A real number: int/float/NumPy scalar, or a 0-d real array (not a bool)."""
    if (
        isinstance(value, bool)
        or getattr(value, "dtype", None) is not None
        and (str(value.dtype) == "bool")
    ):
        return False
    if isinstance(value, numbers.Real):
        return True
    return getattr(value, "shape", None) == () and hasattr(value, "__float__")


def check_int(value, name: str, where: str, *, minimum=None, maximum=None) -> int:
    """``value`` as a Python ``int`` (NumPy integers accepted; bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fix = ""
        if _is_real(value) and math.isfinite(float(value)) and float(value).is_integer():
            fix = f" Pass {name}={int(value)} (an int)."
        raise TypeError(
            f"{where}: {name} must be an int; got {type(value).__name__} {value!r}.{fix}"
        )
    value = int(value)
    arg = f"{name}=" if name.isidentifier() else ""  # "each entry of seeds" takes no "="
    if minimum is not None and value < minimum:
        raise ValueError(
            f"{where}: {name} must be >= {minimum}; got {value}. Choose {arg}{minimum} or more."
        )
    if maximum is not None and value > maximum:
        raise ValueError(
            f"{where}: {name} must be <= {maximum}; got {value}. Choose {arg}{maximum} or less."
        )
    return value


def check_real(
    value,
    name: str,
    where: str,
    *,
    minimum=None,
    maximum=None,
    strict_minimum=False,
    strict_maximum=False,
    hint="",
) -> float:
    """``value`` as a finite Python ``float`` within the bounds (``strict_*``: excluded).

    The message names the bound that was broken; ``hint`` is appended to every message
    (what the argument means, a typical value).
    """
    bounds = []
    if minimum is not None:
        bounds.append(f"{'>' if strict_minimum else '>='} {minimum:g}")
    if maximum is not None:
        bounds.append(f"{'<' if strict_maximum else '<='} {maximum:g}")
    hint = f" {hint}" if hint else ""
    if not _is_real(value):
        raise TypeError(
            f"{where}: {name} must be a real number{' ' if bounds else ''}"
            f"{' and '.join(bounds)} (int or float); got {type(value).__name__} {value!r}.{hint}"
        )
    v = float(value)
    if not math.isfinite(v):
        within = f" ({' and '.join(bounds)})" if bounds else ""
        raise ValueError(f"{where}: {name} must be finite{within}; got {v!r}.{hint}")
    if minimum is not None and (v <= minimum if strict_minimum else v < minimum):
        raise ValueError(f"{where}: {name} must be {bounds[0]}; got {v:g}.{hint}")
    if maximum is not None and (v >= maximum if strict_maximum else v > maximum):
        raise ValueError(f"{where}: {name} must be {bounds[-1]}; got {v:g}.{hint}")
    return v


def check_learning_rate(value, name: str, where: str) -> float:
    """A learning rate: a finite Python ``float`` > 0 (learning rates stay Python floats)."""
    return check_real(
        value,
        name,
        where,
        minimum=0.0,
        strict_minimum=True,
        hint="Typical values are 1e-3 to 1e-1 (a Python float); a learning rate <= 0 "
        "does not descend.",
    )


def check_fraction(value, name: str, where: str) -> float:
    """A number strictly between 0 and 1."""
    return check_real(
        value, name, where, minimum=0.0, strict_minimum=True, maximum=1.0, strict_maximum=True
    )


def check_bool(value, name: str, where: str) -> bool:
    """``value`` as a Python bool: True/False or a 0-d boolean array (``numpy.True_``)."""
    if isinstance(value, bool):
        return value
    dtype = getattr(value, "dtype", None)
    if dtype is not None and getattr(value, "shape", None) == () and str(dtype) == "bool":
        return bool(value)
    raise TypeError(
        f"{where}: {name} must be True or False; got {type(value).__name__} {value!r}. "
        f"Pass a bool, e.g. {name}=True (a string such as 'no' would count as True)."
    )


def check_choice(value, name: str, where: str, *, choices, hint="") -> str:
    """``value`` if it is one of ``choices``; ``hint`` says what each choice means."""
    if isinstance(value, str | int | float | bool | None) and value in choices:
        return value
    hint = f" {hint}" if hint else ""
    if not isinstance(value, str | int | float | bool | None):  # arrays, lists, dicts...
        raise TypeError(
            f"{where}: {name} must be one of the strings {list(choices)}; got "
            f"{type(value).__name__} {value!r}. Pass one name, e.g. {name}={choices[0]!r}.{hint}"
        )
    raise ValueError(f"{where}: {name} must be one of {list(choices)}; got {value!r}.{hint}")


def check_seed(value, name: str, where: str, *, rng_like=False, allow_none=False):
    """A seed, checked before NumPy sees it.

    losskit's seed policy: experiments record their seed in the result, so they take a
    non-negative ``int``. Lower layers that only pass the seed on to
    ``numpy.random.default_rng`` (``Backend.rng``, ``BatchLoader``, ``fit``, models,
    data) take, with ``rng_like``, what it takes: also a sequence of non-negative ints,
    a ``SeedSequence`` or a ``Generator``. ``None`` (fresh entropy, not reproducible)
    only with ``allow_none``. Returns Python ints as ``int``, anything else unchanged.
    """
    import numpy as np  # here, not at the top: this module has no other dependency

    if value is None and allow_none:
        return None
    if rng_like and isinstance(value, np.random.Generator | np.random.SeedSequence):
        return value
    if rng_like and isinstance(value, list | tuple | np.ndarray) and len(value) > 0:
        for s in value:
            check_seed(s, f"each entry of {name}", where)
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kinds = "a non-negative int such as 0"
        if rng_like:
            kinds += ", a list of such ints or a numpy Generator"
        raise TypeError(
            f"{where}: {name} must be {kinds} (one seed, one experiment); "
            f"got {type(value).__name__} {value!r}."
        )
    if value < 0:
        raise ValueError(
            f"{where}: {name} must be >= 0 (NumPy seeds are non-negative); got {int(value)}. "
            f"Use a non-negative seed such as {-int(value)}."
        )
    return int(value)


def _sequence(values, name: str, where: str, *, kind: str, example: str) -> tuple:
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(
            f"{where}: {name} must be {kind} such as {example}; got "
            f"{type(values).__name__} {values!r}."
        )
    values = tuple(values)
    if not values:
        raise ValueError(f"{where}: {name} is empty; pass at least one, e.g. {name}={example}.")
    return values


def check_seeds(values, name: str, where: str) -> tuple:
    """A non-empty sequence of non-negative ints (run seeds), as a tuple of Python ints."""
    values = _sequence(values, name, where, kind="a list of ints", example="[0, 1, 2]")
    return tuple(check_seed(s, f"each entry of {name}", where) for s in values)


def check_int_sequence(values, name: str, where: str, *, minimum: int, maximum: int) -> tuple:
    """A non-empty sequence of ints within ``[minimum, maximum]``, as a tuple."""
    out = []
    for v in _sequence(values, name, where, kind="a sequence of ints", example="(1, 4, 16)"):
        v = check_int(v, f"each entry of {name}", where, minimum=minimum)
        if v > maximum:
            raise ValueError(
                f"{where}: {name} contains {v}, more than the {maximum} available; expected "
                f"values in {minimum}..{maximum}. Lower it or raise n_samples."
            )
        out.append(v)
    return tuple(out)


def _floating_name(xp, dtype):
    """``"float32"``/``"float64"`` for a name, a NumPy dtype or ``xp``'s own; else ``None``."""
    import numpy as np

    if isinstance(dtype, str):
        return dtype if dtype in ("float32", "float64") else None
    try:
        name = np.dtype(dtype).name  # numpy (and cupy) dtypes and scalar types, Python float
    except (TypeError, ValueError):  # another library's dtype (array_api_strict, torch, jax)
        same_kind = type(dtype) is type(xp.float32)  # never compare across libraries
        return next(
            (n for n in ("float32", "float64") if same_kind and dtype == getattr(xp, n)), None
        )
    return name if name in ("float32", "float64") else None


def check_dtype(value, name: str, where: str, *, backend):
    """``(xp dtype, "float32"|"float64")`` for ``value`` None (the backend's default) or a
    float32/float64 given as a name (``"float32"``), a NumPy dtype (``numpy.float32``) or
    the backend's own (``backend.xp.float32``), on every backend."""
    xp = backend.xp
    if value is None:
        dt = backend.default_dtype
        return dt, ("float64" if dt == xp.float64 else "float32")
    floating = _floating_name(xp, value)
    if floating is None:
        raise ValueError(
            f"{where}: {name} must be 'float32', 'float64' or None (the backend's default); "
            f"got {value!r}. Gradient descent needs floating-point numbers: pass "
            f"{name}='float32' (the GPU default) or {name}='float64'."
        )
    return getattr(xp, floating), floating


#: Largest allocation (bytes) a single losskit call makes before refusing: a lesson on a
#: laptop never needs more, and a typo such as ``n_samples=10**12`` fails at once instead
#: of a MemoryError (or swap) deep inside NumPy.
MEMORY_BUDGET = 4 * 2**30

#: Most elementary steps (samples x epochs x runs, draws...) a single call accepts; past
#: this a lesson would run for hours, so a typo fails fast instead of hanging.
WORK_BUDGET = 10**10


def check_memory(n_elements, itemsize: int, what: str, where: str, *, fix: str) -> None:
    """Refuse an allocation of ``n_elements`` of ``itemsize`` bytes beyond ``MEMORY_BUDGET``."""
    need = int(n_elements) * int(itemsize)
    if need > MEMORY_BUDGET:
        raise ValueError(
            f"{where}: {what} would need {need / 2**30:.3g} GiB, more than losskit's "
            f"{MEMORY_BUDGET / 2**30:.3g} GiB budget for one call (losskit._argcheck."
            f"MEMORY_BUDGET); {fix}"
        )


def check_work(n_steps, what: str, where: str, *, fix: str) -> None:
    """Refuse a loop of ``n_steps`` elementary steps beyond ``WORK_BUDGET`` (a hang)."""
    if int(n_steps) > WORK_BUDGET:
        raise ValueError(
            f"{where}: {what} is {int(n_steps):.3g} steps, beyond the {WORK_BUDGET:.0e} one "
            f"call can run in reasonable time (losskit._argcheck.WORK_BUDGET); {fix}"
        )
