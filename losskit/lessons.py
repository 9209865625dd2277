"""The lessons, each listed once: number, slug, notebook, panel, experiments and their plots.

A lesson is its slug naming one module in each of ``losskit/experiments/``,
``losskit/plots/`` and ``losskit/widgets/``, a notebook in ``notebooks/`` (with its
jupytext source in ``notebooks_src/``), and one line in :data:`LESSONS`.
Everything that lists lessons reads :data:`LESSONS`: :data:`PANELS`,
:data:`FIGURES` (what ``losskit figures`` renders), ``losskit lessons``, the
notebooks test and the lesson table in README.md (:func:`markdown_table`).
``tests/test_lessons.py`` fails when a lesson is half-registered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import experiments as E
from . import plots as P
from . import widgets as W

__all__ = ["FIGURES", "LESSONS", "PANELS", "TOUR", "Figure", "Lesson", "markdown_table"]

#: The notebook before the lessons: a tour of the API (not a lesson of its own).
TOUR = "00_tour"


@dataclass(frozen=True)
class Figure:
    """One slide figure: ``plot(experiment())``, the experiment at its lesson defaults."""

    lesson: Lesson
    experiment: Callable
    plot: Callable

    @property
    def name(self) -> str:
        """The PNG file stem, e.g. ``"lesson4_batch_size_sweep"``."""
        return f"lesson{self.lesson.number}_{self.experiment.__name__}"


@dataclass(frozen=True)
class Lesson:
    """A lesson: ``number`` (teaching order), ``slug`` (its module name in experiments/,
    plots/ and widgets/), ``notebook`` (file stem in notebooks/), ``panel`` (its
    :class:`~losskit.widgets.Panel` class) and ``plots``: each experiment function the
    lesson shows, mapped to the plot function that draws its result."""

    number: int
    slug: str
    notebook: str
    panel: type
    plots: Mapping[Callable, Callable]

    @property
    def title(self) -> str:
        """The panel's title, e.g. "Gradient noise vs batch size"."""
        return self.panel.title

    @property
    def experiments(self) -> tuple:
        return tuple(self.plots)

    @property
    def figures(self) -> tuple[Figure, ...]:
        return tuple(Figure(self, e, p) for e, p in self.plots.items())


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        1,
        "batch_vs_dataset",
        "01_batch_vs_dataset",
        W.BatchVsDatasetPanel,
        {E.batch_vs_dataset: P.plot_batch_vs_dataset},
    ),
    Lesson(
        2,
        "reductions",
        "02_losses_and_reductions",
        W.ReductionsPanel,
        {E.reductions: P.plot_reductions},
    ),
    Lesson(
        3,
        "lse_overflow",
        "03_log_sum_exp",
        W.LSEOverflowPanel,
        {E.lse_overflow: P.plot_lse_overflow},
    ),
    Lesson(
        4,
        "gradient_noise",
        "04_gradient_noise",
        W.GradientNoisePanel,
        {E.gradient_noise: P.plot_gradient_noise, E.batch_size_sweep: P.plot_batch_size_sweep},
    ),
    Lesson(
        5, "sum_vs_mean", "05_sum_vs_mean", W.SumVsMeanPanel, {E.sum_vs_mean: P.plot_sum_vs_mean}
    ),
    Lesson(
        6,
        "accumulation",
        "06_gradient_accumulation",
        W.AccumulationPanel,
        {E.accumulation: P.plot_accumulation},
    ),
    Lesson(
        7, "train_val", "07_train_vs_validation", W.TrainValPanel, {E.train_val: P.plot_train_val}
    ),
    Lesson(
        8,
        "precision_memory",
        "08_ce_at_scale_and_summation",
        W.PrecisionMemoryPanel,
        {E.summation_precision: P.plot_summation_precision, E.ce_memory: P.plot_ce_memory},
    ),
)

#: Panel class of each lesson by slug, in lesson order.
PANELS: dict[str, type] = {lesson.slug: lesson.panel for lesson in LESSONS}
#: Every lesson's slide figures, in lesson order: what ``losskit figures`` renders.
FIGURES: tuple[Figure, ...] = tuple(f for lesson in LESSONS for f in lesson.figures)


def markdown_table() -> str:
    """The lesson table of README.md: number, title, notebook, panel and figures."""
    rows = [
        "| # | lesson | notebook | panel | figures (`losskit figures`) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for lesson in LESSONS:
        figures = ", ".join(f"`{f.name}`" for f in lesson.figures)
        rows.append(
            f"| {lesson.number} | {lesson.title} | `notebooks/{lesson.notebook}.ipynb` | "
            f"`{lesson.panel.__name__}` | {figures} |"
        )
    return "\n".join(rows)
