"""The one line a lesson notebook needs before its panels: live figures where possible."""

from __future__ import annotations


def use_live_figures() -> str:
    """Turn on ipympl's live figures (``%matplotlib widget``), else inline; return the mode.

    Call it in a notebook's first cell. With ipympl the panels redraw their own
    canvas; without it (``"inline"``) they show PNG images that update on every
    change. A front-end with the ipympl package but not its extension shows
    "Error displaying widget": run ``%matplotlib inline`` there instead. Outside
    IPython it does nothing and returns ``"none"``.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return "none"
    try:
        shell.run_line_magic("matplotlib", "widget")
        return "widget"
    except Exception:  # ipympl not installed: the static fallback is the point
        shell.run_line_magic("matplotlib", "inline")
        return "inline"
