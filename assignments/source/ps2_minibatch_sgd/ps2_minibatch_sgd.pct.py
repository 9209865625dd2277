# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 2: mini-batch SGD
#
# Training never sees "the loss of the dataset": it sees one scalar per
# mini-batch, takes one step per batch, and summarises an epoch afterwards. You
# will write, with NumPy only, every piece of that loop for linear regression:
# a seeded batch iterator, the mini-batch gradient, one epoch of SGD with
# `mean` or `sum` reduction, the epoch's training loss, and gradient
# accumulation over micro-batches of unequal size.
#
# **How this is graded.** Each exercise has a *visible* test right after it (its
# message names the likely mistake) and a *hidden* test that runs only when
# your notebook is graded and decides most of the points.
#
# **Your own work.** Write the maths yourself with NumPy. Your notebook is graded
# in a sandbox where only NumPy and Python's standard library can be imported:
# code that uses losskit, SciPy, scikit-learn, PyTorch or JAX fails there with
# `ModuleNotFoundError`, and the tests of every function that needs it score 0.
# The tests run in a separate process, from the instructor's copy of each test
# cell: editing, deleting or working around them changes nothing.
#
# **Warnings cost points.** nbgrader scores a test cell 0 when anything is
# printed to stderr while it runs, NumPy's `RuntimeWarning`s included, even
# when your numbers are right.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

SEED = 7
data_rng = np.random.default_rng(SEED)
N, D = 40, 3
X = data_rng.normal(size=(N, D))
true_w, true_b = np.array([1.5, -2.0, 0.5]), 0.3
y = X @ true_w + true_b + 0.1 * data_rng.normal(size=N)
np.set_printoptions(precision=4, suppress=True)


# %% [markdown]
# ## Exercise 1: a seeded batch iterator
#
# **TODO.** Write `batch_indices(n, batch_size, seed, shuffle=True, drop_last=False)`
# returning the list of index arrays, one per mini-batch, for one epoch over
# `n` examples.
#
# **APPROACH.** With `shuffle=True` the order is
# `np.random.default_rng(seed).permutation(n)` (exactly this, so a seed means
# the same epoch everywhere); without, `np.arange(n)`. Cut it into consecutive
# chunks of `batch_size`. The last chunk may be shorter: keep it unless
# `drop_last=True`. A `batch_size` below 1 is a `ValueError`.
#
# **EXAMPLE.**
# ```python
# >>> [len(b) for b in batch_indices(10, 4, seed=0)]
# [4, 4, 2]
# >>> len(batch_indices(50_000, 32, seed=0))   # ceil(50000 / 32) updates per epoch
# 1563
# ```
#
# **HINTS.** Every example appears exactly once per epoch. `range(0, n, batch_size)`
# gives the start of each chunk.


