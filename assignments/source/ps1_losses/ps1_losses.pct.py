# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 1: losses and the log-sum-exp trick
#
# You will write, with NumPy only, the losses a training loop turns a batch of
# predictions into: mean squared error with its three reductions, a numerically
# stable log-softmax, cross-entropy from logits with class indices (and its
# gradient), binary cross-entropy on probabilities with PyTorch's `-100`
# log clamp, and a gradient check (central differences and the relative error)
# that you run on your own gradient.
#
# **How this is graded.** Each exercise has a *visible* test right after it (run
# it: its message tells you what is probably wrong) and a *hidden* test that
# runs only when your notebook is graded and decides most of the points.
# Passing the visible test does not guarantee the hidden one: test your code on
# other inputs too (other shapes, `float32`, `float16`, huge logits).
#
# **Your own work.** Write the maths yourself with NumPy. Your notebook is graded
# in a sandbox where only NumPy and Python's standard library can be imported:
# code that uses losskit, SciPy, scikit-learn, PyTorch or JAX fails there with
# `ModuleNotFoundError`, and the tests of every function that needs it score 0.
# The tests run in a separate process, from the instructor's copy of each test
# cell: editing, deleting or working around them changes nothing.
#
# **Warnings cost points.** nbgrader scores a test cell 0 when anything is
# printed to stderr while it runs, and that includes NumPy's warnings (for
# example `RuntimeWarning: divide by zero encountered in log`), even when your
# numbers are right. Where a warning is expected, silence it inside your
# function with `np.errstate` (Exercise 5 shows how); the visible tests tell
# you when your function warns.
#
# Restart the kernel and run all cells before you submit.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

SEED = 2024
rng = np.random.default_rng(SEED)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## Exercise 1: mean squared error and its reductions
#
# **TODO.** Write `mse_loss(pred, target, reduction="mean")`.
#
# **APPROACH.** Square the element-wise difference, then reduce: `"mean"`
# averages over all elements, `"sum"` adds them, `"none"` returns the
# per-element losses (same shape as the inputs). Refuse inputs whose shapes
# differ with a `ValueError`: `(N, 1)` predictions against `(N,)` targets would
# otherwise broadcast silently to an `(N, N)` matrix. Refuse an unknown
# `reduction` with a `ValueError` too.
#
# **EXAMPLE.**
# ```python
# >>> mse_loss(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0]), reduction="none")
# array([0., 4., 4.])
# >>> mse_loss(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0]))  # (0 + 4 + 4) / 3
# np.float64(2.6666666666666665)
# >>> mse_loss(np.ones((2, 2), dtype=np.float32), np.zeros((2, 2), dtype=np.float32))
# np.float32(1.0)
# ```
#
# **HINTS.** With `"mean"` the loss of a batch does not depend on how many
# samples it has, and each sample's gradient carries a `1/N`. `"mean"` and
# `"sum"` reduce over *every* element, whatever the shape (a `(2, 2)` input
# gives one number). Keep the input's dtype: return the NumPy scalar as it is
# (float32 in, float32 out), not `float(...)` or `np.float64(...)`.


# %% nbgrader={"grade": false, "grade_id": "mse_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mse_loss(pred, target, reduction="mean"):
    """Mean squared error between ``pred`` and ``target`` with a torch-style reduction."""
    ### BEGIN SOLUTION
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(
            f"pred has shape {pred.shape} but target has shape {target.shape}; they must "
            "match (reshape (N, 1) predictions with .reshape(-1))"
        )
    squared = (pred - target) ** 2
    if reduction == "mean":
        return squared.mean()
    if reduction == "sum":
        return squared.sum()
    if reduction == "none":
        return squared
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mse_loss", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
pred = np.array([1.0, 2.0, 3.0])
target = np.array([1.0, 0.0, 5.0])
per_sample = mse_loss(pred, target, reduction="none")
assert np.shape(per_sample) == (3,), (
    f"reduction='none' keeps one loss per sample: expected shape (3,), got {np.shape(per_sample)}"
)
assert np.allclose(per_sample, [0.0, 4.0, 4.0]), (
    f"squared errors should be [0, 4, 4], got {per_sample}"
)
assert np.isclose(mse_loss(pred, target, reduction="sum"), 8.0), (
    "reduction='sum' should give 0+4+4 = 8"
)
mean = mse_loss(pred, target)
assert not np.isclose(mean, 8.0), (
    "the mean came out as the sum (8.0): your loss grows with the batch size: did you sum "
    "instead of averaging?"
)
assert np.isclose(mean, 8.0 / 3.0), f"reduction='mean' should give 8/3, got {mean}"
assert np.isclose(mse_loss(np.tile(pred, 2), np.tile(target, 2)), mean), (
    "the same samples twice should give the same mean loss: your loss grows with the batch "
    "size: did you sum instead of averaging?"
)
grid = np.array([[1.0, 2.0], [3.0, 4.0]])
grid_mean = mse_loss(grid, np.zeros((2, 2)))
assert np.shape(grid_mean) == (), (
    f"a (2, 2) input gave a mean of shape {np.shape(grid_mean)}: 'mean' averages over all "
    "elements (one number), not over the last axis"
)
assert np.isclose(grid_mean, np.mean(grid**2)), (
    f"the mean of all four squared errors is {np.mean(grid**2)}, got {grid_mean}"
)
grid_sum = mse_loss(grid, np.zeros((2, 2)), reduction="sum")
assert np.shape(grid_sum) == () and np.isclose(grid_sum, np.sum(grid**2)), (
    f"'sum' adds all elements: expected {np.sum(grid**2)}, got {grid_sum}"
)
mean32 = mse_loss(pred.astype(np.float32), target.astype(np.float32))
assert np.asarray(mean32).dtype == np.float32, (
    f"float32 inputs gave a {type(mean32).__name__} of dtype {np.asarray(mean32).dtype}: keep "
    "the input's dtype: return the NumPy result as it is, not float(...) or np.float64(...)"
)
try:
    mse_loss(np.zeros((3, 1)), np.zeros(3))
