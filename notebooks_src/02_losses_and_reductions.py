# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 2 — Losses and reductions
#
# A loss has two jobs: score each prediction against its target, then **reduce**
# the batch of scores to the one number the optimizer differentiates. This
# lesson meets the three losses you will use most, the three reductions, and the
# gradients they produce, and then the classic mistakes that produce wrong
# numbers without crashing.
#
# losskit's losses are named and reduced exactly as in `torch.nn`:
# `loss(input, target)` is the value, `loss.grad(input, target)` the gradient
# with respect to `input`.

# %%
import numpy as np
from IPython.display import Markdown, display

import losskit
from losskit.widgets import reveal, use_live_figures

use_live_figures()  # ipympl in JupyterLab and Voila, else images that update
backend = losskit.get_backend()
xp = backend.xp
dtype_name = "float32" if backend.is_gpu else "float64"  # float32 is what GPUs are fast at
dtype = getattr(xp, dtype_name)
rng = np.random.default_rng(0)
Markdown(f"Computing with **{backend.name}** in {dtype_name}.")

# %% [markdown]
# ## Which loss for which problem
#
# | problem | model output | target | loss |
# |---|---|---|---|
# | regression | a number per output | a number | `MSELoss` (`L1Loss`, `HuberLoss`) |
# | one class out of C (digits) | C logits | a class index | `CrossEntropyLoss` |
# | several labels, or binary | a logit per label | 0/1 per label | `BCEWithLogitsLoss` |
#
# `CrossEntropyLoss` applies the softmax itself and `BCEWithLogitsLoss` the
# sigmoid: both take raw scores (logits).
#
# The difference between the last two is **competition**. Softmax turns C logits
# into probabilities that sum to one, so one class can only gain at the others'
# expense. A sigmoid per label scores each label on its own.
#
# **Predict first:** a patient's model outputs the logits `[2, 2, -1]` for
# three diagnoses, and the first two are both present. What probabilities do
# softmax and per-label sigmoid give them?

# %% jupyter={"source_hidden": true}
z = backend.asarray([2.0, 2.0, -1.0], dtype=dtype)
p_softmax = backend.to_host(losskit.softmax(z))
p_sigmoid = backend.to_host(losskit.sigmoid(z))  # what BCEWithLogitsLoss applies per label
# the claims below: under softmax neither true diagnosis exceeds one half; under sigmoid both do
assert p_softmax[:2].max() < 0.5 < p_sigmoid[:2].min()
reveal(
    f"Softmax: `{np.round(p_softmax, 3)}` (sum {p_softmax.sum():.3f}): the two true diagnoses "
    f"split the mass and neither can exceed one half. Sigmoid: `{np.round(p_sigmoid, 3)}`: "
    f"both are likely, independently. Multi-label problems need BCE, not cross-entropy."
)

# %% [markdown]
# ## Three reductions
#
# Every loss takes `reduction=`:
#
# - `"mean"` divides the sum of the per-example losses by the batch size (for
#   pointwise losses, by the number of elements);
# - `"sum"` adds them up;
# - `"none"` returns the per-example losses themselves; its `grad` is the
#   gradient of their sum.
#
# **Predict first:** a linear model's bias gets the sum of the loss gradients
# over the batch. Going from a batch of `8` to a batch of `512` drawn from the
# same data, what happens to the bias gradient under `"mean"`, and under `"sum"`?

# %% jupyter={"source_hidden": true}
# One pool of predictions and targets; a batch of size B is its first B examples.
pool_pred = rng.normal(0.0, 0.3, size=512)
pool_target = rng.normal(1.0, 0.3, size=512)
rows = []
for B in [8, 64, 512]:
    pred = backend.asarray(pool_pred[:B], dtype=dtype)
    target = backend.asarray(pool_target[:B], dtype=dtype)
    cells = []
    for reduction in ["mean", "sum"]:
        value, g = losskit.MSELoss(reduction=reduction).value_and_grad(pred, target)
        cells += [float(backend.to_host(value)), float(backend.to_host(xp.sum(g)))]
    per_example = losskit.MSELoss(reduction="none")(pred, target)
    rows.append((B, *cells, tuple(per_example.shape)))
