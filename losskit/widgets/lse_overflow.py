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


def _underflow(naive, name) -> str:
    """Why the naive output ``naive`` (at the chosen scale) is not finite, read from it.

    Some exps rounded to 0: their log is -inf. All of them rounded to 0: the
    softmax divides 0 by 0, NaN everywhere.
    """
    if np.isnan(naive).any():
        return (
            f"every exp rounds to 0 in {name}, so softmax divides 0 by 0 and gives NaN "
            f"(log of NaN is NaN)"
        )
    return f"exp of the most negative logits rounds to 0 in {name}, so log gives -inf"


def _breaks(r, name, s, naive, sweep_end) -> str:
    """Where naive log(softmax) first fails in dtype ``name``, and why: overflow or underflow.

    Said only once the chosen scale ``s`` has reached that point: the lesson asks
    the student to predict it and find it by dragging s up ("not yet" before).
    ``threshold_scale`` is NaN when no logit is positive (the negative pattern):
    then exp never overflows, and the naive version fails by underflow instead,
    for which the result carries no theoretical scale; the reason given is the
    one the readout's output ``naive`` (at ``s``) shows: -inf or NaN. ``r`` is swept
    only up to ``s``; ``sweep_end`` is where the whole sweep would end.
    """
    first = r.first_failure[name]
    if not np.isfinite(first):
        return "never on this sweep" if s >= sweep_end else NOT_YET
    if s < first:
        return NOT_YET
    theory = r.threshold_scale[name]
    if np.isnan(theory):
        return f"from s = {first:.4g} on the grid, by underflow: {_underflow(naive, name)}"
    return (
        f"from s = {first:.4g} on the grid (theory: sum of exp reaches max at "
        f"s = {theory:.4g}; log max = {r.log_max[name]:.2f})"
    )


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
            naive = r.naive_log_softmax[i, j]
            rows.append(
                (f"{name} naive breaks", _breaks(r, name, float(r.scales[j]), naive, sweep_end))
            )
        return rows
