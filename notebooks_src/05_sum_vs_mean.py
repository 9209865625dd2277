# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 5 — Sum vs mean, and the learning rate
#
# Lesson 2 showed that a summed loss has a gradient $B$ times larger than the
# mean loss over the same batch. Since SGD steps by `lr × gradient`, the
# reduction and the learning rate are tied together: change one and you have
# changed the other. This lesson makes that exact.

# %%
import numpy as np
from IPython.display import Markdown, display

import losskit
from losskit.experiments import batch_size_sweep, sum_vs_mean
from losskit.widgets import reveal, use_live_figures

use_live_figures()  # ipympl in JupyterLab and Voila, else images that update
backend = losskit.get_backend()
Markdown(f"Computing with **{backend.name}**, default dtype {backend.default_dtype.__name__}.")

# %% [markdown]
# ## Sum or mean: which learning rate?
#
# `sum_vs_mean` trains one linear regression three ways from the same
# initialisation and the same sample order: mean reduction at `lr`, sum at `lr`,
# and sum at `lr / B`.
#
# **Predict first:** with batch size `32`, how close will the mean run and the
# "sum at lr / B" run be after a few epochs? Identical, close, or different? And
# the "sum at the same lr" run?

# %% jupyter={"source_hidden": true}
N = 256  # samples: the data set of every run here, and of the panel at the end
r32 = sum_vs_mean(batch_size=32, n_samples=N, backend=backend)
assert r32.bitwise_equal  # what the text below says
reveal(
    f"B = {r32.batch_size}, lr = {r32.lr}, {r32.epochs} epochs, "
    f"{len(r32.loss_mean)} updates. Mean at lr vs sum at lr / B: largest parameter difference "
    f"over the whole trajectory **{r32.max_deviation:g}**, bit for bit identical: "
    f"**{r32.bitwise_equal}**. Sum at the same lr: largest difference "
    f"{r32.max_deviation_same_lr:.3g}, final training loss {r32.epoch_loss_sum_same_lr[-1]:.3g} "
    f"against {r32.epoch_loss_mean[-1]:.4f}: each step was {r32.batch_size} times too large."
)

# %% [markdown]
# With mean reduction an update is $w \leftarrow w - \eta \cdot \frac{1}{B}\sum_i \nabla\ell_i$.
# With sum reduction and learning rate $\eta / B$ it is
# $w \leftarrow w - \frac{\eta}{B} \sum_i \nabla\ell_i$: the same update, written
# differently. With sum at $\eta$ it is $B$ times that.
#
# **Predict first:** and with batch size `24`? Bit for bit again?

# %% jupyter={"source_hidden": true}
r24 = sum_vs_mean(batch_size=24, n_samples=N, backend=backend)  # drop_last=True, the default
rounding = 1000 * float(np.finfo(r24.dtype).eps)  # a thousand ulps of 1: rounding, no more
assert not r24.bitwise_equal and r24.max_deviation < rounding  # what the text below says
assert r32.power_of_two and not r24.power_of_two
reveal(
    f"B = {r24.batch_size}: bitwise equal **{r24.bitwise_equal}**, largest difference "
    f"{r24.max_deviation:.2g} ({r24.dtype}): rounding, nothing more. B = {r32.batch_size} is "
    f"a power of two, and dividing by a power of two only changes a floating-point number's "
    f"exponent: `lr / {r32.batch_size}` and the mean's division are exact, so the two runs "
    f"compute the same numbers. `lr / {r24.batch_size}` is rounded, so the runs "
    f"agree only to rounding."
)

# %% [markdown]
# ## Weight decay and Adam
#
# Weight decay adds $\lambda w$ to the gradient *after* the reduction, so
# scaling the loss does not scale it: with sum at `lr / B` the decay must become
# `weight_decay × B` to match (the experiment does that).

# %%
rwd = sum_vs_mean(batch_size=32, n_samples=N, weight_decay=0.01, backend=backend)
scaled_decay = rwd.weight_decay * rwd.batch_size
assert rwd.max_deviation < rounding  # with the decay scaled too, the runs still match
Markdown(
    f"With weight_decay = {rwd.weight_decay} on the mean run and {scaled_decay:g} on the "
    f"sum-at-lr/B run: largest difference {rwd.max_deviation:g}, bitwise equal "
    f"**{rwd.bitwise_equal}**."
)

