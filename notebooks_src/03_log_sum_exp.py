# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 3 — The log-sum-exp trick
#
# Cross-entropy starts from **logits** $z$ and needs log-probabilities,
# $\log \mathrm{softmax}(z)_i = z_i - \log \sum_j e^{z_j}$. Written the textbook
# way, `log(exp(z) / sum(exp(z)))`, it breaks on perfectly ordinary logits:
# `exp` overflows to `inf`, and `inf / inf` is `NaN`. This lesson finds where it
# breaks in each floating-point type, and shows the one-line fix every library uses.
#
# The first cell picks live figures (ipympl) when available and the array
# backend: NumPy on a laptop, CuPy on a GPU hub.

# %%
import numpy as np
from IPython.display import Markdown, display

import losskit
from losskit.widgets import reveal, use_live_figures

use_live_figures()  # ipympl in JupyterLab and Voila, else images that update
backend = losskit.get_backend()
xp = backend.xp
Markdown(f"Computing with **{backend.name}** (GPU: {backend.is_gpu}).")

# %% [markdown]
# ## Where does `exp` overflow?
#
# `exp(x)` is finite only while it stays below the largest number the type can
# hold, so the limit is $x = \log(\text{max})$.
#
# **Predict first:** float16 tops out in the tens of thousands, float32 near
# $10^{38}$, float64 near $10^{308}$. Roughly what is the largest logit each one
# can exponentiate: tens, hundreds, thousands?

# %% jupyter={"source_hidden": true}
from decimal import Decimal

from losskit.experiments import lse_overflow

overflow = lse_overflow(backend=backend)  # naive vs stable over a grid of logit scales
names = list(overflow.dtypes)
threshold = {name: float(np.log(float(np.finfo(name).max))) for name in names}  # in float64
reveal(
    "| dtype | largest value `finfo.max` | overflow threshold `log(max)` "
    "| largest x with finite exp(x) | exp of it, in that dtype |\n|---|---|---|---|---|\n"
    + "\n".join(
        f"| {name} | {float(np.finfo(name).max):.5g} | {threshold[name]:.2f} "
        f"| {float(overflow.exp_limit[name]):.6g} | {float(overflow.exp_at_limit[name]):.5g} |"
        for name in names
    )
)

# %% jupyter={"source_hidden": true}
x16, x32 = overflow.exp_limit["float16"], overflow.exp_limit["float32"]
# the claim below: the largest safe float32 input is the last float32 under log(max)
next32 = np.nextafter(np.float32(x32), np.float32(np.inf))
assert float(x32) < threshold["float32"] < float(next32)
reveal(
    f"So `exp` overflows past **{threshold['float16']:.2f}** in float16, "
    f"**{threshold['float32']:.2f}** in float32 and **{threshold['float64']:.2f}** in float64. "
    f"The largest float32 input with a finite exp is, exactly, {Decimal(float(x32))} (every "
    f"binary float is a finite decimal): the last float32 below log(max) = "
    f"{threshold['float32']:.10g}. In float16 the last safe input is {float(x16)!r}, and its "
    f"exp is "
    f"{float(overflow.exp_at_limit['float16']):.0f}, just under the maximum "
    f"{float(np.finfo(np.float16).max):.0f}. "
    f"A logit of a dozen is nothing unusual, yet float16 cannot exponentiate it."
)

# %% [markdown]
# ## Naive log-softmax against the stable one
#
# `losskit.naive_log_softmax` is the textbook formula, kept on purpose for this
# demonstration; `losskit.log_softmax` is the stable one.
#
# **Predict first:** for the logits `[100, 200, 300]`, what will the naive formula
# give in float16, float32 and float64? What should the answer be? (Hint: the
# differences between the logits are what matter.)

# %% jupyter={"source_hidden": true}
logits = [100.0, 200.0, 300.0]
rows = []
for name in ["float16", "float32", "float64"]:
    z = backend.asarray(logits, dtype=getattr(xp, name))
    naive = backend.to_host(losskit.naive_log_softmax(z))
    stable = backend.to_host(losskit.log_softmax(z))
    rows.append(f"| {name} | `{naive}` | `{stable}` |")
reveal("| dtype | naive | stable |\n|---|---|---|\n" + "\n".join(rows))

# %% jupyter={"source_hidden": true}
with np.errstate(over="ignore"):
    exp300 = np.exp(np.float64(300.0))