reveal(
    "| B | mean: loss | mean: bias gradient | sum: loss | sum: bias gradient | none: shape |\n"
    "|---|---|---|---|---|---|\n"
    + "\n".join(
        f"| {B} | {a:.3f} | {b:.3f} | {c:.1f} | {d:.1f} | {s} |" for B, a, b, c, d, s in rows
    )
)

# %% jupyter={"source_hidden": true}
(b_small, *_, g_sum_small, _), (b_big, *_, g_sum_big, _) = rows[0], rows[-1]
reveal(
    f'With `"mean"` the loss and the bias gradient stay near the same values at every batch '
    f'size: they estimate the same expectation, less noisily as B grows. With `"sum"` the '
    f"gradient at B = {b_big} is {g_sum_big / g_sum_small:.0f} times the one at B = {b_small} "
    f"(the batch is {b_big // b_small} times larger): the same learning rate now takes far "
    f"larger steps. Lesson 5 turns this into the learning-rate rule."
    + "\n\n"
    + (
        r"""Under `"mean"` each example's gradient carries the weight $1/B$, so the size of """
        r"a step does not depend on the batch size and a learning rate tuned at one batch "
        r'size transfers to another. Under `"sum"` the gradient grows with $B$. `"none"` '
        r"is for weighting examples, mining the hard ones, and diagnostics."
    )
)

# %% [markdown]
# ## The reductions, live
#
# The panel scores the fixed outputs of a linear model (no training) on batches
# of growing size B. Left, on log-log axes: the batch loss (circles) and the
# norm of the gradient with respect to the model's weights (squares, the vector
# the learning rate multiplies) under `"mean"` (blue) and `"sum"` (vermillion),
# each averaged over a few random batches, with a dotted line proportional to B.
# Right: one batch under `"none"`, every sample's loss, sorted. A few samples
# in the data have corrupted targets.
#
# **Predict first:** with `loss` on MSE, drag `batch B (none view)` from `64` to
# `1024`. How many times larger than the mean loss is the sum loss there, and
# what slope do the sum curves have? Which bars on the right belong to the
# corrupted samples?
# Then set `highlight` to `mean`, try cross-entropy and BCE with logits under
# `loss`, and change the `seed`: what moves, and what never does?

# %%
from losskit.widgets import ReductionsPanel

panel = ReductionsPanel(backend=backend)
display(panel)

# %% jupyter={"source_hidden": true}
from losskit.experiments import reductions

r = reductions("mse", backend=backend, seed=0)  # what the panel shows at its defaults
big = int(r.batch_sizes[-1])
# the claims below: sum is B times mean, for the loss and for the gradient
assert abs(r.loss_ratio[-1] / big - 1) < 1e-6 and abs(r.grad_ratio[-1] / big - 1) < 1e-6
order = np.argsort(-r.per_sample_loss)
n_hard = int(r.per_sample_hard.sum())
assert r.per_sample_hard[order[:n_hard]].all()  # the corrupted samples top the "none" losses
log_b = np.log(r.batch_sizes)
slope_loss = np.polyfit(log_b, np.log(r.loss_sum), 1)[0]  # on the panel's log-log axes
slope_grad = np.polyfit(log_b, np.log(r.grad_norm_sum), 1)[0]
assert abs(slope_loss - 1) < 0.2 and abs(slope_grad - 1) < 0.2  # "close to 1" (below)
reveal(
    f"At B = {big} the sum loss is {r.loss_ratio[-1]:g} times the mean loss, and the sum "
    f"gradient norm {r.grad_ratio[-1]:g} times the mean's: a sum is B times the mean, to the "
    f"last bit when B is a power of two. So the sum curves climb with a slope close to 1, "
    f"along the dotted line (fitted slopes {slope_loss:.2f} for the loss and {slope_grad:.2f} "
    f"for the gradient norm), bent only by the mean curves' own drift (below). "
    f"From B = {int(r.batch_sizes[0])} to "
    f"B = {big} the sum gradient norm grows {r.grad_norm_sum[-1] / r.grad_norm_sum[0]:.0f}-fold. "
    f"So with `sum` a learning rate tuned at one batch size takes B-times larger steps at "
    f"another and must shrink by 1/B; with `mean` it transfers. On the right, the {n_hard} "
    f"corrupted samples of the batch of {r.none_batch_size} are its {n_hard} largest losses: "
    f"`none` is how you find them, to down-weight them or to mine the hard examples. Changing "
    f"the `seed` moves every curve, never the factor B between sum and mean."
)

