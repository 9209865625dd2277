"""Fold a predict-first answer until the student asks for it.

A lesson asks a **Predict first** question, then computes the answer. Shown with
``Markdown(...)`` the answer is on screen as soon as the cell runs, so after "Run
All" (or in Voila, which runs everything) the student reads it before predicting.
:func:`reveal` wraps it in an HTML ``<details>`` block, closed by default: the
answer stays folded until the student opens it. ``<details>`` is plain HTML, so it
works the same in JupyterLab (whose sanitizer keeps ``details``/``summary``), Voila
and a static HTML export, with no kernel and no widget.
"""

from __future__ import annotations

from html import escape

from IPython.display import Markdown

__all__ = ["reveal"]

DEFAULT_SUMMARY = "Check your prediction"


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"reveal(): {name} must be a str, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"reveal(): {name} must be non-empty text, got {value!r}")
    return value


def reveal(text: str, summary: str = DEFAULT_SUMMARY) -> Markdown:
    """``Markdown`` showing only ``summary``; a click unfolds ``text`` (Markdown, LaTeX).

    The blank lines around ``text`` let Markdown (tables, bold, ``$...$``) render
    inside the HTML block. ``summary`` is plain text (escaped).
    """
    text = _check_text("text", text)
    summary = _check_text("summary", summary)
    return Markdown(
        f"<details>\n<summary>{escape(summary.strip())}</summary>\n\n{text.strip()}\n\n</details>\n"
    )