# %% [markdown]
# The rule so far is about SGD. `losskit.Adam` is another optimizer, with
# `torch.optim.Adam`'s update. The cell below trains the same model on the same
# data with it, three ways again, each run on the same batches in the same order;
# by hand, since `fit` runs SGD.
#
# **Predict first:** with Adam, which run follows the mean run at `lr`: sum at
# the same `lr`, or sum at `lr / B`?

# %% jupyter={"source_hidden": true}
from losskit.data import make_linear_regression

X, y = make_linear_regression(
    r32.n_samples, r32.n_features, noise=r32.noise, seed=r32.seed, backend=backend
)
B, lr = r32.batch_size, r32.lr
adam_runs = {"mean at lr": ("mean", lr), "sum at lr": ("sum", lr), "sum at lr / B": ("sum", lr / B)}
paths = {}
for name, (reduction, step_lr) in adam_runs.items():
    model = losskit.LinearRegression(r32.n_features, seed=r32.seed, backend=backend)
    loss, adam = losskit.MSELoss(reduction=reduction), losskit.Adam(step_lr)
    loader = losskit.BatchLoader(X, y, batch_size=B, drop_last=True, seed=r32.seed)
    path = [np.concatenate([backend.to_host(p).ravel() for p in model.params.values()])]
    for _ in range(r32.epochs):  # the same batches, in the same order, for every run
        for xb, yb in loader:
            _, g = loss.value_and_grad(model.forward(xb), yb)
            adam.step(model.params, model.backward(xb, g))
            path.append(np.concatenate([backend.to_host(p).ravel() for p in model.params.values()]))
    paths[name] = np.array(path)
mean_path = paths["mean at lr"]
travel = np.max(np.abs(mean_path - mean_path[0]))  # how far the mean run moved
gap_same = np.max(np.abs(paths["sum at lr"] - mean_path))
gap_scaled = np.max(np.abs(paths["sum at lr / B"] - mean_path))
first_step = {name: np.max(np.abs(path[1] - path[0])) for name, path in paths.items()}
shrink = first_step["mean at lr"] / first_step["sum at lr / B"]
# the claims below: sum at the same lr follows mean to a tiny fraction of the distance
# travelled; sum at lr / B is off by a large fraction of it, its steps B times smaller
assert gap_same < 1e-5 * travel and gap_scaled > 0.1 * travel and abs(shrink / B - 1) < 1e-3
reveal(
    f"Adam (eps = {adam.eps:g}), B = {B}, lr = {lr}, {len(mean_path) - 1} updates; the mean "
    f"run's parameters moved up to {travel:.3g}. Largest parameter difference from it over the "
    f"whole trajectory: sum at the same lr **{gap_same:.2g}** "
    f"({gap_same / travel:.1e} of that distance), sum at lr / B **{gap_scaled:.3g}**. The first "
    f"step of sum at lr / B is {shrink:.4g} times smaller than the mean's "
    f"({first_step['sum at lr / B']:.4g} against {first_step['mean at lr']:.4g})."
    + "\n\n"
    + (
        r"Adam divides each step by a running estimate of the gradient's size, the square "
        r"root of a running mean of $g^2$. A summed loss multiplies every gradient by $B$, "
        r"and with it that estimate, so the two cancel: sum at the same learning rate "
        r"follows mean, and sum at `lr / B` takes steps $B$ times too small. Only almost "
        r"exactly: Adam adds a small `eps` to the denominator, a term that does not scale "
        r"with $B$, so the cancellation holds up to `eps` (and rounding). The `lr / B` "
        r"rule is an SGD rule."
    )
)

# %% [markdown]
# ## A bigger batch: which learning rate?
#
# With mean reduction, a batch $k$ times larger averages away noise but takes
# $k$ times fewer steps per epoch.
#
# **Predict first:** three runs. A base batch size at a base learning rate; the
# batch k times larger with the learning rate k times larger; and the batch k
# times larger at the base learning rate. Which two training curves, per epoch,
# look alike? (The next cell sets the numbers.)

# %% jupyter={"source_hidden": true}
k = 4  # the batch grows k times
base = (8, 0.01)  # (batch size, learning rate)
scaled = (base[0] * k, base[1] * k)  # the learning rate grows with the batch
unscaled = (base[0] * k, base[1])  # bigger batch, same learning rate
reveal(
    f"k = {k}: batch {base[0]} at lr {base[1]:g}, batch {scaled[0]} at lr {scaled[1]:g}, "
    f"and batch {unscaled[0]} at lr {unscaled[1]:g}."
)