# %% jupyter={"source_hidden": true}
p_loss = r.per_sample_loss
below = float(np.mean(p_loss < p_loss.mean()))
# the claims below: the per-sample losses are skewed (most lie below their mean), small batches
# read low here, and the mean gradient at B = 1 is longer than the full gradient (B = N)
assert int(r.batch_sizes[-1]) == r.n_samples and int(r.batch_sizes[0]) == 1
assert np.median(p_loss) < p_loss.mean() and r.loss_mean[0] < r.loss_mean[-1]
assert r.grad_norm_mean[0] > r.grad_norm_mean[-1]
reveal(
    f"The mean curves move too, for another reason. At B = N = {r.n_samples} the batch is the "
    f"whole dataset: mean loss {r.loss_mean[-1]:.2f}, gradient norm {r.grad_norm_mean[-1]:.2f} "
    f"(the full gradient G). A smaller batch's mean loss is an unbiased estimate of that loss, "
    f"but the per-sample losses are skewed: in the batch on the right {below:.0%} of them lie "
    f"below their mean, and the corrupted samples far above it. So a small batch *usually* "
    f"misses the corrupted samples and reads low, and now and then catches one and reads high: "
    f"averaged over {r.n_draws} batches, the mean loss at B = 1 is {r.loss_mean[0]:.2f}. "
    f"The mean gradient norm, {r.grad_norm_mean[0]:.2f} at B = 1, is longer than |G| for the "
    f"reason below."
)

# %% [markdown]
# A batch's mean gradient $g_B$ is the full gradient $G$ plus zero-mean noise,
# and the noise adds to the length in squares. With $\Sigma$ the covariance of
# the $N$ per-sample gradients (dividing by $N$), drawing the batch with replacement,
#
# $$\mathbb{E}\,\lVert g_B\rVert^2 = \lVert G\rVert^2 + \frac{\mathrm{tr}(\Sigma)}{B};$$
#
# drawing without replacement from $N$ samples (as here) multiplies the second
# term by $\frac{N - B}{N - 1}$, so it vanishes at $B = N$. The corrupted samples,
# whose gradients differ most from $G$, make $\mathrm{tr}(\Sigma)$ large. Lesson 4
# measures this noise.

# %% [markdown]
# ## The gradients, checked against their formulas
#
# With $B$ examples (rows), $C$ classes, $p = \mathrm{softmax}(x)$ and $\sigma$ the sigmoid:
#
# | loss (mean) | gradient with respect to the input |
# |---|---|
# | MSE over $n$ elements | $2(x - y)/n$ |
# | cross-entropy, class indices | $(p - \mathrm{onehot}(y))/B$ |
# | BCE with logits over $n$ elements | $(\sigma(x) - y)/n$ |
# | CE, smoothing $\varepsilon$ | $(p - (1-\varepsilon)\mathrm{onehot}(y) - \varepsilon/C)/B$ |
# | weighted cross-entropy | each row times $w_{y_i}$, divided by $\sum_i w_{y_i}$ (not by $B$) |
# | cross-entropy, probability targets $t$ | $(p - t)/B$ |
#
# **Predict first:** the cross-entropy gradient of a row sums to what?
#
# The cell below compares losskit's `grad` with each formula evaluated directly.

# %% jupyter={"source_hidden": true}
B, C = 6, 4
x = backend.asarray(rng.normal(size=(B, C)), dtype=dtype)
y_reg = backend.asarray(rng.normal(size=(B, C)), dtype=dtype)
y_bin = backend.asarray(rng.integers(0, 2, size=(B, C)), dtype=dtype)
labels = rng.integers(0, C, size=B)
y_idx = backend.asarray(labels, dtype=xp.int64)
onehot = backend.asarray(np.eye(C)[labels], dtype=dtype)
t_prob = backend.asarray(rng.dirichlet(np.ones(C), size=B), dtype=dtype)
w = backend.asarray([1.0, 2.0, 0.5, 3.0], dtype=dtype)
w_rows = backend.asarray(np.asarray([1.0, 2.0, 0.5, 3.0])[labels][:, None], dtype=dtype)
p = losskit.softmax(x)
sig = losskit.sigmoid(x)
eps = 0.1
n = B * C

