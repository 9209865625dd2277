# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
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
from losskit.widgets import use_live_figures

use_live_figures()  # ipympl in JupyterLab and Voila, else images that update
backend = losskit.get_backend()
Markdown(f"Computing with **{backend.name}**, default dtype {backend.default_dtype.__name__}.")

# %% [markdown]
# ## Sum at lr / B is mean at lr
#
# With mean reduction an update is $w \leftarrow w - \eta \cdot \frac{1}{B}\sum_i \nabla\ell_i$.
# With sum reduction and learning rate $\eta / B$ it is
# $w \leftarrow w - \frac{\eta}{B} \sum_i \nabla\ell_i$: the same update, written differently.
#
# `sum_vs_mean` trains one linear regression three ways from the same
# initialisation and the same sample order: mean at `lr`, sum at `lr`, sum at `lr / B`.
#
# **Predict first:** with batch size `32`, how close will the mean run and the
# "sum at lr / B" run be after a few epochs? Identical, close, or different? And
# the "sum at the same lr" run?

# %%
r32 = sum_vs_mean(batch_size=32, backend=backend)
assert r32.bitwise_equal  # what the text below says
Markdown(
    f"B = {r32.batch_size}, lr = {r32.lr}, {r32.epochs} epochs, "
    f"{len(r32.loss_mean)} updates. Mean at lr vs sum at lr / B: largest parameter difference "
    f"over the whole trajectory **{r32.max_deviation:g}**, bit for bit identical: "
    f"**{r32.bitwise_equal}**. Sum at the same lr: largest difference "
    f"{r32.max_deviation_same_lr:.3g}, final training loss {r32.epoch_loss_sum_same_lr[-1]:.3g} "
    f"against {r32.epoch_loss_mean[-1]:.4f}: each step was {r32.batch_size} times too large."
)

# %% [markdown]
# Bit for bit, because dividing by a power of two only changes a floating-point
# number's exponent. For other batch sizes `lr / B` is rounded, so the two runs
# agree only to rounding.
#
# **Predict first:** and with batch size `24`?

# %%
r24 = sum_vs_mean(batch_size=24, backend=backend)  # drop_last=True, the default
rounding = 1000 * float(np.finfo(r24.dtype).eps)  # a thousand ulps of 1: rounding, no more
assert r24.drop_last and r24.max_deviation < rounding  # what the text below says
Markdown(
    f"B = {r24.batch_size}: bitwise equal **{r24.bitwise_equal}**, largest difference "
    f"{r24.max_deviation:.2g} ({r24.dtype}): rounding, nothing more."
)

# %% [markdown]
# ## Weight decay and adaptive optimizers
#
# Weight decay adds $\lambda w$ to the gradient *after* the reduction, so
# scaling the loss does not scale it: with sum at `lr / B` the decay must become
# `weight_decay × B` to match (the experiment does that).
#
# Adam divides each step by a running estimate of the gradient's size, so it is
# (almost exactly) invariant to scaling the loss: for Adam, sum at the *same*
# learning rate matches mean, and sum at `lr / B` does not. The rule above is an
# SGD rule.

# %%
rwd = sum_vs_mean(batch_size=32, weight_decay=0.01, backend=backend)
scaled_decay = rwd.weight_decay * rwd.batch_size
assert rwd.max_deviation < rounding  # with the decay scaled too, the runs still match
Markdown(
    f"With weight_decay = {rwd.weight_decay} on the mean run and {scaled_decay:g} on the "
    f"sum-at-lr/B run: largest difference {rwd.max_deviation:g}, bitwise equal "
    f"**{rwd.bitwise_equal}**."
)

# %% [markdown]
# ## The linear scaling rule
#
# With mean reduction, a batch $k$ times larger averages away noise but takes
# $k$ times fewer steps per epoch. Goyal et al. (2017) scale the learning rate
# with it, batch × k → lr × k, plus a few epochs of warm-up at the start
# (large learning rates are fragile while the weights are random).

# %% [markdown]
# **Predict first:** three runs. A base batch size at a base learning rate; the
# batch k times larger with the learning rate k times larger; and the batch k
# times larger at the base learning rate. Which two training curves, per epoch,
# look alike? (The next cell sets the numbers.)

# %%
k = 4  # the batch grows k times
base = (8, 0.01)  # (batch size, learning rate)
scaled = (base[0] * k, base[1] * k)  # linear scaling rule
unscaled = (base[0] * k, base[1])  # bigger batch, same learning rate
Markdown(
    f"k = {k}: batch {base[0]} at lr {base[1]:g}, batch {scaled[0]} at lr {scaled[1]:g}, "
    f"and batch {unscaled[0]} at lr {unscaled[1]:g}."
)

# %%
epochs = 5
runs = {
    (b, lr): batch_size_sweep(batch_sizes=(b,), lr=lr, epochs=epochs, backend=backend)
    for b, lr in [base, scaled, unscaled]
}
curves = {key: s.epoch_loss[0].mean(axis=0) for key, s in runs.items()}  # mean over seeds
Markdown(
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

# %%
scaled_gap = np.max(np.abs(curves[base] - curves[scaled]))
unscaled_gap = np.max(np.abs(curves[base] - curves[unscaled]))
assert scaled_gap < unscaled_gap  # scaling keeps the curves together (the text below)
Markdown(
    f"Scaling the learning rate with the batch keeps the per-epoch curves together (largest gap "
    f"{scaled_gap:.4f}); keeping lr = {unscaled[1]:g} at batch {unscaled[0]} leaves it behind "
    f"(gap {unscaled_gap:.3f}): {k} times fewer steps of the same size."
)

# %% [markdown]
# ## The last partial batch
#
# When $B$ does not divide $N$ the last batch of an epoch is short. With mean
# reduction it still takes a full-size step, from a noisier estimate; with sum
# at `lr / B` it takes a proportionally smaller one, so the two runs part ways.
# `drop_last=True` removes the short batch.
#
# **Predict first:** the batch-size-`24` run above used `drop_last=True`, and
# its batch size does not divide the number of examples. Run it again keeping
# the short batch. Which of the two runs keeps mean and "sum at lr / B" together?

# %%
kept = sum_vs_mean(
    batch_size=r24.batch_size, n_samples=r24.n_samples, drop_last=False, backend=backend
)
short = kept.n_samples % kept.batch_size
# the claims below: there is a short batch, and keeping it separates the runs far more
assert short > 0 and not kept.drop_last and kept.max_deviation > 100 * r24.max_deviation
Markdown(
    f"{kept.n_samples} = {kept.n_samples // kept.batch_size} × {kept.batch_size} + {short}. "
    f"With `drop_last=True`: largest difference {r24.max_deviation:.2g}. Keeping the batch of "
    f"{short}: **{kept.max_deviation:.2g}**. On that batch the mean run takes a full-size step "
    f"from only {short} examples, while the sum run at lr / {kept.batch_size} takes "
    f"{short}/{kept.batch_size} of one."
)

# %% [markdown]
# ## Try it
#
# The panel overlays the three runs on the mean-at-lr reference; "reduction" and
# "scale lr by 1/B" pick the one drawn in full.
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
# - Weight decay must be scaled too; Adam does not care about the loss scale.
# - Growing the batch k times: grow the learning rate k times, with warm-up.
# - The short last batch breaks the equivalence; `drop_last` removes it.
#
# Next: [Lesson 6 — gradient accumulation](06_gradient_accumulation.ipynb).