big = backend.asarray([1000.0, 2000.0, 3000.0], dtype=xp.float64)
small16 = backend.asarray([10.0, 11.0, 12.0], dtype=xp.float16)
z64 = backend.asarray(logits, dtype=xp.float64)
# the claims below: float64 survives [100, 200, 300], breaks at [1000, 2000, 3000] (the stable
# version does not), and float16 already breaks at [10, 11, 12]
assert np.isfinite(backend.to_host(losskit.naive_log_softmax(z64))).all()
assert not np.isfinite(backend.to_host(losskit.naive_log_softmax(big))).all()
assert np.isfinite(backend.to_host(losskit.log_softmax(big))).all()
assert not np.isfinite(backend.to_host(losskit.naive_log_softmax(small16))).all()
reveal(
    f"The right answer is `{backend.to_host(losskit.log_softmax(backend.asarray(logits)))}`: "
    f"only the differences matter. float64 survives `[100, 200, 300]` because "
    f"exp(300) = {exp300:.4g} is still finite there, but it breaks too at "
    f"`[1000, 2000, 3000]`: naive `{backend.to_host(losskit.naive_log_softmax(big))}`, "
    f"stable `{backend.to_host(losskit.log_softmax(big))}`. float16 already fails at "
    f"`[10, 11, 12]`: naive `{backend.to_host(losskit.naive_log_softmax(small16))}`."
)

# %% [markdown]
# ## Why subtracting the maximum is allowed
#
# For any constant $m$,
#
# $$\frac{e^{z_i}}{\sum_j e^{z_j}} = \frac{e^{-m}\,e^{z_i}}{e^{-m}\sum_j e^{z_j}}
#   = \frac{e^{z_i - m}}{\sum_j e^{z_j - m}},
# \qquad
# \log\sum_j e^{z_j} = m + \log\sum_j e^{z_j - m}.$$
#
# This is exact algebra, not an approximation: numerator and denominator are
# scaled by the same $e^{-m}$. Choosing $m = \max_j z_j$ makes the largest
# exponent $e^0 = 1$, so nothing can overflow, and the sum is at least $1$, so
# its log is never $-\infty$.

# %% [markdown]
# ## The other side: underflow
#
# **Predict first:** the logits `[-100, -200, -300]` in float32. Nothing
# overflows now. Will the naive formula be right?

# %% jupyter={"source_hidden": true}
neg = backend.asarray([-100.0, -200.0, -300.0], dtype=xp.float32)
naive_neg = backend.to_host(losskit.naive_log_softmax(neg))
stable_neg = backend.to_host(losskit.log_softmax(neg))
assert np.isneginf(naive_neg).any() and np.isfinite(stable_neg).all()  # the text below
reveal(
    f"Naive: `{naive_neg}`. Stable: `{stable_neg}`. In float32 `exp(-200)` underflows "
    f"to 0 (the smallest positive float32 is about "
    f"{float(np.finfo(np.float32).smallest_subnormal):.1e}), "
    f"so the naive log-probabilities become `-inf`: a loss of infinity for a class "
    f"that is merely unlikely. The stable version never takes the log of a rounded-away "
    f"probability."
)

# %% [markdown]
# ## Try it: the overflow panel
#
# The panel builds logits `s × pattern` and sweeps the scale `s`, computing the
# naive and the stable log-softmax (and the cross-entropy of the least likely
# class) in the dtype you pick. The figure sweeps `s` from 1 up to the slider (a
# grey line): once you drag past a break, an X marks where the naive curve first
# returned NaN or inf and a dotted line the scale where `exp` overflows. The readout
# gives both outputs at the slider's scale and, once the slider has reached the
# break, the scale where the naive one first broke; below it the readout only says
# "not yet: keep increasing s".
#
# **Predict first:** with the pattern `1, 2, 3` in float32, at what scale will the
# naive curve break? Use the thresholds above. Then switch to float16 and to
# float64 and predict again before you look.

# %%
from losskit.widgets import LSEOverflowPanel

panel = LSEOverflowPanel(backend=backend)
display(panel)