checks = {
    "MSE": (losskit.MSELoss().grad(x, y_reg), 2 * (x - y_reg) / n),
    "CE, class indices": (losskit.CrossEntropyLoss().grad(x, y_idx), (p - onehot) / B),
    "BCE with logits": (losskit.BCEWithLogitsLoss().grad(x, y_bin), (sig - y_bin) / n),
    "CE, label smoothing": (
        losskit.CrossEntropyLoss(label_smoothing=eps).grad(x, y_idx),
        (p - ((1 - eps) * onehot + eps / C)) / B,
    ),
    "CE, class weights": (
        losskit.CrossEntropyLoss(weight=w).grad(x, y_idx),
        w_rows * (p - onehot) / xp.sum(w_rows),
    ),
    "CE, probability targets": (losskit.CrossEntropyLoss().grad(x, t_prob), (p - t_prob) / B),
}
reveal(
    "| loss | largest difference from the formula |\n|---|---|\n"
    + "\n".join(
        f"| {name} | {float(backend.to_host(xp.max(xp.abs(a - b)))):.1e} |"
        for name, (a, b) in checks.items()
    )
)

# %% jupyter={"source_hidden": true}
row_sums = backend.to_host(xp.sum(losskit.CrossEntropyLoss().grad(x, y_idx), axis=1))
# the claims below: every formula matches to rounding, and the CE rows sum to zero
assert all(float(backend.to_host(xp.max(xp.abs(a - b)))) < 1e-5 for a, b in checks.values())
assert np.abs(row_sums).max() < 1e-6
reveal(
    f"Every difference is rounding error. Each row of the cross-entropy gradient "
    f"sums to zero (largest |row sum| {np.abs(row_sums).max():.1e}): probabilities sum to one, "
    f"and so does the one-hot target. Raising the true class's logit lowers the others by the "
    f"same total."
)

# %% [markdown]
# ### Check a gradient yourself
#
# When you write a gradient, check it against the definition of a derivative:
# nudge one input by $\pm h$ and difference the loss,
# $(L(x + h e_i) - L(x - h e_i)) / 2h$. `losskit.gradcheck` does this for every
# element, in float64, and reports the relative error $|a - n| / \max(|a|, |n|)$
# of the worst one. Below it checks the cross-entropy gradient, and then the
# same gradient with a classic mistake: the `"sum"` gradient paired with the
# `"mean"` loss (a factor of $B$).

# %%
ce = losskit.CrossEntropyLoss()
right = losskit.gradcheck(lambda z: ce(z, y_idx), x, lambda z: ce.grad(z, y_idx))
wrong = losskit.gradcheck(lambda z: ce(z, y_idx), x, lambda z: B * ce.grad(z, y_idx))
print(right.verdict)
print(wrong.verdict)

# %% jupyter={"source_hidden": true}
# the text above: the right gradient passes, the one B times too large fails
assert right.passed and not wrong.passed and wrong.overall_rel_error > 0.5

# %% [markdown]
# ## Mistakes that do not crash (and the ones losskit stops)
#
# **Predict first:** which of these four mistakes would plain NumPy code let
# through silently?
#
# 1. applying softmax yourself and then passing the probabilities to `CrossEntropyLoss`;
# 2. passing logits to `BCELoss`, which expects probabilities;
# 3. a class index equal to the number of classes;
# 4. predictions of shape `(N, 1)` against targets of shape `(N,)`.
#
# Each cell below makes one mistake twice: in plain NumPy, the way a first attempt
# would be written, then through losskit. `attempt(...)` runs one call and keeps
# what you would see: the value it returns, the warnings it prints, or the error
# it raises.

# %%
from losskit.widgets import attempt

N, C = 5, 3
z = rng.normal(size=(N, C)) * 3  # logits: N examples, C classes
y = rng.integers(0, C, size=N)  # their class indices
examples = np.arange(N)
p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # softmax
ce_right = -np.log(p[examples, y]).mean()  # cross-entropy, done right
on_device = lambda a, dt=dtype: backend.asarray(a, dtype=dt)

# %%
# 1. softmax by hand, then cross-entropy, which applies its own softmax
q = np.exp(p) / np.exp(p).sum(axis=1, keepdims=True)
numpy_twice = attempt(lambda: -np.log(q[examples, y]).mean())
losskit_twice = attempt(losskit.CrossEntropyLoss(), on_device(p), on_device(y, xp.int64))
reveal(f"NumPy: {numpy_twice} (done right: `{ce_right:.4g}`)  \nlosskit: {losskit_twice}")

