"""Small datasets for the lessons: synthetic generators, a seeded split, and scikit-learn's digits.

Every generator draws on a seeded host NumPy ``Generator`` (``backend.rng(seed)``)
and only then moves the arrays to the backend with ``backend.asarray``: one seed
gives the same data on NumPy, CuPy and array_api_strict.

Shapes follow the models and losses that consume them:

- regression targets are ``(N, 1)`` columns, matching ``LinearRegression``/``MLP``
  outputs (``MSELoss`` refuses ``(N, 1)`` against ``(N,)``);
- binary labels are ``(N,)`` floats 0./1., matching ``LogisticRegression`` logits
  and ``BCEWithLogitsLoss``;
- multi-class labels are ``(N,)`` int64 class indices, matching ``CrossEntropyLoss``.

Features use the backend's default float dtype (float64 on the CPU, float32 on a
GPU) unless ``dtype=`` says otherwise.
"""

from __future__ import annotations

import math

from ._argcheck import (
    check_bool,
    check_dtype,
    check_fraction,
    check_int,
    check_memory,
    check_real,
    check_seed,
)
from ._arraycheck import namespace
from .backend import backend_of, get_backend

__all__ = [
    "load_digits",
    "make_blobs",
    "make_linear_regression",
    "make_moons",
    "make_sine",
    "polynomial_features",
    "rbf_features",
    "train_val_split",
]


#: Largest noise/spread (a standard deviation in data units): beyond it float32 data
#: would overflow in the lessons' squares; the lessons use 0..2.
_SCALE_MAX = 1e6
_SCALE_HINT = "It is a standard deviation in data units; the lessons use 0 to 2."


def _setup(backend, dtype, where, shape=None):
    """The backend and its floating dtype (checked); ``shape``'s memory checked first."""
    if shape is not None:
        check_memory(
            math.prod(shape),
            8,
            f"data of shape {shape}",
            where,
            fix="lower n_samples or n_features (lessons use at most ~10**6 values).",
        )
    be = get_backend("auto" if backend is None else backend)
    return be, check_dtype(dtype, "dtype", where, backend=be)[0]


def make_linear_regression(
    n_samples=1000,
    n_features=1,
    *,
    noise=0.5,
    seed=0,
    backend=None,
    dtype=None,
    return_coef=False,
):
    """Noisy linear data ``y = X @ w + b + noise * eps``.

    ``X`` is ``(n_samples, n_features)`` standard normal, ``w`` ``(n_features, 1)``
    standard normal, ``b`` a standard normal scalar, ``eps`` standard normal.
    Returns ``(X, y)`` with ``y`` of shape ``(n_samples, 1)``; with
    ``return_coef=True`` also the true ``w`` (``(n_features, 1)``) and ``b``
    (``(1,)``), so a lesson can compare learned and true weights. The lowest
    reachable MSE is ``noise ** 2``.
    """
    where = "make_linear_regression"
    n = check_int(n_samples, "n_samples", where, minimum=1)
    d = check_int(n_features, "n_features", where, minimum=1)
    noise = check_real(noise, "noise", where, minimum=0.0, maximum=_SCALE_MAX, hint=_SCALE_HINT)
    return_coef = check_bool(return_coef, "return_coef", where)
    be, dtype = _setup(backend, dtype, where, (n, d + 1))
    rng = be.rng(check_seed(seed, "seed", where, rng_like=True))
    X = be.asarray(rng.standard_normal((n, d)), dtype=dtype)
    w = be.asarray(rng.standard_normal((d, 1)), dtype=dtype)
    b = be.asarray(rng.standard_normal((1,)), dtype=dtype)
    y = X @ w + b + noise * be.asarray(rng.standard_normal((n, 1)), dtype=dtype)
    return (X, y, w, b) if return_coef else (X, y)