# %% jupyter={"source_hidden": true}
# The question's pattern, answered from `overflow`, the default run of the experiment at
# the top of this lesson (not from the panel, whose state changes with its controls).
top = float(overflow.pattern.max())
pattern_text = ", ".join(f"{v:g}" for v in overflow.pattern)
start = ", ".join(
    f"s = {overflow.first_failure[name]:.4g} in {name} "
    f"(log(max) / {top:g} = {overflow.exp_threshold_scale[name]:.4g})"
    for name in overflow.dtypes
)
gap = {
    name: 1 - overflow.threshold_scale[name] / overflow.exp_threshold_scale[name]
    for name in overflow.dtypes
}
# the claims below: each dtype breaks (on the grid) next to log(max) / top; the sum overflows
# before the largest term alone, visibly only in float16; the stable curve never breaks
assert all(
    abs(overflow.first_failure[name] / overflow.exp_threshold_scale[name] - 1) < 5e-3
    for name in overflow.dtypes
)
assert gap["float16"] > 1e-3 and all(gap[n] < 1e-9 for n in overflow.dtypes if n != "float16")
assert overflow.stable_finite.all()
reveal(
    f"With the pattern `{pattern_text}` (the one in the question) the naive version first "
    f"breaks, on the sweep's grid of scales, at {start}: where exp of the largest logit, "
    f"{top:g}s, overflows. Strictly it breaks where the *sum* of the exponentials "
    f"overflows, a hair earlier. Only float16 shows the difference: there the sum reaches the "
    f"maximum at s = {overflow.threshold_scale['float16']:.4g}, the largest term alone at "
    f"{overflow.exp_threshold_scale['float16']:.4g}. "
    f"The stable curve never breaks. Choose the pattern `−1, −2, −3` to see the underflow side: "
    f"nothing overflows there, and the naive version fails by rounding small probabilities to 0."
)

# %% [markdown]
# ## Binary cross-entropy: probabilities or logits?
#
# Binary cross-entropy comes in two forms. `BCELoss` takes probabilities, so the
# model applies a sigmoid first; `BCEWithLogitsLoss` takes the logit itself.
#
# **Predict first:** a logit of `20` for a sample whose label is 0. The true
# loss is $\log(1 + e^{20}) \approx 20$. What will `BCELoss(sigmoid(20), 0)` report
# in float32? And `BCEWithLogitsLoss(20, 0)`?

# %% jupyter={"source_hidden": true}
x = backend.asarray([20.0], dtype=xp.float32)
y = backend.asarray([0.0], dtype=xp.float32)
prob = losskit.sigmoid(x)  # the model's sigmoid output, in float32
bce_probs = float(backend.to_host(losskit.BCELoss()(prob, y)))
bce_logits = float(backend.to_host(losskit.BCEWithLogitsLoss()(x, y)))

# Where float32 sigmoid first rounds to exactly 1.
grid = backend.asarray(np.arange(0.0, 40.0, 0.25), dtype=xp.float32)
saturated = backend.to_host(losskit.sigmoid(grid) == 1.0)
first_one = float(backend.to_host(grid)[np.argmax(saturated)])
assert float(backend.to_host(prob)[0]) == 1.0  # the text below
assert bce_probs == 100.0 and abs(bce_logits - 20.0) < 1e-3
reveal(
    f"float32 `sigmoid(20)` = {float(backend.to_host(prob)[0])!r}, exactly 1, so `BCELoss` "
    f"needs $\\log(1 - 1) = -\\infty$; PyTorch and losskit clamp each log term at $-100$, so it "
    f"reports **{bce_probs:g}**. `BCEWithLogitsLoss(20, 0)` reports **{bce_logits:.6g}**, the "
    f"true value: it never forms the probability, and computes $\\log(1 + e^{{x}}) - x\\,y$ "
    f"with the log-sum-exp trick. On a grid of quarter steps, float32 sigmoid first rounds "
    f"to 1 at x = {first_one:g}. Pass logits, not probabilities, whenever the library offers it."
)

# %% [markdown]
# ## What to remember
#
# - `exp` overflows past $\log(\text{max})$ of the dtype; the table above gives
#   the three thresholds, computed from `np.finfo`.
# - Never compute `log(softmax(z))` as written. Subtract the row maximum
#   (`losskit.logsumexp`, `losskit.log_softmax`): exact algebra, no overflow, no
#   underflow to `-inf`.
# - The same holds for binary losses: feed logits to `BCEWithLogitsLoss`.
#
# Next: [Lesson 4 — gradient noise and batch size](04_gradient_noise.ipynb).
