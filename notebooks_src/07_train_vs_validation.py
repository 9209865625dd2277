# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 7 — Training vs validation, per batch and per epoch
#
# Two curves decide when training is done: the training loss, which the
# optimizer pushes down, and the validation loss, on data it never trains on.
# Reading them correctly needs three details: how the per-batch losses become one
# number per epoch, when the validation loss is measured, and what to do when
# the two curves part ways.

# %%
import numpy as np
from IPython.display import Markdown, display

import losskit
from losskit.data import make_linear_regression
from losskit.experiments import train_val
from losskit.widgets import reveal, use_live_figures

use_live_figures()  # ipympl in JupyterLab and Voila, else images that update
backend = losskit.get_backend()
xp = backend.xp
Markdown(f"Computing with **{backend.name}**, default dtype {backend.default_dtype.__name__}.")

# %% [markdown]
# ## One number per epoch
#
# During an epoch the training loop records one loss per batch, each the mean
# over that batch's examples. The epoch needs one number: the mean loss over all
# its examples.
#
# **Predict first:** ten examples, batch size four, so batches of 4, 4 and 2.
# Does the mean of the three batch means equal the mean over the ten examples?

# %% jupyter={"source_hidden": true}
X, y = make_linear_regression(n_samples=10, n_features=2, seed=4, backend=backend)
model = losskit.LinearRegression(2, seed=0, backend=backend)
per_example = losskit.MSELoss(reduction="none")  # one loss per example

loader = losskit.BatchLoader(X, y, batch_size=4, shuffle=False)
batch_means, sizes = [], []
for xb, yb in loader:
    batch_means.append(float(backend.to_host(xp.mean(per_example(model.forward(xb), yb)))))
    sizes.append(xb.shape[0])
everything = float(backend.to_host(xp.mean(per_example(model.forward(X), y))))
weighted_mean = float(np.average(batch_means, weights=sizes))
# the claims below: the size-weighted mean is the per-example mean; the plain one is not
assert abs(weighted_mean - everything) < 1e-5 * everything
assert abs(np.mean(batch_means) - everything) > 1e-3 * everything
reveal(
    f"Batch sizes {sizes}, batch means {[round(m, 3) for m in batch_means]}. Mean of the batch "
    f"means: **{np.mean(batch_means):.4f}**. Size-weighted mean: "
    f"**{weighted_mean:.4f}**. Mean over all {sum(sizes)} examples: "
    f"**{everything:.4f}**. The plain mean counts each of the last {sizes[-1]} examples "
    f"{sizes[0] / sizes[-1]:g} times as much as the others."
    + "\n\n"
    + (
        r"So to summarise an epoch, average the **per-example** losses: weight each "
        r"batch's mean by its size. The plain mean of the batch means over-weights a short "
        r"last batch."
    )
)

# %% [markdown]
# `losskit.fit` records both: `History.batch_loss` (one value per update, as the
# loss reduces it) and `History.epoch_train_loss` (size-weighted).

# %%
history = losskit.fit(
    model, losskit.MSELoss(), X, y, batch_size=4, lr=0.05, epochs=2, shuffle=False
)
first_epoch = slice(0, history.updates_per_epoch)
weighted = np.average(history.batch_loss[first_epoch], weights=history.batch_size[first_epoch])
assert abs(history.epoch_train_loss[0] - weighted) < 1e-5 * weighted  # the two agree
Markdown(
    f"Epoch 1: batch losses {np.round(history.batch_loss[first_epoch], 4).tolist()} on batches of "
    f"{history.batch_size[first_epoch].tolist()}; `epoch_train_loss[0]` = "
    f"{history.epoch_train_loss[0]:.6f}, their size-weighted average = {weighted:.6f}."
)

# %% [markdown]
# ## Validation: once per epoch, fixed weights, no gradient
#
# The per-batch training loss jitters because every batch is different and the
# weights move between batches. The validation loss is computed once at the end
# of each epoch, on held-out data, with the weights frozen and no gradient taken.
# When it turns up while the training loss keeps falling, the model has started
# to fit the noise of the training set: **overfitting**.
#
# `train_val` fits a flexible model (radial basis functions) to a handful of
# noisy points of a sine, with a validation set drawn from the same curve.
#
# **Predict first:** the training loss will fall for as long as you train. Will
# the validation loss? If not, roughly when does it stop improving?