except ValueError:
    pass
else:
    raise AssertionError(
        "(3, 1) predictions against (3,) targets must raise ValueError: they would broadcast "
        "silently to a (3, 3) matrix of differences"
    )
print("visible tests for mse_loss passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_mse_loss", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
_r = np.random.default_rng(101)
for _shape in [(7,), (4, 5), (2, 3, 4)]:
    _p, _t = _r.normal(size=_shape), _r.normal(size=_shape)
    _sq = (_p - _t) ** 2
    _mean = mse_loss(_p, _t)
    assert np.shape(_mean) == () and np.isclose(_mean, _sq.mean()), (
        f"reduction='mean' on shape {_shape}: expected one number, the mean over all "
        f"{_sq.size} elements ({_sq.mean():.6g}), got {_mean}"
    )
    _sum = mse_loss(_p, _t, reduction="sum")
    assert np.shape(_sum) == () and np.isclose(_sum, _sq.sum()), (
        f"reduction='sum' on shape {_shape}: expected the sum over all elements, got {_sum}"
    )
    _none = mse_loss(_p, _t, reduction="none")
    assert np.shape(_none) == _shape and np.allclose(_none, _sq), (
        f"reduction='none' on shape {_shape}: expected the squared errors, same shape"
    )
_p32 = _r.normal(size=50).astype(np.float32)
_t32 = _r.normal(size=50).astype(np.float32)
assert np.asarray(mse_loss(_p32, _t32)).dtype == np.float32, (
    "float32 inputs must give a float32 loss: keep the input's dtype (no float(...) or "
    "np.float64(...))"
)
_sum, _mean = mse_loss(_p32, _t32, reduction="sum"), mse_loss(_p32, _t32)
assert np.isclose(_sum, 50 * _mean, rtol=1e-5), "for 50 elements the sum is 50 times the mean"
for _bad in [(np.zeros((5, 1)), np.zeros(5)), (np.zeros(4), np.zeros(5))]:
    try:
        mse_loss(*_bad)
    except ValueError:
        pass
    else:
        raise AssertionError("mismatched shapes must raise ValueError, not broadcast")
try:
    mse_loss(np.zeros(3), np.zeros(3), reduction="avg")
except ValueError:
    pass
else:
    raise AssertionError("an unknown reduction must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2: a stable log-softmax
#
# **TODO.** Write `log_softmax(x)`: the log-probabilities along the last axis of
# an array of logits (any number of leading dimensions), without overflow.
#
# **APPROACH.** `log_softmax(x) = x - log(sum(exp(x)))`. Computed like that,
# `exp(x)` overflows to `inf` past 11.09 in float16, 88.72 in float32 and
# 709.78 in float64: `log(sum(exp(x)))` is then `inf` and every entry comes out
# `-inf` (float32 `[100, 200, 300]` gives `[-inf, -inf, -inf]`); written as
# `log(exp(x) / sum(exp(x)))` it is `inf / inf = NaN` instead. Subtract the row
# maximum `m` first: `log(sum(exp(x))) = m + log(sum(exp(x - m)))` is exact
# algebra, and the largest exponent becomes `exp(0) = 1`. Each row needs its
# own maximum: with the maximum of the whole array, a row far below it
# (`[-1000, -1001]` next to `[0, 1]`) underflows to `exp(...) = 0` everywhere.
#
# **EXAMPLE.**
# ```python
# >>> log_softmax(np.array([100.0, 200.0, 300.0], dtype=np.float32))
# array([-200., -100.,    0.], dtype=float32)
# ```
#
# **HINTS.** `x.max(axis=-1, keepdims=True)` keeps the axis so the subtraction
# broadcasts row by row. The result has the shape and dtype of `x` (float32 in,
# float32 out: no `dtype=float` or `np.float64` casts). Leave `x` as it is:
# `x -= m` would change the caller's array; `x - m` makes a new one.


# %% nbgrader={"grade": false, "grade_id": "log_softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
def log_softmax(x):
    """Log-probabilities along the last axis, computed with the max-shift."""
    ### BEGIN SOLUTION
    x = np.asarray(x)
    m = x.max(axis=-1, keepdims=True)
    shifted = x - m
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_log_softmax", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
small = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
small_before = small.copy()
try:
    out = log_softmax(small)
except ValueError as err:
    raise AssertionError(
        f"log_softmax failed on a (2, 3) input: {err}. Keep the reduced axis "
        "(x.max(axis=-1, keepdims=True), .sum(axis=-1, keepdims=True)) so x - m broadcasts row "
        "by row"
    ) from None
assert np.array_equal(small, small_before), (
    "log_softmax changed its input in place (x -= ... writes into the caller's array): "
    "compute x - m into a new array"
)
assert np.shape(out) == (2, 3), f"log_softmax keeps the shape (2, 3), got {np.shape(out)}"
assert np.allclose(np.exp(out).sum(axis=-1), 1.0), (
    "exp(log_softmax(x)) must sum to 1 along the last axis: did you reduce over the wrong axis?"
)
assert np.allclose(out[1], np.log(1.0 / 3.0)), "three equal logits have probability 1/3 each"
big = log_softmax(np.array([100.0, 200.0, 300.0], dtype=np.float32))
assert np.all(np.isfinite(big)), (
    f"got {big} for logits [100, 200, 300] in float32: exp(300) overflows float32 to inf "
    "(x - log(sum(exp(x))) gives -inf, exp(x) / sum(exp(x)) gives inf / inf = NaN): subtract "
    "the row max first"
)
assert np.asarray(big).dtype == np.float32, (
    f"float32 logits gave a {np.asarray(big).dtype} result: keep the dtype of x (no "
    "dtype=float or np.float64 casts)"
)
assert np.allclose(big, [-200.0, -100.0, 0.0]), f"expected [-200, -100, 0], got {big}"
rows = np.array([[0.0, 1.0], [-1000.0, -1001.0]])
rows_out = log_softmax(rows)
same_rows = np.array([[0.0, 1.0], [0.0, -1.0]])  # each row shifted by a constant: same answer
expected_rows = same_rows - np.log(np.exp(same_rows).sum(axis=-1, keepdims=True))
assert np.all(np.isfinite(rows_out)) and np.allclose(rows_out, expected_rows), (
    f"got {rows_out} for the rows [0, 1] and [-1000, -1001], expected {expected_rows}: "
    "subtract each row's own max (x.max(axis=-1, keepdims=True)), not the max of the whole array"
)
print("visible tests for log_softmax passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_log_softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS


def _ref_log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


_z = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 5e3]])
_z_before = _z.copy()
_out = log_softmax(_z)
assert np.array_equal(_z, _z_before), "log_softmax changed its input in place: use x - m, not x -="
assert np.all(np.isfinite(_out)), f"logits of 1e4 gave {_out}: subtract each row's max first"
assert np.allclose(_out, [[0.0, -1e4, -2e4], [-2e4, 0.0, -5e3]]), (
    f"expected [[0, -1e4, -2e4], [-2e4, 0, -5e3]] for logits of +-1e4, got {_out}"
)
_rows = np.array([[1e4, 1e4 - 1.0], [0.0, 1.0], [-1e4, -1e4 - 2.0]])
_rows_out = log_softmax(_rows)
assert np.all(np.isfinite(_rows_out)) and np.allclose(_rows_out, _ref_log_softmax(_rows)), (
    f"rows whose maxima are 1e4, 1 and -1e4 gave {_rows_out}: subtract each row's own max "
    "(axis=-1, keepdims=True), not the max of the whole array"
)
_h = np.array([10.0, 11.0, 12.0], dtype=np.float16)
_out16 = log_softmax(_h)
assert np.asarray(_out16).dtype == np.float16, (
    f"float16 logits gave a {np.asarray(_out16).dtype} result: float16 in, float16 out"
)
assert np.allclose(_out16.astype(np.float64), _ref_log_softmax(_h), atol=1e-2), (
    f"float16 logits [10, 11, 12] gave {_out16}: exp(12) overflows float16: subtract the max"
)
_h2 = np.array([[60000.0, 0.0, -60000.0]], dtype=np.float16)
with np.errstate(over="ignore"):  # -60000 - 60000 is -inf in float16: harmless here
    _out_h2 = log_softmax(_h2)
