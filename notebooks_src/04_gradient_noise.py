# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 4 — Gradient noise and batch size
#
# The gradient of a mini-batch loss is an **estimate** of the gradient of the
# loss over the whole dataset: right on average (unbiased), but noisy. The batch
# size sets how noisy. This lesson measures that noise, checks it against the
# sampling formula, and looks at what it means for training.

# %%
import numpy as np
from IPython.display import Markdown, display

import losskit
from losskit.experiments import batch_size_sweep, ce_memory, gradient_noise
from losskit.widgets import reveal, use_live_figures

use_live_figures()  # ipympl in JupyterLab and Voila, else images that update
backend = losskit.get_backend()
Markdown(f"Computing with **{backend.name}**, default dtype {backend.default_dtype.__name__}.")

# %% [markdown]
# ## How noisy is a mini-batch gradient?
#
# Let $g_i$ be the gradient of example $i$'s loss and $G$ their mean over all $N$
# examples (the full-batch gradient). A batch of $B$ examples averages $B$ of the
# $g_i$; call that average $g_B$. How far it lands from $G$ is measured by the
# total variance $\mathbb{E}\,\lVert g_B - G\rVert^2$. The batch can be drawn
# **without replacement** (distinct examples, as a data loader does) or **with**
# replacement (the same example may come twice).
#
# **Predict first:** if you multiply the batch size by ten, by how much does the
# variance fall? What is it at $B = N$, without replacement and with it?

# %% jupyter={"source_hidden": true}
noise = gradient_noise(backend=backend)  # linear regression, MSE; thousands of random batches
B = noise.batch_sizes
rows = "\n".join(
    f"| {b:,} | {m:.4g} | {t:.4g} | {f'{m / t:.3f}' if t > 0 else '— (both exactly 0)'} "
    f"| {wr:.4g} | {wrm:.4g} |"
    for b, m, t, wr, wrm in zip(
        B,
        noise.measured_variance,
        noise.theory_variance,
        noise.with_replacement_variance,
        noise.with_replacement_measured,
        strict=True,
    )
)
reveal(
    f"N = {noise.n_samples:,} examples, {noise.n_draws:,} random batches per size; the "
    "formula is explained below the table.\n\n"
    "| B | measured, without replacement | formula | measured / formula "
    "| formula, with replacement | measured, with replacement |\n|---|---|---|---|---|---|\n" + rows
    + "\n\n"
    + (
        r"The formula: the deviations $g_i - G$ average to zero, and the variance of an "
        r"average of $B$ of them is" "\n\n"
        r"$$\mathbb{E}\,\lVert g_B - G\rVert^2 = \frac{\sigma^2}{B}\cdot\frac{N - B}{N - 1}," "\n"
        r"\qquad \sigma^2 = \frac{1}{N}\sum_i \lVert g_i - G\rVert^2 ,$$" "\n\n"
        r"without replacement, and $\sigma^2 / B$ with replacement. The second factor is "
        r"the finite-population correction: once the batch is the whole dataset there is "
        r"nothing left to vary, while drawing with replacement still repeats some examples "
        r"and omits others."
    )
)

# %% jupyter={"source_hidden": true}
ratio = noise.measured_variance[:-1] / noise.theory_variance[:-1]
z = np.abs(noise.measured_variance - noise.theory_variance)[:-1] / noise.measured_variance_se[:-1]
i10 = int(np.searchsorted(B, 10))
i100 = int(np.searchsorted(B, 100))
# the claims below: formula and measurement agree within Monte-Carlo error; at B = N the
# variance is exactly 0 without replacement, but not with replacement
assert z.max() < 4 and noise.measured_variance[-1] == 0 == noise.theory_variance[-1]
assert noise.with_replacement_measured[-1] > 0
reveal(
    f"Measured and formula agree within Monte-Carlo error: ratios from {ratio.min():.3f} to "
    f"{ratio.max():.3f}, at most {z.max():.1f} standard errors apart. From B = {B[i10]} to "
    f"B = {B[i100]} the variance falls by a factor "
    f"{noise.measured_variance[i10] / noise.measured_variance[i100]:.1f}; its square root, the "
    f"standard deviation of the batch gradient, falls only by a factor "
    f"{np.sqrt(noise.measured_variance[i10] / noise.measured_variance[i100]):.1f}. At "
    f"B = N = {B[-1]:,} the variance is exactly **{noise.measured_variance[-1]:g}** without "
    f"replacement, measured and formula alike, but still "
    f"{noise.with_replacement_measured[-1]:.3g} with replacement (repeats and omissions)."
)

# %% [markdown]
# ## When is a batch "big enough"? The noise scale
#
# Noise only matters relative to the signal. McCandlish et al. (2018) compare the
# two with the **simple noise scale** $B_\text{simple} = \mathrm{tr}(\Sigma) / \lVert G\rVert^2$.
# Batches well below it give nearly independent information per example; batches
# well above it spend extra examples to remove noise that no longer limits
# progress. (Two mini-batch sizes suffice to estimate it during real training.)
#
# **Predict first:** near the optimum the full gradient $G$ shrinks but the
# per-example gradients do not vanish. Does the noise scale rise or fall as
# training progresses?

