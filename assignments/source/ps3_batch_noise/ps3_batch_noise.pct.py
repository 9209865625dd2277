# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 3: batch-size noise and validation
#
# A mini-batch gradient is an unbiased but noisy estimate of the full-data
# gradient. You will measure that noise as a function of the batch size,
# compare it with the exact formula for sampling without replacement, and then
# train with a validation split and early stopping. One question is answered
# in words and graded by hand.
#
# **How this is graded.** Each exercise has a *visible* test right after it (its
# message names the likely mistake) and a *hidden* test that runs only when
# your notebook is graded and decides most of the points. The written answer is
# graded by your instructor.
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
import os

import numpy as np

SEED = 11
data_rng = np.random.default_rng(SEED)

# A 1-parameter linear regression at w = 0.5: per-example gradients of (w x - y)^2.
x_data = data_rng.normal(size=200)
y_data = 2.0 * x_data + data_rng.normal(scale=0.5, size=200)
per_example_grads = 2 * x_data * (0.5 * x_data - y_data)
np.set_printoptions(precision=4, suppress=True)


def batch_indices(n, batch_size, seed):
    """Given (assignment 2): one shuffled epoch of index arrays, the last one possibly short."""
    order = np.random.default_rng(seed).permutation(n)
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]


def linreg_loss_and_grad(w, b, Xb, yb):
    """Given (assignment 2): mean squared error of Xb @ w + b and its gradient in (w, b)."""
    r = Xb @ w + b - yb
    return float(np.mean(r**2)), (2.0 / len(yb)) * (Xb.T @ r), float(2.0 * np.mean(r))


# %% [markdown]
# ## Exercise 1: measure the noise of a mini-batch mean
#
# **TODO.** Write `batch_mean_variance(values, batch_size, n_trials, seed)`:
# draw `n_trials` batches of `batch_size` entries of `values` *without
# replacement*, take each batch's mean, and return the variance of those means.
#
# **APPROACH.** Make one generator, `rng = np.random.default_rng(seed)`; for each
# trial `rng.choice(len(values), size=batch_size, replace=False)` picks a batch.
# Collect the means in an array and return `np.var(means)`.
#
# **EXAMPLE.** With the 200 per-example gradients of the setup cell:
# ```python
# >>> batch_mean_variance(per_example_grads, 200, n_trials=50, seed=0)   # every batch is everything
# 1.4199496293978212e-31   (0 up to rounding; the visible test accepts anything below 1e-20)
# ```
#
# **HINTS.** Without replacement a batch of `N` is the whole dataset, so its
# mean never changes. A `batch_size` outside `1..N` is a `ValueError`.


# %% nbgrader={"grade": false, "grade_id": "batch_mean_variance", "locked": false, "schema_version": 3, "solution": true, "task": false}
def batch_mean_variance(values, batch_size, n_trials, seed):
    """Empirical variance of the mean of a random batch (without replacement)."""
    ### BEGIN SOLUTION
    values = np.asarray(values, dtype=float)
    n = len(values)
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in 1..{n}; got {batch_size}")
    rng = np.random.default_rng(seed)
    means = np.array(
        [values[rng.choice(n, size=batch_size, replace=False)].mean() for _ in range(n_trials)]
    )
    return float(np.var(means))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_batch_mean_variance", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