assert np.all(np.isfinite(_out_h2[0, :2])), (
    f"float16 logits [60000, 0, -60000] gave {_out_h2}: the entries near the max must be finite"
)
_under = log_softmax(np.array([-100.0, -200.0, -300.0], dtype=np.float32))
assert np.asarray(_under).dtype == np.float32, "float32 in, float32 out"
assert np.allclose(_under, [0.0, -100.0, -200.0]), (
    f"float32 logits [-100, -200, -300] gave {_under}, expected [0, -100, -200]: the log of a "
    "probability that underflowed to 0 is -inf: compute x - m - log(sum(exp(x - m)))"
)
_r = np.random.default_rng(202)
for _shape in [(5,), (6, 4), (2, 3, 7)]:
    _x = _r.normal(scale=30.0, size=_shape)
    _o = log_softmax(_x)
    assert np.shape(_o) == _shape, f"an input of shape {_shape} gave shape {np.shape(_o)}"
    assert np.allclose(_o, _ref_log_softmax(_x)), (
        f"random logits of shape {_shape}: wrong values: reduce over the last axis only"
    )
_x32 = (_r.normal(size=(8, 10)) * 50).astype(np.float32)
assert np.asarray(log_softmax(_x32)).dtype == np.float32, "float32 in, float32 out"
assert np.allclose(log_softmax(_x32), _ref_log_softmax(_x32), atol=1e-4), (
    "float32 logits of shape (8, 10): values differ from the stable log-softmax"
)
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3: cross-entropy from logits with class indices
#
# **TODO.** Write `cross_entropy(logits, targets, reduction="mean")` for logits
# of shape `(N, C)` and integer class indices `targets` of shape `(N,)`.
#
# **APPROACH.** The loss of sample `i` is `-log_softmax(logits)[i, targets[i]]`.
# Use your `log_softmax` (never `log(softmax(...))`), pick each row's target
# entry with `np.take_along_axis` or fancy indexing, negate, then reduce like
# `mse_loss`. A target outside `0..C-1` is a `ValueError` whose message says
# the valid range. Check both ends yourself, before indexing: NumPy reads a
# negative index from the end, so an unchecked `-1` silently picks the last
# class, and an index `>= C` fails inside NumPy with an `IndexError`. Leave
# `logits` as it is (no in-place changes).
#
# **EXAMPLE.**
# ```python
# >>> cross_entropy(np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]]), np.array([0, 2]), reduction="none")
# array([0.4076, 1.0986])
# >>> cross_entropy(np.zeros((2, 3)), np.array([0, -1]))
# ValueError: target -1 out of range for 3 classes (valid 0..2)
# ```
#
# **HINTS.** Cross-entropy is never negative. The logits go in as they are: do
# not apply softmax first.
#
# **BUILT ON.** This exercise uses your `log_softmax` (Exercise 2): its tests
# compare with values computed independently, so a bug in `log_softmax` (or
# handing it to a library) costs points here too.


