# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
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
from losskit.widgets import reveal, use_live_figures

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
# gradient: `loss(input, target)`, `loss.grad(input, target)`, or both at once with
# `loss.value_and_grad(input, target)`.
#
# **Predict first:** two examples, three classes, logits `[2, 0.5, -1]` with true
# class 0 and `[0.1, 0.2, 3]` with true class 2. Both put their largest logit on
# the true class. Which example has the larger cross-entropy?

# %% jupyter={"source_hidden": true}
import numpy as np

logits = backend.asarray([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
labels = backend.asarray([0, 2], dtype=backend.xp.int64)
per_example = backend.to_host(losskit.CrossEntropyLoss(reduction="none")(logits, labels))
p_true = np.exp(-per_example)  # cross-entropy is -log of the true class's softmax probability
top_two = np.sort(backend.to_host(logits), axis=1)[:, -2:]
lead = top_two[:, 1] - top_two[:, 0]  # how far the true (largest) logit leads the runner-up
assert per_example[0] > per_example[1] and p_true[0] < p_true[1]  # the text below
reveal(
    f'Per example (`reduction="none"`): **{per_example[0]:.4f}** and **{per_example[1]:.4f}**: '
    f"the first example costs more. Softmax gives its true class the probability "
    f"{p_true[0]:.3f}, the second example's {p_true[1]:.3f}: the second's true logit stands "
    f"further above the others ({lead[1]:g} over the runner-up, against {lead[0]:g}), and "
    f"cross-entropy is −log of that probability."
)

# %% jupyter={"source_hidden": true}
ce = losskit.CrossEntropyLoss()  # reduction="mean", as in torch.nn
value, grad = ce.value_and_grad(logits, labels)
assert abs(float(backend.to_host(value)) - np.mean(per_example)) < 1e-6  # the mean of the two
assert np.array_equal(backend.to_host(grad), backend.to_host(ce.grad(logits, labels)))
reveal(
    f'With the default `reduction="mean"` the loss is their mean, '
    f"**{float(backend.to_host(value)):.4f}**, and its gradient with respect to the logits "
    f"(the same from `value_and_grad` as from `grad`) is\n\n"
    f"```\n{np.round(backend.to_host(grad), 4)}\n```\n"
    f"Lesson 2 takes these gradients apart."
)

# %% [markdown]
# ## A panel
#
# Each lesson has a panel: controls on top, a figure, and a readout of the key
# numbers underneath. This one is lesson 3's: logits `s × pattern`, the textbook
# `log(softmax)` against the stable one, in the dtype you choose. Lesson 3 first
# asks you to predict where the textbook version breaks; the figure marks a break
# only once you drag past it.

# %%
from losskit.widgets import LSEOverflowPanel

panel = LSEOverflowPanel(backend=backend)
display(panel)

# %% [markdown]
# ## The lessons
#
# 1. [Batch vs dataset loss](01_batch_vs_dataset.ipynb): what one update sees,
#    how many updates an epoch has, what the epoch's training loss is.
# 2. [Losses and reductions](02_losses_and_reductions.ipynb): MSE,
#    cross-entropy, BCE; mean, sum, none; their gradients; mistakes that do not crash.
# 3. [The log-sum-exp trick](03_log_sum_exp.ipynb): where `exp` overflows and
#    the one-line fix.
# 4. [Gradient noise and batch size](04_gradient_noise.ipynb): the variance of
#    a mini-batch gradient, and the noise scale.
# 5. [Sum vs mean and the learning rate](05_sum_vs_mean.ipynb): how the
#    reduction and the learning rate are tied, for SGD and for Adam.
# 6. [Gradient accumulation](06_gradient_accumulation.ipynb): micro-batches
#    done right, and two ways to get them wrong.
# 7. [Training vs validation](07_train_vs_validation.ipynb): one loss per
#    epoch, overfitting, early stopping.
# 8. [Cross-entropy at scale and summation](08_ce_at_scale_and_summation.ipynb):
#    the memory of large vocabularies, and summing a million numbers in float32.
#
# Instructors: `voila notebooks/03_log_sum_exp.ipynb` serves a lesson as an app
# (code hidden), and `losskit figures` renders every lesson figure to PNG for slides.
