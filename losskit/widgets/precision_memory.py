"""Lesson 8 panel: summation precision and cross-entropy memory at scale."""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from ..experiments.precision_memory import ce_memory, summation_precision, vanishing_term
from ..plots import plot_ce_memory, plot_summation_precision
from ._base import Panel
from ._controls import WIDE, choice_slider

__all__ = ["PrecisionMemoryPanel"]


MIB = 2**20
# significant digits in the readout: float64's sums differ from the exact total in the
# 13th-15th digit (1 + 1000 × 1e-16), which 8 digits would print as equal
DIGITS = {"float16": 8, "float32": 8, "float64": 15}
MEASURE_LIMIT = 32 * MIB  # one (B, C) array larger than this is not measured live


def _summation_overflow(s) -> list:
    """Why a sum in the readout (largest n) is inf or NaN: it passed the dtype's largest value."""
    largest = float(np.finfo(s.dtype).max)
    k = len(s.n_values) - 1
    n = int(s.n_values[k])
    labels = (f"1 + {n:,} × {s.small:g}", f"{n:,} × {s.value:g}")  # as in the readout
    notes = []
    for c, label in enumerate(labels):
        bad = [
            f"{name} {s.results[c, j, k]:g}"
            for j, name in enumerate(s.methods)
            if not np.isfinite(s.results[c, j, k])
        ]
        if bad:
            notes.append(
                f"{s.dtype} overflows past its largest value, {largest:g}: {label} (exactly "
                f"{s.exact[c, k]:.8g}) came out as {', '.join(bad)}: a total past {largest:g} "
                f"is inf."
            )
    return notes


def _naive_ce_overflow(m) -> list:
    """Why the measured naive cross-entropy is not finite, when it is not."""
    if not m.measured or np.isfinite(m.loss_naive):
        return []
    largest = float(np.finfo(m.dtype).max)
    return [
        f"The naive forward's mean CE is {m.loss_naive:g} in {m.dtype}: exp(logits) summed over "
        f"{m.n_classes:,} classes passes {largest:g} (or a probability falls below the smallest "
        f"{m.dtype}), so probabilities round to 0 and log(0) = -inf. log_softmax and the "
        f"streaming forward subtract the row max first."
    ]


def _sums(s, case: int, k: int) -> str:
    """The exact total and each method's sum for one case at the k-th n, to the dtype's digits."""
    d = DIGITS[s.dtype]
    sums = ", ".join(f"{name} {s.results[case, j, k]:.{d}g}" for j, name in enumerate(s.methods))
    return f"exact {s.exact[case, k]:.{d}g}; {sums}"