# %% nbgrader={"grade": false, "grade_id": "cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_entropy(logits, targets, reduction="mean"):
    """Cross-entropy of ``(N, C)`` logits against ``(N,)`` class indices."""
    ### BEGIN SOLUTION
    logits = np.asarray(logits)
    targets = np.asarray(targets)
    n, c = logits.shape
    if targets.shape != (n,):
        raise ValueError(f"targets must have shape ({n},) for {n} samples; got {targets.shape}")
    if targets.size and (targets.min() < 0 or targets.max() >= c):
        bad = targets[(targets < 0) | (targets >= c)][0]
        raise ValueError(f"target {bad} out of range for {c} classes (valid 0..{c - 1})")
    picked = np.take_along_axis(log_softmax(logits), targets[:, None], axis=1)[:, 0]
    losses = -picked
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
logits = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
targets = np.array([0, 2])
logits_before = logits.copy()
per_sample = cross_entropy(logits, targets, reduction="none")
assert np.array_equal(logits, logits_before), (
    "cross_entropy changed the caller's logits in place (directly, or through your "
    "log_softmax): compute into new arrays"
)
assert np.shape(per_sample) == (2,), (
    f"one loss per sample: expected shape (2,), got {np.shape(per_sample)}"
)
assert np.all(per_sample >= 0), (
    f"got {per_sample}: cross-entropy is never negative: did you forget the minus sign?"
)
expected = np.array([0.40760596, 1.09861229])
assert np.allclose(per_sample, expected), (
    f"expected {expected}, got {per_sample}: pick log_softmax(logits)[i, targets[i]] for "
    "each row (did you apply softmax before the loss, or index the wrong axis?)"
)
assert np.isclose(cross_entropy(logits, targets), expected.mean()), (
    "reduction='mean' averages over the samples"
)
for bad in ([0, 3], [0, -1]):
    try:
        value = cross_entropy(np.zeros((2, 3)), np.array(bad))
    except ValueError:
        pass
    except Exception as err:
        raise AssertionError(
            f"targets {bad} with 3 classes raised {type(err).__name__} ({err}) from inside "
            "NumPy: check 0 <= target < C yourself first and raise a ValueError that names the "
            "valid range, 0..2"
        ) from None
    else:
        raise AssertionError(
            f"targets {bad} with 3 classes gave {value} instead of raising ValueError: "
            + (
                "NumPy reads -1 as the last class, so check targets.min() >= 0 as well"
                if min(bad) < 0
                else "check that every target is below C"
            )
        )