def make_blobs(
    n_samples=300, n_classes=3, n_features=2, *, spread=1.0, seed=0, backend=None, dtype=None
):
    """Gaussian clusters for multi-class classification.

    Class centres sit on a circle (first two features) of radius 3; each point
    is its centre plus ``spread`` times standard-normal noise. Classes are
    assigned round-robin then shuffled, so they are balanced to within one.
    Returns ``X`` ``(n_samples, n_features)`` float and ``y`` ``(n_samples,)``
    int64 class indices in ``0..n_classes-1``.
    """
    where = "make_blobs"
    n = check_int(n_samples, "n_samples", where, minimum=1)
    c = check_int(n_classes, "n_classes", where, minimum=2, maximum=max(n, 2))
    d = check_int(n_features, "n_features", where, minimum=2)
    spread = check_real(spread, "spread", where, minimum=0.0, maximum=_SCALE_MAX, hint=_SCALE_HINT)
    be, dtype = _setup(backend, dtype, where, (n, d + 2))
    rng = be.rng(check_seed(seed, "seed", where, rng_like=True))
    xp = be.xp
    labels = be.asarray(rng.permutation(n) % c, dtype=xp.int64)
    noise = be.asarray(rng.standard_normal((n, d)), dtype=dtype)
    angles = (2.0 * math.pi / c) * xp.astype(labels, dtype)
    centres = [3.0 * xp.cos(angles), 3.0 * xp.sin(angles)]
    centres += [xp.zeros_like(angles)] * (d - 2)
    X = xp.stack(centres, axis=1) + spread * noise
    return X, labels


def make_moons(n_samples=200, *, noise=0.1, seed=0, backend=None, dtype=None):
    """Two interleaving half circles: a binary problem a linear model cannot separate.

    Returns ``X`` ``(n_samples, 2)`` and ``y`` ``(n_samples,)`` floats 0./1.
    (the upper moon is 0), ready for ``BCEWithLogitsLoss``. ``noise`` is the
    standard deviation of the Gaussian jitter added to every point.
    """
    where = "make_moons"
    n = check_int(n_samples, "n_samples", where, minimum=2)
    noise = check_real(noise, "noise", where, minimum=0.0, maximum=_SCALE_MAX, hint=_SCALE_HINT)
    be, dtype = _setup(backend, dtype, where, (n, 3))
    rng = be.rng(check_seed(seed, "seed", where, rng_like=True))
    xp = be.xp
    labels = be.asarray(rng.permutation(n) % 2, dtype=dtype)
    t = be.asarray(rng.uniform(0.0, math.pi, n), dtype=dtype)
    jitter = be.asarray(rng.standard_normal((n, 2)), dtype=dtype)
    # upper moon (label 0): (cos t, sin t); lower moon (label 1): (1 - cos t, 0.5 - sin t)
    x0 = xp.cos(t) + labels * (1.0 - 2.0 * xp.cos(t))
    x1 = xp.sin(t) + labels * (0.5 - 2.0 * xp.sin(t))
    return xp.stack([x0, x1], axis=1) + noise * jitter, labels


def make_sine(n_samples=20, *, noise=0.3, seed=0, backend=None, dtype=None):
    """A few noisy samples of ``sin(pi x)`` on ``[-1, 1]``: the overfitting demo's data.

    Returns ``X`` ``(n_samples, 1)`` (uniform on [-1, 1]) and ``y``
    ``(n_samples, 1)`` ``= sin(pi X) + noise * eps``. With few points and a
    flexible model, training loss keeps falling while validation loss turns up.
    """
    where = "make_sine"
    n = check_int(n_samples, "n_samples", where, minimum=1)
    noise = check_real(noise, "noise", where, minimum=0.0, maximum=_SCALE_MAX, hint=_SCALE_HINT)
    be, dtype = _setup(backend, dtype, where, (n, 2))
    rng = be.rng(check_seed(seed, "seed", where, rng_like=True))
    X = be.asarray(rng.uniform(-1.0, 1.0, (n, 1)), dtype=dtype)
    eps = be.asarray(rng.standard_normal((n, 1)), dtype=dtype)
    return X, be.xp.sin(math.pi * X) + noise * eps