# %% jupyter={"source_hidden": true}
late = gradient_noise(progress=0.95, backend=backend)
# the claims below: near the optimum |G| drops and B_simple rises
assert late.full_gradient_norm < noise.full_gradient_norm and late.noise_scale > noise.noise_scale
reveal(
    f"At the start of training (`progress=0`) B_simple = **{noise.noise_scale:.3g}**: "
    f"|G| = {noise.full_gradient_norm:.3g}, tr(Σ) = {noise.trace_sigma:.3g}. Near the optimum "
    f"(`progress=0.95`) |G| drops to {late.full_gradient_norm:.3g} and B_simple rises to "
    f"**{late.noise_scale:.3g}**: the useful batch size grows as training goes on."
)

# %% [markdown]
# ## What the noise does to training
#
# The same model trained with different batch sizes, the same number of epochs
# and learning rate, several seeds each.
#
# **Predict first:** which batch size makes the most updates per epoch? Which
# has the most jagged per-update loss? Which ends lowest after the same number
# of epochs?

# %% jupyter={"source_hidden": true}
sweep = batch_size_sweep(backend=backend)
rows = "\n".join(
    f"| {b} | {u:,} | {j:.3f} | {np.mean(f):.4f} |"
    for b, u, j, f in zip(
        sweep.batch_sizes, sweep.updates_per_epoch, sweep.jitter, sweep.final_loss, strict=True
    )
)
reveal(
    f"N = {sweep.n_samples:,}, {sweep.epochs} epochs, lr = {sweep.lr}, {len(sweep.seeds)} seeds; "
    f"the best reachable MSE is {sweep.optimal_loss:.4f}.\n\n"
    "| B | updates per epoch | jitter of the per-update loss (last epoch) "
    "| final training-set loss (mean over seeds) |\n|---|---|---|---|\n" + rows
)

# %% jupyter={"source_hidden": true}
small, large = 0, len(sweep.batch_sizes) - 1
final = sweep.final_loss.mean(axis=1)
assert final[large] < final[small] and sweep.jitter[large] < sweep.jitter[small]  # the prose below
reveal(
    f"B = {sweep.batch_sizes[small]} makes {sweep.updates_per_epoch[small]:,} updates per epoch, "
    f"and its per-update losses jitter by {sweep.jitter[small]:.3f}; B = "
    f"{sweep.batch_sizes[large]} makes {sweep.updates_per_epoch[large]:,} smooth ones (jitter "
    f"{sweep.jitter[large]:.3f}). More updates did not mean a lower loss here: at a fixed "
    f"learning rate the noisy single-example steps keep bouncing around the optimum and end at "
    f"{final[small]:.4f}, while B = {sweep.batch_sizes[large]} settles at {final[large]:.4f}, "
    f"the floor being {sweep.optimal_loss:.4f}. The price of the large batch is compute per "
    f"step (and memory), and on harder problems, fewer updates for the same work."
)

# %% [markdown]
# Larger batches also cost memory. Activations and the loss's intermediate arrays
# grow linearly with $B$; the parameters do not.
#
# **Predict first:** how much memory do the logits of a classifier with `1,000`
# classes take at batch `32`, and at batch `256`?

# %% jupyter={"source_hidden": true}
mem = {b: ce_memory(batch_size=b, n_classes=1000, measure=False) for b in (32, 256)}
reveal(
    " and ".join(f"{m.bytes_logits / 2**20:.3f} MiB at B = {b}" for b, m in mem.items())
    + f" (float32): a factor {mem[256].bytes_logits / mem[32].bytes_logits:.0f}, the batch ratio. "
    "The weight matrix is the same size at every batch size."
)

# %% [markdown]
# ## Try it: gradient noise against batch size
#
# Left: the measured variance over the formula, with your batch size ringed.
# Right: the whole-data loss per epoch for B = 1, your B and B = N, as bands
# over several seeds.
#
# The panel starts from smaller, faster settings than the text above (a smaller
# N, fewer draws, seeds and epochs), so its numbers differ: after a few epochs
# B = N has made only a few updates and is still far above the others. The button
# **as in the text above** sets the text's settings and shows its numbers.
#
# **Predict first:** drag "batch size B" up to "dataset size N". Where does the
# ringed point end up on the variance plot? Which loss band is the widest, and
# which one makes the fastest progress per epoch? Then shrink N and predict again.

# %%
from losskit.widgets import GradientNoisePanel

panel = GradientNoisePanel(backend=backend)
display(panel)

# %% [markdown]
# ## What to remember
#
# - A mini-batch gradient is unbiased; its variance is σ²/B · (N − B)/(N − 1)
#   without replacement (σ²/B with it). Ten times the batch gives about a tenth
#   of the variance (while B ≪ N); the standard deviation, the typical size of
#   the noise, falls only like 1/√B.
# - Small batches: many cheap noisy steps. Large batches: few smooth expensive
#   ones, and memory that grows with B. In practice the sweet spot is usually
#   somewhere between a few and a few hundred.
# - The noise scale says when a bigger batch stops helping, and it grows during
#   training.
#
# Next: [Lesson 5 — sum vs mean and the learning rate](05_sum_vs_mean.ipynb).