v1 = batch_mean_variance(per_example_grads, 1, n_trials=2000, seed=0)
v16 = batch_mean_variance(per_example_grads, 16, n_trials=2000, seed=0)
assert v16 < v1 / 8, f"a batch of 16 should be much less noisy than a batch of 1: {v16} vs {v1}"
v_all = batch_mean_variance(per_example_grads, len(per_example_grads), n_trials=50, seed=0)
assert v_all < 1e-20, (
    f"got {v_all} at B = N: without replacement every batch of N is the whole dataset, so the "
    "variance is 0: did you sample with replacement?"
)
print("visible tests for batch_mean_variance passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_batch_mean_variance", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
_vals = np.random.default_rng(31).exponential(size=60)
_s2 = np.var(_vals)
for _B in (1, 5, 30, 55):
    _emp = batch_mean_variance(_vals, _B, n_trials=4000, seed=_B)
    _theory = _s2 / _B * (60 - _B) / 59
    assert abs(_emp - _theory) < 0.12 * _theory, (
        f"batch size {_B} of 60 values: measured {_emp:.4g}, but batches drawn without "
        f"replacement have variance {_theory:.4g}: draw each batch with "
        "rng.choice(n, size=batch_size, replace=False) and return np.var of the batch means"
    )
assert batch_mean_variance(_vals, 60, n_trials=20, seed=1) < 1e-20, (
    "at B = N every batch is the whole dataset: the variance is 0"
)
assert batch_mean_variance(_vals, 5, 100, seed=3) == batch_mean_variance(_vals, 5, 100, seed=3), (
    "the same seed must give the same result: make one generator, np.random.default_rng(seed)"
)
for _bad in (0, 61):
    try:
        batch_mean_variance(_vals, _bad, 10, seed=0)
    except ValueError:
        pass
    else:
        raise AssertionError("batch_size outside 1..N must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2: the exact variance, without replacement
#
# **TODO.** Write `theoretical_variance(values, batch_size)`: the variance of
# the mean of a batch of `B` drawn without replacement from `N` values,
# `sigma^2 / B * (N - B) / (N - 1)`.
#
# **APPROACH.** `sigma^2` is the *population* variance of the values: divide by
# `N` (that is `np.var`, `ddof=0`). The factor `(N - B) / (N - 1)` is the
# finite-population correction: 1 at `B = 1`, 0 at `B = N`. With replacement
# the variance would be just `sigma^2 / B`.
#
# **EXAMPLE.**
# ```python
# >>> theoretical_variance(np.array([0.0, 1.0, 2.0, 3.0]), 2)   # 1.25 / 2 * 2 / 3
# 0.4166666666666667
# ```
#
# **HINTS.** Compare with your measurement for a few batch sizes: they should
# agree to a few percent with a few thousand trials.


# %% nbgrader={"grade": false, "grade_id": "theoretical_variance", "locked": false, "schema_version": 3, "solution": true, "task": false}
def theoretical_variance(values, batch_size):
    """Variance of a without-replacement batch mean: sigma^2 / B * (N - B) / (N - 1)."""
    ### BEGIN SOLUTION
    values = np.asarray(values, dtype=float)
    n = len(values)
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in 1..{n}; got {batch_size}")
    if n == 1:
        return 0.0
    return float(np.var(values) / batch_size * (n - batch_size) / (n - 1))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_theoretical_variance", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
t = theoretical_variance(np.array([0.0, 1.0, 2.0, 3.0]), 2)
assert not np.isclose(t, 0.625), (
    "you returned sigma^2 / B, the with-replacement variance: multiply by the finite-population "
    "factor (N - B) / (N - 1)"
)
assert not np.isclose(t, 5 / 9), "sigma^2 is the population variance: divide by N (np.var, ddof=0)"
assert np.isclose(t, 1.25 / 2 * 2 / 3), f"expected 0.41667, got {t}"
assert theoretical_variance(per_example_grads, 200) == 0, "at B = N the variance is exactly 0"
print("visible tests for theoretical_variance passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_theoretical_variance", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
_vals = np.random.default_rng(32).normal(size=50)
_s2 = np.mean((_vals - _vals.mean()) ** 2)
for _B in (1, 7, 25, 49, 50):
    _t = theoretical_variance(_vals, _B)
    assert np.isclose(_t, _s2 / _B * (50 - _B) / 49, rtol=1e-10, atol=1e-15), (
        f"N = 50, B = {_B}: expected sigma^2 / B * (N - B) / (N - 1) = "
        f"{_s2 / _B * (50 - _B) / 49:.6g} with sigma^2 = np.var(values) (ddof=0), got {_t}"
    )
assert np.isclose(theoretical_variance(_vals, 1), _s2), "B = 1: the population variance"
### END HIDDEN TESTS

# %% [markdown]
# ### Explore (not graded)
#
# Drag the slider: the measured variance of the mini-batch gradient against
# the formula, on a log scale. This cell skips its work while the notebook is
# graded (nbgrader sets `NBGRADER_EXECUTION`).

# %% nbgrader={"grade": false, "grade_id": "explore_noise", "locked": true, "schema_version": 3, "solution": false, "task": false}
if os.environ.get("NBGRADER_EXECUTION"):
    print("explorer skipped while grading")
else:
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show_noise(max_batch=64, trials=500):
        sizes = np.unique(np.geomspace(1, max_batch, 12).astype(int))
        try:
            measured = [batch_mean_variance(per_example_grads, b, trials, seed=0) for b in sizes]
            formula = [theoretical_variance(per_example_grads, b) for b in sizes]
        except NotImplementedError:
            print("write batch_mean_variance and theoretical_variance first")
            return
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.loglog(sizes, measured, "o", label="measured")
        ax.loglog(sizes, formula, "-", label="sigma^2/B (N-B)/(N-1)")
        ax.set_xlabel("batch size B")
        ax.set_ylabel("variance of the batch-mean gradient")
        ax.legend()
        plt.show()

    widgets.interact(
        show_noise,
        max_batch=widgets.IntSlider(64, 2, 199),
        trials=widgets.IntSlider(500, 50, 3000, step=50),
    )

# %% [markdown]
# ## Exercise 3: a train/validation split
#
# **TODO.** Write `train_val_split(n, val_fraction, seed)` returning
# `(train_idx, val_idx)`, two index arrays that together hold `0..n-1` once.
#
# **APPROACH.** `perm = np.random.default_rng(seed).permutation(n)`;
# `n_val = int(round(n * val_fraction))`; the first `n_val` entries of `perm` are
# the validation set, the rest the training set. `val_fraction` outside
# `(0, 1)` is a `ValueError`.
#
# **EXAMPLE.**
# ```python
# >>> tr, va = train_val_split(10, 0.3, seed=0)
# >>> len(tr), len(va)
# (7, 3)
# ```
#
# **HINTS.** The validation set is fixed for the whole training run: the same
# seed gives the same split.


# %% nbgrader={"grade": false, "grade_id": "train_val_split", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_val_split(n, val_fraction, seed):
    """Seeded split of 0..n-1 into (train_idx, val_idx)."""
    ### BEGIN SOLUTION
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1); got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_fraction))
    return perm[n_val:], perm[:n_val]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_train_val_split", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
