# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 1 — Is the loss computed on a batch or on the whole dataset?
#
# In training, the loss the optimizer differentiates is computed on a
# **mini-batch**: a handful of examples, one scalar, one weight update, repeat.
# A loss over the whole dataset exists too (that is full-batch gradient
# descent), but every single update then costs a full pass over the data, and
# the data may not fit in memory at once.
#
# This lesson makes the batch concrete: what goes into one update, how many
# updates an epoch has, and what the "training loss" printed at the end of an
# epoch actually is.

# %%
import math

import numpy as np
from IPython.display import Markdown, display

import losskit
from losskit.data import make_linear_regression
from losskit.widgets import reveal, use_live_figures

use_live_figures()  # ipympl in JupyterLab and Voila, else images that update
backend = losskit.get_backend()
xp = backend.xp
# Arrays default to backend.default_dtype: float32 on a GPU (what it is fast at), else float64.
Markdown(f"Computing with **{backend.name}**, default dtype {backend.default_dtype.__name__}.")

# %% [markdown]
# ## What one batch gradient is made of
#
# Take a batch of eight examples, a linear model and the summed squared error
# $L = \sum_{i \in \text{batch}} \ell_i$.
#
# **Predict first:** compute the gradient of the batch loss in one go, and
# separately the gradient of each example's loss on its own. How do the two
# relate?

# %% jupyter={"source_hidden": true}
X, y = make_linear_regression(n_samples=8, n_features=3, seed=1, backend=backend)
model = losskit.LinearRegression(3, seed=0, backend=backend)
loss_sum = losskit.MSELoss(reduction="sum")

batch_grad = model.backward(X, loss_sum.grad(model.forward(X), y))["W"]
per_example = [
    model.backward(X[i : i + 1], loss_sum.grad(model.forward(X[i : i + 1]), y[i : i + 1]))["W"]
    for i in range(X.shape[0])
]
gap = float(backend.to_host(xp.max(xp.abs(batch_grad - sum(per_example)))))
first = float(backend.to_host(xp.linalg.vector_norm(per_example[0])))
whole = float(backend.to_host(xp.linalg.vector_norm(batch_grad)))
assert gap < 1e-4 * whole  # equal up to rounding (the text below)
reveal(
    f"The batch gradient equals the sum of the {len(per_example)} per-example gradients "
    f"(largest difference {gap:.1e}, rounding). The first example alone has a gradient of norm "
    f"{first:.3f}; the batch's is {whole:.3f}. Each example pulls the weights its own way, "
    f"and the update follows their sum (or, with a mean loss, their average)."
    + "\n\n"
    + (
        r"That is differentiation being linear: the gradient of a sum is the sum of the "
        r"gradients, $\nabla L = \sum_i \nabla \ell_i$, and a mean divides it by $B$. "
        r"Either way **every** example in the batch contributes to the update, not just "
        r"the first one or the last one."
    )
)

# %% [markdown]
# ## Three regimes, and how many updates an epoch has
#
# - **full batch** (gradient descent): $B = N$, one update per pass over the data;
# - **one example** (stochastic gradient descent in the strict sense): $B = 1$;
# - **mini-batch**: anything in between, what everyone actually uses.
#
# The batch size is the number of examples seen per weight update, and an epoch
# is one pass over the data.
#
# **Predict first:** a dataset of `50,000` images at batch size `32`. How many weight
# updates per epoch? How big is the last batch? And with `drop_last=True`?

# %% jupyter={"source_hidden": true}
N, B = 50_000, 32
images = backend.asarray(np.zeros((N, 1)))  # only the count matters here
loader = losskit.BatchLoader(images, batch_size=B)
dropping = losskit.BatchLoader(images, batch_size=B, drop_last=True)
reveal(
    f"{N:,} examples at batch size {B}: {N:,} / {B} = {N / B:,.1f}, so "
    f"**{loader.n_batches:,} updates per epoch** (rounded up, `math.ceil` gives "
    f"{math.ceil(N / B):,}), the last batch holding {loader.last_batch_size} examples. "
    f"With `drop_last=True` it is {dropping.n_batches:,} updates and {dropping.n_dropped} "
    f"examples skipped each epoch. That is {loader.n_batches:,} loss values per epoch "
    f"({dropping.n_batches:,} with `drop_last`), not one."
)

# %% [markdown]
# In general an epoch has $\lceil N / B \rceil$ updates, the last batch being
# short unless $B$ divides $N$ or you drop it:

# %%
rows = []
for b in [N, 1024, 32, 1]:
    plan = losskit.BatchLoader(images, batch_size=b)
    rows.append(f"| {b:,} | {plan.n_batches:,} | {plan.last_batch_size:,} |")
Markdown(
    "| batch size | updates per epoch | size of the last batch |\n|---|---|---|\n" + "\n".join(rows)
)

# %% [markdown]
# ## Try it: one batch against the whole dataset
#
# The panel trains the same model with different batch sizes and shows the loss
# of every update next to the loss on the whole dataset.
#
# **Predict first:** as you shrink the batch size, what happens to the jaggedness
# of the per-batch curve, and to the number of points in it for the same number
# of epochs?

# %%
from losskit.widgets import BatchVsDatasetPanel

panel = BatchVsDatasetPanel(backend=backend)
display(panel)

# %% [markdown]
# ## The "training loss" of an epoch is a running summary
#
# The training loss reported at the end of an epoch is collected **while the
# weights move**: batch one is scored with the weights of the start of the epoch,
# the last batch with nearly the final ones. The validation loss is computed
# once, at the end of the epoch, with fixed weights and no gradient.
#
# **Predict first:** after one epoch of training, is the epoch's training loss
# higher or lower than the loss of the final weights on the same training data?

# %% jupyter={"source_hidden": true}
X, y = make_linear_regression(n_samples=2_000, n_features=5, noise=0.5, seed=2, backend=backend)
model = losskit.LinearRegression(5, seed=0, backend=backend)
mse = losskit.MSELoss()
history = losskit.fit(model, mse, X, y, batch_size=32, lr=0.02, epochs=1, seed=0)
end_of_epoch = float(backend.to_host(mse(model.forward(X), y)))
assert history.epoch_train_loss[0] > end_of_epoch  # what the text below says
reveal(
    f"Epoch training loss (a size-weighted average over {history.n_updates} batches, each "
    f"scored with the weights of its moment): **{float(history.epoch_train_loss[0]):.3f}**. "
    f"The same data scored with the end-of-epoch weights: **{end_of_epoch:.3f}**. The running "
    f"summary is higher because early batches were scored with worse weights. Compare "
    f"training and validation curves with this in mind (lesson 7)."
)

# %% [markdown]
# ## What to remember
#
# - The optimizer sees one scalar per mini-batch; every example in the batch
#   contributes to its gradient.
# - Updates per epoch = ⌈N / B⌉ (one fewer with `drop_last` when B does not divide N).
# - An epoch's training loss is an average over a moving model; validation loss
#   is measured once, on fixed weights.
#
# Next: [Lesson 2 — losses and reductions](02_losses_and_reductions.ipynb).
