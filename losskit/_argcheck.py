"""Argument checks for the training layer and the experiments built on it.

Every check raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right
kind, bad value) with a message that says what was wrong, what was expected,
what was given and the likely fix. Widgets show these messages verbatim, so
they name the argument as the user typed it.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "check_choice",
    "check_fraction",
    "check_int",
    "check_learning_rate",
    "check_real",
    "check_seed",
]


def check_int(value, name: str, where: str, *, minimum: int | None = None, maximum=None) -> int:
    """``value`` as a Python ``int`` (NumPy integers accepted; bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fix = ""
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            if math.isfinite(value) and float(value).is_integer():
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


def check_seed(seed, where: str, name: str = "seed", *, rng_like=False, allow_none=False):
    """A seed, checked before NumPy sees it.

    losskit's seed policy: experiments record their seed in the result, so they take a
    non-negative ``int``. Lower layers that only pass the seed on to
    ``numpy.random.default_rng`` (``Backend.rng``, ``BatchLoader``, ``fit``, models,
    data) take, with ``rng_like``, what it takes: also a sequence of non-negative ints,
    a ``SeedSequence`` or a ``Generator``. ``None`` (fresh entropy, not reproducible)
    only with ``allow_none``. Returns Python ints as ``int``, anything else unchanged.
    """
    import numpy as np  # here, not at the top: this module has no other dependency

    if seed is None and allow_none:
        return None
    if rng_like and isinstance(seed, np.random.Generator | np.random.SeedSequence):
        return seed
    if rng_like and isinstance(seed, list | tuple | np.ndarray) and len(seed) > 0:
        for s in seed:
            check_seed(s, where, f"each entry of {name}")
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        kinds = "a non-negative int such as 0"
        if rng_like:
            kinds += ", a list of such ints or a numpy Generator"
        raise TypeError(
            f"{where}: {name} must be {kinds} (one seed, one experiment); "
            f"got {type(seed).__name__} {seed!r}."
        )
    if seed < 0:
        raise ValueError(
            f"{where}: {name} must be >= 0 (NumPy seeds are non-negative); got {int(seed)}. "
            f"Use a non-negative seed such as {-int(seed)}."
        )
    return int(seed)


def check_real(
    value,
    name: str,
    where: str,
    *,
    minimum: float | None = None,
    strict_minimum: bool = False,
    maximum: float | None = None,
    strict_maximum: bool = False,
) -> float:
    """``value`` as a finite Python ``float`` within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{where}: {name} must be a real number (int or float); "
            f"got {type(value).__name__} {value!r}."
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be finite; got {value!r}. Pass a finite number.")
    if minimum is not None and (value <= minimum if strict_minimum else value < minimum):
        op = ">" if strict_minimum else ">="
        raise ValueError(f"{where}: {name} must be {op} {minimum:g}; got {value:g}.")
    if maximum is not None and (value >= maximum if strict_maximum else value > maximum):
        op = "<" if strict_maximum else "<="
        raise ValueError(f"{where}: {name} must be {op} {maximum:g}; got {value:g}.")
    return value


def check_learning_rate(lr, where: str, name: str = "lr") -> float:
    """A learning rate: a finite Python ``float`` > 0 (learning rates stay Python floats)."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise TypeError(
            f"{where}: {name} must be a positive real number such as 0.01; "
            f"got {type(lr).__name__} {lr!r}. Pass a Python float."
        )
    lr = float(lr)
    if math.isnan(lr) or math.isinf(lr) or lr <= 0.0:
        raise ValueError(
            f"{where}: {name} must be a finite number > 0; got {lr!r}. "
            f"Typical values are 1e-3 to 1e-1; a learning rate <= 0 does not descend."
        )
    return lr


def check_fraction(value, name: str, where: str) -> float:
    """A number strictly between 0 and 1."""
    return check_real(
        value, name, where, minimum=0.0, strict_minimum=True, maximum=1.0, strict_maximum=True
    )


def check_choice(value, name: str, where: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{where}: {name} must be one of {list(choices)}; got {value!r}.")
    return value


def check_seeds(seeds, where: str, name: str = "seeds") -> tuple:
    """A non-empty sequence of non-negative ints (run seeds), as a tuple of Python ints."""
    if isinstance(seeds, str | bytes) or not hasattr(seeds, "__iter__"):
        raise TypeError(
            f"{where}: {name} must be a list of ints such as list(range(16)); got "
            f"{type(seeds).__name__} {seeds!r}."
        )
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError(f"{where}: {name} is empty; pass at least one seed, e.g. {name}=[0].")
    return tuple(check_seed(s, where, f"each entry of {name}") for s in seeds)


def check_int_sequence(values, name: str, where: str, *, minimum: int, maximum: int) -> tuple:
    """A non-empty sequence of ints within ``[minimum, maximum]``, as a tuple."""
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(
            f"{where}: {name} must be a sequence of ints such as (1, 4, 16); got "
            f"{type(values).__name__} {values!r}."
        )
    values = tuple(values)
    if not values:
        raise ValueError(f"{where}: {name} is empty; pass at least one value.")
    out = []
    for v in values:
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
    except (TypeError, ValueError):  # another library's dtype, e.g. array_api_strict's
        same_kind = type(dtype) is type(xp.float32)  # never compare across libraries
        return next(
            (n for n in ("float32", "float64") if same_kind and dtype == getattr(xp, n)), None
        )
    return name if name in ("float32", "float64") else None


def resolve_dtype(backend, dtype, where: str):
    """``(xp dtype, name)`` for ``dtype`` None (the backend's default), or float32/float64.

    float32/float64 may be given as a name (``"float32"``), a NumPy dtype
    (``numpy.float32``) or the backend's own (``backend.xp.float32``), on every backend.
    """
    xp = backend.xp
    if dtype is None:
        dt = backend.default_dtype
        return dt, ("float64" if dt == xp.float64 else "float32")
    name = _floating_name(xp, dtype)
    if name is None:
        raise ValueError(
            f"{where}: dtype must be 'float32', 'float64' or None (the backend's default); "
            f"got {dtype!r}. Gradient descent needs floating-point numbers: pass "
            f"dtype='float32' (the GPU default) or dtype='float64'."
        )
    return getattr(xp, name), name