# %% nbgrader={"grade": false, "grade_id": "batch_indices", "locked": false, "schema_version": 3, "solution": true, "task": false}
def batch_indices(n, batch_size, seed, shuffle=True, drop_last=False):
    """One epoch of mini-batch index arrays over ``n`` examples."""
    ### BEGIN SOLUTION
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    batches = [order[start : start + batch_size] for start in range(0, n, batch_size)]
    if drop_last and batches and len(batches[-1]) < batch_size:
        batches.pop()
    return batches
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_batch_indices", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
batches = batch_indices(10, 4, seed=0)
sizes = [len(b) for b in batches]
assert sizes != [4, 4], (
    "you get N // B batches: the last partial batch is missing (keep it unless drop_last=True)"
)
assert sizes == [4, 4, 2], f"10 examples in batches of 4 give sizes [4, 4, 2], got {sizes}"
assert sorted(np.concatenate(batches).tolist()) == list(range(10)), (
    "every example must appear exactly once per epoch"
)
order = np.random.default_rng(0).permutation(10)  # the required order, written out
assert np.array_equal(np.concatenate(batches), order), (
    f"the epoch visits {np.concatenate(batches)}; with seed=0 it must be "
    f"np.random.default_rng(0).permutation(10) = {order}, cut into consecutive chunks "
    "(not np.random.seed / np.random.permutation, nor rng.choice)"
)
even = [len(b) for b in batch_indices(8, 4, seed=0)]
assert even == [4, 4], (
    f"8 examples in batches of 4 give sizes [4, 4], got {even}: no empty batches (when the "
    "batch size divides n there is no partial batch to keep)"
)
again = batch_indices(10, 4, seed=0)
assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True)), (
    "the same seed must give the same batches: use np.random.default_rng(seed)"
)
plain = batch_indices(10, 4, seed=0, shuffle=False)
assert np.array_equal(np.concatenate(plain), np.arange(10)), "shuffle=False keeps the order 0..n-1"
print("visible tests for batch_indices passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_batch_indices", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
_b = batch_indices(50_000, 32, seed=3)
assert len(_b) == 1563, f"50,000 examples at batch 32: 1563 batches (ceil), got {len(_b)}"
assert len(_b[-1]) == 50_000 - 1562 * 32, (
    f"50,000 examples at batch 32: the last batch holds the 16 left over, got {len(_b[-1])}"
)
assert np.array_equal(np.concatenate(_b), np.random.default_rng(3).permutation(50_000)), (
    "with shuffle=True the epoch's order must be np.random.default_rng(seed).permutation(n), "
    "cut into consecutive chunks"
)
_dropped = batch_indices(50_000, 32, seed=3, drop_last=True)
assert len(_dropped) == 1562, (
    f"drop_last=True drops the short last batch: 1562 batches, got {len(_dropped)}"
)
_even = [len(b) for b in batch_indices(64, 32, seed=3)]
assert _even == [32, 32], f"64 examples at batch 32: [32, 32], no empty batches; got {_even}"
assert len(batch_indices(64, 32, seed=3, drop_last=True)) == 2, "drop_last drops only a short batch"
_one = batch_indices(5, 8, seed=1)
assert len(_one) == 1 and sorted(_one[0].tolist()) == [0, 1, 2, 3, 4], (
    "5 examples at batch 8: one (short) batch holding all 5"
)
assert len(batch_indices(5, 8, seed=1, drop_last=True)) == 0, (
    "5 examples at batch 8 with drop_last=True: the only batch is short, so no batches at all"
)
_s1 = np.concatenate(batch_indices(100, 10, seed=1))
_s2 = np.concatenate(batch_indices(100, 10, seed=2))
assert not np.array_equal(_s1, _s2), "different seeds give different orders"
for _bad in (0, -3):
    try:
        batch_indices(10, _bad, seed=0)
    except ValueError:
        pass
    else:
        raise AssertionError("batch_size < 1 must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2: the mini-batch gradient of linear regression
#
# **TODO.** Write `linreg_loss_and_grad(w, b, Xb, yb)` returning
# `(loss, grad_w, grad_b)` for the model `Xb @ w + b` and the *mean* squared
# error over the batch.
#
# **APPROACH.** With residuals `r = Xb @ w + b - yb` over a batch of `B` rows,
# `loss = mean(r**2)`, `grad_w = (2 / B) * Xb.T @ r`, `grad_b = (2 / B) * sum(r)`.
# Every sample in the batch contributes to the gradient, the first ones
# included.
#
# **EXAMPLE.**
# ```python
# >>> linreg_loss_and_grad(np.array([1.0]), 0.0, np.array([[1.0], [2.0]]), np.array([0.0, 0.0]))
# (2.5, array([5.]), 3.0)
# ```
#
# **HINTS.** `grad_w` has the shape of `w`; `grad_b` is a scalar. Doubling a batch
# (the same rows twice) must not change the mean loss or its gradient.


# %% nbgrader={"grade": false, "grade_id": "linreg_loss_and_grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def linreg_loss_and_grad(w, b, Xb, yb):
    """Mean squared error of ``Xb @ w + b`` against ``yb``, and its gradient in (w, b)."""
    ### BEGIN SOLUTION
    r = Xb @ w + b - yb
    n = len(yb)
    loss = float(np.mean(r**2))
    grad_w = (2.0 / n) * (Xb.T @ r)
    grad_b = float((2.0 / n) * np.sum(r))
    return loss, grad_w, grad_b
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_linreg_loss_and_grad", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
loss, gw, gb = linreg_loss_and_grad(
    np.array([1.0]), 0.0, np.array([[1.0], [2.0]]), np.array([0.0, 0.0])
)
assert np.isclose(loss, 2.5), f"mean of [1, 4] is 2.5, got {loss}"
assert np.shape(gw) == (1,), f"grad_w has the shape of w, (1,), got {np.shape(gw)}"
assert not np.allclose(gw, [10.0]), (
    "your gradient is B times too large: it grows with the batch size: did you sum instead of "
    "averaging?"
)
assert np.ndim(gb) == 0, f"grad_b is a scalar, like b: got shape {np.shape(gb)}"
assert np.allclose(gw, [5.0]) and np.isclose(gb, 3.0), f"expected ([5.], 3.0), got ({gw}, {gb})"
w0 = np.zeros(D)
l1, g1, c1 = linreg_loss_and_grad(w0, 0.0, X[:8], y[:8])
l2, g2, c2 = linreg_loss_and_grad(w0, 0.0, np.vstack([X[:8]] * 2), np.concatenate([y[:8]] * 2))
assert np.isclose(l1, l2) and np.allclose(g1, g2) and np.isclose(c1, c2), (
    "the same batch twice changed the loss or gradient: your loss grows with the batch size: "
    "did you sum instead of averaging?"
)
print("visible tests for linreg_loss_and_grad passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_linreg_loss_and_grad", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
_r = np.random.default_rng(11)
_X, _y = _r.normal(size=(13, 4)), _r.normal(size=13)
_w, _b = _r.normal(size=4), 0.7
_l, _gw, _gb = linreg_loss_and_grad(_w, _b, _X, _y)


def _L(w, b):
    return np.mean((_X @ w + b - _y) ** 2)


assert np.isclose(_l, _L(_w, _b)), f"the loss is mean(r**2) = {_L(_w, _b):.6g}, got {_l}"
_h = 1e-6
_fd_w = np.array([(_L(_w + _h * e, _b) - _L(_w - _h * e, _b)) / (2 * _h) for e in np.eye(4)])
_fd_b = (_L(_w, _b + _h) - _L(_w, _b - _h)) / (2 * _h)
assert np.allclose(_gw, _fd_w, atol=1e-6), "grad_w does not match finite differences"
assert np.isclose(_gb, _fd_b, atol=1e-6), "grad_b does not match finite differences"
_l1, _g1, _c1 = linreg_loss_and_grad(_w, _b, _X[:1], _y[:1])
assert np.allclose(_g1, 2 * _X[0] * (_X[0] @ _w + _b - _y[0])), (
    "a batch of one row x: grad_w is 2 * x * (x @ w + b - y); did you skip or double a row?"
)
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3: one epoch of SGD, with `mean` or `sum`
#
# **TODO.** Write `sgd_epoch(w, b, X, y, batch_size, lr, seed, reduction="mean")`
# returning `(w, b, batch_losses, batch_sizes)` after one epoch of plain SGD.
#
# **APPROACH.** For each batch of `batch_indices(len(y), batch_size, seed)`:
# compute `linreg_loss_and_grad` on it (that is the `mean` reduction). With
# `reduction="sum"` the loss is the *sum* over the batch, so its gradient is
# `len(batch)` times the mean's. Step: `w = w - lr * grad_w`,
# `b = b - lr * grad_b`. Record the batch's *mean* loss (before the step) and
# its size: `batch_losses` and `batch_sizes` have one entry per batch, in
# order (lists or 1-D arrays both do). Do not modify the caller's `w` in place.
#
# **EXAMPLE.** Sum reduction at `lr / B` takes exactly the steps of mean
# reduction at `lr` (when all batches have size `B`); sum at the same `lr` takes
# `B` times larger steps, and often diverges.
#
# **HINTS.** Start from `w = np.array(w, dtype=float)` (a copy). Any other
# reduction is a `ValueError`.
#
# **BUILT ON.** This exercise uses your `batch_indices` (Exercise 1) and
# `linreg_loss_and_grad` (Exercise 2): its tests compare with values computed
# independently, so a bug in either of those costs points here too.


# %% nbgrader={"grade": false, "grade_id": "sgd_epoch", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sgd_epoch(w, b, X, y, batch_size, lr, seed, reduction="mean"):
    """One epoch of mini-batch SGD on linear regression: (w, b, batch_losses, batch_sizes)."""
    ### BEGIN SOLUTION
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum'; got {reduction!r}")
    w = np.array(w, dtype=float)
    b = float(b)
    batch_losses, batch_sizes = [], []
    for idx in batch_indices(len(y), batch_size, seed):
        loss, gw, gb = linreg_loss_and_grad(w, b, X[idx], y[idx])
        scale = len(idx) if reduction == "sum" else 1
        w = w - lr * scale * gw
        b = b - lr * scale * gb
        batch_losses.append(loss)
        batch_sizes.append(len(idx))
    return w, b, batch_losses, batch_sizes
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sgd_epoch", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
w_start = np.zeros(D)
w_mean, b_mean, losses_mean, sizes_mean = sgd_epoch(w_start, 0.0, X, y, 8, 0.05, seed=SEED)
assert np.array_equal(w_start, np.zeros(D)), (
    "sgd_epoch changed the caller's w in place (w -= ... on the array you were given): start "
    "from a copy, w = np.array(w, dtype=float), and step with w = w - lr * grad_w"
)
assert list(sizes_mean) == [8] * 5, (
    f"40 examples at batch 8: five batches of 8, got {list(sizes_mean)}"
)
loss_before = np.mean((X @ np.zeros(D) + 0.0 - y) ** 2)  # the data's MSE, written out
loss_after = np.mean((X @ w_mean + b_mean - y) ** 2)
assert loss_after < loss_before, (
    "one epoch of SGD should lower the loss on the data: step against the gradient, w - lr * grad_w"
)
w_sum, b_sum, _, _ = sgd_epoch(np.zeros(D), 0.0, X, y, 8, 0.05 / 8, seed=SEED, reduction="sum")
assert np.allclose(w_sum, w_mean) and np.isclose(b_sum, b_mean), (
    "sum at lr/B should follow the same path as mean at lr: did you scale the sum's gradient by "
    "the batch size?"
)
print("visible tests for sgd_epoch passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_sgd_epoch", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
_r = np.random.default_rng(12)
_X, _y = _r.normal(size=(30, 2)), _r.normal(size=30)


def _ref_epoch(w, b, bs, lr, seed, reduction):
    w = np.array(w, dtype=float)
    losses, sizes = [], []
    for idx in np.array_split(
        np.random.default_rng(seed).permutation(len(_y)), range(bs, len(_y), bs)
    ):
        r = _X[idx] @ w + b - _y[idx]
        k = len(idx) if reduction == "sum" else 1
        losses.append(np.mean(r**2))
        sizes.append(len(idx))
        w, b = w - lr * k * 2 * _X[idx].T @ r / len(idx), b - lr * k * 2 * r.mean()
    return w, b, losses, sizes


_w0 = np.array([0.5, -0.5])
_keep = _w0.copy()
_step_hint = {
    "mean": "one step w - lr * grad_w per batch of batch_indices(len(y), batch_size, seed), in "
    "order (and linreg_loss_and_grad, which it uses, must average over the batch)",
    "sum": "with reduction='sum' the gradient is len(batch) times the mean's (the last batch "
    "has 2 examples, not batch_size)",
}
for _red in ("mean", "sum"):
    _got = sgd_epoch(_w0, 0.1, _X, _y, 7, 0.01, seed=4, reduction=_red)
    assert np.array_equal(_w0, _keep), (
        "sgd_epoch changed the caller's w in place: do not modify the caller's w in place "
        "(start from w = np.array(w, dtype=float), step with w = w - lr * grad_w)"
    )
    _ref = _ref_epoch(_keep, 0.1, 7, 0.01, 4, _red)
    assert np.allclose(_got[0], _ref[0]) and np.isclose(_got[1], _ref[1]), (
        f"reduction={_red!r}: (w, b) after the epoch differ from the reference: {_step_hint[_red]}"
    )
    assert list(_got[3]) == _ref[3] == [7, 7, 7, 7, 2], (
        f"30 examples at batch 7: batch_sizes [7, 7, 7, 7, 2], got {list(_got[3])}"
    )
    assert np.allclose(_got[2], _ref[2]), (
        f"reduction={_red!r}: the steps are right but batch_losses are not: record each batch's "
        "mean loss, computed before its step"
    )
# one batch of 30: sum at the same lr is a 30x larger step than mean
_wm = sgd_epoch(_w0, 0.0, _X, _y, 30, 0.001, seed=0)[0]
_ws = sgd_epoch(_w0, 0.0, _X, _y, 30, 0.001, seed=0, reduction="sum")[0]
assert np.allclose(_ws - _w0, 30 * (_wm - _w0)), (
    "one batch of 30: sum at the same lr must take a step 30 times the mean's"
)
# power-of-two batches: sum at lr/B equals mean at lr (to rounding)
_a = sgd_epoch(_w0, 0.0, _X[:16], _y[:16], 4, 0.02, seed=5)
_c = sgd_epoch(_w0, 0.0, _X[:16], _y[:16], 4, 0.02 / 4, seed=5, reduction="sum")
assert np.allclose(_a[0], _c[0], rtol=1e-12) and np.isclose(_a[1], _c[1], rtol=1e-12), (
    "batches of 4: sum at lr / 4 must follow mean at lr"
)
try:
    sgd_epoch(_w0, 0.0, _X, _y, 4, 0.1, seed=0, reduction="none")
except ValueError:
    pass
else:
    raise AssertionError("an unknown reduction must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4: the epoch's training loss, weighted by batch size
#
# **TODO.** Write `epoch_loss(batch_losses, batch_sizes)`: the epoch's training
# loss from the batches' mean losses and their sizes.
#
# **APPROACH.** The per-example mean over the epoch is
# `sum(loss_i * size_i) / sum(size_i)`. The plain mean of the batch means is
# wrong as soon as the last batch is short: with `N = 10`, `B = 4` its two
# examples would count as much as each batch of four.
#
# **EXAMPLE.**
# ```python
# >>> epoch_loss([1.0, 1.0, 4.0], [4, 4, 2])   # (4 + 4 + 8) / 10, not (1 + 1 + 4) / 3
# 1.6
# ```
#
# **HINTS.** `np.average` takes `weights=`.


# %% nbgrader={"grade": false, "grade_id": "epoch_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def epoch_loss(batch_losses, batch_sizes):
    """Size-weighted mean of per-batch mean losses."""
    ### BEGIN SOLUTION
    losses = np.asarray(batch_losses, dtype=float)
    sizes = np.asarray(batch_sizes, dtype=float)
    if losses.shape != sizes.shape or losses.size == 0:
        raise ValueError("need one size per batch loss, and at least one batch")
    return float(np.sum(losses * sizes) / np.sum(sizes))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_epoch_loss", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
value = epoch_loss([1.0, 1.0, 4.0], [4, 4, 2])
assert not np.isclose(value, 2.0), (
    "you averaged the batch means: the short last batch counts double. Weight each batch by its "
    "size."
)
assert np.isclose(value, 1.6), f"expected (4 + 4 + 8) / 10 = 1.6, got {value}"
assert np.isclose(epoch_loss([3.0, 3.0], [5, 5]), 3.0)
print("visible tests for epoch_loss passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_epoch_loss", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
_r = np.random.default_rng(13)
_per_example = _r.uniform(size=23)
_order = np.random.default_rng(2).permutation(23)  # fixed batches: not your batch_indices
_idx = [_order[_s : _s + 5] for _s in range(0, 23, 5)]
_means = [_per_example[i].mean() for i in _idx]
_sizes = [len(i) for i in _idx]
_v = epoch_loss(_means, _sizes)
assert np.isclose(_v, _per_example.mean()), (
    "23 examples in batches of 5 (the last one has 3): the epoch loss is the per-example mean, "
    "sum(loss_i * size_i) / sum(size_i)"
)
assert np.isclose(epoch_loss(np.array([2.0]), np.array([7])), 2.0), (
    "one batch (arrays in): the epoch loss is that batch's loss"
)
assert np.isclose(epoch_loss([0.0, 10.0], [9, 1]), 1.0), (
    "losses [0, 10] with sizes [9, 1]: (0 * 9 + 10 * 1) / 10 = 1"
)
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 5: gradient accumulation with unequal micro-batches
#
# **TODO.** Write `accumulated_grad(w, b, micro_batches)`. `micro_batches` is a
# list of `(Xk, yk)` pairs, possibly of different sizes; return
# `(grad_w, grad_b)` equal to the gradient of the mean loss over *all* their
# examples together, as if they were one batch.
#
# **APPROACH.** Accumulate the *sum* of per-example gradients (each micro-batch's
# mean gradient times its size), then divide once by the total count. Dividing
# the sum of the `K` micro-batch means by `K` is right only when all
# micro-batches have the same size: with sizes 8 and 2 it over-weights the 2.
#
# **EXAMPLE.** Micro-batches of 8 and 2 rows give exactly
# `linreg_loss_and_grad` on the 10 rows stacked.
#
# **HINTS.** Reuse `linreg_loss_and_grad`. Start the accumulators at zero once,
# before the loop (as you would zero the gradient once per update).
#
# **BUILT ON.** Reusing `linreg_loss_and_grad` (Exercise 2) makes this exercise
# depend on it: the tests compare with the gradient of the mean loss written
# out in NumPy, so a `linreg_loss_and_grad` that sums costs points here too.


# %% nbgrader={"grade": false, "grade_id": "accumulated_grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def accumulated_grad(w, b, micro_batches):
    """Mean-loss gradient over all examples of the micro-batches, accumulated one at a time."""
    ### BEGIN SOLUTION
    grad_w = np.zeros_like(np.asarray(w, dtype=float))
    grad_b = 0.0
    total = 0
    for Xk, yk in micro_batches:
        _, gw, gb = linreg_loss_and_grad(w, b, Xk, yk)
        grad_w = grad_w + gw * len(yk)
        grad_b = grad_b + gb * len(yk)
        total += len(yk)
    return grad_w / total, grad_b / total
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_accumulated_grad", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
w1 = np.array([0.2, -0.1, 0.0])
r16 = X[:16] @ w1 + 0.1 - y[:16]  # the gradient of the mean loss over 16 rows, written out
full_w, full_b = (2 / 16) * X[:16].T @ r16, (2 / 16) * np.sum(r16)
acc_w, acc_b = accumulated_grad(w1, 0.1, [(X[:8], y[:8]), (X[8:16], y[8:16])])
assert not np.allclose(acc_w, 2 * full_w), (
    "two equal micro-batches gave twice the full-batch gradient: divide the accumulated "
    "gradient by the number of examples (forgetting it multiplies the learning rate)"
)
assert np.allclose(acc_w, full_w) and np.isclose(acc_b, full_b), (
    "two equal micro-batches of 8 must give the gradient of the mean loss over the 16 rows, "
    "(2 / 16) * X.T @ r: check this function and the linreg_loss_and_grad it reuses (does that "
    "one average over the batch?)"
)
r10 = X[:10] @ w1 + 0.1 - y[:10]  # one batch of 10 rows, written out
full10_w, full10_b = (2 / 10) * X[:10].T @ r10, (2 / 10) * np.sum(r10)
by_k_w = ((2 / 8) * X[:8].T @ r10[:8] + (2 / 2) * X[8:10].T @ r10[8:]) / 2  # mean of the 2 means
acc10_w, acc10_b = accumulated_grad(w1, 0.1, [(X[:8], y[:8]), (X[8:10], y[8:10])])
assert not np.allclose(acc10_w, by_k_w), (
    "micro-batches of 8 and 2 rows gave the average of their two mean gradients: dividing by K "
    "is right only for equal micro-batches: weight each mean gradient by its micro-batch's size "
    "and divide by the total count, 10"
)
assert np.allclose(acc10_w, full10_w) and np.isclose(acc10_b, full10_b), (
    "micro-batches of 8 and 2 rows must give the gradient of the mean loss over the 10 rows, "
    "(2 / 10) * X.T @ r"
)
print("visible tests for accumulated_grad passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_accumulated_grad", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
_r = np.random.default_rng(14)
_X, _y = _r.normal(size=(10, 3)), _r.normal(size=10)
_w = _r.normal(size=3)
# the reference: the mean loss's gradient over all 10 rows, written out (no student function)
_res = _X @ _w + 0.2 - _y
_ref_gw, _ref_gb = (2 / 10) * _X.T @ _res, (2 / 10) * np.sum(_res)
_gw, _gb = accumulated_grad(_w, 0.2, [(_X[:8], _y[:8]), (_X[8:], _y[8:])])
assert np.allclose(_gw, _ref_gw) and np.isclose(_gb, _ref_gb), (
    "micro-batches of 8 + 2 rows must give the gradient of the mean loss over all 10: add each "
    "micro-batch's mean gradient times its size, then divide once by the total count"
)
_parts = [(_X[:1], _y[:1]), (_X[1:4], _y[1:4]), (_X[4:], _y[4:])]
_gw3, _gb3 = accumulated_grad(_w, 0.2, _parts)
assert np.allclose(_gw3, _ref_gw) and np.isclose(_gb3, _ref_gb), (
    "micro-batches of 1 + 3 + 6 rows must give the gradient of the mean loss over all 10"
)
_one = accumulated_grad(_w, 0.2, [(_X, _y)])
assert np.allclose(_one[0], _ref_gw) and np.isclose(_one[1], _ref_gb), (
    "a single micro-batch of 10 rows: its own mean-loss gradient"
)
### END HIDDEN TESTS
