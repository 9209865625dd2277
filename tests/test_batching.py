"""BatchLoader: seeded shuffling without replacement, the last partial batch, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from losskit.batching import BatchLoader, batch_plan, epoch_orders


def _data(backend, n=10, d=3):
    X = backend.asarray(np.arange(n * d, dtype=float).reshape(n, d))
    y = backend.asarray(np.arange(n, dtype=float))
    return X, y


def test_epoch_visits_every_sample_once_in_batches(backend, to_np):
    X, y = _data(backend)
    loader = BatchLoader(X, y, batch_size=4, seed=1)
    assert loader.batch_sizes == (4, 4, 2)
    assert (loader.n_batches, loader.last_batch_size, loader.n_dropped, len(loader)) == (3, 2, 0, 3)
    seen = []
    for xb, yb in loader:
        xb, yb = to_np(xb), to_np(yb)
        np.testing.assert_array_equal(xb[:, 0] / 3, yb)  # rows stay paired with targets
        seen.extend(yb.astype(int).tolist())
    assert sorted(seen) == list(range(10))


def test_each_epoch_draws_a_new_order_and_the_seed_repeats_it(backend, to_np):
    X, y = _data(backend, n=50)
    a = BatchLoader(X, y, batch_size=50, seed=7)
    b = BatchLoader(X, y, batch_size=5, seed=7)
    first = to_np(next(iter(a))[1])
    second = to_np(next(iter(a))[1])
    assert not np.array_equal(first, second)
    # the order does not depend on the batch size: a batch-5 loader with the same seed
    np.testing.assert_array_equal(np.concatenate([to_np(yb) for _, yb in b]), first)
    np.testing.assert_array_equal(np.concatenate([to_np(yb) for _, yb in b]), second)


def test_no_shuffle_keeps_order_and_x_only(backend, to_np):
    X, _ = _data(backend, n=6, d=1)
    loader = BatchLoader(X, batch_size=4, shuffle=False)
    batches = [to_np(xb)[:, 0] for xb in loader]
    np.testing.assert_array_equal(batches[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(batches[1], [4, 5])


def test_drop_last_reports_what_it_drops(backend):
    X, y = _data(backend)
    loader = BatchLoader(X, y, batch_size=4, drop_last=True)
    assert loader.batch_sizes == (4, 4)
    assert (loader.n_batches, loader.last_batch_size, loader.n_dropped) == (2, 4, 2)
    assert sum(1 for _ in loader) == 2
    assert "n_batches=2" in repr(loader)


def test_lesson_scale_example():
    assert len(batch_plan(50_000, 32)) == 1563
    assert batch_plan(50_000, 32)[-1] == 16
    assert len(batch_plan(50_000, 32, drop_last=True)) == 1562
    assert batch_plan(7, 7) == (7,)


def test_epoch_orders_match_the_loader(backend, to_np):
    X, y = _data(backend, n=12)
    orders = to_np(epoch_orders([3, 5], 12, 2, backend=backend))
    assert orders.shape == (2, 2, 12)
    for k, seed in enumerate([3, 5]):
        loader = BatchLoader(X, y, batch_size=5, seed=seed)
        for e in range(2):
            np.testing.assert_array_equal(to_np(loader.next_order()), orders[e, k])
    fixed = to_np(epoch_orders([0, 1], 4, 3, shuffle=False, backend=backend))
    np.testing.assert_array_equal(fixed[2, 1], [0, 1, 2, 3])


@pytest.mark.parametrize(
    ("batch_size", "exc", "fragment"),
    [
        (0, ValueError, "must be >= 1"),
        (-3, ValueError, "must be >= 1"),
        (11, ValueError, "larger than the 10 samples"),
        (4.0, TypeError, "Pass batch_size=4"),
        (2.5, TypeError, "must be a positive int"),
        ("4", TypeError, "got str"),
        (True, TypeError, "got bool"),
    ],
)
def test_bad_batch_sizes_are_explained(batch_size, exc, fragment):
    X = np.zeros((10, 2))
    with pytest.raises(exc, match=fragment):
        BatchLoader(X, batch_size=batch_size)


def test_numpy_integer_batch_size_is_accepted():
    assert BatchLoader(np.zeros((10, 1)), batch_size=np.int64(3)).batch_sizes == (3, 3, 3, 1)


def test_mismatched_or_empty_data_is_explained():
    with pytest.raises(ValueError, match="same number of samples"):
        BatchLoader(np.zeros((10, 2)), np.zeros(9), batch_size=2)
    with pytest.raises(ValueError, match="no samples"):
        BatchLoader(np.zeros((0, 2)), batch_size=1)
    with pytest.raises(TypeError, match="expected an array"):
        BatchLoader([[1.0], [2.0]], batch_size=1)


@pytest.mark.parametrize(
    ("seed", "exc", "fragment"),
    [
        (True, TypeError, "seed must be a non-negative int"),
        (1.5, TypeError, "seed must be a non-negative int"),
        (None, TypeError, "seed must be .* or a numpy Generator .*got NoneType"),
        (-1, ValueError, "seed must be >= 0"),
        ([1, -2], ValueError, "each entry of seed must be >= 0 .* such as 2"),
    ],
)
def test_bad_seeds_are_explained(seed, exc, fragment):
    with pytest.raises(exc, match=f"BatchLoader: {fragment}"):
        BatchLoader(np.zeros((4, 1)), batch_size=2, seed=seed)


@pytest.mark.parametrize(
    "make", [lambda: 7, lambda: np.int64(7), lambda: [7], lambda: np.random.default_rng(7)]
)
def test_seeds_numpy_takes_are_accepted_and_mean_the_same(make):
    """An int, a NumPy int, a list of ints and a Generator: what numpy's default_rng takes."""
    loader = BatchLoader(np.arange(10.0), batch_size=4, seed=make())
    want = np.random.default_rng(make()).permutation(10)
    np.testing.assert_array_equal(np.concatenate(list(loader.index_batches())), want)


def test_x_and_y_on_two_devices_are_refused_at_construction():
    from losskit.backend import get_backend

    gpu = get_backend("array_api_strict", device="device1")  # the stand-in GPU
    cpu = get_backend("array_api_strict")
    X, y = _data(gpu)
    with pytest.raises(ValueError, match=r"BatchLoader: X is on device .*device1.* but y is on"):
        BatchLoader(X, cpu.asarray(np.arange(10.0)), batch_size=4)


@pytest.mark.parametrize("flag", ["shuffle", "drop_last"])
@pytest.mark.parametrize("value", ["no", 0, 1, None])
def test_flags_must_be_true_or_false(flag, value, backend):
    X, y = _data(backend)
    with pytest.raises(TypeError, match=f"BatchLoader: {flag} must be True or False; got"):
        BatchLoader(X, y, batch_size=4, **{flag: value})


@pytest.mark.parametrize("flag", ["shuffle", "drop_last"])
def test_numpy_bools_count_as_bools(flag, backend):
    """A flag computed with NumPy (``numpy.True_``) is a bool, not a mistake."""
    X, y = _data(backend)
    loader = BatchLoader(X, y, batch_size=4, seed=0, **{flag: np.False_})
    assert getattr(loader, flag) is False
