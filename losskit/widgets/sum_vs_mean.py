"""Lesson 5 panel: sum vs mean, with learning-rate scaling."""

from __future__ import annotations

from ..experiments.sum_vs_mean import sum_vs_mean
from ..plots import plot_sum_vs_mean
from ._base import Panel
from ._controls import batch_sizes_up_to, checkbox, choice_slider, int_slider, log_slider, toggle

__all__ = ["SumVsMeanPanel"]


N_SUM_VS_MEAN = 256  # samples: small enough for B = 1 to redraw in a blink
# candidate batch sizes, offered only up to N_SUM_VS_MEAN (B = N included); 3, 10, 50
# and 100 do not divide it (lesson 5's short last batch)
BATCH_SIZES = (1, 2, 3, 4, 8, 10, 16, 32, 50, 64, 100, 128, 256, 512)

_RUN_NAMES = {
    "mean": "mean at lr",
    "sum_scaled": "sum at lr / B",
    "sum_same_lr": "sum at lr",
}


def _sum_scaled_vs_mean(r) -> str:
    """How far sum at lr/B strayed from mean at lr, and why.

    A short last batch (kept with ``drop_last=False``) is the real cause when
    there is one: rounding from a B that is not a power of two is ~1e-17, the
    short batch's smaller step is visible.
    """
    if r.bitwise_equal:
        return "identical bit for bit"
    text = f"max |Δθ| = {r.max_deviation:.3g}"
    short = r.n_samples % r.batch_size
    if not r.drop_last and short:
        return (
            f"{text}: the short last batch of {short} samples: mean takes a full-size step "
            f"from it, sum at lr/B only {short}/{r.batch_size} of one; tick drop_last to skip it"
        )
    return text if r.power_of_two else f"{text} (B not a power of two: rounding)"


def _batches(r) -> str:
    """N and how B splits it, so that a B that does not divide N can be chosen on purpose."""
    n, B = r.n_samples, r.batch_size
    full, short = divmod(n, B)
    text = f"N = {n} samples: {full} batch{'es' if full != 1 else ''} of {B}"
    if not short:
        return text
    return text + f" + a short one of {short} ({'dropped' if r.drop_last else 'kept'})"


class SumVsMeanPanel(Panel):
    """Mean at lr, sum at lr/B and sum at lr from one start (``sum_vs_mean``), overlaid.

    Controls: ``reduction`` and ``scale_lr`` choose the run you are looking at
    (mean; sum at lr/B; sum at lr), drawn over the mean-at-lr reference, the
    other runs faint; ``batch_size`` (up to the N = 256 samples, which the
    readout shows), ``lr``, ``epochs``, ``drop_last`` (keeping a short last
    batch breaks the sum/mean equivalence). A run that diverges says so in the
    message area.
    """

    title = "Sum vs mean reduction, and scaling the learning rate"
    lesson = "Lesson 5 · sum at lr/B takes the mean's steps; sum at lr takes B-times larger ones"
    figsize = (13.0, 4.9)
    # the text's runs: sum_vs_mean's 3 epochs (the panel starts at 2, to answer faster)
    text_settings = {"batch_size": 32, "epochs": 3}

    def make_controls(self):
        batch = choice_slider(BATCH_SIZES, 32, "batch size B")
        batch_sizes_up_to(batch, BATCH_SIZES, N_SUM_VS_MEAN)  # N is fixed: once is enough
        return {
            "reduction": toggle(["mean", "sum"], "sum", "reduction"),
            "scale_lr": checkbox(True, "scale lr by 1/B (sum)"),
            "batch_size": batch,
            "lr": log_slider(0.05, -3, 0, "learning rate"),
            "epochs": int_slider(2, 1, 3, "epochs"),
            "drop_last": checkbox(True, "drop last partial batch"),
        }

    def focus(self):
        v = self.controls
        if v["reduction"].value == "mean":
            return "mean"
        return "sum_scaled" if v["scale_lr"].value else "sum_same_lr"

    def compute(self, v, backend):
        return self.run(
            sum_vs_mean,
            batch_size=v["batch_size"],
            lr=v["lr"],
            epochs=v["epochs"],
            n_samples=N_SUM_VS_MEAN,
            drop_last=v["drop_last"],
            backend=backend,
            seed=0,
        )

    def draw(self, result):
        plot_sum_vs_mean(result, fig=self.figure, focus=self.focus())

    def readout_rows(self, r):
        focus = self.focus()
        B = r.batch_size
        # the learning rate the run's step amounts to on the batch's mean gradient; each
        # example's gradient enters that mean divided by B, so its share is that lr / B
        effective = {"mean": r.lr, "sum_scaled": r.lr, "sum_same_lr": r.lr * B}[focus]
        final = getattr(r, f"epoch_loss_{focus}")[-1]
        return [
            ("your run", f"{_RUN_NAMES[focus]} (B = {B}, lr = {r.lr:.3g})"),
            ("data", _batches(r)),
            (
                "effective step vs mean at lr",
                f"{effective / r.lr:g}×: lr {effective:.3g} on the mean gradient, "
                f"{effective / B:.3g} per example (÷ B = {B})",
            ),
            ("final training loss", f"{final:.4g} (mean at lr: {r.epoch_loss_mean[-1]:.4g})"),
            ("sum at lr/B vs mean", _sum_scaled_vs_mean(r)),
            ("sum at lr vs mean", f"max |Δθ| = {r.max_deviation_same_lr:.3g}"),
        ]

    def notes(self, r):
        msg = r.diverged.get(self.focus())
        return [msg] if msg else []
