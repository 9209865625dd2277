# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 8 — Cross-entropy at scale, and summing many numbers
#
# Two costs hide inside "compute the loss and average it". Cross-entropy over a
# large vocabulary needs a (batch × classes) array of logits, and the textbook
# forward makes several more copies of it. And averaging many numbers in
# float32 is not as innocent as it looks.

# %%
from functools import partial

import numpy as np
from IPython.display import Markdown, display

import losskit
from losskit.experiments import ce_memory, summation_precision
from losskit.widgets import reveal, use_live_figures

use_live_figures()  # ipympl in JupyterLab and Voila, else images that update
backend = losskit.get_backend()
xp = backend.xp
# powers of ten written as 1e-8, not 1e-08
sci = partial(np.format_float_scientific, exp_digits=1, trim="-")
Markdown(f"Computing with **{backend.name}** (GPU: {backend.is_gpu}).")

# %% [markdown]
# ## How big is one batch of logits?
#
# A language model with a vocabulary of tens of thousands of tokens produces, for
# every position in the batch, one logit per token. Cross-entropy is
# $O(B \cdot C)$ in time *and* memory.
#
# **Predict first:** a batch of `128` rows over `50,000` classes in float32. How many
# MiB does the logits array take? And the textbook forward, which keeps the
# logits, `softmax(logits)` and `log(softmax)` alive together?

# %% jupyter={"source_hidden": true}
mem = ce_memory()  # float32 (128, 50000): computed from shapes, and measured with tracemalloc
MiB = 2**20
reveal(
    f"One float32 array of shape ({mem.batch_size}, {mem.n_classes:,}) is "
    f"{mem.batch_size:,} × {mem.n_classes:,} × {mem.itemsize} bytes = "
    f"**{mem.bytes_logits:,} bytes = {mem.bytes_logits / MiB:.2f} MiB** "
    f"({mem.bytes_logits / 1e6:.1f} MB). Logits + softmax + log-softmax: "
    f"**{mem.bytes_naive_total / MiB:.2f} MiB**."
)

# %% [markdown]
# That is per batch, per forward, before the gradient (another $B \times C$
# array). Now measure what each way of computing the loss really allocates:
# the naive `log(softmax)`, the stable `log_softmax` (max-shifted, but still
# full-width temporaries), and a **streaming** log-sum-exp that reads the
# classes in chunks and keeps only a running maximum and a running sum per row.

# %%
losses = [mem.loss_naive, mem.loss_stable, mem.loss_streaming]
assert max(losses) - min(losses) < 1e-4 * max(losses)  # "all three agree on the loss" (below)
rows = [
    ("naive: softmax then log", mem.measured_naive_bytes, mem.loss_naive),
    ("stable log_softmax", mem.measured_stable_bytes, mem.loss_stable),
    (f"streaming, chunks of {mem.chunk_size}", mem.measured_streaming_bytes, mem.loss_streaming),
]
Markdown(
    "| forward | peak memory incl. logits (MiB) | mean cross-entropy |\n|---|---|---|\n"
    + "\n".join(f"| {name} | {peak / MiB:.2f} | {loss:.6f} |" for name, peak, loss in rows)
    + f"\n\nStreaming adds about {mem.bytes_streaming_working / MiB:.2f} MiB of working memory "
    f"to the logits, and all three agree on the loss."
)

# %% [markdown]
# Streaming works because log-sum-exp can be updated one chunk at a time: keep
# the running maximum $m$ and the running sum $s = \sum e^{x - m}$, and when a new
# chunk raises the maximum to $m'$, rescale the old sum by $e^{m - m'}$. This is
# the same max-shift as in lesson 3, applied incrementally.
#
# **Predict first:** will the chunked result differ from the one-shot
# `logsumexp`, and by how much?

# %% jupyter={"source_hidden": true}
rng = np.random.default_rng(0)
z = backend.asarray(rng.standard_normal((64, 20_000)) * 5, dtype=xp.float32)
one_shot = losskit.logsumexp(z)
chunked = losskit.streaming_logsumexp(z, chunk_size=1024)
diff = float(backend.to_host(xp.max(xp.abs(one_shot - chunked))))
rel = diff / float(backend.to_host(xp.max(xp.abs(one_shot))))
assert rel < 100 * float(np.finfo(np.float32).eps)  # rounding only (the text below)
reveal(
    f"Largest difference over {z.shape[0]} rows of {z.shape[1]:,} float32 logits: "
    f"{sci(diff, precision=2)} (relative {sci(rel, precision=1)}; float32 resolution is "
    f"{sci(float(np.finfo(np.float32).eps), precision=1)}): "
    f"rounding only. Production kernels go further: they fuse the forward with the "
    f"gradient and never write the softmax out at all."
)