# %% jupyter={"source_hidden": true}
epochs = 5
runs = {
    (b, lr): batch_size_sweep(batch_sizes=(b,), lr=lr, epochs=epochs, backend=backend)
    for b, lr in [base, scaled, unscaled]
}
curves = {key: s.epoch_loss[0].mean(axis=0) for key, s in runs.items()}  # mean over seeds
reveal(
    "Training-set loss at the end of each epoch (mean over seeds):\n\n"
    "| batch | lr | " + " | ".join(f"epoch {e + 1}" for e in range(epochs)) + " |\n"
    "|---|---|"
    + "---|" * epochs
    + "\n"
    + "\n".join(
        f"| {b} | {lr:g} | " + " | ".join(f"{v:.4f}" for v in curves[(b, lr)]) + " |"
        for b, lr in curves
    )
)

# %% jupyter={"source_hidden": true}
scaled_gap = np.max(np.abs(curves[base] - curves[scaled]))
unscaled_gap = np.max(np.abs(curves[base] - curves[unscaled]))
assert scaled_gap < unscaled_gap  # scaling keeps the curves together (the text below)
reveal(
    f"Scaling the learning rate with the batch keeps the per-epoch curves together (largest gap "
    f"{scaled_gap:.4f}); keeping lr = {unscaled[1]:g} at batch {unscaled[0]} leaves it behind "
    f"(gap {unscaled_gap:.3f}): {k} times fewer steps of the same size."
)

# %% [markdown]
# This is the **linear scaling rule** of Goyal et al. (2017): batch × k → lr × k,
# plus a few epochs of warm-up at the start (large learning rates are fragile
# while the weights are random).
#
# ## The last partial batch
#
# When $B$ does not divide $N$ the last batch of an epoch is short.
#
# **Predict first:** the batch-size-`24` run above used `drop_last=True`, and
# its batch size does not divide the number of examples. Run it again keeping
# the short batch. Which of the two runs keeps mean and "sum at lr / B" together?

# %% jupyter={"source_hidden": true}
kept = sum_vs_mean(
    batch_size=r24.batch_size, n_samples=r24.n_samples, drop_last=False, backend=backend
)
short = kept.n_samples % kept.batch_size
# the claims below: there is a short batch, and keeping it separates the runs far more
assert short > 0 and not kept.drop_last and kept.max_deviation > 100 * r24.max_deviation
reveal(
    f"{kept.n_samples} = {kept.n_samples // kept.batch_size} × {kept.batch_size} + {short}. "
    f"With `drop_last=True`: largest difference {r24.max_deviation:.2g}. Keeping the batch of "
    f"{short}: **{kept.max_deviation:.2g}**. On that batch the mean run takes a full-size step "
    f"from only {short} examples, while the sum run at lr / {kept.batch_size} takes "
    f"{short}/{kept.batch_size} of one, so the two runs part ways. `drop_last=True` removes "
    f"the short batch, and with it the difference."
)

# %% [markdown]
# ## Try it
#
# The panel overlays the three runs on the mean-at-lr reference; "reduction" and
# "scale lr by 1/B" pick the one drawn in full. It starts with 2 epochs, to answer
# faster; **as in the text above** sets the text's B = 32 and 3 epochs.
#
# **Predict first:** choose reduction "sum" and untick "scale lr by 1/B": what
# does the curve do? Tick it again, pick a batch size that does not divide the
# data, and untick "drop last partial batch": which curves separate, and when?

# %%
from losskit.widgets import SumVsMeanPanel

panel = SumVsMeanPanel(backend=backend)
display(panel)

# %% [markdown]
# ## What to remember
#
# - For SGD, sum at `lr / B` is mean at `lr` (bit for bit when B is a power of
#   two). Sum at the same `lr` is a B-times larger step.
# - Weight decay must be scaled too. Adam hardly cares about the loss scale: sum
#   at the same `lr` follows mean, up to its `eps`.
# - Growing the batch k times: grow the learning rate k times, with warm-up.
# - The short last batch breaks the equivalence; `drop_last` removes it.
#
# Next: [Lesson 6 — gradient accumulation](06_gradient_accumulation.ipynb).
