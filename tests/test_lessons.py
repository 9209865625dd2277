"""The lesson registry (losskit.lessons): every lesson registered once, and whole.

A lesson is registered whole when its slug names a module in each of
experiments/, plots/ and widgets/, its experiments and plot functions live in
those modules and pair up (``plot_<experiment>`` takes ``<experiment>``'s
result), its panel computes exactly those experiments, and its notebook exists
(``.ipynb`` and jupytext source). Anything half done fails here: a module no
lesson lists, an experiment or plot without a lesson, a lesson missing a part.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from losskit import experiments, lessons, plots, widgets
from losskit._lessonmodules import lesson_module_names
from losskit.lessons import FIGURES, LESSONS, PANELS, TOUR

ROOT = Path(__file__).resolve().parents[1]
BY_SLUG = {lesson.slug: lesson for lesson in LESSONS}


def test_numbers_and_slugs_are_unique_and_in_order():
    assert [lesson.number for lesson in LESSONS] == list(range(1, len(LESSONS) + 1))
    assert len(BY_SLUG) == len(LESSONS)
    assert list(PANELS) == [lesson.slug for lesson in LESSONS]
    assert len({f.name for f in FIGURES}) == len(FIGURES)


@pytest.mark.parametrize("package", [experiments, plots, widgets], ids=lambda p: p.__name__)
def test_each_package_has_one_module_per_registered_lesson(package):
    assert lesson_module_names(package.__path__) == sorted(BY_SLUG), (
        f"{package.__name__}: every public module is a lesson's, named by its slug in "
        f"losskit.lessons.LESSONS (helpers start with _)"
    )


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_a_lessons_parts_live_in_its_modules_and_pair_up(lesson):
    assert lesson.plots, f"{lesson.slug}: no experiment registered"
    for experiment, plot in lesson.plots.items():
        assert experiment.__module__ == f"losskit.experiments.{lesson.slug}"
        assert plot.__module__ == f"losskit.plots.{lesson.slug}"
        assert plot.__name__ == f"plot_{experiment.__name__}"
        result = typing.get_type_hints(experiment)["return"]
        assert plot.builder.result_type == result.__name__, (experiment, plot)
        assert getattr(experiments, experiment.__name__) is experiment
        assert getattr(plots, plot.__name__) is plot
    assert lesson.panel.__module__ == f"losskit.widgets.{lesson.slug}"
    assert issubclass(lesson.panel, widgets.Panel)
    assert lesson.panel.lesson.startswith(f"Lesson {lesson.number} ·"), lesson.panel.lesson
    for path in (f"notebooks/{lesson.notebook}.ipynb", f"notebooks_src/{lesson.notebook}.py"):
        assert (ROOT / path).is_file(), f"{lesson.slug}: {path} is missing"
    assert lesson.notebook.startswith(f"{lesson.number:02d}_")


def test_every_experiment_and_plot_belongs_to_a_lesson():
    registered = {e for lesson in LESSONS for e in lesson.experiments}
    results = {typing.get_type_hints(e)["return"] for e in registered}
    for name in experiments.__all__:
        value = getattr(experiments, name)
        if isinstance(value, type) and name.endswith("Result"):
            assert value in results, f"{name}: no registered experiment returns it"
    drawn = {p for lesson in LESSONS for p in lesson.plots.values()}
    for name in plots.__all__:
        if name.startswith("plot_"):
            assert getattr(plots, name) in drawn, f"{name}: no lesson registers it"
    shown = set(PANELS.values())
    for name in widgets.__all__:
        value = getattr(widgets, name)
        if (
            isinstance(value, type)
            and issubclass(value, widgets.Panel)
            and value is not widgets.Panel
        ):
            assert value in shown, f"{name}: no lesson registers it"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_the_panel_computes_its_lessons_experiments(lesson):
    panel = lesson.panel(backend="numpy", mode="inline", debounce=0)
    ran = {experiment for experiment, _ in panel._cache}
    assert panel.error is None, panel.error
    assert ran == set(lesson.experiments), (lesson.slug, ran)


def test_notebooks_folder_holds_the_tour_and_the_lessons():
    names = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert names == sorted([TOUR, *(lesson.notebook for lesson in LESSONS)])


def test_readme_lesson_table_is_the_registrys():
    readme = (ROOT / "README.md").read_text()
    assert lessons.markdown_table() in readme, (
        "README.md's lesson table is out of date; paste the output of "
        "python -c 'import losskit.lessons as L; print(L.markdown_table())'"
    )
