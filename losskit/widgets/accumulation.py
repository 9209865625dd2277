"""Lesson 6 panel: gradient accumulation."""

from __future__ import annotations

from ..experiments.accumulation import accumulation
from ..plots import plot_accumulation
from ._base import Panel
from ._controls import choice_slider, int_slider, log_slider, toggle

__all__ = ["AccumulationPanel"]

N_ACCUMULATION = 200  # samples of the panel: at most this many per update
K_MAX = 6  # micro-batches per update offered


class AccumulationPanel(Panel):
    """K micro-batches vs one batch of ``sum(sizes)`` (``accumulation``): equal and unequal.

    Controls: the equal split (``micro_batch`` examples × ``k`` micro-batches),
    the unequal split (``first`` + ``second``), ``scaling`` (which accumulation
    to stress: weighted by nₘ/Σn, divided by K, or the forgotten division),
    ``lr``, ``n_updates`` (5..40; the text runs 40). An update cannot use more
    than the 200 samples: the K slider offers at most ``200 // micro_batch``
    micro-batches (64 × 3 = 192), and a K that no longer fits moves down, with a
    note (the unequal sliders, 64 + 64 at most, always fit). A run that diverges
    says so in the message area.
    """

    title = "Gradient accumulation: right and wrong scaling"
    lesson = "Lesson 6 · K micro-batch means ÷ K equal one batch only when the sizes are equal"
    figsize = (13.0, 4.9)
    # the text's runs: accumulation's 40 updates (the panel starts at 15, to answer faster)
    text_settings = {"n_updates": 40}

    def make_controls(self):
        return {
            "micro_batch": choice_slider([1, 2, 4, 8, 16, 32, 64], 4, "equal: micro-batch"),
            "k": int_slider(4, 1, K_MAX, "× K micro-batches"),
            "first": int_slider(8, 1, 64, "unequal: first"),
            "second": int_slider(2, 1, 64, "+ second"),
            "scaling": toggle(
                [
                    ("all", "all"),
                    ("weighted nₘ/Σn", "correct"),
                    ("divided by K", "naive"),
                    ("forgot ÷K", "forgot"),
                ],
                "all",
                "stress",
            ),
            "lr": log_slider(0.05, -3, 0, "learning rate"),
            "n_updates": int_slider(15, 5, 40, "updates", step=5),
        }

    def compute(self, v, backend):
        return self.run(
            accumulation,
            equal_sizes=(v["micro_batch"],) * v["k"],
            unequal_sizes=(v["first"], v["second"]),
            lr=v["lr"],
            n_updates=v["n_updates"],
            n_samples=N_ACCUMULATION,
            backend=backend,
            seed=0,
        )

    def sync_controls(self):
        """Offer only the K that fit: micro-batch × K examples per update <= the 200 samples."""
        micro, k = self.controls["micro_batch"].value, self.controls["k"]
        old = k.value
        k.max = min(K_MAX, N_ACCUMULATION // micro)  # ipywidgets moves a larger value down
        if k.value == old:
            return []
        return [
            f"micro-batch {micro} × K {old} = {micro * old} examples per update is more than "
            f"the {N_ACCUMULATION} samples: K is now {k.value}, the most that fit."
        ]

    def draw(self, result):
        scaling = self.controls["scaling"].value
        plot_accumulation(result, fig=self.figure, focus=None if scaling == "all" else scaling)

    def readout_rows(self, r):
        rows = []
        for k, case in enumerate(r.cases):
            sizes = "+".join(str(s) for s in r.micro_batch_sizes[k])
            rows.append(
                (
                    f"{case} ({sizes}) max |Δθ| vs one batch",
                    f"weighted {r.max_deviation_correct[k]:.2g}, ÷K {r.max_deviation_naive[k]:.2g},"
                    f" forgot ÷K {r.max_deviation_forgot[k]:.2g}",
                )
            )
            rows.append(
                (
                    f"{case}: first-update gradient error",
                    f"weighted {r.first_grad_deviation_correct[k]:.2g}, "
                    f"÷K {r.first_grad_deviation_naive[k]:.2g}",
                )
            )
        return rows

    def notes(self, r):
        """Every run that diverged (NaN/inf, or past 1e6 times its start: ``fit``'s rule)."""
        return [msg for messages in r.diverged.values() for msg in messages if msg]