def polynomial_features(X, degree):
    """Powers ``X, X**2, ..., X**degree`` of every column, side by side.

    ``X``: ``(N, D)`` floating -> ``(N, D * degree)``, same dtype and device,
    columns ordered power-major (all features to the power 1, then 2, ...).
    No bias column: the models carry their own bias.
    """
    where = "polynomial_features"
    xp = namespace(X, where=where, names=("X",))
    degree = check_int(degree, "degree", where, minimum=1)
    if X.ndim != 2:
        raise ValueError(
            f"{where}: X must be 2-D (N, D); got shape {tuple(X.shape)}. "
            f"Reshape a 1-D array with X.reshape(-1, 1)."
        )
    powers = [X]
    for _ in range(degree - 1):
        powers.append(powers[-1] * X)
    return xp.concat(powers, axis=1)


def rbf_features(X, n_centers=40, width=0.1, *, low=-1.0, high=1.0):
    """Gaussian bumps ``exp(-(x - c_j)**2 / (2 width**2))`` at ``n_centers`` evenly spaced ``c_j``.

    ``X``: ``(N, 1)`` floating -> ``(N, n_centers)``, same dtype and device. With
    more (narrow) bumps than training points, a linear model on these features
    can thread every noisy point: the overfitting demo of lesson 7. Unlike high
    powers of ``x``, the bumps are well conditioned, so gradient descent reaches
    the overfit within a few hundred epochs.
    """
    where = "rbf_features"
    xp = namespace(X, where=where, names=("X",))
    k = check_int(n_centers, "n_centers", where, minimum=1)
    width = check_real(width, "width", where, minimum=0.0, strict_minimum=True)
    if X.ndim != 2 or X.shape[1] != 1:
        raise ValueError(
            f"{where}: X must be one column (N, 1); got shape {tuple(X.shape)}. "
            f"Reshape a 1-D array with X.reshape(-1, 1)."
        )
    step = (high - low) / max(k - 1, 1)
    centres = xp.arange(k, dtype=X.dtype, device=X.device) * step + low
    d = X - centres[None, :]
    return xp.exp(d * d * (-0.5 / (width * width)))


def train_val_split(X, y, *, val_fraction=0.2, seed=0, backend=None):
    """A seeded random split into training and validation sets.

    Returns ``(X_train, X_val, y_train, y_val)`` (scikit-learn's order), rows
    taken with one host permutation from ``backend.rng(seed)``. The validation
    set has ``round(val_fraction * N)`` rows, at least one, and the training set
    keeps at least one. ``backend`` defaults to the backend of ``X``.
    """
    where = "train_val_split"
    xp = namespace(X, y, where=where, names=("X", "y"))
    frac = check_fraction(val_fraction, "val_fraction", where)
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{where}: X and y must have the same number of rows; got X {tuple(X.shape)} and "
            f"y {tuple(y.shape)}."
        )
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"{where}: need at least 2 rows to split; got {n}.")
    n_val = min(max(1, round(frac * n)), n - 1)
    be = backend_of(X) if backend is None else get_backend(backend)
    rng = be.rng(check_seed(seed, "seed", where, rng_like=True))
    order = be.asarray(rng.permutation(n), dtype=xp.int64)
    val_idx, train_idx = order[:n_val], order[n_val:]
    return (
        xp.take(X, train_idx, axis=0),
        xp.take(X, val_idx, axis=0),
        xp.take(y, train_idx, axis=0),
        xp.take(y, val_idx, axis=0),
    )


def load_digits(*, backend=None, dtype=None, scale=True):
    """scikit-learn's 8x8 handwritten digits: 1,797 images, 10 classes (a real dataset).

    Needs the optional extra: ``pip install 'losskit[datasets]'``. Returns ``X``
    ``(1797, 64)`` float (pixel intensities 0..16, divided by 16 when ``scale``)
    and ``y`` ``(1797,)`` int64 digits 0..9. The data ship inside scikit-learn:
    no download.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:
        raise ImportError(
            "load_digits: scikit-learn is not installed; it ships the digits data. "
            "Install the optional extra: pip install 'losskit[datasets]'."
        ) from exc
    be, dtype = _setup(backend, dtype, "load_digits")
    data = _sk_load_digits()
    X = data.data / 16.0 if check_bool(scale, "scale", "load_digits") else data.data
    return be.asarray(X, dtype=dtype), be.asarray(data.target, dtype=be.xp.int64)