# %%
# 2. logits where BCE expects probabilities (every label 1)
t = np.ones((N, C))
numpy_logits = attempt(lambda: -(t * np.log(z) + (1 - t) * np.log(1 - z)).mean())
losskit_logits = attempt(losskit.BCELoss(), on_device(z), on_device(t))
reveal(f"NumPy: {numpy_logits}  \nlosskit: {losskit_logits}")

# %%
# 3. a class index equal to C, and -1 (a common padding label)
y_big, y_neg = y.copy(), y.copy()
y_big[3], y_neg[3] = C, -1
numpy_big = attempt(lambda: -np.log(p[examples, y_big]).mean())
numpy_neg = attempt(lambda: -np.log(p[examples, y_neg]).mean())
losskit_big = attempt(losskit.CrossEntropyLoss(), on_device(z), on_device(y_big, xp.int64))
losskit_neg = attempt(losskit.CrossEntropyLoss(), on_device(z), on_device(y_neg, xp.int64))
reveal(
    f"Index {C}, NumPy: {numpy_big}  \nlosskit: {losskit_big}\n\n"
    f"Index -1, NumPy: {numpy_neg}  \nlosskit: {losskit_neg}"
)

# %%
# 4. predictions of shape (N, 1) against targets of shape (N,)
pred, target = rng.normal(size=(N, 1)), rng.normal(size=N)
mse_right = np.mean((pred[:, 0] - target) ** 2)
numpy_column = attempt(lambda: np.mean((pred - target) ** 2))
losskit_column = attempt(losskit.MSELoss(), on_device(pred), on_device(target))
reveal(
    f"NumPy: {numpy_column}; `pred - target` has shape `{(pred - target).shape}` "
    f"(done right: `{mse_right:.4g}`)  \nlosskit: {losskit_column}"
)

# %% jupyter={"source_hidden": true}
# the claims below, one per mistake
ce_double, bce_on_logits, ce_wrapped = numpy_twice.value, numpy_logits.value, numpy_neg.value
numpy_raised = [a.raised for a in (numpy_twice, numpy_logits, numpy_big, numpy_neg, numpy_column)]
assert numpy_raised == [False, False, True, False, False]  # one of four, and only half of it
assert np.isfinite(ce_double) and abs(ce_double - ce_right) > 0.1 and not numpy_twice.warned
assert abs(ce_double - np.log(C)) < 0.2  # double softmax: pinned near uniform guessing
assert losskit_twice.warned and not losskit_twice.raised
assert np.isnan(bce_on_logits) and {w.category for w in numpy_logits.warnings} == {RuntimeWarning}
assert isinstance(numpy_big.error, IndexError) and np.isfinite(ce_wrapped)
assert not numpy_neg.warned and not numpy_column.warned
assert (pred - target).shape == (N, N) and numpy_column.value != mse_right
refused = [losskit_logits, losskit_big, losskit_neg, losskit_column]
assert all(isinstance(a.error, ValueError | TypeError) for a in refused)
reveal(
    f"Plain NumPy raises on one of the four, and only half of it. Softmax twice gives a finite, "
    f"wrong loss, {ce_double:.3f} instead of {ce_right:.3f}: squeezed into [0, 1], the "
    f"probabilities look nearly equal to a second softmax, so the loss sits near "
    f"log C = {np.log(C):.3f} whatever the logits say. Logits in BCE give `nan` with nothing "
    f"louder than a `RuntimeWarning`. The `(N, 1)` column broadcasts against the `(N,)` row "
    f"into a {N} × {N} matrix, and the mean averages the wrong pairs. A class index of C or "
    f"more does raise an `IndexError`, one that does not say why, but a padding label of -1 "
    f"wraps around to the last class. losskit warns on the first mistake and refuses the "
    f"other three (the -1 label too), each time saying what to do instead."
)

# %% [markdown]
# ## What to remember
#
# - Regression: MSE. One class out of C: cross-entropy **on logits**, class
#   indices as targets. Several labels or binary: BCE **with logits**.
# - `"mean"` keeps the gradient scale independent of the batch size; `"sum"`
#   makes it grow with B; `"none"` hands you the per-example losses.
# - The gradients are simple: prediction minus target, scaled by the reduction.
#
# Next: [Lesson 3 — the log-sum-exp trick](03_log_sum_exp.ipynb).
