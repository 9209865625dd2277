"""Lesson 3 panel: drag the logit scale and watch naive log(softmax) break where exp overflows."""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from ..experiments.lse_overflow import default_scales, lse_overflow
from ..plots import plot_lse_overflow
from ._base import Panel

__all__ = ["LSEOverflowPanel"]

PATTERNS = {
    "1, 2, 3": (1.0, 2.0, 3.0),
    "10, 11, 12": (10.0, 11.0, 12.0),
    "−1, −2, −3 (underflow)": (-1.0, -2.0, -3.0),
}
DTYPE_CHOICES = {
    "float16": ("float16",),
    "float32": ("float32",),
    "float64": ("float64",),
    "all three": ("float16", "float32", "float64"),
}


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in np.asarray(values, dtype=float)) + "]"


NOT_YET = "not yet: keep increasing s"


def _why(logits, naive, name) -> str:
    """Why naive ``log(exp(z) / sum(exp(z)))`` of ``logits`` (as dtype ``name`` stores them)
    gives ``naive``, read from the values: overflow or underflow, and -inf or NaN.

    A probability of 0 (an exp rounded to 0, or a finite exp over an infinite sum)
    gives log 0 = -inf; inf / inf (an exp that overflowed) and 0 / 0 (every exp
    rounded to 0) give NaN.
    """
    with np.errstate(all="ignore"):
        e = np.exp(np.asarray(logits).astype(name))
        total = e.sum(dtype=name)
    n, over, zero = e.size, int(np.isinf(e).sum()), int((e == 0).sum())
    causes = []
    if over:
        causes.append(f"exp overflows to inf in {name} for {over} of {n} logits")
    elif np.isinf(total):
        causes.append(f"every exp is finite in {name} but their sum overflows to inf")
    if zero == n:
        causes.append(f"every exp rounds to 0 in {name} (underflow)")
    elif zero:
        causes.append(f"exp rounds to 0 in {name} for {zero} of {n} logits (underflow)")
    effects = []
    if np.isnan(naive).any():
        effects.append(
            "softmax divides 0 by 0: NaN" if total == 0 else "softmax divides inf by inf: NaN"
        )
    if np.isneginf(naive).any():
        effects.append("a probability of 0, and log 0 = -inf")
    return ", ".join(causes or ["no exp left the range"]) + "; so " + " and ".join(effects)


def _breaks(r, i, j, sweep_end) -> str:
    """Where naive log(softmax) first failed in the ``i``-th dtype up to grid point ``j``
    (the slider), and why, from the values there; then why it fails at ``j`` when that
    differs (one exp lost first, every one later).

    Said only once the slider has reached the first failure: the lesson asks the
    student to predict it ("not yet" before). The overflow side adds the theory
    (``threshold_scale``: NaN when no logit is positive, then there is none).
    """
    name = r.dtypes[i]
    bad = ~np.asarray(r.naive_finite[i, : j + 1], dtype=bool)
    if not bad.any():
        return "never on this sweep" if r.scales[j] >= sweep_end else NOT_YET
    k = int(np.argmax(bad))
    first = _why(r.logits[i, k], r.naive_log_softmax[i, k], name)
    text = f"from s = {r.scales[k]:.4g} on the grid: {first}"
    theory = r.threshold_scale[name]
    if np.isfinite(theory):
        text += (
            f" (theory: sum of exp reaches max at s = {theory:.4g}; "
            f"log max = {r.log_max[name]:.2f})"
        )
    now = _why(r.logits[i, j], r.naive_log_softmax[i, j], name)
    if j != k and now != first:
        text += f". Here, at s = {r.scales[j]:.4g}: {now}"
    return text


class LSEOverflowPanel(Panel):
    """Logits ``s × pattern`` in one dtype: naive ``log(softmax)`` vs the max-shifted one.

    Controls: ``scale`` (logit scale s, 1 to 10^5, log slider), ``dtype``
    (float16/32/64 or all three), ``method`` (naive, stable or both curves),
    ``pattern`` (the logit shape; the negative one shows underflow). The figure
    sweeps the scale (``lse_overflow``) with the chosen scale marked; the readout
    gives both outputs at that scale and, once the scale has reached it, where
    the naive one first breaks in each dtype. The panel starts at s = 2, below
    every dtype's break: the lesson asks the student to predict it, then find it.
    Logits beyond the dtype's range (float16 past 65504) are rejected with the
    experiment's message.
    """

    title = "The log-sum-exp trick: where naive log(softmax) overflows"
    lesson = (
        "Lesson 3 · logits = s × pattern; predict, then drag s up: "
        "where does naive log(softmax) break?"
    )
    figsize = (13.0, 4.8)

    def make_controls(self):
        wide = {"description_width": "initial"}
        return {
            "scale": W.FloatLogSlider(
                value=2.0,  # below every dtype's break: the student finds it
                base=10,
                min=0,
                max=5,
                step=0.02,
                description="logit scale s",
                readout_format=".4g",
                continuous_update=True,
                style=wide,
                layout=W.Layout(width="380px"),
            ),
            "dtype": W.Dropdown(
                options=list(DTYPE_CHOICES), value="float32", description="dtype", style=wide
            ),
            "method": W.ToggleButtons(
                options=["both", "naive", "stable"], value="both", description="show", style=wide
            ),
            "pattern": W.Dropdown(
                options=list(PATTERNS), value="1, 2, 3", description="pattern", style=wide
            ),
        }

    def compute(self, values, backend):
        dtypes = DTYPE_CHOICES[values["dtype"]]
        pattern = PATTERNS[values["pattern"]]
        sweep = default_scales(pattern, dtypes)
        # the sweep stays inside the logits' representable range; the chosen scale
        # does not, so the experiment says when the logits themselves overflow. The
        # sweep stops at the slider: the figure shows a break only once the student has
        # dragged past it (the lesson asks them to predict it first)
        largest = max(abs(v) for v in pattern)
        fits = sweep * largest <= min(float(np.finfo(d).max) for d in dtypes)
        scales = np.append(sweep[fits & (sweep < values["scale"])], values["scale"])
        # target: the least likely class, whose cross-entropy grows with s in every pattern
        target = min(range(len(pattern)), key=pattern.__getitem__)
        return self.run(
            lse_overflow,
            scales=scales,
            pattern=pattern,
            dtypes=dtypes,
            target=target,
            backend=backend,
        )

    def draw(self, result):
        methods = {"both": ("naive", "stable")}.get(self.controls["method"].value)
        methods = methods or (self.controls["method"].value,)
        plot_lse_overflow(
            result, fig=self.figure, marker=self.controls["scale"].value, methods=methods
        )

    def readout_rows(self, r):
        s = self.controls["scale"].value
        j = int(np.argmin(np.abs(r.scales - s)))
        pattern = PATTERNS[self.controls["pattern"].value]
        sweep_end = float(
            np.max(default_scales(pattern, DTYPE_CHOICES[self.controls["dtype"].value]))
        )
        rows = [("logits at s", f"s = {r.scales[j]:.4g}: {_fmt(r.logits[-1, j])}")]
        for i, name in enumerate(r.dtypes):
            rows.append((f"{name} naive", _fmt(r.naive_log_softmax[i, j])))
            rows.append((f"{name} stable", _fmt(r.stable_log_softmax[i, j])))
            rows.append((f"{name} naive breaks", _breaks(r, i, j, sweep_end)))
        return rows
