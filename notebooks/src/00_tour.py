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
# # losskit — a short tour
#
# **losskit** teaches one story: how a loss turns a batch of predictions into one
# number, and what batching does to learning. It is a small Python package
# (losses with their gradients, a mini-batch training loop, one experiment per
# lesson, figures and interactive panels) and the eight lessons in this folder.
# The lessons import the package; nothing is copied into the notebooks, so what
# you read here is what the library does.
#
# Every lesson follows the same rhythm: an idea, a **Predict first** question,
# then the experiment or panel that answers it. Commit to an answer before you
# run the cell or move the slider: the surprises are the lesson.

# %%

from IPython.display import Markdown, display

import losskit
from losskit.widgets import use_live_figures

use_live_figures()  # ipympl in JupyterLab and Voila, else images that update
backend = losskit.get_backend()
Markdown(
    f"losskit {losskit.__version__}, computing with **{backend.name}** "
    f"(GPU: {backend.is_gpu}, default dtype {backend.default_dtype.__name__}). "
    f"Backends usable here: {', '.join(losskit.available_backends())}."
)

# %% [markdown]
# ## One line chooses NumPy or the GPU
#
# `losskit.get_backend()` picks the array library: the `LOSSKIT_BACKEND`
# environment variable if set, otherwise CuPy when a GPU is usable, otherwise
# NumPy. On a GPU hub the same notebooks run on the GPU in float32; on a laptop
# they run on NumPy in float64. Every lesson starts with this line and passes
# `backend` on.
#
# ## The losses, as in PyTorch
#
# Losses are named and reduced exactly like `torch.nn`'s and carry their
# gradient: `loss(input, target)`, `loss.grad(input, target)`.

# %%
import numpy as np

logits = backend.asarray([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
labels = backend.asarray([0, 2], dtype=backend.xp.int64)
ce = losskit.CrossEntropyLoss()
value, grad = ce.value_and_grad(logits, labels)
assert np.abs(backend.to_host(grad).sum(axis=1)).max() < 1e-6  # each row sums to zero (below)
Markdown(
    f"Cross-entropy of two rows: **{float(backend.to_host(value)):.4f}**; its gradient "
    f"with respect to the logits:\n\n```\n{np.round(backend.to_host(grad), 4)}\n```\n"
    f"(each row sums to zero: softmax minus one-hot, divided by the batch size)."
)

# %% [markdown]
# ## A panel
#
# Each lesson has a panel: controls on top, a figure, and a readout of the key
# numbers underneath. This one is from lesson 3.
#
# **Predict first:** the logits are `s × [1, 2, 3]` in float32. The textbook
# `log(softmax)` computes `exp` of them directly. Drag the scale `s` up: at what
# value does it start returning NaN?

# %%
from losskit.widgets import LSEOverflowPanel

panel = LSEOverflowPanel(backend=backend)
display(panel)

# %%
from losskit.experiments import lse_overflow

# The answer at the panel's starting values (pattern 1, 2, 3), from a fresh run of the
# experiment behind it: the panel's own state changes as soon as a control moves.
r = lse_overflow(backend=backend)
f32 = r.dtypes.index("float32")
top = float(r.pattern.max())
# the claims below: the naive version breaks (on the sweep's grid) right where top·s passes
# log(float32 max); the stable one never does
assert abs(r.first_failure["float32"] / r.exp_threshold_scale["float32"] - 1) < 2e-3
assert r.stable_finite[f32].all()
Markdown(
    f"Answer: from s = {r.first_failure['float32']:.4g}, where {top:g}s passes "
    f"log(float32 max) = {r.log_max['float32']:.2f}. The stable version, which subtracts the "
    f"row maximum first, never does. Lesson 3 explains why."
)

# %% [markdown]
# ## The lessons
#
# 1. [Batch vs dataset loss](01_batch_vs_dataset.ipynb): what one update sees,
#    updates per epoch, what the epoch's training loss is.
# 2. [Losses and reductions](02_losses_and_reductions.ipynb): MSE,
#    cross-entropy, BCE; mean, sum, none; their gradients; mistakes that do not crash.
# 3. [The log-sum-exp trick](03_log_sum_exp.ipynb): where `exp` overflows and
#    the one-line fix.
# 4. [Gradient noise and batch size](04_gradient_noise.ipynb): the variance of
#    a mini-batch gradient, and the noise scale.
# 5. [Sum vs mean and the learning rate](05_sum_vs_mean.ipynb): why sum at
#    `lr / B` is mean at `lr`, and linear scaling.
# 6. [Gradient accumulation](06_gradient_accumulation.ipynb): micro-batches
#    done right, and two ways to get them wrong.
# 7. [Training vs validation](07_train_vs_validation.ipynb): size-weighted
#    epoch losses, overfitting, early stopping.
# 8. [Cross-entropy at scale and summation](08_ce_at_scale_and_summation.ipynb):
#    the memory of large vocabularies, and summing a million numbers in float32.
#
# Instructors: `voila notebooks/03_log_sum_exp.ipynb` serves a lesson as an app
# (code hidden), and `losskit figures` renders every lesson figure to PNG for slides.
