"""Predict first, then reveal (issue 14 item 4).

``losskit.widgets.reveal`` folds an answer into a closed ``<details>`` block. In the
lessons, every code cell that answers a **Predict first** question (those up to the
next Markdown cell) shows its answer through ``reveal(...)``, never a bare
``Markdown(...)``, and has its source folded (``jupyter.source_hidden``), so neither
"Run All" in JupyterLab nor Voila puts the answer on screen before the student has
predicted. A question answered by dragging a panel's control (the readout changes
only when the student acts) is listed in ``PANEL_ANSWERED``.

One kind of answer cell stays visible (issue 14 item 7, code cells that teach): a
few lines the student is meant to read, the lesson's maths calling losskit, whose
``reveal(...)`` folds only what that code computed. Its source gives nothing away as
long as the text the cell writes (its strings) is labels (``NumPy:``, ``losskit:``),
not a sentence: at most ``LABEL_WORDS`` words, and each ``reveal(...)`` shows a
computed value. The executed outputs
are checked in ``tests/test_notebooks.py::test_runs_top_to_bottom``, which already
runs every lesson.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
from IPython.display import Markdown
from test_notebooks import LESSONS, _ipynb

from losskit.widgets import reveal

QUESTION = "**Predict first:**"
# The words a visible answer cell may write into its reveal(...) call: labels, no answer.
LABEL_WORDS = 10

# (lesson, a phrase of the question): answered by the panel as the student moves it
PANEL_ANSWERED = {
    ("01_batch_vs_dataset", "as you shrink the batch size"),
    ("04_gradient_noise", 'drag "batch size B" up to "dataset size N"'),
    ("05_sum_vs_mean", 'choose reduction "sum" and untick'),
    ("06_gradient_accumulation", "make the unequal split lopsided"),
    ("07_train_vs_validation", "make the batch size smaller"),
    ("08_ce_at_scale_and_summation", 'double "classes C"'),
}


def test_reveal_is_a_closed_details_block():
    out = reveal("The answer is **42**, $x^2$.")
    assert isinstance(out, Markdown)
    text = out.data
    assert text.startswith("<details>\n<summary>Check your prediction</summary>\n\n")
    assert text.rstrip().endswith("\n\n</details>")
    assert "The answer is **42**, $x^2$." in text  # Markdown and LaTeX left as they are
    assert "open" not in text.split(">", 1)[0]
    assert text.count("<details") == 1 and text.count("</details>") == 1


def test_reveal_summary_is_plain_text():
    text = reveal("x", summary="Show <the> answer").data
    assert "<summary>Show &lt;the&gt; answer</summary>" in text


def test_reveal_is_shown_as_markdown():
    bundle = reveal("x")._repr_markdown_()
    assert "<details>" in bundle


@pytest.mark.parametrize("bad", [None, 3, b"answer", ["a"]])
def test_reveal_rejects_a_non_string(bad):
    with pytest.raises(TypeError, match=r"reveal\(\): text must be a str, got"):
        reveal(bad)
    with pytest.raises(TypeError, match=r"reveal\(\): summary must be a str, got"):
        reveal("answer", summary=bad)


@pytest.mark.parametrize("bad", ["", "   \n"])
def test_reveal_rejects_empty_text(bad):
    with pytest.raises(ValueError, match=r"reveal\(\): text must be non-empty text"):
        reveal(bad)
    with pytest.raises(ValueError, match=r"reveal\(\): summary must be non-empty text"):
        reveal("answer", summary=bad)


def _calls(tree, name):
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


def _written_words(node) -> list[str]:
    """The words of the text written into ``node``: its string constants, f-strings'
    literal parts included."""
    return [
        word
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
        for word in re.findall(r"[A-Za-z]{2,}", n.value)
    ]


def _shows_computed(call) -> bool:
    """Whether a ``reveal(...)`` call shows a value the cell computed (not only text)."""
    args = [*call.args, *(k.value for k in call.keywords)]
    return any(
        isinstance(n, ast.FormattedValue | ast.Name | ast.Call) for a in args for n in ast.walk(a)
    )


def _sections(name):
    """(question cell, the code cells after it up to the next Markdown cell)."""
    cells = nbformat.read(_ipynb(name), as_version=4).cells
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and QUESTION in cell.source:
            codes = []
            for later in cells[i + 1 :]:
                if later.cell_type != "code":
                    break
                codes.append(later)
            yield cell, codes


@pytest.mark.parametrize("name", LESSONS)
def test_predict_first_answers_are_revealed(name):
    sections = list(_sections(name))
    assert sections, f"{name}: no {QUESTION} question"
    for question, codes in sections:
        asked = question.source.split(QUESTION, 1)[1]
        where = f"{name}: the answer to {' '.join(asked.split())[:70]!r}"
        assert "<details" not in question.source, f"{where}: the question itself is folded"
        revealed = 0
        for cell in codes:
            source = re.sub(r"^\s*[%!].*$", "", cell.source, flags=re.M)  # magics
            tree = ast.parse(source)
            last = tree.body[-1] if tree.body else None
            bare = (
                isinstance(last, ast.Expr)
                and isinstance(last.value, ast.Call)
                and isinstance(last.value.func, ast.Name)
                and last.value.func.id == "Markdown"
            )
            assert not bare, f"{where} is shown with Markdown(...); use reveal(...)\n{cell.source}"
            calls = _calls(tree, "reveal")
            if calls:
                revealed += 1
                hidden = cell.metadata.get("jupyter", {}).get("source_hidden")
                if hidden is True:
                    continue
                words = _written_words(tree)  # a visible cell that teaches: labels only
                assert all(map(_shows_computed, calls)) and len(words) <= LABEL_WORDS, (
                    f"{where}: a visible cell calling reveal() writes {len(words)} words of "
                    f"text ({' '.join(words)[:80]!r}); it may write at most {LABEL_WORDS}, "
                    f"labels around the values it computes. Else fold the cell: the metadata "
                    f'jupyter.source_hidden (py:percent: # %% jupyter={{"source_hidden": true}})'
                    f"\n{cell.source}"
                )
        by_panel = any(n == name and phrase in asked for n, phrase in PANEL_ANSWERED)
        if by_panel:
            assert revealed == 0, f"{where}: listed in PANEL_ANSWERED but revealed in a cell"
        else:
            assert revealed, f"{where}: no code cell after it calls reveal(...)"


def test_a_visible_answer_cell_writes_only_labels_into_reveal():
    cell = ast.parse('numpy_way = attempt(f)\nreveal(f"NumPy: {numpy_way}  \\nlosskit: {ours}")')
    assert _written_words(cell) == ["NumPy", "losskit"]
    assert _shows_computed(_calls(cell, "reveal")[0])
    answer = ast.parse('text = "NumPy returns a finite loss and no warning"\nreveal(text)')
    assert len(_written_words(answer)) == 7  # counted wherever the cell writes it
    assert not _shows_computed(_calls(ast.parse('reveal("it is finite")'), "reveal")[0])


def test_panel_answered_questions_exist():
    asked = {
        (name, phrase)
        for name in LESSONS
        for question, _ in _sections(name)
        for n, phrase in PANEL_ANSWERED
        if n == name and phrase in question.source
    }
    assert asked == PANEL_ANSWERED