tr, va = train_val_split(10, 0.3, seed=0)
assert (len(tr), len(va)) == (7, 3), (
    f"expected 7 training and 3 validation indices, got {len(tr)}, {len(va)}"
)
assert sorted(np.concatenate([tr, va]).tolist()) == list(range(10)), (
    "training and validation must be disjoint and cover every example once"
)
perm = np.random.default_rng(0).permutation(10)  # the required split, written out
assert np.array_equal(va, perm[:3]) and np.array_equal(tr, perm[3:]), (
    f"with seed=0 the validation set is the first 3 entries of "
    f"np.random.default_rng(0).permutation(10) = {perm}, i.e. {perm[:3]}, and the training set "
    f"the rest, in that order; got validation {va}, training {tr}"
)
print("visible tests for train_val_split passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_train_val_split", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
_tr, _va = train_val_split(101, 0.2, seed=5)
_perm = np.random.default_rng(5).permutation(101)
assert np.array_equal(_va, _perm[:20]) and np.array_equal(_tr, _perm[20:]), (
    "n = 101, val_fraction = 0.2: validation must be the first round(20.2) = 20 entries of "
    "np.random.default_rng(seed).permutation(n), training the other 81, in that order"
)
_a, _b = train_val_split(50, 0.5, seed=1)
_c, _d = train_val_split(50, 0.5, seed=1)
assert np.array_equal(_a, _c) and np.array_equal(_b, _d), "the same seed must give the same split"
for _bad in (0.0, 1.0, -0.1):
    try:
        train_val_split(10, _bad, seed=0)
    except ValueError:
        pass
    else:
        raise AssertionError("val_fraction outside (0, 1) must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4: train with early stopping
#
# **TODO.** Write `fit_early_stopping(X, y, *, val_fraction, batch_size, lr, max_epochs, patience, min_delta, seed)`
# for linear regression (start from `w = 0`, `b = 0`) and return a dict with
# keys `"w"`, `"b"`, `"train_losses"`, `"val_losses"`, `"best_epoch"`,
# `"stopped_epoch"`.
#
# **APPROACH.** Split once with `train_val_split(len(y), val_fraction, seed)`.
# Epoch `e = 0, 1, ...`: for each batch of
# `batch_indices(len(train_idx), batch_size, seed + e)` (positions into the
# training indices) take one SGD step with `linreg_loss_and_grad` (mean
# reduction); record the epoch's training loss as the size-weighted mean of the
# batch losses, then the validation loss, once, on the fixed weights. An epoch
# *improves* when its validation loss is below the best so far minus
# `min_delta`: then remember it (`best_epoch`, a copy of `w` and `b`). Stop
# after `patience` epochs in a row without improvement: `stopped_epoch` is the
# epoch at which patience ran out, even when that is the last one
# (`max_epochs - 1`), and `None` only when patience never ran out. Return the
# *best* weights, not the last ones.
#
# **EXAMPLE.** Validation losses `[1.0, 0.8, 0.9, 0.85, 0.95]` with `patience=2`,
# `min_delta=0`: best epoch 1, stop at epoch 3 (epochs 2 and 3 did not improve).
#
# **HINTS.** `w.copy()`: a reference to `w` changes when you keep training.
# The validation loss of the returned weights is `min(val_losses)` when
# `min_delta=0`.
#
# **BUILT ON.** This exercise uses your `train_val_split` (Exercise 3) and the
# given `batch_indices` and `linreg_loss_and_grad`: its tests compare with
# values computed independently, so a bug in your split (or handing it to a
# library) costs points here too.


# %% nbgrader={"grade": false, "grade_id": "fit_early_stopping", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fit_early_stopping(
    X, y, *, val_fraction, batch_size, lr, max_epochs, patience, min_delta, seed
):
    """Mini-batch SGD for linear regression with a validation split and early stopping."""
    ### BEGIN SOLUTION
    train_idx, val_idx = train_val_split(len(y), val_fraction, seed)
    Xt, yt, Xv, yv = X[train_idx], y[train_idx], X[val_idx], y[val_idx]
    w, b = np.zeros(X.shape[1]), 0.0
    best = (np.inf, None, w.copy(), b)
    train_losses, val_losses, stopped, waited = [], [], None, 0
    for epoch in range(max_epochs):
        losses, sizes = [], []
        for idx in batch_indices(len(yt), batch_size, seed + epoch):
            loss, gw, gb = linreg_loss_and_grad(w, b, Xt[idx], yt[idx])
            w, b = w - lr * gw, b - lr * gb
            losses.append(loss)
            sizes.append(len(idx))
        train_losses.append(float(np.average(losses, weights=sizes)))
        val_losses.append(linreg_loss_and_grad(w, b, Xv, yv)[0])
        if val_losses[-1] < best[0] - min_delta:
            best, waited = (val_losses[-1], epoch, w.copy(), b), 0
        else:
            waited += 1
            if waited >= patience:
                stopped = epoch
                break
    return {
        "w": best[2],
        "b": best[3],
        "train_losses": train_losses,
        "val_losses": val_losses,
        "best_epoch": best[1],
        "stopped_epoch": stopped,
    }
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fit_early_stopping", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
Xf = data_rng.normal(size=(60, 2))
yf = Xf @ np.array([1.0, -1.0]) + 0.1 * data_rng.normal(size=60)
perm = np.random.default_rng(0).permutation(60)  # the split of Exercise 3, written out
va_idx = perm[:15]
try:
    split_tr, split_va = train_val_split(60, 0.25, seed=0)
except NotImplementedError:
    raise AssertionError(
        "fit_early_stopping is built on your train_val_split (Exercise 3): write that first"
    ) from None
assert np.array_equal(split_va, va_idx) and np.array_equal(split_tr, perm[15:]), (
    "train_val_split(60, 0.25, seed=0) does not give Exercise 3's split (validation = the first "
    "15 entries of np.random.default_rng(0).permutation(60), training = the rest, in order): "
    "fix train_val_split first; this test measures your weights on that validation set"
)
res = fit_early_stopping(
    Xf,
    yf,
    val_fraction=0.25,
    batch_size=8,
    lr=0.05,
    max_epochs=30,
    patience=3,
    min_delta=0.0,
    seed=0,
)
keys = {"w", "b", "train_losses", "val_losses", "best_epoch", "stopped_epoch"}
assert set(res) >= keys, f"the result needs the keys {sorted(keys)}; missing {keys - set(res)}"
assert len(res["train_losses"]) == len(res["val_losses"]) >= 1, (
    "one training and one validation loss per epoch run"
)
assert res["val_losses"][-1] < res["val_losses"][0] or res["stopped_epoch"] is not None, (
    "30 epochs without early stopping should lower the validation loss: step against the gradient"
)
best_val = np.mean((Xf[va_idx] @ res["w"] + res["b"] - yf[va_idx]) ** 2)
assert np.isclose(best_val, min(res["val_losses"])), (
    "the returned weights should be the best ones (restore the best epoch's copy), not the last"
)
print("visible tests for fit_early_stopping passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_fit_early_stopping", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
# few examples, many features: the validation loss turns up while training loss falls
_rng = np.random.default_rng(33)
_X = _rng.normal(size=(50, 30))
_y = _X[:, :3] @ np.array([1.0, -1.0, 0.5]) + 0.8 * _rng.normal(size=50)
# 35 training rows in batches of 8: every epoch ends with a short batch of 3
_kw = dict(val_fraction=0.3, batch_size=8, lr=0.02, max_epochs=200, min_delta=0.0, seed=3)
# the reference split and first two epochs, written out in NumPy (no function of the notebook)
_perm = np.random.default_rng(3).permutation(50)
_tr, _va = _perm[15:], _perm[:15]
_split = train_val_split(50, 0.3, seed=3)
assert np.array_equal(_split[1], _va) and np.array_equal(_split[0], _tr), (
    "fit_early_stopping is built on your train_val_split, which does not give Exercise 3's "
    "split (validation first in the permutation, training after it): fix train_val_split first"
)
_res = fit_early_stopping(_X, _y, patience=5, **_kw)
_vl = _res["val_losses"]
assert _res["stopped_epoch"] is not None, (
    "this run overfits (30 features, 35 training rows): early stopping must trigger"
)
assert _res["stopped_epoch"] == len(_vl) - 1, (
    "stopped_epoch is the last epoch you ran: len(val_losses) - 1"
)
assert _res["stopped_epoch"] == _res["best_epoch"] + 5, (
    f"patience=5: stop 5 epochs after the best one; best_epoch {_res['best_epoch']}, "
    f"stopped_epoch {_res['stopped_epoch']}"
)
assert _res["best_epoch"] == int(np.argmin(_vl)), (
    "with min_delta=0, best_epoch is the epoch of the lowest validation loss"
)
assert np.isclose(
    np.mean((_X[_va] @ _res["w"] + _res["b"] - _y[_va]) ** 2), _vl[_res["best_epoch"]]
), "the returned w and b must be the best epoch's copy, not the last weights"
assert _res["train_losses"][-1] < _res["train_losses"][0], "the training loss must fall"
_w, _b = np.zeros(30), 0.0
for _e in (0, 1):
    _ls, _ns = [], []
    _order = np.random.default_rng(3 + _e).permutation(len(_tr))  # epoch e shuffles with seed + e
    for _start in range(0, len(_tr), 8):
        _idx = _tr[_order[_start : _start + 8]]
        _res_e = _X[_idx] @ _w + _b - _y[_idx]
        _ls.append(np.mean(_res_e**2))
        _ns.append(len(_idx))
        _w = _w - 0.02 * (2 / len(_idx)) * _X[_idx].T @ _res_e
        _b = _b - 0.02 * 2 * np.mean(_res_e)
    _val_e = np.mean((_X[_va] @ _w + _b - _y[_va]) ** 2)
    assert _e == 1 or np.isclose(_vl[0], _val_e), (
        "epoch 0's validation loss differs from the reference run: split once with "
        "train_val_split, take the batches of batch_indices(len(train_idx), batch_size, seed) as "
        "positions into train_idx, one mean-reduction SGD step per batch, then the validation "
        "loss on the fixed weights"
    )
    assert _e == 0 or np.isclose(_vl[1], _val_e), (
        "epoch 1 differs from the reference though epoch 0 matches: shuffle epoch e with "
        "batch_indices(len(train_idx), batch_size, seed + e), a new order every epoch"
    )
    _tl = _res["train_losses"][_e]
    assert not np.isclose(_tl, np.mean(_ls)), (
        f"epoch {_e}'s training loss is the plain mean of its batch losses: weight each batch by "
        "its size (the last batch has 3 rows, the others 8)"
    )
    assert np.isclose(_tl, np.average(_ls, weights=_ns)), (
        f"epoch {_e}'s training loss must be the size-weighted mean of that epoch's batch "
        "losses, each computed before its step"
    )
# min_delta: improvements smaller than it count as none
_big = fit_early_stopping(_X, _y, patience=3, **{**_kw, "min_delta": 1e6})
assert _big["best_epoch"] == 0 and _big["stopped_epoch"] == 3, (
    "min_delta=1e6: no epoch after the first improves by that much, so best_epoch 0 and, with "
    f"patience=3, a stop at epoch 3; got {_big['best_epoch']} and {_big['stopped_epoch']}"
)
# patience runs out on the last epoch: that is a stop
_edge = fit_early_stopping(_X, _y, patience=3, **{**_kw, "min_delta": 1e6, "max_epochs": 4})
assert _edge["stopped_epoch"] == 3, (
    "patience ran out on the last epoch (epoch 3 of max_epochs=4): that is a stop, "
    f"stopped_epoch 3, got {_edge['stopped_epoch']}"
)
# patience longer than the run: no stop
_long = fit_early_stopping(_X, _y, patience=500, **{**_kw, "max_epochs": 12})
assert _long["stopped_epoch"] is None and len(_long["val_losses"]) == 12, (
    "patience=500 never runs out in 12 epochs: stopped_epoch None and 12 validation losses"
)
### END HIDDEN TESTS

# %% [markdown]
# ## Question (graded by hand): what does the noise formula tell you?
#
# In a few sentences: why is the variance of the mini-batch gradient exactly 0
# at `B = N` (sampling without replacement), and what does the `1/B` fall-off
# mean for the benefit of doubling the batch size from 32 to 64 compared with
# doubling it from 1 to 2? Mention one thing you give up with larger batches.

# %% [markdown] nbgrader={"grade": true, "grade_id": "noise_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# At B = N a batch drawn without replacement is the whole dataset, so every
# batch mean equals the full-data gradient and nothing is left to vary: the
# factor (N - B)/(N - 1) is 0. Below that the variance falls like 1/B, so
# doubling the batch always halves the variance, but the absolute reduction
# shrinks: going from 1 to 2 removes half of sigma^2, going from 32 to 64
# removes only sigma^2/64, while each step costs twice the compute. Larger
# batches also mean fewer updates per epoch and more memory for activations.
