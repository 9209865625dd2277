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
from matplotlib.transforms import Bbox

from losskit import experiments, plots
from losskit.lessons import FIGURES
from losskit.plots import PALETTE, builder_of, update_figure
from losskit.plots.batch_vs_dataset import log_windows, summarise, thin
from losskit.plots.lse_overflow import finite_spans

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
    result = run(spec.experiment.__name__)
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
    names = [s.experiment.__name__ for s in FIGURES]
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


def test_lse_overflow_finite_panel_draws_spans_with_a_legend():
    r = run("lse_overflow")
    fig = plots.plot_lse_overflow(r)
    b = builder_of(fig)
    legend = b.ax_ok.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["finite", "NaN or inf"]
    assert legend.get_title().get_text() == "Finite output?"
    legend_clear_of_axes(fig, legend, fig.get_axes())
    # no per-grid-point markers: spans along the scale axis, one bar per state run
    assert [line for line in b.ax_ok.get_lines() if line.get_marker() not in ("None", None)] == []
    s = np.asarray(r.scales, dtype=float)
    rows = 2 * len(r.dtypes)
    assert len(b.ok_spans.get_paths()) + len(b.bad_spans.get_paths()) >= rows
    for i in range(len(r.dtypes)):
        spans = finite_spans(s, r.naive_finite[i])
        assert spans[0][0] == s[0] and spans[-1][1] == s[-1]  # the whole axis, no gaps
        assert all(a[1] == b_[0] for a, b_ in zip(spans[:-1], spans[1:], strict=True))
        bad = np.flatnonzero(~np.asarray(r.naive_finite[i]))
        if bad.size:  # the change sits between the last finite and first non-finite scale
            change = next(x1 for x0, x1, ok in spans if ok)
            assert s[bad[0] - 1] < change < s[bad[0]]
        assert finite_spans(s, r.stable_finite[i]) == [(s[0], s[-1], True)]
    # colours mean dtype in both axes: the spans take the rows' label colours
    row_colors = {to_hex(t.get_color()) for t in b.ax_ok.get_yticklabels()}
    span_colors = {to_hex(c) for c in b.ok_spans.get_facecolor()}
    assert span_colors <= row_colors
    assert b.bad_spans.get_hatch() and to_hex(b.bad_spans.get_facecolor()[0]) == "#ffffff"


def test_summation_precision_puts_exact_results_on_a_floor():
    r = run("summation_precision")
    fig = plots.plot_summation_precision(r)
    b = builder_of(fig)
    assert len(b.lines[0].lines) == len(r.methods)
    floor = b.floors[0].get_ydata()[0]
    f64 = r.methods.index("float64")
    assert np.all(r.abs_error[0, f64] == 0)
    assert np.all(b.lines[0].lines[f64].get_ydata() == floor)
    seq = r.methods.index("sequential")
    np.testing.assert_allclose(b.lines[1].lines[seq].get_ydata(), np.abs(r.rel_error[1, seq]))
    # the floor is said to be 0: its tick reads "0", nothing is ticked below it
    fig.canvas.draw()
    ax = b.axes[0]
    ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    assert min(ticks) == pytest.approx(floor)
    labels = {t.get_text() for t in ax.get_yticklabels() if t.get_text()}
    assert "0" in labels
    assert "exactly 0" in b.floor_text[0].get_text()
    assert len(b.breaks[0].get_xdata()) == 2  # the axis break between 0 and the decades
    # readable numbers: no "1e-08" in the titles; one tick style along each log axis
    titles = [a.get_title() for a in b.axes]
    assert not any("e-0" in t or "e+0" in t for t in titles)
    assert "10⁻⁸" in titles[0]
    powers = [t for t in labels if "10" in t and t != "0"]
    assert all(t.startswith("10") or "×10" in t for t in powers)
    legend_clear_of_axes(fig, b.legend, b.axes)


def test_log_tick_labels_are_consistent_along_an_axis():
    from losskit.plots._style import _log_label, format_number, needs_powers

    assert not needs_powers(0.5, 2000) and needs_powers(1e-10, 0.02) and needs_powers(1, 1e6)
    assert [_log_label(v) for v in (0.001, 1, 10000)] == ["0.001", "1", "10000"]
    assert [_log_label(v, powers=True) for v in (0.01, 1, 3e5)] == ["10⁻²", "10⁰", "3×10⁵"]
    assert [format_number(v) for v in (1e-8, 0.1, 25, -2e6)] == ["10⁻⁸", "0.1", "25", "−2×10⁶"]


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