print("visible tests for cross_entropy passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_cross_entropy", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS


def _ref_ce(z, t):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    lsm = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return -lsm[np.arange(len(t)), t]


_z = np.array([[1e4, 0.0], [0.0, 1e4], [1e4, 1e4]])
_t = np.array([0, 0, 1])
_z_before = _z.copy()
_ce = cross_entropy(_z, _t, reduction="none")
assert np.array_equal(_z, _z_before), "cross_entropy changed the caller's logits in place"
assert np.all(np.isfinite(_ce)), f"logits of 1e4 gave {_ce}: use the stable log_softmax"
assert np.allclose(_ce, [0.0, 1e4, np.log(2.0)]), (
    f"logits [[1e4, 0], [0, 1e4], [1e4, 1e4]] with targets [0, 0, 1]: expected "
    f"[0, 1e4, log 2], got {_ce}: is your log_softmax stable for every row?"
)
assert np.isclose(cross_entropy(_z, _t), (1e4 + np.log(2.0)) / 3), (
    "reduction='mean' averages the per-sample losses"
)
assert np.isclose(cross_entropy(_z, _t, reduction="sum"), 1e4 + np.log(2.0)), (
    "reduction='sum' adds the per-sample losses"
)
_r = np.random.default_rng(303)
_z = _r.normal(scale=5.0, size=(16, 7))
_t = _r.integers(0, 7, size=16)
assert np.allclose(cross_entropy(_z, _t, reduction="none"), _ref_ce(_z, _t)), (
    "random (16, 7) logits: per-sample losses differ from -log_softmax(logits)[i, targets[i]]"
)
assert np.isclose(cross_entropy(_z, _t), _ref_ce(_z, _t).mean()), (
    "random (16, 7) logits: the mean differs from the mean of the per-sample losses"
)
_z32 = _z.astype(np.float32) * 40
assert np.allclose(
    cross_entropy(_z32, _t, reduction="none"), _ref_ce(_z32, _t), rtol=1e-4, atol=1e-3
), (
    "float32 logits up to about 600: losses differ from the stable reference: does your "
    "log_softmax subtract each row's own max?"
)
for _bad in ([0, 5], [0, -1]):
    try:
        _v = cross_entropy(np.zeros((2, 3)), np.array(_bad))
    except ValueError as _e:
        assert "3" in str(_e) or "2" in str(_e), (
            f"targets {_bad} with 3 classes: say the valid range (0..2) in the message, got {_e}"
        )
    except Exception as _e:
        raise AssertionError(
            f"targets {_bad} with 3 classes raised {type(_e).__name__}, not ValueError: check "
            "the range 0..C-1 before indexing"
        ) from None
    else:
        raise AssertionError(
            f"targets {_bad} with 3 classes gave {_v} instead of raising ValueError: check "
            "0 <= target < C (a negative index silently picks a class from the end)"
        )
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4: the gradient of cross-entropy
#
# **TODO.** Write `cross_entropy_grad(logits, targets)`: the gradient of the
# *mean* cross-entropy with respect to the logits, shape `(N, C)`.
#
# **APPROACH.** For one sample, d loss / d logits = `softmax(logits) - onehot(target)`.
# The mean over `N` samples divides every row by `N`. Get the softmax as
# `np.exp(log_softmax(logits))`: stable for any logits, and a new array you may
# change (never write into `logits`: the caller still needs them).
#
# **EXAMPLE.**
# ```python
# >>> cross_entropy_grad(np.array([[0.0, 0.0]]), np.array([1]))
# array([[ 0.5, -0.5]])
# ```
#
# **HINTS.** Each row of the result sums to 0. Check yourself against finite
# differences: `(L(z + h e_ij) - L(z - h e_ij)) / (2h)`.
#
# **BUILT ON.** Like Exercise 3, this uses your `log_softmax`: a bug there (or
# handing it to a library) costs points here too.


# %% nbgrader={"grade": false, "grade_id": "cross_entropy_grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_entropy_grad(logits, targets):
    """Gradient of the mean cross-entropy with respect to ``(N, C)`` logits."""
    ### BEGIN SOLUTION
    logits = np.asarray(logits)
    targets = np.asarray(targets)
    n = logits.shape[0]
    grad = np.exp(log_softmax(logits))
    grad[np.arange(n), targets] -= 1
    return grad / n
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy_grad", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
logits = np.array([[0.0, 0.0], [0.0, 0.0]])
g = cross_entropy_grad(logits, np.array([1, 0]))
assert np.array_equal(logits, np.zeros((2, 2))), (
    f"cross_entropy_grad wrote into the caller's logits (they are now {logits}): start from a "
    "new array, e.g. np.exp(log_softmax(logits))"
)
assert np.shape(g) == (2, 2), f"the gradient has the logits' shape (2, 2), got {np.shape(g)}"
assert np.allclose(g.sum(axis=1), 0.0), "each row of softmax - onehot sums to 0"
assert not np.allclose(g, [[0.5, -0.5], [-0.5, 0.5]]), (
    "your gradient is N times too large: the gradient of the mean has a 1/N: did you forget to "
    "divide by the batch size?"
)
assert np.allclose(g, [[0.25, -0.25], [-0.25, 0.25]]), f"expected (softmax - onehot) / N, got {g}"
print("visible tests for cross_entropy_grad passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_cross_entropy_grad", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS


def _ref_mean_ce(z, t):
    m = z.max(axis=1, keepdims=True)
    lsm = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return -lsm[np.arange(len(t)), t].mean()


_r = np.random.default_rng(404)
_z = _r.normal(size=(5, 4))
_t = _r.integers(0, 4, size=5)
_zc = _z.copy()
_g = cross_entropy_grad(_zc, _t)
assert np.array_equal(_zc, _z), "cross_entropy_grad changed the caller's logits in place"
_fd = np.zeros_like(_z)
for _i in range(5):
    for _j in range(4):
        _e = np.zeros_like(_z)
        _e[_i, _j] = 1e-6
        _fd[_i, _j] = (_ref_mean_ce(_z + _e, _t) - _ref_mean_ce(_z - _e, _t)) / 2e-6
assert np.allclose(_g, _fd, atol=1e-7), (
    "random (5, 4) logits: the gradient does not match finite differences of the mean "
    "cross-entropy: (softmax - onehot) / N"
)
_big = cross_entropy_grad(np.array([[1e4, 0.0, -1e4]]), np.array([1]))
assert np.all(np.isfinite(_big)), f"logits of 1e4 gave {_big}: use the stable log_softmax"
assert np.allclose(_big, [[1.0, -1.0, 0.0]]), f"expected [[1, -1, 0]], got {_big}"
_g2 = cross_entropy_grad(np.tile(_z, (3, 1)), np.tile(_t, 3))
assert np.allclose(_g2 * 3, np.tile(_g, (3, 1))), (
    "the same rows three times: each row's gradient must be a third as large (the mean's 1/N)"
)
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 5: binary cross-entropy on probabilities, with the log clamp
#
# **TODO.** Write `bce_loss(probs, targets, reduction="mean")` for probabilities
# in `[0, 1]` and targets in `{0, 1}` (or in between), arrays of the same shape.
#
# **APPROACH.** Per element, `-(y * log(p) + (1 - y) * log(1 - p))`. At `p = 0`
# or `p = 1` one of the logs is `-inf`; like `torch.nn.BCELoss`, clamp each log
# at `-100`, so the worst possible loss of an element is 100, never `inf` or
# `NaN` (`0 * -inf` is `NaN`!). Then reduce as before. `np.log(0.0)` also
# *prints* `RuntimeWarning: divide by zero encountered in log`, and a test cell
# that prints a warning scores 0 even when your numbers are right: compute the
# logs inside `with np.errstate(divide="ignore"):`.
#
# **EXAMPLE.**
# ```python
# >>> bce_loss(np.array([0.9, 0.2]), np.array([1.0, 0.0]), reduction="none")
# array([0.1054, 0.2231])
# >>> bce_loss(np.array([0.0]), np.array([1.0]))
# np.float64(100.0)
# ```
#
# **HINTS.** `np.maximum(np.log(p), -100.0)` clamps; compute it inside
# `with np.errstate(divide="ignore"):` and `log(0)` gives `-inf` quietly. In
# float32, `sigmoid(20)` rounds to exactly 1.0: BCE on probabilities saturates,
# which is why BCE-with-logits exists.


# %% nbgrader={"grade": false, "grade_id": "bce_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bce_loss(probs, targets, reduction="mean"):
    """Binary cross-entropy on probabilities, each log clamped at -100 (as torch.nn.BCELoss)."""
    ### BEGIN SOLUTION
    p = np.asarray(probs)
    y = np.asarray(targets, dtype=p.dtype)
    if p.shape != y.shape:
        raise ValueError(f"probs has shape {p.shape} but targets has shape {y.shape}")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_1mp = np.maximum(np.log1p(-p), -100.0)
    losses = -(y * log_p + (1 - y) * log_1mp)
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_bce_loss", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import warnings

with warnings.catch_warnings(record=True) as caught:  # collect them instead of printing them
    warnings.simplefilter("always")
    per_sample = bce_loss(np.array([0.9, 0.2]), np.array([1.0, 0.0]), reduction="none")
    mean = bce_loss(np.array([0.9, 0.2]), np.array([1.0, 0.0]))
    certain_and_wrong = bce_loss(np.array([0.0, 1.0]), np.array([1.0, 0.0]), reduction="none")
assert np.allclose(per_sample, [-np.log(0.9), -np.log(0.8)]), (
    f"expected [0.1054, 0.2231], got {per_sample}"
)
assert np.isclose(mean, per_sample.mean()), "reduction='mean' averages the per-element losses"
assert np.all(np.isfinite(certain_and_wrong)), (
    f"got {certain_and_wrong} for p = [0, 1] against y = [1, 0]: clamp each log at -100 as "
    "torch.nn.BCELoss does"
)
assert np.allclose(certain_and_wrong, [100.0, 100.0]), (
    f"the clamp gives exactly 100 for p = [0, 1] against y = [1, 0], got {certain_and_wrong}"
)
printed = [w for w in caught if not issubclass(w.category, DeprecationWarning)]
assert not printed, (
    f"bce_loss printed {printed[0].category.__name__}: {printed[0].message}. The numbers are "
    "right, but a test cell that prints a warning scores 0: compute the logs inside "
    "`with np.errstate(divide='ignore'):`"
)
print("visible tests for bce_loss passed")

# %% nbgrader={"grade": true, "grade_id": "hidden_bce_loss", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
_p = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
_y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
_l = bce_loss(_p, _y, reduction="none")
assert np.all(np.isfinite(_l)), f"p in {{0, 1}} gave {_l}: clamp each log at -100 (0 * -inf is NaN)"
assert np.allclose(_l, [0.0, 0.0, 100.0, 100.0, np.log(2.0)]), (
    f"p = [0, 1, 0, 1, 0.5] against y = [0, 1, 1, 0, 1]: expected [0, 0, 100, 100, log 2], got {_l}"
)
_sig20 = (1 / (1 + np.exp(-np.float32(20.0)))).astype(np.float32)
assert _sig20 == np.float32(1.0), "float32 sigmoid(20) rounds to 1"
assert np.isclose(bce_loss(np.array([_sig20]), np.array([0.0], dtype=np.float32)), 100.0), (
    "BCE(sigmoid(20), 0) in float32 hits the clamp: 100"
)
_r = np.random.default_rng(505)
_p = _r.uniform(0.01, 0.99, size=(6, 3))
_y = (_r.uniform(size=(6, 3)) > 0.5).astype(float)
_ref = -(_y * np.log(_p) + (1 - _y) * np.log(1 - _p))
assert np.allclose(bce_loss(_p, _y, reduction="none"), _ref), (
    "random (6, 3) probabilities: per-element losses differ from -(y log p + (1 - y) log(1 - p))"
)
assert np.isclose(bce_loss(_p, _y), _ref.mean()), "reduction='mean' averages over all elements"
assert np.isclose(bce_loss(_p, _y, reduction="sum"), _ref.sum()), (
    "reduction='sum' adds all elements"
)
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 6: check your own gradient
#
# **TODO.** Write `numerical_gradient(f, x, h=1e-5)`, the gradient of a scalar
# function `f` at `x` by central differences, and `relative_error(a, n)`, which
# compares an analytic gradient `a` with a numeric one `n`. Then run the cell
# after the visible test: it checks your `cross_entropy_grad` from Exercise 4.
#
# **APPROACH.** For every element `i` of `x` (any shape; `np.ndindex(x.shape)`
# visits them all), `(f(x + h e_i) - f(x - h e_i)) / (2h)`, where `e_i` is 1 at
# `i` and 0 elsewhere. Work in float64 (`np.array(x, dtype=np.float64)` is a
# new array you may change): in float32 a difference of two nearly equal
# losses keeps only a few digits. The relative error of each element is
# CS231n's `|a - n| / max(|a|, |n|, tiny)`, where `tiny` is a positive number
# far below any real gradient (`np.finfo(np.float64).tiny`) so that `0 / 0`
# gives 0, not `NaN`. Return the array of errors and its largest value,
# `(errors, max_error)`.
#
# **EXAMPLE.**
# ```python
# >>> numerical_gradient(lambda z: np.sum(z**3), np.array([1.0, -2.0]))
# array([ 3., 12.])
# >>> relative_error(np.array([1.0, 0.0, 2.0]), np.array([1.1, 0.0, 2.0]))
# (array([0.0909, 0.    , 0.    ]), np.float64(0.09090909090909098))
# ```
#
# **HINTS.** The forward difference `(f(x + h e_i) - f(x)) / h` is off by about
# `h * f''/2`, a relative error near `1e-5` that hides small bugs; the central
# one is off by about `h**2`. What the largest relative error usually says, in
# float64: below `1e-7` the gradient is right; `1e-4` to `1e-2` comes from a
# kink (`abs`, `max`, a clamp) within `h` of `x`, or from `f` computed in
# float32; `1e-1` to `1` means the gradient is wrong (a missing `1/N` or
# factor 2, a sign, a transpose). An element whose true gradient is 0 leaves
# only rounding noise in `n`: its relative error is near 1 whatever you do, so
# look at `|a - n|` there.


# %%
# The functions the tests differentiate with your numerical_gradient: run this cell, leave
# it as it is (the tests run in another process and can only send numbers, so they name a
# function by a plain spec; this cell runs with your code, so it cannot be a locked one).
def _test_function(spec):
    kind = spec["kind"]
    if kind == "cubic":  # sum(w * x**3): gradient 3 w x**2
        w = np.asarray(spec["w"], dtype=np.float64)
        return lambda z: np.sum(w * z**3)
    if kind == "cubic32":  # the same, computed in float32
        w = np.asarray(spec["w"], dtype=np.float32)
        return lambda z: np.sum(w * np.asarray(z, dtype=np.float32) ** 3)
    if kind == "mean_ce":  # mean cross-entropy of logits z against class indices
        t = np.asarray(spec["targets"])

        def mean_ce(z):
            shift = z - np.max(z, axis=1, keepdims=True)
            return np.mean(np.log(np.sum(np.exp(shift), axis=1)) - shift[np.arange(len(t)), t])

        return mean_ce
    raise ValueError(f"unknown test function {kind!r}")


def numerical_gradient_of(spec, x, h=1e-5):
    return numerical_gradient(_test_function(spec), x, h)


# %% nbgrader={"grade": false, "grade_id": "gradcheck", "locked": false, "schema_version": 3, "solution": true, "task": false}
def numerical_gradient(f, x, h=1e-5):
    """Gradient of the scalar function ``f`` at ``x`` by central differences, in float64."""
    ### BEGIN SOLUTION
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = float(f(x))
        x[i] = old - h
        minus = float(f(x))
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad
    ### END SOLUTION


def relative_error(a, n):
    """CS231n's relative error |a - n| / max(|a|, |n|, tiny) per element, and the largest."""
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    tiny = np.finfo(np.float64).tiny
    errors = np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), tiny)
    return errors, (errors.max() if errors.size else np.float64(0.0))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_gradcheck", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import warnings

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    errors, worst = relative_error(np.array([1.0, 0.0, 2.0]), np.array([1.1, 0.0, -2.0]))
printed = [w for w in caught if not issubclass(w.category, DeprecationWarning)]
assert not np.any(np.isnan(errors)) and not printed, (
    f"relative_error(0, 0) gave {errors[1]}: 0 / 0 is NaN (with a RuntimeWarning): divide by "
    "max(|a|, |n|, tiny) with tiny = np.finfo(np.float64).tiny"
)
assert np.all(np.asarray(errors) >= 0), (
    f"got relative errors {errors}: they are never negative: |a - n|, not a - n"
)
assert np.allclose(errors, [0.1 / 1.1, 0.0, 2.0]), (
    f"expected [0.0909, 0, 2] (|a - n| / max(|a|, |n|)), got {errors}"
)
assert np.isclose(worst, 2.0), f"the second value is the largest error, 2; got {worst}"
x = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
x_before = x.copy()
w = [[1.0, 2.0], [-1.0, 0.5]]
numeric = numerical_gradient_of({"kind": "cubic", "w": w}, x)
exact = 3 * np.array(w) * np.asarray(x, dtype=np.float64) ** 2
assert np.array_equal(x, x_before), (
    "numerical_gradient changed the caller's x: work on a float64 copy, "
    "np.array(x, dtype=np.float64)"
)
assert np.shape(numeric) == (2, 2), f"the gradient has x's shape (2, 2), got {np.shape(numeric)}"
assert np.asarray(numeric).dtype == np.float64, (
    f"got a {np.asarray(numeric).dtype} gradient from float32 x: differences need float64"
)
err_cubic = relative_error(exact, numeric)[1]
assert err_cubic < 1e-8, (
    f"the gradient of sum(w x^3) has a relative error of {err_cubic:.1e}: about 1e-5 is what "
    "the forward difference (f(x + h) - f(x)) / h gives: use central differences, "
    "(f(x + h) - f(x - h)) / (2h)"
)


