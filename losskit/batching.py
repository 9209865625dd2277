"""Mini-batches: a seeded shuffle per epoch, without replacement, and the last partial batch.

An epoch visits every sample exactly once, in an order drawn from a host NumPy
``Generator`` seeded once per loader (so epoch 2 has a new order, and the same
seed gives the same orders on every backend and for every batch size). The
samples are cut into consecutive batches of ``batch_size``; when ``N`` is not a
multiple of the batch size the last batch is short (``last_batch_size``), or
dropped with ``drop_last=True`` (``n_dropped`` samples unseen that epoch).

Example: ``N = 50_000, batch_size = 32`` gives ``n_batches == 1563`` (ceil) with
a last batch of 16, or 1562 with ``drop_last``.
"""

from __future__ import annotations

import operator

from ._argcheck import check_bool, check_seed
from ._arraycheck import check_same_device, namespace
from .backend import backend_of, get_backend

__all__ = ["BatchLoader", "batch_plan", "epoch_orders"]


def batch_plan(n_samples: int, batch_size, drop_last: bool = False, where: str = "BatchLoader"):
    """The batch sizes of one epoch: a tuple like ``(4, 4, 2)`` for N=10, B=4.

    Raises ``TypeError`` for a non-integer ``batch_size`` and ``ValueError`` for
    one that is 0, negative or larger than ``n_samples``.
    """
    try:
        indexable = not isinstance(batch_size, bool) and operator.index(batch_size) is not None
    except TypeError:  # floats, strings, and 1-element arrays such as numpy.array([3])
        indexable = False
    if not indexable:
        fix = ""
        if isinstance(batch_size, float) and batch_size.is_integer():
            fix = f" Pass batch_size={int(batch_size)} (an int)."
        raise TypeError(
            f"{where}: batch_size must be a positive int; got {type(batch_size).__name__} "
            f"{batch_size!r}.{fix}"
        )
    b = int(batch_size)
    if b <= 0:
        raise ValueError(
            f"{where}: batch_size must be >= 1 (samples per weight update); got {b}. "
            f"Use batch_size=1 for SGD or batch_size={n_samples} (all samples) for full-batch GD."
        )
    if b > n_samples:
        raise ValueError(
            f"{where}: batch_size {b} is larger than the {n_samples} samples available; "
            f"expected 1..{n_samples}. Use batch_size={n_samples} for full-batch gradient "
            f"descent, or more data."
        )
    full, rest = divmod(n_samples, b)
    if rest and not drop_last:
        return (b,) * full + (rest,)
    return (b,) * full


def epoch_orders(seeds, n_samples: int, epochs: int, *, shuffle: bool = True, backend=None):
    """The sample orders ``BatchLoader(seed=s)`` draws, for many seeds and epochs at once.

    Returns an int64 array ``(epochs, len(seeds), n_samples)`` on ``backend``:
    row ``[e, k]`` is the order of epoch ``e`` for ``seeds[k]``, identical to what
    a loader seeded with ``seeds[k]`` uses in its ``e``-th epoch (whatever its
    batch size). With ``shuffle=False`` every row is ``0..N-1``.
    """
    be = get_backend("auto" if backend is None else backend)
    xp = be.xp
    if not shuffle:
        row = xp.arange(n_samples, dtype=xp.int64, device=be.device)
        return xp.broadcast_to(row, (epochs, len(seeds), n_samples))
    per_seed = []
    for s in seeds:
        rng = be.rng(s)
        per_seed.append(xp.stack([be.asarray(rng.permutation(n_samples)) for _ in range(epochs)]))
    return xp.astype(xp.stack(per_seed, axis=1), xp.int64)


class BatchLoader:
    """Iterate over ``(X_batch, y_batch)`` pairs, one epoch per ``for`` loop.

    Parameters
    ----------
    X : array ``(N, ...)``; y : array ``(N, ...)`` or ``None``
        Rows are samples; both live on one backend. With ``y=None`` the loader
        yields ``X_batch`` alone.
    batch_size : int
        Samples per batch, ``1 <= batch_size <= N``.
    shuffle : bool
        Draw a fresh order every epoch (default) or keep ``0..N-1``.
    drop_last : bool
        Skip the short last batch instead of yielding it.
    seed : int, sequence of ints or numpy ``Generator``
        Seeds the host generator that draws the orders: ``rng.permutation(N)``
        once per epoch, in sequence.

    Attributes
    ----------
    n_samples, batch_size, n_batches (per epoch), last_batch_size (size of the
    final batch yielded), n_dropped (samples skipped per epoch by ``drop_last``),
    batch_sizes (tuple), epoch (epochs started so far).
    """

    def __init__(self, X, y=None, *, batch_size, shuffle=True, drop_last=False, seed=0):
        where = "BatchLoader"
        arrays = (X,) if y is None else (X, y)
        self.xp = namespace(*arrays, where=where)
        if y is not None:
            check_same_device(X, y, ("X", "y"), where)  # else iteration fails deep inside
        shuffle = check_bool(shuffle, "shuffle", where)
        drop_last = check_bool(drop_last, "drop_last", where)
        if X.ndim == 0:
            raise ValueError(f"{where}: X must have a sample axis; got a 0-d array.")
        n = X.shape[0]
        if y is not None and (y.ndim == 0 or y.shape[0] != n):
            raise ValueError(
                f"{where}: X and y must have the same number of samples (first axis); got X "
                f"{tuple(X.shape)} and y {tuple(y.shape)}. Check that the targets belong to X."
            )
        if n == 0:
            raise ValueError(f"{where}: X has no samples (shape {tuple(X.shape)}).")
        self.X, self.y = X, y
        self.n_samples = n
        self.batch_sizes = batch_plan(n, batch_size, drop_last, where)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.backend = backend_of(X)
        self._rng = self.backend.rng(check_seed(seed, "seed", where, rng_like=True))
        self.epoch = 0

    @property
    def n_batches(self) -> int:
        return len(self.batch_sizes)

    @property
    def last_batch_size(self) -> int:
        return self.batch_sizes[-1]

    @property
    def n_dropped(self) -> int:
        return self.n_samples - sum(self.batch_sizes)

    def __len__(self) -> int:
        return self.n_batches

    def next_order(self):
        """The next epoch's sample order, an int64 array ``(N,)`` on the data's device."""
        xp = self.xp
        self.epoch += 1
        if not self.shuffle:
            return xp.arange(self.n_samples, dtype=xp.int64, device=self.backend.device)
        return self.backend.asarray(self._rng.permutation(self.n_samples), dtype=xp.int64)

    def index_batches(self):
        """One epoch of index arrays (int64, on the data's device), one per batch."""
        order = self.next_order()
        start = 0
        for size in self.batch_sizes:
            yield order[start : start + size]
            start += size

    def __iter__(self):
        xp = self.xp
        for idx in self.index_batches():
            xb = xp.take(self.X, idx, axis=0)
            yield xb if self.y is None else (xb, xp.take(self.y, idx, axis=0))

    def __repr__(self) -> str:
        return (
            f"BatchLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, "
            f"n_batches={self.n_batches}, last_batch_size={self.last_batch_size}, "
            f"drop_last={self.drop_last}, shuffle={self.shuffle})"
        )