def test_sum_vs_mean_divergence_note_uses_the_legend_wording():
    r = run("sum_vs_mean", lr=0.5)
    assert r.diverged["sum_same_lr"]
    fig = plots.plot_sum_vs_mean(r)
    b = builder_of(fig)
    same_label = b.paths.lines[2].get_label()
    assert f"{same_label} diverged" in b.note.get_text()
    assert "sum_same_lr" not in b.note.get_text()
    legend_clear_of_axes(fig, b.legend, [b.ax_path, b.ax_loss])
    assert same_label in [t.get_text() for t in b.legend.get_texts()]


def test_gradient_noise_title_says_variance_falls_like_one_over_b():
    b = builder_of(plots.plot_gradient_noise(run("gradient_noise")))
    title = b.ax.get_title()
    assert "variance" in title.lower() and "1/B" in title and "1/√B" in title
    assert "noise falls like 1/B" not in title


def test_accumulation_labels_carry_the_deviation():
    r = run("accumulation")
    b = builder_of(plots.plot_accumulation(r))
    labels = [line.get_label() for line in b.lines[1].lines]
    assert f"{r.max_deviation_naive[1]:.1e}" in labels[2]
    assert "8 + 2" in b.axes[1].get_title()


def test_batch_vs_dataset_per_update_axis_skips_the_start():
    r = run("batch_vs_dataset")
    b = builder_of(plots.plot_batch_vs_dataset(r, every_batch=True))
    assert len(b.epoch_lines.lines) == 3 and len(b.bands) == 3
    gd = b.update_lines.lines[0]
    np.testing.assert_array_equal(gd.get_xdata(), r.epoch_updates[0, 1:])
    sgd_batches = b.batch_lines.lines[2]  # every update's own batch loss, first seed
    np.testing.assert_array_equal(sgd_batches.get_ydata(), r.batch_loss[2][0])
    assert sgd_batches.get_xdata()[-1] == r.epochs * r.updates_per_epoch[2]
    assert b.ax_update.get_xscale() == "log"


def test_batch_vs_dataset_summarises_noisy_batch_losses():
    r = run("batch_vs_dataset")
    b = builder_of(plots.plot_batch_vs_dataset(r))
    sgd = np.asarray(r.batch_loss[2][0], dtype=float)
    # a smoothed line per regime: each point is the mean of a log-spaced window
    smooth = b.batch_smooth.lines[2]
    assert 1 < len(smooth.get_xdata()) < sgd.size
    assert smooth.get_linestyle() == "-" and smooth.get_marker() in ("None", None, "")
    windows = log_windows(sgd.size)
    first, last = windows[-1]
    assert smooth.get_ydata()[-1] == pytest.approx(sgd[first - 1 : last].mean())
    assert smooth.get_xdata()[-1] == pytest.approx(np.sqrt(first * last))
    assert len(b.batch_bands) == 3  # and a 10-90 % band around it
    # raw batch losses stay on the axes as dots, never as a connected wall
    raw = b.batch_lines.lines[2]
    assert raw.get_linestyle() == "None" and raw.get_marker() == "."
    assert set(raw.get_ydata()) <= set(sgd)


def test_log_windows_cover_every_update_and_thin_evenly():
    windows = log_windows(20_000)
    starts = [a for a, _ in windows]
    ends = [e for _, e in windows]
    assert starts[0] == 1 and ends[-1] == 20_000
    assert all(e + 1 == a for e, a in zip(ends[:-1], starts[1:], strict=True))
    assert all(e - a + 1 >= 5 for a, e in windows[:-1])
    y = np.random.default_rng(0).exponential(size=20_000)
    x, kept = thin(y, windows)
    assert kept.size < 2_000 and np.all(kept == y[x - 1])
    counts = [np.sum((x >= a) & (x <= e)) for a, e in windows]
    assert max(counts) <= 30
    centre, mean, lo, hi = summarise(y, windows)
    assert np.all(lo <= mean) and np.all(mean <= hi * 1.5)
    assert centre.size == len(windows)


def legend_clear_of_axes(fig, legend, axes):
    """The legend's box shares no area with any of ``axes`` (their data areas)."""
    fig.canvas.draw()
    box = legend.get_window_extent()
    for ax in axes:
        inter = Bbox.intersection(box, ax.get_window_extent())
        assert inter is None or inter.width * inter.height < 1.0, ax.get_title()


