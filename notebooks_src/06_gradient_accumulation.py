# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 6 — Gradient accumulation
#
# Sometimes the batch you want does not fit in memory. Gradient accumulation
# splits it into K **micro-batches**, runs forward and backward on each, adds
# the gradients up, and makes **one** update. Done right, the update is the same
# as for the whole batch. Done slightly wrong, it is not, and nothing crashes.

# %%
import numpy as np
from IPython.display import Markdown, display

import losskit
from losskit.data import make_linear_regression
from losskit.experiments import accumulation
from losskit.widgets import reveal, use_live_figures

use_live_figures()  # ipympl in JupyterLab and Voila, else images that update
backend = losskit.get_backend()
xp = backend.xp
Markdown(f"Computing with **{backend.name}**, default dtype {backend.default_dtype.__name__}.")

# %% [markdown]
# ## Three ways to add up micro-batches
#
# One update with micro-batches of sizes $n_1, \dots, n_K$ (total $n$): zero the
# gradient buffer, then for each micro-batch $m$ take its mean loss $L_m$, run
# backward, and add to the buffer one of
#
# - $\frac{n_m}{n}\,\nabla L_m$: **weighted by size**;
# - $\frac{1}{K}\,\nabla L_m$: **divided by K**;
# - $\nabla L_m$: **not divided** at all;
#
# then step once, using the buffer.

# %%
acc = accumulation(backend=backend)  # an equal and an unequal split; shown in the next section
eq, uneq = 0, 1
sizes = acc.micro_batch_sizes[uneq]  # the unequal split, used here for a single update too
n = sum(sizes)
Markdown(f"One batch of {n} examples, and the same {n} split {' + '.join(map(str, sizes))}.")

# %% [markdown]
# **Predict first:** one batch, and the same examples split into unequal
# micro-batches (sizes above). How far from the batch gradient is the sum of the
# micro-batch gradients weighted by size? And the one divided by K?

# %% jupyter={"source_hidden": true}
X, y = make_linear_regression(n_samples=n, n_features=3, seed=3, backend=backend)
model = losskit.LinearRegression(3, seed=0, backend=backend)
mse = losskit.MSELoss()  # mean reduction

batch_grad = model.backward(X, mse.grad(model.forward(X), y))["W"]
ends = np.cumsum(sizes).tolist()
splits = list(zip([0, *ends[:-1]], ends, strict=True))  # (start, stop) of each micro-batch
weighted = 0.0  # the gradient buffer, zeroed once for this update
divided_by_k = 0.0
for start, stop in splits:
    xb, yb = X[start:stop], y[start:stop]
    g = model.backward(xb, mse.grad(model.forward(xb), yb))["W"]
    weighted = weighted + (stop - start) / n * g
    divided_by_k = divided_by_k + g / len(splits)

dev = {
    name: float(backend.to_host(xp.max(xp.abs(acc - batch_grad))))
    for name, acc in [("weighted", weighted), ("divided by K", divided_by_k)]
}
size = float(backend.to_host(xp.max(xp.abs(batch_grad))))
# the claims below: size weights are off by rounding only, division by K by far more
assert dev["weighted"] < 1e-4 * size and dev["divided by K"] > 1e-2 * size
reveal(
    f"Largest entry of the batch gradient: {size:.3f}. Weighted by size: off by "
    f"**{dev['weighted']:.1e}** (rounding). Divided by K: off by **{dev['divided by K']:.3f}**, "
    f"because the {sizes[-1]} examples of the small micro-batch got the weight "
    f"1/{len(sizes)} of the batch instead of {sizes[-1]}/{n}."
    + "\n\n"
    + (
        r"Why the size weights are exact: the batch's mean loss is the sum of all $n$ "
        r"per-example losses over $n$, and micro-batch $m$ holds $n_m L_m$ of that sum, so "
        r"the batch loss is $\sum_m \frac{n_m}{n} L_m$, and its gradient is the weighted "
        r"sum above. Dividing by K instead, each micro-batch counts equally, however many "
        r"examples it holds."
    )
)

# %% [markdown]
# ## Over a whole training run
#
# `accumulation` trains the same model four ways, at every update on the same
# examples: one full batch; accumulated with size weights; accumulated with
# division by K; accumulated without any division. It does this for an equal
# split and an unequal one.

# %%
split_text = [" + ".join(map(str, split)) for split in acc.micro_batch_sizes]
Markdown(f"The splits: equal {split_text[eq]}, unequal {split_text[uneq]}.")

# %% [markdown]
# **Predict first:** for which split does "divide by K" match the full batch?
# And what does "not divided" look like?

# %% jupyter={"source_hidden": true}
rows = "\n".join(
    f"| {' + '.join(map(str, sizes))} | {acc.max_deviation_correct[c]:.1e} "
    f"| {acc.max_deviation_naive[c]:.2g} | {acc.max_deviation_forgot[c]:.2g} |"
    for c, sizes in enumerate(acc.micro_batch_sizes)
)
reveal(
    f"Largest parameter difference from the full-batch run over {acc.n_updates} updates "
    f"(lr = {acc.lr}):\n\n"
    "| micro-batches | weighted by size | divided by K | not divided |\n|---|---|---|---|\n" + rows
)