class PrecisionMemoryPanel(Panel):
    """Summation error per method (``summation_precision``) beside CE memory (``ce_memory``).

    Controls: ``batch_size`` B and ``n_classes`` C of the logits, ``dtype``
    (both experiments), ``chunk_size`` (classes per streaming block),
    ``n_max`` (largest number of terms summed, 10^4 to start), ``measure``
    (also measure the forwards' peak memory with tracemalloc: slower, off by
    default). Left: the relative error of sequential, pairwise, Kahan, float64
    and ``xp.sum`` against n on ``1 + n × small`` and ``n × 0.1``; right: MiB of
    logits, softmax, log-softmax vs the streaming working set.

    The small term depends on the dtype (:func:`.vanishing_term`):
    the lesson's 1e-8 in float32, 1e-4 in float16 (where 1e-8 rounds to 0 and
    every method would be exact on ``1 + n × 0``), 1e-16 in float64: in each,
    ``1 + small == 1``, so the running sum shows the same trap at every precision.
    """

    title = "Summing many numbers, and what cross-entropy holds in memory"
    lesson = (
        "Lesson 8 · a running float32 sum drifts; CE materialises B×C arrays, streaming does not"
    )
    figsize = (14.0, 5.0)
    # the text's sums run to n = 10^6 (summation_precision's default); the panel starts
    # at 10^4, and the lesson asks to raise it
    text_settings = {"n_max": 10**6}

    def make_controls(self):
        return {
            "batch_size": choice_slider([2**k for k in range(13)], 128, "batch size B"),
            "n_classes": choice_slider(
                [10, 100, 1_000, 10_000, 50_000, 100_000, 1_000_000], 50_000, "classes C"
            ),
            "dtype": W.Dropdown(
                options=["float16", "float32", "float64"],
                value="float32",
                description="dtype",
                style=WIDE,
            ),
            "chunk_size": choice_slider([2**k for k in range(8, 17)], 4096, "stream chunk"),
            # 10^4 to start: the lesson asks to raise it and watch the running sum drift
            "n_max": choice_slider([10**k for k in range(3, 7)], 10**4, "terms up to n"),
            "measure": W.Checkbox(
                value=False, description="measure peak memory (slower)", style=WIDE, indent=False
            ),
        }

    def setup_figure(self):
        self.fig_sum, self.fig_mem = self.subfigures(2, width_ratios=(1.45, 1))
        self._shown = (None, None)  # (summation, memory) results on screen
        self._skipped = False  # whether compute() skipped the requested measurement

    def compute(self, v, backend):
        n_values = [10**k for k in range(2, int(np.log10(v["n_max"])) + 1)]
        summation = self.run(
            summation_precision,
            n_values=n_values,
            dtype=v["dtype"],
            small=vanishing_term(v["dtype"]),  # float32: the lesson's 1e-8; 0 in float16
            backend=backend,
        )
        # tracemalloc over a forward of more than a few hundred MiB takes seconds:
        # too slow for a slider; the computed byte counts stay exact
        itemsize = {"float16": 2, "float32": 4, "float64": 8}[v["dtype"]]
        self._skipped = v["measure"] and v["batch_size"] * v["n_classes"] * itemsize > MEASURE_LIMIT
        memory = self.run(
            ce_memory,
            batch_size=v["batch_size"],
            n_classes=v["n_classes"],
            dtype=v["dtype"],
            chunk_size=v["chunk_size"],
            measure=v["measure"] and not self._skipped,
            backend=backend,
            seed=0,
        )
        return summation, memory

    def draw(self, result):
        summation, memory = result
        shown = self._shown
        parts = []
        if summation is not shown[0]:
            plot_summation_precision(summation, fig=self.fig_sum)
            parts.append(self.fig_sum)
        if memory is not shown[1]:
            plot_ce_memory(memory, fig=self.fig_mem)
            parts.append(self.fig_mem)
        self._shown = result
        self.redraw_only(parts)

    def notes(self, result):
        """Inf/NaN results explained in words (float16), and a skipped measurement.

        Read from the results, not from NumPy's warnings: a cached result raises none.
        """
        summation, memory = result
        notes = [*_summation_overflow(summation), *_naive_ce_overflow(memory)]
        if self._skipped:
            notes.append(
                f"Not measured: one ({memory.batch_size:,}, {memory.n_classes:,}) array is "
                f"{memory.bytes_logits / MIB:,.0f} MiB, and tracing a forward that large takes "
                f"seconds. The computed byte counts are exact; call ce_memory(measure=True) in "
                f"a cell to measure it."
            )
        return notes

    def readout_rows(self, result):
        s, m = result
        k = len(s.n_values) - 1
        n = int(s.n_values[k])
        rows = [
            (
                "small term",
                f"{s.small:.3g}: the largest power of ten below half the spacing of 1 in "
                f"{s.dtype} (spacing {np.finfo(s.dtype).eps:.3g})",
            ),
            (f"1 + {s.small:.3g} == 1 in {s.dtype}", str(s.one_plus_small_is_one)),
            (f"1 + {n:,} × {s.small:g}", _sums(s, 0, k)),
            (f"{n:,} × {s.value:g}", _sums(s, 1, k)),
            (
                f"one ({m.batch_size:,}, {m.n_classes:,}) {m.dtype} array",
                f"{m.bytes_logits:,} B = {m.bytes_logits / MIB:.2f} MiB",
            ),
            (
                "logits + softmax + log-softmax",
                f"{m.bytes_naive_total:,} B = {m.bytes_naive_total / MIB:.2f} MiB",
            ),
            (
                f"streaming extra (chunk {m.chunk_size:,})",
                f"{m.bytes_streaming_working:,} B = {m.bytes_streaming_working / MIB:.2f} MiB",
            ),
        ]
        if m.measured:
            rows.append(
                (
                    "measured naive / stable / streaming",
                    f"{m.measured_naive_bytes / MIB:.2f} / {m.measured_stable_bytes / MIB:.2f}"
                    f" / {m.measured_streaming_bytes / MIB:.2f} MiB; mean CE "
                    f"{m.loss_naive:.5g} / {m.loss_stable:.5g} / {m.loss_streaming:.5g}",
                )
            )
        return rows