def meaning(err):
    """What the largest relative error of a gradient check (float64, h = 1e-5) usually means."""
    if err < 1e-7:
        return "fine"
    if err < 1e-1:
        return "a kink within h of x, or f computed in float32: look closer"
    return "the gradient is wrong (a missing 1/N or factor 2, a sign, a transpose)"


z = np.array([[2.0, 1.0, 0.0], [0.0, 0.5, -1.0]])
t = [0, 2]
p = np.exp(z - z.max(axis=1, keepdims=True))
p /= p.sum(axis=1, keepdims=True)
right = (p - np.eye(3)[t]) / 2  # the gradient of the mean cross-entropy
numeric = numerical_gradient_of({"kind": "mean_ce", "targets": t}, z)
cases = {
    "right gradient": relative_error(right, numeric)[1],
    "gradient of the sum (no 1/N)": relative_error(right * 2, numeric)[1],
    "sign flipped": relative_error(-right, numeric)[1],
    "f in float32": relative_error(exact, numerical_gradient_of({"kind": "cubic32", "w": w}, x))[1],
}
for name, err in cases.items():
    print(f"{name:30s} max relative error {err:.1e}: {meaning(err)}")
assert meaning(cases["right gradient"]) == "fine", (
    f"the right gradient of the mean cross-entropy gave a relative error of "
    f"{cases['right gradient']:.1e}, expected below 1e-7: central differences in float64?"
)
assert meaning(cases["gradient of the sum (no 1/N)"]).startswith("the gradient is wrong"), (
    "a gradient missing its 1/N is off by a factor 2 here: its relative error is 0.5"
)
assert meaning(cases["sign flipped"]).startswith("the gradient is wrong"), (
    "a gradient with the wrong sign has a relative error of 2"
)
assert meaning(cases["f in float32"]).startswith("a kink"), (
    f"f computed in float32 should leave a relative error of about 1e-4 to 1e-2, got "
    f"{cases['f in float32']:.1e}: it is float32 rounding divided by 2h"
)
print("visible tests for numerical_gradient and relative_error passed")