# %% [markdown]
# ## Summing many numbers
#
# Averaging a loss means summing it first, and a float32 number carries about
# seven significant digits.
#
# **Predict first:** in float32, is `1 + 1e-8` equal to `1`? Then: start a
# running float32 total at `1.0` and add `1e-8` a million times. What is the total?
# What should it be?

# %% jupyter={"source_hidden": true}
prec = summation_precision()  # float32; every method of losskit's summation module
one, tiny = np.float32(1.0), np.float32(prec.small)  # the small term: float32(1e-8)
k = len(prec.n_values) - 1  # the longest case
n = int(prec.n_values[k])
m = {name: i for i, name in enumerate(prec.methods)}
# the claims below: 1 + 1e-8 rounds to 1 in float32, so the running sum never moves off 1.0
assert one + tiny == one and prec.results[0, m["sequential"], k] == 1.0
reveal(
    f"`np.float32(1) + np.float32(1e-8) == 1` is **{bool(one + tiny == one)}**: "
    f"float32 spacing near 1 is {sci(float(np.spacing(one)), precision=2)}, far larger than "
    f"{sci(float(tiny), precision=1)}. So a running sum of 1.0 followed by {n:,} copies of "
    f"{sci(float(tiny), precision=1)} gives "
    f"**{prec.results[0, m['sequential'], k]:.6f}**; the exact total is "
    f"{prec.exact[0, k]:.6f}. Adding a small number to a large one can lose the small one "
    f"completely, every time."
)

# %% jupyter={"source_hidden": true}
labels = {
    "sequential": "running sum, left to right (`sum_sequential`)",
    "pairwise": "pairwise tree (`sum_pairwise`)",
    "kahan": "compensated, Kahan (`sum_kahan`)",
    "float64": "accumulate in float64 (`sum_float64`)",
    "xp.sum": f"the backend's own sum (`{prec.backend}.sum`)",
}
reveal(
    f"| method | 1.0 + {n:,} × {sci(float(prec.small), precision=1)} "
    f"| {n:,} × float32({float(prec.value):.1g}) | error on the second (absolute) |\n"
    "|---|---|---|---|\n"
    + "\n".join(
        f"| {labels[name]} | {prec.results[0, i, k]:.6f} | {prec.results[1, i, k]:,.2f} "
        f"| {prec.abs_error[1, i, k]:+.4g} |"
        for name, i in m.items()
    )
    + f"\n| exact | {prec.exact[0, k]:.6f} | {prec.exact[1, k]:,.2f} | |"
)

# %% jupyter={"source_hidden": true}
seq = prec.results[1, m["sequential"], k]
# the claims below: the running sum drifts; the backend's (pairwise) sum stays close
assert abs(prec.abs_error[1, m["xp.sum"], k]) < 0.01 < abs(prec.abs_error[1, m["sequential"], k])
reveal(
    f"A million copies of float32({float(prec.value):.1g}) summed one by one give **{seq:,.2f}** "
    f"({prec.rel_error[1, m['sequential'], k]:+.2%}): as the total grows, each addition rounds "
    f"at the total's scale. NumPy's `sum` on a contiguous array is pairwise underneath and "
    f"lands within {abs(prec.abs_error[1, m['xp.sum'], k]):.3f} of the exact "
    f"{prec.exact[1, k]:,.2f}. The cures: add in a tree (error grows like log n, not n), "
    f"carry the lost low bits (Kahan), or accumulate in a wider type."
)

# %% [markdown]
# ## Try it: memory and precision side by side
#
# **Predict first:** double "classes C": what happens to the three full copies,
# and to the streaming working set? Set "terms up to n" to its smallest value,
# then raise it step by step to its largest: which summation method's error
# keeps growing, and which stay flat? Switch the dtype to float16. The button
# **as in the text above** sets the text's n, a million terms.

# %%
from losskit.widgets import PrecisionMemoryPanel

panel = PrecisionMemoryPanel(backend=backend)
display(panel)

# %% [markdown]
# ## What to remember
#
# - Cross-entropy memory is $B \times C \times$ itemsize per copy; the textbook
#   forward keeps three copies, streaming log-sum-exp keeps a few chunks.
# - A running float32 sum stops growing once the total dwarfs the terms. Sum in
#   a tree (NumPy does), compensate (Kahan), or accumulate in float64.
#
# Back to the [tour](00_tour.ipynb).
