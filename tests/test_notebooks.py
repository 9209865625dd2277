"""The lesson notebooks: paired with their jupytext sources, stored clean, and runnable.

Each lesson is a pair (``jupytext.toml``): ``notebooks/NN_name.ipynb``,
what ``make lab`` opens, and ``notebooks_src/NN_name.py`` (py:percent), the
diff-able source. These tests check that

- every notebook of ``losskit.lessons`` exists as both files, the two hold the same
  cells, and no other notebook is there;
- the ``.ipynb`` is stored without outputs or execution counts, kernel ``python3``;
- lessons import losskit instead of pasting library code (no ``def``/``class``
  in code cells), ask the reader to predict before each experiment, and state
  no hand-typed figures in prose (numbers come from code cells);
- every "Predict first" question is answered by a code cell after it, and
  nothing before it gives its answer away (``ANSWERS``), not even the tour;
- every notebook runs top to bottom in a fresh kernel (nbclient) with no error,
  within the issue's budget of 30 s on a 2-core CPU (``slow``).

Re-pair after editing a source: ``jupytext --sync notebooks_src/*.py``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from ipykernel.ipkernel import IPythonKernel

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from losskit.lessons import LESSONS as REGISTRY
from losskit.lessons import TOUR

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
SRC_DIR = ROOT / "notebooks_src"

# every notebook, in reading order: the tour, then each lesson's (losskit.lessons)
LESSONS = [TOUR, *(lesson.notebook for lesson in REGISTRY)]
# as ipykernel installs it, and as JupyterLab 4 writes it into a notebook
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

# The issue: "Each notebook runs top to bottom in under 30 s on a 2-core CPU."
# Measured from the first cell to the last (kernel start-up excluded). The
# lessons take a few seconds here; 30 s is the stated requirement, and leaves
# room for a loaded CI runner executing notebooks two at a time.
BUDGET_S = 30.0
CELL_TIMEOUT_S = 120  # a hung cell fails the test instead of hanging the suite


def _ipynb(name: str) -> Path:
    return NB_DIR / f"{name}.ipynb"


def _source(name: str) -> Path:
    return SRC_DIR / f"{name}.py"


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_lesson_list_matches_the_folder():
    on_disk = sorted(p.stem for p in NB_DIR.glob("*.ipynb"))
    assert on_disk == sorted(LESSONS), "notebooks/*.ipynb and losskit.lessons disagree"
    sources = sorted(p.stem for p in SRC_DIR.glob("*.py"))
    assert sources == sorted(LESSONS), "notebooks_src/*.py and losskit.lessons disagree"


@pytest.mark.parametrize("name", LESSONS)
def test_pair_in_sync(name):
    import jupytext

    ipynb, src = _ipynb(name), _source(name)
    assert ipynb.exists() and src.exists(), f"{name}: need both {ipynb.name} and src/{src.name}"
    from_ipynb = jupytext.read(ipynb)
    from_src = jupytext.read(src)
    assert _cells(from_ipynb) == _cells(from_src), (
        f"{name}: notebooks/{ipynb.name} and notebooks_src/{src.name} differ; "
        f"run `jupytext --sync notebooks_src/{src.name}` (or save in JupyterLab with jupytext)"
    )


@pytest.mark.parametrize("name", LESSONS)
def test_stored_clean(name):
    nb = nbformat.read(_ipynb(name), as_version=4)
    nbformat.validate(nb)
    kernelspec = nb.metadata.get("kernelspec")
    assert kernelspec == KERNELSPEC, f"{name}: kernelspec {kernelspec}"
    # What JupyterLab 4 records when the kernel starts; stored so that opening a
    # lesson changes nothing (tests/test_lab_clean.py opens each one in JupyterLab).
    # The Python version is the one field that depends on the machine.
    language = dict(nb.metadata.get("language_info", {}))
    assert re.fullmatch(r"3\.\d+\.\d+", language.pop("version", "")), f"{name}: {language}"
    expected = {k: v for k, v in IPythonKernel.language_info.items() if k != "version"}
    assert language == expected, f"{name}: language_info {language}, expected {expected}"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            fix = f"clear them: jupyter nbconvert --clear-output --inplace notebooks/{name}.ipynb"
            assert cell.outputs == [], f"{name}: cell {i} has stored outputs; {fix}"
            assert cell.execution_count is None, f"{name}: cell {i} has an execution count; {fix}"


# Prose numbers that would have been typed in: decimals (1.01, 24.41), numbers
# with a thousands separator (1,563) or three or more digits (768). Inline code,
# LaTeX, links and citation years are exempt; small counts ("3 dtypes") are fine.
TYPED_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+|\d{1,3}(?:,\d{3})+|\d{3,})(?![\w])")
EXEMPT = [
    re.compile(r"`[^`]*`"),  # inline code
    re.compile(r"\$[^$]*\$"),  # LaTeX
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"\b(?:19|20)\d\d\b"),  # years (citations)
    re.compile(r"^#.*$", re.M),  # headings
]


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_shape(name):
    nb = nbformat.read(_ipynb(name), as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    prose = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert any("import losskit" in s for s in code), f"{name}: does not import losskit"
    for s in code:
        pasted = re.findall(r"^\s*(?:def|class)\s+\w+", s, re.M)
        assert not pasted, f"{name}: defines {pasted}; import it from losskit instead"
    if name != "00_tour":
        assert sum("Predict first" in s for s in prose) >= 1, f"{name}: no 'Predict first' prompt"
    for s in prose:
        text = s
        for pattern in EXEMPT:
            text = pattern.sub(" ", text)
        typed = TYPED_NUMBER.findall(text)
        assert not typed, (
            f"{name}: numbers typed into prose {typed}; compute them in a code cell "
            f"and show them with Markdown(f'...')\n---\n{s}"
        )


# Predict-first questions (a phrase of each, as written after "Predict first") and key
# phrases of their answers. A key phrase must not appear anywhere in the lesson before the
# question (prose, headings, code, or the question's own cell before "Predict first"), and
# must appear in a later cell: the question first, then the cell that answers it, then the
# explanation. The tour comes before every lesson, so it may contain none of them.
ANSWERS = {
    "00_tour": [("Which example has the larger cross-entropy?", ["the first example costs more"])],
    "01_batch_vs_dataset": [
        ("How do the two relate?", ["equals the sum of the", r"\nabla L = \sum_i \nabla \ell_i"]),
        ("How many weight updates per epoch?", [r"\lceil N / B \rceil"]),
    ],
    "02_losses_and_reductions": [
        (
            "what happens to the bias gradient",
            ["grows with $B$", "does not depend on the batch size"],
        ),
        ("How many times larger than the mean loss is the sum loss", ["times the mean loss"]),
        ("sums to what?", ["sums to zero"]),
        ("let through silently?", ["wraps around to the last class"]),
    ],
    "03_log_sum_exp": [
        ("at what scale will the naive curve break?", ["first_failure"]),
        ("What will `BCELoss(sigmoid(20), 0)` report", ["clamp", "exactly 1"]),
    ],
    "04_gradient_noise": [
        ("What is it at $B = N$", ["nothing left to vary", r"\frac{N - B}{N - 1}"]),
    ],
    "05_sum_vs_mean": [
        ("how close will the mean run", ["written differently"]),
        ("and with batch size `24`?", ["power of two", "agree only to rounding"]),
        ("which run follows the mean run at `lr`", ["running estimate"]),
        ("Which two training curves, per epoch, look alike?", ["batch × k → lr × k"]),
        ("Which of the two runs keeps mean", ["part ways", "removes the short batch"]),
    ],
    "06_gradient_accumulation": [
        ("How far from the batch gradient", ["counts equally"]),
        ('for which split does "divide by K" match', ["have the same size"]),
        ("Same weights at the end?", ["whatever the batch size"]),
    ],
    "07_train_vs_validation": [
        ("Does the mean of the three batch means equal", ["over-weights", "by its size"]),
    ],
    "08_ce_at_scale_and_summation": [
        ("is `1 + 1e-8` equal to `1`?", ["lose the small one"]),
    ],
}


def _flat_cells(name: str) -> list[tuple[str, str]]:
    """(cell type, source) of each cell, whitespace runs made one space and the pieces of
    implicitly concatenated strings (``f"a " f"b"``, ``r"c"``, across lines) joined."""
    nb = nbformat.read(_ipynb(name), as_version=4)
    return [
        (c.cell_type, re.sub(r"[\"'] [fr]?[\"']", "", " ".join(c.source.split()))) for c in nb.cells
    ]


@pytest.mark.parametrize("name", LESSONS)
def test_questions_come_before_their_answers(name):
    cells = _flat_cells(name)
    asked = [i for i, (kind, text) in enumerate(cells) if "Predict first" in text]
    for i, j in zip(asked, [*asked[1:], len(cells)], strict=True):
        assert any(kind == "code" for kind, _ in cells[i + 1 : j]), (
            f"{name}: the question in cell {i} has no code cell after it to answer it\n"
            f"---\n{cells[i][1]}"
        )
    for question, phrases in ANSWERS.get(name, []):
        where = [i for i in asked if question in cells[i][1].split("Predict first", 1)[1]]
        assert len(where) == 1, f"{name}: expected one 'Predict first' cell asking {question!r}"
        q = where[0]
        before = " ".join(text for _, text in cells[:q]) + cells[q][1].split("Predict first")[0]
        after = " ".join(text for _, text in cells[q + 1 :])
        for phrase in phrases:
            assert phrase not in before, (
                f"{name}: {phrase!r} gives the answer to {question!r} away before it is asked; "
                f"move it after the cell that answers the question"
            )
            assert phrase in after, f"{name}: no cell after {question!r} explains {phrase!r}"


def test_tour_gives_no_lesson_answer_away():
    tour = " ".join(text for _, text in _flat_cells("00_tour"))
    for name, questions in ANSWERS.items():
        for question, phrases in questions if name != "00_tour" else []:
            assert question not in tour, f"the tour asks {name}'s question {question!r}"
            for phrase in phrases:
                assert phrase not in tour, f"the tour gives {name}'s answer away: {phrase!r}"


def test_lesson_3_describes_the_overflow_readout():
    # the readout names the break only once the slider has reached it; the lesson says so
    from losskit.widgets.lse_overflow import NOT_YET

    prose = " ".join(text for kind, text in _flat_cells("03_log_sum_exp") if kind == "markdown")
    assert f'"{NOT_YET}"' in prose, "lesson 3 misdescribes the overflow panel's readout"


PANEL_CHECK = """
if "panel" in globals():
    assert panel.error is None, f"the lesson's panel shows an error: {panel.error}"
    assert panel.result is not None, "the lesson's panel has no result"
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_runs_top_to_bottom(name, monkeypatch, tmp_path):
    from nbclient import NotebookClient

    monkeypatch.setenv("MPLBACKEND", "Agg")
    # A fresh kernel per notebook with its own IPython profile: no user startup files.
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    nb = nbformat.read(_ipynb(name), as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        startup_timeout=120,
        allow_errors=False,
        resources={"metadata": {"path": str(NB_DIR)}},
    )
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        elapsed = time.perf_counter() - start
        # A panel that hid an error in its message area would still "run": check it.
        nb.cells.append(nbformat.v4.new_code_cell(PANEL_CHECK))
        client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors, errors
    stderr = [
        out.text
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stderr"
    ]
    assert not any("Traceback" in t for t in stderr), stderr
    # Predict first, then reveal (tests/test_reveal.py checks the sources): each answer
    # shown through reveal() is a closed <details> block in the executed notebook.
    for cell in nb.cells:
        if cell.cell_type == "code" and "reveal(" in cell.source:
            shown = [
                out.data["text/markdown"]
                for out in cell.outputs
                if out.output_type == "execute_result" and "text/markdown" in out.get("data", {})
            ]
            assert shown, f"{name}: a reveal() cell showed no Markdown\n{cell.source}"
            for text in shown:
                opening = re.match(r"<details(\s[^>]*)?>", text)
                assert opening and "open" not in opening.group(0), f"{name}: not folded: {text}"
    print(f"{name}: {elapsed:.1f} s")
    assert elapsed < BUDGET_S, f"{name} took {elapsed:.1f} s (budget {BUDGET_S:.0f} s)"


def test_sources_are_py_percent():
    config = tomllib.loads((ROOT / "jupytext.toml").read_text())
    assert config["formats"] == "notebooks///ipynb,notebooks_src///py:percent"
    for name in LESSONS:
        text = _source(name).read_text()
        assert text.count("\n# %%") >= 3, f"notebooks_src/{name}.py has no py:percent cells"
        header = text.split("# ---\n")[1]
        assert "kernelspec" in header and "jupytext" not in header, f"{name}: header {header}"