def test_batch_vs_dataset_legend_covers_no_data():
    r = run("batch_vs_dataset")
    fig = plots.plot_batch_vs_dataset(r)
    b = builder_of(fig)
    labels = [t.get_text() for t in b.legend.get_texts()]
    assert any("SGD" in t for t in labels) and any("window mean" in t for t in labels)
    legend_clear_of_axes(fig, b.legend, fig.get_axes())
    plots.plot_batch_vs_dataset(r, fig=fig)  # an update replaces the legend, not adds one
    assert len(fig.legends) == 1


def test_lse_overflow_legend_is_below_the_axes_clear_of_the_scale_marker():
    fig = plots.plot_lse_overflow(run("lse_overflow"), marker=2.0)  # the panel's start
    b = builder_of(fig)
    assert b.ax_ce.get_legend() is None and fig.legends == [b.legend]
    legend_clear_of_axes(fig, b.legend, [b.ax_ce, b.ax_ok])
    marker = next(t for t in b.texts if t.get_text().strip() == "s = 2")
    inter = Bbox.intersection(marker.get_window_extent(), b.legend.get_window_extent())
    assert inter is None
    plots.plot_lse_overflow(run("lse_overflow"), fig=fig, marker=5.0)
    assert len(fig.legends) == 1


def test_accumulation_legends_sit_below_their_axes_and_name_a_divergence():
    r = run("accumulation", lr=1.0, n_updates=15, n_samples=200)  # forgot ÷ K: 1e25
    fig = plots.plot_accumulation(r, focus="forgot")
    b = builder_of(fig)
    assert all(ax.get_legend() is None for ax in b.axes)
    for legend in b.legends:
        legend_clear_of_axes(fig, legend, b.axes)
    labels = [t.get_text() for t in b.legends[0].get_texts()]
    assert labels[3] == "forgot ÷ K: diverged" and r.diverged["forgot"][0]
    assert labels[1].startswith("weighted nₘ/Σn: max|Δθ|")
    assert b.axes[0].get_ylim() == b.axes[1].get_ylim()  # one scale for both splits
    plots.plot_accumulation(r, fig=fig)  # an update replaces the legends
    assert [len(sub.legends) for sub in b.subs] == [1, 1]


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


def test_train_val_story_is_readable_and_legends_clear_of_data():
    r = run("train_val", max_epochs=200, patience=5)
    fig = plots.plot_train_val(r)
    b = builder_of(fig)
    assert r.stopped_epoch is not None
    # log epochs: the stop gets room, the run without stopping stays in view
    assert b.ax_loss.get_xscale() == "log"
    lo, hi = b.ax_loss.get_xlim()
    assert lo <= np.min(r.batch_epoch) and hi >= len(r.full_epoch_val_loss)
    # both continuation lines are in the legend; best and stop carry their epochs
    loss_labels = [t.get_text() for t in b.legend.get_texts()]
    assert "training, no stopping" in loss_labels and "validation, no stopping" in loss_labels
    assert f"stopped after epoch {r.stopped_epoch + 1}" in loss_labels
    assert any(f"best epoch {r.best_epoch + 1}" in t for t in loss_labels)
    assert len(fig.legends) == 0 and len(b.sub_loss.legends) == 1
    # the full run's fit is named for what it is: whether it overfits is for the data to say
    fit_labels = [t.get_text() for t in b.sub_fit.legends[0].get_texts()]
    assert "no stopping" in fit_labels and not any("overfit" in t for t in fit_labels)
    legend_clear_of_axes(fig, b.legend, [b.ax_loss, b.ax_fit])
    legend_clear_of_axes(fig, b.sub_fit.legends[0], [b.ax_loss, b.ax_fit])
    # edge points are drawn whole: a margin beyond the outermost x
    x_lo, x_hi = b.ax_fit.get_xlim()
    assert x_lo < min(np.min(r.x_train), np.min(r.x_grid))
    assert x_hi > max(np.max(r.x_train), np.max(r.x_grid))
    plots.plot_train_val(r, fig=fig)
    assert len(b.sub_loss.legends) == 1


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


def test_text_cache_shim_matches_this_matplotlib():
    """The text cache's one private matplotlib name (Agg's ``draw_text_image``) exists here.

    If this fails, matplotlib changed it: live panels still draw (text falls back to
    matplotlib's renderer) but lose their text cache; update ``_blend_text_bitmap``.
    """
    from losskit.plots import _fasttext

    assert _fasttext.shim_problems() == [], _fasttext.shim_problems()
    assert _fasttext._SUPPORTED
