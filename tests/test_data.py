"""Synthetic datasets, the seeded split and the digits: shapes, dtypes, seeds, backends."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from losskit.data import (
    load_digits,
    make_blobs,
    make_linear_regression,
    make_moons,
    make_sine,
    polynomial_features,
    rbf_features,
    train_val_split,
)

HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None


def test_linear_regression_shapes_seed_and_noise_floor(backend, to_np):
    X, y, w, b = make_linear_regression(
        500, 3, noise=0.2, seed=4, backend=backend, dtype=backend.xp.float64, return_coef=True
    )
    X, y, w, b = map(to_np, (X, y, w, b))
    assert X.shape == (500, 3) and y.shape == (500, 1) and w.shape == (3, 1) and b.shape == (1,)
    assert X.dtype == np.float64
    resid = y - X @ w - b
    assert resid.std() == pytest.approx(0.2, rel=0.15)
    X2, _ = make_linear_regression(500, 3, noise=0.2, seed=4, backend="numpy")
    np.testing.assert_allclose(X, X2, rtol=0, atol=0)  # same seed, same data on every backend


def test_blobs_are_balanced_class_indices(backend, to_np):
    X, y = make_blobs(301, 3, seed=1, backend=backend)
    X, y = to_np(X), to_np(y)
    assert X.shape == (301, 2) and y.dtype == np.int64
    assert sorted(np.bincount(y).tolist()) == [100, 100, 101]
    centres = np.array([X[y == c].mean(axis=0) for c in range(3)])
    assert np.linalg.norm(centres, axis=1) == pytest.approx([3, 3, 3], abs=0.4)


def test_moons_and_sine(backend, to_np):
    X, y = make_moons(200, noise=0.0, seed=2, backend=backend, dtype=backend.xp.float64)
    X, y = to_np(X), to_np(y)
    assert X.shape == (200, 2) and set(np.unique(y)) == {0.0, 1.0} and y.dtype == np.float64
    upper = X[y == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    Xs, ys = make_sine(20, noise=0.0, seed=0, backend=backend, dtype=backend.xp.float32)
    assert to_np(Xs).dtype == np.float32
    np.testing.assert_allclose(to_np(ys), np.sin(np.pi * to_np(Xs)), atol=1e-6)


def test_polynomial_features(backend, to_np):
    X = backend.asarray(np.array([[2.0], [-1.0]]))
    np.testing.assert_array_equal(to_np(polynomial_features(X, 3)), [[2, 4, 8], [-1, 1, -1]])
    with pytest.raises(ValueError, match="must be 2-D"):
        polynomial_features(backend.asarray(np.ones(3)), 2)
    with pytest.raises(ValueError, match="degree must be >= 1"):
        polynomial_features(X, 0)


def test_train_val_split_is_seeded_and_disjoint(backend, to_np):
    X = backend.asarray(np.arange(20.0).reshape(10, 2))
    y = backend.asarray(np.arange(10))
    Xt, Xv, yt, yv = map(to_np, train_val_split(X, y, val_fraction=0.3, seed=5))
    assert (len(Xt), len(Xv)) == (7, 3)
    assert sorted(yt.tolist() + yv.tolist()) == list(range(10))
    np.testing.assert_array_equal(Xv[:, 0] / 2, yv)
    again = to_np(train_val_split(X, y, val_fraction=0.3, seed=5)[3])
    np.testing.assert_array_equal(again, yv)


@pytest.mark.parametrize(
    ("kwargs", "exc", "fragment"),
    [
        ({"val_fraction": 0.0}, ValueError, "val_fraction must be > 0"),
        ({"val_fraction": 1.0}, ValueError, "val_fraction must be < 1"),
        ({"val_fraction": "0.2"}, TypeError, "real number"),
    ],
)
def test_split_errors(kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        train_val_split(np.zeros((10, 1)), np.zeros(10), **kwargs)
    with pytest.raises(ValueError, match="same number of rows"):
        train_val_split(np.zeros((10, 1)), np.zeros(9))


def test_generator_argument_errors():
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        make_linear_regression(0)
    with pytest.raises(TypeError, match="n_samples must be an int"):
        make_linear_regression(10.5)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        make_moons(10, noise=-1.0)
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        make_blobs(10, 1)


@pytest.mark.skipif(not HAS_SKLEARN, reason="scikit-learn (the 'datasets' extra) is absent")
def test_load_digits(backend, to_np):
    X, y = load_digits(backend=backend)
    X, y = to_np(X), to_np(y)
    assert X.shape == (1797, 64) and y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y).min() >= 170  # ten roughly balanced digits


def test_rbf_features(backend, to_np):
    X = backend.asarray(np.array([[-1.0], [0.0], [1.0]]))
    F = to_np(rbf_features(X, n_centers=3, width=0.5))
    assert F.shape == (3, 3)
    np.testing.assert_allclose(np.diag(F), 1.0)
    np.testing.assert_allclose(F[0, 1], np.exp(-2.0), rtol=1e-14)
    with pytest.raises(ValueError, match="one column"):
        rbf_features(backend.asarray(np.ones((3, 2))))
    with pytest.raises(ValueError, match="width must be > 0"):
        rbf_features(X, width=0.0)