# %%
# Your own gradient, checked: a large relative error here means Exercise 4 needs another look.
try:
    _logits = rng.normal(size=(4, 3))
    _targets = np.array([0, 2, 1, 1])
    _numeric = numerical_gradient(lambda z: cross_entropy(z, _targets), _logits)
    _errors, _worst = relative_error(cross_entropy_grad(_logits, _targets), _numeric)
    print(f"cross_entropy_grad: largest relative error {_worst:.1e}")
    print(_errors)
except Exception as err:
    print(f"the check could not run: {type(err).__name__}: {err}")

# %% nbgrader={"grade": true, "grade_id": "hidden_gradcheck", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden tests: they run when your notebook is graded.
### BEGIN HIDDEN TESTS
import warnings

from losskit import CrossEntropyLoss as _CE
from losskit import gradcheck as _gradcheck

_r = np.random.default_rng(606)
_w = _r.normal(size=(2, 3, 2))
_x = _r.normal(size=(2, 3, 2))
_x[0, 1, 1] = 0.0  # its gradient 3 w x^2 is 0: the numeric one is rounding noise
_res = _gradcheck(lambda v: float(np.sum(_w * v**3)), _x, grad=3 * _w * _x**2, h=1e-5)
_num = numerical_gradient_of({"kind": "cubic", "w": _w.tolist()}, _x, 1e-5)
assert np.shape(_num) == (2, 3, 2), (
    f"x of shape (2, 3, 2) gave a gradient of shape {np.shape(_num)}"
)
assert np.allclose(_num, _res.numeric, rtol=1e-7, atol=1e-9), (
    "sum(w x^3) on a (2, 3, 2) array: your numeric gradient differs from central differences "
    f"by up to {np.max(np.abs(_num - _res.numeric)):.1e}: (f(x + h e_i) - f(x - h e_i)) / (2h)"
)
_x32 = _x.astype(np.float32)
_num32 = numerical_gradient_of({"kind": "cubic", "w": _w.tolist()}, _x32, 1e-5)
_x64 = _x32.astype(np.float64)
_ref32 = _gradcheck(lambda v: float(np.sum(_w * v**3)), _x64, grad=3 * _w * _x64**2, h=1e-5)
assert np.asarray(_num32).dtype == np.float64 and np.allclose(
    _num32, _ref32.numeric, rtol=1e-7, atol=1e-9
), (
    "float32 x: your numeric gradient is not the float64 central difference "
    f"(dtype {np.asarray(_num32).dtype}): copy x to float64 before stepping by h"
)
with warnings.catch_warnings():
    warnings.simplefilter("error")  # a warning (0 / 0) fails here, as it would cost the cell
    _errs, _worst = relative_error(_res.analytic, _res.numeric)
    _zero_errs, _zero_worst = relative_error(np.zeros(3), np.zeros(3))