# %% jupyter={"source_hidden": true}
K_eq = len(acc.micro_batch_sizes[eq])
# the claims below: divide-by-K is right for the equal split only, size weights always; and
# forgetting the division lowers the loss after the first update here
assert acc.max_deviation_naive[eq] < 1e-4 * acc.max_deviation_naive[uneq]
assert acc.max_deviation_correct.max() < 1e-4 * acc.max_deviation_naive[uneq]
assert acc.loss_forgot[eq, 1] < acc.loss_full[eq, 1]
reveal(
    f"Equal split: dividing by K is exactly right (difference {acc.max_deviation_naive[eq]:.1e}). "
    f"Unequal split: it is not ({acc.max_deviation_naive[uneq]:.2g}), while size weights stay "
    f"exact. Forgetting the division ran at {K_eq} times the learning rate for the equal split: "
    f"after one update the training loss is {acc.loss_forgot[eq, 1]:.3f} instead of "
    f"{acc.loss_full[eq, 1]:.3f}. Here the larger step happens to help early on."
)

# %% [markdown]
# When all micro-batches have the same size, $n_m / n = 1/K$: "divide each
# micro-batch loss by K" is the size weight, and only then. Without any division
# the buffer holds $K$ times the batch gradient: the step of a $K$ times larger
# learning rate. And the scaling must be applied to the loss you **differentiate**:
# dividing only the number you print by K leaves the gradient K times too large.
#
# **Predict first:** raise the learning rate to `0.3`, still comfortably stable for
# the full batch. What happens to the run that forgot to divide?

# %% jupyter={"source_hidden": true}
hot = accumulation(lr=0.3, backend=backend)
assert not hot.loss_forgot[eq, -1] < 1e3  # diverged (inf/NaN or huge): what the text says
reveal(
    f"At lr = {hot.lr} the full batch ends at a training loss of {hot.loss_full[eq, -1]:.4f}, "
    f"the size-weighted accumulation at {hot.loss_correct[eq, -1]:.4f}, and the one that forgot "
    f"to divide (effectively lr = {hot.lr * K_eq:g}) at **{hot.loss_forgot[eq, -1]:.3g}**: "
    f"it diverged."
)

# %% [markdown]
# ## In the training loop
#
# `losskit.fit` takes `accumulation_steps=K` and weights micro-batches by size.
#
# **Predict first:** three trainings with the same seed: batch `16`, batch `4` with
# four accumulation steps, batch `8` with two. Same weights at the end?

# %% jupyter={"source_hidden": true}
X, y = make_linear_regression(n_samples=200, n_features=3, seed=0, backend=backend)
final = {}
for batch_size, K in [(16, 1), (4, 4), (8, 2)]:
    model = losskit.LinearRegression(3, seed=0, backend=backend)
    history = losskit.fit(
        model,
        losskit.MSELoss(),
        X,
        y,
        batch_size=batch_size,
        lr=0.05,
        epochs=3,
        accumulation_steps=K,
        seed=0,
    )
    final[(batch_size, K)] = (backend.to_host(model.params["W"]), history.batch_size.tolist())
reference_batch = 16
reference, reference_sizes = final[(reference_batch, 1)]
reveal(
    "\n".join(
        f"- batch {b} × {K} step(s): {len(u)} updates, largest weight difference from batch "
        f"{reference_batch}: {np.max(np.abs(w - reference)):.1e}"
        for (b, K), (w, u) in final.items()
    )
)

# %% jupyter={"source_hidden": true}
N = X.shape[0]
worst = max(float(np.max(np.abs(w - reference))) for w, _ in final.values())
rounding = 1000 * float(np.finfo(reference.dtype).eps) * float(np.max(np.abs(reference)))
# the claims below: every run makes the same updates on the same numbers of examples, and
# ends with the same weights up to rounding
assert all(u == reference_sizes for _, u in final.values()) and worst <= rounding
reveal(
    f"Yes: the largest difference is {worst:.1e}, "
    f"{'bit for bit the same' if worst == 0 else 'rounding'}. Every run makes "
    f"{len(reference_sizes)} updates, and update by update they use the same examples: the "
    f"seed fixes one order of the {N} examples whatever the batch size, and K micro-batches "
    f"of {reference_batch} / K examples are the {reference_batch} examples of one batch. Even "
    f"the short group matches: {N} = {N // reference_batch} × {reference_batch} + "
    f"{N % reference_batch}, and each epoch's last update takes the {N % reference_batch} "
    f"left over in every run. With size weights the accumulated gradient is that batch's "
    f"gradient, so each update is the same update."
)

# %% [markdown]
# ## Try it
#
# The panel runs both splits: an equal one (micro-batch size × K) and an unequal
# one (first + second); "stress" picks the accumulation drawn in full. It starts
# with 15 updates, to answer faster; **as in the text above** sets the text's 40.
#
# **Predict first:** make the unequal split lopsided (first large, second
# small) and pick "divided by K": how far does it drift from the full batch?
# Then raise the learning rate with the forgotten division: when does it blow up?

# %%
from losskit.widgets import AccumulationPanel

panel = AccumulationPanel(backend=backend)
display(panel)

# %% [markdown]
# ## What to remember
#
# - Zero the gradient once per update, not once per micro-batch.
# - Weight each micro-batch's mean loss by its share of the examples, $n_m / n$;
#   that is $1/K$ only when the micro-batches are equal.
# - Scale the loss you differentiate, not just the one you print.
#
# Next: [Lesson 7 — training vs validation](07_train_vs_validation.ipynb).