# %% jupyter={"source_hidden": true}
tv = train_val(backend=backend)
full_best = int(np.argmin(tv.full_epoch_val_loss))
# the claims below: training loss keeps falling, validation bottoms out and then rises
assert tv.full_epoch_train_loss[-1] < tv.full_epoch_train_loss[full_best]
assert tv.full_epoch_val_loss[-1] > tv.full_epoch_val_loss[full_best]
reveal(
    f"{tv.n_train} training points, {tv.n_val} validation points, batch size "
    f"{tv.batch_size_setting}, up to {tv.max_epochs} epochs. Without early stopping the "
    f"training loss falls from {tv.full_epoch_train_loss[0]:.3f} to "
    f"**{tv.full_epoch_train_loss[-1]:.4f}**, while the validation loss is lowest at epoch "
    f"{full_best + 1} (**{tv.full_epoch_val_loss[full_best]:.4f}**) and ends at "
    f"**{tv.full_epoch_val_loss[-1]:.4f}**: the model has learned the training noise."
)

# %% [markdown]
# ## Early stopping
#
# `EarlyStopping(patience, min_delta, restore_best=True)` watches the validation
# loss. An epoch counts as an improvement only if it beats the best so far by
# more than `min_delta`; after `patience` epochs without one, training stops, and
# the weights of the best epoch are put back.
#
# **Predict first:** with a patience of P epochs (the table below uses the
# default of `train_val`), at which epoch will training stop, relative to the
# best one? And if `min_delta` is raised, will it stop earlier or later?

# %% jupyter={"source_hidden": true}
rows, stops, bests = [], [], []
for min_delta in [0.0, 0.001, 0.01]:
    r = train_val(min_delta=min_delta, backend=backend)
    stops.append(r.stopped_epoch)
    bests.append(r.best_epoch)
    rows.append(
        f"| {r.patience} | {min_delta:g} | {r.best_epoch + 1} | {r.stopped_epoch + 1} "
        f"| {r.epoch_val_loss[r.best_epoch]:.4f} |"
    )
reveal(
    "| patience | min_delta | best epoch | stopped at epoch | validation loss kept |\n"
    "|---|---|---|---|---|\n" + "\n".join(rows)
)

# %% jupyter={"source_hidden": true}
assert stops == sorted(stops, reverse=True) and tv.stopped_epoch == tv.best_epoch + tv.patience
# a larger min_delta: the best epoch comes earlier and training stops sooner (the text below)
assert bests == sorted(bests, reverse=True) and bests[-1] < bests[0] and stops[-1] < stops[0]
assert tv.epoch_val_loss[tv.best_epoch] < tv.full_epoch_val_loss[-1]
reveal(
    f"With the defaults training stops at epoch {tv.stopped_epoch + 1}, {tv.patience} epochs "
    f"after the best one (epoch {tv.best_epoch + 1}), and restores that epoch's weights: "
    f"validation loss {tv.epoch_val_loss[tv.best_epoch]:.4f} instead of the "
    f"{tv.full_epoch_val_loss[-1]:.4f} of training to the end. A larger `min_delta` ignores "
    f"the slow late improvements, so the best epoch comes earlier and training stops sooner."
)

# %% [markdown]
# ## Try it
#
# **Predict first:** make the batch size smaller. What happens to the per-batch
# curve, and does the best epoch move? Shrink the model (fewer RBF centres):
# does it still overfit? Then lower the patience until early stopping fires too
# soon, before the validation minimum.

# %%
from losskit.widgets import TrainValPanel

panel = TrainValPanel(backend=backend)
display(panel)

# %% [markdown]
# ## What to remember
#
# - Summarise an epoch with the per-example mean (batch means weighted by size),
#   never the plain mean of batch means.
# - The epoch's training loss is collected while the weights move; the
#   validation loss is measured once, on fixed weights.
# - Validation turning up while training falls is overfitting; early stopping
#   with patience and `min_delta` catches it and restores the best weights.
#
# Next: [Lesson 8 — cross-entropy at scale and summation](08_ce_at_scale_and_summation.ipynb).