assert np.allclose(_errs, _res.rel_error, rtol=1e-9, atol=0), (
    "relative errors differ from |a - n| / max(|a|, |n|, tiny) (the near-zero element too)"
)
assert np.isclose(_worst, _res.max_rel_error, rtol=1e-9), "the largest error is errors.max()"
assert np.array_equal(_zero_errs, np.zeros(3)) and _zero_worst == 0.0, (
    f"a = n = 0 gave {_zero_errs}: the tiny guard makes 0 / 0 a relative error of 0"
)
_z = _r.normal(scale=3.0, size=(5, 4))
_t = _r.integers(0, 4, size=5)
_ce = _CE()
_res = _gradcheck(lambda v: _ce(v, _t), _z, grad=_ce.grad(_z, _t), h=1e-6)
_num = numerical_gradient_of({"kind": "mean_ce", "targets": _t.tolist()}, _z, 1e-6)
assert np.allclose(_num, _res.numeric, rtol=1e-6, atol=1e-9), (
    "the mean cross-entropy of (5, 4) logits: your numeric gradient differs from central "
    "differences"
)
_errs, _worst = relative_error(_res.analytic, _num)
assert _res.passed and np.allclose(_errs, _res.rel_error, rtol=0, atol=1e-6), (
    "a correct gradient checked with your functions: the relative errors differ from "
    "|a - n| / max(|a|, |n|, tiny)"
)
_errs, _worst = relative_error(2 * _res.analytic, _num)
assert np.isclose(_worst, relative_error(2 * _res.analytic, _res.numeric)[1], rtol=1e-6), (
    "the relative error of a gradient twice too large differs from |a - n| / max(|a|, |n|)"
)
### END HIDDEN TESTS
