"""Lesson 2 ``reductions``: the experiment's identities on every backend, its figure, its panel.

The identity under test: one batch's sum-reduced loss and gradients are B times
the mean-reduced ones (bit for bit when B is a power of two: dividing by 2^k is
exact), and the ``"none"`` losses add up to the sum. The panel's contract and
fuzz tests live in ``test_widgets.py`` (they run over ``PANELS``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from losskit import experiments, plots
from losskit.experiments.reductions import LOSSES, ReductionsResult, reductions
from losskit.lessons import FIGURES, PANELS
from losskit.plots import builder_of
from losskit.widgets import ReductionsPanel

SMALL = {"batch_sizes": (1, 2, 3, 8, 10, 32, 64), "n_samples": 64, "n_draws": 2}


def small(loss="mse", **kwargs):
    return reductions(loss, **{**SMALL, "backend": "numpy", **kwargs})


# ----- experiment ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss", list(LOSSES))
def test_sum_is_mean_times_batch_size(backend, loss):
    r = reductions(loss, **SMALL, backend=backend, dtype="float64", none_batch_size=10)
    assert r.backend == backend.name and r.dtype == "float64" and r.loss_name == loss
    B = r.batch_sizes.astype(np.float64)
    pow2 = (r.batch_sizes & (r.batch_sizes - 1)) == 0
    for ratio in (r.loss_ratio, r.grad_ratio, r.pred_grad_ratio):
        np.testing.assert_allclose(ratio, B, rtol=1e-13)
        np.testing.assert_array_equal(ratio[pow2], B[pow2])  # dividing by 2^k is exact
    np.testing.assert_allclose(r.loss_sum, r.loss_mean * B, rtol=1e-13)
    np.testing.assert_allclose(r.grad_norm_sum, r.grad_norm_mean * B, rtol=1e-13)
    np.testing.assert_allclose(r.pred_grad_norm_sum, r.pred_grad_norm_mean * B, rtol=1e-13)
    # "none": one loss per sample, adding up to the sum and averaging to the mean
    assert r.per_sample_loss.shape == (10,) and r.per_sample_hard.shape == (10,)
    assert r.per_sample_loss.sum() == pytest.approx(r.none_loss_sum, rel=1e-13)
    assert r.per_sample_loss.mean() == pytest.approx(r.none_loss_mean, rel=1e-13)
    assert r.none_loss_sum == pytest.approx(10 * r.none_loss_mean, rel=1e-13)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_same_seed_same_numbers_on_every_backend(backend, loss):
    ref = small(loss, dtype="float64")
    r = reductions(loss, **SMALL, backend=backend, dtype="float64")
    for field in ("loss_mean", "loss_sum", "grad_norm_mean", "grad_norm_sum", "per_sample_loss"):
        np.testing.assert_allclose(getattr(r, field), getattr(ref, field), rtol=1e-10)


def test_float32_keeps_the_identity_to_rounding():
    r = small("cross_entropy", dtype="float32")
    assert r.dtype == "float32"
    np.testing.assert_allclose(r.loss_ratio, r.batch_sizes, rtol=1e-5)
    np.testing.assert_allclose(r.grad_ratio, r.batch_sizes, rtol=1e-5)


def test_defaults_and_the_lesson_shape():
    r = experiments.reductions()  # callable with no arguments
    assert isinstance(r, ReductionsResult) and r.loss_name == "mse"
    assert r.batch_sizes.tolist() == [2**k for k in range(11)] and r.n_samples == 1024
    assert r.none_batch_size == 64 and r.n_hard == round(0.05 * 1024)
    assert int(r.per_sample_hard.sum()) == 3  # every 20th sample: 3 of the first 64
    # mean levels off, sum climbs with B: over 1024x the batch, the sum grows >100x more
    growth_sum = r.loss_sum[-1] / r.loss_sum[0]
    growth_mean = r.loss_mean[-1] / r.loss_mean[0]
    assert growth_sum / growth_mean == pytest.approx(1024)
    assert r.grad_norm_sum[-1] / r.grad_norm_sum[-2] == pytest.approx(2.0, rel=0.1)
    assert r.grad_norm_mean[-1] / r.grad_norm_mean[-2] == pytest.approx(1.0, rel=0.1)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_hard_samples_stand_out(loss):
    r = reductions(loss, backend="numpy", none_batch_size=256)
    hard, easy = r.per_sample_loss[r.per_sample_hard], r.per_sample_loss[~r.per_sample_hard]
    assert hard.size == 12  # every 20th sample
    assert np.median(hard) > np.percentile(easy, 95)


def test_result_is_a_frozen_value():
    r = small()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.loss_mean = None
    for field in dataclasses.fields(r):
        value = getattr(r, field.name)
        if isinstance(value, np.ndarray):
            assert not value.flags.writeable, field.name
    assert r.batch_sizes.dtype == np.int64 and r.loss_mean.dtype == np.float64
    assert r.per_sample_hard.dtype == bool


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"loss": "hinge"}, ValueError, r"loss must be one of \['mse', 'l1'.*got 'hinge'"),
        ({"batch_sizes": (1, 2000)}, ValueError, "2000, more than the 1024 available"),
        ({"batch_sizes": ()}, ValueError, "batch_sizes is empty"),
        ({"batch_sizes": 8}, TypeError, "sequence of ints"),
        ({"batch_sizes": (0, 4)}, ValueError, "batch_sizes must be >= 1"),
        ({"n_draws": 0}, ValueError, "n_draws must be >= 1"),
        ({"none_batch_size": 2.0}, TypeError, "Pass none_batch_size=2"),
        ({"none_batch_size": 5000}, ValueError, "none_batch_size must be <= 1024; got 5000"),
        ({"n_samples": 10}, ValueError, "batch_sizes contains 16, more than the 10 available"),
        ({"hard_fraction": 1.0}, ValueError, "hard_fraction must be < 1"),
        ({"hard_fraction": -0.1}, ValueError, "hard_fraction must be >= 0"),
        ({"n_classes": 1}, ValueError, "n_classes must be >= 2"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"seed": 1.5}, TypeError, "seed must be a non-negative int"),
        ({"dtype": "float16"}, ValueError, "dtype must be 'float32', 'float64' or None"),
    ],
)
def test_bad_parameters_say_what_and_how(kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        reductions(backend="numpy", **kwargs)
    assert str(info.value).startswith("reductions:")


# ----- figure -------------------------------------------------------------------------------


def test_registered_in_lesson_order():
    assert list(PANELS)[:3] == ["batch_vs_dataset", "reductions", "lse_overflow"]
    assert PANELS["reductions"] is ReductionsPanel
    names = [s.name for s in FIGURES]
    assert names.index("lesson2_reductions") == names.index("lesson1_batch_vs_dataset") + 1
    assert "reductions" in dir(experiments) and "ReductionsResult" in dir(experiments)


def test_plot_draws_the_result_fields():
    r = small(none_batch_size=32)
    fig = plots.plot_reductions(r)
    b = builder_of(fig)
    loss_mean, grad_mean, loss_sum, grad_sum = b.curves.lines
    for line, field in (
        (loss_mean, r.loss_mean),
        (grad_mean, r.grad_norm_mean),
        (loss_sum, r.loss_sum),
        (grad_sum, r.grad_norm_sum),
    ):
        np.testing.assert_array_equal(line.get_xdata(), r.batch_sizes)
        np.testing.assert_array_equal(line.get_ydata(), field)
    assert b.ax.get_xscale() == b.ax.get_yscale() == "log"
    # the reference lines are proportional to B and pass through each sum curve's last point
    for ref, field in zip(b.reference.lines, (r.loss_sum, r.grad_norm_sum), strict=True):
        y = np.asarray(ref.get_ydata())
        np.testing.assert_allclose(y / r.batch_sizes, field[-1] / r.batch_sizes[-1])
    assert b.marker.get_xdata()[0] == 32
    # right: the "none" losses, sorted, hard ones in their own bars; their mean as a line
    easy, edges = b.easy.get_data().values, b.easy.get_data().edges
    hard = b.hard.get_data().values
    order = np.argsort(-r.per_sample_loss, kind="stable")
    np.testing.assert_array_equal(easy + hard, r.per_sample_loss[order])
    np.testing.assert_array_equal(
        hard > 0, r.per_sample_hard[order] & (r.per_sample_loss[order] > 0)
    )
    assert edges.size == 33
    assert b.mean_line.get_ydata()[0] == r.none_loss_mean
    assert f"{r.none_loss_sum:.4g}" in b.note.get_text() and "B = 32" in b.ax_none.get_title()
    fig.canvas.draw()


def test_plot_updates_in_place_and_fades_the_other_reduction():
    r = small()
    fig = plots.plot_reductions(r)
    b = builder_of(fig)
    lines = list(b.curves.lines)
    r2 = small("cross_entropy", seed=3, none_batch_size=8)
    assert plots.update_reductions(fig, r2, focus="sum") is fig
    assert builder_of(fig) is b and b.curves.lines == lines
    np.testing.assert_array_equal(lines[0].get_ydata(), r2.loss_mean)
    assert [line.get_alpha() for line in lines] == [0.25, 0.25, None, None]
    assert b.easy.get_data().edges.size == 9 and "cross-entropy" in b.ax_none.get_title()
    with pytest.raises(ValueError, match="focus must be 'mean', 'sum' or None"):
        plots.update_reductions(fig, r2, focus="none")


# ----- panel --------------------------------------------------------------------------------


def test_panel_readout_gives_the_ratio_at_the_chosen_batch():
    p = ReductionsPanel(backend="numpy", mode="inline", debounce=0)
    assert p.error is None and p.result.loss_name == "mse"
    p.controls["batch_size"].value = 256
    assert p.result.none_batch_size == 256
    assert "B = 256" in p.readout.value
    assert "sum loss is 256× the mean loss; sum gradient norm 256× mean" in p.readout.value
    assert "sum at lr / 256" in p.readout.value
    assert "B = 256" in builder_of(p.figure).ax_none.get_title()
    p.controls["loss"].value = "bce_with_logits"
    assert p.result.loss_name == "bce_with_logits" and "256×" in p.readout.value
    before = p.result
    p.controls["highlight"].value = "mean"  # a view option: same result, redrawn
    assert p.result is before and p.updated
    assert [line.get_alpha() for line in builder_of(p.figure).curves.lines][2:] == [0.25, 0.25]
    p.controls["seed"].value = 4
    assert p.result.seed == 4
