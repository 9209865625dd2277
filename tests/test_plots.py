"""Figure builders: each draws its result (theory beside measurement) and updates in place.

Experiments run small (fast keyword arguments) on NumPy; assertions read the
artists' data back and compare it with the result's fields.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from losskit import experiments, plots
from losskit.plots import FIGURES, PALETTE, builder_of, update_figure

FAST = {
    "batch_vs_dataset": {"epochs": 3, "n_samples": 64, "seeds": (0, 1), "batch_size": 8},
    "reductions": {"batch_sizes": (1, 4, 16, 64), "n_samples": 64, "n_draws": 2},
    "lse_overflow": {},
    "gradient_noise": {"n_samples": 64, "n_draws": 50},
    "batch_size_sweep": {"batch_sizes": (1, 8, 64), "seeds": [0, 1], "epochs": 3, "n_samples": 64},
    "sum_vs_mean": {"batch_size": 8, "epochs": 1, "n_samples": 64},
    "accumulation": {"n_updates": 6, "n_samples": 40},
    "train_val": {"max_epochs": 30},
    "summation_precision": {"n_values": (10, 100, 1000)},
    "ce_memory": {"batch_size": 8, "n_classes": 1000, "chunk_size": 256},
}


def run(name, **kwargs):
    return getattr(experiments, name)(backend="numpy", **{**FAST[name], **kwargs})


def lines_of(ax):
    return [line for line in ax.get_lines() if line.get_visible()]


@pytest.mark.parametrize("spec", FIGURES, ids=lambda s: s.name)
def test_every_lesson_figure_draws_and_updates_in_place(spec):
    result = run(spec.experiment)
    fig = spec.plot(result)
    assert isinstance(fig, Figure)
    fig.canvas.draw()
    axes = fig.get_axes()
    assert axes and builder_of(fig) is not None
    assert any(ax.get_xlabel() for ax in axes), "axes need labelled units"
    # a second result moves data into the same axes and artists
    artists = [id(a) for ax in axes for a in ax.get_lines()[:1]]
    again = spec.plot(result, fig=fig)
    assert again is fig
    assert [id(a) for ax in fig.get_axes() for a in ax.get_lines()[:1]] == artists
    assert fig.get_axes() == axes
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=30)
    assert buf.getvalue().startswith(b"\x89PNG")


def test_figures_cover_every_experiment_once():
    names = [s.experiment for s in FIGURES]
    assert sorted(names) == sorted(FAST)
    assert len({s.name for s in FIGURES}) == len(FIGURES)


def test_update_rejects_a_foreign_figure_and_plot_a_wrong_result():
    noise = run("gradient_noise")
    fig = plots.plot_lse_overflow(run("lse_overflow"))
    with pytest.raises(TypeError, match="not made by plot_gradient_noise"):
        plots.update_gradient_noise(fig, noise)
    with pytest.raises(TypeError, match="LSEOverflowResult"):
        plots.update_lse_overflow(fig, noise)
    with pytest.raises(TypeError, match="GradientNoiseResult"):
        plots.plot_gradient_noise(run("lse_overflow"))
    with pytest.raises(TypeError, match="not drawn by a losskit"):
        update_figure(Figure(), noise)


def test_plot_into_a_foreign_figure_clears_it():
    fig = Figure()
    fig.add_subplot().plot([1, 2], [3, 4])
    plots.plot_ce_memory(run("ce_memory"), fig=fig)
    assert len(fig.get_axes()) == 1 and len(fig.get_axes()[0].patches) == 8


def test_gradient_noise_draws_theory_over_measurement():
    r = run("gradient_noise")
    b = builder_of(plots.plot_gradient_noise(r))
    pos = r.theory_variance > 0
    np.testing.assert_allclose(b.theory.get_ydata(), r.theory_variance[pos])
    np.testing.assert_allclose(b.measured.get_xdata(), r.batch_sizes[pos])
    np.testing.assert_allclose(b.measured.get_ydata(), r.measured_variance[pos])
    np.testing.assert_allclose(b.theory_wr.get_ydata(), r.with_replacement_variance)
    assert b.ax.get_xscale() == b.ax.get_yscale() == "log"
    assert "σ²/B·(N−B)/(N−1)" in b.theory.get_label()
    assert "B = N" in b.note.get_text()  # the exact zero is named, not hidden
    # update in place from another result, with a highlighted batch size
    r2 = run("gradient_noise", n_samples=100)
    fig = plots.update_gradient_noise(b.fig, r2, highlight=int(r2.batch_sizes[2]))
    assert builder_of(fig) is b
    assert b.highlight.get_xdata().tolist() == [r2.batch_sizes[2]]
    np.testing.assert_allclose(b.theory.get_ydata(), r2.theory_variance[r2.theory_variance > 0])


def test_lse_overflow_marks_each_dtype_log_max():
    r = run("lse_overflow")
    b = builder_of(plots.plot_lse_overflow(r, marker=100.0))
    xs = sorted(line.get_xdata()[0] for line in b.limit_lines.lines)
    assert xs == pytest.approx(sorted(r.exp_threshold_scale.values()))
    texts = " ".join(t.get_text() for t in b.texts)
    for name in r.dtypes:
        assert f"log max {r.log_max[name]:.2f}" in texts
    # the naive curve's first non-finite value is marked, once per dtype
    fails = sorted(line.get_xdata()[0] for line in b.failures.lines)
    assert fails == pytest.approx(sorted(r.first_failure.values()))
    assert b.mark_lines.lines[0].get_xdata()[0] == 100.0
    # methods option: only the stable curves
    plots.plot_lse_overflow(r, fig=b.fig, methods=("stable",))
    assert len(b.naive.lines) == 0 and len(b.stable.lines) == len(r.dtypes)


def test_summation_precision_puts_exact_results_on_a_floor():
    r = run("summation_precision")
    b = builder_of(plots.plot_summation_precision(r))
    assert len(b.lines[0].lines) == len(r.methods)
    floor = b.floors[0].get_ydata()[0]
    f64 = r.methods.index("float64")
    assert np.all(r.abs_error[0, f64] == 0)
    assert np.all(b.lines[0].lines[f64].get_ydata() == floor)
    seq = r.methods.index("sequential")
    np.testing.assert_allclose(b.lines[1].lines[seq].get_ydata(), np.abs(r.rel_error[1, seq]))


def test_ce_memory_bars_are_the_byte_counts():
    r = run("ce_memory")
    b = builder_of(plots.plot_ce_memory(r))
    widths = [bar.get_width() for bar in b.bars]
    assert widths[0] == pytest.approx(r.bytes_logits / 2**20)
    assert widths[3] == pytest.approx(r.bytes_naive_total / 2**20)
    assert widths[4] == pytest.approx(r.bytes_streaming_working / 2**20)
    r2 = run("ce_memory", measure=False)
    plots.update_ce_memory(b.fig, r2)
    assert b.labels[-1].get_text().strip() == "not measured"


def test_sum_vs_mean_overlays_the_three_trajectories():
    r = run("sum_vs_mean")
    b = builder_of(plots.plot_sum_vs_mean(r, focus="sum_scaled"))
    mean, scaled, same = b.paths.lines
    np.testing.assert_array_equal(mean.get_xdata(), r.params_mean[:, 0])
    np.testing.assert_array_equal(scaled.get_ydata(), r.params_sum_scaled[:, -1])
    assert same.get_alpha() == 0.25  # not the focus: faint
    assert "bit for bit" in b.note.get_text()


def test_accumulation_labels_carry_the_deviation():
    r = run("accumulation")
    b = builder_of(plots.plot_accumulation(r))
    labels = [line.get_label() for line in b.lines[1].lines]
    assert f"{r.max_deviation_naive[1]:.1e}" in labels[2]
    assert "8 + 2" in b.axes[1].get_title()


def test_batch_vs_dataset_per_update_axis_skips_the_start():
    r = run("batch_vs_dataset")
    b = builder_of(plots.plot_batch_vs_dataset(r))
    assert len(b.epoch_lines.lines) == 3 and len(b.bands) == 3
    gd = b.update_lines.lines[0]
    np.testing.assert_array_equal(gd.get_xdata(), r.epoch_updates[0, 1:])
    sgd_batches = b.batch_lines.lines[2]  # every update's own batch loss, first seed
    np.testing.assert_array_equal(sgd_batches.get_ydata(), r.batch_loss[2][0])
    assert sgd_batches.get_xdata()[-1] == r.epochs * r.updates_per_epoch[2]
    assert b.ax_update.get_xscale() == "log"


def test_batch_size_sweep_views_and_bands():
    r = run("batch_size_sweep")
    fig = plots.plot_batch_size_sweep(r, views=("epoch",))
    b = builder_of(fig)
    assert b.ax_jitter is None and len(fig.get_axes()) == 1
    assert len(b.bands) == len(r.batch_sizes)
    same = plots.plot_batch_size_sweep(r, fig=fig)  # no layout asked: update in place
    assert builder_of(same) is b
    full = plots.plot_batch_size_sweep(r, fig=fig, views=("epoch", "jitter"))  # rebuilt
    assert len(full.get_axes()) == 2 and builder_of(full) is not b
    with pytest.raises(ValueError, match="views"):
        plots.plot_batch_size_sweep(r, views=("nope",))


def test_train_val_marks_best_and_stop_epochs():
    r = run("train_val")
    b = builder_of(plots.plot_train_val(r))
    if r.best_epoch is not None:
        assert b.best.get_xdata()[0] == r.best_epoch + 1
    np.testing.assert_array_equal(b.batch.get_xdata(), r.batch_epoch)
    np.testing.assert_array_equal(b.val.get_ydata(), r.epoch_val_loss)


def test_style_colour_blind_palette_and_projector_fonts():
    fig = plots.plot_batch_size_sweep(run("batch_size_sweep"))
    fig.canvas.draw()
    palette = {c.lower() for c in PALETTE}
    for ax in fig.get_axes():
        for line in ax.get_lines():
            c = to_hex(line.get_color())
            assert c in palette or c in {"#000000", "#666666"} or line.get_label().startswith("_")
        assert ax.title.get_fontsize() >= 14
        for label in ax.get_xticklabels() + ax.get_yticklabels():
            assert label.get_fontsize() >= 11


def test_cached_text_canvas_draws_what_agg_draws():
    from losskit.plots._fasttext import _CACHE, CachedTextCanvasAgg

    r = run("accumulation")
    images = []
    for fast in (False, True):
        fig = plots.new_figure((9, 3.5), dpi=72, fast_text=fast)
        assert isinstance(fig.canvas, CachedTextCanvasAgg) == fast
        plots.plot_accumulation(r, fig=fig)
        fig.canvas.draw()
        fig.canvas.draw()  # the second draw reads the bitmaps back from the cache
        images.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int))
    assert len(_CACHE.items) > 10
    # lines and patches are identical; text lands within a pixel of matplotlib's own
    far = np.abs(images[0] - images[1]).max(axis=2) > 96
    assert far.mean() < 0.04  # glyph edges at subpixel vs whole-pixel positions
    ink = lambda img: (img.min(axis=2) < 128).sum()  # noqa: E731
    assert ink(images[1]) == pytest.approx(ink(images[0]), rel=0.05)
